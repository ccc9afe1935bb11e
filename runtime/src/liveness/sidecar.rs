//! The liveness sidecar (`host.json`) and the host lock (`host.lock`):
//! what a host records about itself when it starts, the lock it holds for
//! its whole life, and the identity (PID and start time) that pins a
//! process down. The on-disk side of liveness; judging it is
//! [`super::verdict`], signalling is [`super::kill`].

use super::proc_stat::{alive, read_stat};
use agent_tty_core::error::{Error, Result};
use agent_tty_core::fsutil;
use agent_tty_core::layout::SessionDir;
use agent_tty_core::safe_fs;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A process pinned down by PID and start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessIdentity {
    /// The process id.
    pub pid: u32,
    /// Start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
    pub start_time: u64,
}

impl ProcessIdentity {
    /// The identity of an existing process, or `None` when there is none.
    /// A zombie counts: its start time still pins it down, which matters for
    /// a command that exits before its host has recorded it.
    pub fn of(pid: u32) -> Option<Self> {
        read_stat(pid).map(|stat| ProcessIdentity {
            pid,
            start_time: stat.start_time,
        })
    }

    /// Whether this very process (not merely its PID) still runs.
    pub fn is_alive(&self) -> bool {
        alive(self.pid, Some(self.start_time))
    }
}

/// The machine and boot a Session's processes ran on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Machine {
    /// `/etc/machine-id`, else the host name.
    pub machine_id: String,
    /// `/proc/sys/kernel/random/boot_id`, when the system has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
}

/// This machine, read once per process.
pub fn this_machine() -> &'static Machine {
    static MACHINE: OnceLock<Machine> = OnceLock::new();
    MACHINE.get_or_init(|| {
        let read_trimmed = |p: &str| {
            std::fs::read_to_string(p)
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let machine_id = read_trimmed("/etc/machine-id")
            .or_else(|| read_trimmed("/var/lib/dbus/machine-id"))
            .or_else(|| {
                nix::unistd::gethostname()
                    .ok()
                    .map(|h| format!("hostname:{}", h.to_string_lossy()))
            })
            .unwrap_or_else(|| "unknown".to_owned());
        Machine {
            machine_id,
            boot_id: read_trimmed("/proc/sys/kernel/random/boot_id"),
        }
    })
}

/// The sidecar file: who runs a Session, where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sidecar {
    /// Format version (1).
    pub version: u32,
    /// Where the processes run.
    #[serde(flatten)]
    pub machine: Machine,
    /// The Session's host process.
    pub host: ProcessIdentity,
    /// The Session's command (leader of its own process group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child: Option<ProcessIdentity>,
    /// The control socket the host listens on, exactly as it bound it. The
    /// socket's directory comes from the host's environment
    /// (`XDG_RUNTIME_DIR`), which a client in another shell may not share,
    /// so clients use this path rather than recomputing it (see
    /// [`crate::control::session_socket`]). Absent in sidecars written
    /// before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<PathBuf>,
    /// Where the host also answers agent-tty 0.5's requests
    /// (`/tmp/agent-tty/<h8>/<h12>`, see [`crate::legacy_rpc`]), when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_socket: Option<PathBuf>,
    /// Why the host does not answer 0.5's requests, when it does not (e.g.
    /// `/tmp/agent-tty` belongs to another user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_socket_refused: Option<String>,
}

impl Sidecar {
    /// A sidecar for processes on this machine.
    pub fn new(host: ProcessIdentity, child: Option<ProcessIdentity>) -> Self {
        Sidecar {
            version: 1,
            machine: this_machine().clone(),
            host,
            child,
            socket: None,
            legacy_socket: None,
            legacy_socket_refused: None,
        }
    }

    /// The same sidecar, recording whether (where, or why not) the host
    /// answers agent-tty 0.5's requests.
    pub fn with_legacy_socket(mut self, outcome: std::result::Result<PathBuf, String>) -> Self {
        match outcome {
            Ok(path) => self.legacy_socket = Some(path),
            Err(why) => self.legacy_socket_refused = Some(why),
        }
        self
    }

    /// The same sidecar, recording the host's control socket.
    pub fn with_socket(mut self, socket: PathBuf) -> Self {
        self.socket = Some(socket);
        self
    }
}

/// Reads a Session's sidecar. A missing or unreadable one is `None`: the
/// Session is then judged by PID alone, as agent-tty 0.5 Sessions are, and
/// nothing of it is ever signalled. So is a sidecar that is a symlink, is
/// not this user's, or is writable by group or others: what it says could
/// come from someone else.
pub fn read_sidecar(session_dir: &Path) -> Option<Sidecar> {
    // Read as every Home file is (no symlink, no FIFO, capped), and only
    // when it is this user's alone.
    let path = SessionDir::new(session_dir).sidecar();
    if !safe_fs::is_private_file(&std::fs::symlink_metadata(&path).ok()?) {
        return None;
    }
    let bytes = safe_fs::read_home_file(&path, 64 * 1024).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Creates (never through a symlink) and takes a Session's host lock,
/// waiting for any momentary reader. `create` calls this before it writes
/// the manifest and hands the descriptor to the host, which keeps it open
/// until it ends; the descriptor is close-on-exec, so the Session's command
/// never holds it.
pub fn take_host_lock(session_dir: &Path) -> Result<std::fs::File> {
    let path = SessionDir::new(session_dir).host_lock();
    let file = fsutil::open_lock_file(&path).map_err(|e| Error::write(&path, e))?;
    fs4::fs_std::FileExt::lock_exclusive(&file).map_err(|e| Error::write(&path, e))?;
    Ok(file)
}

/// Whether a Session's host lock is held: `Some(true)` held (the host
/// runs), `Some(false)` free (the host is gone), `None` when the Session
/// has no usable lock file (made before the lock existed, by agent-tty 0.5,
/// or on a filesystem without locks). Never creates anything.
pub fn host_lock_held(session_dir: &Path) -> Option<bool> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(SessionDir::new(session_dir).host_lock())
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    match fs4::fs_std::FileExt::try_lock_shared(&file) {
        Ok(true) => Some(false),
        Ok(false) => Some(true),
        Err(_) => None,
    }
}

/// Writes a Session's sidecar atomically (mode 0600). Not fsynced: it sits
/// on `create`'s critical path, and a sidecar lost in a crash only means the
/// Session is judged by PID alone, as agent-tty 0.5 Sessions are (and PIDs
/// recorded before a crash are dead anyway).
pub fn write_sidecar(session_dir: &Path, sidecar: &Sidecar) -> Result<()> {
    let path = SessionDir::new(session_dir).sidecar();
    let mut text = serde_json::to_string_pretty(sidecar).expect("a sidecar always serialises");
    text.push('\n');
    fsutil::write_atomic_unsynced(&path, text.as_bytes(), 0o600).map_err(|e| Error::write(&path, e))
}

#[cfg(test)]
mod tests {
    use super::super::tests::me;
    use super::*;

    #[test]
    fn this_process_is_alive_by_identity_but_not_with_another_start_time() {
        let me = me();
        assert!(me.is_alive());
        let impostor = ProcessIdentity {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(!impostor.is_alive());
    }

    #[test]
    fn sidecars_round_trip_and_missing_ones_are_none() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(read_sidecar(tmp.path()), None);
        let s =
            Sidecar::new(me(), Some(me())).with_socket("/run/user/1000/agent-tty/x.sock".into());
        write_sidecar(tmp.path(), &s).unwrap();
        assert_eq!(read_sidecar(tmp.path()), Some(s));
    }

    #[test]
    fn sidecars_without_a_socket_still_read() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            SessionDir::new(tmp.path()).sidecar(),
            r#"{"version":1,"machineId":"m","host":{"pid":4242,"startTime":1}}"#,
        )
        .unwrap();
        assert_eq!(read_sidecar(tmp.path()).unwrap().socket, None);
    }

    #[test]
    fn a_planted_host_lock_link_is_no_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("elsewhere");
        std::fs::write(&target, b"").unwrap();
        std::os::unix::fs::symlink(&target, SessionDir::new(tmp.path()).host_lock()).unwrap();
        assert_eq!(host_lock_held(tmp.path()), None);
        assert!(take_host_lock(tmp.path()).is_err());
    }
}
