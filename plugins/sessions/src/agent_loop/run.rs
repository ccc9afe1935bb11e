//! `run <id> <command> [--no-wait] [--timeout MS]`.
//!
//! The host types `{command}; printf '\033]7770;%s\007' MARKER` and logs
//! `run_complete` when the shell prints the marker's OSC sequence, i.e. when
//! the command has finished. `run` follows the Event Log from where it stood
//! just before sending, so it reads only what the request caused and never
//! the whole log. A timeout leaves the command running: the envelope says
//! `timedOut: true` and the exit status is 11, like `wait`.

use super::target::{not_running, Target};
use super::{timeout, PollPace};
use agent_tty_core::control::ControlRequest;
use agent_tty_core::event_log::{EventBody, EventLogFollower};
use agent_tty_core::manifest::read_manifest;
use agent_tty_core::run_marker;
use agent_tty_plugin_api::{CommandOutput, ErrorCode, Invocation, PluginError};
use serde_json::json;
use std::time::{Duration, Instant};

/// How often the manifest is re-read while waiting, to notice a host that
/// died without logging an `exit`.
const STATUS_CHECK_INTERVAL: Duration = Duration::from_millis(250);

pub(super) fn run(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let command = shell_command(inv.value("command").unwrap_or_default())?;
    let no_wait = inv.flag("no-wait");
    let limit = timeout(inv)?;
    let target = Target::find(inv)?;
    target.require_running()?;
    let run = run_in_session(&target, command, no_wait, limit)?;
    let result = json!({
        "sessionId": target.id,
        "marker": run.marker,
        "seq": run.seq,
        "completed": run.end == RunEnd::Completed,
        "timedOut": run.end == RunEnd::TimedOut,
        "noWait": no_wait,
        "durationMs": run.duration.as_millis() as u64,
    });
    let ms = result["durationMs"].clone();
    match run.end {
        RunEnd::Started => Ok(CommandOutput::new(
            result,
            format!("typed the command into Session {}", target.id),
        )),
        RunEnd::Completed => Ok(CommandOutput::new(
            result,
            format!("command finished in {ms} ms"),
        )),
        RunEnd::SessionEnded => Err(session_ended(&target.id)),
        // Its output could not be logged: "storage full", not a timeout.
        RunEnd::TimedOut if agent_tty_core::event_log::storage_problem(&target.dir).is_some() => {
            Err(agent_tty_core::event_log::storage_problem(&target.dir)
                .expect("just checked")
                .into())
        }
        RunEnd::TimedOut => Ok(CommandOutput {
            human: Some(format!(
                "timed out after {ms} ms; the command is still running in Session {}",
                target.id
            )),
            result,
            exit_code: ErrorCode::WaitTimeout.exit_code(),
            ..Default::default()
        }),
    }
}

/// How a `run` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RunEnd {
    /// `--no-wait`: typed, not waited for.
    Started,
    /// The completion marker was seen.
    Completed,
    /// The time limit passed first; the command still runs.
    TimedOut,
    /// The Session's command ended first.
    SessionEnded,
}

/// What [`run_in_session`] did.
pub(super) struct RunOutcome {
    /// The `seq` of the `input_run` event.
    pub seq: Option<u64>,
    /// The completion marker.
    pub marker: String,
    /// How it ended.
    pub end: RunEnd,
    /// From sending the command to the end.
    pub duration: Duration,
}

/// Types `command` into the Session's shell with a fresh completion marker
/// and, unless `no_wait`, follows the Event Log until the host logs its
/// `run_complete`, the Session ends, or `limit` passes. The caller has
/// checked that the Session is commandable. Shared by `run` and `batch`.
pub(super) fn run_in_session(
    target: &Target,
    command: String,
    no_wait: bool,
    limit: Option<Duration>,
) -> Result<RunOutcome, PluginError> {
    if target.is_legacy() {
        return run_on_legacy_host(target, command, no_wait, limit);
    }
    let log = target.event_log();
    let offset = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let marker = run_marker::new_marker();
    let started = Instant::now();
    let response = target.send(&ControlRequest::Run {
        command,
        marker: marker.clone(),
        no_wait,
    })?;
    let outcome = |end: RunEnd| RunOutcome {
        seq: response.seq,
        marker: marker.clone(),
        end,
        duration: started.elapsed(),
    };
    if no_wait {
        return Ok(outcome(RunEnd::Started));
    }

    let mut follower = EventLogFollower::starting_at(&log, offset);
    let mut last_status_check = Instant::now();
    let mut pace = PollPace::new();
    loop {
        let mut end = None;
        let appended = follower.read_new(|event| match event.body {
            EventBody::RunComplete { marker: m, .. } if m == marker => {
                end.get_or_insert(RunEnd::Completed);
            }
            EventBody::Exit { .. } => {
                end.get_or_insert(RunEnd::SessionEnded);
            }
            _ => {}
        })?;
        if let Some(end) = end {
            return Ok(outcome(end));
        }
        if limit.is_some_and(|l| started.elapsed() >= l) {
            return Ok(outcome(RunEnd::TimedOut));
        }
        if last_status_check.elapsed() >= STATUS_CHECK_INTERVAL {
            last_status_check = Instant::now();
            if let Ok(m) = read_manifest(&target.dir) {
                if m.status.is_terminal() {
                    return Err(not_running(&target.id, m.status.as_str()));
                }
            }
        }
        if appended > 0 {
            pace.activity();
        }
        pace.sleep();
    }
}

/// `run` on an agent-tty 0.5 host: its own `run` request, which waits on
/// the host (contract §7.5) and answers `{accepted, completed, timedOut,
/// seq, durationMs, marker}`. No limit (`--timeout 0`) is sent as a day.
fn run_on_legacy_host(
    target: &Target,
    command: String,
    no_wait: bool,
    limit: Option<Duration>,
) -> Result<RunOutcome, PluginError> {
    let started = Instant::now();
    let limit = limit.unwrap_or(Duration::from_secs(86_400));
    let mut params = json!({ "command": command, "noWait": no_wait });
    if !no_wait {
        params["timeoutMs"] = json!(limit.as_millis() as u64);
    }
    let patience = if no_wait {
        Duration::from_secs(10)
    } else {
        limit + Duration::from_secs(10)
    };
    let result = target.call_legacy("run", params, patience)?;
    let end = if no_wait {
        RunEnd::Started
    } else if result["completed"] == true {
        RunEnd::Completed
    } else if result["timedOut"] == true {
        RunEnd::TimedOut
    } else {
        RunEnd::SessionEnded
    };
    Ok(RunOutcome {
        seq: result["seq"].as_u64(),
        marker: result["marker"].as_str().unwrap_or_default().to_owned(),
        end,
        duration: started.elapsed(),
    })
}

/// The command as it will be typed before the marker suffix (`; printf …`).
/// A trailing `;` is dropped because `;;` would be a syntax error (and `ls;`
/// means `ls`); an empty command has nothing to wait for.
pub(super) fn shell_command(given: &str) -> Result<String, PluginError> {
    let command = given.trim_end().trim_end_matches(';').trim_end();
    if command.trim().is_empty() {
        return Err(PluginError::new(
            ErrorCode::InvalidInput,
            "run needs a command, e.g. agent-tty run <id> 'ls -l'; to press Enter alone use \
             agent-tty send-keys <id> Enter",
        ));
    }
    Ok(command.to_owned())
}

fn session_ended(id: &str) -> PluginError {
    PluginError::new(
        ErrorCode::SessionNotRunning,
        format!(
            "Session {id} ended before the command finished; `agent-tty snapshot {id}` shows \
             its last screen"
        ),
    )
    .with_details(json!({ "sessionId": id }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("ls", "ls")]
    #[case("ls -l ;  ", "ls -l")]
    #[case("echo a; echo b;", "echo a; echo b")]
    #[case(
        "for i in 1 2; do\n  echo $i\ndone",
        "for i in 1 2; do\n  echo $i\ndone"
    )]
    fn commands_are_typed_without_a_trailing_separator(#[case] given: &str, #[case] typed: &str) {
        assert_eq!(shell_command(given).unwrap(), typed);
    }

    #[rstest]
    #[case("")]
    #[case("   ")]
    #[case(" ; ")]
    fn an_empty_command_is_invalid_input(#[case] given: &str) {
        assert_eq!(
            shell_command(given).unwrap_err().code,
            ErrorCode::InvalidInput
        );
    }
}
