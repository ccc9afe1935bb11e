//! `timeit [-n RUNS] [-w WARMUP] [--label L] -- COMMAND ARGS...`
//!
//! Runs a command repeatedly (stdout/stderr discarded, stdin null) and prints
//! one line: `label: median X ms, p90 Y ms, min Z ms (N runs)`. Benchmarks in
//! `bench/` use it so every figure is measured the same way, without needing
//! anything beyond the Rust toolchain.

use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut runs, mut warmup, mut label) = (30usize, 3usize, None::<String>);
    let mut command = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-n" => runs = args.next().and_then(|v| v.parse().ok()).unwrap_or(runs),
            "-w" => warmup = args.next().and_then(|v| v.parse().ok()).unwrap_or(warmup),
            "--label" => label = args.next(),
            "--" => {
                command.extend(args.by_ref());
                break;
            }
            other => command.push(other.to_owned()),
        }
    }
    let Some((program, rest)) = command.split_first() else {
        eprintln!("usage: timeit [-n RUNS] [-w WARMUP] [--label L] -- COMMAND ARGS...");
        return ExitCode::from(2);
    };
    let run_once = || {
        let start = Instant::now();
        let status = Command::new(program)
            .args(rest)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        (start.elapsed().as_secs_f64() * 1000.0, status)
    };
    for _ in 0..warmup {
        let _ = run_once();
    }
    let mut samples = Vec::with_capacity(runs);
    let mut failures = 0;
    for _ in 0..runs.max(1) {
        let (ms, status) = run_once();
        if !matches!(status, Ok(s) if s.success()) {
            failures += 1;
        }
        samples.push(ms);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{}: median {:.2} ms, p90 {:.2} ms, min {:.2} ms ({} runs{})",
        label.unwrap_or_else(|| command.join(" ")),
        pick(0.5),
        pick(0.9),
        samples[0],
        samples.len(),
        if failures > 0 {
            format!(", {failures} FAILED")
        } else {
            String::new()
        }
    );
    ExitCode::SUCCESS
}
