//! What `/proc/<pid>/stat` says of a process: its state, start time,
//! process group, terminal session and owner. Shared by the sidecar (a
//! process's identity), the verdict (is it alive) and kill authority (is it
//! still the one that was recorded).

use nix::sys::signal::kill;
use nix::unistd::Pid;
use std::path::Path;
use std::sync::OnceLock;

/// Whether `pid` runs and is not a zombie, and, when `start_time` is given,
/// started then. Without `/proc` (no start times to compare) the PID alone
/// decides.
pub(super) fn alive(pid: u32, start_time: Option<u64>) -> bool {
    match read_stat(pid) {
        Some(stat) => !stat.zombie && start_time.is_none_or(|t| t == stat.start_time),
        None => !proc_available() && pid_exists(pid),
    }
}

pub(super) struct Stat {
    pub(super) zombie: bool,
    pub(super) start_time: u64,
    /// Field 5: the process group.
    pub(super) pgrp: Option<u32>,
    /// Field 6: the terminal session id.
    pub(super) session: Option<u32>,
    /// Field 8: the foreground process group of its terminal (none: -1).
    pub(super) tpgid: Option<u32>,
    /// The owner of `/proc/<pid>` (the process's effective user).
    pub(super) uid: Option<u32>,
}

pub(super) fn read_stat(pid: u32) -> Option<Stat> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let mut file = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let uid = file.metadata().ok().map(|m| m.uid());
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    // The command name (field 2) is in parentheses and may itself contain
    // spaces or parentheses: split after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    // From field 3 (the state) on: field N is at index N - 3.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let number = |field: usize| fields.get(field - 3).and_then(|f| f.parse::<u32>().ok());
    let state = *fields.first()?;
    Some(Stat {
        zombie: state == "Z" || state == "X",
        start_time: fields.get(22 - 3)?.parse().ok()?,
        pgrp: number(5),
        session: number(6),
        tpgid: number(8),
        uid,
    })
}

fn proc_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| Path::new("/proc/self/stat").exists())
}

fn pid_exists(pid: u32) -> bool {
    i32::try_from(pid)
        .ok()
        .filter(|&p| p > 0)
        .is_some_and(|p| match kill(Pid::from_raw(p), None) {
            Ok(()) => true,
            Err(e) => e == nix::errno::Errno::EPERM,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_reads_as_running_with_a_start_time_and_its_owner() {
        let stat = read_stat(std::process::id()).expect("/proc/self/stat");
        assert!(!stat.zombie);
        assert!(stat.start_time > 0);
        assert_eq!(stat.uid, Some(nix::unistd::geteuid().as_raw()));
        assert!(alive(std::process::id(), Some(stat.start_time)));
        assert!(!alive(std::process::id(), Some(stat.start_time + 1)));
    }

    #[test]
    fn a_pid_that_does_not_exist_is_neither_read_nor_alive() {
        // Beyond the kernel's PID limit (2^22): no process has it.
        let none = 1 << 23;
        assert!(read_stat(none).is_none());
        assert!(!alive(none, None));
        assert!(!pid_exists(none));
        assert!(pid_exists(std::process::id()));
    }
}
