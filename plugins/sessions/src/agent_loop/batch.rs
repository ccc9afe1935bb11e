//! `batch <id> [steps] [--file PATH] [--keep-going]` (contract §4): a JSON
//! plan of `type`, `paste`, `sendKeys`, `run` and `wait` steps run in order
//! against one Session, in one process.
//!
//! The order is 0.5's: the source (positional JSON *xor* `--file`; `--file -`
//! reads standard input, our superset), then the **whole plan** is parsed and
//! validated (nothing is sent when any step is bad), then the target, then
//! the steps. Every step is carried out by the same code as its command:
//! input goes through [`Target::send`], `run` through
//! [`run_in_session`], `wait` through the
//! [`Waiter`] and [`follow`] loop.
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

use super::mouse::Gesture;
use super::run::{run_in_session, shell_command, RunEnd};
use super::snapshot::screen_hash;
use super::source::{text_or_file, SourceWords};
use super::target::Target;
use super::wait::{follow, wait_limit, Condition, Render, WaitEnd, Waiter};
use agent_tty_core::screen::ScreenReplay;
use agent_tty_core::text::escape;
use agent_tty_plugin_api::{ArgSpec, Command, CommandSpec};
use agent_tty_plugin_api::{CommandOutput, ErrorCode, Invocation, PluginError};
use agent_tty_runtime::control::ControlRequest;
use agent_tty_runtime::control::DEFAULT_RUN_TIMEOUT;
use agent_tty_term::keys;
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const VERBS: &str = "type|paste|sendKeys|run|wait";
/// Step verbs beyond 0.5's; 0.5's messages keep naming only its own.
const MOUSE_VERBS: &[&str] = &["click", "scroll"];
/// What the plan is called in messages (contract §4).
const STEPS: SourceWords = SourceWords {
    positional: "[steps]",
    file: "Steps file",
    missing: "Missing steps.",
    provide: "[steps] JSON array",
    empty: "Steps must not be empty.",
};

/// One validated step.
enum Step {
    /// The text, and whether it is recorded redacted (`"secret": true`).
    Type(String, bool),
    Paste(String),
    SendKeys(Vec<String>),
    Run {
        /// As it will be typed ([`shell_command`]).
        command: String,
        no_wait: bool,
        timeout: Duration,
    },
    Wait {
        /// Checked and built once; each run narrows it to the Wait Baseline.
        render: Render,
        limit: Option<Duration>,
    },
    /// `{"click": {row, col, button?, double?}}` or `{"scroll": {direction,
    /// count?, at?: [row, col]}}` (ours, beyond 0.5).
    Mouse(Gesture),
}

impl Step {
    fn kind(&self) -> &'static str {
        match self {
            Step::Type(..) => "type",
            Step::Paste(_) => "paste",
            Step::SendKeys(_) => "sendKeys",
            Step::Run { .. } => "run",
            Step::Wait { .. } => "wait",
            Step::Mouse(g) => g.kind(),
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

/// `batch`: its spec beside its handler ([`batch`]).
pub(super) fn command() -> Command {
    let spec = CommandSpec::new(
        &["batch"],
        "Run a JSON plan of type/paste/sendKeys/run/wait/click/scroll steps against a Session",
    )
    .arg(super::session_id_arg())
    .arg(
        ArgSpec::positional(
            "steps",
            "The plan, a JSON array such as '[{\"run\":\"ls\"},{\"wait\":{\"text\":\"$\"}}]'",
        )
        .required(false),
    )
    .arg(ArgSpec::option(
        "file",
        "PATH",
        "Read the plan from this file (`-` reads standard input)",
    ))
    .arg(ArgSpec::flag(
        "keep-going",
        "Run every step even after one fails",
    ))
    .arg(super::force_arg());
    Command::new(spec, |_, inv| batch(inv))
}

pub(super) fn batch(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let source = match (inv.value("steps"), inv.value("file")) {
        // Ours, beyond 0.5: `--file -` reads the plan from standard input.
        (None, Some("-")) => read_stdin()?,
        _ => text_or_file(inv, "steps", USAGE_LINE, STEPS)?,
    };
    let plan = parse_plan(&source)?;
    let target = Target::find(inv)?;
    target.require_running()?;
    super::require_uncontrolled(&target, inv)?;
    let keep_going = inv.flag("keep-going");
    Ok(execute(target, plan, keep_going))
}

const USAGE_LINE: &str = "agent-tty batch <session-id> [steps] [--file <path>]";

/// The plan from standard input (`--file -`), with `--file`'s limits.
fn read_stdin() -> Result<String, PluginError> {
    use std::io::Read;
    let limit = super::source::MAX_FILE_BYTES;
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| invalid(format!("Steps file \"-\" could not be read: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(invalid(format!(
            "Steps file \"-\" exceeds the 10 MB limit ({} bytes or more).",
            bytes.len()
        )));
    }
    if bytes.is_empty() {
        return Err(invalid("Steps file \"-\" must not be empty."));
    }
    String::from_utf8(bytes).map_err(|_| invalid("Steps file \"-\" is not UTF-8 text."))
}

fn invalid(message: impl Into<String>) -> PluginError {
    PluginError::new(ErrorCode::InvalidInput, message)
}

/// The most steps one batch runs. Each step costs its record in the result
/// and a few kilobytes while the batch runs (its parsed JSON, its step, its
/// record, the envelope's text): 10,000 steps stay within ~40 MB, where
/// 200,000 took 695 MB. A longer plan is refused before anything is sent,
/// counted without being held (a 10 MB plan of `{}` would otherwise be
/// millions of parsed objects); split it into several batches.
pub(crate) const MAX_STEPS: usize = 10_000;

/// A plan's JSON array, read element by element so an array longer than
/// [`MAX_STEPS`] is only counted. Anything but an array fails to
/// deserialize ([`parse_plan`] then tells invalid JSON from another value).
enum PlanJson {
    /// The steps' JSON, at most [`MAX_STEPS`].
    Steps(Vec<Value>),
    /// An array of this many steps, more than [`MAX_STEPS`].
    TooMany(usize),
}

impl<'de> serde::Deserialize<'de> for PlanJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, SeqAccess, Visitor};
        struct Plan;
        impl<'de> Visitor<'de> for Plan {
            type Value = PlanJson;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON array of steps")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PlanJson, A::Error> {
                let mut steps = Vec::new();
                while steps.len() < MAX_STEPS {
                    match seq.next_element::<Value>()? {
                        Some(step) => steps.push(step),
                        None => return Ok(PlanJson::Steps(steps)),
                    }
                }
                // Full: one more is too many; count the rest without keeping them.
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    return Ok(PlanJson::Steps(steps));
                }
                let mut count = steps.len() + 1;
                drop(steps);
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    count += 1;
                }
                Ok(PlanJson::TooMany(count))
            }
        }
        d.deserialize_seq(Plan)
    }
}

/// Parses and validates the whole plan (contract §4's messages), at most
/// [`MAX_STEPS`] steps.
fn parse_plan(source: &str) -> Result<Vec<Step>, PluginError> {
    let plan = serde_json::from_str::<PlanJson>(source).map_err(|_| {
        // Told apart only on this error path: JSON that is not an array.
        match serde_json::from_str::<serde::de::IgnoredAny>(source) {
            Ok(_) => invalid("Batch steps must be a JSON array."),
            Err(_) => invalid("Batch steps must be valid JSON."),
        }
    })?;
    let items = match plan {
        PlanJson::Steps(items) => items,
        PlanJson::TooMany(count) => {
            return Err(invalid(format!(
                "Batch has {count} steps; a batch runs at most {MAX_STEPS}: split the plan \
                 into several batches."
            ))
            .with_details(json!({ "steps": count, "maxSteps": MAX_STEPS })))
        }
    };
    if items.is_empty() {
        return Err(invalid("Batch must contain at least one step."));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_step(i, item).map_err(|e| at_step(i, e)))
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
        .filter(|k| VERBS.split('|').any(|v| v == *k) || MOUSE_VERBS.contains(k))
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
    if verb == "click" || verb == "scroll" {
        return parse_mouse(verb, obj.get(verb))
            .map(Step::Mouse)
            .map_err(|why| {
                invalid(format!("Batch step {i} is invalid"))
                    .with_details(json!({ "stepIndex": i, "issues": [issue(&[verb], &why)] }))
            });
    }
    let allowed: &[&str] = match verb {
        "run" => &["run", "noWait", "timeout"],
        "type" => &["type", "secret"],
        other => std::slice::from_ref(match other {
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
        "type" => {
            let secret = match obj.get("secret") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    issues.push(issue(&["secret"], "expected a boolean"));
                    false
                }
            };
            text("type", &mut issues).map(|t| Step::Type(t, secret))
        }
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
        Some(mut step) if issues.is_empty() => {
            if let Step::SendKeys(names) = &step {
                keys::encode(names)?;
            }
            // Kept as it will be typed, so the step need not redo it.
            if let Step::Run { command, .. } = &mut step {
                *command = shell_command(command)?;
            }
            Ok(step)
        }
        _ => Err(invalid(format!("Batch step {i} is invalid"))
            .with_details(json!({ "stepIndex": i, "issues": issues }))),
    }
}

/// A step's own error in step words: `Batch step i: …`, naming the step's
/// keys (`screenStableMs`) where `wait`'s checks name flags
/// (`--screen-stable-ms`), with `details.stepIndex`. Errors that already
/// name their step are left as they are.
fn at_step(i: usize, mut error: PluginError) -> PluginError {
    if error.details.get("stepIndex").is_some() {
        return error;
    }
    const FLAG_KEYS: [(&str, &str); 6] = [
        ("--screen-stable-ms", "screenStableMs"),
        ("--cursor-row", "cursorRow"),
        ("--cursor-col", "cursorCol"),
        ("--timeout", "timeout"),
        ("--regex", "regex"),
        ("--text", "text"),
    ];
    let mut message = error.message.clone();
    for (flag, key) in FLAG_KEYS {
        message = message.replace(flag, &format!("\"{key}\""));
    }
    error.message = format!("Batch step {i}: {message}");
    match error.details.as_object_mut() {
        Some(details) => {
            details.insert("stepIndex".into(), json!(i));
        }
        None => error.details = json!({ "stepIndex": i }),
    }
    error
}

/// A `click` or `scroll` step's object, checked as the commands check
/// their arguments.
fn parse_mouse(verb: &str, value: Option<&Value>) -> Result<Gesture, String> {
    let Some(Value::Object(o)) = value else {
        return Err("expected an object".into());
    };
    let known: &[&str] = if verb == "click" {
        &["row", "col", "button", "double"]
    } else {
        &["direction", "count", "at"]
    };
    if let Some(k) = o.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!("Unrecognized key: \"{k}\""));
    }
    let cell = |v: Option<&Value>, what: &str| -> Result<u16, String> {
        v.and_then(Value::as_u64)
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| format!("{what} must be a whole number from 0"))
    };
    let gesture = if verb == "click" {
        let button = match o.get("button") {
            None => "left",
            Some(b) => b.as_str().ok_or("button must be a string")?,
        };
        let double = match o.get("double") {
            None => false,
            Some(d) => d.as_bool().ok_or("double must be a boolean")?,
        };
        Gesture::click(
            button,
            double,
            cell(o.get("row"), "row")?,
            cell(o.get("col"), "col")?,
        )
    } else {
        let direction = o
            .get("direction")
            .and_then(Value::as_str)
            .ok_or("direction must be \"up\" or \"down\"")?;
        let count = match o.get("count") {
            None => 1,
            v => cell(v, "count")?,
        };
        let at = match o.get("at") {
            None => None,
            Some(Value::Array(a)) if a.len() == 2 => {
                Some((cell(a.first(), "at[0]")?, cell(a.get(1), "at[1]")?))
            }
            Some(_) => return Err("at must be [row, col]".into()),
        };
        Gesture::scroll(direction, count, at)
    };
    gesture.map_err(|e| e.message)
}

fn issue(path: &[&str], message: &str) -> Value {
    json!({ "path": path, "message": message })
}

/// A `wait` step: schema issues go to `issues`; a condition that fails
/// `wait`'s own checks is that error (given its step by [`at_step`]).
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
    let render = Render::build(text, regex.as_deref(), stable, row, col, None)?;
    Ok(Some(Step::Wait {
        render,
        limit: wait_limit(timeout),
    }))
}

/// A finished step: its record, and its error when it failed.
struct Finished {
    record: Value,
    error: Option<PluginError>,
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
    let mut progress = progress.lock().unwrap_or_else(|p| p.into_inner());
    report(&plan, &mut progress, keep_going, signal)
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
        if let Some(e) = &outcome.error {
            obj.insert(
                "error".into(),
                json!({ "code": e.code, "message": e.message }),
            );
        }
        let mut p = progress.lock().unwrap_or_else(|p| p.into_inner());
        p.finished.push(Finished {
            record,
            error: outcome.error,
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
        Step::Type(text, secret) => input(ControlRequest::Text {
            data: text.clone(),
            secret: *secret,
        }),
        Step::Paste(text) => input(ControlRequest::Paste { data: text.clone() }),
        Step::SendKeys(names) => input(ControlRequest::Keys {
            keys: names.clone(),
        }),
        Step::Run {
            command,
            no_wait,
            timeout,
        } => {
            let run = match target
                .require_running()
                .and_then(|()| run_in_session(target, command.clone(), *no_wait, Some(*timeout)))
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
        Step::Wait { render, limit } => wait_step(target, index, render, *limit, baseline),
        Step::Mouse(gesture) => {
            match target.require_running().and_then(|()| gesture.send(target)) {
                Ok(Value::Object(fields)) => StepOutcome {
                    seq: fields.get("seq").and_then(Value::as_u64),
                    fields,
                    error: None,
                },
                Ok(_) => {
                    StepOutcome::failed(PluginError::internal("a mouse step answered no object"))
                }
                Err(e) => StepOutcome::failed(e),
            }
        }
    }
}

fn wait_step(
    target: &Target,
    index: usize,
    render: &Render,
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
    let mut waiter = Waiter::new(
        &fresh.event_log(),
        ScreenReplay::for_manifest_with_scrollback(&fresh.manifest, 0),
        Condition::Render(render.after(baseline)),
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

/// The envelope's result, human text and exit status.
fn report(
    plan: &[Step],
    progress: &mut Progress,
    keep_going: bool,
    signal: Option<i32>,
) -> CommandOutput {
    // The records move into the result (each step's is kept once).
    let mut steps: Vec<Value> = progress
        .finished
        .iter_mut()
        .map(|f| std::mem::take(&mut f.record))
        .collect();
    for (index, step) in plan.iter().enumerate().skip(steps.len()) {
        let status = if signal.is_some() && progress.current == Some(index) {
            "interrupted"
        } else {
            "not-run"
        };
        steps.push(step.unfinished(index, status));
    }
    let failed: Vec<usize> = progress
        .finished
        .iter()
        .enumerate()
        .filter(|(_, f)| f.error.is_some())
        .map(|(i, _)| i)
        .collect();
    let completed = progress.finished.len() - failed.len();

    let mut human = String::new();
    for s in &steps {
        let outcome = match (s["status"].as_str(), s["kind"].as_str()) {
            (Some("failed"), _) => format!(
                "failed ({})",
                s["error"]["code"].as_str().unwrap_or("INTERNAL_ERROR")
            ),
            (Some("completed"), Some("wait")) => match s["matchedText"].as_str() {
                // Screen text: escaped like every command's human output.
                Some(t) => format!("matched \"{}\"", escape(t)),
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
        .find_map(|(i, f)| Some((i, f.error.as_ref()?)));
    let exit_code = match (signal, first_failure) {
        (Some(sig), _) => 128 + sig,
        (None, Some((i, error))) => {
            if keep_going {
                let list: Vec<String> = failed.iter().map(|i| i.to_string()).collect();
                human.push_str(&format!("\nfailed steps: {}", list.join(", ")));
                1
            } else {
                human.push_str(&format!(
                    "\nfailed at step {i}: {}: {}",
                    error.code.as_str(),
                    escape(&error.message)
                ));
                error.code.exit_code()
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

    fn plan_error(source: &str) -> PluginError {
        match parse_plan(source) {
            Ok(_) => panic!("{source} parsed"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_plan_beyond_max_steps_is_refused_naming_the_limit_and_exactly_max_runs() {
        let plan = |n: usize| format!("[{}]", vec![r#"{"type":"a"}"#; n].join(","));
        assert_eq!(parse_plan(&plan(MAX_STEPS)).unwrap().len(), MAX_STEPS);
        let e = plan_error(&plan(MAX_STEPS + 1));
        assert_eq!(e.code, ErrorCode::InvalidInput);
        assert_eq!(
            e.message,
            format!(
                "Batch has {} steps; a batch runs at most {MAX_STEPS}: split the plan into \
                 several batches.",
                MAX_STEPS + 1
            )
        );
        assert_eq!(e.details["maxSteps"], MAX_STEPS);
        // Counted, not validated: a million empty steps are too many, not a
        // million bad ones.
        let e = plan_error(&format!("[{}]", vec!["{}"; 1_000_000].join(",")));
        assert_eq!(e.details["steps"], 1_000_000);
    }

    #[rstest]
    #[case::object(r#"{"type":"a"}"#)]
    #[case::string(r#""x""#)]
    #[case::number("1.5")]
    #[case::null("null")]
    #[case::boolean("true")]
    fn a_plan_that_is_not_an_array_says_so(#[case] source: &str) {
        assert_eq!(
            plan_error(source).message,
            "Batch steps must be a JSON array."
        );
        assert_eq!(
            plan_error(&format!("[{source}")).message,
            "Batch steps must be valid JSON."
        );
    }

    #[test]
    fn click_and_scroll_steps_parse_and_bad_ones_name_the_issue() {
        let plan = parse_plan(
            r#"[{"click":{"row":4,"col":9,"double":true}},{"scroll":{"direction":"down","count":3,"at":[1,2]}}]"#,
        )
        .unwrap();
        let kinds: Vec<_> = plan.iter().map(Step::kind).collect();
        assert_eq!(kinds, ["click", "scroll"]);
        let e = plan_error(r#"[{"click":{"row":1,"col":1,"button":"side"}}]"#);
        assert_eq!(e.details["stepIndex"], 0);
        assert!(e.details["issues"][0]["message"]
            .as_str()
            .unwrap()
            .contains("left, middle or right"));
        let e = plan_error(r#"[{"scroll":{"direction":"up","at":[1]}}]"#);
        assert_eq!(e.details["issues"][0]["message"], "at must be [row, col]");
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
        "Batch step 0: \"text\" and \"regex\" are mutually exclusive."
    )]
    #[case(r#"[{"wait":{"timeout":5}}]"#, "Batch step 0: waitForRender requires at least one of text, regex, screenStableMs, cursorRow, or cursorCol; --after-seq only narrows them.")]
    fn bad_plans_are_refused_with_0_5_messages_in_step_words(
        #[case] source: &str,
        #[case] message: &str,
    ) {
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
            .contains("contains nested quantifiers"));
        // A wait condition `wait` itself refuses, in step words.
        let e = plan_error(r#"[{"type":"a"},{"wait":{"text":""}}]"#);
        assert_eq!(
            e.message,
            "Batch step 1: \"text\" must be 1 to 1000 characters long, got 0."
        );
        assert_eq!(e.details["stepIndex"], 1);
        assert_eq!(
            plan_error(r#"[{"sendKeys":["Bogus"]}]"#).details["stepIndex"],
            0
        );
    }
}
