//! `home list --remotes`: this machine's Homes and every named remote's, in
//! one list, each row naming its `machine`.
//!
//! The remotes are asked at the same time, each within [`timeout`]; one
//! that is unreachable, has no agent-tty or answers nonsense is listed with
//! the reason (never dropped silently) and never holds the others up. A
//! remote's rows are rebuilt field by field from its answer (strings and
//! counts only), so nothing it sends reaches the output unchecked.

use super::ssh::Ssh;
use super::target::{Remote, LOCAL_MACHINE};
use crate::output::{self, OutputMode};
use agent_tty_core::text::{escape, Align, Table};
use agent_tty_plugin_api::{CommandOutput, ErrorCode, PluginError};
use clap::{Arg, ArgAction, Command};
use serde_json::{json, Map, Value};
use std::ffi::OsStr;
use std::io::Read;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `AGENT_TTY_REMOTE_TIMEOUT_MS`: how long `home list --remotes` waits for
/// each remote (default 5000).
pub const TIMEOUT_ENV: &str = "AGENT_TTY_REMOTE_TIMEOUT_MS";

/// How long each remote may take.
pub fn timeout() -> Duration {
    Duration::from_millis(
        std::env::var(TIMEOUT_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5000),
    )
}

/// Adds `--remotes` to `home list` (the registry plugin's command; the
/// fleet part is the host's).
pub fn with_remotes_flag(list: Command) -> Command {
    list.arg(
        Arg::new("remotes")
            .long("remotes")
            .action(ArgAction::SetTrue)
            .help("Also list every named remote's Homes (each row names its machine)"),
    )
}

/// `home list --remotes`: `local` (this machine's own `home list`) plus
/// every named remote's Homes, printed.
pub fn with_local(mode: OutputMode, command: &str, local: CommandOutput, all: bool) -> i32 {
    let remotes = match super::store::load() {
        Ok(r) => r,
        Err(e) => return output::failure(mode, command, &e),
    };
    let remotes: Vec<Remote> = remotes
        .remotes
        .iter()
        .map(|r| Remote {
            label: r.name.clone(),
            spec: r.clone(),
        })
        .collect();
    let mut out = list(Some(local.result), &remotes, all);
    let mut warnings = local.warnings;
    warnings.append(&mut out.warnings);
    out.warnings = warnings;
    output::success(mode, command, &out)
}

/// One remote's answer.
struct Answer {
    remote: Remote,
    outcome: Result<Vec<Value>, PluginError>,
}

/// The fleet listing: `local` (this machine's `home list` result, when it
/// is part of it) plus each remote's Homes.
pub fn list(local: Option<Value>, remotes: &[Remote], all: bool) -> CommandOutput {
    let fleet = gather(local, remotes, all);
    let human = render(&fleet.homes, &fleet.answers);
    let mut out = CommandOutput::new(
        json!({ "homes": fleet.homes, "remotes": fleet.status }),
        human,
    );
    out.warnings = fleet.warnings;
    out
}

/// [`list`]'s result alone, without the table for people: what the
/// dashboard's Home picker reads (a thousand Homes' table is milliseconds
/// of work nobody would see).
pub fn result(local: Option<Value>, remotes: &[Remote], all: bool) -> Value {
    let fleet = gather(local, remotes, all);
    json!({ "homes": fleet.homes, "remotes": fleet.status })
}

/// Every machine's rows, each remote's status, and the warnings.
struct Fleet {
    homes: Vec<Value>,
    status: Vec<Value>,
    warnings: Vec<String>,
    answers: Vec<Answer>,
}

fn gather(local: Option<Value>, remotes: &[Remote], all: bool) -> Fleet {
    let answers = ask_all(remotes, all);
    let mut homes: Vec<Value> = Vec::new();
    if let Some(Value::Object(mut local)) = local {
        if let Some(Value::Array(rows)) = local.remove("homes") {
            for mut row in rows {
                row["machine"] = json!(LOCAL_MACHINE);
                homes.push(row);
            }
        }
    }
    let mut status = Vec::new();
    let mut warnings = Vec::new();
    for a in &answers {
        let mut s = json!({ "name": a.remote.label, "target": a.remote.spec.target.to_string() });
        match &a.outcome {
            Ok(rows) => {
                s["ok"] = json!(true);
                s["homes"] = json!(rows.len());
                homes.extend(rows.iter().cloned());
            }
            Err(e) => {
                s["ok"] = json!(false);
                s["error"] = json!({ "code": e.code, "message": e.message, "details": e.details });
                warnings.push(format!("{}: {}", a.remote.label, escape(&e.message)));
            }
        }
        status.push(s);
    }
    Fleet {
        homes,
        status,
        warnings,
        answers,
    }
}

fn render(homes: &[Value], answers: &[Answer]) -> String {
    let mut table = Table::new([Align::Left, Align::Left, Align::Right, Align::Right]);
    table.row(["MACHINE", "HOME", "ACTIVE", "TOTAL"]);
    for h in homes {
        table.row([
            escape(h["machine"].as_str().unwrap_or("?")).into_owned(),
            escape(h["path"].as_str().unwrap_or("?")).into_owned(),
            h["activeSessions"].to_string(),
            h["totalSessions"].to_string(),
        ]);
    }
    let mut text = table.render();
    for a in answers {
        if let Err(e) = &a.outcome {
            text.push_str(&format!(
                "{} is not listed: {}: {}\n",
                escape(&a.remote.label),
                e.code,
                escape(&e.message)
            ));
        }
    }
    text
}

/// Asks every remote at once; each answers within [`timeout`] or is killed.
fn ask_all(remotes: &[Remote], all: bool) -> Vec<Answer> {
    let limit = timeout();
    std::thread::scope(|scope| {
        let handles: Vec<_> = remotes
            .iter()
            .map(|r| {
                scope.spawn(move || Answer {
                    remote: r.clone(),
                    outcome: ask(r, all, limit),
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    })
}

fn ask(remote: &Remote, all: bool, limit: Duration) -> Result<Vec<Value>, PluginError> {
    let secs = u32::try_from(limit.as_secs().max(1)).unwrap_or(u32::MAX);
    let ssh = Ssh::new(remote)?.with_connect_timeout(secs);
    let program = remote.spec.agent_tty.clone().unwrap_or_default();
    let mut args: Vec<&OsStr> = vec![
        OsStr::new(program.as_str()),
        OsStr::new("--json"),
        OsStr::new("home"),
        OsStr::new("list"),
    ];
    if all {
        args.push(OsStr::new("--all"));
    }
    let mut child = ssh.spawn(super::ssh::RUN_SCRIPT, args, Stdio::null())?;
    let (mut out, mut err) = (
        child.stdout.take().expect("piped"),
        child.stderr.take().expect("piped"),
    );
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        let _ = tx.send((0, b));
    });
    std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        let _ = tx2.send((1, b));
    });
    let deadline = Instant::now() + limit;
    let (mut stdout, mut stderr) = (None, None);
    while stdout.is_none() || stderr.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((0, b)) => stdout = Some(b),
            Ok((_, b)) => stderr = Some(b),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(PluginError::new(
                    ErrorCode::RemoteUnreachable,
                    format!(
                        "{} did not answer within {} ms",
                        remote.label,
                        limit.as_millis()
                    ),
                )
                .with_details(ssh.details("")));
            }
        }
    }
    let status = child.wait().map(|s| s.code().unwrap_or(-1)).unwrap_or(-1);
    let done = ssh.check(super::ssh::Finished {
        status,
        stdout: stdout.unwrap_or_default(),
        stderr: stderr.unwrap_or_default(),
    })?;
    let envelope: Value = serde_json::from_slice(&done.stdout).map_err(|e| {
        PluginError::new(
            ErrorCode::ProtocolError,
            format!(
                "{} answered `home list` without an envelope ({e})",
                remote.label
            ),
        )
        .with_details(ssh.details(&String::from_utf8_lossy(&done.stderr)))
    })?;
    if envelope["ok"] != true {
        let e: PluginError =
            serde_json::from_value(envelope["error"].clone()).unwrap_or_else(|_| {
                PluginError::new(ErrorCode::ProtocolError, "a malformed error envelope")
            });
        return Err(e);
    }
    Ok(envelope["result"]["homes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|row| checked_row(row, &remote.label))
        .collect())
}

/// A remote's row, rebuilt from the fields `home list` defines, each of its
/// type; a row without a string `path` is dropped.
fn checked_row(row: &Value, machine: &str) -> Option<Value> {
    let path = row.get("path")?.as_str()?;
    let mut out = Map::new();
    out.insert("path".into(), json!(path));
    for key in ["activeSessions", "totalSessions"] {
        out.insert(
            key.into(),
            json!(row.get(key).and_then(Value::as_u64).unwrap_or(0)),
        );
    }
    out.insert(
        "lastSeenAt".into(),
        row.get("lastSeenAt")
            .and_then(Value::as_str)
            .map_or(Value::Null, |s| json!(s)),
    );
    out.insert("machine".into(), json!(machine));
    Some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_row_keeps_only_typed_fields() {
        let row = json!({
            "path": "/h\u{1b}[31m", "activeSessions": "9", "totalSessions": 2,
            "lastSeenAt": 5, "evil": {"x": 1}
        });
        let got = checked_row(&row, "box").unwrap();
        assert_eq!(
            got,
            json!({"path": "/h\u{1b}[31m", "activeSessions": 0, "totalSessions": 2,
                   "lastSeenAt": null, "machine": "box"})
        );
        assert!(checked_row(&json!({"path": 1}), "box").is_none());
    }
}
