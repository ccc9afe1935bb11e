//! The Session a capture is taken from: found in the invocation's Home, its
//! manifest read as it is (no reconcile: a capture changes nothing).

use agent_tty_core::event_log::{event_log_path, Event, EventLogFollower};
use agent_tty_core::manifest::{read_manifest, Manifest};
use agent_tty_core::session_ref::{resolve_session, SessionRef};
use agent_tty_core::Error;
use agent_tty_plugin_api::{Invocation, PluginError};
use std::path::PathBuf;

/// A Session and its manifest.
pub(crate) struct Source {
    pub id: String,
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl Source {
    /// Resolves the invocation's `<id>` (an id, a unique prefix, or a name:
    /// `core::session_ref`): `INVALID_SESSION_ID` for an id that could leave
    /// `sessions/`, `SESSION_NOT_FOUND` when the Home has no such Session,
    /// the manifest's own errors when it is unreadable.
    pub(crate) fn find(inv: &Invocation) -> Result<Source, PluginError> {
        let home = PathBuf::from(&inv.context.home()?.path);
        let given = inv
            .value("id")
            .ok_or_else(|| PluginError::usage("a Session id is required"))?;
        let SessionRef { id, dir } = resolve_session(&home, given)?;
        let manifest = read_manifest(&dir)?;
        Ok(Source { id, dir, manifest })
    }

    /// Every event of the Event Log, and the warning saying what was
    /// skipped when it is damaged; a missing log is an error (the caller
    /// decides which), unlike for readers that follow a log being written.
    pub(crate) fn events(&self) -> agent_tty_core::Result<(Vec<Event>, Option<String>)> {
        let path = event_log_path(&self.dir);
        if !path.is_file() {
            return Err(Error::read(
                &path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "the Session has no Event Log"),
            ));
        }
        let mut follower = EventLogFollower::new(&path);
        let mut events = Vec::new();
        follower.read_new(|e| events.push(e))?;
        Ok((events, follower.skipped().warning(&path)))
    }
}
