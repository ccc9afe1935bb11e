//! `run`'s markers and its typed completion line.
//!
//! Every waited `run` gets a marker, `__AT_MARKER_<32 lowercase hex>__`
//! (agent-tty 0.5's shape, which tools match), logged in `input_run` and in
//! the `run_complete` that ends it.
//!
//! How the host learns that the command finished depends on what reads the
//! line (docs/adr/0012-run-completion.md). When another shell than the
//! Session's own integrated shell is in the foreground (an inner `bash`,
//! `ssh`, `su`), the host types the command, then a *completion line* of its
//! own on the next line (never joined to the user's line):
//!
//! ```text
//!  printf '\33]7770;%s\7' TOKEN.'\'"$?"'$status\'
//! ```
//!
//! The last argument is read differently by POSIX shells (bash, zsh, dash,
//! ksh, tcsh: inside single quotes a backslash is literal) and by fish
//! (where `\'` escapes a quote): the first expand `$?` and keep `$status`
//! quoted, fish expands `$status` and keeps `$?` quoted (it refuses `$?`
//! outside quotes). So the same line works whichever kind of shell reads it
//! (an inner `bash` may have exited, and the outer fish read the line), and
//! prints the private OSC sequence `ESC ] 7770 ; TOKEN . <junk><status><junk>
//! BEL`; the first number after the token is the exit status
//! ([`parse_status`]). The host finds it with a [`CompletionEcho`]. `TOKEN`
//! is fresh random hex per run (32 bits: it only has to be unpredictable to
//! output printed before it is typed), never logged; the echo of the line
//! holds the escapes as backslash text, so only a shell executing it
//! produces the raw sequence. The line is kept short so that it rarely
//! wraps after a long prompt. The host removes the
//! echo and the sequence from the output before it is logged
//! so neither a screen nor the Event Log shows them.
//! The leading space keeps the line out of the history of shells that
//! ignore such lines.
//!
//! Earlier versions of agent-tty joined `; printf '\033]7770;%s\007'
//! MARKER` to the command itself ([`typed_suffix`]); readers still hide that
//! echo in Event Logs written then.

use std::borrow::Cow;

/// The OSC number used for completion sequences (private, unassigned).
pub const OSC_NUMBER: &str = "7770";

/// Longest body (`TOKEN;STATUS`, or an old marker) the scanner recognises.
/// The bound keeps the scanner's carried-over tail small.
pub const MAX_MARKER_LEN: usize = 64;

const OPENER: &[u8] = b"\x1b]7770;";
const BEL: u8 = 0x07;

/// `n` random bytes as lowercase hex, from the kernel's generator.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    // getrandom(2): no file to open, so it works in a sandbox without
    // /dev and under any descriptor limit (the crate falls back to
    // /dev/urandom on kernels older than 3.17). Should both fail, the clock
    // still makes markers unique, though no longer unguessable.
    if getrandom::fill(&mut bytes).is_err() {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (seed.rotate_left(i as u32 * 7) >> ((i % 16) * 8)) as u8;
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh, unique run marker in agent-tty 0.5's shape:
/// `__AT_MARKER_<32 lowercase hex>__`.
pub fn new_marker() -> String {
    format!("__AT_MARKER_{}__", random_hex(16))
}

/// Whether `marker` is acceptable in a `run` request: 1 to
/// [`MAX_MARKER_LEN`] ASCII letters, digits, `_` or `-` (0.5's markers and
/// the `atm<ULID>` of earlier versions both are).
pub fn is_valid_marker(marker: &str) -> bool {
    !marker.is_empty()
        && marker.len() <= MAX_MARKER_LEN
        && marker
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The completion line typed after a command (without its newline), for the
/// run with `token`.
pub fn completion_line(token: &str) -> String {
    format!(" printf '\\33]{OSC_NUMBER};%s\\7' {token}.'\\'\"$?\"'$status\\'")
}

/// The exit status in what a completion sequence carries after its token:
/// the first whole number in it (POSIX shells print `\7$status\`, fish
/// `'"$?"7'`).
pub fn parse_status(after_token: &str) -> Option<i32> {
    let start = after_token.find(|c: char| c.is_ascii_digit())?;
    let negative = after_token[..start].ends_with('-');
    let digits: String = after_token[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let n: i32 = digits.parse().ok()?;
    Some(if negative { -n } else { n })
}

/// What earlier versions typed after the command (before the final `\r`):
/// `; printf '\033]7770;%s\007' MARKER`. Only readers of their Event Logs
/// need it (to hide its echo).
pub fn typed_suffix(marker: &str) -> String {
    format!("; printf '\\033]{OSC_NUMBER};%s\\007' {marker}")
}

/// The whole line earlier versions wrote: command, suffix, carriage return.
pub fn typed_line(command: &str, marker: &str) -> String {
    format!("{command}{}\r", typed_suffix(marker))
}

/// The bytes a shell prints for a completion sequence with this body.
pub fn osc(body: &str) -> Vec<u8> {
    let mut bytes = OPENER.to_vec();
    bytes.extend_from_slice(body.as_bytes());
    bytes.push(BEL);
    bytes
}

/// A completion line `run` typed and is waiting for.
#[derive(Debug, Clone)]
struct Expected {
    /// The line as typed (without its newline and leading blanks): its echo
    /// is removed.
    line: String,
    /// `ESC ] 7770 ; TOKEN .`: the start of the sequence that completes it.
    opener: String,
}

/// Finds completion sequences in a Session's output and removes them, and
/// the echo of the completion lines, before the output is logged or shown.
///
/// Output arrives in arbitrary pieces: an echo or sequence cut by the end of
/// a read is held back until the next piece decides it (or until
/// [`CompletionEcho::flush`], when nothing more comes for a while). Echoes
/// are matched tolerantly: line editors may put colour and cursor sequences
/// (`CSI …`) and carriage returns between the characters. A removed echo and
/// its line end, and the sequence, become `CR` + erase-line, so the prompt
/// the shell prints after running the completion line lands where the
/// previous one stood (one prompt on the screen, as after a person's
/// command); an echo a line editor drew with cursor movements is simply
/// removed (it redraws its line itself).
#[derive(Debug, Default)]
pub struct CompletionEcho {
    expected: Vec<Expected>,
    held: String,
}

/// A completion sequence found in the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    /// The run's token.
    pub token: String,
    /// The exit status the shell printed, when it is a number.
    pub exit_code: Option<i32>,
}

/// Lines a host waits for at most; older ones (runs long timed out whose
/// line some program swallowed) are forgotten first.
const MAX_EXPECTED: usize = 64;

/// What an echo is replaced with: back to the start of the line, erased.
const ECHO_REPLACEMENT: &str = "\r\x1b[K";

impl CompletionEcho {
    /// Nothing expected yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A completion line for `token` was typed (as `line`).
    pub fn expect(&mut self, token: &str, line: String) {
        if self.expected.len() == MAX_EXPECTED {
            self.expected.remove(0);
        }
        // Matched from its first visible character: fish draws the leading
        // space as a cursor movement.
        self.expected.push(Expected {
            line: line.trim_start().to_owned(),
            opener: format!("\x1b]{OSC_NUMBER};{token}."),
        });
    }

    /// Whether a completion line is awaited.
    #[cfg(test)]
    pub fn is_waiting(&self) -> bool {
        !self.expected.is_empty()
    }

    /// Whether output is held back.
    pub fn holds(&self) -> bool {
        !self.held.is_empty()
    }

    /// Gives back whatever is held (nothing more came to decide it).
    pub fn flush(&mut self) -> String {
        std::mem::take(&mut self.held)
    }

    /// The part of `data` (after anything held before it) to log and show,
    /// and the completions found in it.
    pub fn filter<'a>(&mut self, data: &'a str) -> (Cow<'a, str>, Vec<Completed>) {
        let mut found = Vec::new();
        if self.expected.is_empty() && self.held.is_empty() {
            return (Cow::Borrowed(data), found);
        }
        let mut text = std::mem::take(&mut self.held);
        text.push_str(data);
        let mut shown = String::with_capacity(text.len());
        let mut pos = 0;
        'scan: while pos < text.len() {
            let rest = &text[pos..];
            for (i, e) in self.expected.iter().enumerate() {
                match match_sequence(rest, &e.opener) {
                    Match::Whole(len, exit_code) => {
                        let token = e.opener[OPENER.len()..e.opener.len() - 1].to_owned();
                        found.push(Completed { token, exit_code });
                        self.expected.remove(i);
                        // The shell showed a prompt before it read the
                        // line, and shows another now.
                        shown.push_str(ECHO_REPLACEMENT);
                        pos += len;
                        continue 'scan;
                    }
                    Match::Partial => {
                        self.held.push_str(rest);
                        break 'scan;
                    }
                    Match::No => {}
                }
                match match_echo(rest, &e.line) {
                    Echo::Whole {
                        len,
                        escapes,
                        drawn,
                    } => {
                        // A line editor that drew the echo with cursor
                        // movements redraws its line itself.
                        if !drawn {
                            shown.push_str(ECHO_REPLACEMENT);
                        }
                        shown.push_str(&escapes);
                        pos += len;
                        continue 'scan;
                    }
                    Echo::Partial => {
                        self.held.push_str(rest);
                        break 'scan;
                    }
                    Echo::No => {}
                }
            }
            let c = rest.chars().next().expect("pos < len");
            shown.push(c);
            pos += c.len_utf8();
        }
        (Cow::Owned(shown), found)
    }
}

/// How a text starts compared with a pattern.
#[derive(Debug, PartialEq)]
enum Match {
    /// It does not start with it.
    No,
    /// It ends before it could tell.
    Partial,
    /// It starts with it, `len` bytes long (and the status, for sequences).
    Whole(usize, Option<i32>),
}

/// The most a completion sequence carries after its token.
const MAX_STATUS_TEXT: usize = 32;

/// `opener` (`ESC]7770;TOKEN.`), a status and BEL at the start of `text`.
fn match_sequence(text: &str, opener: &str) -> Match {
    if !text.starts_with('\x1b') {
        return Match::No;
    }
    if text.len() < opener.len() {
        return if opener.starts_with(text) {
            Match::Partial
        } else {
            Match::No
        };
    }
    if !text.starts_with(opener) {
        return Match::No;
    }
    let after = &text[opener.len()..];
    let printable = after
        .bytes()
        .take(MAX_STATUS_TEXT)
        .take_while(|b| (0x20..0x7f).contains(b))
        .count();
    match after.as_bytes().get(printable) {
        Some(&BEL) => Match::Whole(
            opener.len() + printable + 1,
            parse_status(&after[..printable]),
        ),
        None if printable < MAX_STATUS_TEXT => Match::Partial,
        _ => Match::No,
    }
}

/// How a text starts compared with a completion line's echo.
#[derive(Debug, PartialEq)]
enum Echo {
    /// It does not start with it.
    No,
    /// It ends before it could tell.
    Partial,
    /// It starts with it, `len` bytes long; the escape sequences found
    /// among and after its characters (modes, colours), which are kept;
    /// `drawn`: some came between its characters (a line editor drew it).
    Whole {
        len: usize,
        escapes: String,
        drawn: bool,
    },
}

/// The echo of `line` at the start of `text`, tolerating escape sequences
/// and carriage returns between its characters, with the line end after it
/// (carriage returns and escape sequences up to a newline).
fn match_echo(text: &str, line: &str) -> Echo {
    let want = line.as_bytes();
    let got = text.as_bytes();
    if got.first() != want.first() {
        return Echo::No;
    }
    let mut escapes = String::new();
    let (mut j, mut k) = (0, 0);
    while k < want.len() {
        let Some(&b) = got.get(j) else {
            return Echo::Partial;
        };
        if b == want[k] {
            j += 1;
            k += 1;
        } else if b == b'\r' {
            j += 1;
        } else if b == 0x1b {
            match escape_len(&got[j..]) {
                Some(0) => return Echo::Partial,
                Some(n) => {
                    escapes.push_str(&text[j..j + n]);
                    j += n;
                }
                None => return Echo::No,
            }
        } else {
            return Echo::No;
        }
    }
    let drawn = !escapes.is_empty();
    let mut end = j;
    loop {
        let len = match got.get(end) {
            None => return Echo::Partial,
            Some(b'\n') => end + 1,
            Some(b'\r') => {
                end += 1;
                continue;
            }
            Some(0x1b) => match escape_len(&got[end..]) {
                Some(0) => return Echo::Partial,
                Some(n) => {
                    escapes.push_str(&text[end..end + n]);
                    end += n;
                    continue;
                }
                None => end,
            },
            Some(_) => end,
        };
        return Echo::Whole {
            len,
            escapes,
            drawn,
        };
    }
}

/// The length of the escape sequence at the start of `bytes` (which starts
/// with ESC): a CSI sequence, or ESC with intermediates and a final byte
/// (`ESC =`, `ESC >`, `ESC ( B`); `Some(0)` when it is cut off, `None` when
/// it is something else (an OSC, a string).
fn escape_len(bytes: &[u8]) -> Option<usize> {
    match bytes.get(1) {
        None => Some(0),
        Some(b'[') => {
            for (i, &b) in bytes.iter().enumerate().skip(2) {
                if (0x40..=0x7e).contains(&b) {
                    return Some(i + 1);
                }
                if !(0x20..=0x3f).contains(&b) {
                    return None;
                }
            }
            Some(0)
        }
        Some(b']' | b'P' | b'_' | b'^' | b'X') => None,
        Some(_) => {
            for (i, &b) in bytes.iter().enumerate().skip(1) {
                if (0x30..=0x7e).contains(&b) {
                    return Some(i + 1);
                }
                if !(0x20..=0x2f).contains(&b) {
                    return None;
                }
            }
            Some(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn markers_have_the_shape_of_0_5() {
        let (a, b) = (new_marker(), new_marker());
        assert_ne!(a, b);
        let hex = a
            .strip_prefix("__AT_MARKER_")
            .and_then(|m| m.strip_suffix("__"))
            .unwrap();
        assert_eq!(hex.len(), 32);
        assert!(hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert!(is_valid_marker(&a), "{a}");
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
    fn the_completion_line_reads_the_status_in_posix_shells_and_fish() {
        assert_eq!(
            completion_line("ab12"),
            r#" printf '\33]7770;%s\7' ab12.'\'"$?"'$status\'"#
        );
        assert_eq!(parse_status(r"\7$status\"), Some(7));
        assert_eq!(parse_status(r#"'"$?"130'"#), Some(130));
        assert_eq!(parse_status(r"\$status\"), None);
    }

    /// The line really is read the same way by every shell installed here.
    #[test]
    fn every_installed_shell_prints_the_status_of_the_command_before_it() {
        let line = completion_line("tok");
        for (shell, fail) in [
            ("bash", "(exit 7)"),
            ("zsh", "(exit 7)"),
            ("dash", "(exit 7)"),
            ("fish", "fish -c 'exit 7'"),
        ] {
            let Ok(out) = std::process::Command::new(shell)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut child| {
                    use std::io::Write;
                    let script = format!("{fail}\n{line}\n");
                    child.stdin.take().unwrap().write_all(script.as_bytes())?;
                    child.wait_with_output()
                })
            else {
                // `.ci/run` installs every one of them.
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "{shell} is required under CI=true"
                );
                eprintln!("SKIPPED: {shell} is not installed");
                continue;
            };
            let mut e = CompletionEcho::new();
            e.expect("tok", line.clone());
            let (_, found) = e.filter(&String::from_utf8_lossy(&out.stdout));
            assert_eq!(
                found,
                [Completed {
                    token: "tok".into(),
                    exit_code: Some(7)
                }],
                "{shell}: {:?}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }

    fn filter_in_pieces(
        e: &mut CompletionEcho,
        stream: &str,
        piece: usize,
    ) -> (String, Vec<Completed>) {
        let mut shown = String::new();
        let mut found = Vec::new();
        let bytes = stream.as_bytes();
        let mut start = 0;
        while start < bytes.len() {
            let mut end = (start + piece).min(bytes.len());
            while !stream.is_char_boundary(end) {
                end += 1;
            }
            let (s, f) = e.filter(&stream[start..end]);
            shown.push_str(&s);
            found.extend(f);
            start = end;
        }
        shown.push_str(&e.flush());
        (shown, found)
    }

    #[rstest]
    #[case(1)]
    #[case(2)]
    #[case(7)]
    #[case(1000)]
    fn the_echo_and_the_sequence_are_removed_wherever_the_output_is_cut(#[case] piece: usize) {
        let line = completion_line("c0ffee");
        let mut e = CompletionEcho::new();
        e.expect("c0ffee", line.clone());
        // The kernel's echo while busy, the command's output, the shell's
        // own echo (with bracketed-paste noise), then the sequence.
        let stream = format!(
            "$ false\r\n{line}\r\nout é\r\n$ {line}\r\n\x1b[?2004l\r\x1b]7770;c0ffee.\\1$status\\\x07$ "
        );
        let (shown, found) = filter_in_pieces(&mut e, &stream, piece);
        assert_eq!(
            shown,
            "$ false\r\n \r\x1b[Kout é\r\n$  \r\x1b[K\x1b[?2004l\r\r\x1b[K$ "
        );
        assert_eq!(
            found,
            [Completed {
                token: "c0ffee".into(),
                exit_code: Some(1)
            }]
        );
        assert!(!e.is_waiting());
    }

    #[test]
    fn an_echo_with_colours_between_its_characters_is_still_removed() {
        let mut e = CompletionEcho::new();
        e.expect("t1", " printf x".into());
        let (shown, _) = e.filter("> \x1b[34m printf\x1b[m x\x1b[?1l\x1b>\r\r\n\x1b[K");
        // Modes and colours stay; the characters and the line end go. The
        // line editor that drew it redraws its line itself.
        assert_eq!(shown, "> \x1b[34m \x1b[m\x1b[?1l\x1b>\x1b[K");
    }

    #[test]
    fn other_sequences_and_text_are_left_alone() {
        let mut e = CompletionEcho::new();
        e.expect("t1", " printf x".into());
        let text = "\x1b]7770;t2.0\x07 printf y \x1b]0;title\x07";
        assert_eq!(e.filter(text), (text.into(), vec![]));
        // A forged sequence without the token does not complete the run.
        assert!(e.is_waiting());
    }

    #[test]
    fn nothing_is_held_when_nothing_is_expected() {
        let mut e = CompletionEcho::new();
        assert_eq!(e.filter("$ \x1b]77").0, "$ \x1b]77");
        assert!(!e.holds());
    }
}
