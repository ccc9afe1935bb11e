//! Hiding `run`'s completion-marker suffix from the screen.
//!
//! `run` types `{command}; printf '\033]7770;%s\007' MARKER` and the shell
//! echoes that line back as ordinary output. The suffix is plumbing, not
//! something the user or agent typed, so it must never appear in a snapshot,
//! in what `wait --text` matches, or in the dashboard's Live View.
//!
//! It is removed from the output *before* the VT emulator sees it, rather than
//! masked on the rendered screen afterwards: the emulator then never lays the
//! suffix out, so a long command line that wrapped only because of the suffix
//! does not wrap, nothing of it survives into scrollback, and every reader of
//! the emulated screen (snapshot, wait, Live View) gets the same clean picture
//! from one place. Shells echo a typed line verbatim (bash/readline, dash and
//! the kernel's own echo while the shell is busy were checked), so an exact
//! match on the suffix is enough.
//!
//! Only suffixes whose marker was announced by an `input_run` event are
//! removed, so ordinary output that merely looks similar is left alone. An
//! echo can be split across two output events; while some run is still in
//! flight (its `run_complete` not yet seen), a tail of output that could be the
//! start of a suffix is held back until the next event decides it. With no
//! run in flight nothing is ever held back, so an idle screen is always
//! complete.

use crate::run_marker::{typed_suffix, MAX_MARKER_LEN};
use std::borrow::Cow;
use std::collections::HashSet;

/// Removes echoed marker suffixes from a stream of output.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct MarkerEchoFilter {
    /// `; printf '\033]7770;%s\007' ` — what every suffix starts with.
    prefix: String,
    /// Markers of every `input_run` seen.
    known: HashSet<String>,
    /// Markers whose `run_complete` has not been seen yet, oldest first.
    in_flight: Vec<String>,
    /// Output held back because it may be the start of a suffix.
    held: String,
}

impl MarkerEchoFilter {
    /// A filter with no run in flight.
    pub fn new() -> Self {
        MarkerEchoFilter {
            prefix: typed_suffix(""),
            ..Default::default()
        }
    }

    /// Whether a filter decoded from a checkpoint is one this code could
    /// have made: the same suffix prefix, and no more held back than a
    /// suffix can be long.
    pub fn is_sane(&self) -> bool {
        self.prefix == typed_suffix("") && self.held.len() <= 64 * 1024
    }

    /// An `input_run` with this marker was logged.
    pub fn run_started(&mut self, marker: &str) {
        self.known.insert(marker.to_owned());
        self.in_flight.push(marker.to_owned());
    }

    /// Its `run_complete` was logged. Runs typed before it are settled too: a
    /// shell reads lines in order, so their echo is already behind us even if
    /// they never completed (interrupted with Ctrl+C, say). Returns held-back
    /// output to show now when no run is left in flight.
    pub fn run_completed(&mut self, marker: &str) -> Option<String> {
        if let Some(at) = self.in_flight.iter().position(|m| m == marker) {
            self.in_flight.drain(..=at);
        }
        if self.in_flight.is_empty() {
            self.flush()
        } else {
            None
        }
    }

    /// Settles every run and gives back whatever is held (the Session ended,
    /// nothing more will come).
    pub fn session_ended(&mut self) -> Option<String> {
        self.in_flight.clear();
        self.flush()
    }

    fn flush(&mut self) -> Option<String> {
        (!self.held.is_empty()).then(|| std::mem::take(&mut self.held))
    }

    /// The part of `data` (after anything held before it) to show now.
    pub fn filter<'a>(&mut self, data: &'a str) -> Cow<'a, str> {
        if self.known.is_empty() {
            return Cow::Borrowed(data);
        }
        if self.held.is_empty() && self.in_flight.is_empty() && !data.contains(&self.prefix) {
            return Cow::Borrowed(data);
        }
        let mut text = std::mem::take(&mut self.held);
        text.push_str(data);
        let mut shown = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find(&self.prefix) {
            let after = &rest[at + self.prefix.len()..];
            let token_len = after
                .bytes()
                .take(MAX_MARKER_LEN)
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
                .count();
            let token = &after[..token_len];
            if token_len == after.len() && self.could_continue(token) {
                shown.push_str(&rest[..at]);
                self.held.push_str(&rest[at..]);
                return Cow::Owned(shown);
            }
            if self.known.contains(token) {
                shown.push_str(&rest[..at]);
                rest = &after[token_len..];
            } else {
                shown.push_str(&rest[..=at]);
                rest = &rest[at + 1..];
            }
        }
        let keep = if self.in_flight.is_empty() {
            0
        } else {
            self.partial_prefix_len(rest)
        };
        shown.push_str(&rest[..rest.len() - keep]);
        self.held.push_str(&rest[rest.len() - keep..]);
        Cow::Owned(shown)
    }

    /// Whether an echo cut off after `token` may still turn out to be a
    /// suffix once the next output arrives.
    fn could_continue(&self, token: &str) -> bool {
        self.in_flight.iter().any(|m| m.starts_with(token))
    }

    /// The length of the longest end of `text` that is a proper start of the
    /// suffix prefix.
    fn partial_prefix_len(&self, text: &str) -> usize {
        let max = (self.prefix.len() - 1).min(text.len());
        (1..=max)
            .rev()
            .find(|&n| {
                text.is_char_boundary(text.len() - n)
                    && self.prefix.starts_with(&text[text.len() - n..])
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_marker::typed_line;
    use rstest::rstest;

    fn run(filter: &mut MarkerEchoFilter, pieces: &[&str]) -> String {
        pieces
            .iter()
            .map(|p| filter.filter(p).into_owned())
            .collect()
    }

    #[test]
    fn a_known_suffix_is_removed_and_the_rest_kept() {
        let mut f = MarkerEchoFilter::new();
        f.run_started("atmA");
        let echo = format!("$ {}\n", typed_line("echo hi", "atmA"));
        assert_eq!(run(&mut f, &[&echo, "hi\r\n"]), "$ echo hi\r\nhi\r\n");
    }

    #[test]
    fn an_unknown_marker_is_left_alone() {
        let mut f = MarkerEchoFilter::new();
        f.run_started("atmA");
        f.run_completed("atmA");
        let text = typed_line("echo hi", "atmOther");
        assert_eq!(run(&mut f, &[&text]), text);
    }

    #[rstest]
    #[case(1)]
    #[case(2)]
    #[case(5)]
    #[case(13)]
    fn an_echo_split_anywhere_is_still_removed(#[case] piece: usize) {
        let mut f = MarkerEchoFilter::new();
        f.run_started("atm01JD3Z6X8K4M2N5P7Q9R1S3T5V");
        let echo = typed_line("echo hi; ls", "atm01JD3Z6X8K4M2N5P7Q9R1S3T5V");
        let stream = format!("$ {echo}\nhi\r\n{echo}\n");
        let pieces: Vec<String> = stream
            .as_bytes()
            .chunks(piece)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        let mut shown = run(&mut f, &refs);
        shown.push_str(
            &f.run_completed("atm01JD3Z6X8K4M2N5P7Q9R1S3T5V")
                .unwrap_or_default(),
        );
        assert_eq!(shown, "$ echo hi; ls\r\nhi\r\necho hi; ls\r\n");
    }

    #[test]
    fn a_later_completion_settles_an_interrupted_run() {
        let mut f = MarkerEchoFilter::new();
        f.run_started("atmInterrupted");
        f.run_started("atmNext");
        assert_eq!(f.filter("^C\r\n$ x;"), "^C\r\n$ x");
        assert_eq!(f.run_completed("atmNext").as_deref(), Some(";"));
        assert_eq!(f.filter("y;"), "y;");
    }

    #[test]
    fn nothing_is_held_back_when_no_run_is_in_flight() {
        let mut f = MarkerEchoFilter::new();
        f.run_started("atmA");
        assert_eq!(f.filter("wait for it;"), "wait for it");
        assert_eq!(f.run_completed("atmA").as_deref(), Some(";"));
        assert_eq!(f.filter("and now;"), "and now;");
    }
}
