//! The terminal engine's conformance suite.
//!
//! - `conformance/cases.rs`: small escape-sequence programs, one per
//!   behaviour (resizes, reflow, charsets, cursor movement, modes, tab
//!   stops, sizes from 1×1 to the maximum), each with the screen and cursor
//!   it must leave.
//! - `conformance/recordings/`: Event Logs of real programs (vim, less, htop,
//!   dialog, tig, nano, a Python REPL, vttest) recorded in a real PTY
//!   through agent-tty (`conformance/record.sh` re-records them), each
//!   with the screen text and cursor its replay must show. They replay
//!   without the programs installed.
//!
//! Every case is also replayed through a screen checkpoint taken halfway, so
//! checkpoints are held to the same screens.

#[path = "conformance/cases.rs"]
mod cases;

use agent_tty_core::event_log::{Event, EventBody};
use agent_tty_core::screen::ScreenReplay;
use cases::{Case, CASES};

fn event(seq: u64, body: EventBody) -> Event {
    Event {
        seq,
        ts: "2026-11-30T00:00:00.000Z".into(),
        body,
    }
}

fn events_of(case: &Case) -> Vec<Event> {
    case.steps
        .iter()
        .enumerate()
        .map(|(seq, step)| event(seq as u64, step.body()))
        .collect()
}

/// What the case left: visible lines (trailing blank rows dropped), cursor,
/// scrollback.
fn outcome(replay: &mut ScreenReplay) -> (Vec<String>, (u16, u16), Vec<String>) {
    let mut lines = replay.visible_lines();
    let all = replay.lines_with_scrollback();
    let history = all[..all.len() - lines.len()].to_vec();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    (lines, replay.cursor(), history)
}

fn check(case: &Case, replay: &mut ScreenReplay) -> Result<(), String> {
    let (lines, cursor, history) = outcome(replay);
    let mut wrong = Vec::new();
    if lines != case.lines {
        wrong.push(format!("lines {lines:?}, want {:?}", case.lines));
    }
    if cursor != case.cursor {
        wrong.push(format!("cursor {cursor:?}, want {:?}", case.cursor));
    }
    if let Some(want) = case.history {
        if history != want {
            wrong.push(format!("scrollback {history:?}, want {want:?}"));
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!("{}: {}", case.name, wrong.join("; ")))
    }
}

#[test]
fn every_escape_sequence_case_leaves_the_expected_screen() {
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|case| {
            let mut replay = ScreenReplay::new(case.cols, case.rows);
            for e in events_of(case) {
                replay.apply(&e);
            }
            check(case, &mut replay).err()
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn cells_agree_with_the_text_in_every_case() {
    for case in CASES {
        let mut replay = ScreenReplay::new(case.cols, case.rows);
        for e in events_of(case) {
            replay.apply(&e);
        }
        let (cols, rows) = replay.size();
        let cells = replay.visible_cells();
        assert_eq!(cells.len(), usize::from(rows), "{}", case.name);
        assert!(
            cells.iter().all(|r| r.len() == usize::from(cols)),
            "{}",
            case.name
        );
        for (row, line) in cells.iter().zip(replay.visible_lines()) {
            let text: String = row
                .iter()
                .map(|c| {
                    if c.text.is_empty() && c.width != agent_tty_term::cells::CellWidth::WideSpacer
                    {
                        " ".to_owned()
                    } else {
                        c.text.clone()
                    }
                })
                .collect();
            assert_eq!(text.trim_end(), line, "{}", case.name);
        }
    }
}

/// A real program's recorded Event Log: its name under
/// `conformance/recordings/`, the size it was recorded at, text its screen
/// must show and text it must not (checked on top of the whole expected
/// screen in `NAME.screen`).
struct Recording {
    name: &'static str,
    cols: u16,
    rows: u16,
    shows: &'static [&'static str],
    never: &'static [&'static str],
}

const RECORDINGS: &[Recording] = &[
    Recording {
        name: "vim",
        cols: 80,
        rows: 24,
        shows: &["  4 added by the test", "  1 first line", "~"],
        never: &[],
    },
    Recording {
        name: "less",
        cols: 80,
        rows: 24,
        shows: &["line 60", "line 82"],
        never: &[],
    },
    Recording {
        name: "htop",
        cols: 100,
        rows: 30,
        shows: &["htop", "F10"],
        never: &[],
    },
    Recording {
        name: "dialog",
        cols: 60,
        rows: 16,
        shows: &["Pick one", "Banana", "┌", "┘"],
        never: &["lqqq", "qqqk", "mqqq"],
    },
    Recording {
        name: "dialog-ascii",
        cols: 60,
        rows: 16,
        shows: &["Plain ASCII locale", "┌", "┘"],
        never: &["lqqq", "qqqk", "mqqq"],
    },
    Recording {
        name: "tig",
        cols: 80,
        rows: 20,
        shows: &["Add b, the second file", "Add a"],
        never: &[],
    },
    Recording {
        name: "nano",
        cols: 80,
        rows: 20,
        shows: &["third line and more", "^X Exit"],
        never: &[],
    },
    Recording {
        name: "python",
        cols: 80,
        rows: 12,
        shows: &[">>> print(\"hi \" * 3)", "hi hi hi", "0", "4"],
        never: &[],
    },
    Recording {
        name: "vttest",
        cols: 80,
        rows: 24,
        shows: &[
            "*+        EEEEEEEEEE",
            "E with  one (1) free position around it.",
        ],
        never: &[],
    },
    Recording {
        name: "vttest-wrap",
        cols: 80,
        rows: 24,
        shows: &[
            "I                                                                              i",
            "Z                                                                              z",
        ],
        never: &[],
    },
];

fn recordings_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/recordings")
}

/// The screen as `NAME.screen` holds it: the visible rows, then the cursor.
fn screen_file(replay: &ScreenReplay) -> String {
    let mut text = replay.visible_lines().join("\n");
    let (row, col) = replay.cursor();
    text.push_str(&format!("\n-- cursor {row},{col}\n"));
    text
}

#[test]
fn recorded_real_programs_replay_to_their_screens() {
    let update = std::env::var_os("UPDATE_RECORDINGS").is_some();
    let mut failures = Vec::new();
    for rec in RECORDINGS {
        let log = recordings_dir().join(format!("{}.jsonl", rec.name));
        let mut replay = ScreenReplay::new(rec.cols, rec.rows);
        let events = agent_tty_core::event_log::read_all(&log).unwrap();
        assert!(!events.is_empty(), "{} has no events", log.display());
        for e in &events {
            replay.apply(e);
        }
        let got = screen_file(&replay);
        let expected_path = recordings_dir().join(format!("{}.screen", rec.name));
        if update {
            std::fs::write(&expected_path, &got).unwrap();
        }
        let want = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != want {
            failures.push(format!(
                "{}: screen differs:\n{got}\nwant:\n{want}",
                rec.name
            ));
        }
        if let Err(e) = resumes_through_a_checkpoint(rec, &events, &got) {
            failures.push(e);
        }
        let text = replay.visible_lines().join("\n");
        for s in rec.shows {
            if !text.contains(s) {
                failures.push(format!("{}: {s:?} not on screen:\n{text}", rec.name));
            }
        }
        for s in rec.never {
            if text.contains(s) {
                failures.push(format!("{}: {s:?} on screen:\n{text}", rec.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Replays `events` with a screen checkpoint taken at every tenth of the
/// way: each resumed replay must end on the same screen.
fn resumes_through_a_checkpoint(
    rec: &Recording,
    events: &[Event],
    want: &str,
) -> Result<(), String> {
    use agent_tty_core::event_log::{EventLogFollower, EventLogWriter};
    use agent_tty_core::layout::SessionDir;
    let mut used = 0;
    for tenth in 1..10 {
        let split = events.len() * tenth / 10;
        let tmp = tempfile::tempdir().unwrap();
        let log = SessionDir::new(tmp.path()).event_log();
        let mut writer = EventLogWriter::open(tmp.path()).unwrap();
        for e in &events[..split] {
            writer.append(e.body.clone()).unwrap();
        }
        let mut first = ScreenReplay::new(rec.cols, rec.rows);
        let mut follower = EventLogFollower::new(&log);
        first.catch_up(&mut follower).unwrap();
        used += usize::from(first.save_checkpoint(&log, follower.offset()));
        for e in &events[split..] {
            writer.append(e.body.clone()).unwrap();
        }
        let mut resumed = ScreenReplay::new(rec.cols, rec.rows);
        resumed.catch_up(&mut EventLogFollower::new(&log)).unwrap();
        let got = screen_file(&resumed);
        if got != want {
            return Err(format!(
                "{}: resumed from a checkpoint at event {split}:\n{got}\nwant:\n{want}",
                rec.name
            ));
        }
    }
    if used == 0 {
        return Err(format!("{}: no checkpoint could be taken", rec.name));
    }
    Ok(())
}

/// Random mixes of sequences, wide characters and resizes at tiny sizes
/// (and back up) never panic and always leave a whole screen.
#[test]
fn tiny_sizes_survive_random_programs() {
    const PIECES: &[&str] = &[
        "a",
        "界",
        "e\u{301}",
        "🙂",
        "\r\n",
        "\t",
        "\x08",
        "\x1b[2J",
        "\x1b[3J",
        "\x1b[K",
        "\x1b[5;5H",
        "\x1b[999;999H",
        "\x1b[2@",
        "\x1b[3P",
        "\x1b[2L",
        "\x1b[2M",
        "\x1b[4h",
        "\x1b[4l",
        "\x1b[?7l",
        "\x1b[?7h",
        "\x1b[?1049h",
        "\x1b[?1049l",
        "\x1b[?47h",
        "\x1b[?47l",
        "\x1b[2;1r",
        "\x1b[1;2r",
        "\x1b[r",
        "\x1bD",
        "\x1bM",
        "\x1bE",
        "\x1b#8",
        "\x1b[?3h",
        "\x1b[3b",
        "\x1b[2I",
        "\x1b[2Z",
        "\x1bH",
        "\x1b[3g",
        "\x1b(0q",
        "\x1b(B",
        "\x1b7",
        "\x1b8",
        "\x1b[s",
        "\x1b[u",
        "\x1bc",
        "\x1b[?6h",
        "\x1b[?6l",
        "\x1b[9X",
        "\x1b[S",
        "\x1b[T",
        "\x1b[1;31;7m",
        "\x1b]0;t\x07",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let rounds = std::env::var("FUZZ_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(40);
    for round in 0..rounds {
        let mut replay = ScreenReplay::new(1 + next(3) as u16, 1 + next(3) as u16);
        for seq in 0..300u64 {
            let body = if next(12) == 0 {
                let big = round % 5 == 0 && next(4) == 0;
                let (cols, rows) = if big {
                    (90, 30)
                } else {
                    (1 + next(4), 1 + next(4))
                };
                EventBody::Resize {
                    cols: cols as u16,
                    rows: rows as u16,
                }
            } else {
                let data: String = (0..1 + next(6))
                    .map(|_| PIECES[next(PIECES.len())])
                    .collect();
                EventBody::Output { data }
            };
            if std::env::var_os("FUZZ_TRACE").is_some() {
                eprintln!("{round} {seq} {:?} {:?}", replay.size(), body);
            }
            replay.apply(&event(seq, body));
            let (cols, rows) = replay.size();
            let cells = replay.visible_cells();
            assert_eq!(cells.len(), usize::from(rows));
            assert!(cells.iter().all(|r| r.len() == usize::from(cols)));
            let (row, col) = replay.cursor();
            assert!(
                row < rows && col < cols,
                "cursor {row},{col} outside {cols}x{rows}"
            );
        }
        let _ = replay.lines_with_scrollback();
        let _ = replay.match_text();
    }
}
