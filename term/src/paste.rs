//! Bracketed paste: text wrapped in `ESC [200~` … `ESC [201~`, so a program
//! that asked for it (mode 2004: shells, editors) takes the text as typed
//! data, never as keystrokes to act on.
//!
//! The text itself may not end the paste early: an `ESC [201~` inside it
//! would close the brackets, and whatever follows would reach the program as
//! keystrokes (a pasted `…ESC[201~\nrm -rf ~\n` runs the `rm`). So every
//! closing sequence in the text is removed before wrapping, as terminals do
//! with what a user pastes. Removal repeats until none is left: taking one
//! out can join the bytes around it into another.

use crate::Engine;
use alacritty_terminal::term::TermMode;
use std::borrow::Cow;

/// Opens a bracketed paste.
pub const START: &str = "\x1b[200~";
/// Closes a bracketed paste.
pub const END: &str = "\x1b[201~";

/// `text` with every [`END`] removed, so it cannot close a paste.
pub fn body(text: &str) -> Cow<'_, str> {
    if !text.contains(END) {
        return Cow::Borrowed(text);
    }
    let mut body = text.replace(END, "");
    while body.contains(END) {
        body = body.replace(END, "");
    }
    Cow::Owned(body)
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
    #[case::plain("echo hi\n", "echo hi\n")]
    #[case::closing_inside("echo hi\x1b[201~\ntouch x\n", "echo hi\ntouch x\n")]
    #[case::closing_made_by_a_removal("a\x1b[20\x1b[201~1~b", "ab")]
    #[case::opening_kept("a\x1b[200~b", "a\x1b[200~b")]
    fn the_text_cannot_close_the_paste(#[case] text: &str, #[case] body: &str) {
        let written = bracketed(text);
        assert_eq!(written, format!("{START}{body}{END}"));
        assert_eq!(written.matches(END).count(), 1);
        assert!(written.ends_with(END));
    }
}
