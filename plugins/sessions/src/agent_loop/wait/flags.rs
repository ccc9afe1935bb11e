//! `wait`'s flags: which condition the caller asked for, read and checked
//! in 0.5's order (contract §3.12), and the time limit. Pure: nothing here
//! reads a Session; [`Render::build`] is shared with `batch` and the host's
//! answer to 0.5's `waitForRender`, which parse their own numbers.

use super::regex_guard::compile_regex;
use agent_tty_plugin_api::{ErrorCode, Invocation, PluginError};
use regex::Regex;
use serde_json::json;
use std::time::Duration;

use agent_tty_runtime::control::DEFAULT_WAIT_TIMEOUT;

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

/// `--text` is 1 to 1000 characters (0.5's limit).
const MAX_TEXT_CHARS: usize = 1000;

/// The render flags (any of them makes a render wait).
pub(super) const RENDER_FLAGS: &[&str] = &[
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
    pub(super) text: Option<String>,
    pub(super) regex: Option<Regex>,
    pub(super) stable: Option<Duration>,
    pub(super) cursor_row: Option<u64>,
    pub(super) cursor_col: Option<u64>,
    pub(super) after_seq: Option<u64>,
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

pub(super) fn invalid(code: ErrorCode, message: String) -> PluginError {
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
    pub(super) fn from_invocation(
        inv: &Invocation,
    ) -> Result<(Condition, Option<Duration>), PluginError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

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
    fn the_time_limit_defaults_and_zero_waits_forever() {
        assert_eq!(wait_limit(None), Some(DEFAULT_WAIT_TIMEOUT));
        assert_eq!(wait_limit(Some(0)), None);
        assert_eq!(wait_limit(Some(25)), Some(Duration::from_millis(25)));
        let (_, limit) = Condition::from_invocation(&inv(&[("exit", json!(true))])).unwrap();
        assert_eq!(limit, Some(DEFAULT_WAIT_TIMEOUT));
    }

    #[rstest]
    #[case(&[("exit", json!(true))], "exit")]
    #[case(&[("idle-ms", json!("250"))], "idle 250ms")]
    #[case(&[("regex", json!(r"\d+"))], "render")]
    fn legacy_and_render_flags_pick_the_condition(
        #[case] args: &[(&str, serde_json::Value)],
        #[case] expected: &str,
    ) {
        let (c, _) = Condition::from_invocation(&inv(args)).unwrap();
        let got = match c {
            Condition::Exit => "exit".to_owned(),
            Condition::Idle(d) => format!("idle {}ms", d.as_millis()),
            Condition::Render(_) => "render".to_owned(),
        };
        assert_eq!(got, expected);
    }

    #[test]
    fn too_large_a_number_says_the_maximum() {
        let err = Condition::from_invocation(&inv(&[
            ("text", json!("a")),
            ("cursor-row", json!("18446744073709551616")),
        ]))
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(err.message.contains("too large"), "{err}");
    }

    #[test]
    fn after_narrows_a_built_render_to_newer_screens() {
        let r = Render::build(Some("$".into()), None, Some(10), None, None, None).unwrap();
        let narrowed = r.after(Some(7));
        assert_eq!(narrowed.after_seq, Some(7));
        assert_eq!(narrowed.text.as_deref(), Some("$"));
        assert_eq!(narrowed.stable, Some(Duration::from_millis(10)));
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
