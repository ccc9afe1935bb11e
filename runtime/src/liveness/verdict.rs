//! The verdict: whether a Session's host and command still run, from its
//! host lock, its manifest and its sidecar (the rules are in
//! [`super`]'s documentation). Reads `/proc` and probes the lock; never
//! writes and never signals.

use super::proc_stat::alive;
use super::sidecar::{host_lock_held, this_machine, ProcessIdentity, Sidecar};
use agent_tty_core::manifest::Manifest;
use std::path::Path;

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

#[cfg(test)]
mod tests {
    use super::super::kill::wait_for;
    use super::super::proc_stat::read_stat;
    use super::super::sidecar::take_host_lock;
    use super::super::tests::{manifest, me};
    use super::*;

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
        let zombie = wait_for(std::time::Duration::from_secs(5), || {
            read_stat(pid).is_some_and(|s| s.zombie)
        });
        assert!(zombie);
        assert_eq!(
            judge(Path::new("/nonexistent"), &manifest(Some(pid), None), None).host_alive(),
            Some(false)
        );
        child.wait().unwrap();
        assert!(ProcessIdentity::of(pid).is_none());
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
}
