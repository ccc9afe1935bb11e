//! Pseudo-terminals: the one place that opens a PTY and starts a process on
//! it as a terminal would (own session, PTY as controlling terminal). The
//! sessions plugin's PTY host, the end-to-end harness and the benchmarks all
//! go through here.

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::pty::{openpty, Winsize};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// Opens a PTY of the given size; returns (master, slave). Both close on
/// exec, so a child gets the slave only as the stdio [`attach`] gives it and
/// never holds the master (which would keep the terminal from hanging up when
/// its owner dies).
pub fn open(cols: u16, rows: u16) -> std::io::Result<(OwnedFd, OwnedFd)> {
    let pty = openpty(Some(&winsize(cols, rows)), None)?;
    for fd in [&pty.master, &pty.slave] {
        fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    }
    Ok((pty.master, pty.slave))
}

/// Makes `command` start on the PTY `slave` the way a terminal starts a
/// shell: the slave as stdin, stdout and stderr, in a new session (so the
/// child leads its own process group, which signals address) with the PTY as
/// its controlling terminal, and every signal at its default action. An
/// ignored signal survives `exec`: started from `nohup` (or a script's
/// background job, which ignores SIGINT and SIGQUIT), the command would
/// ignore the hang-up that ends it when its Session is destroyed, and Ctrl+C
/// typed into it. Takes the caller's copy of the slave; it is closed when
/// `command` is dropped.
pub fn attach(command: &mut Command, slave: OwnedFd) -> std::io::Result<()> {
    command
        .stdin(Stdio::from(slave.try_clone()?))
        .stdout(Stdio::from(slave.try_clone()?))
        .stderr(Stdio::from(slave));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            for signal in 1..libc::SIGRTMIN() {
                if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                    // Fails only for a number that is no signal: nothing to reset.
                    libc::signal(signal, libc::SIG_DFL);
                }
            }
            Ok(())
        });
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A signal the starting process ignores (as `nohup` leaves SIGHUP) is
    /// at its default action in the command.
    #[test]
    fn a_child_on_the_pty_ignores_no_signal() {
        let (master, slave) = open(80, 24).unwrap();
        let mut cmd = Command::new("grep");
        cmd.args(["SigIgn", "/proc/self/status"]);
        // SAFETY: `signal` is async-signal-safe; this runs before `attach`'s
        // own set-up, in the child only.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
                libc::signal(libc::SIGINT, libc::SIG_IGN);
                Ok(())
            });
        }
        attach(&mut cmd, slave).unwrap();
        let mut child = cmd.spawn().unwrap();
        drop(cmd);
        let mut out = String::new();
        let mut master = std::fs::File::from(master);
        let _ = master.read_to_string(&mut out);
        child.wait().unwrap();
        let ignored = out
            .trim()
            .strip_prefix("SigIgn:\t")
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .unwrap_or_else(|| panic!("{out:?}"));
        // Signals 1–31 (glibc keeps 32 and 33 for itself).
        assert_eq!(ignored & 0x7fff_ffff, 0, "{out:?}");
    }

    #[test]
    fn a_child_on_the_pty_has_it_as_controlling_terminal_at_its_size() {
        let (master, slave) = open(33, 7).unwrap();
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "stty size; tty -s && echo tty; ps -o sid= -p $$; echo $$",
        ]);
        attach(&mut cmd, slave).unwrap();
        let mut child = cmd.spawn().unwrap();
        drop(cmd);
        child.wait().unwrap();
        let mut out = String::new();
        let mut reader = std::fs::File::from(master);
        // EIO once the slave side is closed by the exited child.
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        let lines: Vec<&str> = out.lines().map(str::trim).collect();
        assert_eq!(lines[0], "7 33", "{out}");
        assert_eq!(lines[1], "tty", "{out}");
        // The shell leads its own session (its sid is its pid).
        assert_eq!(lines[2], lines[3], "{out}");
    }
}
