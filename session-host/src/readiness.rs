//! The readiness handshake between `create` and the Session host it starts.
//!
//! `create` must answer only once the Session really works (PTY open, command
//! started, Event Log open, control socket listening), and must know at once
//! when the host could not get there, so that it can clean up and say why.
//! A pipe does both without polling the filesystem: `create` keeps the read
//! end and hands the write end's descriptor number to the host in
//! [`READY_FD_ENV`]. The host writes `READY` when it is ready, or `FAILED`
//! followed by the error as JSON. End of file without either means the host
//! died first.

use agent_tty_core::error::{ErrorCode, PluginError};
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// The environment variable carrying the write end's descriptor number.
pub const READY_FD_ENV: &str = "AGENT_TTY_READY_FD";
const READY: u8 = b'R';
const FAILED: u8 = b'E';

/// What the host reported.
#[derive(Debug)]
pub enum Readiness {
    /// The Session is up.
    Ready,
    /// The host could not start the Session, and said why.
    Failed(PluginError),
    /// The host ended without a word.
    Vanished,
    /// No answer in time.
    TimedOut,
}

/// `create`'s side: the pipe the host will answer through.
pub struct ReadyPipe {
    read: File,
    write: Option<OwnedFd>,
}

impl ReadyPipe {
    /// A new pipe; both ends close on exec until the host is prepared.
    pub fn new() -> std::io::Result<Self> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        Ok(ReadyPipe {
            read: File::from(read),
            write: Some(write),
        })
    }

    /// The write end's descriptor number, for [`READY_FD_ENV`] and
    /// [`ReadyPipe::inherit_in_child`].
    pub fn write_fd(&self) -> RawFd {
        self.write.as_ref().map_or(-1, |w| w.as_raw_fd())
    }

    /// Lets `fd` survive `exec`. Only async-signal-safe calls: it runs in
    /// the forked child between `fork` and `exec`.
    pub fn inherit_in_child(fd: RawFd) -> std::io::Result<()> {
        // SAFETY: fcntl on a descriptor number this process owns.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits for the host's answer. The write end is closed first so that a
    /// host that dies shows up as end of file.
    pub fn wait(mut self, timeout: Duration) -> Readiness {
        self.write = None;
        let deadline = Instant::now() + timeout;
        let mut received = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Readiness::TimedOut;
            }
            let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
            let mut fds = [PollFd::new(self.read.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return Readiness::Vanished,
            }
            match self.read.read(&mut buf) {
                Ok(0) => return decode(&received).unwrap_or(Readiness::Vanished),
                Ok(n) => {
                    received.extend_from_slice(&buf[..n]);
                    if received.first() == Some(&READY) {
                        return Readiness::Ready;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Readiness::Vanished,
            }
        }
    }
}

fn decode(received: &[u8]) -> Option<Readiness> {
    match received.split_first()? {
        (&READY, _) => Some(Readiness::Ready),
        (&FAILED, json) => Some(Readiness::Failed(
            serde_json::from_slice(json).unwrap_or_else(|_| {
                PluginError::new(
                    ErrorCode::HostUnreachable,
                    format!(
                        "the Session's host failed: {}",
                        String::from_utf8_lossy(json)
                    ),
                )
            }),
        )),
        _ => None,
    }
}

/// The host's side: where to report readiness, if anyone is listening.
pub struct ReadySignal(Option<File>);

impl ReadySignal {
    /// Takes the descriptor named by [`READY_FD_ENV`], marking it close-on-exec
    /// so the Session's command never inherits it (it would otherwise keep
    /// `create` from seeing a dead host's end of file). Without the variable
    /// (a host started by hand) reports go nowhere.
    pub fn from_env() -> Self {
        let fd = std::env::var(READY_FD_ENV)
            .ok()
            .and_then(|v| v.parse::<RawFd>().ok())
            .filter(|&fd| fd > 2)
            .filter(|&fd| fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).is_ok());
        // SAFETY: `create` passed this descriptor to us alone; we now own it.
        ReadySignal(fd.map(|fd| unsafe { File::from_raw_fd(fd) }))
    }

    /// Reports that the Session is up.
    pub fn ready(self) {
        if let Some(mut f) = self.0 {
            let _ = f.write_all(&[READY]);
        }
    }

    /// Reports why the Session could not start.
    pub fn failed(self, error: &PluginError) {
        if let Some(mut f) = self.0 {
            let mut msg = vec![FAILED];
            msg.extend(serde_json::to_vec(error).unwrap_or_default());
            let _ = f.write_all(&msg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_side(pipe: &ReadyPipe) -> ReadySignal {
        let fd = nix::unistd::dup(pipe.write_fd()).unwrap();
        // SAFETY: a fresh duplicate owned by the signal.
        ReadySignal(Some(unsafe { File::from_raw_fd(fd) }))
    }

    #[test]
    fn ready_failed_vanished_and_timed_out() {
        let pipe = ReadyPipe::new().unwrap();
        host_side(&pipe).ready();
        assert!(matches!(
            pipe.wait(Duration::from_secs(1)),
            Readiness::Ready
        ));

        let pipe = ReadyPipe::new().unwrap();
        host_side(&pipe).failed(&PluginError::usage("no such command"));
        match pipe.wait(Duration::from_secs(1)) {
            Readiness::Failed(e) => assert_eq!(e.message, "no such command"),
            other => panic!("{other:?}"),
        }

        let pipe = ReadyPipe::new().unwrap();
        drop(host_side(&pipe));
        assert!(matches!(
            pipe.wait(Duration::from_secs(1)),
            Readiness::Vanished
        ));

        let pipe = ReadyPipe::new().unwrap();
        let silent = host_side(&pipe);
        assert!(matches!(
            pipe.wait(Duration::from_millis(50)),
            Readiness::TimedOut
        ));
        drop(silent);
    }
}
