//! `batch <id> [steps] [--file PATH] [--keep-going]` (contract §4): a JSON
//! plan of `type`, `paste`, `sendKeys`, `run` and `wait` steps run in order
//! against one Session, in one process.
//!
//! The order is 0.5's: the source (positional JSON *xor* `--file`; `--file -`
//! reads standard input, our superset), then the **whole plan** is parsed and
//! validated (nothing is sent when any step is bad), then the target, then
//! the steps. Every step is carried out by the same code as its command:
//! input goes through [`Target::send`], `run` through
//! [`run_in_session`](super::run::run_in_session), `wait` through the
//! [`Waiter`](super::wait::Waiter) and [`follow`](super::wait::follow) loop.
//!
//! **Wait Baseline.** A `wait` only accepts screens captured after the last
//! event a preceding non-wait step produced (its `seq`, even that of a run
//! that then failed), so `[{"type":"ls\n"},{"wait":{"text":"$"}}]` cannot
//! match the prompt that was there before `ls`.
//!
//! **Interruption.** The steps run on a worker thread; the command's thread
//! watches for SIGINT/SIGTERM (through `signal-hook`) and, when one arrives,
//! answers at once with the partial result: the step in flight `interrupted`,
//! later ones `not-run`, exit status 128 + the signal's number. The in-flight
//! request is abandoned, not cancelled, as in 0.5.

use super::input_file::read_text_file;
use super::run::{run_in_session, shell_command, RunEnd};
use super::target::Target;
use super::wait::{follow, Condition, WaitEnd, Waiter};
use agent_tty_core::control::ControlRequest;
use agent_tty_core::keys;
use agent_tty_core::screen::ScreenReplay;
use agent_tty_plugin_api::{CommandOutput, ErrorCode, Invocation, PluginError};
use regex::Regex;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const USAGE: &str = "Usage: agent-tty batch <session-id> [steps] [--file <path>]";
const VERBS: &str = "type|paste|sendKeys|run|wait";
/// A `run` step's limit when it gives none.
const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_millis(30_000);
/// A `wait` step's limit when it gives none (`0` waits forever).
const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_millis(600_000);
/// Longest `text` and `regex` a wait accepts (contract §3.12).
const MAX_WAIT_TEXT: usize = 1000;
const MAX_WAIT_REGEX: usize = 200;

/// One validated step.
enum Step {
    Type(String),
    Paste(String),
    SendKeys(Vec<String>),
    Run {
        command: String,
        no_wait: bool,
        timeout: Duration,
    },
    Wait {
        conditions: Vec<Condition>,
        limit: Option<Duration>,
    },
}

impl Step {
    fn kind(&self) -> &'static str {
        match self {
            Step::Type(_) => "type",
            Step::Paste(_) => "paste",
            Step::SendKeys(_) => "sendKeys",
            Step::Run { .. } => "run",
            Step::Wait { .. } => "wait",
        }
    }

    /// The record of a step that did not finish (`not-run`, `interrupted`).
    fn unfinished(&self, index: usize, status: &str) -> Value {
        let mut r =
            json!({ "index": index, "durationMs": 0, "kind": self.kind(), "status": status });
        if let Step::Run { no_wait, .. } = self {
            r["noWait"] = json!(no_wait);
        }
        r
    }
}

pub(super) fn batch(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let source = plan_source(inv.value("steps"), inv.value("file"))?;
    let plan = parse_plan(&source)?;
    let target = Target::find(inv)?;
    target.require_running()?;
    let keep_going = inv.flag("keep-going");
    Ok(execute(target, plan, keep_going))
}

/// The plan's text: the positional argument xor `--file`.
fn plan_source(positional: Option<&str>, file: Option<&str>) -> Result<String, PluginError> {
    let invalid = |m: String| PluginError::new(ErrorCode::InvalidInput, m);
    match (positional, file) {
        (Some(_), Some(_)) => Err(invalid(format!(
            "Positional [steps] argument and --file are mutually exclusive. {USAGE}"
        ))),
        (None, None) => Err(invalid(format!(
            "Missing steps. Pass a JSON array of steps or --file <path>. {USAGE}"
        ))),
        (Some(""), None) => Err(invalid("Steps must not be empty.".into())),
        (Some(text), None) => Ok(text.to_owned()),
        (None, Some(path)) => read_text_file(path, "Steps file"),
    }
}

fn invalid(message: impl Into<String>) -> PluginError {
    PluginError::new(ErrorCode::InvalidInput, message)
}

/// Parses and validates the whole plan (contract §4's messages).
fn parse_plan(source: &str) -> Result<Vec<Step>, PluginError> {
    let value: Value =
        serde_json::from_str(source).map_err(|_| invalid("Batch steps must be valid JSON."))?;
    let Value::Array(items) = value else {
        return Err(invalid("Batch steps must be a JSON array."));
    };
    if items.is_empty() {
        return Err(invalid("Batch must contain at least one step."));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_step(i, item))
        .collect()
}

fn parse_step(i: usize, item: &Value) -> Result<Step, PluginError> {
    let Value::Object(obj) = item else {
        return Err(invalid(format!("Batch step {i} must be a JSON object"))
            .with_details(json!({ "stepIndex": i })));
    };
    let verbs: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| VERBS.split('|').any(|v| v == *k))
        .collect();
    if verbs.len() != 1 {
        let found = if verbs.is_empty() {
            "none".to_owned()
        } else {
            verbs.join(", ")
        };
        return Err(invalid(format!(
            "Batch step {i} must have exactly one of {VERBS}; found {found}"
        ))
        .with_details(json!({ "stepIndex": i })));
    }
    let verb = verbs[0];
    let mut issues = Vec::new();
    let allowed: &[&str] = match verb {
        "run" => &["run", "noWait", "timeout"],
        other => std::slice::from_ref(match other {
            "type" => &"type",
            "paste" => &"paste",
            "sendKeys" => &"sendKeys",
            _ => &"wait",
        }),
    };
    for key in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
        issues.push(issue(&[], &format!("Unrecognized key: \"{key}\"")));
    }
    let text = |key: &str, issues: &mut Vec<Value>| match obj.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::String(_)) => {
            issues.push(issue(&[key], "must not be empty"));
            None
        }
        _ => {
            issues.push(issue(&[key], "expected a string"));
            None
        }
    };
    let step = match verb {
        "type" => text("type", &mut issues).map(Step::Type),
        "paste" => text("paste", &mut issues).map(Step::Paste),
        "sendKeys" => match obj.get("sendKeys") {
            Some(Value::Array(keys))
                if !keys.is_empty()
                    && keys
                        .iter()
                        .all(|k| k.as_str().is_some_and(|s| !s.is_empty())) =>
            {
                Some(Step::SendKeys(
                    keys.iter()
                        .map(|k| k.as_str().unwrap_or_default().to_owned())
                        .collect(),
                ))
            }
            _ => {
                issues.push(issue(
                    &["sendKeys"],
                    "expected an array of at least one non-empty key name",
                ));
                None
            }
        },
        "run" => {
            let command = text("run", &mut issues);
            let no_wait = match obj.get("noWait") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    issues.push(issue(&["noWait"], "expected a boolean"));
                    false
                }
            };
            let timeout = match obj.get("timeout") {
                None => Some(DEFAULT_RUN_TIMEOUT),
                Some(v) => match v.as_u64().filter(|n| *n > 0) {
                    Some(ms) => Some(Duration::from_millis(ms)),
                    None => {
                        issues.push(issue(&["timeout"], "expected a positive integer"));
                        None
                    }
                },
            };
            match (command, timeout) {
                (Some(command), Some(timeout)) if issues.is_empty() => Some(Step::Run {
                    command,
                    no_wait,
                    timeout,
                }),
                _ => None,
            }
        }
        _ => parse_wait(obj.get("wait"), &mut issues)?,
    };
    match step {
        Some(step) if issues.is_empty() => {
            if let Step::SendKeys(names) = &step {
                keys::encode(names)?;
            }
            if let Step::Run { command, .. } = &step {
                shell_command(command)?;
            }
            Ok(step)
        }
        _ => Err(invalid(format!("Batch step {i} is invalid"))
            .with_details(json!({ "stepIndex": i, "issues": issues }))),
    }
}

fn issue(path: &[&str], message: &str) -> Value {
    json!({ "path": path, "message": message })
}

/// A `wait` step: schema issues go to `issues`; a condition that fails
/// `wait`'s own checks is that error (no step index, as in 0.5).
fn parse_wait(value: Option<&Value>, issues: &mut Vec<Value>) -> Result<Option<Step>, PluginError> {
    let Some(Value::Object(w)) = value else {
        issues.push(issue(&["wait"], "expected an object"));
        return Ok(None);
    };
    const KEYS: [&str; 6] = [
        "text",
        "regex",
        "screenStableMs",
        "cursorRow",
        "cursorCol",
        "timeout",
    ];
    for key in w.keys().filter(|k| !KEYS.contains(&k.as_str())) {
        issues.push(issue(&["wait"], &format!("Unrecognized key: \"{key}\"")));
    }
    let string = |key: &str, issues: &mut Vec<Value>| match w.get(key) {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            issues.push(issue(&["wait", key], "expected a string"));
            None
        }
    };
    let number = |key: &str, min: u64, issues: &mut Vec<Value>| match w.get(key) {
        None => None,
        Some(v) => match v.as_u64().filter(|n| *n >= min) {
            Some(n) => Some(n),
            None => {
                let want = if min == 0 {
                    "a non-negative integer"
                } else {
                    "a positive integer"
                };
                issues.push(issue(&["wait", key], &format!("expected {want}")));
                None
            }
        },
    };
    let text = string("text", issues);
    let regex = string("regex", issues);
    let stable = number("screenStableMs", 1, issues);
    let row = number("cursorRow", 0, issues);
    let col = number("cursorCol", 0, issues);
    let timeout = number("timeout", 0, issues);
    if !issues.is_empty() {
        return Ok(None);
    }
    let spec = RenderWait {
        text,
        regex,
        screen_stable_ms: stable,
        cursor_row: row,
        cursor_col: col,
    };
    let conditions = spec.conditions()?;
    let limit = match timeout {
        None => Some(DEFAULT_WAIT_TIMEOUT),
        Some(0) => None,
        Some(ms) => Some(Duration::from_millis(ms)),
    };
    Ok(Some(Step::Wait { conditions, limit }))
}

/// The screen conditions of a render wait, before they are checked.
pub(crate) struct RenderWait {
    pub text: Option<String>,
    pub regex: Option<String>,
    pub screen_stable_ms: Option<u64>,
    pub cursor_row: Option<u64>,
    pub cursor_col: Option<u64>,
}

impl RenderWait {
    /// Checks the conditions in 0.5's order (§3.12) and builds them.
    pub fn conditions(&self) -> Result<Vec<Condition>, PluginError> {
        if self.text.is_some() && self.regex.is_some() {
            return Err(invalid("--text and --regex are mutually exclusive."));
        }
        if self.text.is_none()
            && self.regex.is_none()
            && self.screen_stable_ms.is_none()
            && self.cursor_row.is_none()
            && self.cursor_col.is_none()
        {
            return Err(invalid(
                "waitForRender requires at least one of text, regex, screenStableMs, cursorRow, \
                 or cursorCol.",
            ));
        }
        let mut conditions = Vec::new();
        if let Some(text) = &self.text {
            let n = text.chars().count();
            if n == 0 || n > MAX_WAIT_TEXT {
                return Err(invalid(format!(
                    "Wait text must be between 1 and {MAX_WAIT_TEXT} characters (got {n})."
                )));
            }
            conditions.push(Condition::Text(text.clone()));
        }
        if let Some(pattern) = &self.regex {
            let n = pattern.chars().count();
            if n == 0 || n > MAX_WAIT_REGEX {
                return Err(invalid(format!(
                    "Wait regex must be between 1 and {MAX_WAIT_REGEX} characters (got {n})."
                )));
            }
            if has_nested_quantifier(pattern) {
                return Err(invalid(format!(
                    "Regex pattern {pattern:?} nests quantifiers (like (a+)+), which can take \
                     exponential time; rewrite it without a quantified group that itself \
                     contains a quantifier."
                )));
            }
            let regex =
                Regex::new(pattern).map_err(|e| invalid(format!("Invalid regex pattern: {e}")))?;
            conditions.push(Condition::Regex(regex));
        }
        if let Some(ms) = self.screen_stable_ms {
            conditions.push(Condition::ScreenStable(Duration::from_millis(ms)));
        }
        let cursor = |v: u64| u16::try_from(v).unwrap_or(u16::MAX);
        if let Some(r) = self.cursor_row {
            conditions.push(Condition::CursorRow(cursor(r)));
        }
        if let Some(c) = self.cursor_col {
            conditions.push(Condition::CursorCol(cursor(c)));
        }
        Ok(conditions)
    }
}

/// 0.5's nested-quantifier heuristic (§3.12): a group that contains a
/// quantifier and is itself quantified (`(a+)+`, `(x*)*`, `(x?){2}`, also
/// through inner groups) is refused. `\` escapes the next character and
/// `[...]` classes are skipped.
pub(super) fn has_nested_quantifier(pattern: &str) -> bool {
    let chars: Vec<char> = pattern.chars().collect();
    // Per open group: does it contain a quantifier?
    let mut groups: Vec<bool> = Vec::new();
    let mut i = 0;
    // Whether a quantifier starts at `j`; returns its length.
    let quantifier_at = |j: usize| -> usize {
        match chars.get(j) {
            Some('*' | '+' | '?') => 1,
            Some('{') => {
                let mut k = j + 1;
                let digits = |k: &mut usize| {
                    let s = *k;
                    while chars.get(*k).is_some_and(|c| c.is_ascii_digit()) {
                        *k += 1;
                    }
                    *k > s
                };
                if !digits(&mut k) {
                    return 0;
                }
                if chars.get(k) == Some(&',') {
                    k += 1;
                    digits(&mut k);
                }
                if chars.get(k) == Some(&'}') {
                    k + 1 - j
                } else {
                    0
                }
            }
            _ => 0,
        }
    };
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '[' => {
                i += 1;
                while i < chars.len() && chars[i] != ']' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            '(' => {
                groups.push(false);
                i += 1;
                // `(?:`, `(?=`, ...: that `?` is not a quantifier.
                if chars.get(i) == Some(&'?') {
                    i += 1;
                }
            }
            ')' => {
                let inner = groups.pop().unwrap_or(false);
                let q = quantifier_at(i + 1);
                if q > 0 && inner {
                    return true;
                }
                if q > 0 || inner {
                    if let Some(parent) = groups.last_mut() {
                        *parent = true;
                    }
                }
                i += 1 + q;
            }
            _ => {
                let q = quantifier_at(i);
                if q > 0 {
                    if let Some(current) = groups.last_mut() {
                        *current = true;
                    }
                    i += q;
                } else {
                    i += 1;
                }
            }
        }
    }
    false
}

/// A finished step: its record, and its error code when it failed.
struct Finished {
    record: Value,
    failed: Option<ErrorCode>,
    error_message: Option<String>,
}

/// What the worker has done so far, for an interruption to report.
#[derive(Default)]
struct Progress {
    finished: Vec<Finished>,
    /// The step in flight.
    current: Option<usize>,
}

/// The number of the signal that interrupted the batch (0: none).
type Interrupt = Arc<AtomicUsize>;

fn execute(target: Target, plan: Vec<Step>, keep_going: bool) -> CommandOutput {
    let plan = Arc::new(plan);
    let progress = Arc::new(Mutex::new(Progress::default()));
    let interrupt: Interrupt = Arc::new(AtomicUsize::new(0));
    let handlers: Vec<_> = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM]
        .into_iter()
        .filter_map(|sig| {
            signal_hook::flag::register_usize(sig, Arc::clone(&interrupt), sig as usize).ok()
        })
        .collect();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    {
        let plan = Arc::clone(&plan);
        let progress = Arc::clone(&progress);
        std::thread::spawn(move || {
            run_steps(&target, &plan, keep_going, &progress);
            let _ = done_tx.send(());
        });
    }
    // Wait for the worker, or a signal.
    let signal = loop {
        match done_rx.recv_timeout(Duration::from_millis(5)) {
            Ok(()) => break None,
            // The worker panicked: its step failed unexpectedly.
            Err(mpsc::RecvTimeoutError::Disconnected) => break None,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let sig = interrupt.load(Ordering::SeqCst);
                if sig != 0 {
                    break Some(sig as i32);
                }
            }
        }
    };
    for id in handlers {
        signal_hook::low_level::unregister(id);
    }
    let progress = progress.lock().unwrap_or_else(|p| p.into_inner());
    report(&plan, &progress, keep_going, signal)
}

/// Runs the steps in order, recording each.
fn run_steps(target: &Target, plan: &[Step], keep_going: bool, progress: &Mutex<Progress>) {
    let mut baseline: Option<u64> = None;
    for (index, step) in plan.iter().enumerate() {
        progress.lock().unwrap_or_else(|p| p.into_inner()).current = Some(index);
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_step(target, index, step, baseline)
        }))
        .unwrap_or_else(|_| StepOutcome {
            fields: Map::new(),
            seq: None,
            error: Some(PluginError::internal(format!(
                "Batch step {index} failed with an unexpected error."
            ))),
        });
        if !matches!(step, Step::Wait { .. }) {
            if let Some(seq) = outcome.seq {
                baseline = Some(seq);
            }
        }
        let failed = outcome.error.is_some();
        let mut record = json!({
            "index": index,
            "durationMs": started.elapsed().as_millis() as u64,
            "kind": step.kind(),
            "status": if failed { "failed" } else { "completed" },
        });
        let obj = record.as_object_mut().expect("an object");
        obj.extend(outcome.fields);
        let (code, message) = match &outcome.error {
            Some(e) => {
                obj.insert(
                    "error".into(),
                    json!({ "code": e.code, "message": e.message }),
                );
                (Some(e.code), Some(e.message.clone()))
            }
            None => (None, None),
        };
        let mut p = progress.lock().unwrap_or_else(|p| p.into_inner());
        p.finished.push(Finished {
            record,
            failed: code,
            error_message: message,
        });
        p.current = None;
        if failed && !keep_going {
            return;
        }
    }
}

/// A step's extra record fields, the `seq` it produced, and its failure.
struct StepOutcome {
    fields: Map<String, Value>,
    seq: Option<u64>,
    error: Option<PluginError>,
}

impl StepOutcome {
    fn failed(error: PluginError) -> Self {
        StepOutcome {
            fields: Map::new(),
            seq: None,
            error: Some(error),
        }
    }
}

fn run_step(target: &Target, index: usize, step: &Step, baseline: Option<u64>) -> StepOutcome {
    let input = |request: ControlRequest| match target
        .require_running()
        .and_then(|()| target.send(&request))
    {
        Ok(answer) => {
            let mut fields = Map::new();
            if let Some(seq) = answer.seq {
                fields.insert("seq".into(), json!(seq));
            }
            StepOutcome {
                fields,
                seq: answer.seq,
                error: None,
            }
        }
        Err(e) => StepOutcome::failed(e),
    };
    match step {
        Step::Type(text) => input(ControlRequest::Text { data: text.clone() }),
        Step::Paste(text) => input(ControlRequest::Paste { data: text.clone() }),
        Step::SendKeys(names) => input(ControlRequest::Keys {
            keys: names.clone(),
        }),
        Step::Run {
            command,
            no_wait,
            timeout,
        } => {
            let command = match shell_command(command) {
                Ok(c) => c,
                Err(e) => return StepOutcome::failed(e),
            };
            let run = match target
                .require_running()
                .and_then(|()| run_in_session(target, command, *no_wait, Some(*timeout)))
            {
                Ok(run) => run,
                Err(e) => {
                    let mut out = StepOutcome::failed(e);
                    out.fields.insert("noWait".into(), json!(no_wait));
                    return out;
                }
            };
            let outcome = match run.end {
                RunEnd::Started => "started",
                RunEnd::Completed => "completed",
                RunEnd::TimedOut => "timedOut",
                RunEnd::SessionEnded => "sessionExited",
            };
            let mut fields = Map::new();
            if let Some(seq) = run.seq {
                fields.insert("seq".into(), json!(seq));
            }
            fields.insert("noWait".into(), json!(no_wait));
            if !no_wait {
                fields.insert("completed".into(), json!(run.end == RunEnd::Completed));
                fields.insert("timedOut".into(), json!(run.end == RunEnd::TimedOut));
            }
            fields.insert("runOutcome".into(), json!(outcome));
            let error = match run.end {
                RunEnd::TimedOut => Some(PluginError::new(
                    ErrorCode::WaitTimeout,
                    format!("Waited Run at step {index} timed out before completing."),
                )),
                RunEnd::SessionEnded => Some(PluginError::new(
                    ErrorCode::SessionNotRunning,
                    format!(
                        "Waited Run at step {index} was interrupted by Session exit before \
                         completing."
                    ),
                )),
                _ => None,
            };
            StepOutcome {
                fields,
                seq: run.seq,
                error,
            }
        }
        Step::Wait { conditions, limit } => wait_step(target, index, conditions, *limit, baseline),
    }
}

fn wait_step(
    target: &Target,
    index: usize,
    conditions: &[Condition],
    limit: Option<Duration>,
    baseline: Option<u64>,
) -> StepOutcome {
    let mut fields = Map::new();
    if let Some(b) = baseline {
        fields.insert("waitBaseline".into(), json!(b));
    }
    // The target is re-checked before and after the wait (a manifest read).
    let fresh = match target.reread() {
        Ok(t) => t,
        Err(e) => {
            return StepOutcome {
                fields,
                seq: None,
                error: Some(e),
            }
        }
    };
    let started = Instant::now();
    let mut waiter = Waiter::all_of(
        &fresh.event_log(),
        ScreenReplay::for_manifest_with_scrollback(&fresh.manifest, 0),
        conditions.to_vec(),
        baseline,
        started,
    );
    let end = follow(&fresh, &mut waiter, limit, started);
    let captured = waiter.replay().last_seq().unwrap_or(0);
    let error = match end {
        Err(e) => Some(e),
        Ok(WaitEnd::Matched(found)) => {
            fields.insert("matched".into(), json!(true));
            fields.insert("timedOut".into(), json!(false));
            if let Some(found) = found {
                fields.insert("matchedText".into(), json!(found));
            }
            fields.insert("capturedAtSeq".into(), json!(captured));
            fields.insert(
                "screenHash".into(),
                json!(screen_hash(&waiter.replay().visible_lines())),
            );
            target.reread().err()
        }
        Ok(WaitEnd::TimedOut | WaitEnd::Unreachable) => {
            fields.insert("matched".into(), json!(false));
            fields.insert("timedOut".into(), json!(true));
            fields.insert("capturedAtSeq".into(), json!(captured));
            Some(target.reread().err().unwrap_or_else(|| {
                PluginError::new(
                    ErrorCode::WaitTimeout,
                    format!("Render wait at step {index} timed out before its condition was met."),
                )
            }))
        }
    };
    StepOutcome {
        fields,
        seq: None,
        error,
    }
}

/// `screenHash` (contract §7.9): lowercase hex SHA-256 of the visible lines
/// joined by `\n`.
pub(crate) fn screen_hash(lines: &[String]) -> String {
    let digest = Sha256::digest(lines.join("\n").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The envelope's result, human text and exit status.
fn report(
    plan: &[Step],
    progress: &Progress,
    keep_going: bool,
    signal: Option<i32>,
) -> CommandOutput {
    let mut steps: Vec<Value> = progress.finished.iter().map(|f| f.record.clone()).collect();
    for (index, step) in plan.iter().enumerate().skip(steps.len()) {
        let status = if signal.is_some() && progress.current == Some(index) {
            "interrupted"
        } else {
            "not-run"
        };
        steps.push(step.unfinished(index, status));
    }
    let completed = progress
        .finished
        .iter()
        .filter(|f| f.failed.is_none())
        .count();
    let failed: Vec<usize> = progress
        .finished
        .iter()
        .enumerate()
        .filter(|(_, f)| f.failed.is_some())
        .map(|(i, _)| i)
        .collect();

    let mut human = String::new();
    for s in &steps {
        let outcome = match (s["status"].as_str(), s["kind"].as_str()) {
            (Some("failed"), _) => format!(
                "failed ({})",
                s["error"]["code"].as_str().unwrap_or("INTERNAL_ERROR")
            ),
            (Some("completed"), Some("wait")) => match s["matchedText"].as_str() {
                Some(t) => format!("matched \"{t}\""),
                None => "matched".into(),
            },
            (Some("completed"), Some("run")) => {
                s["runOutcome"].as_str().unwrap_or("completed").to_owned()
            }
            (Some(status), _) => status.to_owned(),
            (None, _) => String::new(),
        };
        human.push_str(&format!(
            "[{}] {} {} ({}ms)\n",
            s["index"],
            s["kind"].as_str().unwrap_or(""),
            outcome,
            s["durationMs"]
        ));
    }
    human.push_str(&format!("{completed}/{} steps completed", plan.len()));
    let first_failure = progress
        .finished
        .iter()
        .enumerate()
        .find(|(_, f)| f.failed.is_some());
    let exit_code = match (signal, first_failure) {
        (Some(sig), _) => 128 + sig,
        (None, Some((i, f))) => {
            let code = f.failed.unwrap_or(ErrorCode::InternalError);
            if keep_going {
                let list: Vec<String> = failed.iter().map(|i| i.to_string()).collect();
                human.push_str(&format!("\nfailed steps: {}", list.join(", ")));
                1
            } else {
                human.push_str(&format!(
                    "\nfailed at step {i}: {}: {}",
                    code.as_str(),
                    f.error_message.as_deref().unwrap_or("")
                ));
                code.exit_code()
            }
        }
        (None, None) => 0,
    };
    CommandOutput {
        result: json!({
            "steps": steps,
            "completedCount": completed,
            "failedIndices": failed,
        }),
        human: Some(human),
        exit_code,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("(a+)+", true)]
    #[case("(x*)*", true)]
    #[case("(x?){2}", true)]
    #[case("((a+))+", true)]
    #[case("((a)+)+", true)]
    #[case("(a+)", false)]
    #[case("a+b*", false)]
    #[case("(ab)+", false)]
    #[case(r"\(a+\)+", false)]
    #[case("[(a+)]+", false)]
    #[case("(?:ab)+", false)]
    #[case("(a{2})+", true)]
    fn nested_quantifiers_are_found(#[case] pattern: &str, #[case] nested: bool) {
        assert_eq!(has_nested_quantifier(pattern), nested, "{pattern}");
    }

    fn plan_error(source: &str) -> PluginError {
        match parse_plan(source) {
            Ok(_) => panic!("{source} parsed"),
            Err(e) => e,
        }
    }

    #[rstest]
    #[case("nope", "Batch steps must be valid JSON.")]
    #[case("{}", "Batch steps must be a JSON array.")]
    #[case("[]", "Batch must contain at least one step.")]
    #[case("[1]", "Batch step 0 must be a JSON object")]
    #[case(
        r#"[{"type":"a"},{}]"#,
        "Batch step 1 must have exactly one of type|paste|sendKeys|run|wait; found none"
    )]
    #[case(
        r#"[{"type":"a","paste":"b"}]"#,
        "Batch step 0 must have exactly one of type|paste|sendKeys|run|wait; found type, paste"
    )]
    #[case(r#"[{"type":""}]"#, "Batch step 0 is invalid")]
    #[case(r#"[{"type":"a","extra":1}]"#, "Batch step 0 is invalid")]
    #[case(r#"[{"run":"ls","timeout":0}]"#, "Batch step 0 is invalid")]
    #[case(r#"[{"wait":{"afterSeq":1,"text":"a"}}]"#, "Batch step 0 is invalid")]
    #[case(
        r#"[{"wait":{"text":"a","regex":"b"}}]"#,
        "--text and --regex are mutually exclusive."
    )]
    #[case(r#"[{"wait":{"timeout":5}}]"#, "waitForRender requires at least one of text, regex, screenStableMs, cursorRow, or cursorCol.")]
    fn bad_plans_are_refused_with_0_5_messages(#[case] source: &str, #[case] message: &str) {
        let e = plan_error(source);
        assert_eq!(e.code, ErrorCode::InvalidInput);
        assert_eq!(e.message, message);
    }

    #[test]
    fn step_errors_name_the_step_and_its_issues() {
        let e = plan_error(r#"[{"type":"a"},{"sendKeys":[]}]"#);
        assert_eq!(e.details["stepIndex"], 1);
        assert_eq!(e.details["issues"][0]["path"], json!(["sendKeys"]));
        assert_eq!(
            plan_error(r#"[{"sendKeys":["Bogus"]}]"#).code,
            ErrorCode::InvalidKeys
        );
        assert!(plan_error(r#"[{"wait":{"regex":"(a+)+"}}]"#)
            .message
            .contains("nests quantifiers"));
    }

    #[test]
    fn the_source_is_the_argument_xor_the_file() {
        assert!(plan_source(Some("[]"), Some("f"))
            .unwrap_err()
            .message
            .starts_with("Positional [steps] argument and --file are mutually exclusive."));
        assert!(plan_source(None, None)
            .unwrap_err()
            .message
            .starts_with("Missing steps."));
        assert_eq!(
            plan_source(Some(""), None).unwrap_err().message,
            "Steps must not be empty."
        );
    }

    #[test]
    fn screen_hash_is_sha256_of_the_visible_lines() {
        // printf 'a\nb' | sha256sum
        assert_eq!(
            screen_hash(&["a".into(), "b".into()]),
            "7e18f737311b2dc3b2f269dd78396b0351f14fb66efa879f768cb23181883c78"
        );
    }
}
