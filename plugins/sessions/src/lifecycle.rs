//! `create`, `list`, `inspect`, `destroy`, and the `sessions.list` capability.

mod create;
mod destroy;
mod inspect;
mod listing;

use agent_tty_plugin_api::{
    ArgSpec, CommandContext, CommandOutput, CommandSpec, Host, Invocation, PluginError,
};
use serde_json::Value;
use std::path::Path;

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
        .arg(ArgSpec::option(
            "command",
            "PATH",
            "Legacy name of --shell (agent-tty 0.5); wins over --shell",
        ))
        .arg(ArgSpec::option(
            "idle-timeout-ms",
            "MS",
            "End the Session after MS milliseconds without activity (0 = never; default \
             the Home config's idleTimeoutMs, else 0)",
        ))
        .arg(
            ArgSpec::trailing(
                "argv",
                "The command and its arguments (after `--` when they have options)",
            )
            .value_name("COMMAND"),
        ),
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

/// The side effects of `sessions.list`: with `reconcile` it rewrites the
/// manifests of Sessions whose host died and kills their orphaned children, so
/// a plugin must declare `sessions.reconcile` to ask for it (the host checks).
pub fn effects() -> Vec<agent_tty_plugin_api::EffectSpec> {
    vec![agent_tty_plugin_api::EffectSpec {
        capability: "sessions.list".into(),
        when_arg: Some("reconcile".into()),
        permission: "sessions.reconcile".into(),
        about: "rewrites manifests of Sessions whose host died and kills orphaned children".into(),
    }]
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    /// A Home with one Session whose host died while it was `running`.
    fn home_with_a_dead_host() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp
            .path()
            .join("sessions")
            .join("01JD3Z6X8K4M2N5P7Q9R1S3T5V");
        std::fs::create_dir_all(&dir).unwrap();
        let mut reaped = std::process::Command::new("true").spawn().unwrap();
        let dead = reaped.id();
        reaped.wait().unwrap();
        let manifest = json!({
            "version": 1, "sessionId": "01JD3Z6X8K4M2N5P7Q9R1S3T5V",
            "createdAt": "2026-11-24T03:50:02.677Z", "updatedAt": "2026-11-24T03:50:02.677Z",
            "status": "running", "command": ["sleep", "300"], "cwd": "/",
            "cols": 80, "rows": 24, "hostPid": dead, "childPid": null,
            "exitCode": null, "exitSignal": null
        });
        std::fs::write(dir.join("session.json"), manifest.to_string()).unwrap();
        (tmp, dir)
    }

    fn sessions_list(home: &Path, all: bool, reconcile: bool) -> Value {
        capability(
            &Host::detached(),
            "sessions.list",
            &json!({ "home": home, "all": all, "reconcile": reconcile }),
            &CommandContext::default(),
        )
        .unwrap()
    }

    #[test]
    fn sessions_list_without_reconcile_reports_the_truth_but_writes_nothing() {
        let (home, dir) = home_with_a_dead_host();
        let entries = || std::fs::read_dir(&dir).unwrap().count();
        let (before, files) = (std::fs::read(dir.join("session.json")).unwrap(), entries());

        let seen = sessions_list(home.path(), true, false);
        assert_eq!(seen["sessions"][0]["status"], "failed");
        assert_eq!(seen["sessions"][0]["failureOrigin"], "host-death");
        assert_eq!(
            sessions_list(home.path(), false, false)["sessions"],
            json!([])
        );
        assert_eq!(std::fs::read(dir.join("session.json")).unwrap(), before);
        assert_eq!(entries(), files, "not even a lock file was created");

        let reconciled = sessions_list(home.path(), true, true);
        assert_eq!(reconciled["sessions"][0]["status"], "failed");
        assert_ne!(std::fs::read(dir.join("session.json")).unwrap(), before);
    }

    #[test]
    fn sessions_list_needs_an_absolute_home_and_a_missing_home_is_empty() {
        let err = capability(
            &Host::detached(),
            "sessions.list",
            &json!({ "home": "relative" }),
            &CommandContext::default(),
        )
        .unwrap_err();
        assert_eq!(err.code, agent_tty_plugin_api::ErrorCode::InvalidInput);
        let missing = sessions_list(Path::new("/no/such/home"), true, false);
        assert_eq!(missing, json!({ "sessions": [] }));
    }
}
