//! Kill authority: only a process pinned by the sidecar (PID, start time,
//! this machine and boot), re-checked through a pidfd right before the
//! signal and owned by this user, is ever signalled ([`ProcessIdentity::verify`]);
//! and the plain signal helpers, which refuse PIDs 0 and 1.

use super::proc_stat::{read_stat, Stat};
use super::sidecar::ProcessIdentity;
use agent_tty_core::safe_fs;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

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

    /// A descriptor that polls readable once the process has exited (its
    /// pidfd), where the kernel has them: a watcher can sleep until then
    /// instead of polling [`Verified::is_alive`].
    pub fn exit_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        self.pidfd.as_ref().map(|fd| fd.as_fd())
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

#[cfg(test)]
mod tests {
    use super::super::tests::manifest;
    use super::super::verdict::{child_identity, judge, Liveness};
    use super::*;
    use std::path::Path;

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
        assert!(wait_for(std::time::Duration::from_secs(5), || read_stat(
            job
        )
        .is_none_or(|s| s.zombie)));
    }

    #[test]
    fn pids_0_and_1_are_never_signal_targets() {
        // Signal 0 only asks whether the target exists: 0 (our own group)
        // and 1 (init) both do, and both are refused before any kill(2).
        for pid in [0, 1] {
            assert!(!signal_process(pid, Signal::SIGCONT));
            assert!(!signal_group(pid, Signal::SIGCONT));
            assert!(!group_exists(pid));
        }
        assert!(signal_process(std::process::id(), Signal::SIGCONT));
    }

    #[test]
    fn wait_for_says_whether_the_condition_came_true_in_time() {
        let mut polls = 0;
        assert!(wait_for(std::time::Duration::from_secs(5), || {
            polls += 1;
            polls == 3
        }));
        assert_eq!(polls, 3);
        assert!(!wait_for(std::time::Duration::from_millis(30), || false));
    }
}
