//! Fuzz-style tests of what a Home's files can hold: random mutations,
//! truncations and sizes, from a fixed seed, bounded in iterations and time,
//! so they run in every `cargo test` and fail the same way every time. The
//! checkpoint's is beside its validation (`screen/checkpoint.rs`); the
//! Event Log's is here.

use crate::event_log::{last_event, read_all, EventBody, EventLogFollower};
use crate::layout::SessionDir;
use crate::screen::ScreenReplay;
use std::time::{Duration, Instant};

/// A small deterministic generator (xorshift64*): no dependency, and the
/// same sequence on every run.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Valid lines of every kind a reader replays, as a host writes them.
fn valid_lines() -> Vec<String> {
    let bodies = [
        EventBody::Output {
            data: "$ ls\r\n\x1b[1;31mred\x1b[0m \x1b]0;title\x07\x1b[?1049hALT\x1b[?1049l\r\n"
                .into(),
        },
        EventBody::Resize { cols: 20, rows: 5 },
        EventBody::InputText {
            data: "ls\r".into(),
        },
        EventBody::InputRun {
            command: "echo hi".into(),
            marker: Some("atmFuzzMarker".into()),
            no_wait: false,
        },
        EventBody::Output {
            data: "hi\r\n\x1b[2J\x1b[H\x1b[3;4r\x1b[5;1Hx\x1b(0lqk\x1b(B".into(),
        },
        EventBody::RunComplete {
            marker: "atmFuzzMarker".into(),
            input_run_seq: Some(3),
            exit_code: Some(0),
        },
        EventBody::Exit {
            exit_code: Some(3),
            exit_signal: None,
        },
    ];
    bodies
        .into_iter()
        .enumerate()
        .map(|(seq, body)| {
            let event = crate::event_log::Event {
                seq: seq as u64,
                ts: "2026-12-07T00:00:00.000Z".into(),
                body,
            };
            serde_json::to_string(&event).unwrap()
        })
        .collect()
}

/// One mutated line: bytes flipped or set to extremes, numbers made huge,
/// cut short, grown long, nested deep, or replaced by noise.
fn mutate(line: &str, rng: &mut Rng) -> Vec<u8> {
    let mut b = line.as_bytes().to_vec();
    match rng.below(8) {
        0 => {
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(b.len());
                b[at] ^= 1 << rng.below(8);
            }
        }
        1 => b.truncate(rng.below(b.len())),
        2 => {
            // A number out of every range.
            let text = String::from_utf8_lossy(&b)
                .replacen("20", "18446744073709551616", 1)
                .replacen(":5", ":4294967296", 1)
                .replacen("\"seq\":", "\"seq\":-", 1);
            b = text.into_bytes();
        }
        3 => {
            // A long field: up to a few hundred KiB of output.
            let long = "x\x1b[1m".repeat(1 + rng.below(64 * 1024));
            b = String::from_utf8_lossy(&b)
                .replacen("hi", &long, 1)
                .into_bytes();
        }
        4 => {
            // Nesting deeper than any parser's recursion limit.
            let depth = 1 + rng.below(100_000);
            b = "[".repeat(depth).into_bytes();
        }
        5 => b = (0..rng.below(512)).map(|_| rng.next() as u8).collect(),
        6 => {
            let at = rng.below(b.len());
            b.insert(at, b'\n');
        }
        _ => b.extend_from_slice(b"\0\xff\xfe"),
    }
    b
}

/// Fuzz: Event Logs of valid lines with mutated ones among them, read by
/// every reader of a log (the follower, `read_all`, `last_event`) and
/// replayed onto a screen. No panic, no hang (bounded iterations and time),
/// and memory bounded by the log's own size.
#[test]
fn fuzzed_event_log_lines_never_panic_or_hang_a_reader() {
    let valid = valid_lines();
    let mut rng = Rng::new(0x5eed_1e55);
    let deadline = Instant::now() + Duration::from_secs(30);
    let tmp = tempfile::tempdir().unwrap();
    let log = SessionDir::new(tmp.path()).event_log();
    let mut rounds = 0;
    for _ in 0..300 {
        if Instant::now() > deadline {
            break;
        }
        rounds += 1;
        let mut bytes = Vec::new();
        for line in &valid {
            if rng.below(3) == 0 {
                bytes.extend(mutate(line, &mut rng));
            } else {
                bytes.extend_from_slice(line.as_bytes());
            }
            if rng.below(16) != 0 {
                bytes.push(b'\n');
            }
        }
        std::fs::write(&log, &bytes).unwrap();
        let _ = std::fs::remove_file(SessionDir::new(tmp.path()).checkpoint());
        let mut replay = ScreenReplay::new(10, 4);
        let applied = replay.catch_up(&mut EventLogFollower::new(&log)).unwrap();
        assert!(applied <= valid.len() * 2);
        let _ = (replay.match_text(), replay.lines_with_scrollback());
        let all = read_all(&log).unwrap();
        for event in &all {
            ScreenReplay::new(80, 24).apply(event);
        }
        let _ = last_event(&log).unwrap();
    }
    assert!(rounds >= 10, "only {rounds} rounds ran in the time allowed");
}
