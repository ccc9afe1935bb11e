//! `click <id> ROW COL [--button left|middle|right] [--double]` and
//! `scroll <id> up|down [N] [--at ROW,COL]`: mouse events, encoded the way
//! the program asked for them.
//!
//! Which mouse mode the program enabled is read from its screen, replayed
//! from the Event Log ([`ScreenReplay::mouse_mode`]), so it is what the
//! program last said, whoever started it. A program that enabled no mouse
//! reporting would read the bytes as typed text, so it gets
//! `MOUSE_NOT_ENABLED` and nothing is sent. The bytes go to the host as one
//! literal-text request (logged as `input_text`), so a click is one write.

use super::target::Target;
use agent_tty_core::screen::replay_session_with_scrollback;
use agent_tty_plugin_api::{ArgSpec, Command, CommandSpec};
use agent_tty_plugin_api::{CommandOutput, ErrorCode, Invocation, PluginError};
use agent_tty_runtime::control::ControlRequest;
use agent_tty_term::mouse::{encode, MouseButton, MouseMode};
use serde_json::json;

/// `click`: its spec beside its handler ([`click`]).
pub(super) fn click_command() -> Command {
    let spec = CommandSpec::new(
        &["click"],
        "Click the mouse at a cell of a program that enabled mouse reporting",
    )
    .arg(super::session_id_arg())
    .arg(ArgSpec::positional("row", "Row, from 0 (as cursorRow)").value_name("ROW"))
    .arg(ArgSpec::positional("col", "Column, from 0 (as cursorCol)").value_name("COL"))
    .arg(
        ArgSpec::option("button", "BUTTON", "left (default), middle or right")
            .values(&["left", "middle", "right"]),
    )
    .arg(ArgSpec::flag("double", "Click twice (a double click)"))
    .arg(super::force_arg());
    Command::new(spec, |_, inv| click(inv))
}

/// `scroll`: its spec beside its handler ([`scroll`]).
pub(super) fn scroll_command() -> Command {
    let spec = CommandSpec::new(
        &["scroll"],
        "Turn the mouse wheel in a program that enabled mouse reporting",
    )
    .arg(super::session_id_arg())
    .arg(
        ArgSpec::positional("direction", "up or down")
            .value_name("up|down")
            .values(&["up", "down"]),
    )
    .arg(
        ArgSpec::positional("count", "How many wheel steps (default 1)")
            .required(false)
            .value_name("N"),
    )
    .arg(ArgSpec::option(
        "at",
        "ROW,COL",
        "Where the pointer is (default: the middle of the screen)",
    ))
    .arg(super::force_arg());
    Command::new(spec, |_, inv| scroll(inv))
}

/// The value of `name`, a whole number from `least` to `most`.
fn number(
    inv: &Invocation,
    name: &str,
    what: &str,
    (least, most): (u16, u16),
) -> Result<Option<u16>, PluginError> {
    match inv.value(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|n| (least..=most).contains(n))
            .map(Some)
            .ok_or_else(|| {
                PluginError::usage(format!(
                    "{what} must be a whole number from {least} to {most}, got: {v}"
                ))
                .with_details(json!({ "argument": name, "value": v }))
            }),
    }
}

/// One mouse gesture, checked before anything is sent.
pub(crate) struct Gesture {
    /// (button, release) pairs, in order.
    events: Vec<(MouseButton, bool)>,
    row: Option<u16>,
    col: Option<u16>,
    kind: &'static str,
}

impl Gesture {
    /// A click (twice for a double click).
    pub fn click(button: &str, double: bool, row: u16, col: u16) -> Result<Gesture, PluginError> {
        let button = match button.to_ascii_lowercase().as_str() {
            "left" => MouseButton::Left,
            "middle" => MouseButton::Middle,
            "right" => MouseButton::Right,
            other => {
                return Err(PluginError::usage(format!(
                    "--button must be left, middle or right, got {other:?}"
                )))
            }
        };
        let times = if double { 2 } else { 1 };
        Ok(Gesture {
            events: (0..times)
                .flat_map(|_| [(button, false), (button, true)])
                .collect(),
            row: Some(row),
            col: Some(col),
            kind: "click",
        })
    }

    /// `count` wheel steps (presses only: a wheel has no release).
    pub fn scroll(
        direction: &str,
        count: u16,
        at: Option<(u16, u16)>,
    ) -> Result<Gesture, PluginError> {
        let button = match direction.to_ascii_lowercase().as_str() {
            "up" => MouseButton::WheelUp,
            "down" => MouseButton::WheelDown,
            other => {
                return Err(PluginError::usage(format!(
                    "scroll direction must be up or down, got {other:?}"
                )))
            }
        };
        if count == 0 || count > 1000 {
            return Err(PluginError::usage(format!(
                "scroll count must be 1 to 1000, got {count}"
            )));
        }
        Ok(Gesture {
            events: vec![(button, false); usize::from(count)],
            row: at.map(|a| a.0),
            col: at.map(|a| a.1),
            kind: "scroll",
        })
    }

    /// `click` or `scroll`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Sends the gesture to the Session, or `MOUSE_NOT_ENABLED` (nothing
    /// sent) when its program enabled no mouse reporting. Returns the
    /// result fields.
    pub fn send(&self, target: &Target) -> Result<serde_json::Value, PluginError> {
        let replay = replay_session_with_scrollback(&target.dir, &target.manifest, 0)?;
        let Some(MouseMode { tracking, encoding }) = replay.mouse_mode() else {
            return Err(PluginError::new(
                ErrorCode::MouseNotEnabled,
                format!(
                    "The program in Session {} has not enabled mouse reporting, so a {} would \
                     reach it as typed text; nothing was sent. Use send-keys for it, or check \
                     that the program has mouse support switched on",
                    target.id, self.kind
                ),
            )
            .with_details(json!({ "sessionId": target.id })));
        };
        let (cols, rows) = replay.size();
        let row = self.row.unwrap_or(rows / 2);
        let col = self.col.unwrap_or(cols / 2);
        if row >= rows || col >= cols {
            return Err(PluginError::new(
                ErrorCode::InvalidInput,
                format!(
                    "Row {row}, column {col} is off the {cols}x{rows} screen (rows 0-{}, columns 0-{})",
                    rows - 1,
                    cols - 1
                ),
            )
            .with_details(json!({ "row": row, "col": col, "cols": cols, "rows": rows })));
        }
        let mut bytes = String::new();
        for (button, release) in &self.events {
            bytes.push_str(
                &encode(encoding, *button, *release, row, col).ok_or_else(|| {
                    PluginError::new(
                        ErrorCode::InvalidInput,
                        format!(
                        "The program uses the {} mouse encoding, which cannot address row {row}, \
                         column {col}",
                        encoding.as_str()
                    ),
                    )
                })?,
            );
        }
        let response = target.send(&ControlRequest::Text {
            data: bytes.clone(),
            secret: false,
        })?;
        Ok(json!({
            "sessionId": target.id,
            "row": row,
            "col": col,
            "mouseTracking": tracking,
            "mouseEncoding": encoding.as_str(),
            "events": self.events.len(),
            "bytesWritten": bytes.len(),
            "seq": response.seq,
        }))
    }
}

fn click(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let row = number(inv, "row", "ROW", (0, u16::MAX))?.unwrap_or(0);
    let col = number(inv, "col", "COL", (0, u16::MAX))?.unwrap_or(0);
    let button = inv.value("button").unwrap_or("left");
    let gesture = Gesture::click(button, inv.flag("double"), row, col)?;
    let target = Target::find(inv)?;
    target.require_running()?;
    super::require_uncontrolled(&target, inv)?;
    let mut result = gesture.send(&target)?;
    result["button"] = json!(button.to_ascii_lowercase());
    result["double"] = json!(inv.flag("double"));
    let human = format!(
        "Clicked {} at row {row}, col {col} ({} encoding).",
        button.to_ascii_lowercase(),
        result["mouseEncoding"].as_str().unwrap_or("?")
    );
    Ok(CommandOutput::new(result, human))
}

/// `--at ROW,COL`.
fn at(inv: &Invocation) -> Result<Option<(u16, u16)>, PluginError> {
    let Some(v) = inv.value("at") else {
        return Ok(None);
    };
    let parsed = v
        .split_once([',', ' ', ':'])
        .and_then(|(r, c)| Some((r.trim().parse().ok()?, c.trim().parse().ok()?)));
    parsed
        .map(Some)
        .ok_or_else(|| PluginError::usage(format!("--at must be ROW,COL (e.g. 5,10), got {v:?}")))
}

fn scroll(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let direction = inv.value("direction").unwrap_or_default();
    let count = number(inv, "count", "N", (1, 1000))?.unwrap_or(1);
    let gesture = Gesture::scroll(direction, count, at(inv)?)?;
    let target = Target::find(inv)?;
    target.require_running()?;
    super::require_uncontrolled(&target, inv)?;
    let mut result = gesture.send(&target)?;
    result["direction"] = json!(direction.to_ascii_lowercase());
    result["count"] = json!(count);
    let human = format!(
        "Scrolled {} {count} step{} at row {}, col {}.",
        direction.to_ascii_lowercase(),
        if count == 1 { "" } else { "s" },
        result["row"],
        result["col"]
    );
    Ok(CommandOutput::new(result, human))
}
