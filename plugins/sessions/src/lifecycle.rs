//! `create`, `list`, `inspect`, `destroy`, and the `sessions.list` capability.

mod create;
mod destroy;
mod inspect;
mod listing;

use agent_tty_core::home;
use agent_tty_plugin_api::{
    ArgSpec, CommandContext, CommandOutput, CommandSpec, Host, Invocation, PluginError,
};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Capabilities this module answers.
pub const CAPABILITIES: &[&str] = &["sessions.list"];

/// Command descriptors.
pub fn specs() -> Vec<CommandSpec> {
    vec![
        CommandSpec::new(
            &["create"],
            "Start a new Session running a command (default: a shell)",
        )
        .arg(ArgSpec::option(
            "name",
            "NAME",
            "A name to recognise the Session by",
        ))
        .arg(ArgSpec::option(
            "cwd",
            "DIR",
            "Working directory of the command (default: the current one)",
        ))
        .arg(ArgSpec::option(
            "cols",
            "COLS",
            "Terminal width (default 80)",
        ))
        .arg(ArgSpec::option(
            "rows",
            "ROWS",
            "Terminal height (default 24)",
        ))
        .arg(ArgSpec::repeated(
            "env",
            "KEY=VALUE",
            "An extra environment variable for the command (repeatable)",
        ))
        .arg(ArgSpec::option(
            "term",
            "TERM",
            "The TERM the command sees (default xterm-256color)",
        ))
        .arg(ArgSpec::option(
            "shell",
            "PATH",
            "The shell to run when no command is given (default $SHELL, else /bin/sh)",
        ))
        .arg(ArgSpec::trailing(
            "command",
            "The command and its arguments, after `--`",
        )),
        CommandSpec::new(
            &["list"],
            "List the Home's Sessions (active ones unless --all)",
        )
        .alias("ls")
        .arg(ArgSpec::flag("all", "Include Sessions that have ended")),
        CommandSpec::new(&["inspect"], "Show a Session's manifest and derived facts")
            .arg(ArgSpec::positional("id", "The Session id")),
        CommandSpec::new(
            &["destroy"],
            "End a Session's processes and mark it destroyed",
        )
        .arg(ArgSpec::positional("id", "The Session id"))
        .arg(ArgSpec::flag(
            "force",
            "Kill at once instead of hanging up and waiting a moment",
        )),
    ]
}

/// Runs a command of this module, or `None` when it is not one.
pub fn invoke(_host: &Host, invocation: &Invocation) -> Option<Result<CommandOutput, PluginError>> {
    let run = match invocation.command.first().map(String::as_str) {
        Some("create") => create::run,
        Some("list") => listing::run,
        Some("inspect") => inspect::run,
        Some("destroy") => destroy::run,
        _ => return None,
    };
    Some(run(invocation))
}

/// Answers a capability.
///
/// `sessions.list` takes `{"home": "<absolute path>", "all": bool,
/// "reconcile": bool}` and returns exactly `list --json`'s result for that
/// Home. Without `reconcile` it is a read-only scan: Sessions whose host is
/// gone are shown as reconcile *would* leave them, and nothing is written or
/// signalled.
pub fn capability(
    _host: &Host,
    name: &str,
    args: &Value,
    _context: &CommandContext,
) -> Result<Value, PluginError> {
    match name {
        "sessions.list" => {
            let home = args
                .get("home")
                .and_then(Value::as_str)
                .filter(|h| Path::new(h).is_absolute())
                .ok_or_else(|| {
                    PluginError::usage("sessions.list needs {\"home\": \"<absolute path>\"}")
                })?;
            let all = args.get("all").and_then(Value::as_bool).unwrap_or(false);
            let reconcile = args
                .get("reconcile")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let listed = listing::list_sessions(Path::new(home), all, reconcile)?;
            Ok(listing::result(&listed.sessions))
        }
        other => Err(PluginError::internal(format!(
            "the sessions plugin has no capability `{other}`"
        ))),
    }
}

/// The Home of an invocation, as a path.
fn home_of(invocation: &Invocation) -> Result<PathBuf, PluginError> {
    Ok(PathBuf::from(&invocation.context.home()?.path))
}

/// The directory of the Session named by the `id` argument, which must exist.
fn existing_session(invocation: &Invocation) -> Result<(PathBuf, String, PathBuf), PluginError> {
    let home = home_of(invocation)?;
    let id = invocation
        .value("id")
        .ok_or_else(|| PluginError::usage("a Session id is required"))?
        .to_owned();
    let dir = home::session_dir(&home, &id)?;
    if !agent_tty_core::manifest::manifest_path(&dir).is_file() {
        return Err(agent_tty_core::Error::SessionNotFound { id, home }.into());
    }
    Ok((home, id, dir))
}
