//! `create`, `list`, `inspect`, `destroy`, and the `sessions.list` capability.

mod create;
mod destroy;
mod inspect;
mod listing;

use agent_tty_plugin_api::{Capability, CommandContext, CommandTable, Host, PluginError};
use serde_json::Value;
use std::path::Path;

/// This module's commands and the `sessions.list` capability, each declared
/// beside its handler.
pub fn commands() -> CommandTable {
    CommandTable::new()
        .with(create::command())
        .with(listing::command())
        .with(inspect::command())
        .with(destroy::command())
        .capability(
            // With `reconcile` it rewrites the manifests of Sessions whose
            // host died and kills their orphaned children, so a plugin must
            // declare `sessions.reconcile` to ask for it (the host checks).
            Capability::new("sessions.list", sessions_list).effect(
                Some("reconcile"),
                "sessions.reconcile",
                "rewrites manifests of Sessions whose host died and kills orphaned children",
            ),
        )
}

/// The `sessions.list` capability: takes `{"home": "<absolute path>", "all":
/// bool, "reconcile": bool}` and returns exactly `list --json`'s result for
/// that Home. Without `reconcile` it is a read-only scan: Sessions whose host
/// is gone are shown as reconcile *would* leave them, and nothing is written
/// or signalled.
fn sessions_list(
    _host: &Host,
    args: &Value,
    _context: &CommandContext,
) -> Result<Value, PluginError> {
    let home = args
        .get("home")
        .and_then(Value::as_str)
        .filter(|h| Path::new(h).is_absolute())
        .ok_or_else(|| PluginError::usage("sessions.list needs {\"home\": \"<absolute path>\"}"))?;
    let all = args.get("all").and_then(Value::as_bool).unwrap_or(false);
    let reconcile = args
        .get("reconcile")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let listed = listing::list_sessions(Path::new(home), all, reconcile)?;
    Ok(listing::result(&listed.sessions))
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
        commands()
            .call_capability(
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
        let err = super::sessions_list(
            &Host::detached(),
            &json!({ "home": "relative" }),
            &CommandContext::default(),
        )
        .unwrap_err();
        assert_eq!(err.code, agent_tty_plugin_api::ErrorCode::InvalidInput);
        let missing = sessions_list(Path::new("/no/such/home"), true, false);
        assert_eq!(missing, json!({ "sessions": [] }));
    }
}
