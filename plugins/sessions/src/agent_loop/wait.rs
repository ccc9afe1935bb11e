//! `wait <id> --text S | --regex R | --exit | --idle-ms N | --screen-stable-ms N
//! [--timeout MS]`.
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

use super::target::Target;
use super::{millis, timeout, PollPace};
use agent_tty_core::event_log::{EventBody, EventLogFollower};
use agent_tty_core::manifest::read_manifest;
use agent_tty_core::screen::ScreenReplay;
use agent_tty_plugin_api::{CommandOutput, ErrorCode, Invocation, PluginError};
use regex::{Regex, RegexBuilder};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// How often the manifest is re-read, to notice a Session that ended without
/// an `exit` event (its host died).
const STATUS_CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// What the caller waits for.
#[derive(Clone)]
pub(crate) enum Condition {
    Text(String),
    Regex(Regex),
    Exit,
    Idle(Duration),
    ScreenStable(Duration),
    /// The cursor is on this row (0-based).
    CursorRow(u16),
    /// The cursor is in this column (0-based).
    CursorCol(u16),
}

impl Condition {
    /// Exactly one of the condition options.
    fn from_invocation(inv: &Invocation) -> Result<Condition, PluginError> {
        let mut chosen = Vec::new();
        if let Some(text) = inv.value("text") {
            chosen.push(Condition::Text(text.to_owned()));
        }
        if let Some(pattern) = inv.value("regex") {
            // Multi-line: `^` and `$` match at each screen line, as people
            // reading a screen expect.
            let regex = RegexBuilder::new(pattern)
                .multi_line(true)
                .build()
                .map_err(|e| {
                    PluginError::new(
                        ErrorCode::InvalidArgument,
                        format!("--regex {pattern:?} is not a valid regular expression: {e}"),
                    )
                })?;
            chosen.push(Condition::Regex(regex));
        }
        if inv.flag("exit") {
            chosen.push(Condition::Exit);
        }
        if let Some(d) = millis(inv, "idle-ms")? {
            chosen.push(Condition::Idle(d));
        }
        if let Some(d) = millis(inv, "screen-stable-ms")? {
            chosen.push(Condition::ScreenStable(d));
        }
        match chosen.len() {
            1 => Ok(chosen.remove(0)),
            n => Err(PluginError::usage(format!(
                "give exactly one condition (got {n}): --text TEXT, --regex REGEX, --exit, \
                 --idle-ms MS or --screen-stable-ms MS"
            ))),
        }
    }

    /// The condition as reported in the result.
    fn describe(&self) -> Value {
        match self {
            Condition::Text(t) => json!({ "type": "text", "value": t }),
            Condition::Regex(r) => json!({ "type": "regex", "value": r.as_str() }),
            Condition::Exit => json!({ "type": "exit" }),
            Condition::Idle(d) => json!({ "type": "idle", "ms": d.as_millis() as u64 }),
            Condition::ScreenStable(d) => {
                json!({ "type": "screen-stable", "ms": d.as_millis() as u64 })
            }
            Condition::CursorRow(r) => json!({ "type": "cursor-row", "value": r }),
            Condition::CursorCol(c) => json!({ "type": "cursor-col", "value": c }),
        }
    }
}

/// The answer of one poll.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    /// The condition holds; for `--text`/`--regex`, the text that matched.
    Matched(Option<String>),
    /// Not yet.
    Pending,
    /// The Session ended and its final screen does not match: it never will.
    Unreachable,
}

/// A screen replay that keeps up with a growing Event Log and judges
/// conditions against it: they must all hold at once, on a screen that
/// includes at least one event after `after_seq` when that is set.
pub(crate) struct Waiter {
    conditions: Vec<Condition>,
    after_seq: Option<u64>,
    replay: ScreenReplay,
    follower: EventLogFollower,
    /// When output was last seen (or the wait started).
    last_output: Instant,
    /// When the screen text last changed (or the wait started).
    last_change: Instant,
    screen_text: String,
    /// New events arrived since the text was last judged.
    dirty: bool,
    /// The log was read to its end once.
    caught_up: bool,
}

impl Waiter {
    /// Replays everything already logged; quiet periods count from `now`.
    pub fn new(log: &Path, replay: ScreenReplay, condition: Condition, now: Instant) -> Self {
        Self::all_of(log, replay, vec![condition], None, now)
    }

    /// A waiter for several conditions at once, only on screens captured
    /// after event `after_seq` (the batch Wait Baseline, `wait --after-seq`).
    pub fn all_of(
        log: &Path,
        replay: ScreenReplay,
        conditions: Vec<Condition>,
        after_seq: Option<u64>,
        now: Instant,
    ) -> Self {
        Waiter {
            conditions,
            after_seq,
            replay,
            follower: EventLogFollower::new(log),
            last_output: now,
            last_change: now,
            screen_text: String::new(),
            dirty: true,
            caught_up: false,
        }
    }

    /// Reads what was appended since the last poll and judges the condition.
    /// `ended_elsewhere` is true when the manifest says the Session ended
    /// even though no `exit` event was logged (its host died).
    pub fn poll(&mut self, now: Instant, ended_elsewhere: bool) -> agent_tty_core::Result<Verdict> {
        let appended = if self.caught_up {
            let (replay, last_output) = (&mut self.replay, &mut self.last_output);
            self.follower.read_new(|event| {
                if matches!(event.body, EventBody::Output { .. }) {
                    *last_output = now;
                }
                replay.apply(&event);
            })?
        } else {
            // Output logged before the wait started is history, not activity.
            self.caught_up = true;
            self.replay.catch_up(&mut self.follower)?
        };
        if appended > 0 {
            self.dirty = true;
        }
        if self.dirty {
            let text = self.replay.match_text();
            if text != self.screen_text {
                self.screen_text = text;
                self.last_change = now;
            }
        }
        let ended = ended_elsewhere || self.replay.exit().is_some();
        let (row, col) = self.replay.cursor();
        let mut found = None;
        let mut all_hold = true;
        let mut screen_fails = false;
        for condition in &self.conditions {
            let verdict = match condition {
                Condition::Text(t) => self
                    .screen_text
                    .contains(t.as_str())
                    .then(|| Some(t.clone())),
                Condition::Regex(r) => r
                    .find(&self.screen_text)
                    .map(|m| Some(m.as_str().to_owned())),
                Condition::Exit => ended.then_some(None),
                Condition::Idle(d) => (now.duration_since(self.last_output) >= *d).then_some(None),
                Condition::ScreenStable(d) => {
                    (now.duration_since(self.last_change) >= *d).then_some(None)
                }
                Condition::CursorRow(r) => (row == *r).then_some(None),
                Condition::CursorCol(c) => (col == *c).then_some(None),
            };
            match verdict {
                Some(text) => found = found.or(text),
                None => {
                    all_hold = false;
                    screen_fails |= matches!(
                        condition,
                        Condition::Text(_)
                            | Condition::Regex(_)
                            | Condition::CursorRow(_)
                            | Condition::CursorCol(_)
                    );
                }
            }
        }
        let after = match (self.after_seq, self.replay.last_seq()) {
            (None, _) => true,
            (Some(after), Some(last)) => last > after,
            (Some(_), None) => false,
        };
        self.dirty = false;
        Ok(if all_hold && after {
            Verdict::Matched(found)
        } else if ended && (screen_fails || !after) {
            Verdict::Unreachable
        } else {
            Verdict::Pending
        })
    }

    /// The replayed screen.
    pub fn replay(&self) -> &ScreenReplay {
        &self.replay
    }
}

/// How a followed wait ended.
pub(crate) enum WaitEnd {
    /// The conditions held; for `--text`/`--regex`, the text that matched.
    Matched(Option<String>),
    /// The time limit passed first.
    TimedOut,
    /// The Session ended and its last screen does not match.
    Unreachable,
}

/// Follows the Session's Event Log through `waiter` until its conditions
/// hold, the Session ends without them, or `limit` passes (counted from
/// `started`). The one wait loop, shared by `wait` and `batch`.
pub(crate) fn follow(
    target: &Target,
    waiter: &mut Waiter,
    limit: Option<Duration>,
    started: Instant,
) -> Result<WaitEnd, PluginError> {
    let mut ended_elsewhere = target.manifest.status.is_terminal();
    let mut last_status_check = started;
    let mut pace = PollPace::new();
    loop {
        let now = Instant::now();
        let seen = waiter.replay().last_seq();
        let verdict = waiter.poll(now, ended_elsewhere)?;
        if waiter.replay().last_seq() != seen {
            pace.activity();
        }
        match verdict {
            Verdict::Matched(found) => return Ok(WaitEnd::Matched(found)),
            Verdict::Unreachable => return Ok(WaitEnd::Unreachable),
            Verdict::Pending => {}
        }
        if limit.is_some_and(|l| started.elapsed() >= l) {
            return Ok(WaitEnd::TimedOut);
        }
        if !ended_elsewhere && last_status_check.elapsed() >= STATUS_CHECK_INTERVAL {
            last_status_check = Instant::now();
            ended_elsewhere = read_manifest(&target.dir).is_ok_and(|m| m.status.is_terminal());
        }
        pace.sleep();
    }
}

pub(super) fn wait(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let condition = Condition::from_invocation(inv)?;
    let limit = timeout(inv)?;
    let target = Target::find(inv)?;
    let described = condition.describe();
    let started = Instant::now();
    let mut waiter = Waiter::new(
        &target.event_log(),
        ScreenReplay::for_manifest_with_scrollback(&target.manifest, 0),
        condition,
        started,
    );
    let end = follow(&target, &mut waiter, limit, started)?;
    let report = |matched: bool, timed_out: bool| {
        let mut result = json!({
            "sessionId": target.id,
            "condition": described,
            "matched": matched,
            "timedOut": timed_out,
            "durationMs": started.elapsed().as_millis() as u64,
            "seq": waiter.replay().last_seq(),
        });
        if let Some(exit) = waiter.replay().exit() {
            result["exitCode"] = json!(exit.exit_code);
            result["exitSignal"] = json!(exit.exit_signal);
        }
        result
    };
    match end {
        WaitEnd::Matched(found) => {
            let mut result = report(true, false);
            if let Some(found) = found {
                result["match"] = json!(found);
            }
            let human = format!("matched after {} ms", result["durationMs"]);
            Ok(CommandOutput::new(result, human))
        }
        WaitEnd::Unreachable => Err(never_matches(&target.id)),
        WaitEnd::TimedOut => {
            let result = report(false, true);
            let human = format!(
                "timed out after {} ms; `agent-tty snapshot {id}` shows Session {id}'s screen now",
                result["durationMs"],
                id = target.id
            );
            Ok(CommandOutput {
                result,
                human: Some(human),
                exit_code: ErrorCode::WaitTimeout.exit_code(),
                ..Default::default()
            })
        }
    }
}

/// `SESSION_NOT_RUNNING` for a text or regex the ended Session's last screen
/// does not show: it never will, so the caller hears it now, not at timeout.
fn never_matches(id: &str) -> PluginError {
    PluginError::new(
        ErrorCode::SessionNotRunning,
        format!(
            "Session {id} has ended and its last screen does not match; \
             `agent-tty snapshot {id}` shows what it does show"
        ),
    )
    .with_details(json!({ "sessionId": id }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_tty_core::event_log::{event_log_path, EventLogWriter};
    use rstest::rstest;

    fn waiter(dir: &Path, condition: Condition, start: Instant) -> Waiter {
        Waiter::new(
            &event_log_path(dir),
            ScreenReplay::new(40, 5),
            condition,
            start,
        )
    }

    fn output(data: &str) -> EventBody {
        EventBody::Output { data: data.into() }
    }

    #[rstest]
    #[case(Condition::Text("answer-42".into()), Some("answer-42"))]
    #[case(Condition::Regex(Regex::new(r"answer-\d+").unwrap()), Some("answer-42"))]
    #[case(Condition::Text("answer-43".into()), None)]
    #[case(Condition::Regex(RegexBuilder::new(r"answer-\d+$").multi_line(true).build().unwrap()), Some("answer-42"))]
    fn text_and_regex_match_the_rendered_screen_as_it_grows(
        #[case] condition: Condition,
        #[case] expected: Option<&str>,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let mut log = EventLogWriter::open(tmp.path()).unwrap();
        log.append(output("$ ")).unwrap();
        let now = Instant::now();
        let mut w = waiter(tmp.path(), condition, now);
        assert_eq!(w.poll(now, false).unwrap(), Verdict::Pending);
        // Split across two events and behind an SGR sequence: only the
        // rendered screen contains the word whole.
        log.append(output("answ")).unwrap();
        log.append(output("\x1b[1mer-42\x1b[0m\r\n")).unwrap();
        let verdict = w.poll(now, false).unwrap();
        match expected {
            Some(found) => assert_eq!(verdict, Verdict::Matched(Some(found.into()))),
            None => assert_eq!(verdict, Verdict::Pending),
        }
    }

    #[test]
    fn text_that_never_appeared_before_the_session_ended_is_unreachable() {
        let tmp = tempfile::tempdir().unwrap();
        let mut log = EventLogWriter::open(tmp.path()).unwrap();
        log.append(output("bye\r\n")).unwrap();
        log.append(EventBody::Exit {
            exit_code: Some(0),
            exit_signal: None,
        })
        .unwrap();
        let now = Instant::now();
        let mut w = waiter(tmp.path(), Condition::Text("never".into()), now);
        assert_eq!(w.poll(now, false).unwrap(), Verdict::Unreachable);
        let mut w = waiter(tmp.path(), Condition::Text("bye".into()), now);
        assert_eq!(
            w.poll(now, false).unwrap(),
            Verdict::Matched(Some("bye".into()))
        );
    }

    #[test]
    fn exit_matches_an_exit_event_or_a_host_that_died() {
        let tmp = tempfile::tempdir().unwrap();
        let mut log = EventLogWriter::open(tmp.path()).unwrap();
        let now = Instant::now();
        let mut w = waiter(tmp.path(), Condition::Exit, now);
        assert_eq!(w.poll(now, false).unwrap(), Verdict::Pending);
        assert_eq!(w.poll(now, true).unwrap(), Verdict::Matched(None));
        log.append(EventBody::Exit {
            exit_code: None,
            exit_signal: Some("SIGKILL".into()),
        })
        .unwrap();
        assert_eq!(w.poll(now, false).unwrap(), Verdict::Matched(None));
        assert_eq!(
            w.replay().exit().unwrap().exit_signal.as_deref(),
            Some("SIGKILL")
        );
    }

    #[test]
    fn idle_counts_from_the_last_output_after_the_wait_started() {
        let tmp = tempfile::tempdir().unwrap();
        let mut log = EventLogWriter::open(tmp.path()).unwrap();
        log.append(output("old output\r\n")).unwrap();
        let start = Instant::now();
        let ms = Duration::from_millis;
        let mut w = waiter(tmp.path(), Condition::Idle(ms(100)), start);
        assert_eq!(w.poll(start, false).unwrap(), Verdict::Pending);
        log.append(output("new")).unwrap();
        assert_eq!(w.poll(start + ms(80), false).unwrap(), Verdict::Pending);
        assert_eq!(w.poll(start + ms(150), false).unwrap(), Verdict::Pending);
        assert_eq!(
            w.poll(start + ms(180), false).unwrap(),
            Verdict::Matched(None)
        );
    }

    #[test]
    fn screen_stable_ignores_output_that_changes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let mut log = EventLogWriter::open(tmp.path()).unwrap();
        log.append(output("spinner |")).unwrap();
        let start = Instant::now();
        let ms = Duration::from_millis;
        let mut w = waiter(tmp.path(), Condition::ScreenStable(ms(100)), start);
        assert_eq!(w.poll(start, false).unwrap(), Verdict::Pending);
        log.append(output("\x08/")).unwrap();
        assert_eq!(w.poll(start + ms(50), false).unwrap(), Verdict::Pending);
        // Redrawing the same character is output, but not a change.
        log.append(output("\x08/")).unwrap();
        assert_eq!(w.poll(start + ms(120), false).unwrap(), Verdict::Pending);
        assert_eq!(
            w.poll(start + ms(150), false).unwrap(),
            Verdict::Matched(None)
        );
    }
}
