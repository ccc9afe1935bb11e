//! `inspect <id>`: 0.5's result (contract §3.3) — the manifest as `session`,
//! the Event Log's size, uptime, how the Session ended, its artifacts, and
//! whether its host answered — plus ours (`derived`) as a strict superset.
//!
//! A Session whose status is `running`/`exiting` is asked over its control
//! socket (a `hello`, which also gives the host's own agent-tty version); when the host cannot be reached it is reconciled and
//! re-read, and the result says `usedOfflineReplay: true`, as 0.5's does.
//! A host of ours that does not answer within [`HOST_ANSWER_TIMEOUT`] (it is
//! stopped, or stuck) is not waited for either: the answer comes from the
//! Session's files, with a warning (ADR 0015).

use crate::lookup::find_session;
use agent_tty_core::layout::SessionDir;
use agent_tty_core::manifest::{read_manifest, FailureOrigin, Manifest, Status};
use agent_tty_core::screen::{tally_events, PendingRuns, Tally};
use agent_tty_core::text::escape;
use agent_tty_core::time::{parse_iso, short_duration};
use agent_tty_plugin_api::{ArgSpec, Command, CommandSpec, ValueHint};
use agent_tty_plugin_api::{CommandOutput, ErrorCode, Invocation, PluginError};
use agent_tty_runtime::control;
use agent_tty_runtime::legacy_rpc;
use agent_tty_runtime::liveness;
use agent_tty_runtime::reconcile::{reconcile_session, ReconcileMode};
use serde_json::{json, Map, Value};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How long a 0.5 host gets to answer `inspect` (0.5: 5 s).
const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// How long our host gets to answer `inspect`'s ping before the files
/// answer instead: a live host answers a ping in milliseconds.
const HOST_ANSWER_TIMEOUT: Duration = Duration::from_secs(1);

/// The terminal engine our readers replay screens with, reported as
/// `rendererRuntime.backend`.
const ENGINE: &str = agent_tty_core::screen::ENGINE_NAME;

/// The host's version: host and CLI are one binary in ours.
const CLI_VERSION: &str = env!("CARGO_PKG_VERSION");

/// 0.5's `inspect` request to a Session's 0.5 host, after checking its
/// socket directory is safe (an unsafe one reads as unreachable: `inspect`
/// then answers from the manifest, as for any unreachable host).
fn inspect_legacy_host(
    home: &std::path::Path,
    id: &str,
) -> (std::path::PathBuf, agent_tty_core::Result<Option<Value>>) {
    let socket = legacy_rpc::socket_path(home, id);
    let answer = legacy_rpc::check_socket_dirs(home)
        .map_err(|why| agent_tty_core::Error::invalid(ErrorCode::HostUnreachable, why))
        .and_then(|()| legacy_rpc::call(&socket, "inspect", json!({}), PING_TIMEOUT))
        .map(Some);
    (socket, answer)
}

/// `inspect`: its spec beside its handler ([`run`]).
pub(super) fn command() -> Command {
    let spec = CommandSpec::new(&["inspect"], "Show a Session's manifest and derived facts")
        .arg(ArgSpec::positional("id", "The Session id").hint(ValueHint::SessionId));
    Command::new(spec, |_, invocation| run(invocation))
}

pub(super) fn run(invocation: &Invocation) -> Result<CommandOutput, PluginError> {
    let found = find_session(invocation)?;
    let dir = found.dir;
    let mut m = read_manifest(&dir)?;
    let mut host = None;
    let mut offline_reason = None;
    let mut warnings = Vec::new();
    if matches!(m.status, Status::Running | Status::Exiting) {
        let sidecar = liveness::read_sidecar(&dir);
        let answered = if sidecar.is_none() {
            // No sidecar: an agent-tty 0.5 host, asked with its own protocol
            // (its answer carries its live manifest and version).
            Some(inspect_legacy_host(&found.home, &found.id))
        } else {
            let socket = control::session_socket(&found.home, &found.id, sidecar.as_ref());
            // The hello: a host that states its agent-tty version is
            // shown with it; one that predates the hello answers it too
            // (protocol 1), and is shown with ours as before.
            socket.as_ref().ok().map(|s| {
                let client = control::HostClient::new(&found.id, s, HOST_ANSWER_TIMEOUT);
                let answer = client.hello().map(|hello| {
                    hello
                        .agent_tty
                        .as_ref()
                        .map(|version| json!({ "cliVersion": version }))
                });
                (s.clone(), answer)
            })
        };
        match answered {
            Some((socket, Ok(live))) => {
                let version = live
                    .as_ref()
                    .and_then(|v| v["cliVersion"].as_str())
                    .unwrap_or(CLI_VERSION)
                    .to_owned();
                if let Some(session) = live
                    .as_ref()
                    .and_then(|v| serde_json::from_value(v["session"].clone()).ok())
                {
                    m = session;
                }
                host = Some(json!({ "cliVersion": version, "rpcSocketPath": socket }))
            }
            Some((_, Err(e))) if e.code() == ErrorCode::HostTimeout => {
                // Alive but not answering (stopped?): nothing to reconcile,
                // the files say what is known.
                warnings.push(format!(
                    "the Session's host did not answer within {} ms (stopped or stuck?); \
                     this is what its files say",
                    HOST_ANSWER_TIMEOUT.as_millis()
                ));
                offline_reason = Some("host-not-answering");
            }
            Some((_, Err(e))) if e.code() != ErrorCode::HostUnreachable => return Err(e.into()),
            _ => {
                // Like 0.5: an unreachable host means reconcile, then the
                // manifest as it now stands.
                m = reconcile_session(&dir, ReconcileMode::Apply)?.manifest;
                offline_reason = Some("host-unreachable");
            }
        }
    } else {
        offline_reason = Some("session-not-running");
    }
    let log = SessionDir::new(&dir).event_log();
    let log_bytes = std::fs::metadata(&log).ok().map(|md| md.len());
    // The events a reader would use: a damaged log's garbage lines and
    // missing seqs are not events (and are reported).
    let Tally {
        events: event_count,
        last_seq,
        skipped,
        pending_runs,
    } = tally_events(&log)?;
    let skipped = skipped.warning(&log);
    let uptime = uptime_ms(&m, SystemTime::now());
    let category = termination_category(&m);
    let artifacts = artifacts_summary(&dir);
    let renderer = match offline_reason {
        None => json!({
            "backend": ENGINE,
            "mode": "live-host",
            "status": "healthy",
            "booted": true,
            "bootInFlight": false,
        }),
        Some(reason) => json!({
            "backend": ENGINE,
            "mode": "offline-replay",
            "status": "fallback",
            "reason": reason,
        }),
    };
    let mut result = Map::new();
    result.insert("session".into(), json!(m));
    result.insert("eventCount".into(), json!(event_count));
    result.insert("uptime".into(), json!(uptime));
    if let Some(seq) = last_seq {
        result.insert("lastEventSeq".into(), json!(seq));
    }
    result.insert("terminationCategory".into(), json!(category));
    result.insert("artifacts".into(), artifacts.clone());
    result.insert(
        "usedOfflineReplay".into(),
        json!(matches!(
            offline_reason,
            Some("host-unreachable" | "host-not-answering")
        )),
    );
    result.insert("rendererRuntime".into(), renderer.clone());
    if let Some(host) = &host {
        result.insert("host".into(), host.clone());
    }
    if let Some(bytes) = log_bytes {
        result.insert("eventLogBytes".into(), json!(bytes));
    }
    // Ours, beyond 0.5 (a strict superset): the status policy and liveness.
    let sidecar = liveness::read_sidecar(&dir);
    let verdict = liveness::judge(&dir, &m, sidecar.as_ref());
    let host_alive = if m.status.is_terminal() {
        Some(false)
    } else {
        verdict.host_alive()
    };
    result.insert(
        "derived".into(),
        json!({
            "active": m.status.is_active(),
            "terminal": m.status.is_terminal(),
            "commandable": m.status.is_commandable(),
            "collectable": m.status.is_collectable(),
            "hostAlive": host_alive,
            "foreign": verdict.is_foreign(),
            "pendingRuns": if m.status.is_active() { pending_runs_json(&pending_runs) } else { Vec::new() },
        }),
    );
    // Ours: who has taken the Session over (`attach`), or null.
    result.insert(
        "control".into(),
        agent_tty_runtime::takeover::controller(&dir)
            .filter(|_| m.status.is_active())
            .map_or(Value::Null, |c| c.to_json()),
    );
    let result = Value::Object(result);
    let human = human(&result, &m);
    let mut output = CommandOutput::new(result, human);
    output.warnings = warnings;
    output.warnings.extend(skipped);
    Ok(output.with_warnings_in_result())
}

/// The waited `run`s the Event Log shows typed and not completed, oldest
/// first: `{marker, seq, command}`.
fn pending_runs_json(pending: &PendingRuns) -> Vec<Value> {
    pending
        .runs()
        .iter()
        .map(|r| json!({ "marker": r.marker, "seq": r.seq, "command": r.command }))
        .collect()
}

/// Running: now − createdAt; otherwise updatedAt − createdAt; never < 0.
fn uptime_ms(m: &Manifest, now: SystemTime) -> u64 {
    let Some(created) = parse_iso(&m.created_at) else {
        return 0;
    };
    let end = if m.status == Status::Running {
        Some(now)
    } else {
        parse_iso(&m.updated_at)
    };
    end.and_then(|e| e.duration_since(created).ok())
        .map_or(0, |d| d.as_millis() as u64)
}

/// 0.5's `terminationCategory`.
fn termination_category(m: &Manifest) -> &'static str {
    match m.status {
        Status::Running | Status::Exiting => "running",
        Status::Destroying | Status::Destroyed => "destroyed",
        Status::Failed => match m.failure_origin {
            Some(FailureOrigin::HostDeath) => "host-death",
            Some(FailureOrigin::RendererFailure) => "renderer-failure",
            Some(FailureOrigin::StorageCorruption) => "storage-corruption",
            Some(FailureOrigin::Unknown) | None => "unknown",
        },
        Status::Exited => match (&m.exit_signal, m.exit_code) {
            (Some(_), _) => "signal-exit",
            (None, None | Some(0)) => "clean-exit",
            (None, Some(_)) => "nonzero-exit",
        },
    }
}

/// `artifacts/manifest.json` summarised: `{total, byKind, missingCount,
/// health, missing?}`. Read only; a file that is not a valid artifact
/// manifest is `manifest-invalid`.
fn artifacts_summary(dir: &Path) -> Value {
    let artifacts_dir = SessionDir::new(dir).artifacts();
    let empty =
        |health: &str| json!({ "total": 0, "byKind": {}, "missingCount": 0, "health": health });
    // Read as every Home file is: a FIFO or symlink there is refused at once.
    let text = match agent_tty_core::safe_fs::read_home_file(
        &SessionDir::new(dir).artifacts_manifest(),
        agent_tty_core::artifacts::ARTIFACT_MANIFEST_READ_LIMIT,
    ) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return empty("no-artifacts"),
        Err(_) => return empty("manifest-invalid"),
    };
    let entries = serde_json::from_slice::<Value>(&text)
        .ok()
        .and_then(|v| v.get("artifacts").and_then(Value::as_array).cloned());
    let Some(entries) = entries else {
        return empty("manifest-invalid");
    };
    let mut by_kind = Map::new();
    let mut missing = Vec::new();
    for entry in &entries {
        let (Some(kind), Some(filename)) = (
            entry.get("kind").and_then(Value::as_str),
            entry.get("filename").and_then(Value::as_str),
        ) else {
            return empty("manifest-invalid");
        };
        let n = by_kind.get(kind).and_then(Value::as_u64).unwrap_or(0);
        by_kind.insert(kind.to_owned(), json!(n + 1));
        let safe = !filename.is_empty() && !filename.contains('/') && filename != "..";
        if !safe || !artifacts_dir.join(filename).is_file() {
            missing.push(json!({ "id": entry.get("id"), "kind": kind, "filename": filename }));
        }
    }
    let health = if entries.is_empty() {
        "no-artifacts"
    } else if missing.is_empty() {
        "healthy"
    } else {
        "missing-artifacts"
    };
    let mut summary = json!({
        "total": entries.len(),
        "byKind": by_kind,
        "missingCount": missing.len(),
        "health": health,
    });
    if !missing.is_empty() {
        summary["missing"] = json!(missing);
    }
    summary
}

/// 0.5's `Key: value` lines.
fn human(r: &Value, m: &Manifest) -> String {
    let dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
    let mut lines = vec![
        format!("Session ID: {}", escape(&m.session_id)),
        format!("Status: {}", m.status.as_str()),
        format!("Command: {}", escape(&m.command.join(" "))),
        format!("Working Directory: {}", escape(&m.cwd)),
        format!("Size: {}x{}", m.cols, m.rows),
        format!("Created At: {}", escape(&m.created_at)),
        format!("Updated At: {}", escape(&m.updated_at)),
        format!("Event Count: {}", r["eventCount"]),
    ];
    if let Some(name) = &m.name {
        lines.insert(1, format!("Name: {}", escape(name)));
    }
    if let Some(holder) = r["control"]["holder"].as_str() {
        lines.push(format!(
            "Controlled By: {} since {} (attach; agent input is refused until they detach)",
            escape(holder),
            escape(r["control"]["since"].as_str().unwrap_or("?"))
        ));
    }
    let rt = &r["rendererRuntime"];
    let reason = rt["reason"]
        .as_str()
        .map(|s| format!(" — {s}"))
        .unwrap_or_default();
    lines.push(format!(
        "Renderer: {} ({}, {}{reason})",
        rt["backend"].as_str().unwrap_or_default(),
        rt["mode"].as_str().unwrap_or_default(),
        rt["status"].as_str().unwrap_or_default(),
    ));
    if let Some(seq) = r.get("lastEventSeq") {
        lines.push(format!("Last Event Seq: {seq}"));
    }
    if let Some(bytes) = r.get("eventLogBytes") {
        lines.push(format!("Event Log Bytes: {bytes}"));
    }
    lines.push(format!(
        "Uptime: {}",
        short_duration(Duration::from_millis(r["uptime"].as_u64().unwrap_or(0)))
    ));
    if let Some(host) = r.get("host") {
        lines.push(format!(
            "Host CLI Version: {}",
            escape(host["cliVersion"].as_str().unwrap_or_default())
        ));
        lines.push(format!(
            "RPC Socket: {}",
            escape(host["rpcSocketPath"].as_str().unwrap_or_default())
        ));
    }
    let a = &r["artifacts"];
    let kinds = a["byKind"]
        .as_object()
        .filter(|k| !k.is_empty())
        .map(|k| {
            k.iter()
                .map(|(kind, n)| format!("{}: {n}", escape(kind)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|| "none".to_owned());
    lines.push(format!(
        "Artifacts: {} total ({kinds}), health: {}",
        a["total"],
        escape(a["health"].as_str().unwrap_or_default())
    ));
    if r["usedOfflineReplay"] == true {
        lines.push("Offline Replay: yes".to_owned());
    }
    lines.push(format!(
        "Host PID: {}",
        dash(m.host_pid.map(|p| p.to_string()))
    ));
    lines.push(format!(
        "Child PID: {}",
        dash(m.child_pid.map(|p| p.to_string()))
    ));
    lines.push(format!(
        "Exit Code: {}",
        dash(m.exit_code.map(|c| c.to_string()))
    ));
    lines.push(format!(
        "Exit Signal: {}",
        dash(m.exit_signal.as_deref().map(|s| escape(s).into_owned()))
    ));
    if let Some(runs) = r["derived"]["pendingRuns"]
        .as_array()
        .filter(|r| !r.is_empty())
    {
        lines.push(format!("Pending Runs: {}", runs.len()));
        for run in runs {
            lines.push(format!(
                "  seq {}: {}",
                run["seq"],
                escape(run["command"].as_str().unwrap_or_default())
            ));
        }
    }
    if !matches!(m.status, Status::Running | Status::Exiting) {
        lines.push(format!(
            "Termination: {}",
            r["terminationCategory"].as_str().unwrap_or_default()
        ));
    }
    if let Some(reason) = &m.failure_reason {
        lines.push(format!("Failure Reason: {}", escape(reason)));
    }
    if let Some(origin) = m.failure_origin {
        lines.push(format!(
            "Failure Origin: {}",
            json!(origin).as_str().unwrap_or_default()
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn manifest(status: Status, code: Option<i32>, signal: Option<&str>) -> Manifest {
        let mut m: Manifest = serde_json::from_value(json!({
            "version": 1, "sessionId": "01JD3Z6X8K4M2N5P7Q9R1S3T5V",
            "createdAt": "2026-11-24T03:50:02.000Z", "updatedAt": "2026-11-24T03:50:03.500Z",
            "status": "running", "command": ["sh"], "cwd": "/", "cols": 80, "rows": 24,
            "hostPid": null, "childPid": null, "exitCode": null, "exitSignal": null
        }))
        .unwrap();
        m.status = status;
        m.exit_code = code;
        m.exit_signal = signal.map(str::to_owned);
        m
    }

    #[rstest]
    #[case(Status::Running, None, None, "running")]
    #[case(Status::Exiting, None, None, "running")]
    #[case(Status::Destroying, None, None, "destroyed")]
    #[case(Status::Destroyed, Some(0), Some("1"), "destroyed")]
    #[case(Status::Exited, Some(0), None, "clean-exit")]
    #[case(Status::Exited, None, None, "clean-exit")]
    #[case(Status::Exited, Some(3), None, "nonzero-exit")]
    #[case(Status::Exited, Some(0), Some("15"), "signal-exit")]
    #[case(Status::Failed, None, None, "unknown")]
    fn termination_category_as_0_5(
        #[case] status: Status,
        #[case] code: Option<i32>,
        #[case] signal: Option<&str>,
        #[case] expected: &str,
    ) {
        assert_eq!(
            termination_category(&manifest(status, code, signal)),
            expected
        );
    }

    #[test]
    fn uptime_of_an_ended_session_is_updated_minus_created() {
        let m = manifest(Status::Exited, Some(0), None);
        assert_eq!(uptime_ms(&m, SystemTime::now()), 1500);
    }
}
