//! `io-floor HOMES_JSON`: the I/O floor for `home list --all --json`.
//!
//! Reads the Home Registry file (to know the Homes, as agent-tty must), then
//! for every Home lists `sessions/` and reads each `session.json` in full,
//! spread over as many threads as the machine has (what agent-tty's scan may
//! use), and prints the number of manifests and bytes read. No JSON parsing
//! of manifests, no status policy, no output formatting: whatever agent-tty
//! spends beyond this is its own overhead.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

fn main() {
    let registry = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .expect("usage: io-floor <XDG_STATE_HOME>/agent-tty/homes.json");
    let text = std::fs::read_to_string(&registry).expect("the registry file reads");
    // The registry's `"path": "..."` entries, without a JSON parser (paths
    // written by bench/lib/homes.sh have no escapes).
    let homes: Vec<PathBuf> = text
        .split("\"path\": \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(PathBuf::from)
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = AtomicUsize::new(0);
    let (files, bytes) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let (mut files, mut bytes) = (0usize, 0usize);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(home) = homes.get(i) else { break };
                        let Ok(dir) = std::fs::read_dir(home.join("sessions")) else {
                            continue;
                        };
                        for entry in dir.flatten() {
                            if let Ok(manifest) = std::fs::read(entry.path().join("session.json")) {
                                files += 1;
                                bytes += manifest.len();
                            }
                        }
                    }
                    (files, bytes)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a worker finishes"))
            .fold((0, 0), |(f, b), (wf, wb)| (f + wf, b + wb))
    });
    println!(
        "{} Homes, {files} manifests, {bytes} bytes, {threads} threads",
        homes.len()
    );
}
