//! The Session a capture is taken from: found in the invocation's Home, its
//! manifest read as it is (no reconcile: a capture changes nothing).

use crate::export::Events;
use agent_tty_core::event_log::{Event, EventLogFollower, Skipped};
use agent_tty_core::layout::SessionDir;
use agent_tty_core::manifest::{read_manifest, Manifest};
use agent_tty_core::session_ref::{resolve_session, SessionRef};
use agent_tty_core::Error;
use agent_tty_plugin_api::{Invocation, PluginError};
use std::ops::ControlFlow;
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
        Ok(Source {
            id: id.into_string(),
            dir,
            manifest,
        })
    }

    /// The Event Log, for exports to read in passes; a missing log is an
    /// error (the caller decides which), unlike for readers that follow a
    /// log being written.
    pub(crate) fn log(&self) -> agent_tty_core::Result<LogEvents> {
        let path = SessionDir::new(&self.dir).event_log();
        if !path.is_file() {
            return Err(Error::read(
                &path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "the Session has no Event Log"),
            ));
        }
        let len = std::fs::metadata(&path)
            .map_err(|e| Error::read(&path, e))?
            .len();
        Ok(LogEvents {
            path,
            len,
            count: std::sync::OnceLock::new(),
        })
    }
}

/// A Session's Event Log read afresh, in bounded chunks, by every pass an
/// export makes ([`Events`]): memory never grows with the log (ADR 0015).
/// Every pass sees what the first one saw: the log's length when it was
/// opened, and as many events as the first pass counted (a log still
/// being written only grows).
pub(crate) struct LogEvents {
    path: PathBuf,
    len: u64,
    /// Events the first pass read.
    count: std::sync::OnceLock<u64>,
}

impl Events for LogEvents {
    fn try_each(
        &self,
        each: &mut dyn FnMut(&Event) -> Result<(), String>,
    ) -> Result<Skipped, String> {
        let limit = self.count.get().copied();
        let mut follower = EventLogFollower::new(&self.path);
        let (mut seen, mut failed) = (0u64, None);
        // Stops at the first refusal (a segment past its frames) or at the
        // first pass's count, without parsing the rest of the log.
        follower
            .read_new_until(self.len.max(1), |event| {
                if limit.is_some_and(|n| seen >= n) {
                    return ControlFlow::Break(());
                }
                seen += 1;
                match each(&event) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(e) => {
                        failed = Some(e);
                        ControlFlow::Break(())
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        if let Some(e) = failed {
            return Err(e);
        }
        // The first pass to finish sets it; every later one read as many.
        let _ = self.count.set(seen);
        Ok(follower.skipped().clone())
    }
}
