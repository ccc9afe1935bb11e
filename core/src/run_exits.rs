//! The exit status of each `run`, kept beside the Event Log.
//!
//! agent-tty 0.5's `run_complete` record is `{marker, inputRunSeq?}` and
//! 0.5's readers reject any other key, so the exit status a shell reports
//! cannot go into the Event Log. The Session's host appends it here,
//! `run-exits.jsonl` in the Session directory (0600), one
//! `{"marker":…,"exitCode":N}` line per completed run whose exit status is
//! known, *before* it logs the `run_complete`: a reader that has seen the
//! completion finds the status. A run without a line here completed with an
//! unknown status (`exitCode: null`).
//!
//! Reading is bounded (the last [`MAX_BYTES`]) and goes through
//! [`safe_fs::open_home_file`] (no symlink, no FIFO, no stranger's file):
//! the file sits in a Home, which may be hostile.

use crate::safe_fs;
use serde::{Deserialize, Serialize};
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The file's name in a Session directory.
pub const RUN_EXITS_FILE: &str = "run-exits.jsonl";

/// The most of the file a reader looks at, from its end (the last 80,000
/// runs or so).
pub const MAX_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Line {
    marker: String,
    exit_code: i32,
}

/// Records that the run with `marker` exited with `exit_code` (the host
/// only).
pub fn record(session_dir: &Path, marker: &str, exit_code: i32) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(&Line {
        marker: marker.to_owned(),
        exit_code,
    })
    .expect("a line always serialises");
    line.push(b'\n');
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(session_dir.join(RUN_EXITS_FILE))?
        .write_all(&line)
}

/// The exit status recorded for `marker`, if any.
pub fn lookup(session_dir: &Path, marker: &str) -> Option<i32> {
    find(session_dir, marker).map(|l| l.exit_code)
}

/// The last line recorded for `marker`, looked for in the last
/// [`MAX_BYTES`] of the file: lines are appended, so the newest runs are at
/// its end, and a long-lived Session's file can outgrow the cap.
fn find(session_dir: &Path, marker: &str) -> Option<Line> {
    let mut file = safe_fs::open_home_file(&session_dir.join(RUN_EXITS_FILE)).ok()?;
    let len = file.metadata().ok()?.len();
    let start = len.saturating_sub(MAX_BYTES);
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES).read_to_end(&mut bytes).ok()?;
    // Started inside the file: its first line is cut, drop it.
    let whole = match start {
        0 => &bytes[..],
        _ => bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(&[][..], |i| &bytes[i + 1..]),
    };
    String::from_utf8_lossy(whole)
        .lines()
        .rev()
        .filter(|l| l.contains(marker))
        .find_map(|l| {
            serde_json::from_str::<Line>(l)
                .ok()
                .filter(|l| l.marker == marker)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_status_is_found_by_its_marker() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(lookup(dir.path(), "m1"), None);
        record(dir.path(), "m1", 7).unwrap();
        record(dir.path(), "m2", 0).unwrap();
        assert_eq!(lookup(dir.path(), "m1"), Some(7));
        assert_eq!(lookup(dir.path(), "m2"), Some(0));
        assert_eq!(lookup(dir.path(), "m"), None);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(RUN_EXITS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_fifo_or_a_symlink_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(RUN_EXITS_FILE);
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert_eq!(lookup(dir.path(), "m1"), None);
        std::fs::remove_file(&path).unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, "{\"marker\":\"m1\",\"exitCode\":3}\n").unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert_eq!(lookup(dir.path(), "m1"), None);
        assert!(record(dir.path(), "m1", 1).is_err());
    }

    #[test]
    fn the_newest_runs_are_found_past_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        record(dir.path(), "first", 1).unwrap();
        // More than the cap of older lines, written at once.
        let filler = "{\"marker\":\"old\",\"exitCode\":0}\n";
        let mut text = filler.repeat((MAX_BYTES as usize) / filler.len() + 10);
        text.insert_str(0, "{\"marker\":\"first\",\"exitCode\":1}\n");
        std::fs::write(dir.path().join(RUN_EXITS_FILE), text).unwrap();
        record(dir.path(), "last", 9).unwrap();
        assert_eq!(lookup(dir.path(), "last"), Some(9));
        assert_eq!(lookup(dir.path(), "old"), Some(0));
        // Beyond the cap from the end: not read.
        assert_eq!(lookup(dir.path(), "first"), None);
    }
}
