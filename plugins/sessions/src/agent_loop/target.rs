//! The Session a command is aimed at, and how input reaches its host.

use crate::lookup::{find_session, runs_elsewhere, FoundSession};
use agent_tty_core::control::{self, ControlRequest, ControlResponse};
use agent_tty_core::event_log::event_log_path;
use agent_tty_core::liveness::{self, Sidecar};
use agent_tty_core::manifest::{read_manifest, Manifest};
use agent_tty_core::reconcile::{reconcile_session, ReconcileMode};
use agent_tty_plugin_api::{ErrorCode, Invocation, PluginError};
use std::path::PathBuf;
use std::time::Duration;

/// How long the host gets to answer one control request. It only writes to
/// the PTY and appends to the Event Log, so anything near this is a hung host.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

/// A Session found in the invocation's Home.
pub(super) struct Target {
    pub home: PathBuf,
    pub id: String,
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// What its host recorded about itself (none for agent-tty 0.5 Sessions).
    pub sidecar: Option<Sidecar>,
}

impl Target {
    /// Resolves `<id>` in the Home (see [`find_session`]) and reads its
    /// manifest and sidecar.
    pub fn find(inv: &Invocation) -> Result<Target, PluginError> {
        let FoundSession { home, id, dir } = find_session(inv)?;
        let manifest = read_manifest(&dir)?;
        let sidecar = liveness::read_sidecar(&dir);
        Ok(Target {
            home,
            id,
            dir,
            manifest,
            sidecar,
        })
    }

    /// The Session's Event Log.
    pub fn event_log(&self) -> PathBuf {
        event_log_path(&self.dir)
    }

    /// Refuses, before anything is sent, input and control the Session
    /// cannot take from here: `SESSION_NOT_RUNNING` unless the manifest says
    /// `running`, and `INVALID_INPUT` for a foreign Session (one run by
    /// another machine, whose processes are never signalled from here).
    pub fn require_running(&self) -> Result<(), PluginError> {
        if !self.manifest.status.is_commandable() {
            return Err(not_running(&self.id, self.manifest.status.as_str()));
        }
        if liveness::judge(&self.manifest, self.sidecar.as_ref()).is_foreign() {
            return Err(runs_elsewhere(
                &self.id,
                self.sidecar.as_ref(),
                "send it input from there",
            ));
        }
        Ok(())
    }

    /// Sends one request to the Session's host. When the host cannot be
    /// reached, the Session is reconciled: if its host turned out to be dead
    /// the answer is `SESSION_NOT_RUNNING` (the manifest now says `failed`),
    /// otherwise the connection error stands, with what to check next.
    pub fn send(&self, request: &ControlRequest) -> Result<ControlResponse, PluginError> {
        let socket = control::session_socket(&self.home, &self.id, self.sidecar.as_ref())?;
        match control::send(&socket, request, CONTROL_TIMEOUT) {
            Err(e) if e.code() == ErrorCode::HostUnreachable => {
                match reconcile_session(&self.dir, ReconcileMode::Apply) {
                    Ok(outcome) if !outcome.manifest.status.is_commandable() => {
                        Err(not_running(&self.id, outcome.manifest.status.as_str()))
                    }
                    _ => Err(PluginError::new(
                        ErrorCode::HostUnreachable,
                        format!(
                            "{e}; `agent-tty inspect {id}` shows whether Session {id} still runs",
                            id = self.id
                        ),
                    )
                    .with_details(serde_json::json!({
                        "sessionId": self.id,
                        "socket": socket,
                    }))),
                }
            }
            other => Ok(other?),
        }
    }
}

/// The `SESSION_NOT_RUNNING` error for a Session in `status`.
pub(super) fn not_running(id: &str, status: &str) -> PluginError {
    PluginError::new(
        ErrorCode::SessionNotRunning,
        format!(
            "Session {id} is {status}, so it takes no input; `agent-tty snapshot {id}` still \
             shows its last screen, and `agent-tty create` starts a new Session"
        ),
    )
    .with_details(serde_json::json!({ "sessionId": id, "status": status }))
}
