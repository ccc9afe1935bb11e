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
//!   It looks when `sessions/` reports a deletion (inotify), not on a
//!   timer, so an idle host does not wake up for it; where no such report
//!   can come (no inotify instance left, a network filesystem) it also
//!   looks every [`VANISH_BACKSTOP`], or every [`VANISH_POLL`] without
//!   inotify at all.

use agent_tty_core::safe_fs::DirFd;
use agent_tty_runtime::liveness::{self, Verified};
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
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

/// How often the host looks whether its Session directory still exists
/// when it cannot be told (no inotify).
const VANISH_POLL: Duration = Duration::from_millis(500);

/// How often it looks anyway while inotify watches `sessions/`: a deletion
/// made on another machine (a network filesystem) is not reported.
const VANISH_BACKSTOP: Duration = Duration::from_secs(10);

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
    let deletions = deletions_beside(&dir);
    std::thread::spawn(move || loop {
        if !child.is_alive() {
            return;
        }
        if dir.is_deleted() {
            child.end(false, GRACE);
            return;
        }
        sleep_until_news(deletions.as_ref(), &child);
    });
    Ok(())
}

/// An inotify watch on the directory that holds `dir` (the Home's
/// `sessions/`) for entries deleted or moved out of it; `None` when the
/// kernel will not give one. `dir` itself cannot be watched: while the
/// host holds files open inside it, removing it reports nothing on it.
/// The parent is reached through `dir` (`..`) and watched through its
/// descriptor, so the watch is on the very directory that holds this one.
fn deletions_beside(dir: &DirFd) -> Option<Inotify> {
    use std::os::fd::AsRawFd;
    let parent = dir.open_child("..").ok()?;
    let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK).ok()?;
    let watched = format!("/proc/self/fd/{}", parent.as_raw_fd());
    inotify
        .add_watch(
            watched.as_str(),
            AddWatchFlags::IN_DELETE
                | AddWatchFlags::IN_MOVED_FROM
                | AddWatchFlags::IN_DELETE_SELF
                | AddWatchFlags::IN_ONLYDIR,
        )
        .ok()?;
    Some(inotify)
}

/// Sleeps until `sessions/` reports a deletion, the command exits, or the
/// backstop passes (see the module docs).
fn sleep_until_news(deletions: Option<&Inotify>, child: &Verified) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let Some(inotify) = deletions else {
        std::thread::sleep(VANISH_POLL);
        return;
    };
    let mut fds = vec![PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
    fds.extend(child.exit_fd().map(|fd| PollFd::new(fd, PollFlags::POLLIN)));
    let backstop = PollTimeout::try_from(VANISH_BACKSTOP).unwrap_or(PollTimeout::MAX);
    if poll(&mut fds, backstop).is_ok_and(|n| n > 0) {
        // Which entry went does not matter: the caller looks at its own
        // directory. Reading empties the queue so the next poll sleeps.
        while inotify.read_events().is_ok_and(|events| !events.is_empty()) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;

    fn reported(inotify: &Inotify) -> bool {
        let mut fds = [PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::ZERO).is_ok_and(|n| n > 0)
    }

    /// The removal is reported although the host holds a file open inside
    /// its Session directory (which hides it from a watch on the directory
    /// itself), and a new Session beside it wakes nobody.
    #[test]
    fn removing_the_session_directory_is_reported_and_a_new_sibling_is_not() {
        let home = tempfile::tempdir().unwrap();
        let sessions = home.path().join("sessions");
        let own = sessions.join("own");
        std::fs::create_dir_all(&own).unwrap();
        let _log = File::create(own.join("events.jsonl")).unwrap();
        let dir = DirFd::open(&own).unwrap();
        let watch = deletions_beside(&dir).expect("inotify is available here");

        std::fs::create_dir(sessions.join("sibling")).unwrap();
        std::fs::write(sessions.join("sibling/session.json"), b"{}").unwrap();
        assert!(!reported(&watch), "a new Session woke the host");

        std::fs::remove_dir_all(home.path()).unwrap();
        assert!(reported(&watch), "the removal was not reported");
        assert!(dir.is_deleted());
    }
}
