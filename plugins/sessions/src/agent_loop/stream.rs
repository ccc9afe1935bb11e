//! `follow <id> [--from-seq N] [--screen] [--json]`: tail a Session.
//!
//! With `--json`, newline-delimited JSON on stdout: one object per Event Log
//! record, exactly as the log holds it (`seq`, `ts`, `type`, `payload`),
//! from `--from-seq` (default: the end, so only what happens next), until
//! the Session ends; then one last `{"type":"end", ...}` line. With
//! `--screen`, one object per change of the screen instead: the rows that
//! changed (the first object has every row), the cursor and `screenHash`.
//! Without `--json`, one escaped line per record for a person.
//!
//! The stream is the command's whole output: no envelope follows it (one
//! pretty-printed object after NDJSON would break every line-by-line
//! reader), so the command ends the process itself once the stream is
//! complete. A reader that goes away (a closed pipe) ends it quietly.

use super::follow::{self, Followed, Step};
use super::snapshot::screen_hash;
use super::target::Target;
use agent_tty_core::event_log::{Event, EventBody, EventLogFollower};
use agent_tty_core::manifest::read_manifest;
use agent_tty_core::screen::ScreenReplay;
use agent_tty_plugin_api::{ArgSpec, Command, CommandSpec};
use agent_tty_plugin_api::{CommandOutput, Invocation, PluginError};
use serde_json::{json, Value};
use std::io::Write;
use std::time::Instant;

/// `follow`: its spec beside its handler ([`follow_session`]).
pub(super) fn command() -> Command {
    let spec = CommandSpec::new(
        &["follow"],
        "Stream a Session's Event Log (or its screen changes) as it happens, until it ends",
    )
    .arg(super::session_id_arg())
    .arg(ArgSpec::option(
        "from-seq",
        "SEQ",
        "Start at event SEQ (default: the end of the log, only what happens next)",
    ))
    .arg(ArgSpec::flag(
        "screen",
        "Stream the rows of the screen that changed instead of the records",
    ));
    Command::new(spec, |_, inv| follow_session(inv))
}

/// Where the stream goes, and whether a person or a program reads it.
struct Out {
    json: bool,
    stdout: std::io::Stdout,
}

impl Out {
    /// Writes one line; a reader that went away ends the process quietly.
    fn line(&mut self, text: &str) {
        let mut lock = self.stdout.lock();
        if writeln!(lock, "{text}")
            .and_then(|()| lock.flush())
            .is_err()
        {
            std::process::exit(0);
        }
    }
}

fn follow_session(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let from_seq = match inv.value("from-seq") {
        None => None,
        Some(v) => Some(v.trim().parse::<u64>().map_err(|_| {
            PluginError::usage(format!(
                "--from-seq must be a non-negative integer, got: {v}"
            ))
            .with_details(json!({ "flag": "--from-seq", "value": v }))
        })?),
    };
    let target = Target::find(inv)?;
    let screen = inv.flag("screen");
    let mut out = Out {
        json: inv.context.json,
        stdout: std::io::stdout(),
    };
    let log = target.event_log();
    let mut replay = ScreenReplay::for_manifest_with_scrollback(&target.manifest, 0);
    // Where reading starts: the beginning for --from-seq or --screen (which
    // needs the screen so far), else the log's end now.
    let mut follower = if from_seq.is_some() || screen {
        EventLogFollower::new(&log)
    } else {
        let end = std::fs::metadata(&log).map_or(0, |m| m.len());
        EventLogFollower::starting_at(&log, end)
    };
    let start = from_seq.unwrap_or(0);
    let mut shown: Option<Vec<String>> = None;
    let mut ended = false;
    let mut last_seq = None;
    let mut exit_code = None;
    if screen {
        // The screen up to the starting point is the first frame; each
        // event logged since then that changes it is one more.
        match from_seq {
            None => {
                replay.catch_up(&mut follower)?;
                emit_screen(&mut out, &replay, &mut shown);
            }
            Some(from) => {
                // Resume from the screen checkpoint unless it covers events
                // from `from` on (they must each be a frame): then replay
                // from the start. Either way, each event is applied (and
                // shown) as it is read, never held.
                replay.catch_up_up_to(&mut follower, 0)?;
                if replay.last_seq().is_some_and(|seq| seq >= from) {
                    replay = ScreenReplay::for_manifest_with_scrollback(&target.manifest, 0);
                    follower = EventLogFollower::new(&log);
                }
                let mut framed = false;
                follower.read_new(|event| {
                    if event.seq < from {
                        replay.apply(&event);
                        return;
                    }
                    if !framed {
                        framed = true;
                        emit_screen(&mut out, &replay, &mut shown);
                    }
                    note_exit(&event, &mut ended, &mut exit_code);
                    last_seq = Some(event.seq);
                    replay.apply(&event);
                    emit_screen(&mut out, &replay, &mut shown);
                })?;
                if !framed {
                    emit_screen(&mut out, &replay, &mut shown);
                }
            }
        }
    }
    let followed = follow::until(&target, None, Instant::now(), |look| {
        let mut active = false;
        follower.read_new(|event| {
            active = true;
            last_seq = Some(event.seq);
            note_exit(&event, &mut ended, &mut exit_code);
            if screen {
                replay.apply(&event);
            } else if event.seq >= start {
                emit_event(&mut out, &event);
            }
        })?;
        if screen && active {
            emit_screen(&mut out, &replay, &mut shown);
        }
        // A host that died logs no exit; once the manifest says it ended,
        // one more read above has taken whatever it had written.
        Ok(if ended || (look.ended_elsewhere && !active) {
            Step::Done(())
        } else {
            Step::Pending { active }
        })
    })?;
    let Followed::Done(()) = followed else {
        unreachable!("follow has no time limit")
    };
    // The host marks the manifest just after it logs `exit`: give it a
    // moment, so the end line says how the Session ended.
    let deadline = Instant::now() + std::time::Duration::from_secs(2);
    let manifest = loop {
        match read_manifest(&target.dir) {
            Ok(m) if m.status.is_terminal() || Instant::now() >= deadline => break Some(m),
            Err(_) if Instant::now() >= deadline => break None,
            _ => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    };
    let status = manifest
        .as_ref()
        .map_or(target.manifest.status.as_str(), |m| m.status.as_str());
    let exit_code = exit_code.or_else(|| manifest.as_ref().and_then(|m| m.exit_code));
    let seq = last_seq.or(replay.last_seq());
    if out.json {
        out.line(
            &json!({ "type": "end", "sessionId": target.id, "seq": seq, "status": status, "exitCode": exit_code })
                .to_string(),
        );
    } else {
        out.line(&format!("Session {} ended ({status}).", target.id));
    }
    std::process::exit(0)
}

/// Notes an `exit` record: the stream ends after it, with its exit code.
fn note_exit(event: &Event, ended: &mut bool, exit_code: &mut Option<i32>) {
    if let EventBody::Exit {
        exit_code: code, ..
    } = &event.body
    {
        *ended = true;
        *exit_code = *code;
    }
}

/// One record, as the log holds it (or one escaped line for a person).
fn emit_event(out: &mut Out, event: &Event) {
    if out.json {
        out.line(&serde_json::to_string(event).unwrap_or_default());
        return;
    }
    let value = serde_json::to_value(event).unwrap_or(Value::Null);
    let payload = value
        .get("payload")
        .map(Value::to_string)
        .unwrap_or_default();
    out.line(&format!(
        "{} {} {}",
        event.seq,
        value["type"].as_str().unwrap_or("?"),
        agent_tty_core::text::escape(&payload)
    ));
}

/// The rows that changed since the last frame (every row the first time).
fn emit_screen(out: &mut Out, replay: &ScreenReplay, shown: &mut Option<Vec<String>>) {
    let now = replay.visible_lines();
    let changed: Vec<(usize, &String)> = now
        .iter()
        .enumerate()
        .filter(|(row, text)| shown.as_ref().and_then(|s| s.get(*row)) != Some(*text))
        .collect();
    if shown.is_some() && changed.is_empty() {
        return;
    }
    let (row, col) = replay.cursor();
    if out.json {
        out.line(
            &json!({
                "type": "screen",
                "seq": replay.last_seq(),
                "changedLines": changed.iter().map(|(r, t)| json!({ "row": r, "text": t })).collect::<Vec<_>>(),
                "cursorRow": row,
                "cursorCol": col,
                "screenHash": screen_hash(&now),
            })
            .to_string(),
        );
    } else {
        for (r, text) in &changed {
            out.line(&format!("[{r}] {}", agent_tty_core::text::escape(text)));
        }
    }
    *shown = Some(now);
}
