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

use super::source::{text_or_file, TEXT};
use super::target::Target;
use super::{PollPace, DEFAULT_TIMEOUT};
use agent_tty_core::control::ControlRequest;
use agent_tty_core::event_log::{EventBody, EventLogFollower};
use agent_tty_core::manifest::read_manifest;
use agent_tty_core::run_marker;
use agent_tty_plugin_api::{ArgSpec, Command, CommandSpec};
use agent_tty_plugin_api::{CommandOutput, ErrorCode, Invocation, PluginError};
use serde_json::json;
use std::time::{Duration, Instant};

/// How often the manifest is re-read while waiting, to notice a host that
/// died without logging an `exit`.
const STATUS_CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// `run`: its spec beside its handler ([`run`]).
pub(super) fn command() -> Command {
    let spec = CommandSpec::new(
        &["run"],
        "Type a command into a Session's shell and wait until it finishes",
    )
    .arg(super::session_id_arg())
    .arg(ArgSpec::positional("command", "The command line"))
    .arg(super::file_arg())
    .arg(ArgSpec::flag("no-wait", "Return once the command is typed"))
    .arg(ArgSpec::option(
        "timeout",
        "MS",
        "Stop waiting after MS milliseconds, a positive number (default 30000); the command keeps running",
    ));
    Command::new(spec, |_, inv| run(inv))
}

pub(super) fn run(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let given = text_or_file(
        inv,
        "command",
        "agent-tty run <session-id> [command] [--file <path>] [--timeout <ms>] [--no-wait]",
        TEXT,
    )?;
    let command = shell_command(&given)?;
    let no_wait = inv.flag("no-wait");
    let limit = run_timeout(inv.value("timeout"))?;
    let target = Target::find(inv)?;
    target.require_running()?;
    let run = run_in_session(&target, command, no_wait, limit)?;
    let seq = run.seq.map_or_else(|| "?".to_owned(), |s| s.to_string());
    let ms = run.duration.as_millis() as u64;
    if run.end == RunEnd::Started {
        return Ok(CommandOutput::new(
            json!({ "accepted": true, "seq": run.seq }),
            format!("Command injected into session (seq={seq})."),
        ));
    }
    let result = json!({
        "accepted": true,
        "completed": run.end == RunEnd::Completed,
        "timedOut": run.end == RunEnd::TimedOut,
        "seq": run.seq,
        "durationMs": ms,
        "marker": run.marker,
        "exitCode": run.exit_code,
    });
    // Its output could not be logged: "storage full", not a timeout.
    if run.end == RunEnd::TimedOut {
        if let Some(problem) = agent_tty_core::event_log::storage_problem(&target.dir) {
            return Err(problem.into());
        }
    }
    let human = match run.end {
        RunEnd::Completed => format!("Command completed (seq={seq}, {ms}ms)."),
        RunEnd::TimedOut => format!("Command timed out after {ms}ms (seq={seq})."),
        _ => String::new(),
    };
    Ok(CommandOutput::new(result, human))
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
    /// The command's exit status, when the shell reported it.
    pub exit_code: Option<i32>,
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
    let outcome = |end: RunEnd, exit_code: Option<i32>| RunOutcome {
        seq: response.seq,
        marker: marker.clone(),
        end,
        duration: started.elapsed(),
        exit_code,
    };
    if no_wait {
        return Ok(outcome(RunEnd::Started, None));
    }

    let mut follower = EventLogFollower::starting_at(&log, offset);
    let mut last_status_check = Instant::now();
    let mut pace = PollPace::new();
    loop {
        let mut end = None;
        let appended = follower.read_new(|event| match event.body {
            EventBody::RunComplete {
                marker: m,
                exit_code,
                ..
            } if m == marker => {
                end.get_or_insert((RunEnd::Completed, exit_code));
            }
            EventBody::Exit { .. } => {
                end.get_or_insert((RunEnd::SessionEnded, None));
            }
            _ => {}
        })?;
        if let Some((end, exit_code)) = end {
            return Ok(outcome(end, exit_code));
        }
        if limit.is_some_and(|l| started.elapsed() >= l) {
            return Ok(outcome(RunEnd::TimedOut, None));
        }
        if last_status_check.elapsed() >= STATUS_CHECK_INTERVAL {
            last_status_check = Instant::now();
            if let Ok(m) = read_manifest(&target.dir) {
                if m.status.is_terminal() {
                    // The host died without logging `exit`: the run can no
                    // longer complete, as when the Session ends mid-run.
                    return Ok(outcome(RunEnd::SessionEnded, None));
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
        exit_code: None,
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
