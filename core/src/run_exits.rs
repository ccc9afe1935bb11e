//! The exit status of each `run`, and where its output is, kept beside the
//! Event Log.
//!
//! agent-tty 0.5's `run_complete` record is `{marker, inputRunSeq?}` and
//! 0.5's readers reject any other key, so what the host knows about a
//! finished run cannot go into the Event Log. The Session's host appends it
//! here, `run-exits.jsonl` in the Session directory (0600), one
//! `{"marker":…,"exitCode":N,"outputFromSeq":F,"outputToSeq":T}` line per
//! completed run it knows any of these for (each key may be missing),
//! *before* it logs the `run_complete`: a reader that has seen the
//! completion finds them. A run without an `exitCode` here completed with
//! an unknown status (`exitCode: null`).
//!
//! `outputFromSeq` and `outputToSeq` bound the `output` events that hold
//! the command's own output (`F <= seq < T`): the host cuts the logged
//! output where the shell's marks say the command starts and ends, so these
//! events hold neither the echoed command line nor the next prompt
//! (`run --output` reads them). A shell that does not mark where a command
//! starts (sh, dash) gives only `outputToSeq`.
//!
//! Reading is bounded (the last [`MAX_BYTES`]) and goes through
//! [`safe_fs::open_home_file`] (no symlink, no FIFO, no stranger's file):
//! the file sits in a Home, which may be hostile.

use crate::layout::SessionDir;
use crate::safe_fs;
use serde::{Deserialize, Serialize};
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The most of the file a reader looks at, from its end (the last 80,000
/// runs or so).
pub const MAX_BYTES: u64 = 8 * 1024 * 1024;

/// What is recorded about a finished run.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    /// The status the shell reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The first `seq` of the command's own output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_from_seq: Option<u64>,
    /// The `seq` after its own output: the next prompt's output and what
    /// follows are from here on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_to_seq: Option<u64>,
}

impl Recorded {
    /// Whether there is anything to record.
    pub fn is_empty(&self) -> bool {
        *self == Recorded::default()
    }
}

#[derive(Serialize, Deserialize)]
struct Line {
    marker: String,
    #[serde(flatten)]
    recorded: Recorded,
}

/// Records what is known about the finished run with `marker` (the host
/// only).
pub fn record(session_dir: &Path, marker: &str, recorded: &Recorded) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(&Line {
        marker: marker.to_owned(),
        recorded: recorded.clone(),
    })
    .expect("a line always serialises");
    line.push(b'\n');
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(SessionDir::new(session_dir).run_exits())?
        .write_all(&line)
}

/// The exit status recorded for `marker`, if any.
pub fn lookup(session_dir: &Path, marker: &str) -> Option<i32> {
    recorded(session_dir, marker)?.exit_code
}

/// Everything recorded for `marker`, if anything was.
pub fn recorded(session_dir: &Path, marker: &str) -> Option<Recorded> {
    find(session_dir, marker).map(|l| l.recorded)
}

/// The last line recorded for `marker`, looked for in the last
/// [`MAX_BYTES`] of the file: lines are appended, so the newest runs are at
/// its end, and a long-lived Session's file can outgrow the cap.
fn find(session_dir: &Path, marker: &str) -> Option<Line> {
    let mut file = safe_fs::open_home_file(&SessionDir::new(session_dir).run_exits()).ok()?;
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

    fn status(code: i32) -> Recorded {
        Recorded {
            exit_code: Some(code),
            ..Recorded::default()
        }
    }

    #[test]
    fn where_the_output_is_is_recorded_with_or_without_a_status() {
        let dir = tempfile::tempdir().unwrap();
        let bounds = Recorded {
            exit_code: None,
            output_from_seq: Some(5),
            output_to_seq: Some(9),
        };
        record(dir.path(), "m1", &bounds).unwrap();
        assert_eq!(recorded(dir.path(), "m1"), Some(bounds));
        assert_eq!(lookup(dir.path(), "m1"), None);
        let text = std::fs::read_to_string(SessionDir::new(dir.path()).run_exits()).unwrap();
        assert_eq!(
            text,
            "{\"marker\":\"m1\",\"outputFromSeq\":5,\"outputToSeq\":9}\n"
        );
        // A line of before (a status only) still reads.
        std::fs::write(
            SessionDir::new(dir.path()).run_exits(),
            "{\"marker\":\"m2\",\"exitCode\":3}\n",
        )
        .unwrap();
        assert_eq!(recorded(dir.path(), "m2"), Some(status(3)));
    }

    #[test]
    fn a_recorded_status_is_found_by_its_marker() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(lookup(dir.path(), "m1"), None);
        record(dir.path(), "m1", &status(7)).unwrap();
        record(dir.path(), "m2", &status(0)).unwrap();
        assert_eq!(lookup(dir.path(), "m1"), Some(7));
        assert_eq!(lookup(dir.path(), "m2"), Some(0));
        assert_eq!(lookup(dir.path(), "m"), None);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(SessionDir::new(dir.path()).run_exits())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_fifo_or_a_symlink_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = SessionDir::new(dir.path()).run_exits();
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert_eq!(lookup(dir.path(), "m1"), None);
        std::fs::remove_file(&path).unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, "{\"marker\":\"m1\",\"exitCode\":3}\n").unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert_eq!(lookup(dir.path(), "m1"), None);
        assert!(record(dir.path(), "m1", &status(1)).is_err());
    }

    #[test]
    fn the_newest_runs_are_found_past_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        record(dir.path(), "first", &status(1)).unwrap();
        // More than the cap of older lines, written at once.
        let filler = "{\"marker\":\"old\",\"exitCode\":0}\n";
        let mut text = filler.repeat((MAX_BYTES as usize) / filler.len() + 10);
        text.insert_str(0, "{\"marker\":\"first\",\"exitCode\":1}\n");
        std::fs::write(SessionDir::new(dir.path()).run_exits(), text).unwrap();
        record(dir.path(), "last", &status(9)).unwrap();
        assert_eq!(lookup(dir.path(), "last"), Some(9));
        assert_eq!(lookup(dir.path(), "old"), Some(0));
        // Beyond the cap from the end: not read.
        assert_eq!(lookup(dir.path(), "first"), None);
    }
}
