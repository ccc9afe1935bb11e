//! Reconcile: make a Session's manifest tell the truth about a host that died.
//!
//! Rules (docs/CONTRACT.md §2.4): for a non-terminal Session whose host process is not
//! alive, kill a still-alive child, then `running`→`failed` (failureOrigin
//! `host-death`), `exiting`→`exited`, `destroying`→`destroyed`; null the pids
//! and refresh `updatedAt`. The control socket a dead host left behind is
//! removed too (a host killed outright cannot remove it itself). Sessions
//! recorded by another machine are never touched. A dry run computes the same
//! decision in memory and writes and signals nothing.
//!
//! Liveness is judged by [`crate::liveness`] (the host lock, else PID plus
//! start time; machine identity). Only a command pinned by the sidecar and
//! re-verified is ever killed; a Session without one (agent-tty 0.5) is only
//! marked. Nothing is written or signalled unless the Home, its `sessions/`
//! and the Session directory are trusted ([`agent_tty_core::safe_fs`]). The decision is taken twice in [`ReconcileMode::Apply`]: once
//! without a lock, so the common case (host alive, or nothing to do) costs a
//! read and a few `/proc` lookups, and again under the manifest lock before
//! anything is written. The second look matters because `create` holds that
//! lock while its host starts: a Session being created has no PIDs yet and
//! would otherwise look dead to a concurrent `list`. A dry run never waits
//! for the lock; it treats a Session whose lock is held as alive.

use crate::control;
use crate::liveness::{self, Liveness};
use agent_tty_core::error::Result;
use agent_tty_core::event_log;
use agent_tty_core::layout::SessionDir;
use agent_tty_core::manifest::{self, FailureOrigin, Manifest, Status};
use agent_tty_core::safe_fs;
use fs4::fs_std::FileExt;
use nix::sys::signal::Signal;
use std::path::Path;

/// Whether reconcile may change anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconcileMode {
    /// Write manifests and kill orphaned children.
    Apply,
    /// Decide in memory only: no write, no signal.
    DryRun,
}

/// What reconcile found for one Session.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconcileOutcome {
    /// The manifest after reconcile (in a dry run: as it would be).
    pub manifest: Manifest,
    /// This run found the host dead and changed (or would change) the status.
    pub found_dead: bool,
    /// The Session was recorded by another machine and was left alone.
    pub foreign: bool,
    /// `updatedAt` as the Session itself last recorded it, before this
    /// reconcile refreshed it: how long a Session has really been idle or
    /// dead, which is what age filters such as `gc --older-than` mean.
    pub last_recorded_at: String,
}

/// Reconciles one Session directory.
pub fn reconcile_session(session_dir: &Path, mode: ReconcileMode) -> Result<ReconcileOutcome> {
    reconcile_manifest(session_dir, manifest::read_manifest(session_dir)?, mode)
}

/// [`reconcile_session`] for a caller that has just read the Session's
/// manifest itself (a listing deciding whether it is Active), so it is not
/// read twice. The unlocked first look judges `manifest`; a write still
/// re-reads it under the lock.
pub fn reconcile_manifest(
    session_dir: &Path,
    manifest: Manifest,
    mode: ReconcileMode,
) -> Result<ReconcileOutcome> {
    let last_recorded_at = manifest.updated_at.clone();
    let unchanged = |manifest: Manifest, foreign| ReconcileOutcome {
        last_recorded_at: manifest.updated_at.clone(),
        manifest,
        found_dead: false,
        foreign,
    };
    if manifest.status.is_terminal() {
        return Ok(unchanged(manifest, false));
    }
    let sidecar = liveness::read_sidecar(session_dir);
    match liveness::judge(session_dir, &manifest, sidecar.as_ref()) {
        Liveness::Foreign => return Ok(unchanged(manifest, true)),
        Liveness::Local {
            host_alive: true, ..
        } => return Ok(unchanged(manifest, false)),
        Liveness::Local { .. } => {}
    }
    match mode {
        ReconcileMode::DryRun => {
            if lock_held(session_dir) {
                return Ok(unchanged(manifest, false));
            }
            let mut would_be = manifest;
            record_host_end(&mut would_be, session_dir);
            would_be.updated_at = agent_tty_core::time::now_iso();
            Ok(ReconcileOutcome {
                manifest: would_be,
                found_dead: true,
                foreign: false,
                last_recorded_at,
            })
        }
        ReconcileMode::Apply => {
            // About to write and perhaps signal: only in a Home, `sessions/`
            // and Session directory nobody else can have planted or changed.
            safe_fs::check_session_chain(session_dir)?;
            let (manifest, (found_dead, foreign, last_recorded_at)) =
                manifest::update_manifest(session_dir, |m| {
                    let before = m.updated_at.clone();
                    if m.status.is_terminal() {
                        return Ok((false, (false, false, before)));
                    }
                    let sidecar = liveness::read_sidecar(session_dir);
                    match liveness::judge(session_dir, m, sidecar.as_ref()) {
                        Liveness::Foreign => Ok((false, (false, true, before))),
                        Liveness::Local {
                            host_alive: true, ..
                        } => Ok((false, (false, false, before))),
                        Liveness::Local {
                            host_alive: false,
                            child_alive,
                        } => {
                            // Only the command the sidecar pins, re-verified
                            // right now; never a PID from the manifest.
                            if child_alive {
                                if let Some(child) = liveness::child_identity(sidecar.as_ref())
                                    .and_then(|c| c.verify())
                                {
                                    child.signal_group(Signal::SIGKILL);
                                }
                            }
                            record_host_end(m, session_dir);
                            remove_socket(session_dir, sidecar.as_ref());
                            Ok((true, (true, false, before)))
                        }
                    }
                })?;
            Ok(ReconcileOutcome {
                manifest,
                found_dead,
                foreign,
                last_recorded_at,
            })
        }
    }
}

/// The manifest change for a host found dead: the exit it recorded in its
/// reserved host record (it could not update the manifest itself, say on a
/// full disk), else a host death. `updatedAt` is the caller's.
fn record_host_end(m: &mut Manifest, session_dir: &Path) {
    match event_log::read_host_record(session_dir).and_then(|r| r.exit) {
        Some(exit) => m.record_exit(exit.exit_code, exit.exit_signal),
        None => record_host_death(m),
    }
}

/// The manifest change for a host that died without recording an exit.
fn record_host_death(m: &mut Manifest) {
    let before = m.status;
    m.status = before.after_host_death();
    if before == Status::Running {
        m.failure_origin = Some(FailureOrigin::HostDeath);
        // 0.5's words; its readers and scripts match them.
        m.failure_reason = Some(match m.host_pid {
            Some(pid) => format!("host process died unexpectedly (pid: {pid})"),
            None => "host process died unexpectedly".to_owned(),
        });
    }
    m.host_pid = None;
    m.child_pid = None;
}

/// Removes the control socket a dead host left behind (see
/// [`control::remove_dead_socket`]); the Session directory is
/// `<home>/sessions/<id>`.
fn remove_socket(session_dir: &Path, sidecar: Option<&liveness::Sidecar>) {
    let id = session_dir.file_name().and_then(|n| n.to_str());
    let home = session_dir.parent().and_then(Path::parent);
    if let (Some(home), Some(id)) = (home, id) {
        control::remove_dead_socket(home, id, sidecar);
    }
}

/// Whether someone holds the manifest lock right now (a `create` waiting for
/// its host, or another writer). Opens the lock file read-only and never
/// creates it, so a dry run leaves no trace.
fn lock_held(session_dir: &Path) -> bool {
    // Never a FIFO (which would block the open) or a symlink.
    let Ok(file) =
        agent_tty_core::safe_fs::open_home_file(&SessionDir::new(session_dir).manifest_lock())
    else {
        return false;
    };
    match FileExt::try_lock_shared(&file) {
        Ok(true) => {
            let _ = FileExt::unlock(&file);
            false
        }
        Ok(false) => true,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::liveness::{ProcessIdentity, Sidecar};
    use rstest::rstest;

    /// A Session directory laid out as in a Home (`home/sessions/<id>`),
    /// so the trust checks on the chain above it apply.
    struct SessionTmp {
        _tmp: tempfile::TempDir,
        dir: std::path::PathBuf,
    }

    impl SessionTmp {
        fn path(&self) -> &Path {
            &self.dir
        }
    }

    fn session_tmp() -> SessionTmp {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp
            .path()
            .join("home")
            .join("sessions")
            .join("01JD3Z6X8K4M2N5P7Q9R1S3T5V");
        std::fs::create_dir_all(&dir).unwrap();
        SessionTmp { _tmp: tmp, dir }
    }

    fn write(dir: &Path, status: Status, host: Option<u32>, child: Option<u32>) -> Manifest {
        let mut m = agent_tty_core::test_support::sample();
        m.status = status;
        m.host_pid = host;
        m.child_pid = child;
        manifest::write_manifest(dir, &m).unwrap();
        m
    }

    /// A PID that is certainly not running: a reaped child's.
    fn dead_pid() -> u32 {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    }

    /// A `running` Session whose host is dead but whose command still runs
    /// (a `sleep` the caller must reap).
    fn orphaned_child() -> (SessionTmp, std::process::Child) {
        let tmp = session_tmp();
        let orphan = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let dead = dead_pid();
        write(tmp.path(), Status::Running, Some(dead), Some(orphan.id()));
        let host = ProcessIdentity {
            pid: dead,
            start_time: 1,
        };
        liveness::write_sidecar(
            tmp.path(),
            &Sidecar::new(host, ProcessIdentity::of(orphan.id())),
        )
        .unwrap();
        (tmp, orphan)
    }

    #[test]
    fn an_exit_the_host_recorded_in_its_reserved_record_is_not_a_host_death() {
        let tmp = session_tmp();
        write(tmp.path(), Status::Running, Some(dead_pid()), None);
        let mut log = event_log::EventLogWriter::open(tmp.path()).unwrap();
        log.record_exit(Some(3), None).unwrap();
        drop(log);
        let out = reconcile_session(tmp.path(), ReconcileMode::Apply).unwrap();
        assert_eq!(out.manifest.status, Status::Exited);
        assert_eq!(out.manifest.exit_code, Some(3));
        assert_eq!(out.manifest.failure_origin, None);
    }

    #[test]
    fn pids_in_a_manifest_alone_are_never_signalled() {
        // An agent-tty 0.5 Session (no sidecar) whose manifest names a live,
        // unrelated process as its command: marked, never signalled.
        let tmp = session_tmp();
        let mut bystander = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        write(
            tmp.path(),
            Status::Running,
            Some(dead_pid()),
            Some(bystander.id()),
        );
        let out = reconcile_session(tmp.path(), ReconcileMode::Apply).unwrap();
        assert_eq!(out.manifest.status, Status::Failed);
        // A crafted sidecar with the right PID but another start time fares
        // no better.
        write(
            tmp.path(),
            Status::Running,
            Some(dead_pid()),
            Some(bystander.id()),
        );
        let mut impostor = ProcessIdentity::of(bystander.id()).unwrap();
        impostor.start_time += 1;
        let host = ProcessIdentity {
            pid: dead_pid(),
            start_time: 1,
        };
        liveness::write_sidecar(tmp.path(), &Sidecar::new(host, Some(impostor))).unwrap();
        reconcile_session(tmp.path(), ReconcileMode::Apply).unwrap();
        assert!(
            bystander.try_wait().unwrap().is_none(),
            "an unrelated process was signalled"
        );
        bystander.kill().unwrap();
        bystander.wait().unwrap();
    }

    #[test]
    fn an_untrusted_home_is_not_reconciled() {
        use std::os::unix::fs::PermissionsExt;
        let (tmp, mut orphan) = orphaned_child();
        let home = tmp.path().parent().unwrap().parent().unwrap();
        std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = reconcile_session(tmp.path(), ReconcileMode::Apply).unwrap_err();
        assert!(e.to_string().contains("writable by group or others"), "{e}");
        assert_eq!(
            manifest::read_manifest(tmp.path()).unwrap().status,
            Status::Running
        );
        assert!(orphan.try_wait().unwrap().is_none());
        orphan.kill().unwrap();
        orphan.wait().unwrap();
    }

    #[rstest]
    #[case(Status::Running, Status::Failed, Some(FailureOrigin::HostDeath))]
    #[case(Status::Exiting, Status::Exited, None)]
    #[case(Status::Destroying, Status::Destroyed, None)]
    fn a_dead_host_ends_an_active_session(
        #[case] before: Status,
        #[case] after: Status,
        #[case] origin: Option<FailureOrigin>,
    ) {
        let tmp = session_tmp();
        write(tmp.path(), before, Some(dead_pid()), None);
        let out = reconcile_session(tmp.path(), ReconcileMode::Apply).unwrap();
        assert!(out.found_dead && !out.foreign);
        assert_eq!(out.manifest.status, after);
        assert_eq!(out.manifest.failure_origin, origin);
        assert_eq!(
            (out.manifest.host_pid, out.manifest.child_pid),
            (None, None)
        );
        assert_eq!(manifest::read_manifest(tmp.path()).unwrap(), out.manifest);
    }

    #[test]
    fn a_dry_run_decides_the_same_but_writes_and_signals_nothing() {
        let (tmp, mut orphan) = orphaned_child();
        let before = std::fs::read_dir(tmp.path()).unwrap().count();
        let bytes = std::fs::read(SessionDir::new(tmp.path()).manifest()).unwrap();
        let out = reconcile_session(tmp.path(), ReconcileMode::DryRun).unwrap();
        assert!(out.found_dead);
        assert_eq!(out.manifest.status, Status::Failed);
        assert_eq!(
            std::fs::read(SessionDir::new(tmp.path()).manifest()).unwrap(),
            bytes
        );
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), before);
        assert!(
            orphan.try_wait().unwrap().is_none(),
            "the child was signalled"
        );
        orphan.kill().unwrap();
        orphan.wait().unwrap();
    }

    #[test]
    fn apply_kills_the_orphaned_child() {
        let (tmp, mut orphan) = orphaned_child();
        reconcile_session(tmp.path(), ReconcileMode::Apply).unwrap();
        let status = orphan.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }

    #[test]
    fn live_hosts_terminal_sessions_and_foreign_sessions_are_left_alone() {
        let tmp = session_tmp();
        let me = std::process::id();
        write(tmp.path(), Status::Running, Some(me), None);
        let out = reconcile_session(tmp.path(), ReconcileMode::Apply).unwrap();
        assert!(!out.found_dead && out.manifest.status == Status::Running);

        write(tmp.path(), Status::Exited, Some(dead_pid()), None);
        let out = reconcile_session(tmp.path(), ReconcileMode::Apply).unwrap();
        assert!(!out.found_dead && out.manifest.status == Status::Exited);

        let dead = dead_pid();
        write(tmp.path(), Status::Running, Some(dead), None);
        let mut sidecar = Sidecar::new(
            ProcessIdentity {
                pid: dead,
                start_time: 1,
            },
            None,
        );
        sidecar.machine.machine_id = "another-machine".into();
        liveness::write_sidecar(tmp.path(), &sidecar).unwrap();
        let out = reconcile_session(tmp.path(), ReconcileMode::Apply).unwrap();
        assert!(out.foreign && !out.found_dead);
        assert_eq!(
            manifest::read_manifest(tmp.path()).unwrap().status,
            Status::Running
        );
    }

    #[test]
    fn apply_removes_the_socket_of_a_dead_host_and_a_dry_run_does_not() {
        let tmp = session_tmp();
        let id = "01JD3Z6X8K4M2N5P7Q9R1S3T5V";
        let dir = tmp.path().join("home").join("sessions").join(id);
        std::fs::create_dir_all(&dir).unwrap();
        let sockets = tmp.path().join("runtime");
        agent_tty_core::fsutil::create_dir_all_private(&sockets).unwrap();
        let socket = sockets.join(control::socket_name(
            dir.parent().unwrap().parent().unwrap(),
            id,
        ));
        drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
        let dead = dead_pid();
        write(&dir, Status::Running, Some(dead), None);
        let host = ProcessIdentity {
            pid: dead,
            start_time: 1,
        };
        liveness::write_sidecar(&dir, &Sidecar::new(host, None).with_socket(socket.clone()))
            .unwrap();

        assert!(
            reconcile_session(&dir, ReconcileMode::DryRun)
                .unwrap()
                .found_dead
        );
        assert!(socket.exists(), "a dry run removes nothing");
        assert!(
            reconcile_session(&dir, ReconcileMode::Apply)
                .unwrap()
                .found_dead
        );
        assert!(!socket.exists(), "the dead host's socket is gone");
    }

    #[test]
    fn a_session_whose_lock_is_held_is_not_judged_by_a_dry_run() {
        let tmp = session_tmp();
        write(tmp.path(), Status::Running, None, None);
        let lock = std::fs::File::create(SessionDir::new(tmp.path()).manifest_lock()).unwrap();
        FileExt::lock_exclusive(&lock).unwrap();
        let out = reconcile_session(tmp.path(), ReconcileMode::DryRun).unwrap();
        assert!(!out.found_dead);
        FileExt::unlock(&lock).unwrap();
        let out = reconcile_session(tmp.path(), ReconcileMode::DryRun).unwrap();
        assert!(out.found_dead);
    }
}
