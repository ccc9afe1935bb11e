//! Answering what a terminal answers.
//!
//! Programs ask their terminal questions by printing escape sequences: "what
//! are you" (DA1 `CSI c`, DA2 `CSI > c`, XTVERSION `CSI > q`), "are you
//! well" (DSR `CSI 5 n`), "where is the cursor" (CPR `CSI 6 n`), "what are
//! your colours" (OSC 10/11/12/4 with `?`), "is this mode on" (DECRQM
//! `CSI ? Ps $ p`). A real terminal writes the answer back as if typed; a
//! program that gets none waits for a timeout (vttest, a `read -t 1` in a
//! prompt), complains (Neovim's E1568, prompt_toolkit's CPR warning) or
//! misreads its next keystroke.
//!
//! The [`Responder`] finds these questions in the Session's output with the
//! `vte` parser (the state machine of Alacritty, which carries a sequence
//! split over two reads to the next one), together with the shell
//! integration marks (`OSC 133`, see
//! [`shell_integration`](agent_tty_runtime::shell_integration)). It hands the
//! output back in pieces that end exactly where a question ends, so the
//! host's live screen has seen every byte before the question when a cursor
//! position is answered. Answers go to the program through the PTY, never
//! into the Event Log (a replay must not see them as output, and 0.5 never
//! logged them either).
//!
//! Colours are those of the default render profile
//! ([`profile`](agent_tty_term::profile)), so a program that picks its theme
//! from OSC 11 looks in a `screenshot` as it looked to itself. Modes are
//! followed here from the `CSI h`/`CSI l` sequences the program sends, so
//! DECRQM answers do not depend on the emulator's internals.

use agent_tty_runtime::shell_integration::{parse_mark, Mark};
use agent_tty_term::profile::{xterm_rgb_spec, RenderProfile, Rgb};
use vte::{Params, Parser, Perform};

/// What the terminal reports as its name and version to XTVERSION.
const NAME_AND_VERSION: &str = concat!("agent-tty ", env!("CARGO_PKG_VERSION"));

/// One step of scanned output, in order.
#[derive(Debug, PartialEq)]
pub enum Step<'a> {
    /// Output to show, ending where the next question or mark ends.
    Output(&'a str),
    /// The bytes to write back to the program (an answered question).
    Reply(Reply),
    /// A shell integration mark.
    Mark(Mark),
}

/// A question that needs the screen to answer (the cursor), or a ready
/// answer.
#[derive(Debug, PartialEq)]
pub enum Reply {
    /// The answer, as is.
    Bytes(Vec<u8>),
    /// A cursor position report; `private` is DECXCPR (`CSI ? 6 n`).
    CursorPosition {
        /// Answer in the `CSI ? r ; c R` form.
        private: bool,
    },
}

impl Reply {
    /// The answer's bytes, given the cursor as `(row, col)` (0-based) on a
    /// screen of `(cols, rows)`.
    pub fn bytes(self, cursor: (u16, u16), size: (u16, u16)) -> Vec<u8> {
        match self {
            Reply::Bytes(b) => b,
            Reply::CursorPosition { private } => {
                let row = cursor.0.min(size.1.saturating_sub(1)) + 1;
                let col = cursor.1.min(size.0.saturating_sub(1)) + 1;
                let mark = if private { "?" } else { "" };
                format!("\x1b[{mark}{row};{col}R").into_bytes()
            }
        }
    }
}

/// Finds questions and marks in a Session's output (see the module docs).
pub struct Responder {
    parser: Parser,
    scan: Scan,
}

impl Default for Responder {
    fn default() -> Self {
        Self::new()
    }
}

impl Responder {
    /// A responder at the start of a stream.
    pub fn new() -> Self {
        Responder {
            parser: Parser::new(),
            scan: Scan {
                modes: Modes::default(),
                found: None,
            },
        }
    }

    /// Scans the next piece of output, calling `each` with the output in
    /// pieces and with what was found between them.
    pub fn scan<'a>(&mut self, data: &'a str, mut each: impl FnMut(Step<'a>)) {
        let bytes = data.as_bytes();
        let mut start = 0;
        let mut pos = 0;
        while pos < bytes.len() {
            pos += self
                .parser
                .advance_until_terminated(&mut self.scan, &bytes[pos..]);
            let Some(found) = self.scan.found.take() else {
                continue;
            };
            // Questions end on an ASCII byte, so this is a char boundary;
            // should it not be, the piece grows to the next one.
            let mut end = pos;
            while !data.is_char_boundary(end) {
                end += 1;
            }
            if end > start {
                each(Step::Output(&data[start..end]));
            }
            start = end;
            pos = end;
            match found {
                Found::Reply(r) => each(Step::Reply(r)),
                Found::Mark(m) => each(Step::Mark(m)),
            }
        }
        if start < bytes.len() {
            each(Step::Output(&data[start..]));
        }
    }
}

enum Found {
    Reply(Reply),
    Mark(Mark),
}

/// The parser's performer: notes the first question or mark and stops.
struct Scan {
    modes: Modes,
    found: Option<Found>,
}

/// DEC private and ANSI modes as the program set them.
#[derive(Debug, Clone)]
struct Modes {
    private: Vec<(u16, bool)>,
    ansi: Vec<(u16, bool)>,
}

/// DEC private modes answered by DECRQM, with their power-on state: cursor
/// keys, origin, autowrap, cursor visible, the alternate screens, mouse
/// reporting and encodings, focus events, bracketed paste.
const PRIVATE_MODES: &[(u16, bool)] = &[
    (1, false),
    (6, false),
    (7, true),
    (25, true),
    (47, false),
    (1000, false),
    (1002, false),
    (1003, false),
    (1004, false),
    (1005, false),
    (1006, false),
    (1047, false),
    (1049, false),
    (2004, false),
];

/// ANSI modes answered by DECRQM: insert (IRM) and new line (LNM).
const ANSI_MODES: &[(u16, bool)] = &[(4, false), (20, false)];

impl Default for Modes {
    fn default() -> Self {
        Modes {
            private: PRIVATE_MODES.to_vec(),
            ansi: ANSI_MODES.to_vec(),
        }
    }
}

impl Modes {
    fn set(&mut self, private: bool, mode: u16, on: bool) {
        let table = if private {
            &mut self.private
        } else {
            &mut self.ansi
        };
        if let Some(entry) = table.iter_mut().find(|(m, _)| *m == mode) {
            entry.1 = on;
        }
    }

    /// DECRPM's value: 1 set, 2 reset, 0 not recognised.
    fn report(&self, private: bool, mode: u16) -> u8 {
        let table = if private { &self.private } else { &self.ansi };
        match table.iter().find(|(m, _)| *m == mode) {
            Some((_, true)) => 1,
            Some((_, false)) => 2,
            None => 0,
        }
    }
}

fn first_param(params: &Params) -> u16 {
    params
        .iter()
        .next()
        .and_then(|p| p.first().copied())
        .unwrap_or(0)
}

impl Perform for Scan {
    fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], ignore: bool, action: char) {
        if ignore {
            return;
        }
        let bytes = |s: String| Some(Found::Reply(Reply::Bytes(s.into_bytes())));
        self.found = match (intermediates, action) {
            ([], 'c') if first_param(params) == 0 => bytes("\x1b[?62;22c".into()),
            ([b'>'], 'c') if first_param(params) == 0 => bytes("\x1b[>1;10;0c".into()),
            ([b'>'], 'q') if first_param(params) == 0 => {
                bytes(format!("\x1bP>|{NAME_AND_VERSION}\x1b\\"))
            }
            ([], 'n') if first_param(params) == 5 => bytes("\x1b[0n".into()),
            ([], 'n') if first_param(params) == 6 => {
                Some(Found::Reply(Reply::CursorPosition { private: false }))
            }
            ([b'?'], 'n') if first_param(params) == 6 => {
                Some(Found::Reply(Reply::CursorPosition { private: true }))
            }
            ([b'?', b'$'], 'p') | ([b'$'], 'p') => {
                let private = intermediates[0] == b'?';
                let mode = first_param(params);
                let value = self.modes.report(private, mode);
                let mark = if private { "?" } else { "" };
                bytes(format!("\x1b[{mark}{mode};{value}$y"))
            }
            ([b'!'], 'p') => {
                // DECSTR, a soft reset: modes back to their defaults.
                self.modes = Modes::default();
                None
            }
            (private @ ([] | [b'?']), 'h' | 'l') => {
                for mode in params.iter().filter_map(|p| p.first().copied()) {
                    self.modes.set(!private.is_empty(), mode, action == 'h');
                }
                None
            }
            _ => None,
        };
    }

    fn esc_dispatch(&mut self, intermediates: &[u8], _ignore: bool, byte: u8) {
        // RIS, a full reset.
        if intermediates.is_empty() && byte == b'c' {
            self.modes = Modes::default();
        }
    }

    fn osc_dispatch(&mut self, params: &[&[u8]], bell_terminated: bool) {
        let end: &str = if bell_terminated { "\x07" } else { "\x1b\\" };
        let profile = RenderProfile::default_profile();
        let colour = |number: &[u8], rgb: Rgb| {
            let number = String::from_utf8_lossy(number);
            format!("\x1b]{number};{}{end}", xterm_rgb_spec(rgb))
        };
        self.found = match params {
            [number @ (b"10" | b"11" | b"12"), b"?", ..] => {
                let rgb = match *number {
                    b"10" => profile.foreground,
                    b"11" => profile.background,
                    _ => profile.cursor,
                };
                Some(Found::Reply(Reply::Bytes(colour(number, rgb).into_bytes())))
            }
            [b"4", pairs @ ..] => {
                let mut answer = Vec::new();
                for pair in pairs.chunks(2) {
                    if let [index, b"?"] = pair {
                        if let Some(i) = std::str::from_utf8(index)
                            .ok()
                            .and_then(|i| i.parse::<u8>().ok())
                        {
                            let rgb = xterm_rgb_spec(profile.palette(i));
                            answer.extend(format!("\x1b]4;{i};{rgb}{end}").into_bytes());
                        }
                    }
                }
                (!answer.is_empty()).then_some(Found::Reply(Reply::Bytes(answer)))
            }
            _ => parse_mark(params).map(Found::Mark),
        };
    }

    fn terminated(&self) -> bool {
        self.found.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// Scans `stream` cut into pieces of `piece` bytes (on char boundaries)
    /// and returns the output text and the answers (cursor at 2,4 on 80x24).
    fn scan(stream: &str, piece: usize) -> (String, Vec<String>, Vec<Mark>) {
        let mut r = Responder::new();
        let (mut text, mut replies, mut marks) = (String::new(), Vec::new(), Vec::new());
        let mut rest = stream;
        while !rest.is_empty() {
            let mut cut = piece.min(rest.len());
            while !rest.is_char_boundary(cut) {
                cut += 1;
            }
            let (now, later) = rest.split_at(cut);
            r.scan(now, |step| match step {
                Step::Output(s) => text.push_str(s),
                Step::Reply(reply) => {
                    replies.push(String::from_utf8(reply.bytes((2, 4), (80, 24))).unwrap())
                }
                Step::Mark(m) => marks.push(m),
            });
            rest = later;
        }
        (text, replies, marks)
    }

    #[rstest]
    #[case("\x1b[c", "\x1b[?62;22c")]
    #[case("\x1b[0c", "\x1b[?62;22c")]
    #[case("\x1b[>c", "\x1b[>1;10;0c")]
    #[case("\x1b[5n", "\x1b[0n")]
    #[case("\x1b[6n", "\x1b[3;5R")]
    #[case("\x1b[?6n", "\x1b[?3;5R")]
    #[case("\x1b]11;?\x07", "\x1b]11;rgb:1e1e/1e1e/2e2e\x07")]
    #[case("\x1b]11;?\x1b\\", "\x1b]11;rgb:1e1e/1e1e/2e2e\x1b\\")]
    #[case("\x1b]10;?\x1b\\", "\x1b]10;rgb:cdcd/d6d6/f4f4\x1b\\")]
    #[case("\x1b]4;1;?\x07", "\x1b]4;1;rgb:f3f3/8b8b/a8a8\x07")]
    #[case("\x1b[>q", concat!("\x1bP>|agent-tty ", env!("CARGO_PKG_VERSION"), "\x1b\\"))]
    #[case("\x1b[?2004$p", "\x1b[?2004;2$y")]
    #[case("\x1b[?2004h\x1b[?2004$p", "\x1b[?2004;1$y")]
    #[case("\x1b[?25$p", "\x1b[?25;1$y")]
    #[case("\x1b[?9999$p", "\x1b[?9999;0$y")]
    #[case("\x1b[4$p", "\x1b[4;2$y")]
    fn questions_are_answered_however_they_are_split(#[case] query: &str, #[case] answer: &str) {
        let stream = format!("before é {query} after");
        for piece in [1, 2, 3, 5, 1000] {
            let (text, replies, _) = scan(&stream, piece);
            assert_eq!(text, stream, "the output is passed on whole");
            assert_eq!(replies, [answer], "piece {piece}");
        }
    }

    #[test]
    fn output_is_cut_right_after_each_question() {
        let mut r = Responder::new();
        let mut steps = Vec::new();
        r.scan("ab\x1b[6ncd\x1b]133;D;7;k=K\x07ef", |s| {
            steps.push(format!("{s:?}"));
        });
        assert_eq!(
            steps,
            [
                r#"Output("ab\u{1b}[6n")"#,
                "Reply(CursorPosition { private: false })",
                r#"Output("cd\u{1b}]133;D;7;k=K\u{7}")"#,
                r#"Mark(Mark { kind: CommandFinished(Some(7)), key: Some("K") })"#,
                r#"Output("ef")"#,
            ]
        );
    }

    #[test]
    fn ordinary_output_gets_no_answer() {
        let (_, replies, marks) = scan(
            "\x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b[2J\x1b[H\x1b[?1049h \x1b]11;rgb:0/0/0\x07",
            7,
        );
        assert!(replies.is_empty(), "{replies:?}");
        assert!(marks.is_empty());
    }
}
