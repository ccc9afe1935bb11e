//! `type`, `paste`, `send-keys`, `resize` and `signal`: one control request
//! each. The host logs every one of them to the Event Log; the result carries
//! the `seq` of that event so a caller can line it up with what followed.

use super::source::{text_or_file, TEXT};
use super::target::Target;
use agent_tty_core::dimensions::{parse_dimension, Dimension};
use agent_tty_core::signals;
use agent_tty_core::text::counted;
use agent_tty_plugin_api::{ArgSpec, Command, CommandSpec};
use agent_tty_plugin_api::{CommandOutput, Invocation, PluginError};
use agent_tty_runtime::control::ControlRequest;
use agent_tty_term::keys;
use serde_json::json;

/// `type`: its spec beside its handler ([`type_text`]).
pub(super) fn type_command() -> Command {
    let spec = CommandSpec::new(&["type"], "Type literal text into a Session")
        .arg(super::session_id_arg())
        .arg(ArgSpec::positional("text", "The text, sent as is (no Enter added)").required(false))
        .arg(super::file_arg())
        .arg(ArgSpec::flag(
            "append-newline",
            "Append a newline (Enter) to the text",
        ))
        .arg(ArgSpec::flag(
            "secret",
            "A password or the like: typed as is, recorded in the Event Log as \
             \"[redacted]\"",
        ))
        .arg(super::force_arg());
    Command::new(spec, |_, inv| type_text(inv))
}

/// `type <id> [text] [--file F] [--append-newline]` (contract §3.6).
pub(super) fn type_text(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let mut text = text_or_file(
        inv,
        "text",
        // 0.5's usage line, word for word (it leaves out --append-newline).
        "agent-tty type <session-id> [text] [--file <path>]",
        TEXT,
    )?;
    if inv.flag("append-newline") {
        text.push('\n');
    }
    let secret = inv.flag("secret");
    send_input(inv, ControlRequest::Text { data: text, secret }, |seq| {
        format!("Typed text into session at seq {seq}.")
    })
}

/// `paste`: its spec beside its handler ([`paste`]).
pub(super) fn paste_command() -> Command {
    let spec = CommandSpec::new(&["paste"], "Paste text into a Session as a bracketed paste")
        .arg(super::session_id_arg())
        .arg(ArgSpec::positional("text", "The text to paste").required(false))
        .arg(super::file_arg())
        .arg(super::force_arg());
    Command::new(spec, |_, inv| paste(inv))
}

/// `paste <id> [text] [--file F]`.
pub(super) fn paste(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let text = text_or_file(
        inv,
        "text",
        "agent-tty paste <session-id> [text] [--file <path>]",
        TEXT,
    )?;
    send_input(inv, ControlRequest::Paste { data: text }, |seq| {
        format!("Pasted text into session at seq {seq}.")
    })
}

/// `send-keys`: its spec beside its handler ([`send_keys`]).
pub(super) fn send_keys_command() -> Command {
    let spec = CommandSpec::new(
        &["send-keys"],
        "Send named keys (Enter, Ctrl+C, Up, F5, ...)",
    )
    .arg(super::session_id_arg())
    .arg(
        ArgSpec::trailing(
            "keys",
            "Keys such as Enter, Tab, Ctrl+C, Alt+x, Up, F1, or single characters",
        )
        .required(true)
        .value_name("KEY"),
    )
    .arg(super::force_arg());
    Command::new(spec, |_, inv| send_keys(inv))
}

/// `send-keys <id> <key>...` (contract §3.8): the Session first, then every
/// key is checked before anything is sent, so a bad name is `INVALID_KEYS`
/// (exit 2) and nothing reaches the terminal.
pub(super) fn send_keys(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let names = inv.values("keys");
    let target = Target::find(inv)?;
    target.require_running()?;
    super::require_uncontrolled(&target, inv)?;
    let bytes = keys::encode(&names)?.len();
    let count = names.len();
    let response = target.send(&ControlRequest::Keys {
        keys: names.clone(),
    })?;
    let seq = response.seq;
    Ok(CommandOutput::new(
        json!({ "accepted": names, "bytesWritten": bytes, "seq": seq }),
        format!(
            "Sent {} ({}, seq {}).",
            counted(count, "key"),
            counted(bytes, "byte"),
            seq_text(seq)
        ),
    ))
}

/// `resize`: its spec beside its handler ([`resize`]).
pub(super) fn resize_command() -> Command {
    let spec = CommandSpec::new(&["resize"], "Resize a Session's terminal")
        .arg(super::session_id_arg())
        .arg(ArgSpec::option("cols", "COLS", "Columns").required(true))
        .arg(ArgSpec::option("rows", "ROWS", "Rows").required(true));
    Command::new(spec, |_, inv| resize(inv))
}

/// `resize <id> --cols C --rows R` (contract §3.10): the Session first,
/// then the size.
pub(super) fn resize(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let target = Target::find(inv)?;
    target.require_running()?;
    let given = |dimension: Dimension| {
        parse_dimension(dimension, inv.value(dimension.flag()).unwrap_or_default())
    };
    let (cols, rows) = (given(Dimension::Cols)?, given(Dimension::Rows)?);
    target.send(&ControlRequest::Resize { cols, rows })?;
    Ok(CommandOutput::new(
        json!({ "cols": cols, "rows": rows }),
        format!("Resized session to {cols}x{rows}."),
    ))
}

/// `signal`: its spec beside its handler ([`signal`]).
pub(super) fn signal_command() -> Command {
    let spec = CommandSpec::new(
        &["signal"],
        "Send a signal (INT, TERM, HUP, KILL, ...) to the job in a Session's foreground",
    )
    .arg(super::session_id_arg())
    .arg(ArgSpec::positional(
        "signal",
        "A signal name such as INT or SIGTERM, or a number",
    ))
    .arg(ArgSpec::flag(
        "shell",
        "Signal the Session's command (its shell) instead of the foreground job",
    ));
    Command::new(spec, |_, inv| signal(inv))
}

/// `signal <id> <SIGNAL> [--shell]`: to the job in the foreground of the
/// Session's terminal (what Ctrl+C reaches), or with `--shell` to the
/// Session's command itself. Result as 0.5's, `{signal, delivered}`.
pub(super) fn signal(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    // The Session first, then the signal's name, as 0.5 checks them
    // (`signal NOPE KILL` is SESSION_NOT_FOUND).
    let target = Target::find(inv)?;
    target.require_running()?;
    let name = signals::parse(inv.value("signal").unwrap_or_default())?
        .as_str()
        .to_owned();
    let response = target.send(&ControlRequest::Signal {
        signal: name.clone(),
        shell: inv.flag("shell"),
    })?;
    let mut output = CommandOutput::new(
        json!({ "signal": name, "delivered": true }),
        format!("Signal {name} delivered to session."),
    );
    if response.seq.is_none() {
        // The host sends first and records afterwards.
        output.warnings.push(format!(
            "the signal was delivered but could not be recorded in the Event Log of Session {} \
             (storage full?); free some space",
            target.id
        ));
    }
    Ok(output)
}

fn send_input(
    inv: &Invocation,
    request: ControlRequest,
    human: impl FnOnce(&str) -> String,
) -> Result<CommandOutput, PluginError> {
    let target = Target::find(inv)?;
    target.require_running()?;
    super::require_uncontrolled(&target, inv)?;
    let response = target.send(&request)?;
    Ok(CommandOutput::new(
        json!({ "seq": response.seq }),
        human(&seq_text(response.seq)),
    ))
}

fn seq_text(seq: Option<u64>) -> String {
    seq.map_or_else(|| "?".to_owned(), |s| s.to_string())
}
