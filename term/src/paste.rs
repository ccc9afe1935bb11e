//! Bracketed paste: text wrapped in `ESC [200~` … `ESC [201~`, so a program
//! that asked for it (mode 2004: shells, editors) takes the text as typed
//! data, never as keystrokes to act on.
//!
//! The text itself may not end the paste early: an `ESC [201~` inside it
//! would close the brackets, and a Ctrl+C (`0x03`) would become SIGINT in
//! the kernel and make the shell drop the paste; either way whatever follows
//! would reach the program as keystrokes (a pasted `…ESC[201~\nrm -rf ~\n`
//! runs the `rm`). So control characters other than tab, line feed and
//! carriage return are removed from the text before wrapping, as terminals
//! do with what a user pastes; without ESC no closing sequence can remain.

use crate::Engine;
use alacritty_terminal::term::TermMode;
use std::borrow::Cow;

/// Opens a bracketed paste.
pub const START: &str = "\x1b[200~";
/// Closes a bracketed paste.
pub const END: &str = "\x1b[201~";

/// `text` without the control characters that could end a paste early
/// (all but tab, line feed and carriage return), so it stays pasted text.
pub fn body(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r');
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().filter(|&c| !unsafe_char(c)).collect())
}

/// What is written for a paste of `text`: its [`body`] between the brackets.
pub fn bracketed(text: &str) -> String {
    format!("{START}{}{END}", body(text))
}

impl Engine {
    /// Whether the program asked for bracketed paste (mode 2004): a line
    /// editor at its prompt does, and takes a paste as text to edit, not as
    /// keys; one that did not would take the brackets as keys.
    pub fn takes_bracketed_paste(&self) -> bool {
        self.term.mode().contains(TermMode::BRACKETED_PASTE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::plain("echo hi\n\tx\r\n", "echo hi\n\tx\r\n")]
    #[case::closing_inside("echo hi\x1b[201~\ntouch x\n", "echo hi[201~\ntouch x\n")]
    #[case::interrupt_inside("echo hi\x03\ntouch x\n", "echo hi\ntouch x\n")]
    #[case::other_controls("a\x00b\x1a\x1c\x7f\u{9b}c", "abc")]
    fn the_text_cannot_close_the_paste(#[case] text: &str, #[case] body: &str) {
        let written = bracketed(text);
        assert_eq!(written, format!("{START}{body}{END}"));
        assert_eq!(written.matches(END).count(), 1);
        assert!(written.ends_with(END));
    }
}
