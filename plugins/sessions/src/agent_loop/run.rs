//! `run <id> <command> [--no-wait] [--timeout MS]`.
//!
//! The host types exactly the command and a newline, and logs `run_complete`
//! when it has finished (how it knows depends on what reads the line: the
//! integrated shell's marks, a completion line typed after the command for
//! another shell, or the program waiting for input again; see the host's
//! `runs` module and docs/adr/0012-run-completion.md). The exit status, when
//! the shell reported one, is kept beside the Event Log
//! ([`run_exits`](agent_tty_core::run_exits)). `run` follows the Event Log
//! from where it stood just before sending, so it reads only what the
//! request caused and never the whole log.
//!
//! Results are 0.5's (contract §3.7) plus `exitCode` and `exitSignal`:
//! no-wait `{accepted, seq}`; waited `{accepted, completed, timedOut, seq,
//! durationMs, marker, exitCode, exitSignal}`. A shell reports a command a
//! signal ended as 128 + the signal's number; `exitSignal` is then that
//! number as a decimal string, as the manifest records a Session's signal
//! (`"9"`), else null. A timeout leaves the command running and
//! is not an error (exit 0, `timedOut: true`); neither is a Session that
//! ended mid-run (`completed` and `timedOut` both false). A host that
//! records it cannot write its Event Log is `STORAGE_WRITE_ERROR` as soon as
//! the follow loop notices (the completion could never be logged).

use super::follow::{self, Followed, Step};
use super::source::{text_or_file, TEXT};
use super::target::Target;
use agent_tty_core::event_log::{EventBody, EventLogFollower};
use agent_tty_core::run_exits;
use agent_tty_plugin_api::{ArgSpec, Command, CommandSpec};
use agent_tty_plugin_api::{CommandOutput, ErrorCode, Invocation, PluginError};
use agent_tty_runtime::control::ControlRequest;
use agent_tty_runtime::control::DEFAULT_RUN_TIMEOUT;
use agent_tty_term::run_marker;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// `run`: its spec beside its handler ([`run`]).
pub(super) fn command() -> Command {
    let spec = CommandSpec::new(
        &["run"],
        "Type a command into a Session's shell and wait until it finishes",
    )
    .arg(super::session_id_arg())
    .arg(ArgSpec::positional("command", "The command line (or --file)").required(false))
    .arg(super::file_arg())
    .arg(ArgSpec::flag("no-wait", "Return once the command is typed"))
    .arg(ArgSpec::option(
        "timeout",
        "MS",
        "Stop waiting after MS milliseconds, a positive number (default 30000); the command keeps running",
    ))
    .arg(super::run_output::output_arg())
    .arg(super::run_output::max_output_bytes_arg())
    .arg(super::force_arg());
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
    let output = super::run_output::requested(inv)?;
    let target = Target::find(inv)?;
    target.require_running()?;
    super::require_uncontrolled(&target, inv)?;
    let run = run_in_session(&target, command, no_wait, limit)?;
    let seq = run.seq.map_or_else(|| "?".to_owned(), |s| s.to_string());
    let ms = run.duration.as_millis() as u64;
    if run.end == RunEnd::Started {
        return Ok(CommandOutput::new(
            json!({ "accepted": true, "seq": run.seq }),
            format!("Command injected into session (seq={seq})."),
        ));
    }
    let mut result = json!({
        "accepted": true,
        "completed": run.end == RunEnd::Completed,
        "timedOut": run.end == RunEnd::TimedOut,
        "seq": run.seq,
        "durationMs": ms,
        "marker": run.marker,
        "exitCode": run.exit_code,
        "exitSignal": signal_of(run.exit_code),
    });
    let mut human = match run.end {
        RunEnd::Completed => format!("Command completed (seq={seq}, {ms}ms)."),
        RunEnd::TimedOut => format!("Command timed out after {ms}ms (seq={seq})."),
        _ => String::new(),
    };
    if let (Some(max), Some(from), Value::Object(fields)) = (output, run.seq, &mut result) {
        let printed = super::run_output::read(&target, from, &run, max)?;
        printed.add_to(fields);
        human = printed.human(&human);
    }
    Ok(CommandOutput::new(result, human))
}

/// The signal a shell's exit status says ended the command (128 + N, for
/// the signals a shell reports so), as the manifest spells a signal: its
/// number in decimal.
pub(super) fn signal_of(exit_code: Option<i32>) -> Option<String> {
    exit_code
        .filter(|c| (129..=128 + 64).contains(c))
        .map(|c| (c - 128).to_string())
}

/// `--timeout MS` as 0.5 reads it (`parseInt`: leading blanks, then the
/// leading digits, so `1.5` is 1 and `10s` is 10; default 30000), which
/// must be positive; checked even with `--no-wait`, in 0.5's words.
fn run_timeout(given: Option<&str>) -> Result<Option<Duration>, PluginError> {
    let Some(given) = given else {
        return Ok(Some(DEFAULT_RUN_TIMEOUT));
    };
    let text = given.trim_start();
    let text = text.strip_prefix('+').unwrap_or(text);
    let digits = &text[..text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len()];
    match digits.parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Some(Duration::from_millis(ms))),
        _ => Err(PluginError::new(
            ErrorCode::InvalidInput,
            "Timeout must be a positive integer in milliseconds",
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
    /// What the host kept beside the log for it (`run-exits.jsonl`).
    pub recorded: run_exits::Recorded,
    /// Where the Event Log stood just before the command was sent.
    pub log_offset: u64,
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
    let outcome = |end: RunEnd, exit_code: Option<i32>, recorded| RunOutcome {
        seq: response.seq,
        marker: marker.clone(),
        end,
        duration: started.elapsed(),
        exit_code,
        recorded,
        log_offset: offset,
    };
    if no_wait {
        return Ok(outcome(RunEnd::Started, None, Default::default()));
    }

    let follower = EventLogFollower::starting_at(&log, offset);
    let (end, logged) = follow_run(target, follower, &marker, limit, started)?;
    // Read once: the status, and where the output is for `--output`.
    let recorded = match end {
        RunEnd::Completed => run_exits::recorded(&target.dir, &marker).unwrap_or_default(),
        _ => Default::default(),
    };
    // Event Logs of earlier versions carried the status in `run_complete`.
    let exit_code = logged.or(recorded.exit_code);
    Ok(outcome(end, exit_code, recorded))
}

/// Follows the Event Log from just before the command was sent (through
/// [`follow::until`], the loop `wait` shares) until the host logs the
/// `run_complete` for `marker`, the Session ends, or `limit` passes. A host
/// that cannot write its log is the storage error at once: the completion
/// could never be logged, so waiting out the limit would only hide why.
fn follow_run(
    target: &Target,
    mut follower: EventLogFollower,
    marker: &str,
    limit: Option<Duration>,
    started: Instant,
) -> Result<(RunEnd, Option<i32>), PluginError> {
    let followed = follow::until(target, limit, started, |look| {
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
        if look.ended_elsewhere {
            // The host died without logging `exit`: the run can no longer
            // complete, as when the Session ends mid-run.
            end.get_or_insert((RunEnd::SessionEnded, None));
        }
        Ok(match end {
            Some(end) => Step::Done(end),
            None => Step::Pending {
                active: appended > 0,
            },
        })
    })?;
    Ok(match followed {
        Followed::Done(end) => end,
        Followed::TimedOut => (RunEnd::TimedOut, None),
    })
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
        recorded: Default::default(),
        log_offset: 0,
    })
}

/// The command as it will be typed: exactly as given (the host adds the
/// newline). Only a command with nothing to run is refused.
pub(super) fn shell_command(given: &str) -> Result<String, PluginError> {
    if given.trim().is_empty() {
        return Err(PluginError::new(
            ErrorCode::InvalidInput,
            "run needs a command, e.g. agent-tty run <id> 'ls -l'; to press Enter alone use \
             agent-tty send-keys <id> Enter",
        ));
    }
    Ok(given.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_tty_core::event_log::EventLogWriter;
    use rstest::rstest;

    #[rstest]
    #[case("ls")]
    #[case("find . -exec echo {} \\;")]
    #[case("echo a; echo b;")]
    #[case("echo hash # comment")]
    #[case("for i in 1 2; do\n  echo $i\ndone")]
    fn commands_are_typed_as_given(#[case] given: &str) {
        assert_eq!(shell_command(given).unwrap(), given);
    }

    #[rstest]
    #[case(Some(137), Some("9"))]
    #[case(Some(130), Some("2"))]
    #[case(Some(7), None)]
    #[case(Some(128), None)]
    #[case(Some(255), None)]
    #[case(None, None)]
    fn a_status_above_128_names_the_signal(
        #[case] code: Option<i32>,
        #[case] signal: Option<&str>,
    ) {
        assert_eq!(signal_of(code).as_deref(), signal);
    }

    #[rstest]
    #[case(None, Some(30_000))]
    #[case(Some("250"), Some(250))]
    #[case(Some("0"), None)]
    #[case(Some("abc"), None)]
    #[case(Some("-5"), None)]
    // parseInt, as 0.5: the leading digits count.
    #[case(Some("1.5"), Some(1))]
    #[case(Some(" 10s"), Some(10))]
    #[case(Some("+7"), Some(7))]
    #[case(Some(""), None)]
    fn timeouts_are_positive_milliseconds(#[case] given: Option<&str>, #[case] ms: Option<u64>) {
        match (run_timeout(given), ms) {
            (Ok(d), Some(ms)) => assert_eq!(d, Some(Duration::from_millis(ms))),
            (Err(e), None) => assert_eq!(e.code, ErrorCode::InvalidInput),
            (got, want) => panic!("{got:?} for {given:?}, wanted {want:?}"),
        }
    }

    /// A Session directory on real files: a manifest saying `status`, and an
    /// Event Log (with its reserved host record) holding `input_run`.
    fn session(status: &str) -> (tempfile::TempDir, Target, EventLogWriter) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("sessions").join(ID);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("session.json"), manifest_json("running")).unwrap();
        let mut log = EventLogWriter::open(&dir).unwrap();
        log.append(EventBody::InputRun {
            command: "make".into(),
            marker: Some(MARKER.into()),
            no_wait: false,
        })
        .unwrap();
        let target = Target {
            home: tmp.path().to_owned(),
            id: ID.into(),
            dir: dir.clone(),
            manifest: agent_tty_core::manifest::read_manifest(&dir).unwrap(),
            sidecar: None,
        };
        // What the Session's host says now (it may differ from what the
        // command read first).
        std::fs::write(dir.join("session.json"), manifest_json(status)).unwrap();
        (tmp, target, log)
    }

    const ID: &str = "01JD3Z6X8K4M2N5P7Q9R1S3T5V";
    const MARKER: &str = "m0123";

    fn manifest_json(status: &str) -> String {
        format!(
            r#"{{"version": 1, "sessionId": "{ID}",
                "createdAt": "2026-11-24T03:50:02.677Z", "updatedAt": "2026-11-24T03:50:02.677Z",
                "status": "{status}", "command": ["sh"], "cwd": "/", "cols": 80, "rows": 24,
                "hostPid": null, "childPid": null, "exitCode": null, "exitSignal": null}}"#
        )
    }

    /// Follows from the start of the log on a thread; a loop still going
    /// after a minute never noticed what it should have, so that fails
    /// instead of hanging the suite.
    fn follow_from_start(target: Target) -> Result<(RunEnd, Option<i32>), PluginError> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let follower = EventLogFollower::new(&target.event_log());
            let _ = tx.send(follow_run(&target, follower, MARKER, None, Instant::now()));
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the run loop never ended")
    }

    #[test]
    fn a_run_whose_host_cannot_write_its_log_fails_with_the_storage_error() {
        let (_tmp, target, _log) = session("running");
        // What the host records when an append fails for lack of space.
        let record = agent_tty_core::event_log::HostRecord {
            storage_full: true,
            lost_output_bytes: 4096,
            exit: None,
        };
        std::fs::write(
            agent_tty_core::layout::SessionDir::new(&target.dir).host_record(),
            serde_json::to_vec(&record).unwrap(),
        )
        .unwrap();
        // No time limit: the run must not wait for a completion that can
        // never be logged.
        let err = follow_from_start(target).unwrap_err();
        assert_eq!(err.code, ErrorCode::StorageWriteError, "{err}");
        assert!(err.message.contains("storage full"), "{err}");
        assert!(err.message.contains("4096 bytes"), "{err}");
    }

    #[test]
    fn a_run_completes_on_its_own_marker_only() {
        let (_tmp, target, mut log) = session("running");
        for marker in ["someone-else", MARKER] {
            log.append(EventBody::RunComplete {
                marker: marker.into(),
                input_run_seq: Some(0),
                exit_code: Some(3),
            })
            .unwrap();
        }
        // The status is never written into the log (0.5's schema)...
        let text = std::fs::read_to_string(target.event_log()).unwrap();
        assert!(!text.contains("exitCode\":3"), "{text}");
        assert_eq!(
            follow_from_start(target).unwrap(),
            (RunEnd::Completed, None)
        );
    }

    #[test]
    fn the_status_in_an_earlier_versions_run_complete_is_still_read() {
        let (_tmp, target, _log) = session("running");
        let old = format!(
            "{{\"seq\":1,\"ts\":\"2026-11-24T03:50:03.000Z\",\"type\":\"run_complete\",\
             \"payload\":{{\"marker\":\"{MARKER}\",\"inputRunSeq\":0,\"exitCode\":7}}}}\n"
        );
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .open(target.event_log())
            .unwrap()
            .write_all(old.as_bytes())
            .unwrap();
        assert_eq!(
            follow_from_start(target).unwrap(),
            (RunEnd::Completed, Some(7))
        );
    }

    #[rstest]
    #[case::exit_logged(true)]
    #[case::host_died(false)]
    fn a_run_ends_with_its_session(#[case] exit_logged: bool) {
        let (_tmp, target, mut log) = session("exited");
        if exit_logged {
            log.append(EventBody::Exit {
                exit_code: Some(0),
                exit_signal: None,
            })
            .unwrap();
        }
        assert_eq!(
            follow_from_start(target).unwrap(),
            (RunEnd::SessionEnded, None)
        );
    }

    #[rstest]
    #[case("")]
    #[case("   ")]
    #[case(" \n ")]
    fn an_empty_command_is_invalid_input(#[case] given: &str) {
        assert_eq!(
            shell_command(given).unwrap_err().code,
            ErrorCode::InvalidInput
        );
    }
}
