//! Generated terminal output, written as Event Logs: the build output of
//! `bench/screen_replay.sh`, streams in the spirit of alacritty's vtebench
//! (dense cells, light cells, scrolling, scrolling in a region, unicode) and
//! of termbench (many lines, one long line, a colour per character).
//!
//! Everything is generated from a fixed seed, so every run replays the same
//! bytes; nothing big is committed. Output is logged in events of
//! [`CHUNK`] bytes, as a host reading a PTY that a program fills flat out
//! logs it (the build stream keeps its own short events, the worst case for
//! the per-event costs).

use agent_tty_core::event_log::{Event, EventBody};
use std::io::{BufWriter, Write};
use std::path::Path;

/// Output bytes per `output` event.
pub const CHUNK: usize = 4096;

/// The streams, with what each stresses.
pub const STREAMS: &[(&str, &str)] = &[
    (
        "build",
        "build output: colours, long lines, é escaped, a prompt redraw every 500 events (one short event per line)",
    ),
    (
        "dense-cells",
        "vtebench dense_cells: every cell of every frame with its own 256-colour fg/bg, bold, underline",
    ),
    (
        "light-cells",
        "vtebench light_cells: frames of plain letters drawn from the home position",
    ),
    ("scrolling", "vtebench scrolling: full-screen scrolling lines"),
    (
        "scrolling-region",
        "vtebench scrolling_in_region: lines scrolling inside a region, first and last rows fixed",
    ),
    (
        "unicode",
        "vtebench unicode: wide CJK, emoji, combining marks, Greek, box drawing",
    ),
    (
        "many-lines",
        "termbench ManyLine: short lines of random printable text",
    ),
    (
        "long-line",
        "termbench LongLine: one line of random printable text that never ends (wraps)",
    ),
    (
        "colour-per-char",
        "termbench FGPerChar: a 24-bit foreground colour before every character",
    ),
];

/// xorshift64*: the same bytes on every run, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn printable(&mut self) -> char {
        (b' ' + self.below(95) as u8) as char
    }
}

/// Writes `stream`'s Event Log of about `bytes` bytes to `path`, for a
/// `cols` × `rows` screen. Returns false for an unknown stream.
pub fn write(stream: &str, bytes: u64, cols: usize, rows: usize, path: &Path) -> bool {
    if !STREAMS.iter().any(|(name, _)| *name == stream) {
        return false;
    }
    let file = std::fs::File::create(path).expect("the stream's Event Log can be created");
    let mut log = Log {
        out: BufWriter::with_capacity(1 << 20, file),
        seq: 0,
        written: 0,
        pending: String::new(),
    };
    if stream == "build" {
        build(&mut log, bytes);
    } else {
        let mut rng = Rng(0x7e57_5eed);
        let mut frame = 0usize;
        if stream == "scrolling-region" {
            log.push(&format!("\x1b[2;{}r", rows - 1));
        }
        while log.written + log.pending.len() as u64 * 11 / 10 < bytes {
            generate(stream, &mut log, &mut rng, frame, cols, rows);
            frame += 1;
        }
        if stream == "scrolling-region" {
            log.push("\x1b[r");
        }
        log.flush_pending();
    }
    log.out.flush().expect("the stream's Event Log is written");
    true
}

/// One frame (or a screenful of lines) of a vtebench/termbench stream.
fn generate(stream: &str, log: &mut Log, rng: &mut Rng, frame: usize, cols: usize, rows: usize) {
    let mut out = String::new();
    match stream {
        "dense-cells" => {
            out.push_str("\x1b[H");
            for row in 0..rows {
                for col in 0..cols {
                    let n = row * cols + col + frame;
                    out.push_str(&format!(
                        "\x1b[38;5;{};48;5;{}{}m{}",
                        n % 256,
                        (n * 7 + 3) % 256,
                        if n.is_multiple_of(2) {
                            ";1;4"
                        } else {
                            ";22;24"
                        },
                        (b'A' + (n % 26) as u8) as char
                    ));
                }
            }
            out.push_str("\x1b[0m");
        }
        "light-cells" => {
            out.push_str("\x1b[H");
            for row in 0..rows {
                for col in 0..cols {
                    out.push((b'a' + ((row + col + frame) % 26) as u8) as char);
                }
            }
        }
        "scrolling" => {
            for line in 0..rows {
                let n = frame * rows + line;
                out.push_str(&format!(
                    "{n:>8} scrolling the whole screen, one line at a time\r\n"
                ));
            }
        }
        "scrolling-region" => {
            out.push_str(&format!("\x1b[{};1H", rows - 1));
            for line in 0..rows {
                let n = frame * rows + line;
                out.push_str(&format!("{n:>8} scrolling inside a region\r\n"));
            }
        }
        "unicode" => {
            const WORDS: &[&str] = &[
                "日本語のテキスト",
                "中文字符",
                "한국어",
                "🎉🚀✨",
                "e\u{301}a\u{308}o\u{302}",
                "Ελληνικά",
                "кириллица",
                "┌─┬─┐│╳│└─┴─┘",
                "👩\u{200d}💻",
                "❤\u{fe0f}",
            ];
            for _ in 0..rows {
                let mut width = 0;
                while width < cols * 2 / 3 {
                    let word = WORDS[rng.below(WORDS.len())];
                    out.push_str(word);
                    out.push(' ');
                    width += word.chars().count() * 2 + 1;
                }
                out.push_str("\r\n");
            }
        }
        "many-lines" => {
            for _ in 0..rows {
                for _ in 0..rng.below(cols) {
                    out.push(rng.printable());
                }
                out.push_str("\r\n");
            }
        }
        "long-line" => {
            for _ in 0..rows * cols {
                out.push(rng.printable());
            }
        }
        "colour-per-char" => {
            for _ in 0..rows {
                for _ in 0..cols {
                    let (r, g, b) = (rng.below(256), rng.below(256), rng.below(256));
                    out.push_str(&format!("\x1b[38;2;{r};{g};{b}m{}", rng.printable()));
                }
                out.push_str("\r\n");
            }
            out.push_str("\x1b[0m");
        }
        _ => unreachable!("checked by `write`"),
    }
    log.push(&out);
}

/// The build output `bench/screen_replay.sh` logs: the same lines, byte for
/// byte, as its awk generator (without the "all done" and `exit` at the end).
fn build(log: &mut Log, target: u64) {
    let filler = "compiling crate number with a reasonably long line of build output text";
    let mut seq = 0u64;
    while log.written < target {
        let data = if seq.is_multiple_of(500) {
            "\r\x1b[K\x1b[1;32m$\x1b[0m make \x1b[7mtest\x1b[0m\r\n".to_owned()
        } else {
            format!(
                "\x1b[32m{seq:6}\x1b[0m {filler} {filler}\r\n\x1b[1;34mstatus\x1b[0m: \u{e9}t\u{e9} ok {seq}\r\n"
            )
        };
        log.event(data, true);
        seq += 1;
    }
}

struct Log {
    out: BufWriter<std::fs::File>,
    seq: u64,
    written: u64,
    /// Output not yet logged, cut into [`CHUNK`]-byte events.
    pending: String,
}

impl Log {
    fn push(&mut self, text: &str) {
        self.pending.push_str(text);
        while self.pending.len() >= CHUNK {
            let mut end = CHUNK;
            while !self.pending.is_char_boundary(end) {
                end -= 1;
            }
            let rest = self.pending.split_off(end);
            let chunk = std::mem::replace(&mut self.pending, rest);
            self.event(chunk, false);
        }
    }

    fn flush_pending(&mut self) {
        if !self.pending.is_empty() {
            let chunk = std::mem::take(&mut self.pending);
            self.event(chunk, false);
        }
    }

    /// One `output` event. `ascii_escapes`: escape non-ASCII as `\uXXXX`,
    /// as the awk generator of the build stream does (serde_json writes
    /// UTF-8 as is, as our host does).
    fn event(&mut self, data: String, ascii_escapes: bool) {
        let event = Event {
            seq: self.seq,
            ts: "2026-11-20T10:00:00.000Z".into(),
            body: EventBody::Output { data },
        };
        let mut line = serde_json::to_string(&event).expect("an event serialises");
        if ascii_escapes && !line.is_ascii() {
            let mut escaped = String::with_capacity(line.len() + 16);
            for c in line.chars() {
                if c.is_ascii() {
                    escaped.push(c);
                } else {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        escaped.push_str(&format!("\\u{unit:04x}"));
                    }
                }
            }
            line = escaped;
        }
        line.push('\n');
        self.out
            .write_all(line.as_bytes())
            .expect("the stream's Event Log is written");
        self.written += line.len() as u64;
        self.seq += 1;
    }
}
