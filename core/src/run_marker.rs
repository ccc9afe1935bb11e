//! `run`'s completion marker: how a Session's host knows a typed command has
//! finished without understanding the shell.
//!
//! `run` types the command followed by [`typed_suffix`], i.e.
//!
//! ```text
//! {command}; printf '\033]7770;%s\007' {marker}\r
//! ```
//!
//! When the command ends, the shell's `printf` emits the private OSC sequence
//! [`osc`] (`ESC ] 7770 ; marker BEL`). The *echo* of the typed line contains
//! the escapes as backslash text and the marker as a separate word, so only
//! the real completion ever produces the raw byte sequence; the host watches
//! the PTY output for it with a [`MarkerScanner`] and logs `run_complete`.
//! Terminal emulators ignore unknown OSC numbers, so the sequence itself never
//! reaches a rendered screen; screen replay hides the echoed suffix by
//! matching [`typed_suffix`].

/// The OSC number used for completion markers (private, unassigned).
pub const OSC_NUMBER: &str = "7770";

/// Longest marker the scanner recognises. Markers are short generated tokens;
/// the bound keeps the scanner's carried-over tail small.
pub const MAX_MARKER_LEN: usize = 64;

const OPENER: &[u8] = b"\x1b]7770;";
const BEL: u8 = 0x07;

/// A fresh, unique, shell-safe marker (`atm` followed by a ULID).
pub fn new_marker() -> String {
    format!("atm{}", ulid::Ulid::new())
}

/// Whether `marker` can be typed into a shell unquoted and recognised by the
/// scanner: 1 to [`MAX_MARKER_LEN`] ASCII letters, digits, `_` or `-`.
pub fn is_valid_marker(marker: &str) -> bool {
    !marker.is_empty()
        && marker.len() <= MAX_MARKER_LEN
        && marker
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// What `run` types after the command (before the final `\r`):
/// `; printf '\033]7770;%s\007' MARKER`.
pub fn typed_suffix(marker: &str) -> String {
    format!("; printf '\\033]{OSC_NUMBER};%s\\007' {marker}")
}

/// The whole line `run` writes to the PTY: command, suffix, carriage return.
pub fn typed_line(command: &str, marker: &str) -> String {
    format!("{command}{}\r", typed_suffix(marker))
}

/// The bytes the shell prints when the command has finished.
pub fn osc(marker: &str) -> Vec<u8> {
    let mut bytes = OPENER.to_vec();
    bytes.extend_from_slice(marker.as_bytes());
    bytes.push(BEL);
    bytes
}

/// Finds completion markers in a stream of PTY output that arrives in
/// arbitrary pieces: a sequence split across two reads is still found, once.
#[derive(Debug, Default)]
pub struct MarkerScanner {
    /// The unfinished end of the previous chunk that may start a marker.
    tail: Vec<u8>,
}

impl MarkerScanner {
    /// A scanner with nothing carried over.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk of output and returns the markers completed in it,
    /// in order.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<String> {
        let owned;
        let data: &[u8] = if self.tail.is_empty() {
            chunk
        } else {
            let mut joined = std::mem::take(&mut self.tail);
            joined.extend_from_slice(chunk);
            owned = joined;
            &owned
        };
        let mut found = Vec::new();
        let mut pos = 0;
        while let Some(esc) = data[pos..].iter().position(|&b| b == 0x1b) {
            let start = pos + esc;
            let rest = &data[start..];
            if rest.len() < OPENER.len() {
                if OPENER.starts_with(rest) {
                    self.tail = rest.to_vec();
                }
                break;
            }
            if !rest.starts_with(OPENER) {
                pos = start + 1;
                continue;
            }
            let body = &rest[OPENER.len()..];
            match body.iter().take(MAX_MARKER_LEN + 1).position(|&b| b == BEL) {
                Some(end) => {
                    let marker = &body[..end];
                    if let Ok(text) = std::str::from_utf8(marker) {
                        if is_valid_marker(text) {
                            found.push(text.to_owned());
                        }
                    }
                    pos = start + OPENER.len() + end + 1;
                }
                None if body.len() <= MAX_MARKER_LEN => {
                    self.tail = rest.to_vec();
                    break;
                }
                None => pos = start + 1,
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn the_typed_line_has_the_agreed_shape() {
        assert_eq!(
            typed_line("ls -l", "atmX1"),
            "ls -l; printf '\\033]7770;%s\\007' atmX1\r"
        );
        assert_eq!(osc("atmX1"), b"\x1b]7770;atmX1\x07");
    }

    #[test]
    fn new_markers_are_valid_and_unique() {
        let (a, b) = (new_marker(), new_marker());
        assert!(is_valid_marker(&a), "{a}");
        assert_ne!(a, b);
    }

    #[rstest]
    #[case("")]
    #[case("has space")]
    #[case("semi;colon")]
    #[case("quote'")]
    fn unsafe_markers_are_refused(#[case] marker: &str) {
        assert!(!is_valid_marker(marker));
    }

    #[test]
    fn the_echoed_suffix_is_not_a_completion() {
        let mut s = MarkerScanner::new();
        assert!(s.feed(typed_line("true", "atm1").as_bytes()).is_empty());
    }

    #[rstest]
    #[case(1)]
    #[case(2)]
    #[case(3)]
    #[case(7)]
    fn markers_split_anywhere_are_found_once(#[case] piece: usize) {
        let mut stream = b"out\x1b[0mput ".to_vec();
        stream.extend(osc("atmA"));
        stream.extend(b"\x1b]0;title\x07 more ");
        stream.extend(osc("atmB"));
        stream.extend(b"\x1b");
        let mut s = MarkerScanner::new();
        let found: Vec<String> = stream.chunks(piece).flat_map(|c| s.feed(c)).collect();
        assert_eq!(found, ["atmA", "atmB"]);
    }

    #[test]
    fn an_unterminated_opener_does_not_grow_the_tail_forever() {
        let mut s = MarkerScanner::new();
        let mut junk = OPENER.to_vec();
        junk.extend(std::iter::repeat_n(b'a', 500));
        assert!(s.feed(&junk).is_empty());
        assert!(s.tail.len() <= OPENER.len() + MAX_MARKER_LEN);
        let mut later = b"x".to_vec();
        later.extend(osc("atmC"));
        assert_eq!(s.feed(&later), ["atmC"]);
    }
}
