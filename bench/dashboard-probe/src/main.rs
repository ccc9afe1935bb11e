//! `dashboard-probe --exe PATH [--homes N] [--runs N] [--idle-secs S] [--only picker]`
//!
//! Drives the real `agent-tty dashboard` in a PTY over a throwaway machine
//! (temp `$HOME`, `XDG_STATE_HOME`, Homes) and prints one line per figure,
//! in `timeit`'s format:
//!
//! - picker: from typing `H` to the picker listing all N registered Homes,
//!   each with a running Session;
//! - live view: from appending a line to the shown Session's Event Log to
//!   that line on the screen;
//! - live view with polling: the same, with file change notification off
//!   (`AGENT_TTY_DASHBOARD_WATCH=poll`), to compare the two;
//! - idle CPU: the dashboard's CPU time over S seconds of doing nothing,
//!   with a running Session in the Live View, with 10 running Sessions in
//!   the overview (`z`), and with an empty Home;
//! - history: from typing PgUp to the paused page on the screen, on a
//!   Session with 10,000 lines of scrollback.
//!
//! Latencies include everything a person would wait for: the keystroke
//! crossing the PTY, plugin calls, drawing, and the bytes coming back.
//!
//! `--only picker` stops after the picker's figure (`bench/README.md`'s
//! picker row), without the minutes the idle and history figures take.

use agent_tty_core::event_log::{EventBody, EventLogWriter};
use agent_tty_core::manifest::{write_manifest, Manifest, Status};
use agent_tty_dashboard::live::{POLL_INTERVAL, WATCH_ENV};
use agent_tty_e2e::pty::PtyChild;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

struct Args {
    exe: PathBuf,
    homes: usize,
    runs: usize,
    idle_secs: u64,
    only_picker: bool,
}

fn args() -> Args {
    let mut a = Args {
        exe: PathBuf::from("target/release/agent-tty"),
        homes: 1000,
        runs: 30,
        idle_secs: 10,
        only_picker: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--exe" => a.exe = PathBuf::from(value),
            "--homes" => a.homes = value.parse().expect("--homes N"),
            "--runs" => a.runs = value.parse().expect("--runs N"),
            "--idle-secs" => a.idle_secs = value.parse().expect("--idle-secs S"),
            "--only" if value == "picker" => a.only_picker = true,
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

fn session_id(i: usize) -> String {
    format!("01JD{i:022}")
}

/// A running Session (its "host" is `host_pid`) with one line of output.
fn write_session(home: &Path, id: &str, host_pid: u32) -> EventLogWriter {
    let dir = home.join("sessions").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let now = agent_tty_core::time::now_iso();
    write_manifest(
        &dir,
        &Manifest {
            version: 1,
            session_id: id.into(),
            created_at: now.clone(),
            updated_at: now,
            status: Status::Running,
            failure_reason: None,
            failure_origin: None,
            command: vec!["sh".into()],
            cwd: "/".into(),
            name: None,
            shell: None,
            term: None,
            env: None,
            cols: 80,
            rows: 24,
            creation_cols: Some(80),
            creation_rows: Some(24),
            idle_timeout_ms: None,
            host_pid: Some(host_pid),
            child_pid: None,
            exit_code: None,
            exit_signal: None,
        },
    )
    .unwrap();
    let mut log = EventLogWriter::open(&dir).unwrap();
    log.append(EventBody::Output {
        data: format!("session {id}\r\n"),
    })
    .unwrap();
    log
}

struct Machine {
    root: tempfile::TempDir,
    host: Child,
}

impl Machine {
    fn new() -> Self {
        Machine {
            root: tempfile::tempdir().unwrap(),
            host: Command::new("sleep").arg("3600").spawn().unwrap(),
        }
    }

    fn home(&self, i: usize) -> PathBuf {
        self.root.path().join("homes").join(format!("h{i:04}"))
    }

    fn register(&self, homes: &[PathBuf]) {
        let now = agent_tty_core::time::now_iso();
        let entries: Vec<_> = homes
            .iter()
            .map(|h| serde_json::json!({"path": h, "lastSeenAt": now}))
            .collect();
        let file = self.root.path().join("state/agent-tty/homes.json");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let text =
            serde_json::to_string_pretty(&serde_json::json!({"version": 1, "homes": entries}));
        std::fs::write(file, text.unwrap() + "\n").unwrap();
    }

    fn dashboard(&self, exe: &Path, home: &Path) -> PtyChild {
        self.dashboard_with(exe, home, &[])
    }

    fn dashboard_with(&self, exe: &Path, home: &Path, env: &[(&str, &str)]) -> PtyChild {
        let root = self.root.path();
        let mut cmd = Command::new(exe);
        cmd.envs(env.iter().copied());
        cmd.arg("--home")
            .arg(home)
            .arg("dashboard")
            .env_remove("AGENT_TTY_HOME")
            .env_remove("AGENT_TTY_PLUGIN_PATH")
            .env("HOME", root.join("user"))
            .env("XDG_STATE_HOME", root.join("state"))
            .env("XDG_DATA_HOME", root.join("data"))
            .env("XDG_RUNTIME_DIR", root.join("runtime"));
        PtyChild::spawn(cmd, 120, 40)
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = self.host.kill();
        let _ = self.host.wait();
    }
}

fn report(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{label}: median {:.2} ms, p90 {:.2} ms, min {:.2} ms ({} runs)",
        ms(pick(0.5)),
        ms(pick(0.9)),
        ms(samples[0]),
        samples.len()
    );
}

/// CPU seconds (user + system) the process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    // After the command name: state is field 0, utime 11, stime 12.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks as f64 / hz
}

fn idle_cpu(label: &str, ui: &PtyChild, secs: u64) {
    std::thread::sleep(Duration::from_millis(500));
    let before = cpu_seconds(ui.pid());
    std::thread::sleep(Duration::from_secs(secs));
    let used = cpu_seconds(ui.pid()) - before;
    println!(
        "{label}: {:.2}% of one core ({:.0} ms CPU in {secs} s)",
        used / secs as f64 * 100.0,
        used * 1000.0
    );
}

fn main() {
    let args = args();
    let machine = Machine::new();
    let homes: Vec<PathBuf> = (0..args.homes).map(|i| machine.home(i)).collect();
    let mut logs: Vec<EventLogWriter> = homes
        .iter()
        .enumerate()
        .map(|(i, h)| write_session(h, &session_id(i), machine.host.id()))
        .collect();
    machine.register(&homes);

    let mut ui = machine.dashboard(&args.exe, &homes[0]);
    ui.expect_text(&session_id(0), WAIT);

    // The picker over every registered Home.
    let listed = format!("Active Homes ({})", args.homes);
    let mut picker = Vec::new();
    let cpu_before = cpu_seconds(ui.pid());
    for _ in 0..args.runs {
        let start = Instant::now();
        ui.send(b"H");
        ui.expect_text(&listed, WAIT);
        picker.push(start.elapsed());
        ui.send(b"\x1b");
        ui.expect_text("H Homes", WAIT);
    }
    let cpu_per_open = (cpu_seconds(ui.pid()) - cpu_before) / args.runs as f64;
    report(
        &format!("picker with {} Homes, H to listed", args.homes),
        picker,
    );
    println!(
        "picker CPU: {:.1} ms of the dashboard's CPU per open and close",
        cpu_per_open * 1000.0
    );
    if args.only_picker {
        println!("goal: picker ≤ 50 ms");
        return;
    }

    // Event Log append to the Live View, noticed through inotify.
    live_latency(
        "live view, append to screen (notification)",
        &mut ui,
        &mut logs[0],
        args.runs,
    );
    idle_cpu("idle CPU, running Session shown", &ui, args.idle_secs);
    drop(ui);

    // The same with polling, the fallback where notification is missing.
    let mut ui = machine.dashboard_with(&args.exe, &homes[0], &[(WATCH_ENV, "poll")]);
    ui.expect_text(&session_id(0), WAIT);
    live_latency(
        "live view, append to screen (polling)",
        &mut ui,
        &mut logs[0],
        args.runs,
    );
    idle_cpu(
        "idle CPU, running Session shown (polling)",
        &ui,
        args.idle_secs,
    );
    drop(ui);

    // Ten running Sessions in the overview.
    let ten = machine.root.path().join("homes/ten");
    let _ten_logs: Vec<EventLogWriter> = (0..10)
        .map(|i| write_session(&ten, &session_id(500_000 + i), machine.host.id()))
        .collect();
    let mut ui = machine.dashboard(&args.exe, &ten);
    ui.expect_text("10 Active Sessions", WAIT);
    ui.send(b"z");
    ui.expect_text("z back", WAIT);
    ui.expect_text(&format!("session {}", session_id(500_009)), WAIT);
    idle_cpu(
        "idle CPU, 10 running Sessions in the overview",
        &ui,
        args.idle_secs,
    );
    drop(ui);

    // PgUp on a Session with 10,000 lines of scrollback.
    let long = machine.root.path().join("homes/long");
    let mut log = write_session(&long, &session_id(600_000), machine.host.id());
    let lines: String = (1..=10_000)
        .map(|i| format!("history line {i:05}\r\n"))
        .collect();
    log.append(EventBody::Output { data: lines }).unwrap();
    let mut ui = machine.dashboard(&args.exe, &long);
    ui.expect_text("history line 10000", WAIT);
    let mut pgup = Vec::new();
    for _ in 0..args.runs {
        let start = Instant::now();
        ui.send(b"\x1b[5~");
        ui.expect_text("paused at line", WAIT);
        pgup.push(start.elapsed());
        ui.send(b"G");
        ui.expect_text("following", WAIT);
    }
    report("history, PgUp to paused page (10,000 lines)", pgup);
    drop(ui);

    logs.truncate(0);

    let empty = machine.root.path().join("homes/empty");
    std::fs::create_dir_all(&empty).unwrap();
    let ui = machine.dashboard(&args.exe, &empty);
    ui.expect_text("No Active Sessions", WAIT);
    idle_cpu("idle CPU, empty Home", &ui, args.idle_secs);
    let baseline = peak_rss_kib(ui.pid());
    drop(ui);

    // A 50 MB Event Log: time to the final screen, and peak memory.
    let big = machine.root.path().join("homes/big");
    let mut log = write_session(&big, &session_id(999_999), machine.host.id());
    let line = format!("{}\r\n", "x".repeat(100));
    let mut written = 0;
    while written < 50 << 20 {
        log.append(EventBody::Output { data: line.clone() })
            .unwrap();
        written += line.len() + 80;
    }
    log.append(EventBody::Output {
        data: "end-of-the-big-log".into(),
    })
    .unwrap();
    let bytes = std::fs::metadata(
        big.join("sessions")
            .join(session_id(999_999))
            .join("events.jsonl"),
    )
    .unwrap()
    .len();
    let start = Instant::now();
    let ui = machine.dashboard(&args.exe, &big);
    ui.expect_text("end-of-the-big-log", WAIT);
    let took = start.elapsed();
    println!(
        "{} MB Event Log: final screen after {:.0} ms; peak RSS {} MiB (empty Home: {} MiB)",
        bytes >> 20,
        took.as_secs_f64() * 1000.0,
        peak_rss_kib(ui.pid()) / 1024,
        baseline / 1024
    );
}

/// From appending a line to the shown Session's Event Log to the line on
/// the screen.
fn live_latency(label: &str, ui: &mut PtyChild, log: &mut EventLogWriter, runs: usize) {
    let mut live = Vec::new();
    for i in 0..runs {
        let token = format!("tick-{i:04}-{}", label.len());
        let start = Instant::now();
        log.append(EventBody::Output {
            data: format!("{token}\r\n"),
        })
        .unwrap();
        ui.expect_text(&token, WAIT);
        live.push(start.elapsed());
        // Spread the appends over the polling period, so the figure is not
        // locked to one phase of it.
        let period = POLL_INTERVAL.as_millis() as u64;
        let spread = (i as u64 * 7) % period;
        std::thread::sleep(Duration::from_millis(50 + spread));
    }
    report(label, live);
}

/// The process's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
