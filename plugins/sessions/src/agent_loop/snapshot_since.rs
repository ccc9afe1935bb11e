//! `snapshot --since-seq N` / `--since-hash H`: only the rows that changed
//! since a point, with their row numbers, the cursor and `screenHash`, so
//! an agent that has read the screen once reads only what moved after.
//!
//! One replay of the Event Log serves both: the baseline is the screen just
//! before the first event past `N`, or the last screen in the log whose
//! `screenHash` is `H` (hashed only after events that can change it).

use super::snapshot::screen_hash;
use super::target::Target;
use agent_tty_core::event_log::{EventBody, EventLogFollower};
use agent_tty_core::screen::ScreenReplay;
use agent_tty_plugin_api::{ArgSpec, CommandOutput, ErrorCode, Invocation, PluginError};
use serde_json::{json, Value};

/// This module's flags on `snapshot`.
pub(super) fn args() -> [ArgSpec; 2] {
    [
        ArgSpec::option(
            "since-seq",
            "SEQ",
            "Only the rows that changed after event SEQ (with the cursor and screenHash)",
        ),
        ArgSpec::option(
            "since-hash",
            "HASH",
            "Only the rows that changed since the screen whose screenHash is HASH",
        ),
    ]
}

/// The baseline asked for.
pub(super) enum Since {
    Seq(u64),
    Hash(String),
}

/// `--since-seq` or `--since-hash`, if either was given.
pub(super) fn requested(inv: &Invocation) -> Result<Option<Since>, PluginError> {
    let since = match (inv.value("since-seq"), inv.value("since-hash")) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(PluginError::usage(
                "--since-seq and --since-hash are two baselines; give one",
            ))
        }
        (Some(seq), None) => Since::Seq(seq.trim().parse().map_err(|_| {
            PluginError::usage(format!(
                "--since-seq must be a non-negative integer, got: {seq}"
            ))
            .with_details(json!({ "flag": "--since-seq", "value": seq }))
        })?),
        (None, Some(hash)) => {
            let hash = hash.trim().to_ascii_lowercase();
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(PluginError::usage(format!(
                    "--since-hash must be a screenHash (64 hex digits), got {hash:?}"
                )));
            }
            Since::Hash(hash)
        }
    };
    for flag in ["include-scrollback", "include-cells"] {
        if inv.flag(flag) {
            return Err(PluginError::usage(format!(
                "--{flag} does not combine with --since-seq/--since-hash (changed rows only)"
            )));
        }
    }
    Ok(Some(since))
}

/// The changed rows of a Session's screen since `since`.
pub(super) fn snapshot_since(target: &Target, since: &Since) -> Result<CommandOutput, PluginError> {
    let mut replay = ScreenReplay::for_manifest_with_scrollback(&target.manifest, 0);
    let mut follower = EventLogFollower::new(&target.event_log());
    let mut baseline: Option<(Vec<String>, Option<u64>)> = None;
    match since {
        Since::Seq(seq) => {
            follower.read_new(|event| {
                if baseline.is_none() && event.seq > *seq {
                    baseline = Some((replay.visible_lines(), replay.last_seq()));
                }
                replay.apply(&event);
            })?;
        }
        Since::Hash(hash) => {
            let check = |replay: &ScreenReplay, baseline: &mut Option<_>| {
                let lines = replay.visible_lines();
                if screen_hash(&lines) == *hash {
                    *baseline = Some((lines, replay.last_seq()));
                }
            };
            check(&replay, &mut baseline);
            follower.read_new(|event| {
                let shows = matches!(
                    event.body,
                    EventBody::Output { .. }
                        | EventBody::Resize { .. }
                        | EventBody::RunComplete { .. }
                        | EventBody::Exit { .. }
                );
                replay.apply(&event);
                if shows {
                    check(&replay, &mut baseline);
                }
            })?;
            if baseline.is_none() {
                return Err(PluginError::new(
                    ErrorCode::InvalidInput,
                    format!(
                        "No screen of Session {} had screenHash {hash}; take a full \
                         `agent-tty snapshot {}` and use its screenHash or capturedAtSeq",
                        target.id, target.id
                    ),
                )
                .with_details(json!({ "sessionId": target.id, "sinceHash": hash })));
            }
        }
    }
    let now = replay.visible_lines();
    // Nothing past the baseline: nothing changed.
    let (before, baseline_seq) = baseline.unwrap_or_else(|| (now.clone(), replay.last_seq()));
    let changed: Vec<(usize, &String)> = now
        .iter()
        .enumerate()
        .filter(|(row, text)| before.get(*row) != Some(*text))
        .collect();
    let (cols, rows) = replay.size();
    let (cursor_row, cursor_col) = replay.cursor();
    let seq = replay.last_seq().unwrap_or(0);
    let mut result = serde_json::Map::new();
    result.insert("format".into(), json!("changes"));
    result.insert("sessionId".into(), json!(target.id));
    match since {
        Since::Seq(s) => result.insert("sinceSeq".into(), json!(s)),
        Since::Hash(h) => result.insert("sinceHash".into(), json!(h)),
    };
    result.insert("baselineSeq".into(), json!(baseline_seq));
    result.insert("capturedAtSeq".into(), json!(seq));
    result.insert("cols".into(), json!(cols));
    result.insert("rows".into(), json!(rows));
    result.insert("cursorRow".into(), json!(cursor_row));
    result.insert("cursorCol".into(), json!(cursor_col));
    result.insert(
        "changedLines".into(),
        changed
            .iter()
            .map(|(row, text)| json!({ "row": row, "text": text }))
            .collect::<Value>(),
    );
    result.insert("screenHash".into(), json!(screen_hash(&now)));
    result.insert("status".into(), json!(target.manifest.status.as_str()));
    let mut human = format!(
        "Session ID: {}\nCaptured At Seq: {seq}\nCursor: row {cursor_row}, col {cursor_col}\nChanged Lines ({}):\n",
        target.id,
        changed.len()
    );
    if changed.is_empty() {
        human.push_str("  (none)\n");
    }
    for (row, text) in &changed {
        human.push_str(&format!(
            "  [{row}] {}\n",
            agent_tty_core::text::escape(text)
        ));
    }
    Ok(CommandOutput::new(Value::Object(result), human))
}
