//! `bounds-probe --exe PATH [--sessions N] [--log-mb M] [--runs R]`
//!
//! The figures of issue 26's "Measure" list that need more than `timeit`
//! (ADR 0015), one line each, over a throwaway machine (temp `$HOME`,
//! `XDG_*`, Homes), everything deleted at the end:
//!
//! - the dashboard's key latency while it replays an Event Log of M MB
//!   (default 1024) of real output: from typing `?` to the help on the
//!   screen, and from `q` to the dashboard's exit, with whether the replay
//!   was still running (goal: ≤ 50 ms, during any replay);
//! - a Home of N Terminal Sessions (default 100,000): the overview's peak
//!   memory (goal: a screenful of tiles, tens of MB, not GBs).
//!
//! `bench/bounds.sh` runs this and the `list`/`gc`/`snapshot`/`record
//! export` figures.

use agent_tty_core::event_log::{EventBody, EventLogWriter};
use agent_tty_core::manifest::{write_manifest, Manifest, Status};
use agent_tty_e2e::pty::PtyChild;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

/// A line only the help overlay shows.
const HELP: &str = "The dashboard only reads";

struct Args {
    exe: PathBuf,
    sessions: usize,
    log_mb: u64,
    runs: usize,
}

fn args() -> Args {
    let mut a = Args {
        exe: PathBuf::from("target/release/agent-tty"),
        sessions: 100_000,
        log_mb: 1024,
        runs: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--exe" => a.exe = PathBuf::from(value),
            "--sessions" => a.sessions = value.parse().expect("--sessions N"),
            "--log-mb" => a.log_mb = value.parse().expect("--log-mb M"),
            "--runs" => a.runs = value.parse().expect("--runs R"),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

fn session_id(i: usize) -> String {
    format!("01JD{i:022}")
}

/// A Session's manifest and an Event Log holding `output`.
fn write_session(home: &Path, id: &str, status: Status, output: &str) -> EventLogWriter {
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
            status,
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
            host_pid: None,
            child_pid: None,
            exit_code: (status == Status::Exited).then_some(0),
            exit_signal: None,
        },
    )
    .unwrap();
    let mut log = EventLogWriter::open(&dir).unwrap();
    log.append(EventBody::Output {
        data: output.into(),
    })
    .unwrap();
    log
}

fn dashboard(root: &Path, exe: &Path, home: &Path, extra: &[&str]) -> PtyChild {
    let mut cmd = Command::new(exe);
    cmd.arg("--home")
        .arg(home)
        .arg("dashboard")
        .args(extra)
        .env_remove("AGENT_TTY_HOME")
        .env_remove("AGENT_TTY_PLUGIN_PATH")
        .env("HOME", root.join("user"))
        .env("XDG_STATE_HOME", root.join("state"))
        .env("XDG_DATA_HOME", root.join("data"))
        .env("XDG_CACHE_HOME", root.join("cache"))
        .env("XDG_RUNTIME_DIR", root.join("runtime"));
    PtyChild::spawn(cmd, 120, 40)
}

fn report(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{label}: median {:.2} ms, p90 {:.2} ms, max {:.2} ms ({} runs)",
        ms(pick(0.5)),
        ms(pick(0.9)),
        ms(samples[samples.len() - 1]),
        samples.len()
    );
}

/// The process's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn keys_during_replay(root: &Path, args: &Args) {
    let home = root.join("homes/replay");
    let id = session_id(1);
    let mut log = write_session(&home, &id, Status::Exited, "start\r\n");
    let line = format!("{}\r\n", "y".repeat(78));
    let chunk = line.repeat(64 * 1024 / line.len());
    let target = args.log_mb << 20;
    let mut written = 0u64;
    while written < target {
        log.append(EventBody::Output {
            data: chunk.clone(),
        })
        .unwrap();
        written += chunk.len() as u64 + 80;
    }
    log.append(EventBody::Output {
        data: "end-of-the-big-log".into(),
    })
    .unwrap();
    drop(log);
    let mut ui = dashboard(root, &args.exe, &home, &["--all"]);
    ui.expect_text(&id, WAIT);
    let started = Instant::now();
    let mut help = Vec::new();
    for _ in 0..args.runs {
        let start = Instant::now();
        ui.send(b"?");
        ui.expect_text(HELP, WAIT);
        help.push(start.elapsed());
        ui.send(b"?");
        ui.wait_for(WAIT, |screen| !screen.contents().contains(HELP));
    }
    let replaying = !ui.screen().contains("end-of-the-big-log");
    report(
        &format!(
            "dashboard, ? to help during a {} MB replay (replay still running: {replaying})",
            args.log_mb
        ),
        help,
    );
    let start = Instant::now();
    ui.send(b"q");
    let status = ui.wait_exit(WAIT);
    println!(
        "dashboard, q to exit during the replay: {:.2} ms (exit {:?}, {:.1} s into the replay)",
        start.elapsed().as_secs_f64() * 1000.0,
        status.and_then(|s| s.code()),
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&home);
}

fn overview_memory(root: &Path, args: &Args) {
    let home = root.join("homes/many");
    for i in 0..args.sessions {
        drop(write_session(
            &home,
            &session_id(100 + i),
            Status::Exited,
            &format!("session {i}\r\n"),
        ));
    }
    let mut ui = dashboard(root, &args.exe, &home, &["--all"]);
    ui.expect_text(&format!("{} Sessions", args.sessions), WAIT);
    let listed = peak_rss_kib(ui.pid());
    ui.send(b"z");
    ui.expect_text("z back", WAIT);
    std::thread::sleep(Duration::from_secs(3));
    // Move through a few screens of tiles.
    for _ in 0..20 {
        ui.send(b"\x1b[B");
    }
    std::thread::sleep(Duration::from_secs(2));
    println!(
        "dashboard overview of {} Sessions: peak RSS {} MiB (after listing them: {} MiB)",
        args.sessions,
        peak_rss_kib(ui.pid()) / 1024,
        listed / 1024
    );
    ui.send(b"q");
    let _ = ui.wait_exit(WAIT);
}

fn main() {
    let args = args();
    let root = tempfile::tempdir().unwrap();
    if args.log_mb > 0 {
        keys_during_replay(root.path(), &args);
    }
    if args.sessions > 0 {
        overview_memory(root.path(), &args);
    }
}
