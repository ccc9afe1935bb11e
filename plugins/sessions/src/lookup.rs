//! How a command finds its Home and the Session its `<id>` argument names.
//!
//! Every command that acts on one Session (`inspect`, `destroy`, `type`,
//! `run`, `wait`, `snapshot`, …) resolves its target here, so they all refuse
//! the same ids the same way: `INVALID_SESSION_ID` for an id that could leave
//! `sessions/`, and `SESSION_NOT_FOUND` when the Home has no such Session.
//! Commands that would act on a Session's processes (input, control,
//! `destroy`) refuse a foreign one the same way, with [`runs_elsewhere`].

use agent_tty_core::session_ref::{resolve_session, SessionRef};
use agent_tty_plugin_api::{ErrorCode, Invocation, PluginError};
use agent_tty_runtime::liveness::Sidecar;
use serde_json::json;
use std::path::PathBuf;

/// The Home of an invocation, as a path.
pub(crate) fn home_of(invocation: &Invocation) -> Result<PathBuf, PluginError> {
    Ok(PathBuf::from(&invocation.context.home()?.path))
}

/// A Session that exists in the invocation's Home. Its manifest is not read
/// here: some callers reconcile or lock it first, others read it as is.
pub(crate) struct FoundSession {
    /// The Home it lives in.
    pub home: PathBuf,
    /// Its full id (the command line may have given a prefix or a name).
    pub id: String,
    /// `<home>/sessions/<id>`.
    pub dir: PathBuf,
}

/// The Session named by the invocation's `id` argument: its id, a unique
/// prefix of it, or its name (`core::session_ref`).
pub(crate) fn find_session(invocation: &Invocation) -> Result<FoundSession, PluginError> {
    let home = home_of(invocation)?;
    let given = invocation
        .value("id")
        .ok_or_else(|| PluginError::usage("a Session id is required"))?;
    let SessionRef { id, dir } = resolve_session(&home, given)?;
    Ok(FoundSession {
        home,
        id: id.into_string(),
        dir,
    })
}

/// The refusal for a *foreign* Session, one whose sidecar names another
/// machine: its processes are not ours to signal, and its host's socket is
/// on that machine, so nothing is sent from here (`INVALID_INPUT`, exit
/// 2). `there` says what to do instead, e.g. "destroy it there".
pub(crate) fn runs_elsewhere(id: &str, sidecar: Option<&Sidecar>, there: &str) -> PluginError {
    let machine = sidecar.map_or("", |s| s.machine.machine_id.as_str());
    PluginError::new(
        ErrorCode::InvalidInput,
        format!("Session {id} runs on another machine ({machine}); {there}"),
    )
    .with_details(json!({ "sessionId": id, "machineId": machine }))
}
