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

use super::follow::{self, Followed, Step};
use super::snapshot::screen_hash;
use super::target::Target;
use agent_tty_core::event_log::{EventBody, EventLogFollower};
use agent_tty_core::manifest::read_manifest;
use agent_tty_core::screen::ScreenReplay;
use agent_tty_plugin_api::{ArgSpec, Command, CommandSpec};
use agent_tty_plugin_api::{CommandOutput, ErrorCode, Invocation, PluginError};
use regex::Regex;
use serde_json::{json, Map, Value};
use std::path::Path;
use std::time::{Duration, Instant};

pub(crate) use agent_tty_runtime::control::DEFAULT_WAIT_TIMEOUT;

/// A render wait's limit from the milliseconds given: the default when none,
/// `None` (forever) for `0`. Shared by `wait`, `batch`'s wait steps and the
/// host's answer to 0.5's `waitForRender`.
pub(crate) fn wait_limit(ms: Option<u64>) -> Option<Duration> {
    match ms {
        None => Some(DEFAULT_WAIT_TIMEOUT),
        Some(0) => None,
        Some(ms) => Some(Duration::from_millis(ms)),
    }
}

/// `--text` is 1 to 1000 characters, `--regex` 1 to 200 (0.5's limits).
const MAX_TEXT_CHARS: usize = 1000;
const MAX_REGEX_CHARS: usize = 200;

/// A regex is tried on the first 50 000 characters of the screen text.
const MAX_REGEX_INPUT_CHARS: usize = 50_000;

/// The render flags (any of them makes a render wait).
const RENDER_FLAGS: &[&str] = &[
    "text",
    "regex",
    "screen-stable-ms",
    "cursor-row",
    "cursor-col",
    "after-seq",
];

/// A render wait's conditions; every one given must hold at once.
#[derive(Debug, Default, Clone)]
pub(crate) struct Render {
    text: Option<String>,
    regex: Option<Regex>,
    stable: Option<Duration>,
    cursor_row: Option<u64>,
    cursor_col: Option<u64>,
    after_seq: Option<u64>,
}

/// What the caller waits for.
#[derive(Debug)]
pub(crate) enum Condition {
    /// Screen conditions.
    Render(Render),
    /// Legacy: the command ended.
    Exit,
    /// Legacy: no output for this long.
    Idle(Duration),
}

fn invalid(code: ErrorCode, message: String) -> PluginError {
    PluginError::new(code, message)
}

/// A flag's value as a whole number, or the error `code` with `what`.
fn whole(
    inv: &Invocation,
    name: &str,
    positive: bool,
    code: ErrorCode,
) -> Result<Option<u64>, PluginError> {
    let Some(given) = inv.value(name) else {
        return Ok(None);
    };
    match given.trim().parse::<u64>() {
        Ok(n) if n > 0 || !positive => Ok(Some(n)),
        // A whole number all the same, only beyond what fits.
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => Err(invalid(
            code,
            format!(
                "--{name} is too large: the maximum is {}, got: {given}",
                u64::MAX
            ),
        )
        .with_details(json!({ "flag": format!("--{name}"), "value": given, "max": u64::MAX }))),
        _ => {
            let kind = if positive {
                "a positive integer"
            } else {
                "a non-negative integer"
            };
            Err(
                invalid(code, format!("--{name} must be {kind}, got: {given}"))
                    .with_details(json!({ "flag": format!("--{name}"), "value": given })),
            )
        }
    }
}

/// `--timeout`: `None` waits forever (`0`).
fn wait_timeout(inv: &Invocation) -> Result<Option<Duration>, PluginError> {
    Ok(wait_limit(whole(
        inv,
        "timeout",
        false,
        ErrorCode::InvalidDuration,
    )?))
}

impl Condition {
    /// The conditions, checked in 0.5's order; also returns `--timeout`.
    fn from_invocation(inv: &Invocation) -> Result<(Condition, Option<Duration>), PluginError> {
        let render = RENDER_FLAGS.iter().any(|f| inv.value(f).is_some());
        let legacy = inv.flag("exit") || inv.value("idle-ms").is_some();
        if render && legacy {
            return Err(invalid(
                ErrorCode::InvalidInput,
                "Cannot mix legacy wait flags (--exit, --idle-ms) with render wait flags \
                 (--text, --regex, --screen-stable-ms, --cursor-row, --cursor-col, --after-seq)."
                    .into(),
            ));
        }
        if !render {
            if inv.flag("exit") == inv.value("idle-ms").is_some() {
                return Err(invalid(
                    ErrorCode::InvalidDuration,
                    "Specify exactly one of --exit or --idle-ms (or a render condition such as \
                     --text, --regex or --screen-stable-ms)."
                        .into(),
                ));
            }
            let idle = whole(inv, "idle-ms", true, ErrorCode::InvalidDuration)?;
            let timeout = wait_timeout(inv)?;
            let condition = match idle {
                Some(ms) => Condition::Idle(Duration::from_millis(ms)),
                None => Condition::Exit,
            };
            return Ok((condition, timeout));
        }
        // 0.5 refuses this before it reads the numbers ([`Render::build`]
        // refuses it too, for the callers that parse everything first).
        if inv.value("text").is_some() && inv.value("regex").is_some() {
            return Err(text_with_regex());
        }
        let stable = whole(inv, "screen-stable-ms", true, ErrorCode::InvalidDuration)?;
        let cursor_row = whole(inv, "cursor-row", false, ErrorCode::InvalidInput)?;
        let cursor_col = whole(inv, "cursor-col", false, ErrorCode::InvalidInput)?;
        let after_seq = whole(inv, "after-seq", false, ErrorCode::InvalidInput)?;
        let timeout = wait_timeout(inv)?;
        let render = Render::build(
            inv.value("text").map(str::to_owned),
            inv.value("regex"),
            stable,
            cursor_row,
            cursor_col,
            after_seq,
        )?;
        Ok((Condition::Render(render), timeout))
    }
}

impl Render {
    /// A render wait's conditions, checked in 0.5's order from `text` with
    /// `regex` on (the caller has parsed the numbers). Shared by `wait`,
    /// `batch` and the host's answer to 0.5's `waitForRender`.
    pub(crate) fn build(
        text: Option<String>,
        pattern: Option<&str>,
        stable: Option<u64>,
        cursor_row: Option<u64>,
        cursor_col: Option<u64>,
        after_seq: Option<u64>,
    ) -> Result<Render, PluginError> {
        if text.is_some() && pattern.is_some() {
            return Err(text_with_regex());
        }
        if text.is_none()
            && pattern.is_none()
            && stable.is_none()
            && cursor_row.is_none()
            && cursor_col.is_none()
        {
            return Err(invalid(
                ErrorCode::InvalidInput,
                "waitForRender requires at least one of text, regex, screenStableMs, cursorRow, \
                 or cursorCol; --after-seq only narrows them."
                    .into(),
            ));
        }
        if let Some(t) = &text {
            let n = t.chars().count();
            if !(1..=MAX_TEXT_CHARS).contains(&n) {
                return Err(invalid(
                    ErrorCode::InvalidInput,
                    format!("--text must be 1 to {MAX_TEXT_CHARS} characters long, got {n}."),
                ));
            }
        }
        let regex = match pattern {
            None => None,
            Some(p) => Some(compile_regex(p)?),
        };
        Ok(Render {
            text,
            regex,
            stable: stable.map(Duration::from_millis),
            cursor_row,
            cursor_col,
            after_seq,
        })
    }

    /// The same conditions, only on screens that include events after
    /// `seq` (`batch`'s Wait Baseline).
    pub(crate) fn after(&self, seq: Option<u64>) -> Render {
        Render {
            after_seq: seq,
            ..self.clone()
        }
    }
}

/// `text` and `regex` given together.
fn text_with_regex() -> PluginError {
    invalid(
        ErrorCode::InvalidInput,
        "--text and --regex are mutually exclusive.".into(),
    )
}

/// `--regex`: 1..200 characters, no nested quantifiers, then compiled. No
/// flags, as in 0.5 (`^`/`$` match at the ends of the whole screen text).
pub(super) fn compile_regex(pattern: &str) -> Result<Regex, PluginError> {
    let n = pattern.chars().count();
    if !(1..=MAX_REGEX_CHARS).contains(&n) {
        return Err(invalid(
            ErrorCode::InvalidInput,
            format!("--regex must be 1 to {MAX_REGEX_CHARS} characters long, got {n}."),
        ));
    }
    // Kept for 0.5 parity only, in 0.5's words: the `regex` crate matches
    // in linear time, so a nested quantifier costs us nothing, but 0.5
    // refuses these patterns and a script may rely on the refusal.
    if has_nested_quantifier(pattern) {
        return Err(invalid(
            ErrorCode::InvalidInput,
            "Regex pattern contains nested quantifiers which may cause catastrophic \
             backtracking. Simplify the pattern."
                .to_owned(),
        )
        .with_details(json!({ "regex": pattern })));
    }
    Regex::new(pattern).map_err(|e| {
        invalid(
            ErrorCode::InvalidInput,
            format!("Invalid regex pattern: {pattern:?}: {e}"),
        )
        .with_details(json!({ "regex": pattern }))
    })
}

/// 0.5's heuristic against catastrophic patterns: a group that contains a
/// quantifier and is itself quantified (`(a+)+`, `(x*)*`, `(x?){2}`, also
/// through inner groups). `\` escapes the next character; `[...]` is skipped.
pub(super) fn has_nested_quantifier(pattern: &str) -> bool {
    let chars: Vec<char> = pattern.chars().collect();
    // Per open group: whether it holds a quantifier.
    let mut groups: Vec<bool> = vec![false];
    // Whether the atom just before is a group, and if it holds a quantifier.
    let mut last_group: Option<bool> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let quantifier_len = match c {
            '*' | '+' => 1,
            '?' if i > 0 && chars[i - 1] == '(' => 0,
            '?' => 1,
            '{' => bounded_quantifier(&chars[i..]).unwrap_or(0),
            _ => 0,
        };
        if quantifier_len > 0 {
            if last_group == Some(true) {
                return true;
            }
            if let Some(top) = groups.last_mut() {
                *top = true;
            }
            last_group = None;
            i += quantifier_len;
            continue;
        }
        match c {
            '\\' => {
                i += 2;
                last_group = None;
                continue;
            }
            '[' => {
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    i += 1;
                }
                while i < chars.len() && chars[i] != ']' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                last_group = None;
            }
            '(' => {
                groups.push(false);
                last_group = None;
            }
            ')' => {
                let held = if groups.len() > 1 {
                    groups.pop().unwrap_or(false)
                } else {
                    false
                };
                if held {
                    if let Some(parent) = groups.last_mut() {
                        *parent = true;
                    }
                }
                last_group = Some(held);
            }
            _ => last_group = None,
        }
        i += 1;
    }
    false
}

/// The length of `{n}`, `{n,}` or `{n,m}` at the start of `chars`.
fn bounded_quantifier(chars: &[char]) -> Option<usize> {
    let close = chars.iter().position(|&c| c == '}')?;
    let inner: String = chars[1..close].iter().collect();
    let (min, max) = match inner.split_once(',') {
        Some((a, b)) => (a, Some(b)),
        None => (inner.as_str(), None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(min) && max.is_none_or(|m| m.is_empty() || digits(m))).then_some(close + 1)
}

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
}

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
    let render = matches!(waiter.condition, Condition::Render(_));
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
            let exit = matches!(waiter.condition, Condition::Exit);
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
            agent_tty_core::signals::name_of_recorded(signal)
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
}

#[cfg(test)]
mod checks {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("(a+)+", true)]
    #[case("(x*)*", true)]
    #[case("(x?){2}", true)]
    #[case("((a+)b)*", true)]
    #[case("(?:a|b+)+", true)]
    #[case("(a|b)+", false)]
    #[case("a+b*c?", false)]
    #[case(r"\(a+\)+", false)]
    #[case("[(a+)]+", false)]
    #[case("(ab){2,3}", false)]
    #[case("(a{2}){3}", true)]
    #[case("answer-\\d+", false)]
    fn nested_quantifiers_are_caught(#[case] pattern: &str, #[case] nested: bool) {
        assert_eq!(has_nested_quantifier(pattern), nested, "{pattern}");
    }

    fn inv(args: &[(&str, serde_json::Value)]) -> Invocation {
        Invocation {
            command: vec!["wait".into()],
            args: args
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            context: Default::default(),
        }
    }

    #[rstest]
    #[case(&[("text", json!("a")), ("exit", json!(true))], ErrorCode::InvalidInput, "Cannot mix")]
    #[case(&[("text", json!("a")), ("regex", json!("b"))], ErrorCode::InvalidInput, "mutually exclusive")]
    #[case(&[("screen-stable-ms", json!("0"))], ErrorCode::InvalidDuration, "positive")]
    #[case(&[("cursor-row", json!("-1"))], ErrorCode::InvalidInput, "non-negative")]
    #[case(&[("text", json!("a")), ("timeout", json!("x"))], ErrorCode::InvalidDuration, "--timeout")]
    #[case(&[("after-seq", json!("3"))], ErrorCode::InvalidInput, "at least one of")]
    #[case(&[("text", json!(""))], ErrorCode::InvalidInput, "1 to 1000")]
    #[case(&[("text", json!("x".repeat(1001)))], ErrorCode::InvalidInput, "1 to 1000")]
    #[case(&[("regex", json!("x".repeat(201)))], ErrorCode::InvalidInput, "1 to 200")]
    #[case(&[("regex", json!("(a+)+"))], ErrorCode::InvalidInput, "contains nested quantifiers")]
    #[case(&[("regex", json!("(unclosed"))], ErrorCode::InvalidInput, "Invalid regex pattern")]
    #[case(&[], ErrorCode::InvalidDuration, "exactly one of --exit or --idle-ms")]
    #[case(&[("idle-ms", json!("0"))], ErrorCode::InvalidDuration, "positive")]
    fn refusals_in_order(
        #[case] args: &[(&str, serde_json::Value)],
        #[case] code: ErrorCode,
        #[case] says: &str,
    ) {
        let err = Condition::from_invocation(&inv(args)).unwrap_err();
        assert_eq!(err.code, code, "{err}");
        assert!(err.message.contains(says), "{err}");
    }

    #[test]
    fn conditions_combine() {
        let (c, limit) = Condition::from_invocation(&inv(&[
            ("text", json!("$")),
            ("cursor-row", json!("2")),
            ("after-seq", json!("5")),
            ("timeout", json!("0")),
        ]))
        .unwrap();
        assert!(limit.is_none());
        let Condition::Render(r) = c else {
            panic!("render")
        };
        assert_eq!((r.cursor_row, r.after_seq), (Some(2), Some(5)));
    }
}
