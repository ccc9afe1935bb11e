//! `type`, `paste`, `send-keys`, `resize` and `signal`: one control request
//! each. The host logs every one of them to the Event Log; the result carries
//! the `seq` of that event so a caller can line it up with what followed.

use super::target::Target;
use crate::dimensions::{parse_dimension, Dimension};
use agent_tty_core::control::ControlRequest;
use agent_tty_core::text::counted;
use agent_tty_core::{keys, signals};
use agent_tty_plugin_api::{CommandOutput, Invocation, PluginError};
use serde_json::json;

/// `type <id> <text>`.
pub(super) fn type_text(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let text = inv.value("text").unwrap_or_default().to_owned();
    let chars = text.chars().count();
    send_input(inv, ControlRequest::Text { data: text }, |id| {
        format!("typed {} into Session {id}", counted(chars, "character"))
    })
}

/// `paste <id> <text>`.
pub(super) fn paste(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let text = inv.value("text").unwrap_or_default().to_owned();
    let chars = text.chars().count();
    send_input(inv, ControlRequest::Paste { data: text }, |id| {
        format!("pasted {} into Session {id}", counted(chars, "character"))
    })
}

/// `send-keys <id> <key>...`. Keys are checked here first, so a bad name is
/// `INVALID_KEYS` (exit 2) without contacting the host and nothing is sent.
pub(super) fn send_keys(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let names = inv.values("keys");
    keys::encode(&names)?;
    let count = names.len();
    send_input(inv, ControlRequest::Keys { keys: names }, |id| {
        format!("sent {} to Session {id}", counted(count, "key"))
    })
}

/// `resize <id> --cols C --rows R`.
pub(super) fn resize(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let given = |dimension: Dimension| {
        parse_dimension(dimension, inv.value(dimension.flag()).unwrap_or_default())
    };
    let (cols, rows) = (given(Dimension::Cols)?, given(Dimension::Rows)?);
    let target = Target::find(inv)?;
    target.require_running()?;
    let response = target.send(&ControlRequest::Resize { cols, rows })?;
    Ok(CommandOutput::new(
        json!({ "sessionId": target.id, "cols": cols, "rows": rows, "seq": response.seq }),
        format!("resized Session {} to {cols}x{rows}", target.id),
    ))
}

/// `signal <id> <SIGNAL> [--shell]`: to the job in the foreground of the
/// Session's terminal (what Ctrl+C reaches), or with `--shell` to the
/// Session's command itself. Result as 0.5's, `{signal, delivered}`, plus
/// the `seq` of the `signal` event.
pub(super) fn signal(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let name = signals::parse(inv.value("signal").unwrap_or_default())?
        .as_str()
        .to_owned();
    let target = Target::find(inv)?;
    target.require_running()?;
    let response = target.send(&ControlRequest::Signal {
        signal: name.clone(),
        shell: inv.flag("shell"),
    })?;
    Ok(CommandOutput::new(
        json!({ "signal": name, "delivered": true, "seq": response.seq }),
        format!("Signal {name} delivered to session."),
    ))
}

fn send_input(
    inv: &Invocation,
    request: ControlRequest,
    human: impl FnOnce(&str) -> String,
) -> Result<CommandOutput, PluginError> {
    let target = Target::find(inv)?;
    target.require_running()?;
    let response = target.send(&request)?;
    Ok(CommandOutput::new(
        json!({ "sessionId": target.id, "seq": response.seq }),
        human(&target.id),
    ))
}
