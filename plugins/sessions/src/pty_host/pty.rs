//! Opening the PTY and starting the Session's command on it.

use super::readiness::READY_FD_ENV;
use agent_tty_core::manifest::Manifest;
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::pty::{openpty, Winsize};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

/// Opens a PTY of the given size; returns (master, slave). Both close on
/// exec: the command gets the slave as its stdio only, and must never hold
/// the master (it would keep the terminal from hanging up when the host dies).
pub fn open(cols: u16, rows: u16) -> std::io::Result<(OwnedFd, OwnedFd)> {
    let pty = openpty(Some(&winsize(cols, rows)), None)?;
    for fd in [&pty.master, &pty.slave] {
        fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    }
    Ok((pty.master, pty.slave))
}

/// Starts the manifest's command on the PTY slave: in its own session (so it
/// leads its own process group, which `signal` and `destroy` address) with
/// the PTY as its controlling terminal, `TERM` set, in the manifest's
/// directory with its extra environment. The host's copy of the slave is
/// closed when this returns.
pub fn spawn(slave: OwnedFd, manifest: &Manifest) -> std::io::Result<Child> {
    let (program, args) = manifest
        .command
        .split_first()
        .expect("a valid manifest has a command");
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(&manifest.cwd)
        .env_remove(READY_FD_ENV)
        .env_remove(super::guard::HOST_LOCK_FD_ENV)
        .env("TERM", manifest.term.as_deref().unwrap_or("xterm-256color"))
        .envs(manifest.env.iter().flatten())
        .stdin(Stdio::from(slave.try_clone()?))
        .stdout(Stdio::from(slave.try_clone()?))
        .stderr(Stdio::from(slave));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn()
}

/// Sets the PTY's size. The kernel then sends `SIGWINCH` to the terminal's
/// foreground process group.
pub fn resize(master: &impl AsRawFd, cols: u16, rows: u16) -> std::io::Result<()> {
    let size = winsize(cols, rows);
    // SAFETY: TIOCSWINSZ reads one winsize from a valid pointer.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn winsize(cols: u16, rows: u16) -> Winsize {
    Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}
