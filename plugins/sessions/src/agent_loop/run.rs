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

    let log = target.event_log();
    let offset = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let marker = run_marker::new_marker();
    let started = Instant::now();
    let response = target.send(&ControlRequest::Run {
        command,
        marker: marker.clone(),
        no_wait,
    })?;
    let result = |completed: bool, timed_out: bool| {
        json!({
            "sessionId": target.id,
            "marker": marker,
            "seq": response.seq,
            "completed": completed,
            "timedOut": timed_out,
            "noWait": no_wait,
            "durationMs": started.elapsed().as_millis() as u64,
        })
    };
    if no_wait {
        return Ok(CommandOutput::new(
            result(false, false),
            format!("typed the command into Session {}", target.id),
        ));
    }

    let mut follower = EventLogFollower::starting_at(&log, offset);
    let mut last_status_check = Instant::now();
    let mut pace = PollPace::new();
    loop {
        let mut outcome = None;
        let appended = follower.read_new(|event| match event.body {
            EventBody::RunComplete { marker: m, .. } if m == marker => {
                outcome.get_or_insert(Completion::Completed);
            }
            EventBody::Exit { .. } => {
                outcome.get_or_insert(Completion::SessionEnded);
            }
            _ => {}
        })?;
        match outcome {
            Some(Completion::Completed) => {
                let out = result(true, false);
                let ms = out["durationMs"].clone();
                return Ok(CommandOutput::new(
                    out,
                    format!("command finished in {ms} ms"),
                ));
            }
            Some(Completion::SessionEnded) => {
                return Err(session_ended(&target.id));
            }
            None => {}
        }
        if limit.is_some_and(|l| started.elapsed() >= l) {
            let out = result(false, true);
            return Ok(CommandOutput {
                human: Some(format!(
                    "timed out after {} ms; the command is still running in Session {}",
                    out["durationMs"], target.id
                )),
                result: out,
                exit_code: ErrorCode::WaitTimeout.exit_code(),
                ..Default::default()
            });
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

/// The command as it will be typed before the marker suffix (`; printf …`).
/// A trailing `;` is dropped because `;;` would be a syntax error (and `ls;`
/// means `ls`); an empty command has nothing to wait for.
fn shell_command(given: &str) -> Result<String, PluginError> {
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

enum Completion {
    Completed,
    SessionEnded,
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
