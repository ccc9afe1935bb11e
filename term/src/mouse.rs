//! Mouse reporting: which mouse modes the program enabled (as the engine
//! tracked them from its output) and the bytes a click or a wheel step is
//! sent as, in the encoding it asked for.
//!
//! Reporting is on when the program set mode 1000 (clicks), 1002 (drags)
//! or 1003 (all motion); the encoding is SGR (mode 1006, `CSI < b;x;y M/m`),
//! UTF-8 (mode 1005) or else the original X10-style bytes (`CSI M` and three
//! bytes of 32 + value). Mode 9 (X10 press-only reporting) is not tracked.

use crate::Engine;
use alacritty_terminal::term::TermMode;

/// How the program asked for mouse events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MouseEncoding {
    /// `CSI M Cb Cx Cy`, each 32 + value as one byte (coordinates up to 223).
    X10,
    /// The same, each value as a UTF-8 character (mode 1005).
    Utf8,
    /// `CSI < b ; x ; y M` for a press, `m` for a release (mode 1006).
    Sgr,
}

impl MouseEncoding {
    /// The name results use.
    pub fn as_str(self) -> &'static str {
        match self {
            MouseEncoding::X10 => "x10",
            MouseEncoding::Utf8 => "utf8",
            MouseEncoding::Sgr => "sgr",
        }
    }
}

/// The program's mouse reporting, when it enabled any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MouseMode {
    /// `click` (1000), `drag` (1002) or `motion` (1003).
    pub tracking: &'static str,
    /// How events are encoded.
    pub encoding: MouseEncoding,
}

/// A mouse button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MouseButton {
    /// The left (first) button.
    Left,
    /// The middle button.
    Middle,
    /// The right button.
    Right,
    /// One wheel step away from the user.
    WheelUp,
    /// One wheel step towards the user.
    WheelDown,
}

impl MouseButton {
    fn code(self) -> u32 {
        match self {
            MouseButton::Left => 0,
            MouseButton::Middle => 1,
            MouseButton::Right => 2,
            MouseButton::WheelUp => 64,
            MouseButton::WheelDown => 65,
        }
    }
}

impl Engine {
    /// The mouse reporting the program enabled, if any.
    pub fn mouse_mode(&self) -> Option<MouseMode> {
        let mode = *self.term.mode();
        let tracking = if mode.contains(TermMode::MOUSE_MOTION) {
            "motion"
        } else if mode.contains(TermMode::MOUSE_DRAG) {
            "drag"
        } else if mode.contains(TermMode::MOUSE_REPORT_CLICK) {
            "click"
        } else {
            return None;
        };
        let encoding = if mode.contains(TermMode::SGR_MOUSE) {
            MouseEncoding::Sgr
        } else if mode.contains(TermMode::UTF8_MOUSE) {
            MouseEncoding::Utf8
        } else {
            MouseEncoding::X10
        };
        Some(MouseMode { tracking, encoding })
    }
}

/// The bytes of one press (`release` false) or release of `button` at
/// (`row`, `col`), counted from 0; `None` when the encoding cannot address
/// that cell (X10 stops at 222, UTF-8 at 2014).
pub fn encode(
    encoding: MouseEncoding,
    button: MouseButton,
    release: bool,
    row: u16,
    col: u16,
) -> Option<String> {
    let (x, y) = (u32::from(col) + 1, u32::from(row) + 1);
    match encoding {
        MouseEncoding::Sgr => Some(format!(
            "\x1b[<{};{x};{y}{}",
            button.code(),
            if release { 'm' } else { 'M' }
        )),
        MouseEncoding::X10 | MouseEncoding::Utf8 => {
            // The legacy encodings cannot say which button was released.
            let b = if release { 3 } else { button.code() };
            let limit = if encoding == MouseEncoding::X10 {
                // 32 + 1 + 94 = 127: beyond it a value is not one ASCII
                // byte, and input travels as text.
                95
            } else {
                2015
            };
            if x > limit || y > limit {
                return None;
            }
            let ch = |v: u32| char::from_u32(32 + v);
            Some(format!("\x1b[M{}{}{}", ch(b)?, ch(x)?, ch(y)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay_of(output: &str) -> Engine {
        let mut engine = Engine::new(80, 24, 0);
        engine.process(output.as_bytes());
        engine
    }

    #[test]
    fn modes_follow_the_program() {
        assert_eq!(replay_of("hello").mouse_mode(), None);
        assert_eq!(
            replay_of("\x1b[?1000h\x1b[?1006h").mouse_mode(),
            Some(MouseMode {
                tracking: "click",
                encoding: MouseEncoding::Sgr
            })
        );
        assert_eq!(
            replay_of("\x1b[?1002h").mouse_mode(),
            Some(MouseMode {
                tracking: "drag",
                encoding: MouseEncoding::X10
            })
        );
        assert_eq!(replay_of("\x1b[?1000h\x1b[?1000l").mouse_mode(), None);
    }

    #[test]
    fn encodings() {
        use MouseButton::*;
        assert_eq!(
            encode(MouseEncoding::Sgr, Left, false, 4, 9).unwrap(),
            "\x1b[<0;10;5M"
        );
        assert_eq!(
            encode(MouseEncoding::Sgr, Right, true, 0, 0).unwrap(),
            "\x1b[<2;1;1m"
        );
        assert_eq!(
            encode(MouseEncoding::Sgr, WheelDown, false, 1, 1).unwrap(),
            "\x1b[<65;2;2M"
        );
        assert_eq!(
            encode(MouseEncoding::X10, Left, false, 0, 0).unwrap(),
            "\x1b[M !!"
        );
        assert_eq!(
            encode(MouseEncoding::X10, Left, true, 0, 0).unwrap(),
            "\x1b[M#!!"
        );
        assert_eq!(encode(MouseEncoding::X10, Left, false, 0, 200), None);
        assert_eq!(
            encode(MouseEncoding::Utf8, Left, false, 0, 200).unwrap(),
            format!("\x1b[M {}!", char::from_u32(233).unwrap())
        );
    }
}
