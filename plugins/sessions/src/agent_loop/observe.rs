//! `wait`'s conditions on change rather than presence: `--gone TEXT`,
//! `--gone-regex RE` (a spinner ended, a dialog closed), `--changed` (the
//! screen differs from a baseline: the screen at `--after-seq N`, the one
//! whose `screenHash` is `--from-hash H`, or else the screen when the wait
//! starts), and `--released` (a person who attached has detached).
//!
//! They follow the Event Log with the same loop as every other wait
//! ([`follow::until`]) and the same replay, and answer in the render wait's
//! shape (`matched`, `timedOut`, `cursorRow`, `cursorCol`, `capturedAtSeq`,
//! `screenHash`) plus `condition`. They are not combined with the presence
//! conditions (`--text`, `--regex`, ...): one kind of wait at a time.

use super::follow::{self, Followed, Step};
use super::snapshot::screen_hash;
use super::target::Target;
use super::wait::{compile_regex, wait_limit};
use agent_tty_core::event_log::EventLogFollower;
use agent_tty_core::screen::ScreenReplay;
use agent_tty_plugin_api::{ArgSpec, CommandOutput, ErrorCode, Invocation, PluginError};
use agent_tty_runtime::takeover;
use regex::Regex;
use serde_json::{json, Map, Value};
use std::time::Instant;

/// This module's flags on `wait`.
pub(super) fn args() -> Vec<ArgSpec> {
    vec![
        ArgSpec::option(
            "gone",
            "TEXT",
            "The screen no longer shows this text (a spinner ended, a dialog closed)",
        ),
        ArgSpec::option(
            "gone-regex",
            "REGEX",
            "Nothing on the screen matches this regular expression",
        ),
        ArgSpec::flag(
            "changed",
            "The screen differs from the one at --after-seq, --from-hash, or when the wait starts",
        ),
        ArgSpec::option(
            "from-hash",
            "HASH",
            "With --changed: the baseline screen's screenHash",
        ),
        ArgSpec::flag(
            "released",
            "A person attached to the Session has detached (at once when nobody is)",
        ),
    ]
}

/// Whether the invocation asks for one of these conditions.
pub(super) fn wanted(inv: &Invocation) -> bool {
    inv.value("gone").is_some()
        || inv.value("gone-regex").is_some()
        || inv.value("from-hash").is_some()
        || inv.flag("changed")
        || inv.flag("released")
}

/// What the wait is for.
enum Goal {
    Gone(String),
    GoneRegex(Regex),
    Changed(Baseline),
    Released,
}

impl Goal {
    /// What was seen, for a person: the text and pattern come from the
    /// command line (an agent's) and are escaped like any untrusted text.
    fn met(&self) -> String {
        match self {
            Goal::Gone(t) => format!("Gone: {}", agent_tty_core::text::escape(t)),
            Goal::GoneRegex(re) => {
                format!(
                    "Nothing matches: {}",
                    agent_tty_core::text::escape(re.as_str())
                )
            }
            _ => "The screen changed.".to_owned(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Goal::Gone(_) => "gone",
            Goal::GoneRegex(_) => "goneRegex",
            Goal::Changed(_) => "changed",
            Goal::Released => "released",
        }
    }
}

/// The screen `--changed` compares against.
enum Baseline {
    /// The screen when the wait starts.
    Now,
    /// The screen once every event up to this seq was applied.
    AfterSeq(u64),
    /// A screen with this `screenHash`.
    Hash(String),
}

/// The flags that belong to the presence waits.
pub(super) const OTHER_FLAGS: &[&str] = &[
    "text",
    "regex",
    "screen-stable-ms",
    "cursor-row",
    "cursor-col",
    "idle-ms",
];

fn goal(inv: &Invocation) -> Result<Goal, PluginError> {
    let mut given = Vec::new();
    if inv.value("gone").is_some() {
        given.push("--gone");
    }
    if inv.value("gone-regex").is_some() {
        given.push("--gone-regex");
    }
    if inv.flag("changed") {
        given.push("--changed");
    }
    if inv.flag("released") {
        given.push("--released");
    }
    let mixed: Vec<String> = OTHER_FLAGS
        .iter()
        .filter(|f| inv.value(f).is_some())
        .map(|f| format!("--{f}"))
        .chain(inv.flag("exit").then(|| "--exit".to_owned()))
        .collect();
    if given.len() != 1 || !mixed.is_empty() {
        return Err(PluginError::usage(format!(
            "Give exactly one of --gone, --gone-regex, --changed, --released, without the \
             other wait conditions (given: {})",
            given
                .iter()
                .map(|s| s.to_string())
                .chain(mixed)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let after_seq = match inv.value("after-seq") {
        None => None,
        Some(v) => Some(v.trim().parse::<u64>().map_err(|_| {
            PluginError::usage(format!(
                "--after-seq must be a non-negative integer, got: {v}"
            ))
        })?),
    };
    let from_hash = inv.value("from-hash");
    if (from_hash.is_some() || after_seq.is_some()) && !inv.flag("changed") {
        return Err(PluginError::usage(
            "--from-hash and --after-seq set the baseline of --changed; give --changed too",
        ));
    }
    Ok(match given[0] {
        "--gone" => {
            let text = inv.value("gone").unwrap_or_default();
            if text.is_empty() {
                return Err(PluginError::usage("--gone needs a non-empty text"));
            }
            Goal::Gone(text.to_owned())
        }
        "--gone-regex" => {
            Goal::GoneRegex(compile_regex(inv.value("gone-regex").unwrap_or_default())?)
        }
        "--released" => Goal::Released,
        _ => Goal::Changed(match (after_seq, from_hash) {
            (Some(_), Some(_)) => {
                return Err(PluginError::usage(
                    "--after-seq and --from-hash are two baselines; give one",
                ))
            }
            (Some(seq), None) => Baseline::AfterSeq(seq),
            (None, Some(hash)) => {
                let hash = hash.trim().to_ascii_lowercase();
                if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(PluginError::usage(format!(
                        "--from-hash must be a screenHash (64 hex digits), got {hash:?}"
                    )));
                }
                Baseline::Hash(hash)
            }
            (None, None) => Baseline::Now,
        }),
    })
}

/// `wait` with one of these conditions.
pub(super) fn wait(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let goal = goal(inv)?;
    let limit = wait_limit(match inv.value("timeout") {
        None => None,
        Some(v) => Some(v.trim().parse::<u64>().map_err(|_| {
            PluginError::new(
                ErrorCode::InvalidDuration,
                format!("--timeout must be a non-negative integer, got: {v}"),
            )
        })?),
    });
    let target = Target::find(inv)?;
    let started = Instant::now();
    if let Goal::Released = goal {
        return released(&target, limit, started);
    }
    let mut replay = ScreenReplay::for_manifest_with_scrollback(&target.manifest, 0);
    let mut follower = EventLogFollower::new(&target.event_log());
    let mut baseline: Option<String> = match &goal {
        Goal::Changed(Baseline::Hash(h)) => Some(h.clone()),
        _ => None,
    };
    let after = match &goal {
        Goal::Changed(Baseline::AfterSeq(seq)) => Some(*seq),
        _ => None,
    };
    let mut first = true;
    let followed = follow::until(&target, limit, started, |look| {
        let before = replay.last_seq();
        match after {
            // The baseline is the screen just before the first event past it.
            Some(seq) => {
                follower.read_new(|event| {
                    if baseline.is_none() && event.seq > seq {
                        baseline = Some(screen_hash(&replay.visible_lines()));
                    }
                    replay.apply(&event);
                })?;
            }
            None => {
                replay.catch_up(&mut follower)?;
            }
        }
        if first {
            first = false;
            if matches!(goal, Goal::Changed(Baseline::Now)) {
                baseline = Some(screen_hash(&replay.visible_lines()));
            }
        }
        let ended = look.ended_elsewhere || replay.exit().is_some();
        let holds = match &goal {
            Goal::Gone(text) => !replay.match_text().contains(text.as_str()),
            Goal::GoneRegex(re) => !re.is_match(&replay.match_text()),
            Goal::Changed(_) => baseline
                .as_ref()
                .is_some_and(|b| *b != screen_hash(&replay.visible_lines())),
            Goal::Released => unreachable!("answered above"),
        };
        Ok(if holds {
            Step::Done(true)
        } else if ended {
            Step::Done(false)
        } else {
            Step::Pending {
                active: replay.last_seq() != before,
            }
        })
    })?;
    let visible = replay.visible_lines();
    let (row, col) = replay.cursor();
    let seq = replay.last_seq().unwrap_or(0);
    let mut result = Map::new();
    match followed {
        Followed::Done(true) => {
            result.insert("matched".into(), json!(true));
            result.insert("timedOut".into(), json!(false));
        }
        Followed::Done(false) => {
            return Err(PluginError::new(
                ErrorCode::ReplayError,
                format!(
                    "Session {} has ended and its final screen does not meet --{}; it never will. \
                     `agent-tty snapshot {}` shows that screen",
                    target.id,
                    flag_of(&goal),
                    target.id
                ),
            )
            .with_details(json!({ "sessionId": target.id, "condition": goal.name() })));
        }
        Followed::TimedOut => {
            result.insert("matched".into(), json!(false));
            result.insert("timedOut".into(), json!(true));
        }
    }
    let matched = result["matched"] == true;
    result.insert("condition".into(), json!(goal.name()));
    result.insert("cursorRow".into(), json!(row));
    result.insert("cursorCol".into(), json!(col));
    result.insert("capturedAtSeq".into(), json!(seq));
    result.insert("screenHash".into(), json!(screen_hash(&visible)));
    if let (Goal::Changed(_), Some(b)) = (&goal, &baseline) {
        result.insert("baselineHash".into(), json!(b));
    }
    let human = if matched {
        format!(
            "{}\nCursor: row {row}, col {col}\ncapturedAtSeq: {seq}",
            goal.met()
        )
    } else {
        format!(
            "Wait timed out. (capturedAtSeq: {seq})\n`agent-tty snapshot {}` shows the screen now.",
            target.id
        )
    };
    let mut out = CommandOutput::new(Value::Object(result), human);
    if !matched {
        out.exit_code = ErrorCode::WaitTimeout.exit_code();
    }
    Ok(out)
}

fn flag_of(goal: &Goal) -> &'static str {
    match goal {
        Goal::Gone(_) => "gone",
        Goal::GoneRegex(_) => "gone-regex",
        Goal::Changed(_) => "changed",
        Goal::Released => "released",
    }
}

/// `--released`: until nobody holds control of the Session.
fn released(
    target: &Target,
    limit: Option<std::time::Duration>,
    started: Instant,
) -> Result<CommandOutput, PluginError> {
    let held = takeover::controller(&target.dir);
    let followed = follow::until(target, limit, started, |look| {
        Ok(
            if look.ended_elsewhere || takeover::controller(&target.dir).is_none() {
                Step::Done(())
            } else {
                Step::Pending { active: false }
            },
        )
    })?;
    let released = matches!(followed, Followed::Done(()));
    let result = json!({
        "matched": released,
        "timedOut": !released,
        "condition": "released",
        "released": released,
        "wasControlled": held.is_some(),
        "control": if released { Value::Null } else { takeover::controller(&target.dir).map(|c| c.to_json()).unwrap_or(Value::Null) },
    });
    let human = match (released, &held) {
        (true, Some(c)) => format!(
            "Released: {} detached.",
            agent_tty_core::text::escape(&c.holder)
        ),
        (true, None) => "Nobody controls the Session.".to_owned(),
        (false, _) => format!("Wait timed out; Session {} is still controlled.", target.id),
    };
    let mut out = CommandOutput::new(result, human);
    if !released {
        out.exit_code = ErrorCode::WaitTimeout.exit_code();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn a_gone_pattern_is_shown_escaped() {
        let goal = Goal::GoneRegex(Regex::new("x\x1b]0;title\x07").unwrap());
        let met = goal.met();
        assert!(!met.contains('\x1b') && !met.contains('\x07'), "{met:?}");
        assert!(met.starts_with("Nothing matches: x"), "{met:?}");
    }

    fn inv(args: Value) -> Invocation {
        Invocation {
            command: vec!["wait".into()],
            args: args.as_object().cloned().unwrap_or_default(),
            context: Default::default(),
        }
    }

    #[rstest]
    #[case(json!({"gone": "x", "changed": true}), "exactly one of")]
    #[case(json!({"gone": "x", "text": "y"}), "(given: --gone, --text)")]
    #[case(json!({"released": true, "exit": true}), "--exit")]
    #[case(json!({"gone": "x", "from-hash": "ab"}), "give --changed too")]
    #[case(json!({"changed": true, "from-hash": "ab"}), "64 hex digits")]
    #[case(json!({"changed": true, "from-hash": "a".repeat(64), "after-seq": "3"}), "give one")]
    #[case(json!({"gone": ""}), "non-empty")]
    #[case(json!({"gone-regex": "(a+)+"}), "contains nested quantifiers")]
    fn bad_combinations_are_usage_errors(#[case] args: Value, #[case] says: &str) {
        let e = goal(&inv(args)).err().expect("refused");
        assert_eq!(e.code, ErrorCode::InvalidInput);
        assert!(e.message.contains(says), "{}", e.message);
    }

    #[test]
    fn baselines() {
        let g = goal(&inv(json!({"changed": true, "after-seq": "7"}))).unwrap();
        assert!(matches!(g, Goal::Changed(Baseline::AfterSeq(7))));
        let g = goal(&inv(json!({"changed": true, "from-hash": "AB".repeat(32)}))).unwrap();
        assert!(matches!(g, Goal::Changed(Baseline::Hash(h)) if h == "ab".repeat(32)));
        assert!(matches!(
            goal(&inv(json!({"changed": true}))).unwrap(),
            Goal::Changed(Baseline::Now)
        ));
        assert!(wanted(&inv(json!({"released": true}))));
        assert!(!wanted(&inv(json!({"text": "x"}))));
    }
}
