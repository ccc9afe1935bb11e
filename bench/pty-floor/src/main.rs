//! `pty-floor [--cols N] [--rows N] -- COMMAND [ARGS...]`: runs COMMAND on a
//! fresh PTY (as a Session's host does: own session, the PTY as its
//! controlling terminal, `TERM=xterm-256color`) and reads the PTY 64 KiB at a
//! time, discarding everything, until every process holding the terminal has
//! closed it. Prints `bytes`, wall seconds and this process's CPU seconds as
//! one JSON line on stderr.
//!
//! This is the floor for the host's ingest (`bench/host_ingest.sh`): nothing
//! can read a PTY faster than a loop that does nothing else, so a Session
//! printing flat out is measured against it.

use std::io::Read;
use std::process::Command;
use std::time::Instant;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let (mut cols, mut rows) = (120u16, 40u16);
    while let Some(flag) = args.first().cloned() {
        match flag.as_str() {
            "--cols" | "--rows" => {
                let value = args
                    .get(1)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage());
                if flag == "--cols" {
                    cols = value;
                } else {
                    rows = value;
                }
                args.drain(..2);
            }
            "--" => {
                args.remove(0);
                break;
            }
            _ => break,
        }
    }
    let Some((program, rest)) = args.split_first() else {
        usage()
    };
    let (master, slave) = agent_tty_runtime::pty::open(cols, rows).expect("open a PTY");
    let mut command = Command::new(program);
    command.args(rest).env("TERM", "xterm-256color");
    agent_tty_runtime::pty::attach(&mut command, slave).expect("share the PTY");
    let started = Instant::now();
    let mut child = command.spawn().expect("start the command");
    // `command` holds the last copies of the slave: close them, or the PTY
    // never hangs up.
    drop(command);
    let mut master = std::fs::File::from(master);
    let mut buf = vec![0u8; 64 * 1024];
    let mut bytes: u64 = 0;
    loop {
        match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => bytes += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // EIO: every process holding the terminal has closed it.
            Err(_) => break,
        }
    }
    let _ = child.wait();
    let wall = started.elapsed().as_secs_f64();
    eprintln!(
        "{{\"bytes\":{bytes},\"wallSeconds\":{wall:.3},\"cpuSeconds\":{:.3}}}",
        own_cpu_seconds()
    );
}

/// This process's user + system CPU time.
fn own_cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

fn usage() -> ! {
    eprintln!("usage: pty-floor [--cols N] [--rows N] -- COMMAND [ARGS...]");
    std::process::exit(2)
}
