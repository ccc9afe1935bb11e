//! The modes a program set that change what a terminal *sends* it: cursor
//! keys, keypad, bracketed paste, mouse reporting, and whether the cursor is
//! shown. `attach` puts the person's terminal in the same modes, so their
//! arrow keys, pastes and clicks reach the program as it asked for them,
//! and takes them back out on detach.

use crate::Engine;
use alacritty_terminal::term::TermMode;

/// Every mode [`Engine::input_modes`] may set, switched off, and the
/// cursor shown: what a terminal is put back to.
pub const RESET_INPUT_MODES: &str =
    "\x1b[?1l\x1b>\x1b[?2004l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1005l\x1b[?1006l\x1b[?25h";

impl Engine {
    /// The escape sequence that puts a terminal in the input modes the
    /// program set (starting from [`RESET_INPUT_MODES`]).
    pub fn input_modes(&self) -> String {
        let mode = *self.term.mode();
        let mut out = String::from(RESET_INPUT_MODES);
        for (flag, set) in [
            (TermMode::APP_CURSOR, "\x1b[?1h"),
            (TermMode::APP_KEYPAD, "\x1b="),
            (TermMode::BRACKETED_PASTE, "\x1b[?2004h"),
            (TermMode::MOUSE_REPORT_CLICK, "\x1b[?1000h"),
            (TermMode::MOUSE_DRAG, "\x1b[?1002h"),
            (TermMode::MOUSE_MOTION, "\x1b[?1003h"),
            (TermMode::UTF8_MOUSE, "\x1b[?1005h"),
            (TermMode::SGR_MOUSE, "\x1b[?1006h"),
        ] {
            if mode.contains(flag) {
                out.push_str(set);
            }
        }
        if !mode.contains(TermMode::SHOW_CURSOR) {
            out.push_str("\x1b[?25l");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::Engine;

    #[test]
    fn the_programs_input_modes_are_mirrored() {
        let mut replay = Engine::new(20, 5, 0);
        assert_eq!(replay.input_modes(), super::RESET_INPUT_MODES);
        replay.process(b"\x1b[?1h\x1b[?2004h\x1b[?1000h\x1b[?1006h\x1b[?25l");
        let modes = replay.input_modes();
        for set in [
            "\x1b[?1h",
            "\x1b[?2004h",
            "\x1b[?1000h",
            "\x1b[?1006h",
            "\x1b[?25l",
        ] {
            assert!(
                modes.ends_with(set) || modes.contains(set),
                "{set:?} in {modes:?}"
            );
        }
        assert!(!modes[super::RESET_INPUT_MODES.len()..].contains("\x1b[?1003h"));
    }
}
