//! End-to-end tests: the screen checkpoints a Session's host leaves as its
//! Event Log grows (docs/adr/0022-host-ingest.md), and the output pump's
//! chunked, batched logging.

use agent_tty_e2e::{create_session, eventually, Sandbox};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// A host logs this much more output before it writes a checkpoint
/// (`agent_tty_session_host::checkpoints::EVERY_BYTES`).
const HOST_CHECKPOINT_EVERY: u64 = 8 * 1024 * 1024;

fn snapshot(sandbox: &Sandbox, home: &Path, id: &str) -> Value {
    sandbox
        .run_in(
            home,
            &["snapshot", id, "--include-cells", "--include-scrollback"],
        )
        .expect_code(0)
        .result()
}

/// A host whose command printed more than the interval leaves a checkpoint
/// with no reader involved, and the first reader's screen (resumed from it)
/// is exactly a full replay's: text, scrollback, cells and cursor.
#[test]
fn a_host_that_printed_past_the_interval_leaves_a_checkpoint_equal_to_a_full_replay() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    // ~9.7 MB of output (digits and CRLFs), colour at the end, then the
    // command stays so the Session is live when read.
    let script = "seq 1 1200000; printf '\\033[1;31mred\\033[0m end-of-output\\n'; exec sleep 600";
    let (id, dir) = create_session(
        &sandbox,
        &home,
        &["--cols", "80", "--rows", "24", "--", "sh", "-c", script],
    );
    let log = dir.join("events.jsonl");
    let checkpoint = dir.join("screen.checkpoint");
    // Only the log is looked at until the checkpoint appears: no reader ran,
    // so the host wrote it.
    let logged = eventually(Duration::from_secs(120), || {
        let text = std::fs::read(&log).ok()?;
        let tail = &text[text.len().saturating_sub(200)..];
        String::from_utf8_lossy(tail)
            .contains("end-of-output")
            .then_some(text.len() as u64)
    })
    .expect("the output was logged");
    assert!(logged > HOST_CHECKPOINT_EVERY, "only {logged} bytes logged");
    eventually(Duration::from_secs(120), || {
        checkpoint.exists().then_some(())
    })
    .expect("the host left a checkpoint");

    let resumed = snapshot(&sandbox, &home, &id);
    std::fs::remove_file(&checkpoint).ok();
    let full = snapshot(&sandbox, &home, &id);
    assert_eq!(resumed, full);
    let lines = resumed["scrollbackLines"].as_array().unwrap();
    assert_eq!(lines.len(), 10_000);
    assert!(resumed.to_string().contains("end-of-output"));
    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
}

/// Output read in chunks of many PTY reads is logged whole and in order,
/// `seq` contiguous, characters cut between reads intact.
#[test]
fn a_flood_is_logged_whole_in_contiguous_events() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let script = "i=0; while [ $i -lt 3000 ]; do printf 'é→😀 line %05d of the flood\\n' $i; \
                  i=$((i+1)); done; echo flood-end";
    let (id, dir) = create_session(&sandbox, &home, &["--", "bash", "-c", script]);
    let log = dir.join("events.jsonl");
    eventually(Duration::from_secs(60), || {
        std::fs::read_to_string(&log)
            .ok()?
            .contains("\"type\":\"exit\"")
            .then_some(())
    })
    .expect("the Session ended");
    let mut output = String::new();
    for (n, line) in std::fs::read_to_string(&log).unwrap().lines().enumerate() {
        let event: Value = serde_json::from_str(line).unwrap();
        assert_eq!(event["seq"], n as u64, "{line}");
        if event["type"] == "output" {
            output.push_str(event["payload"]["data"].as_str().unwrap());
        }
    }
    let expected: String = (0..3000)
        .map(|i| format!("é→😀 line {i:05} of the flood\r\n"))
        .collect();
    assert!(output.contains(&expected), "output lost or garbled");
    assert!(!output.contains('\u{fffd}'));
    let _ = sandbox.run_in(&home, &["destroy", &id]);
}
