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
//! Liveness never rests on a number in a file alone. A host proves it is
//! alive by holding an exclusive `flock` on [`HOST_LOCK_FILE`] for its whole
//! life: `create` takes the lock before the manifest exists and hands the
//! locked descriptor to the host it starts, so there is no instant at which
//! a Session being created looks dead, and the kernel drops the lock the
//! moment the host dies, however it dies.
//!
//! The verdict ([`judge`]):
//! - a sidecar from another machine makes the Session *foreign*: nothing here
//!   may call its processes dead, and nobody may signal them;
//! - a sidecar from an earlier boot of this machine means every recorded
//!   process is gone (start times restart at each boot);
//! - a Session with a host lock file: the host is alive exactly when the
//!   lock is held;
//! - otherwise (Sessions from before the lock) a PID counts as alive only if
//!   a process with that PID exists, is not a zombie, and started at the
//!   recorded time; Sessions made by agent-tty 0.5 have no sidecar and their
//!   host is judged by PID alone, as 0.5 itself did.
//!
//! Kill authority is stricter still: only a process pinned by the sidecar
//! (PID, start time, this machine and boot), re-checked through a pidfd
//! right before the signal and owned by this user, is ever signalled
//! ([`ProcessIdentity::verify`]). A manifest's `hostPid`/`childPid` never
//! is, and a 0.5 Session (no sidecar) is only marked, never signalled.

use agent_tty_core::error::{Error, Result};
use agent_tty_core::fsutil;
use agent_tty_core::manifest::Manifest;
use agent_tty_core::safe_fs;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The sidecar's file name inside a Session directory.
pub const SIDECAR_FILE: &str = "host.json";

/// The lock a Session's host holds for its whole life (see the module
/// documentation).
pub const HOST_LOCK_FILE: &str = "host.lock";

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
/// Session is then judged by PID alone, as agent-tty 0.5 Sessions are, and
/// nothing of it is ever signalled. So is a sidecar that is a symlink, is
/// not this user's, or is writable by group or others: what it says could
/// come from someone else.
pub fn read_sidecar(session_dir: &Path) -> Option<Sidecar> {
    // Read as every Home file is (no symlink, no FIFO, capped), and only
    // when it is this user's alone.
    let path = sidecar_path(session_dir);
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
    let path = session_dir.join(HOST_LOCK_FILE);
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
        .open(session_dir.join(HOST_LOCK_FILE))
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

/// Judges a Session's processes from its host lock, manifest and sidecar
/// (see the module documentation for the rules). Reads `/proc` and probes
/// the host lock; never writes.
pub fn judge(session_dir: &Path, manifest: &Manifest, sidecar: Option<&Sidecar>) -> Liveness {
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
    let host_alive = match host_lock_held(session_dir) {
        Some(held) => held,
        None => {
            host_pid(manifest, sidecar).is_some_and(|pid| pid_alive(pid, sidecar.map(|s| s.host)))
        }
    };
    Liveness::Local {
        host_alive,
        // Only a pinned child can be called alive: it is the one that may
        // then be signalled.
        child_alive: child_identity(sidecar).is_some_and(|c| c.is_alive()),
    }
}

/// The Session's command as the sidecar pins it: the only child identity
/// anything may signal. `None` for a Session without a sidecar (agent-tty
/// 0.5), whatever its manifest says.
pub fn child_identity(sidecar: Option<&Sidecar>) -> Option<ProcessIdentity> {
    sidecar.and_then(|s| s.child)
}

/// The host PID to show: the manifest's, else the sidecar's. For display
/// and for judging 0.5 Sessions only; never a signal target.
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

/// A process proven, right now, to be the one a sidecar recorded: same PID,
/// same start time, not a zombie, owned by this user. Holds a pidfd where
/// the kernel has them, so a signal sent through it can only reach that
/// process even if it exits and its PID is reused meanwhile.
pub struct Verified {
    pid: u32,
    pidfd: Option<std::os::fd::OwnedFd>,
}

impl ProcessIdentity {
    /// Pins this identity to the live process, or `None` when the PID now
    /// belongs to another process (or none), to another user, or to a
    /// zombie. The pidfd is opened *before* the checks, so what was checked
    /// is what the pidfd refers to.
    pub fn verify(&self) -> Option<Verified> {
        let pidfd = pidfd_open(target(self.pid)?);
        let stat = read_stat(self.pid)?;
        if stat.zombie
            || stat.start_time != self.start_time
            || stat.uid != Some(safe_fs::effective_uid())
        {
            return None;
        }
        Some(Verified {
            pid: self.pid,
            pidfd,
        })
    }
}

impl Verified {
    /// The PID.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Signals the process itself (through its pidfd when there is one).
    pub fn signal(&self, signal: Signal) -> bool {
        if let Some(fd) = &self.pidfd {
            use std::os::fd::AsRawFd;
            // SAFETY: a plain syscall on a pidfd we own.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    signal as libc::c_int,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                )
            };
            return rc == 0;
        }
        signal_process(self.pid, signal)
    }

    /// Signals the process group it leads (the Session's command is the
    /// leader of its own group), then the process itself in case it left
    /// the group. The group is signalled only while the leader is still
    /// this process, so the group id cannot have been reused.
    pub fn signal_group(&self, signal: Signal) -> bool {
        let group = self.is_alive() && signal_group_raw(self.pid, signal);
        self.signal(signal) || group
    }

    /// Whether the verified process still runs (zombies count as ended).
    pub fn is_alive(&self) -> bool {
        read_stat(self.pid).is_some_and(|s| !s.zombie)
            && self.pidfd.as_ref().is_none_or(|fd| !pidfd_exited(fd))
    }

    /// Ends the command this process leads as `destroy` does: its process
    /// group and the job in its terminal's foreground (a job the shell
    /// started runs in a group of its own) are hung up and terminated
    /// (`SIGHUP`, `SIGTERM`), given `grace` to finish, then killed; `force`
    /// kills at once, and kills every process of its terminal session too
    /// (background jobs in other process groups included). Returns once
    /// those are gone or a second `grace` has passed, with the processes of
    /// the terminal session that still run (what outlived it).
    pub fn end(&self, force: bool, grace: std::time::Duration) -> Vec<u32> {
        // Read before the hang-up: once the shell has exited, no process
        // says which job had the terminal.
        let foreground = self.foreground_group();
        let gone = || !group_exists(self.pid) && foreground.is_none_or(|g| !group_exists(g));
        let in_foreground = || match foreground {
            Some(group) => self.members_where(|s| s.pgrp == Some(group)),
            None => Vec::new(),
        };
        if !force {
            self.signal_group(Signal::SIGHUP);
            self.signal_group(Signal::SIGTERM);
            for pid in in_foreground() {
                signal_process(pid, Signal::SIGHUP);
                signal_process(pid, Signal::SIGTERM);
            }
            if wait_for(grace, gone) {
                return self.outliving();
            }
        }
        let members = if force {
            self.session_members()
        } else {
            in_foreground()
        };
        self.signal_group(Signal::SIGKILL);
        for pid in members.into_iter().filter(|&p| p != self.pid) {
            signal_process(pid, Signal::SIGKILL);
        }
        wait_for(grace, gone);
        self.outliving()
    }

    /// The processes of the terminal session still running, given a
    /// moment to finish (jobs the shell hung up as it exited may still be
    /// on their way out).
    fn outliving(&self) -> Vec<u32> {
        wait_for(std::time::Duration::from_millis(250), || {
            self.session_members().is_empty()
        });
        self.session_members()
    }

    /// The process group in the foreground of the terminal this process
    /// leads, when it is another group than its own.
    fn foreground_group(&self) -> Option<u32> {
        read_stat(self.pid)?
            .tpgid
            .filter(|&g| g != self.pid && target(g).is_some())
    }

    /// Every running process of this user in the terminal session this
    /// process leads (`setsid`): the command, its process group and
    /// background jobs in other groups alike. What `destroy --force` kills.
    pub fn session_members(&self) -> Vec<u32> {
        self.members_where(|_| true)
    }

    /// The running processes of this user in this terminal session that
    /// `also` accepts.
    fn members_where(&self, also: impl Fn(&Stat) -> bool) -> Vec<u32> {
        let me = safe_fs::effective_uid();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| {
                read_stat(pid).is_some_and(|s| {
                    s.session == Some(self.pid) && s.uid == Some(me) && !s.zombie && also(&s)
                })
            })
            .collect()
    }
}

/// Polls `done` every 10 ms for up to `limit`; whether it came true.
pub fn wait_for(limit: std::time::Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn pidfd_open(pid: i32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: a plain syscall; a non-negative result is a new descriptor we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    (fd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// A pidfd polls readable once its process has exited.
fn pidfd_exited(fd: &std::os::fd::OwnedFd) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    poll(&mut fds, PollTimeout::ZERO).is_ok_and(|n| n > 0)
}

/// `pid` as a signal target: never 0 or 1, which would address the
/// caller's own group or init.
fn target(pid: u32) -> Option<i32> {
    i32::try_from(pid).ok().filter(|&p| p > 1)
}

fn signal_group_raw(pid: u32, signal: Signal) -> bool {
    target(pid).is_some_and(|p| kill(Pid::from_raw(-p), signal).is_ok())
}

/// Sends `signal` to the process group led by `pid` and to `pid` itself (in
/// case it left its group). Returns whether anything received it. PIDs 0 and
/// 1 are refused: they would address the caller's group or init.
pub fn signal_group(pid: u32, signal: Signal) -> bool {
    let group = signal_group_raw(pid, signal);
    let leader = signal_process(pid, signal);
    group || leader
}

/// Sends `signal` to one process (never to PIDs 0 or 1).
pub fn signal_process(pid: u32, signal: Signal) -> bool {
    target(pid).is_some_and(|p| kill(Pid::from_raw(p), signal).is_ok())
}

/// Whether any process of the group led by `pid` remains (zombies included:
/// they are gone for every purpose but this test, so callers poll briefly).
pub fn group_exists(pid: u32) -> bool {
    target(pid).is_some_and(|p| kill(Pid::from_raw(-p), None).is_ok())
}

struct Stat {
    zombie: bool,
    start_time: u64,
    /// Field 5: the process group.
    pgrp: Option<u32>,
    /// Field 6: the terminal session id.
    session: Option<u32>,
    /// Field 8: the foreground process group of its terminal (none: -1).
    tpgid: Option<u32>,
    /// The owner of `/proc/<pid>` (the process's effective user).
    uid: Option<u32>,
}

fn read_stat(pid: u32) -> Option<Stat> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let mut file = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let uid = file.metadata().ok().map(|m| m.uid());
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    // The command name (field 2) is in parentheses and may itself contain
    // spaces or parentheses: split after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    // From field 3 (the state) on: field N is at index N - 3.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let number = |field: usize| fields.get(field - 3).and_then(|f| f.parse::<u32>().ok());
    let state = *fields.first()?;
    Some(Stat {
        zombie: state == "Z" || state == "X",
        start_time: fields.get(22 - 3)?.parse().ok()?,
        pgrp: number(5),
        session: number(6),
        tpgid: number(8),
        uid,
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
    use agent_tty_core::test_support::sample;

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
            judge(
                Path::new("/nonexistent"),
                &m,
                Some(&Sidecar::new(old, None))
            )
            .host_alive(),
            Some(false)
        );
        assert_eq!(
            judge(
                Path::new("/nonexistent"),
                &m,
                Some(&Sidecar::new(me(), None))
            )
            .host_alive(),
            Some(true)
        );
        // agent-tty 0.5 Sessions have no sidecar: PID alone.
        assert_eq!(
            judge(Path::new("/nonexistent"), &m, None).host_alive(),
            Some(true)
        );
    }

    #[test]
    fn other_machines_are_foreign_and_other_boots_are_dead() {
        let m = manifest(Some(std::process::id()), None);
        let mut elsewhere = Sidecar::new(me(), None);
        elsewhere.machine.machine_id = "another-machine".into();
        assert!(judge(Path::new("/nonexistent"), &m, Some(&elsewhere)).is_foreign());
        let mut rebooted = Sidecar::new(me(), None);
        if rebooted.machine.boot_id.is_some() {
            rebooted.machine.boot_id = Some("an-earlier-boot".into());
            assert_eq!(
                judge(Path::new("/nonexistent"), &m, Some(&rebooted)).host_alive(),
                Some(false)
            );
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
            judge(Path::new("/nonexistent"), &manifest(Some(pid), None), None).host_alive(),
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

    #[test]
    fn the_host_lock_decides_liveness_whatever_the_pids_say() {
        let tmp = tempfile::tempdir().unwrap();
        // PIDs that say "alive" (this process) do not outweigh a free lock...
        let m = manifest(Some(std::process::id()), None);
        let lock = take_host_lock(tmp.path()).unwrap();
        assert_eq!(host_lock_held(tmp.path()), Some(true));
        assert_eq!(judge(tmp.path(), &m, None).host_alive(), Some(true));
        drop(lock);
        assert_eq!(host_lock_held(tmp.path()), Some(false));
        assert_eq!(judge(tmp.path(), &m, None).host_alive(), Some(false));
        // ...and a held lock means alive with no PID recorded at all (a
        // host whose `create` was killed before it wrote them).
        let _held = take_host_lock(tmp.path()).unwrap();
        assert_eq!(
            judge(tmp.path(), &manifest(None, None), None).host_alive(),
            Some(true)
        );
    }

    #[test]
    fn a_planted_host_lock_link_is_no_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("elsewhere");
        std::fs::write(&target, b"").unwrap();
        std::os::unix::fs::symlink(&target, tmp.path().join(HOST_LOCK_FILE)).unwrap();
        assert_eq!(host_lock_held(tmp.path()), None);
        assert!(take_host_lock(tmp.path()).is_err());
    }

    #[test]
    fn only_the_recorded_process_verifies_and_manifest_pids_name_no_child() {
        let mut sleeper = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let real = ProcessIdentity::of(sleeper.id()).unwrap();
        assert!(real.verify().is_some());
        let impostor = ProcessIdentity {
            start_time: real.start_time + 1,
            ..real
        };
        assert!(
            impostor.verify().is_none(),
            "another start time is another process"
        );
        // A manifest naming the sleeper as child gives nobody a target.
        let m = manifest(None, Some(sleeper.id()));
        assert!(matches!(
            judge(Path::new("/nonexistent"), &m, None),
            Liveness::Local {
                child_alive: false,
                ..
            }
        ));
        assert_eq!(child_identity(None), None);
        let verified = real.verify().unwrap();
        assert!(verified.signal(Signal::SIGKILL));
        sleeper.wait().unwrap();
        assert!(!verified.is_alive());
        assert!(real.verify().is_none());
    }

    #[test]
    fn another_users_process_never_verifies() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIP: needs root to start a process as another user");
            return;
        }
        use std::os::unix::process::CommandExt;
        let mut theirs = std::process::Command::new("sleep")
            .arg("30")
            .uid(65534)
            .spawn()
            .unwrap();
        let identity = ProcessIdentity::of(theirs.id()).unwrap();
        assert!(identity.verify().is_none());
        theirs.kill().unwrap();
        theirs.wait().unwrap();
    }

    #[test]
    fn session_members_include_background_jobs_in_other_groups() {
        use std::io::BufRead;
        use std::os::unix::process::CommandExt;
        // A session leader (as a Session's command is) with a job that
        // moved to a process group of its own, as a shell's `&` job does.
        let mut command = std::process::Command::new("sh");
        command
            .args([
                "-c",
                "python3 -c 'import os,time; os.setpgid(0,0); print(os.getpid(), flush=True); \
                 time.sleep(30)' & wait",
            ])
            .stdout(std::process::Stdio::piped());
        // SAFETY: only setsid between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let mut leader = command.spawn().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(leader.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let job: u32 = line.trim().parse().unwrap();
        let verified = ProcessIdentity::of(leader.id()).unwrap().verify().unwrap();
        let members = verified.session_members();
        assert!(
            members.contains(&leader.id()) && members.contains(&job),
            "{members:?}"
        );
        // The group signal alone would miss the job.
        assert!(read_stat(job).is_some());
        for pid in members {
            signal_process(pid, Signal::SIGKILL);
        }
        leader.wait().unwrap();
        assert!(wait_until(|| read_stat(job).is_none_or(|s| s.zombie)));
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
