//! Whether a Session's processes are still alive, in a way that survives PID
//! reuse and Homes shared between machines, and how to end them.
//!
//! A manifest records bare PIDs (`hostPid`, `childPid`), which is not enough:
//! after a host dies its PID can be handed to an unrelated process, and a Home
//! on a shared disk may hold Sessions another machine is running. So when a
//! host starts it writes a *sidecar* file, `host.json`, beside the
//! manifest (never inside it: the manifest's keys are fixed by agent-tty 0.5)
//! recording, for the host and its child, the PID and the process start time
//! (field 22 of `/proc/<pid>/stat`, in clock ticks since boot), plus this
//! machine's identity and boot.
//!
//! Liveness never rests on a number in a file alone. A host proves it is
//! alive by holding an exclusive `flock` on `host.lock` for its whole
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
//!
//! Split by job: `sidecar` is the on-disk record and the host lock,
//! `verdict` judges them, `kill` is the authority to signal, and
//! `proc_stat` reads what `/proc` says of a process for all three.

mod kill;
mod proc_stat;
mod sidecar;
mod verdict;

pub use kill::{group_exists, signal_group, signal_process, wait_for, Verified};
pub use sidecar::{
    host_lock_held, read_sidecar, take_host_lock, this_machine, write_sidecar, Machine,
    ProcessIdentity, Sidecar,
};
pub use verdict::{child_identity, host_pid, judge, Liveness};

#[cfg(test)]
mod tests {
    use super::*;
    use agent_tty_core::manifest::Manifest;
    use agent_tty_core::test_support::sample;

    pub(super) fn manifest(host: Option<u32>, child: Option<u32>) -> Manifest {
        let mut m = sample();
        m.host_pid = host;
        m.child_pid = child;
        m
    }

    pub(super) fn me() -> ProcessIdentity {
        ProcessIdentity::of(std::process::id()).expect("this process is alive")
    }
}
