//! `replay-throughput [--runs N] [--only TEXT] EVENTS.jsonl [COLS ROWS]`
//! `replay-throughput [--runs N] [--only TEXT] --stream NAME [--mb MB] [COLS ROWS]`
//! `replay-throughput --write-stream NAME MB OUT.jsonl [COLS ROWS]`
//! `replay-throughput --list-streams`
//!
//! `--only TEXT` times only the figures whose label contains TEXT (to
//! profile one with `perf record`).
//!
//! Replays one Event Log in-process, several ways, and prints the median
//! throughput of each (over `--runs`, default 3) in MB of Event Log per
//! second and MB of terminal output per second, with the goal beside the
//! two figures issue 21 sets (ADR 0021 explains the rows):
//! - `decode`: reading and decoding the log as a replay does, the floor of
//!   any replay (goal ≥ 500 MB/s of log on the build stream);
//! - `decode, owned events`: what other readers (`wait`, `follow`) pay;
//! - `serde per line`: serde decoding every line into an `Event`, the
//!   decoder before ADR 0021, on lines already in memory;
//! - `vte parser alone`: alacritty's escape-sequence parser with a handler
//!   that does nothing, on output already decoded: the floor of any
//!   emulator built on it;
//! - `alacritty Term alone`: alacritty_terminal's `Term` without our
//!   wrapper, on output already decoded, fed event by event, then in runs
//!   of 1 MB, then in runs with 1000 lines of history (the host's live
//!   screen) and none (what the readers' 10,000 lines cost: each scroll
//!   recycles a cold row of a 29 MB ring);
//! - `ScreenReplay, one thread`: decoding and emulating event by event;
//! - `saving the screen checkpoint`: what the next row spends writing the
//!   checkpoint (10,000 lines of scrollback) at its end;
//! - `first snapshot`: [`ScreenReplay::catch_up`] from the start of the log
//!   with no checkpoint (the path of a first `snapshot`: decoding on a
//!   helper thread, output in runs, the checkpoint written at the end);
//!   goal ≥ 250 MB/s of log on the build stream;
//! - `vt100 0.16`: the engine alacritty_terminal replaced, fed the same
//!   output (after the same `run` marker filter), 1000 lines of scrollback.
//!
//! `--stream` generates the log (see `streams.rs`) in a temp directory and
//! removes it after.

mod streams;

use agent_tty_core::event_log::{Event, EventLogFollower, EventRef};
use agent_tty_core::layout;
use agent_tty_core::screen::{ScreenReplay, ShownOutput};
use agent_tty_term::CellRows;
use alacritty_terminal::vte;
use std::path::{Path, PathBuf};
use std::time::Instant;

const USAGE: &str = "usage: replay-throughput [--runs N] [--only TEXT] EVENTS.jsonl [COLS ROWS]
       replay-throughput [--runs N] [--only TEXT] --stream NAME [--mb MB] [COLS ROWS]
       replay-throughput --write-stream NAME MB OUT.jsonl [COLS ROWS]
       replay-throughput --list-streams";

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let runs = take_option(&mut args, "--runs").map_or(3, |n| n.parse().expect("--runs N"));
    let mb: f64 = take_option(&mut args, "--mb").map_or(100.0, |n| n.parse().expect("--mb MB"));
    let only = take_option(&mut args, "--only");
    let stream = take_option(&mut args, "--stream");
    let write_stream = take_option(&mut args, "--write-stream");
    if args.first().map(String::as_str) == Some("--list-streams") {
        for (name, what) in streams::STREAMS {
            println!("{name:18} {what}");
        }
        return;
    }
    let _tmp;
    let (log, rest): (PathBuf, &[String]) = if let Some(name) = write_stream {
        let [mb, out, size @ ..] = &args[..] else {
            exit_usage();
        };
        let (cols, rows) = size_of(size);
        let bytes = (mb.parse::<f64>().expect("MB") * 1024.0 * 1024.0) as u64;
        if !streams::write(&name, bytes, cols.into(), rows.into(), Path::new(out)) {
            unknown_stream(&name);
        }
        return;
    } else if let Some(name) = &stream {
        let (cols, rows) = size_of(&args);
        _tmp = TempDir::new();
        let log = _tmp.0.join("events.jsonl");
        let bytes = (mb * 1024.0 * 1024.0) as u64;
        if !streams::write(name, bytes, cols.into(), rows.into(), &log) {
            unknown_stream(name);
        }
        (log, &args[..])
    } else {
        let Some((log, rest)) = args.split_first() else {
            exit_usage();
        };
        // Absolute, so the checkpoint a replay writes has a directory.
        (
            std::path::absolute(log).expect("the Event Log's path"),
            rest,
        )
    };
    let (cols, rows) = size_of(rest);
    let goals = stream.as_deref().is_none_or(|s| s == "build");
    Bench {
        log: &log,
        cols,
        rows,
        runs,
        goals,
        only,
    }
    .run(stream.as_deref().unwrap_or("the Event Log given"));
}

fn take_option(args: &mut Vec<String>, name: &str) -> Option<String> {
    let at = args.iter().position(|a| a == name)?;
    if at + 1 >= args.len() {
        exit_usage();
    }
    args.remove(at);
    Some(args.remove(at))
}

fn size_of(args: &[String]) -> (u16, u16) {
    let cols = args.first().and_then(|a| a.parse().ok()).unwrap_or(120);
    let rows = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(40);
    (cols, rows)
}

fn exit_usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2)
}

fn unknown_stream(name: &str) -> ! {
    eprintln!("replay-throughput: no stream named {name:?}; `--list-streams` lists them");
    std::process::exit(2)
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let base = std::env::var_os("TMPDIR").map_or_else(std::env::temp_dir, PathBuf::from);
        let dir = base.join(format!("replay-throughput-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Bench<'a> {
    log: &'a Path,
    cols: u16,
    rows: u16,
    runs: usize,
    /// Print issue 21's goals (they are set on the build-output log).
    goals: bool,
    /// Time only the figures whose label contains this (to profile one).
    only: Option<String>,
}

/// The log's output, decoded once, for the rows that time the emulators
/// alone: each event's shown text, one after the other.
struct Output {
    text: Vec<u8>,
    /// Where each event's text ends in `text`.
    ends: Vec<usize>,
}

impl Bench<'_> {
    fn run(&self, name: &str) {
        let log_bytes = std::fs::metadata(self.log).expect("the Event Log").len();
        let output = self.output();
        let mut lines = 0;
        let mut follower = EventLogFollower::new(self.log);
        follower.read_new_borrowed(|_| lines += 1).unwrap();
        println!(
            "== {name}: Event Log of {:.1} MB, {lines} events, {:.1} MB of output, {}x{}, median of {} runs",
            log_bytes as f64 / 1e6,
            output.text.len() as f64 / 1e6,
            self.cols,
            self.rows,
            self.runs
        );
        let figure = |label: &str, goal: Option<f64>, f: &mut dyn FnMut()| {
            if self
                .only
                .as_ref()
                .is_some_and(|only| !label.contains(only.as_str()))
            {
                return;
            }
            let (secs, cpu) = self.median(f);
            let log_rate = log_bytes as f64 / 1e6 / secs;
            // On a busy machine the wall time is the load's; the CPU time
            // says what the same work would take on a quiet one (for the
            // two-thread row, an upper bound).
            let goal = match goal {
                Some(goal) if self.goals => format!(
                    "   goal ≥ {goal:.0} MB/s of log: {} (per CPU second: {:.0} MB/s)",
                    if log_rate >= goal { "met" } else { "NOT met" },
                    log_bytes as f64 / 1e6 / cpu
                ),
                _ => String::new(),
            };
            println!(
                "{label:42} {log_rate:5.0} MB/s of log {:5.0} MB/s of output {secs:6.3} s \
                 ({cpu:.3} s CPU){goal}",
                output.text.len() as f64 / 1e6 / secs,
            );
        };

        figure(
            "decode (replay's reader, borrowed)",
            Some(500.0),
            &mut || {
                let mut n = 0usize;
                EventLogFollower::new(self.log)
                    .read_new_borrowed(|e| {
                        if let EventRef::Output { data, .. } = e {
                            n += data.len();
                        }
                    })
                    .unwrap();
                std::hint::black_box(n);
            },
        );
        figure("decode, owned events (wait, follow)", None, &mut || {
            let mut n = 0usize;
            EventLogFollower::new(self.log)
                .read_new(|e| n += e.seq as usize)
                .unwrap();
            std::hint::black_box(n);
        });
        let bytes = std::fs::read(self.log).expect("the Event Log");
        figure("serde per line (the decoder before)", None, &mut || {
            let mut n = 0usize;
            for line in bytes.split(|&b| b == b'\n') {
                if let Ok(e) = serde_json::from_slice::<Event>(line) {
                    n += e.seq as usize;
                }
            }
            std::hint::black_box(n);
        });
        drop(bytes);
        figure("vte parser alone (output decoded)", None, &mut || {
            let mut parser = vte::Parser::new();
            let mut count = Count(0);
            let mut start = 0;
            for &end in &output.ends {
                parser.advance(&mut count, &output.text[start..end]);
                start = end;
            }
            std::hint::black_box(count.0);
        });
        figure("alacritty Term alone (output decoded)", None, &mut || {
            let mut term = alacritty_term(self.cols, self.rows, ScreenReplay::DEFAULT_SCROLLBACK);
            let mut parser: vte::ansi::Processor = vte::ansi::Processor::new();
            let mut start = 0;
            for &end in &output.ends {
                parser.advance(&mut term, &output.text[start..end]);
                start = end;
            }
            std::hint::black_box(term.grid().cursor.point);
        });
        figure("alacritty Term alone, 1 MB runs", None, &mut || {
            let mut term = alacritty_term(self.cols, self.rows, ScreenReplay::DEFAULT_SCROLLBACK);
            let mut parser: vte::ansi::Processor = vte::ansi::Processor::new();
            for run in output.text.chunks(1 << 20) {
                parser.advance(&mut term, run);
            }
            std::hint::black_box(term.grid().cursor.point);
        });
        for (label, history) in [
            ("alacritty Term alone, 1000 history lines", 1000),
            ("alacritty Term alone, no scrollback", 0),
        ] {
            figure(label, None, &mut || {
                let mut term = alacritty_term(self.cols, self.rows, history);
                let mut parser: vte::ansi::Processor = vte::ansi::Processor::new();
                for run in output.text.chunks(1 << 20) {
                    parser.advance(&mut term, run);
                }
                std::hint::black_box(term.grid().cursor.point);
            });
        }
        figure(
            "ScreenReplay, one thread, event by event",
            None,
            &mut || {
                let mut replay = ScreenReplay::new(self.cols, self.rows);
                EventLogFollower::new(self.log)
                    .read_new_borrowed(|e| replay.apply_ref(e))
                    .unwrap();
                std::hint::black_box(replay.visible_lines());
            },
        );
        let checkpoint = self.log.with_file_name(layout::session::CHECKPOINT.name);
        if self.only.is_none() {
            // Part of the next row: the checkpoint a first reader leaves.
            let mut replay = ScreenReplay::new(self.cols, self.rows);
            let mut follower = EventLogFollower::new(self.log);
            follower.read_new_borrowed(|e| replay.apply_ref(e)).unwrap();
            let mut written = false;
            let (secs, cpu) = self.median(&mut || {
                written = replay.save_checkpoint(self.log, follower.offset());
            });
            println!(
                "{:42} {secs:6.3} s ({cpu:.3} s CPU), {}",
                "saving the screen checkpoint",
                match std::fs::metadata(&checkpoint) {
                    Ok(m) if written => format!("{} bytes", m.len()),
                    _ => "not written (the log ends inside an escape sequence?)".into(),
                }
            );
        }
        figure(
            "first snapshot (catch_up, no checkpoint)",
            Some(250.0),
            &mut || {
                let _ = std::fs::remove_file(&checkpoint);
                let mut replay = ScreenReplay::new(self.cols, self.rows);
                replay
                    .catch_up(&mut EventLogFollower::new(self.log))
                    .unwrap();
                std::hint::black_box(replay.visible_lines());
            },
        );
        let _ = std::fs::remove_file(&checkpoint);
        if self.only.is_none() {
            // What a first reader skips (output that scrolls out unseen)
            // must not change what it shows.
            let mut skipped = ScreenReplay::new(self.cols, self.rows);
            skipped
                .catch_up(&mut EventLogFollower::new(self.log))
                .unwrap();
            let _ = std::fs::remove_file(&checkpoint);
            let mut applied = ScreenReplay::new(self.cols, self.rows);
            EventLogFollower::new(self.log)
                .read_new_borrowed(|e| applied.apply_ref(e))
                .unwrap();
            println!(
                "{:42} {}",
                "first snapshot vs event by event",
                if picture(&mut skipped) == picture(&mut applied) {
                    "the same screen, scrollback (text and cells) and cursor"
                } else {
                    "DIFFERENT: skipping changed what a reader sees"
                }
            );
        }
        figure("vt100 0.16 (one thread)", None, &mut || {
            let mut parser =
                vt100::Parser::new(self.rows, self.cols, ScreenReplay::DEFAULT_SCROLLBACK);
            let mut shown = ShownOutput::new();
            EventLogFollower::new(self.log)
                .read_new(|e| {
                    if let Some(text) = shown.shown(&e) {
                        parser.process(text.as_bytes());
                    }
                    if let agent_tty_core::event_log::EventBody::Resize { cols, rows } = e.body {
                        parser.screen_mut().set_size(rows, cols);
                    }
                })
                .unwrap();
            std::hint::black_box(parser.screen().contents());
        });
    }

    /// The shown output of every event, decoded once.
    fn output(&self) -> Output {
        let mut output = Output {
            text: Vec::new(),
            ends: Vec::new(),
        };
        let mut shown = ShownOutput::new();
        EventLogFollower::new(self.log)
            .read_new(|e| {
                if let Some(text) = shown.shown(&e) {
                    output.text.extend_from_slice(text.as_bytes());
                    output.ends.push(output.text.len());
                }
            })
            .unwrap();
        output
    }

    /// The median wall time of `f` over the runs, and the CPU time (all
    /// threads) of that run: on a busy machine the CPU time says what the
    /// work costs, the wall time what a user waits.
    fn median(&self, f: &mut dyn FnMut()) -> (f64, f64) {
        let mut times: Vec<(f64, f64)> = (0..self.runs.max(1))
            .map(|_| {
                let (start, cpu) = (Instant::now(), cpu_secs());
                f();
                (start.elapsed().as_secs_f64(), cpu_secs() - cpu)
            })
            .collect();
        times.sort_by(|a, b| a.0.total_cmp(&b.0));
        times[times.len() / 2]
    }
}

/// CPU time this process has used, user and system, all threads.
fn cpu_secs() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// A handler that only counts: the parser's own cost.
struct Count(usize);

impl vte::Perform for Count {
    fn print(&mut self, _: char) {
        self.0 += 1;
    }
    fn execute(&mut self, _: u8) {
        self.0 += 1;
    }
    fn csi_dispatch(&mut self, _: &vte::Params, _: &[u8], _: bool, _: char) {
        self.0 += 1;
    }
    fn esc_dispatch(&mut self, _: &[u8], _: bool, _: u8) {
        self.0 += 1;
    }
    fn osc_dispatch(&mut self, _: &[&[u8]], _: bool) {
        self.0 += 1;
    }
}

/// alacritty's terminal as agent-tty configures it (with `history` lines
/// of scrollback: readers keep 10,000), without our wrapper.
fn alacritty_term(
    cols: u16,
    rows: u16,
    history: usize,
) -> alacritty_terminal::Term<alacritty_terminal::event::VoidListener> {
    struct Size(usize, usize);
    impl alacritty_terminal::grid::Dimensions for Size {
        fn total_lines(&self) -> usize {
            self.1
        }
        fn screen_lines(&self) -> usize {
            self.1
        }
        fn columns(&self) -> usize {
            self.0
        }
    }
    let config = alacritty_terminal::term::Config {
        scrolling_history: history,
        ..Default::default()
    };
    alacritty_terminal::Term::new(
        config,
        &Size(cols.into(), rows.into()),
        alacritty_terminal::event::VoidListener,
    )
}

/// Everything a reader can be shown of a screen: every line's text, the
/// cursor, and the cells (colours, attributes) of every page of the
/// scrollback and of the screen.
fn picture(replay: &mut ScreenReplay) -> (Vec<String>, (u16, u16), Vec<CellRows>) {
    let rows = replay.size().1 as usize;
    let pages = (0..=replay.scrollback_len())
        .step_by(rows.max(1))
        .map(|offset| replay.cells_scrolled_back(offset))
        .collect();
    (replay.lines_with_scrollback(), replay.cursor(), pages)
}
