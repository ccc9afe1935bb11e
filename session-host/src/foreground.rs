//! What is in the terminal's foreground, and whether it waits for input.
//!
//! `run` chooses how to know when a command has finished by what will read
//! the line (docs/adr/0012-run-completion.md): the PTY's foreground process
//! group (`tcgetpgrp` on the master, the group a terminal sends Ctrl+C to)
//! and the name of its leader's program (`/proc/<pgid>/comm`; a login
//! shell's leading `-` removed). A program waits for input when its leader
//! sleeps (`/proc/<pgid>/stat` state `S`) and either has turned the
//! terminal's line editing off (`ICANON` clear: a line editor such as
//! readline, prompt_toolkit or node's REPL waiting for a key) or sleeps in
//! the terminal's read (`/proc/<pgid>/wchan` is `n_tty_read` or
//! `wait_woken`, as for `cat` or `read`).

use nix::sys::termios::{tcgetattr, LocalFlags, SpecialCharacterIndices};
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The process group in the terminal's foreground, if it has one.
pub fn group(master: &File) -> Option<i32> {
    nix::unistd::tcgetpgrp(master)
        .ok()
        .map(|g| g.as_raw())
        .filter(|&g| g > 0)
}

/// The program name of a process (its `comm`, without a login shell's `-`).
pub fn program(pid: i32) -> Option<String> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(comm.trim_end().trim_start_matches('-').to_owned())
}

/// The command line of a process (`/proc/<pid>/cmdline`), empty when it
/// cannot be read.
pub fn command_line(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| {
            bytes
                .split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// What identifies the program image process `pid` runs: its command line
/// and its auxiliary vector (`/proc/<pid>/auxv`). `exec` keeps the PID but
/// replaces both, and the vector's addresses move with address-space
/// randomisation even when the same program is run again with the same
/// arguments, so a change tells that the Session's shell replaced itself
/// (`exec bash`). `None` when it cannot be read (the process ended, or runs
/// a program others may not inspect, such as `sudo`).
pub fn image(pid: i32) -> Option<Vec<u8>> {
    let mut image = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    image.push(0);
    image.extend(std::fs::read(format!("/proc/{pid}/auxv")).ok()?);
    Some(image)
}

/// Whether the terminal's line editing is off: a program reads key by key.
pub fn reads_keys(master: &File) -> bool {
    tcgetattr(master).is_ok_and(|t| !t.local_flags.contains(LocalFlags::ICANON))
}

/// Whether `input` holds a character that, with the terminal's signals on
/// (and `NOFLSH` off), throws away what the shell has not read yet: the
/// interrupt character (Ctrl+C), whatever is in the foreground; the quit
/// and suspend characters (Ctrl+\\, Ctrl+Z) only while a job runs there
/// (`shell_in_front` false): an interactive shell ignores both at its
/// prompt, and its line editor keeps the line it edits.
pub fn interrupts(master: &File, input: &[u8], shell_in_front: bool) -> bool {
    use SpecialCharacterIndices::{VINTR, VQUIT, VSUSP};
    let characters: &[SpecialCharacterIndices] = if shell_in_front {
        &[VINTR]
    } else {
        &[VINTR, VQUIT, VSUSP]
    };
    tcgetattr(master).is_ok_and(|t| {
        let flags = t.local_flags;
        flags.contains(LocalFlags::ISIG)
            && !flags.contains(LocalFlags::NOFLSH)
            && characters
                .iter()
                .map(|&c| t.control_chars[c as usize])
                // `_POSIX_VDISABLE`: that character is off.
                .any(|c| c != 0 && input.contains(&c))
    })
}

/// Whether every byte typed has been read by some program: nothing waits
/// in the terminal's input (`FIONREAD` on the PTY's slave, reached from the
/// master with `TIOCGPTPEER`). `false` when that cannot be known.
pub fn input_read(master: &File) -> bool {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER takes open flags and returns a new descriptor, or
    // -1; it does not open a controlling terminal (O_NOCTTY).
    let fd = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER as _, flags) };
    if fd < 0 {
        return false;
    }
    // SAFETY: the descriptor was just opened, and is owned here only.
    let slave = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut unread: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through a valid pointer.
    let asked = unsafe { libc::ioctl(slave.as_raw_fd(), libc::FIONREAD as _, &mut unread) };
    asked >= 0 && unread == 0
}

/// Whether the leader of process group `pgid` waits for terminal input.
pub fn waits_for_input(master: &File, pgid: i32) -> bool {
    let sleeping = std::fs::read_to_string(format!("/proc/{pgid}/stat"))
        .ok()
        .and_then(|s| {
            // The state follows the command name, which is in parentheses
            // and may itself hold spaces or parentheses.
            let after = &s[s.rfind(')')? + 1..];
            after.split_whitespace().next().map(|st| st == "S")
        })
        .unwrap_or(false);
    if !sleeping {
        return false;
    }
    if reads_keys(master) {
        return true;
    }
    std::fs::read_to_string(format!("/proc/{pgid}/wchan"))
        .is_ok_and(|w| matches!(w.trim(), "n_tty_read" | "wait_woken"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_is_named_by_its_comm() {
        let me = std::process::id() as i32;
        assert!(program(me).is_some_and(|p| !p.is_empty()));
        assert_eq!(program(i32::MAX), None);
    }

    #[test]
    fn a_program_image_stays_while_the_process_runs_it() {
        let me = std::process::id() as i32;
        assert!(image(me).is_some());
        assert_eq!(image(me), image(me));
        assert_eq!(image(i32::MAX), None);
    }

    /// `exec` keeps the PID and changes the image, even to a program run
    /// with no arguments at all.
    #[test]
    fn a_program_image_changes_when_the_process_execs() {
        use std::io::Write;
        let mut sh = std::process::Command::new("sh")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = sh.id() as i32;
        let before = image(pid).expect("sh's image");
        writeln!(sh.stdin.as_mut().unwrap(), "exec sleep 5").unwrap();
        // Until sh has read the line and exec'd (a deadline, not a timing).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut changed = false;
        while std::time::Instant::now() < deadline {
            if program(pid).as_deref() == Some("sleep") {
                changed = image(pid).is_some_and(|now| now != before);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        sh.kill().unwrap();
        sh.wait().unwrap();
        assert!(changed, "the image after exec differs from sh's");
    }

    /// Ctrl+C always throws away unread input; Ctrl+Z and Ctrl+\\ only
    /// while a job (not the shell) is in front.
    #[test]
    fn which_keys_throw_away_unread_input() {
        let (master, _slave) = crate::pty::open(80, 24).unwrap();
        let master = File::from(master);
        for (input, shell_in_front, thrown) in [
            (&b"\x03"[..], true, true),
            (b"\x03", false, true),
            (b"\x1a", true, false),
            (b"\x1a", false, true),
            (b"\x1c", true, false),
            (b"\x1c", false, true),
            (b"plain text\r", false, false),
        ] {
            assert_eq!(
                interrupts(&master, input, shell_in_front),
                thrown,
                "{input:?}, shell in front: {shell_in_front}"
            );
        }
    }

    #[test]
    fn a_sleeping_process_does_not_wait_for_terminal_input() {
        let (master, _slave) = crate::pty::open(80, 24).unwrap();
        let master = File::from(master);
        let mut sleep = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let pid = sleep.id() as i32;
        // Until it sleeps it is running (`R`); either way it is not reading.
        for _ in 0..50 {
            assert!(!waits_for_input(&master, pid));
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        sleep.kill().unwrap();
        sleep.wait().unwrap();
    }
}
