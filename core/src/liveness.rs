//! Whether a Session's processes are still alive, in a way that survives PID
//! reuse and Homes shared between machines, and how to end them.
//!
//! A manifest records bare PIDs (`hostPid`, `childPid`), which is not enough:
//! after a host dies its PID can be handed to an unrelated process, and a Home
//! on a shared disk may hold Sessions another machine is running. So when a
//! host starts it writes a *sidecar* file, [`SIDECAR_FILE`], beside the
//! manifest (never inside it: the manifest's keys are fixed by agent-tty 0.5)
//! recording, for the host and its child, the PID and the process start time
//! (field 22 of `/proc/<pid>/stat`, in clock ticks since boot), plus this
//! machine's identity and boot.
//!
//! The verdict ([`judge`]):
//! - a sidecar from another machine makes the Session *foreign*: nothing here
//!   may call its processes dead, and nobody may signal them;
//! - a sidecar from an earlier boot of this machine means every recorded
//!   process is gone (start times restart at each boot);
//! - otherwise a PID counts as alive only if a process with that PID exists,
//!   is not a zombie, and started at the recorded time;
//! - Sessions made by agent-tty 0.5 have no sidecar and are judged by PID
//!   alone, as 0.5 itself did.

use crate::error::{Error, Result};
use crate::fsutil;
use crate::manifest::Manifest;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The sidecar's file name inside a Session directory.
pub const SIDECAR_FILE: &str = "host.json";

/// `<session dir>/host.json`.
pub fn sidecar_path(session_dir: &Path) -> PathBuf {
    session_dir.join(SIDECAR_FILE)
}

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
/// Session is then judged by PID alone, as agent-tty 0.5 Sessions are.
pub fn read_sidecar(session_dir: &Path) -> Option<Sidecar> {
    let bytes = std::fs::read(sidecar_path(session_dir)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Writes a Session's sidecar atomically (mode 0600). Not fsynced: it sits
/// on `create`'s critical path, and a sidecar lost in a crash only means the
/// Session is judged by PID alone, as agent-tty 0.5 Sessions are (and PIDs
/// recorded before a crash are dead anyway).
pub fn write_sidecar(session_dir: &Path, sidecar: &Sidecar) -> Result<()> {
    let path = sidecar_path(session_dir);
    let mut text = serde_json::to_string_pretty(sidecar).expect("a sidecar always serialises");
    text.push('\n');
    fsutil::write_atomic_unsynced(&path, text.as_bytes(), 0o600).map_err(|e| Error::write(&path, e))
}

/// What is known about a Session's processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Recorded by another machine: unknown here, and never to be touched.
    Foreign,
    /// On this machine.
    Local {
        /// The host process still runs.
        host_alive: bool,
        /// The command still runs, as far as its identity can be checked; a
        /// child judged alive may be signalled.
        child_alive: bool,
    },
}

impl Liveness {
    /// Recorded by another machine.
    pub fn is_foreign(self) -> bool {
        self == Liveness::Foreign
    }

    /// The host is known to run (`None` for a foreign Session).
    pub fn host_alive(self) -> Option<bool> {
        match self {
            Liveness::Foreign => None,
            Liveness::Local { host_alive, .. } => Some(host_alive),
        }
    }
}

/// Judges a Session's processes from its manifest and sidecar (see the
/// module documentation for the rules). Reads `/proc`; never writes.
pub fn judge(manifest: &Manifest, sidecar: Option<&Sidecar>) -> Liveness {
    let here = this_machine();
    if let Some(s) = sidecar {
        if s.machine.machine_id != here.machine_id {
            return Liveness::Foreign;
        }
        if s.machine.boot_id.is_some()
            && here.boot_id.is_some()
            && s.machine.boot_id != here.boot_id
        {
            return Liveness::Local {
                host_alive: false,
                child_alive: false,
            };
        }
    }
    Liveness::Local {
        host_alive: host_pid(manifest, sidecar)
            .is_some_and(|pid| pid_alive(pid, sidecar.map(|s| s.host))),
        child_alive: child_pid(manifest, sidecar)
            .is_some_and(|pid| pid_alive(pid, sidecar.and_then(|s| s.child))),
    }
}

/// The child PID to signal: the manifest's, else the sidecar's.
pub fn child_pid(manifest: &Manifest, sidecar: Option<&Sidecar>) -> Option<u32> {
    manifest
        .child_pid
        .or(sidecar.and_then(|s| s.child.map(|c| c.pid)))
}

/// The host PID: the manifest's, else the sidecar's.
pub fn host_pid(manifest: &Manifest, sidecar: Option<&Sidecar>) -> Option<u32> {
    manifest.host_pid.or(sidecar.map(|s| s.host.pid))
}

/// Alive by identity when the sidecar pins this PID, else by PID alone.
fn pid_alive(pid: u32, recorded: Option<ProcessIdentity>) -> bool {
    match recorded {
        Some(identity) if identity.pid == pid => identity.is_alive(),
        _ => alive(pid, None),
    }
}

/// Whether `pid` runs and is not a zombie, and, when `start_time` is given,
/// started then. Without `/proc` (no start times to compare) the PID alone
/// decides.
fn alive(pid: u32, start_time: Option<u64>) -> bool {
    match read_stat(pid) {
        Some(stat) => !stat.zombie && start_time.is_none_or(|t| t == stat.start_time),
        None => !proc_available() && pid_exists(pid),
    }
}

/// Sends `signal` to the process group led by `pid` and to `pid` itself (in
/// case it left its group). Returns whether anything received it. PIDs 0 and
/// 1 are refused: they would address the caller's group or init.
pub fn signal_group(pid: u32, signal: Signal) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if raw <= 1 {
        return false;
    }
    let group = kill(Pid::from_raw(-raw), signal).is_ok();
    let leader = kill(Pid::from_raw(raw), signal).is_ok();
    group || leader
}

/// Sends `signal` to one process (never to PIDs 0 or 1).
pub fn signal_process(pid: u32, signal: Signal) -> bool {
    i32::try_from(pid)
        .ok()
        .filter(|&p| p > 1)
        .is_some_and(|p| kill(Pid::from_raw(p), signal).is_ok())
}

/// Whether any process of the group led by `pid` remains (zombies included:
/// they are gone for every purpose but this test, so callers poll briefly).
pub fn group_exists(pid: u32) -> bool {
    i32::try_from(pid)
        .ok()
        .filter(|&p| p > 1)
        .is_some_and(|p| kill(Pid::from_raw(-p), None).is_ok())
}

struct Stat {
    zombie: bool,
    start_time: u64,
}

fn read_stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may itself contain
    // spaces or parentheses: split after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    // After the state (field 3), field 22 is the 19th.
    let start_time = fields.nth(18)?.parse().ok()?;
    Some(Stat {
        zombie: state == "Z" || state == "X",
        start_time,
    })
}

fn proc_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| Path::new("/proc/self/stat").exists())
}

fn pid_exists(pid: u32) -> bool {
    i32::try_from(pid)
        .ok()
        .filter(|&p| p > 0)
        .is_some_and(|p| match kill(Pid::from_raw(p), None) {
            Ok(()) => true,
            Err(e) => e == nix::errno::Errno::EPERM,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tests::sample;

    fn manifest(host: Option<u32>, child: Option<u32>) -> Manifest {
        let mut m = sample();
        m.host_pid = host;
        m.child_pid = child;
        m
    }

    fn me() -> ProcessIdentity {
        ProcessIdentity::of(std::process::id()).expect("this process is alive")
    }

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
    fn a_reused_pid_counts_as_dead_when_the_sidecar_pins_another_start() {
        let pid = std::process::id();
        let m = manifest(Some(pid), None);
        let old = ProcessIdentity {
            pid,
            start_time: me().start_time + 7,
        };
        assert_eq!(
            judge(&m, Some(&Sidecar::new(old, None))).host_alive(),
            Some(false)
        );
        assert_eq!(
            judge(&m, Some(&Sidecar::new(me(), None))).host_alive(),
            Some(true)
        );
        // agent-tty 0.5 Sessions have no sidecar: PID alone.
        assert_eq!(judge(&m, None).host_alive(), Some(true));
    }

    #[test]
    fn other_machines_are_foreign_and_other_boots_are_dead() {
        let m = manifest(Some(std::process::id()), None);
        let mut elsewhere = Sidecar::new(me(), None);
        elsewhere.machine.machine_id = "another-machine".into();
        assert!(judge(&m, Some(&elsewhere)).is_foreign());
        let mut rebooted = Sidecar::new(me(), None);
        if rebooted.machine.boot_id.is_some() {
            rebooted.machine.boot_id = Some("an-earlier-boot".into());
            assert_eq!(judge(&m, Some(&rebooted)).host_alive(), Some(false));
        }
    }

    #[test]
    fn reaped_processes_are_dead_and_zombies_too() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Not yet reaped: a zombie once it has exited.
        let zombie = wait_until(|| read_stat(pid).is_some_and(|s| s.zombie));
        assert!(zombie);
        assert_eq!(
            judge(&manifest(Some(pid), None), None).host_alive(),
            Some(false)
        );
        child.wait().unwrap();
        assert!(ProcessIdentity::of(pid).is_none());
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
            sidecar_path(tmp.path()),
            r#"{"version":1,"machineId":"m","host":{"pid":4242,"startTime":1}}"#,
        )
        .unwrap();
        assert_eq!(read_sidecar(tmp.path()).unwrap().socket, None);
    }

    pub(super) fn wait_until(mut check: impl FnMut() -> bool) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if check() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        false
    }
}
