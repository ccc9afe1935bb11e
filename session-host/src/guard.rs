//! What keeps a Session's host honest about being alive, and makes it end
//! cleanly whatever ends it.
//!
//! - **The host lock.** `create` takes the Session's host lock
//!   (`host.lock`, [`agent_tty_core::layout::session::HOST_LOCK`]) before it writes the
//!   manifest and hands the locked descriptor to the host in
//!   [`HOST_LOCK_FD_ENV`]; the host keeps it for its whole life. Liveness is
//!   "the lock is held", so a `create` killed at any instant never leaves a
//!   host that looks dead (and gets collected) while it runs, and the kernel
//!   releases the lock the moment the host dies, however it dies.
//! - **Termination signals.** `SIGTERM`, `SIGHUP`, `SIGINT` and `SIGQUIT` to
//!   the host end its command as `destroy` would (hang-up, terminate, then
//!   kill after a grace period); the host's main thread then records the
//!   exit in the Event Log and the manifest as for any other end.
//! - **A vanished Session directory.** A host whose Session directory was
//!   deleted (its Home removed with `rm -rf`) would otherwise run forever
//!   with nothing to record into and nobody able to find it: it notices
//!   through the directory descriptor it holds and ends its command too.
//!   It looks every 3 s (`VANISH_POLL`), sleeping on the command's pidfd
//!   in between, so it also stops looking the moment the command ends.

use agent_tty_core::safe_fs::DirFd;
use agent_tty_runtime::liveness::{self, Verified};
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use std::fs::File;
use std::os::fd::{FromRawFd, RawFd};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The environment variable carrying the locked host-lock descriptor.
pub const HOST_LOCK_FD_ENV: &str = "AGENT_TTY_HOST_LOCK_FD";

/// How long a command asked to end may take before it is killed (as
/// `destroy` gives it).
pub const GRACE: Duration = Duration::from_millis(1500);

/// How often the host looks whether its Session directory still exists.
/// Not told by inotify: an instance per host would use up the user's
/// (128 by default) with a hundred idle Sessions, and editors and other
/// watchers would then fail.
const VANISH_POLL: Duration = Duration::from_secs(3);

/// The host's hold on its lock: the descriptor `create` passed (marked
/// close-on-exec so the command never inherits it), or, for a host started
/// by hand, the lock taken here.
pub fn host_lock(session_dir: &Path) -> agent_tty_core::Result<File> {
    let inherited = std::env::var(HOST_LOCK_FD_ENV)
        .ok()
        .and_then(|v| v.parse::<RawFd>().ok())
        .filter(|&fd| fd > 2)
        .filter(|&fd| fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).is_ok());
    std::env::remove_var(HOST_LOCK_FD_ENV);
    match inherited {
        // SAFETY: `create` passed this descriptor to us alone; we now own it.
        Some(fd) => Ok(unsafe { File::from_raw_fd(fd) }),
        None => liveness::take_host_lock(session_dir),
    }
}

/// Lets `fd` survive `exec` (for `create`'s `pre_exec`). Only
/// async-signal-safe calls.
pub fn inherit_in_child(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl on a descriptor number this process owns.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Starts watching for termination signals and for the Session directory
/// vanishing; either ends `child` (the Session's command) as `destroy`
/// would. Registered before the host reports ready, so no signal can slip
/// in between and kill the host with the default action.
pub fn watch(child: Option<Verified>, session_dir: &Path) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    let Some(child) = child.map(Arc::new) else {
        // The command already ended: the host is about to record that.
        return Ok(());
    };
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT, SIGQUIT])?;
    {
        let child = Arc::clone(&child);
        std::thread::spawn(move || {
            if signals.forever().next().is_some() {
                child.end(false, GRACE);
            }
        });
    }
    let dir = DirFd::open(session_dir)?;
    std::thread::spawn(move || loop {
        if !child.is_alive() {
            return;
        }
        if dir.is_deleted() {
            child.end(false, GRACE);
            return;
        }
        sleep_unless_it_exits(&child, VANISH_POLL);
    });
    Ok(())
}

/// Sleeps for `time`, or until `child` exits when it has a pidfd.
fn sleep_unless_it_exits(child: &Verified, time: Duration) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    match child.exit_fd() {
        Some(fd) => {
            let timeout = PollTimeout::try_from(time).unwrap_or(PollTimeout::MAX);
            let _ = poll(&mut [PollFd::new(fd, PollFlags::POLLIN)], timeout);
        }
        None => std::thread::sleep(time),
    }
}
