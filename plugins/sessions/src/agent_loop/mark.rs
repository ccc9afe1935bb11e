//! `mark <id> <label>`: place a labelled `marker` event in a Session's Event
//! Log (contract §3.9). Nothing reaches the terminal; the label may be empty.
//! Recordings show markers (`"m"` lines in asciicast), and a caller can line
//! up later output against the returned `seq`.

use super::target::Target;
use agent_tty_plugin_api::{ArgSpec, Command, CommandSpec};
use agent_tty_plugin_api::{CommandOutput, Invocation, PluginError};
use agent_tty_runtime::control::ControlRequest;
use serde_json::json;

/// Sends the marker; the `seq` of the logged `marker` event.
pub(super) fn mark_session(target: &Target, label: &str) -> Result<Option<u64>, PluginError> {
    target.require_running()?;
    let response = target.send(&ControlRequest::Mark {
        label: label.to_owned(),
    })?;
    Ok(response.seq)
}

/// `mark`: its spec beside its handler ([`mark`]).
pub(super) fn command() -> Command {
    let spec = CommandSpec::new(
        &["mark"],
        "Place a labelled marker event in a Session's Event Log",
    )
    .arg(super::session_id_arg())
    .arg(
        ArgSpec::positional("label", "The label (may be empty)")
            .required(true)
            .value_name("LABEL"),
    );
    Command::new(spec, |_, inv| mark(inv))
}

/// `mark <id> <label>`. Result `{seq}`; human `Marker set at seq N.`.
pub(super) fn mark(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let label = inv.value("label").unwrap_or_default();
    let target = Target::find(inv)?;
    let seq = mark_session(&target, label)?;
    Ok(CommandOutput::new(
        json!({ "seq": seq }),
        format!(
            "Marker set at seq {}.",
            seq.map_or("?".into(), |s| s.to_string())
        ),
    ))
}
