//! End-to-end tests: the screen checkpoints a Session's host leaves as its
//! Event Log grows (docs/adr/0022-host-ingest.md), and the output pump's
//! chunked, batched logging.

use agent_tty_core::screen::checkpoint_offset;
use agent_tty_e2e::{create_session, eventually, Sandbox};
use rstest::rstest;
use serde_json::Value;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

/// A host leaves a checkpoint once output pauses after at least this much
/// more (`agent_tty_session_host::checkpoints::IDLE_MIN_BYTES`).
const HOST_CHECKPOINT_MIN: u64 = 1024 * 1024;

fn snapshot(sandbox: &Sandbox, home: &Path, id: &str) -> Value {
    sandbox
        .run_in(
            home,
            &["snapshot", id, "--include-cells", "--include-scrollback"],
        )
        .expect_code(0)
        .result()
}

/// A host whose command printed a few MB and paused leaves a checkpoint
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
    assert!(logged > HOST_CHECKPOINT_MIN, "only {logged} bytes logged");
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

/// The first reader after a burst of output that stopped (the command
/// paused, or ended) resumes from a checkpoint the host left at the burst's
/// end: within `HOST_CHECKPOINT_MIN` of it (a loaded machine can stall the
/// burst long enough for a checkpoint part-way, and a tail under that size
/// gets none, by design). Proof that it read no log before the checkpoint: a line
/// there, garbled once the checkpoint was written, goes unreported by that
/// reader, while a full replay reports it; both show the same screen.
#[rstest]
#[case::paused("; exec sleep 600")]
#[case::ended("")]
fn the_first_reader_after_a_burst_resumes_from_a_checkpoint_at_its_end(#[case] then: &str) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    // ~2.6 MB of output: more than a checkpoint needs, less than a reader
    // replays before it writes one itself (4 MiB).
    let script = format!("seq 1 330000; printf 'end-of-burst\\n'{then}");
    let (id, dir) = create_session(
        &sandbox,
        &home,
        &["--cols", "80", "--rows", "24", "--", "sh", "-c", &script],
    );
    let log = dir.join("events.jsonl");
    let checkpoint = dir.join("screen.checkpoint");
    // The burst is logged, and a checkpoint reaches its end (less than
    // `HOST_CHECKPOINT_MIN` short of it); when the command ended, its exit
    // is logged too.
    let ended = then.is_empty();
    let (text, covered) = eventually(Duration::from_secs(120), || {
        let text = std::fs::read(&log).ok()?;
        let at = text.windows(12).rposition(|w| w == b"end-of-burst")?;
        let end = at + find(&text[at..], b"\n")? + 1;
        let exited = find(&text[end..], b"\"type\":\"exit\"").is_some();
        let offset = checkpoint_offset(&log)?;
        let near_end = offset + HOST_CHECKPOINT_MIN > end as u64;
        (near_end && exited == ended).then_some((text, offset))
    })
    .expect("the host left a checkpoint covering the burst");
    assert!(text.len() as u64 > 2 * HOST_CHECKPOINT_MIN);

    // Garble the second event in place (same length, so the bytes the
    // checkpoint hashes before its offset stay as they were).
    let early = find(&text, b"\n").unwrap() + 1;
    let early_end = early + find(&text[early..], b"\n").unwrap();
    assert!(early_end as u64 + 4096 < covered);
    let mut file = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    file.seek(SeekFrom::Start(early as u64)).unwrap();
    file.write_all(&vec![b'#'; early_end - early]).unwrap();
    drop(file);
    assert!(
        checkpoint_offset(&log).is_some(),
        "the checkpoint still matches"
    );

    let mut resumed = snapshot(&sandbox, &home, &id);
    assert_eq!(resumed.get("warnings"), None, "{resumed:#}");
    std::fs::remove_file(&checkpoint).unwrap();
    let mut full = snapshot(&sandbox, &home, &id);
    let warnings = full["warnings"].to_string();
    assert!(warnings.contains("1 malformed line"), "{warnings}");
    full.as_object_mut().unwrap().remove("warnings");
    resumed.as_object_mut().unwrap().remove("warnings");
    assert_eq!(resumed, full);
    assert!(resumed.to_string().contains("end-of-burst"));
    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
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
