//! `wait <id>`: render conditions (`--text`, `--regex`, `--screen-stable-ms`,
//! `--cursor-row`, `--cursor-col`, `--after-seq`, all combinable) or one of
//! the legacy ones (`--exit`, `--idle-ms`), with 0.5's checks, limits,
//! order and results (contract §3.12).
//!
//! The screen is the one [`ScreenReplay`] rebuilds from the Event Log (so the
//! completion-marker echo is never matched). The log is read once up to its
//! end, then followed: each poll reads only what was appended and feeds it to
//! the same replay, so a wait on a huge log costs one replay plus the new
//! bytes, never a re-read per poll.
//!
//! `--idle-ms` and `--screen-stable-ms` count from the later of the last
//! output (or screen change) and the start of the wait: quiet that happened
//! before the caller asked does not count, so "send input, then wait until it
//! settles" cannot succeed before the input's effects were seen.
//!
//! A Session that has ended is judged on its final screen, as 0.5's offline
//! replay does: a render condition it satisfies is answered at once; one it
//! never will is `REPLAY_ERROR` (exit 10) instead of a wait until timeout.
//!
//! Split by job: [`flags`] reads and checks the conditions, [`regex_guard`]
//! is 0.5's guard in front of `--regex`, [`waiter`] judges a condition
//! against the followed log; this module is the command and its answers.

mod flags;
mod regex_guard;
mod waiter;

pub(crate) use flags::{wait_limit, Condition, Render};
pub(crate) use regex_guard::compile_regex;
pub(crate) use waiter::{Verdict, Waiter};

use super::follow::{self, Followed, Step};
use super::snapshot::screen_hash;
use super::target::Target;
use agent_tty_core::manifest::read_manifest;
use agent_tty_core::screen::ScreenReplay;
use agent_tty_plugin_api::{ArgSpec, Command, CommandSpec};
use agent_tty_plugin_api::{CommandOutput, ErrorCode, Invocation, PluginError};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

/// `wait`: its spec beside its handler ([`wait`]).
pub(super) fn command() -> Command {
    let spec = CommandSpec::new(
        &["wait"],
        "Wait until a Session's screen or state meets every condition given",
    )
    .arg(super::session_id_arg())
    .arg(ArgSpec::option(
        "text",
        "TEXT",
        "The screen shows this text (1-1000 characters)",
    ))
    .arg(ArgSpec::option(
        "regex",
        "REGEX",
        "The screen text matches this regular expression (1-200 characters, no flags)",
    ))
    .arg(ArgSpec::option(
        "screen-stable-ms",
        "MS",
        "The screen text unchanged for MS milliseconds",
    ))
    .arg(ArgSpec::option(
        "cursor-row",
        "N",
        "The cursor is on row N (0-based)",
    ))
    .arg(ArgSpec::option(
        "cursor-col",
        "N",
        "The cursor is in column N (0-based)",
    ))
    .arg(ArgSpec::option(
        "after-seq",
        "SEQ",
        "Only a screen that includes events after SEQ counts",
    ))
    .arg(ArgSpec::flag(
        "exit",
        "Legacy: the Session's command has ended",
    ))
    .arg(ArgSpec::option(
        "idle-ms",
        "MS",
        "Legacy: no output for MS milliseconds",
    ))
    .arg(ArgSpec::option(
        "timeout",
        "MS",
        "Give up after MS milliseconds (0 waits forever; default 600000)",
    ));
    let spec = super::observe::args()
        .into_iter()
        .fold(spec, |s, a| s.arg(a));
    Command::new(spec, |_, inv| wait(inv))
}

pub(super) fn wait(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    if super::observe::wanted(inv) {
        return super::observe::wait(inv);
    }
    let target = Target::find(inv)?;
    let (condition, limit) = Condition::from_invocation(inv)?;
    let ended_at_start = target.manifest.status.is_terminal();
    match &condition {
        // Legacy `--exit` on an ended Session answers from its manifest.
        Condition::Exit if ended_at_start => {
            let m = &target.manifest;
            return Ok(legacy_result(
                false,
                Some((m.exit_code, m.exit_signal.clone())),
                false,
            ));
        }
        Condition::Idle(_) => target.require_running()?,
        _ => {}
    }
    let stable_asked = matches!(&condition, Condition::Render(r) if r.stable.is_some());
    let started = Instant::now();
    let mut waiter = Waiter::new(
        &target.event_log(),
        ScreenReplay::for_manifest_with_scrollback(&target.manifest, 0),
        condition,
        started,
    );
    let render = matches!(waiter.condition(), Condition::Render(_));
    let answer = match follow(&target, &mut waiter, limit, started)? {
        WaitEnd::Matched(found) if render => {
            // 0.5 answers a Session that had already ended by offline
            // replay, where a stability condition reads as unmatched.
            let offline = ended_at_start;
            let matched = !(offline && stable_asked);
            Ok(render_result(&waiter, matched, found, offline))
        }
        WaitEnd::Matched(_) => {
            let ended = match waiter.replay().exit() {
                Some(e) => Some((e.exit_code, e.exit_signal.clone())),
                None => read_manifest(&target.dir)
                    .ok()
                    .map(|m| (m.exit_code, m.exit_signal)),
            };
            let exit = matches!(waiter.condition(), Condition::Exit);
            Ok(legacy_result(false, ended.filter(|_| exit), exit))
        }
        WaitEnd::Unreachable => Err(never_matches(&target.id, &waiter)),
        WaitEnd::TimedOut => {
            let mut out = if render {
                let seq = waiter.replay().last_seq().unwrap_or(0);
                CommandOutput::new(
                    json!({ "matched": false, "timedOut": true, "capturedAtSeq": seq }),
                    format!(
                        "Wait timed out. (capturedAtSeq: {seq})\n`agent-tty snapshot {}` shows \
                         the screen now.",
                        target.id
                    ),
                )
            } else {
                legacy_result(true, None, false)
            };
            out.exit_code = ErrorCode::WaitTimeout.exit_code();
            Ok(out)
        }
    };
    answer.map(|mut out| {
        out.warnings
            .extend(waiter.skipped().warning(&target.event_log()));
        out.with_warnings_in_result()
    })
}

/// How a followed wait ended.
pub(crate) enum WaitEnd {
    /// The condition held; for text/regex, the text that matched.
    Matched(Option<String>),
    /// The time limit passed first.
    TimedOut,
    /// The Session ended and its final screen does not satisfy the condition.
    Unreachable,
}

/// Follows the Session's Event Log through `waiter` until its condition
/// holds, the Session ends without it, or `limit` passes (counted from
/// `started`). `wait`, `batch` and the host's answer to 0.5's
/// `waitForRender` all use it; the loop itself is [`follow::until`], shared
/// with `run`.
pub(crate) fn follow(
    target: &Target,
    waiter: &mut Waiter,
    limit: Option<Duration>,
    started: Instant,
) -> Result<WaitEnd, PluginError> {
    let followed = follow::until(target, limit, started, |look| {
        let seen = waiter.replay().last_seq();
        let verdict = waiter.poll(look.now, look.ended_elsewhere)?;
        Ok(match verdict {
            Verdict::Matched(found) => Step::Done(WaitEnd::Matched(found)),
            Verdict::Unreachable => Step::Done(WaitEnd::Unreachable),
            Verdict::Pending => Step::Pending {
                active: waiter.replay().last_seq() != seen,
            },
        })
    })?;
    Ok(match followed {
        Followed::Done(end) => end,
        Followed::TimedOut => WaitEnd::TimedOut,
    })
}

/// `{timedOut, exitCode?, exitSignal?}` and 0.5's lines. `ended` is how the
/// command ended (`exitCode`, `exitSignal` as the manifest records them);
/// `exitSignal` is added only when a signal ended it, so a normal exit
/// reads exactly as in 0.5, and a killed one never reads as a clean exit.
fn legacy_result(
    timed_out: bool,
    ended: Option<(Option<i32>, Option<String>)>,
    exited: bool,
) -> CommandOutput {
    let mut result = json!({ "timedOut": timed_out });
    let (exit_code, exit_signal) = ended.unwrap_or_default();
    if let Some(code) = exit_code {
        result["exitCode"] = json!(code);
    }
    if let Some(signal) = &exit_signal {
        result["exitSignal"] = json!(signal);
    }
    let human = match (timed_out, exit_code, &exit_signal) {
        (true, _, _) => "Wait timed out.".to_owned(),
        (false, _, Some(signal)) => format!(
            "Process was killed by {}.",
            agent_tty_core::text::escape(&agent_tty_core::signals::name_of_recorded(signal))
        ),
        (false, Some(code), None) => format!("Process exited with code {code}."),
        (false, None, None) if exited => "Process exited.".to_owned(),
        (false, None, None) => "Wait condition met.".to_owned(),
    };
    CommandOutput::new(result, human)
}

/// `{matched, timedOut, matchedText?, cursorRow, cursorCol, capturedAtSeq,
/// screenHash}` and 0.5's lines.
fn render_result(
    waiter: &Waiter,
    matched: bool,
    found: Option<String>,
    offline: bool,
) -> CommandOutput {
    let replay = waiter.replay();
    let (row, col) = replay.cursor();
    let seq = replay.last_seq().unwrap_or(0);
    let mut result = Map::new();
    result.insert("matched".into(), json!(matched));
    result.insert("timedOut".into(), json!(false));
    if let Some(text) = &found {
        result.insert("matchedText".into(), json!(text));
    }
    result.insert("cursorRow".into(), json!(row));
    result.insert("cursorCol".into(), json!(col));
    result.insert("capturedAtSeq".into(), json!(seq));
    result.insert(
        "screenHash".into(),
        json!(screen_hash(&replay.visible_lines())),
    );
    let mut human = match &found {
        Some(text) => format!("Matched: {text}\n"),
        None => "Wait condition met.\n".to_owned(),
    };
    if offline {
        human = format!(
            "The Session has ended (its host is unreachable); judged on its final screen.\n{human}"
        );
    }
    human.push_str(&format!(
        "Cursor: row {row}, col {col}\ncapturedAtSeq: {seq}"
    ));
    CommandOutput::new(Value::Object(result), human)
}

/// `REPLAY_ERROR` (exit 10, as 0.5's offline replay) for a render condition
/// an ended Session's final screen does not satisfy: it never will, so the
/// caller hears it now, not at timeout.
fn never_matches(id: &str, waiter: &Waiter) -> PluginError {
    PluginError::new(
        ErrorCode::ReplayError,
        format!(
            "Session {id} has ended and its final screen does not satisfy the wait condition; \
             `agent-tty snapshot {id}` shows what it does show"
        ),
    )
    .with_details(json!({
        "sessionId": id,
        "capturedAtSeq": waiter.replay().last_seq().unwrap_or(0),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_tty_plugin_api::ArgKind;
    use std::collections::BTreeSet;

    /// The flag lists kept beside `wait`'s spec (the render flags, the
    /// flags `--gone`/`--changed` refuse beside them) name flags the spec
    /// declares, and every flag it declares is of one kind of wait: a flag
    /// added to the spec without its list fails here.
    #[test]
    fn the_flag_lists_agree_with_the_spec() {
        let command = command();
        let declared: BTreeSet<&str> = command
            .spec()
            .args
            .iter()
            .filter(|a| a.kind != ArgKind::Positional)
            .map(|a| a.name.as_str())
            .collect();
        let observe: Vec<String> = super::super::observe::args()
            .into_iter()
            .map(|a| a.name)
            .collect();
        let legacy = ["exit", "idle-ms"];
        let mut kinds: BTreeSet<&str> = flags::RENDER_FLAGS.iter().copied().collect();
        kinds.extend(legacy);
        kinds.insert("timeout");
        kinds.extend(observe.iter().map(String::as_str));
        assert_eq!(declared, kinds);
        for flag in super::super::observe::OTHER_FLAGS {
            assert!(declared.contains(flag), "--{flag} is not a wait flag");
            assert!(
                !observe.iter().any(|o| o == flag),
                "--{flag} is observe's own"
            );
        }
    }
}
