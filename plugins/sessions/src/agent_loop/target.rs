//! The Session a command is aimed at, and how input reaches its host.

use crate::lookup::{find_session, runs_elsewhere, FoundSession};
use agent_tty_core::layout::SessionDir;
use agent_tty_core::manifest::{read_manifest, Manifest, Status};
use agent_tty_plugin_api::{ErrorCode, Invocation, PluginError};
use agent_tty_runtime::control::{self, ControlRequest, ControlResponse};
use agent_tty_runtime::legacy_rpc;
use agent_tty_runtime::liveness::{self, Sidecar};
use agent_tty_runtime::reconcile::{reconcile_session, ReconcileMode};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// How long the host gets to answer one control request. It only writes to
/// the PTY and appends to the Event Log, so anything near this is a hung host.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

/// A Session found in the invocation's Home.
pub(crate) struct Target {
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
        Target::read(home, id, dir)
    }

    /// The Session in `dir`, with its manifest and sidecar as they are now.
    pub fn read(home: PathBuf, id: String, dir: PathBuf) -> Result<Target, PluginError> {
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

    /// The same Session with its manifest and sidecar read again, provided
    /// it still takes input (the commandable-target check, repeated).
    pub fn reread(&self) -> Result<Target, PluginError> {
        let fresh = Target::read(self.home.clone(), self.id.clone(), self.dir.clone())?;
        fresh.require_running()?;
        Ok(fresh)
    }

    /// The Session's Event Log.
    pub fn event_log(&self) -> PathBuf {
        SessionDir::new(&self.dir).event_log()
    }

    /// Refuses, before anything is sent, input and control the Session
    /// cannot take from here: `SESSION_NOT_RUNNING` unless the manifest says
    /// `running`, and `INVALID_INPUT` for a foreign Session (one run by
    /// another machine, whose processes are never signalled from here).
    pub fn require_running(&self) -> Result<(), PluginError> {
        if !self.manifest.status.is_commandable() {
            return Err(not_running(&self.id, self.manifest.status.as_str()));
        }
        if liveness::judge(&self.dir, &self.manifest, self.sidecar.as_ref()).is_foreign() {
            return Err(runs_elsewhere(
                &self.id,
                self.sidecar.as_ref(),
                "send it input from there",
            ));
        }
        Ok(())
    }

    /// Whether the Session's host is agent-tty 0.5's (it wrote no sidecar
    /// of ours), to be driven through 0.5's protocol.
    pub fn is_legacy(&self) -> bool {
        self.sidecar.is_none()
    }

    /// Sends one request to the Session's host. When the host cannot be
    /// reached, the Session is reconciled: if its host turned out to be dead
    /// the answer is `SESSION_NOT_RUNNING` (the manifest now says `failed`),
    /// otherwise the connection error stands, with what to check next.
    /// A Session run by agent-tty 0.5 is driven through its protocol
    /// ([`Target::call_legacy`]).
    pub fn send(&self, request: &ControlRequest) -> Result<ControlResponse, PluginError> {
        if self.is_legacy() {
            if matches!(request, ControlRequest::Text { secret: true, .. }) {
                // 0.5's host would log the text in clear.
                return Err(PluginError::new(
                    ErrorCode::Unsupported,
                    format!(
                        "Session {} is run by agent-tty 0.5, whose host records typed text \
                         in its Event Log in clear; --secret cannot be honoured there. \
                         Type it into a Session created by this agent-tty",
                        self.id
                    ),
                ));
            }
            let (method, params) = legacy_request(request).ok_or_else(|| {
                PluginError::new(
                    ErrorCode::Unsupported,
                    format!(
                        "Session {} is run by agent-tty 0.5, whose host cannot answer `{}`; \
                         restart the Session with this agent-tty to use it",
                        self.id,
                        request.capability()
                    ),
                )
            })?;
            let result = self.call_legacy(method, params, CONTROL_TIMEOUT)?;
            return Ok(ControlResponse::done(result["seq"].as_u64()));
        }
        let socket = control::session_socket(&self.home, &self.id, self.sidecar.as_ref())?;
        // Base requests go as they are; anything newer only to a host that
        // says it supports it (docs/SESSION-HOST-PROTOCOL.md).
        match control::HostClient::new(&self.id, &socket, CONTROL_TIMEOUT).send(request) {
            Err(e) if e.code() == ErrorCode::HostUnreachable => Err(self.unreachable(e, &socket)),
            other => Ok(other?),
        }
    }

    /// After a failed connection: `SESSION_NOT_RUNNING` when reconcile finds
    /// the host dead, else the connection error with what to check next.
    fn unreachable(&self, e: agent_tty_core::Error, socket: &std::path::Path) -> PluginError {
        match reconcile_session(&self.dir, ReconcileMode::Apply) {
            Ok(outcome) if !outcome.manifest.status.is_commandable() => {
                not_running(&self.id, outcome.manifest.status.as_str())
            }
            _ if self.is_legacy() => cannot_drive(&self.id, socket, &e.to_string()),
            _ => PluginError::new(
                ErrorCode::HostUnreachable,
                format!(
                    "{e}; `agent-tty inspect {id}` shows whether Session {id} still runs",
                    id = self.id
                ),
            )
            .with_details(serde_json::json!({
                "sessionId": self.id,
                "socket": socket,
            })),
        }
    }

    /// One request to an agent-tty 0.5 host (contract §7.3), at 0.5's
    /// socket location, after checking that its directories are this
    /// user's and closed to others. A host that cannot be reached while its
    /// process lives, or whose directory is not safe, cannot be driven: that
    /// is `PROTOCOL_ERROR` (not retryable) naming the reason.
    pub fn call_legacy(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, PluginError> {
        let socket = legacy_rpc::socket_path(&self.home, &self.id);
        if let Err(why) = legacy_rpc::check_socket_dirs(&self.home) {
            // A dead host first: that is the simpler truth.
            if let Ok(o) = reconcile_session(&self.dir, ReconcileMode::Apply) {
                if !o.manifest.status.is_commandable() {
                    return Err(not_running(&self.id, o.manifest.status.as_str()));
                }
            }
            return Err(cannot_drive(&self.id, &socket, &why));
        }
        match legacy_rpc::call(&socket, method, params, timeout) {
            Err(e) if e.code() == ErrorCode::HostUnreachable => Err(self.unreachable(e, &socket)),
            other => Ok(other?),
        }
    }
}

/// 0.5's method and parameters for one of our requests, when 0.5 has one.
fn legacy_request(request: &ControlRequest) -> Option<(&'static str, Value)> {
    Some(match request {
        ControlRequest::Ping => ("inspect", json!({})),
        ControlRequest::Text { data, .. } => ("type", json!({ "text": data })),
        // A 0.5 host wraps the text as it is: what could close its
        // brackets is taken out here.
        ControlRequest::Paste { data } => (
            "paste",
            json!({ "text": agent_tty_term::paste::body(data) }),
        ),
        ControlRequest::Keys { keys } => ("sendKeys", json!({ "keys": keys })),
        ControlRequest::Run {
            command, no_wait, ..
        } => ("run", json!({ "command": command, "noWait": no_wait })),
        ControlRequest::Resize { cols, rows } => ("resize", json!({ "cols": cols, "rows": rows })),
        // 0.5 takes exactly SIGTERM, SIGINT, ...: our names are canonical.
        ControlRequest::Signal { signal, .. } => ("signal", json!({ "signal": signal })),
        ControlRequest::Mark { label } => ("mark", json!({ "label": label })),
        ControlRequest::Hello(_) | ControlRequest::Status | ControlRequest::Unknown => return None,
    })
}

/// A Session whose host lives but cannot be driven from here.
fn cannot_drive(id: &str, socket: &std::path::Path, why: &str) -> PluginError {
    PluginError::new(
        ErrorCode::ProtocolError,
        format!(
            "Session {id} is run by an agent-tty 0.5 host that cannot be driven from here: {why}. \
             Retrying will not help; drive (or destroy) it with agent-tty 0.5"
        ),
    )
    .with_details(json!({ "sessionId": id, "socket": socket, "reason": why }))
}

/// The commandable-target refusal for a Session in `status` (contract
/// §2.3), in 0.5's words: `SESSION_ALREADY_DESTROYED` for a destroyed one,
/// `SESSION_NOT_RUNNING` `Session "<id>" is not running.` for the rest,
/// details `{sessionId, status}`.
pub(crate) fn not_running(id: &str, status: &str) -> PluginError {
    if status == Status::Destroyed.as_str() {
        return already_destroyed(id);
    }
    PluginError::new(
        ErrorCode::SessionNotRunning,
        format!("Session \"{id}\" is not running."),
    )
    .with_details(serde_json::json!({ "sessionId": id, "status": status }))
}

/// `SESSION_ALREADY_DESTROYED` (exit 4) for a Session that is `destroyed`.
pub(crate) fn already_destroyed(id: &str) -> PluginError {
    PluginError::new(
        ErrorCode::SessionAlreadyDestroyed,
        format!("Session \"{id}\" is already destroyed."),
    )
    .with_details(serde_json::json!({ "sessionId": id, "status": "destroyed" }))
}
