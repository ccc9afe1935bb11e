//! `replay-throughput EVENTS.jsonl [COLS ROWS]`
//!
//! Replays one Event Log in-process, three ways, and prints the throughput
//! of each in MB of Event Log per second (and of terminal output):
//! - `json only`: reading and parsing the log, the floor of any replay;
//! - `alacritty_terminal`: [`ScreenReplay`] (today's engine), checkpoints
//!   left out so the whole log is emulated;
//! - `vt100 0.16`: the engine it replaced, fed the same output (after the
//!   same `run` marker filter) with the same 1000 lines of scrollback.

use agent_tty_core::event_log::{EventBody, EventLogFollower};
use agent_tty_core::screen::{ScreenReplay, ShownOutput};
use std::path::Path;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let log = args
        .next()
        .expect("usage: replay-throughput EVENTS.jsonl [COLS ROWS]");
    let cols: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(120);
    let rows: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(40);
    let path = Path::new(&log);
    let bytes = std::fs::metadata(path).expect("the Event Log").len() as f64;

    let mut output = 0usize;
    let secs = time(|| {
        EventLogFollower::new(path)
            .read_new(|e| {
                if let EventBody::Output { data } = &e.body {
                    output += data.len();
                }
            })
            .unwrap();
    });
    report("json only", bytes, output, secs);

    let secs = time(|| {
        let mut replay = ScreenReplay::new(cols, rows);
        EventLogFollower::new(path)
            .read_new(|e| replay.apply(&e))
            .unwrap();
        std::hint::black_box(replay.visible_lines());
    });
    report("alacritty_terminal (ScreenReplay)", bytes, output, secs);

    let secs = time(|| {
        let mut parser = vt100::Parser::new(rows, cols, ScreenReplay::DEFAULT_SCROLLBACK);
        let mut shown = ShownOutput::new();
        EventLogFollower::new(path)
            .read_new(|e| {
                if let Some(text) = shown.shown(&e) {
                    parser.process(text.as_bytes());
                }
                if let EventBody::Resize { cols, rows } = e.body {
                    parser.screen_mut().set_size(rows, cols);
                }
            })
            .unwrap();
        std::hint::black_box(parser.screen().contents());
    });
    report("vt100 0.16", bytes, output, secs);
}

fn time(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64()
}

fn report(label: &str, log_bytes: f64, output_bytes: usize, secs: f64) {
    println!(
        "{label}: {:.0} MB/s of Event Log ({:.0} MB/s of output), {:.2} s",
        log_bytes / 1e6 / secs,
        output_bytes as f64 / 1e6 / secs,
        secs
    );
}
