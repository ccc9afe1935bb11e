//! Control of a Session by a person (`attach`): who holds it, since when,
//! and the refusal agent input gets meanwhile.
//!
//! A person who attaches holds an exclusive `flock` on the Session's
//! `control.lock` for as long as they are attached, and writes who they
//! are to `control.json` ([`agent_tty_core::layout::session::CONTROL`]).
//! The lock, not the file, is the truth: the
//! kernel drops it when the attached process ends however it ends (detach,
//! a crash, a closed terminal), so a Session can never stay controlled by
//! someone who left. The record only says who and since when; a record whose
//! lock nobody holds is stale and means nothing.
//!
//! Checking takes a shared lock for an instant and never creates a file, so
//! `inspect`, `list` and agent input commands can ask freely, also in a Home
//! they only read.

use agent_tty_core::error::{Error, Result};
use agent_tty_core::error::{ErrorCode, PluginError};
use agent_tty_core::fsutil::open_lock_file;
use agent_tty_core::layout::SessionDir;
use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::Path;

/// Who holds control of a Session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Controller {
    /// Who: the user and terminal, e.g. `alice on /dev/pts/3`.
    pub holder: String,
    /// The attached process.
    pub pid: u32,
    /// When they attached (ISO-8601 UTC).
    pub since: String,
}

impl Controller {
    /// The `control` object of `inspect`/`list` results.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "holder": self.holder, "pid": self.pid, "since": self.since })
    }
}

/// Held while a person is attached; dropping it releases control.
#[derive(Debug)]
pub struct ControlGuard {
    _lock: File,
}

/// Takes control of the Session in `session_dir` for `holder`, or
/// `SESSION_CONTROLLED` naming who has it.
pub fn acquire(session_dir: &Path, session_id: &str, holder: &str) -> Result<ControlGuard> {
    let path = SessionDir::new(session_dir).control_lock();
    let lock = open_lock_file(&path).map_err(|e| Error::write(&path, e))?;
    if !FileExt::try_lock_exclusive(&lock).map_err(|e| Error::write(&path, e))? {
        let who = read_record(session_dir);
        return Err(Error::Plugin(controlled_error(session_id, who.as_ref())));
    }
    let record = Controller {
        holder: holder.to_owned(),
        pid: std::process::id(),
        since: agent_tty_core::time::now_iso(),
    };
    let file = SessionDir::new(session_dir).control();
    let text = serde_json::to_string(&record).unwrap_or_default();
    agent_tty_core::fsutil::write_atomic_unsynced(&file, text.as_bytes(), 0o600)
        .map_err(|e| Error::write(&file, e))?;
    Ok(ControlGuard { _lock: lock })
}

/// Who controls the Session now, if anyone. A record without a held lock
/// is stale and ignored; a held lock without a readable record is still
/// control (its holder shown as unknown).
pub fn controller(session_dir: &Path) -> Option<Controller> {
    // Read as every Home file is: a symlink, FIFO or a third user's file
    // here is nobody's lock.
    let lock =
        agent_tty_core::safe_fs::open_home_file(&SessionDir::new(session_dir).control_lock())
            .ok()?;
    // Free (or not lockable at all): nobody holds control.
    if FileExt::try_lock_shared(&lock).unwrap_or(true) {
        return None;
    }
    Some(read_record(session_dir).unwrap_or_else(|| Controller {
        holder: "unknown".into(),
        pid: 0,
        since: String::new(),
    }))
}

/// The largest `control.json` read: a holder, a pid and a time.
const MAX_RECORD_BYTES: u64 = 4096;

fn read_record(session_dir: &Path) -> Option<Controller> {
    let bytes = agent_tty_core::safe_fs::read_home_file(
        &SessionDir::new(session_dir).control(),
        MAX_RECORD_BYTES,
    )
    .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Refuses agent input while a person controls the Session, unless `force`.
pub fn require_uncontrolled(
    session_dir: &Path,
    session_id: &str,
    force: bool,
) -> std::result::Result<(), PluginError> {
    match controller(session_dir) {
        Some(who) if !force => Err(controlled_error(session_id, Some(&who))),
        _ => Ok(()),
    }
}

/// `SESSION_CONTROLLED`, with who and what to do.
pub fn controlled_error(session_id: &str, who: Option<&Controller>) -> PluginError {
    let (holder, since) = who.map_or(("someone", ""), |w| (w.holder.as_str(), w.since.as_str()));
    let since_text = if since.is_empty() {
        String::new()
    } else {
        format!(" since {}", agent_tty_core::text::escape(since))
    };
    PluginError::new(
        ErrorCode::SessionControlled,
        format!(
            "Session {session_id} is controlled by {} (attached{since_text}); input is refused \
             until they detach. `agent-tty wait {session_id} --released` waits for that; \
             --force sends anyway",
            agent_tty_core::text::escape(holder)
        ),
    )
    .with_details(serde_json::json!({
        "sessionId": session_id,
        "control": who.map(Controller::to_json),
    }))
}

/// Who the person attaching is: `$USER on <their terminal>`.
pub fn describe_person() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| format!("uid {}", nix::unistd::getuid()));
    let tty = nix::unistd::ttyname(std::io::stdin())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "a terminal".into());
    let mut s = format!("{user} on {tty}");
    s.truncate(200);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_is_held_until_the_guard_drops() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(controller(dir.path()), None);
        let guard = acquire(dir.path(), "s1", "alice on /dev/pts/9").unwrap();
        let who = controller(dir.path()).expect("controlled");
        assert_eq!(who.holder, "alice on /dev/pts/9");
        assert_eq!(who.pid, std::process::id());
        // A second person is refused, naming the first.
        let e = PluginError::from(acquire(dir.path(), "s1", "bob").unwrap_err());
        assert_eq!(e.code, ErrorCode::SessionControlled);
        assert!(e.message.contains("alice on /dev/pts/9"), "{}", e.message);
        let e = require_uncontrolled(dir.path(), "s1", false).unwrap_err();
        assert_eq!(e.code, ErrorCode::SessionControlled);
        assert_eq!(e.details["control"]["holder"], "alice on /dev/pts/9");
        assert!(require_uncontrolled(dir.path(), "s1", true).is_ok());
        drop(guard);
        // The record stays, but without the lock it means nothing.
        assert!(SessionDir::new(dir.path()).control().exists());
        assert_eq!(controller(dir.path()), None);
        assert!(require_uncontrolled(dir.path(), "s1", false).is_ok());
    }

    #[test]
    fn the_record_is_escaped_and_read_only_as_a_home_file() {
        let dir = tempfile::tempdir().unwrap();
        let _guard = acquire(dir.path(), "s1", "alice").unwrap();
        let record = SessionDir::new(dir.path()).control();
        std::fs::write(
            &record,
            r#"{"holder":"eve\u001b]0;pwned\u0007","pid":1,"since":"now\u001b[2J"}"#,
        )
        .unwrap();
        let e = require_uncontrolled(dir.path(), "s1", false).unwrap_err();
        assert!(!e.message.contains('\x1b'), "{:?}", e.message);
        assert!(!e.message.contains('\x07'), "{:?}", e.message);
        // A record planted by a third user is not believed.
        if nix::unistd::geteuid().is_root() {
            let nobody = Some(nix::unistd::Uid::from_raw(65534));
            nix::unistd::chown(&record, nobody, None).unwrap();
            assert_eq!(controller(dir.path()).unwrap().holder, "unknown");
        }
        // Nor one far bigger than a record ever is.
        std::fs::write(&record, " ".repeat(64 * 1024)).unwrap();
        assert_eq!(controller(dir.path()).unwrap().holder, "unknown");
    }
}
