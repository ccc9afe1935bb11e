//! `run <id> <command> [--no-wait] [--timeout MS]`.
//!
//! The host types the command and logs `run_complete` when it has finished:
//! through the shell's integration marks when the Session's shell has them
//! (then the event also carries the exit status), else through the typed
//! marker `{command}; printf '\033]7770;%s\007' MARKER`. `run` follows the
//! Event Log from where it stood just before sending, so it reads only what
//! the request caused and never the whole log.
//!
//! Results are 0.5's (contract §3.7) plus `exitCode`: no-wait
//! `{accepted, seq}`; waited `{accepted, completed, timedOut, seq,
//! durationMs, marker, exitCode}`. A timeout leaves the command running and
//! is not an error (exit 0, `timedOut: true`); neither is a Session that
//! ended mid-run (`completed` and `timedOut` both false).

use super::target::Target;
use super::{PollPace, DEFAULT_TIMEOUT};
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
    let limit = run_timeout(inv.value("timeout"))?;
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
    let seq = response.seq;
    if no_wait {
        return Ok(CommandOutput::new(
            json!({ "accepted": true, "seq": seq }),
            format!("Command injected into session (seq={}).", show(seq)),
        ));
    }
    let result = |completed: bool, timed_out: bool, exit_code: Option<i32>| {
        json!({
            "accepted": true,
            "completed": completed,
            "timedOut": timed_out,
            "seq": seq,
            "durationMs": started.elapsed().as_millis() as u64,
            "marker": marker,
            "exitCode": exit_code,
        })
    };

    let mut follower = EventLogFollower::starting_at(&log, offset);
    let mut last_status_check = Instant::now();
    let mut pace = PollPace::new();
    loop {
        let mut outcome = None;
        let appended = follower.read_new(|event| match event.body {
            EventBody::RunComplete {
                marker: m,
                exit_code,
                ..
            } if m == marker => {
                outcome.get_or_insert(Completion::Completed(exit_code));
            }
            EventBody::Exit { .. } => {
                outcome.get_or_insert(Completion::SessionEnded);
            }
            _ => {}
        })?;
        match outcome {
            Some(Completion::Completed(exit_code)) => {
                let out = result(true, false, exit_code);
                let human = format!(
                    "Command completed (seq={}, {}ms).",
                    show(seq),
                    out["durationMs"]
                );
                return Ok(CommandOutput::new(out, human));
            }
            Some(Completion::SessionEnded) => {
                return Ok(CommandOutput::new(result(false, false, None), ""));
            }
            None => {}
        }
        if limit.is_some_and(|l| started.elapsed() >= l) {
            let out = result(false, true, None);
            let human = format!(
                "Command timed out after {}ms (seq={}).",
                out["durationMs"],
                show(seq)
            );
            return Ok(CommandOutput::new(out, human));
        }
        if last_status_check.elapsed() >= STATUS_CHECK_INTERVAL {
            last_status_check = Instant::now();
            if let Ok(m) = read_manifest(&target.dir) {
                if m.status.is_terminal() {
                    // The host died without logging `exit`: the run cannot
                    // complete any more, as when the Session ends mid-run.
                    return Ok(CommandOutput::new(result(false, false, None), ""));
                }
            }
        }
        if appended > 0 {
            pace.activity();
        }
        pace.sleep();
    }
}

fn show(seq: Option<u64>) -> String {
    seq.map_or_else(|| "?".to_owned(), |s| s.to_string())
}

/// `--timeout MS` as 0.5 reads it: a positive whole number of milliseconds
/// (default 30000), checked even with `--no-wait`.
fn run_timeout(given: Option<&str>) -> Result<Option<Duration>, PluginError> {
    let Some(given) = given else {
        return Ok(Some(DEFAULT_TIMEOUT));
    };
    match given.trim().parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Some(Duration::from_millis(ms))),
        _ => Err(PluginError::new(
            ErrorCode::InvalidInput,
            format!(
                "Timeout must be a positive integer in milliseconds (got {given:?}), e.g. \
                 --timeout 60000"
            ),
        )
        .with_details(json!({ "timeout": given }))),
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
    Completed(Option<i32>),
    SessionEnded,
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
    #[case(None, Some(30_000))]
    #[case(Some("250"), Some(250))]
    #[case(Some("0"), None)]
    #[case(Some("abc"), None)]
    #[case(Some("-5"), None)]
    fn timeouts_are_positive_milliseconds(#[case] given: Option<&str>, #[case] ms: Option<u64>) {
        match (run_timeout(given), ms) {
            (Ok(d), Some(ms)) => assert_eq!(d, Some(Duration::from_millis(ms))),
            (Err(e), None) => assert_eq!(e.code, ErrorCode::InvalidInput),
            (got, want) => panic!("{got:?} for {given:?}, wanted {want:?}"),
        }
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
