//! The waiter: a screen replay that follows a growing Event Log and judges a
//! [`Condition`] on each poll. It reads only what was appended since the
//! last poll, and runs a text or regex condition only on a screen text it has
//! not judged yet.

use super::flags::{Condition, Render};
use agent_tty_core::event_log::{EventBody, EventLogFollower};
use agent_tty_core::screen::ScreenReplay;
use std::path::Path;
use std::time::Instant;

/// A regex is tried on the first 50 000 characters of the screen text.
const MAX_REGEX_INPUT_CHARS: usize = 50_000;

/// `Some(matched text)` when the text/regex condition holds (`Some(None)`
/// when there is none), `None` when it does not.
type ContentMatch = Option<Option<String>>;

/// The answer of one poll.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    /// The condition holds; for `--text`/`--regex`, the text that matched.
    Matched(Option<String>),
    /// Not yet.
    Pending,
    /// The Session ended and its final screen does not satisfy the
    /// condition: it never will.
    Unreachable,
}

/// A screen replay that keeps up with a growing Event Log and judges a
/// condition against it.
pub(crate) struct Waiter {
    condition: Condition,
    replay: ScreenReplay,
    follower: EventLogFollower,
    /// When output was last seen (or the wait started).
    last_output: Instant,
    /// When the screen text last changed (or the wait started).
    last_change: Instant,
    screen_text: String,
    /// The text/regex verdict on `screen_text`, kept until the text changes:
    /// a pattern is never run again on a screen it has already judged.
    content: Option<ContentMatch>,
    /// How many times the text/regex condition was evaluated.
    judgements: u64,
    /// New events arrived since the text was last judged.
    dirty: bool,
    /// The log was read to its end once.
    caught_up: bool,
}

impl Waiter {
    /// Replays everything already logged; quiet periods count from `now`.
    pub fn new(log: &Path, replay: ScreenReplay, condition: Condition, now: Instant) -> Self {
        Waiter {
            condition,
            replay,
            follower: EventLogFollower::new(log),
            last_output: now,
            last_change: now,
            screen_text: String::new(),
            content: None,
            judgements: 0,
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
                self.content = None;
            }
        }
        self.dirty = false;
        let ended = ended_elsewhere || self.replay.exit().is_some();
        Ok(match &self.condition {
            Condition::Exit if ended => Verdict::Matched(None),
            Condition::Idle(d) if now.duration_since(self.last_output) >= *d => {
                Verdict::Matched(None)
            }
            Condition::Exit | Condition::Idle(_) => Verdict::Pending,
            Condition::Render(r) => {
                let content = match &self.content {
                    Some(judged) => judged.clone(),
                    None => {
                        let judged = self.content_match(r);
                        self.judgements += 1;
                        self.content = Some(judged.clone());
                        judged
                    }
                };
                let (row, col) = self.replay.cursor();
                let cursor = r.cursor_row.is_none_or(|want| want == u64::from(row))
                    && r.cursor_col.is_none_or(|want| want == u64::from(col));
                let seq = self.replay.last_seq().unwrap_or(0);
                let fresh = r
                    .after_seq
                    .is_none_or(|after| seq > after && self.replay.last_seq().is_some());
                // An ended Session's screen can no longer change, so it is
                // as stable as it will ever be.
                let stable = r
                    .stable
                    .is_none_or(|d| ended || now.duration_since(self.last_change) >= d);
                match content {
                    Some(found) if cursor && fresh && stable => Verdict::Matched(found),
                    _ if ended => Verdict::Unreachable,
                    _ => Verdict::Pending,
                }
            }
        })
    }

    /// `Some(matched text)` when the text/regex condition holds (`Some(None)`
    /// when there is none).
    fn content_match(&self, r: &Render) -> ContentMatch {
        if let Some(t) = &r.text {
            return self
                .screen_text
                .contains(t.as_str())
                .then(|| Some(t.clone()));
        }
        if let Some(re) = &r.regex {
            let end = self
                .screen_text
                .char_indices()
                .nth(MAX_REGEX_INPUT_CHARS)
                .map_or(self.screen_text.len(), |(i, _)| i);
            return re
                .find(&self.screen_text[..end])
                .map(|m| Some(m.as_str().to_owned()));
        }
        Some(None)
    }

    /// What the Event Log reads skipped so far.
    pub fn skipped(&self) -> &agent_tty_core::event_log::Skipped {
        self.follower.skipped()
    }

    /// The replayed screen.
    pub fn replay(&self) -> &ScreenReplay {
        &self.replay
    }

    /// The condition waited for.
    pub fn condition(&self) -> &Condition {
        &self.condition
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use agent_tty_core::event_log::EventLogWriter;
    use agent_tty_core::layout::SessionDir;
    use regex::Regex;
    use rstest::rstest;
    use std::time::Duration;

    fn waiter(dir: &Path, condition: Condition, start: Instant) -> Waiter {
        Waiter::new(
            &SessionDir::new(dir).event_log(),
            ScreenReplay::new(40, 5),
            condition,
            start,
        )
    }

    fn output(data: &str) -> EventBody {
        EventBody::Output { data: data.into() }
    }

    fn text(t: &str) -> Condition {
        Condition::Render(Render {
            text: Some(t.into()),
            ..Default::default()
        })
    }

    fn regex(r: &str) -> Condition {
        Condition::Render(Render {
            regex: Some(Regex::new(r).unwrap()),
            ..Default::default()
        })
    }

    fn stable(d: Duration) -> Condition {
        Condition::Render(Render {
            stable: Some(d),
            ..Default::default()
        })
    }

    #[test]
    fn a_regex_is_evaluated_only_when_the_screen_text_changed() {
        let tmp = tempfile::tempdir().unwrap();
        let mut log = EventLogWriter::open(tmp.path()).unwrap();
        log.append(output("$ waiting")).unwrap();
        let now = Instant::now();
        let mut w = waiter(tmp.path(), regex(r"never-\d+"), now);
        for _ in 0..50 {
            assert_eq!(w.poll(now, false).unwrap(), Verdict::Pending);
        }
        assert_eq!(w.judgements, 1);
        // Output that leaves the text as it was (a colour change) is not a
        // new screen to judge; new text is.
        log.append(output("\x1b[1m\x1b[0m")).unwrap();
        assert_eq!(w.poll(now, false).unwrap(), Verdict::Pending);
        assert_eq!(w.judgements, 1);
        log.append(output(" never-7")).unwrap();
        assert_eq!(
            w.poll(now, false).unwrap(),
            Verdict::Matched(Some("never-7".into()))
        );
        assert_eq!(w.judgements, 2);
    }

    #[rstest]
    #[case(text("answer-42"), Some("answer-42"))]
    #[case(regex(r"answer-\d+"), Some("answer-42"))]
    #[case(text("answer-43"), None)]
    #[case(regex(r"(?m)answer-\d+$"), Some("answer-42"))]
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
        let mut w = waiter(tmp.path(), text("never"), now);
        assert_eq!(w.poll(now, false).unwrap(), Verdict::Unreachable);
        let mut w = waiter(tmp.path(), text("bye"), now);
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
        let mut w = waiter(tmp.path(), stable(ms(100)), start);
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

    #[test]
    fn cursor_and_after_seq_narrow_a_text_match() {
        let tmp = tempfile::tempdir().unwrap();
        let mut log = EventLogWriter::open(tmp.path()).unwrap();
        log.append(output("ready")).unwrap();
        let now = Instant::now();
        let condition = |after_seq, cursor_col| {
            Condition::Render(Render {
                text: Some("ready".into()),
                after_seq,
                cursor_col,
                ..Default::default()
            })
        };
        // The text is there and the cursor after it (column 5), but the
        // screen must include an event after seq 1: the first has seq 1.
        let mut w = waiter(tmp.path(), condition(Some(1), Some(5)), now);
        assert_eq!(w.poll(now, false).unwrap(), Verdict::Pending);
        log.append(output("\r")).unwrap();
        // Newer now, but the cursor went back to column 0.
        assert_eq!(w.poll(now, false).unwrap(), Verdict::Pending);
        log.append(output("\x1b[6G")).unwrap();
        assert_eq!(
            w.poll(now, false).unwrap(),
            Verdict::Matched(Some("ready".into()))
        );
    }
}
