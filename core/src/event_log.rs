//! The Event Log `events.jsonl`: one JSON object per line,
//! `{"seq":N,"ts":"<ISO>","type":T,"payload":{...}}`, `seq` from 0 up by 1.
//!
//! The writer emits whole lines with a single `write` on an `O_APPEND` file, so
//! a crash never leaves half a line behind for *our* readers; readers still
//! tolerate a torn last line because other writers (agent-tty 0.5, a full
//! disk) may leave one. [`EventLogFollower`] reads only what was appended
//! since its last call, never the whole file again.
//!
//! On a full disk (docs/SECURITY.md) the writer keeps the log readable and
//! honest: a line a failed write left half-written is terminated before the
//! next append (so it becomes one malformed line readers skip, instead of
//! gluing the next event to it and losing both); output that could not be
//! logged is counted and, as soon as anything can be written again, a
//! `marker` event says how many bytes were lost; and the host's record of
//! its end goes to a small file reserved when the log was opened
//! (`host-record.json`, [`crate::layout::session::HOST_RECORD`]),
//! rewritten in place, which needs no new space, so the exit status
//! survives a disk that is full at exit. That record also
//! says "storage full", which `run` and `wait` report instead of timing out.
//!
//! Every line is at most [`MAX_LINE`] bytes (ADR 0015): the writer splits
//! output that would make a longer line into several `output` events and
//! refuses any other event that long, and readers skip a longer line
//! (written by someone else) without ever holding it, counting it as lost
//! ([`EventLogFollower::skipped`]), so one line cannot cost unbounded memory.

use crate::error::{Error, Result};
use crate::layout::SessionDir;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::ControlFlow;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

mod fast;
pub use fast::EventRef;

/// The longest Event Log line, newline excluded, that is written or read:
/// the host's largest control request (16 MiB, a `type` or `paste`) plus
/// room for the event's envelope, so every input the host accepts is
/// recorded as one line, while reading any line costs at most this much
/// memory (a small part of the 256 MB a reader may use; ADR 0015).
pub const MAX_LINE: usize = 16 * 1024 * 1024 + 4096;

/// Output is split into pieces of at most this many bytes of text when one
/// event would exceed [`MAX_LINE`]: JSON escapes a byte into at most six, so
/// a piece's line always fits.
const OUTPUT_PIECE: usize = MAX_LINE / 8;

/// One line of the Event Log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the log, from 0.
    pub seq: u64,
    /// When it was written (ISO-8601 UTC, milliseconds).
    pub ts: String,
    /// What happened.
    #[serde(flatten)]
    pub body: EventBody,
}

/// The event types and their payloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum EventBody {
    /// Terminal output, as text.
    Output { data: String },
    /// Literal typed text.
    InputText { data: String },
    /// A bracketed paste.
    InputPaste { data: String },
    /// Named keys.
    InputKeys { keys: Vec<String> },
    /// A command typed by `run`.
    #[serde(rename_all = "camelCase")]
    InputRun {
        command: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        marker: Option<String>,
        no_wait: bool,
    },
    /// `run`'s completion marker was seen.
    #[serde(rename_all = "camelCase")]
    RunComplete {
        marker: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input_run_seq: Option<u64>,
        /// The command's exit status as Event Logs of earlier versions of
        /// agent-tty carried it: still read, never written (0.5's schema
        /// has no such key). It is now kept beside the log
        /// ([`run_exits`](crate::run_exits)).
        #[serde(default, skip_serializing)]
        exit_code: Option<i32>,
    },
    /// The Session's size changed.
    Resize { cols: u16, rows: u16 },
    /// A signal was sent to the Session.
    Signal { signal: String },
    /// The Session's command ended.
    #[serde(rename_all = "camelCase")]
    Exit {
        exit_code: Option<i32>,
        exit_signal: Option<String>,
    },
    /// A label placed in the log.
    Marker { label: String },
}

/// Appends events with contiguous `seq`. One writer per Session (its host).
pub struct EventLogWriter {
    file: File,
    path: PathBuf,
    next_seq: u64,
    /// A write failed: the log may end in half a line.
    torn: bool,
    /// Bytes of output that could not be logged since the last marker.
    lost_output: u64,
    /// The reserved host record (none when it could not be made).
    record: Option<HostRecordFile>,
    /// The line being encoded, kept between appends so a busy host does
    /// not allocate one per event (dropped when a huge event made it big).
    line: Vec<u8>,
}

/// The line buffer an [`EventLogWriter`] keeps between appends: room for a
/// few chunks of output, however big one event once was.
const KEEP_LINE_CAPACITY: usize = 1 << 20;

/// Bytes reserved for the host record: far more than it ever holds.
const RECORD_SIZE: usize = 1024;

/// What the reserved host record holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostRecord {
    /// An append to the Event Log failed for lack of space (or another
    /// write error) and was not followed by a successful one.
    #[serde(default)]
    pub storage_full: bool,
    /// Output bytes that could not be logged, in total.
    #[serde(default)]
    pub lost_output_bytes: u64,
    /// Set once the command has ended: how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<RecordedExit>,
}

/// The command's end as the host saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedExit {
    /// Its exit code, when it exited.
    pub exit_code: Option<i32>,
    /// The signal that ended it, when one did.
    pub exit_signal: Option<String>,
}

struct HostRecordFile {
    file: File,
    record: HostRecord,
}

impl HostRecordFile {
    /// Creates the record and fills its whole reserved size now, while
    /// there is room.
    fn reserve(session_dir: &Path) -> std::io::Result<Self> {
        let path = SessionDir::new(session_dir).host_record();
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)?;
        let mut this = HostRecordFile {
            file,
            record: HostRecord::default(),
        };
        this.save()?;
        this.file.sync_all()?;
        Ok(this)
    }

    /// Rewrites the record in place, padded to its reserved size, so no
    /// new block is ever needed.
    fn save(&mut self) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        let mut bytes = serde_json::to_vec(&self.record).expect("a record serialises");
        if bytes.len() >= RECORD_SIZE {
            return Err(std::io::Error::other("host record too large"));
        }
        bytes.resize(RECORD_SIZE - 1, b' ');
        bytes.push(b'\n');
        self.file.write_all_at(&bytes, 0)
    }
}

/// Reads a Session's host record, if its host made one.
pub fn read_host_record(session_dir: &Path) -> Option<HostRecord> {
    let bytes =
        crate::safe_fs::read_home_file(&SessionDir::new(session_dir).host_record(), 64 << 10)
            .ok()?;
    serde_json::from_slice(bytes.trim_ascii_end()).ok()
}

/// The error `run` and `wait` give, instead of a timeout, when the
/// Session's host could not write its Event Log: what they wait for may
/// have happened without being recorded.
pub fn storage_problem(session_dir: &Path) -> Option<crate::Error> {
    let record = read_host_record(session_dir)?;
    record.storage_full.then(|| {
        crate::Error::invalid(
            agent_tty_protocol::ErrorCode::StorageWriteError,
            format!(
                "storage full: the Session's host could not write its Event Log in {} \
                 ({} bytes of output lost so far), so what you are waiting for may have \
                 happened unrecorded; free some space, then check with `agent-tty snapshot`",
                crate::text::escape_path(session_dir),
                record.lost_output_bytes
            ),
        )
    })
}

impl EventLogWriter {
    /// Opens (creating with mode 0600) a Session's Event Log for appending,
    /// continuing after the last complete event already in it.
    pub fn open(session_dir: &Path) -> Result<Self> {
        let path = SessionDir::new(session_dir).event_log();
        let next_seq = match last_event(&path)? {
            Some(e) => e.seq + 1,
            None => 0,
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| Error::write(&path, e))?;
        let mut writer = EventLogWriter {
            file,
            path,
            next_seq,
            // Whatever was there before may end torn (a crash, a full disk).
            torn: true,
            lost_output: 0,
            record: None,
            line: Vec::new(),
        };
        writer.repair().map_err(|e| Error::write(&writer.path, e))?;
        writer.record =
            Some(HostRecordFile::reserve(session_dir).map_err(|e| Error::write(session_dir, e))?);
        Ok(writer)
    }

    /// Ends a torn last line with a newline, so the next event starts a
    /// line of its own (the torn one is then skipped by every reader).
    fn repair(&mut self) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        if !self.torn {
            return Ok(());
        }
        let len = self.file.metadata()?.len();
        let mut last = [0u8; 1];
        if len > 0 {
            self.file.read_exact_at(&mut last, len - 1)?;
            if last[0] != b'\n' {
                self.file.write_all(b"\n")?;
            }
        }
        self.torn = false;
        Ok(())
    }

    fn write_line(&mut self, body: EventBody) -> Result<u64> {
        self.write_encoded(|line, seq, ts| {
            let event = Event { seq, ts, body };
            serde_json::to_writer(line, &event).expect("an event always serialises");
        })
    }

    /// Writes the line `encode` makes for the next `seq` and the time now,
    /// with one `write`.
    fn write_encoded(&mut self, encode: impl FnOnce(&mut Vec<u8>, u64, String)) -> Result<u64> {
        self.repair().map_err(|e| Error::write(&self.path, e))?;
        let seq = self.next_seq;
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        encode(&mut line, seq, crate::time::now_iso());
        if line.len() > MAX_LINE {
            let len = line.len();
            self.keep_line(line);
            return Err(Error::invalid(
                agent_tty_protocol::ErrorCode::InvalidInput,
                format!(
                    "this event would be a {len} byte Event Log line, longer than the {MAX_LINE} \
                     bytes any reader accepts; send it in smaller parts"
                ),
            ));
        }
        line.push(b'\n');
        let written = self.file.write_all(&line);
        self.keep_line(line);
        if let Err(e) = written {
            self.torn = true;
            return Err(Error::write(&self.path, e));
        }
        self.next_seq += 1;
        Ok(seq)
    }

    /// Frees the buffer kept for encoding lines (an idle host does not need
    /// it).
    pub fn release_buffer(&mut self) {
        self.line = Vec::new();
    }

    fn keep_line(&mut self, line: Vec<u8>) {
        if line.capacity() <= KEEP_LINE_CAPACITY {
            self.line = line;
        }
    }

    fn note_storage(&mut self, full: bool) {
        let lost = self.lost_output;
        if let Some(record) = &mut self.record {
            if record.record.storage_full != full || (full && lost > 0) {
                record.record.storage_full = full;
                if full {
                    record.record.lost_output_bytes = record.record.lost_output_bytes.max(lost);
                }
                let _ = record.save();
            }
        }
    }

    /// Records the command's end: the `exit` event, and, first, the
    /// reserved host record, which needs no new space and so survives a
    /// full disk. Returns the event's `seq` when the log took it.
    pub fn record_exit(
        &mut self,
        exit_code: Option<i32>,
        exit_signal: Option<String>,
    ) -> Result<u64> {
        if let Some(record) = &mut self.record {
            record.record.exit = Some(RecordedExit {
                exit_code,
                exit_signal: exit_signal.clone(),
            });
            let _ = record.save();
            let _ = record.file.sync_all();
        }
        self.append(EventBody::Exit {
            exit_code,
            exit_signal,
        })
    }

    /// Appends one event as one whole line and returns its `seq`.
    ///
    /// When output could not be logged earlier, a `marker` event saying how
    /// many bytes were lost goes first. A failed append of output counts its
    /// bytes as lost; any failed append marks storage as full in the host
    /// record until an append succeeds again.
    pub fn append(&mut self, body: EventBody) -> Result<u64> {
        if let EventBody::Output { data } = &body {
            return self.append_output(data);
        }
        self.append_with(0, |this| this.write_line(body))
    }

    /// Appends `data` as an `output` event (several when it is too long for
    /// one line; then the last one's `seq`), as [`Self::append`] does.
    /// The host's output pump calls this with pieces of what it read from
    /// the PTY: the text is escaped straight into the line, with no event
    /// built around it first.
    pub fn append_output(&mut self, data: &str) -> Result<u64> {
        if data.len() > OUTPUT_PIECE {
            return self.append_output_in_pieces(data);
        }
        self.append_with(data.len() as u64, |this| {
            this.write_encoded(|line, seq, ts| encode_output(line, seq, &ts, data))
        })
    }

    /// Writes an event with `write` after the lost-output marker, keeping
    /// the storage accounting of [`Self::append`]; `output_len` is the
    /// output it carries, lost if it fails.
    fn append_with(
        &mut self,
        output_len: u64,
        write: impl FnOnce(&mut Self) -> Result<u64>,
    ) -> Result<u64> {
        let written = self.write_lost_marker().and_then(|()| write(self));
        match written {
            Ok(seq) => {
                self.note_storage(false);
                Ok(seq)
            }
            // Refused, not failed: nothing about storage to record.
            Err(e @ Error::Invalid { .. }) => Err(e),
            Err(e) => {
                self.lost_output += output_len;
                self.note_storage(true);
                Err(e)
            }
        }
    }

    /// Output too long for one line, as several `output` events; returns
    /// the last one's `seq`.
    fn append_output_in_pieces(&mut self, data: &str) -> Result<u64> {
        let mut rest = data;
        let mut seq = None;
        while !rest.is_empty() {
            let mut end = rest.len().min(OUTPUT_PIECE);
            while !rest.is_char_boundary(end) {
                end -= 1;
            }
            let (piece, tail) = rest.split_at(end);
            rest = tail;
            // A failed piece is counted as lost output; the rest go on.
            match self.append_output(piece) {
                Ok(s) => seq = Some(s),
                Err(e) if rest.is_empty() && seq.is_none() => return Err(e),
                Err(_) => {}
            }
        }
        seq.ok_or_else(|| Error::write(&self.path, std::io::Error::other("no output logged")))
    }

    /// The `marker` saying how much output was lost, when some was.
    fn write_lost_marker(&mut self) -> Result<()> {
        if self.lost_output == 0 {
            return Ok(());
        }
        let label = format!(
            "agent-tty: {} bytes of output were lost (the Event Log could not be written: \
             storage full?)",
            self.lost_output
        );
        self.write_line(EventBody::Marker { label })?;
        self.lost_output = 0;
        Ok(())
    }

    /// The `seq` the next event will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }
}

/// Encodes an `output` event exactly as serialising its [`Event`] would
/// (the keys in the same order, the same escapes), without making one.
fn encode_output(line: &mut Vec<u8>, seq: u64, ts: &str, data: &str) {
    use std::io::Write as _;
    let _ = write!(line, "{{\"seq\":{seq},\"ts\":");
    serde_json::to_writer(&mut *line, ts).expect("a string always serialises");
    line.extend_from_slice(b",\"type\":\"output\",\"payload\":{\"data\":");
    serde_json::to_writer(&mut *line, data).expect("a string always serialises");
    line.extend_from_slice(b"}}");
}

/// The last complete, parseable event of a log, reading only its tail.
///
/// Lines are found from the end backwards in fixed-size chunks; each line of
/// at most [`MAX_LINE`] bytes is read and tried, a longer one is passed over
/// without being read, so a huge last line costs time, never memory.
pub fn last_event(path: &Path) -> Result<Option<Event>> {
    use std::os::unix::fs::FileExt;
    const CHUNK: u64 = 64 * 1024;
    // Never a FIFO or a symlink (see `safe_fs::open_home_file`).
    let file = match crate::safe_fs::open_home_file(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::read(path, e)),
    };
    let len = file.metadata().map_err(|e| Error::read(path, e))?.len();
    let mut chunk = vec![0u8; CHUNK as usize];
    let mut line = Vec::new();
    // A torn last line (no newline after it) is not complete: lines end at
    // a newline, so the search starts at the last one.
    let mut line_end: Option<u64> = None;
    let mut pos = len;
    while pos > 0 {
        let start = pos.saturating_sub(CHUNK);
        let buf = &mut chunk[..(pos - start) as usize];
        file.read_exact_at(buf, start)
            .map_err(|e| Error::read(path, e))?;
        for i in (0..buf.len()).rev() {
            if buf[i] != b'\n' {
                continue;
            }
            let newline = start + i as u64;
            if let Some(end) = line_end {
                if let Some(event) = parse_line_at(&file, newline + 1, end, &mut line, path)? {
                    return Ok(Some(event));
                }
            }
            line_end = Some(newline);
        }
        pos = start;
    }
    match line_end {
        Some(end) => parse_line_at(&file, 0, end, &mut line, path),
        None => Ok(None),
    }
}

/// The event on bytes `start..end` of `file`, if that line is short enough
/// to read and parses.
fn parse_line_at(
    file: &File,
    start: u64,
    end: u64,
    line: &mut Vec<u8>,
    path: &Path,
) -> Result<Option<Event>> {
    use std::os::unix::fs::FileExt;
    let n = end - start;
    if n == 0 || n > MAX_LINE as u64 {
        return Ok(None);
    }
    line.resize(n as usize, 0);
    file.read_exact_at(line, start)
        .map_err(|e| Error::read(path, e))?;
    Ok(serde_json::from_slice(line).ok())
}

/// What a reader of an Event Log could not use. agent-tty 0.5 refuses a
/// damaged log whole (`REPLAY_ERROR`); ours reads every event it can and
/// says what it skipped, so a damaged log still shows its screen, and
/// nobody mistakes it for the whole story.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Complete lines that are not events (garbage, a line cut short in the
    /// middle of the log, an event whose `seq` repeats or goes backwards, a
    /// line longer than [`MAX_LINE`]).
    pub lines: u64,
    /// The byte offset of the first such line.
    pub first_line_at: Option<u64>,
    /// `seq` numbers missing where the log jumps ahead.
    pub missing_events: u64,
    /// The first missing `seq`.
    pub first_missing_seq: Option<u64>,
    /// Of [`Skipped::lines`], those longer than [`MAX_LINE`]: passed over
    /// without being held (agent-tty never writes one).
    pub long_lines: u64,
    /// Their bytes, lost to this reader as output is on a full disk.
    pub long_bytes: u64,
}

impl Skipped {
    /// Nothing was skipped.
    pub fn is_empty(&self) -> bool {
        self.lines == 0 && self.missing_events == 0
    }

    /// The warning for a person or a script, or `None` when nothing was
    /// skipped: what was skipped, where, and what it means.
    pub fn warning(&self, log: &Path) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let mut parts = Vec::new();
        if self.lines > 0 {
            parts.push(format!(
                "skipped {} (the first at byte {})",
                crate::text::counted(self.lines as usize, "malformed line"),
                self.first_line_at.unwrap_or(0)
            ));
        }
        if self.long_lines > 0 {
            parts.push(format!(
                "{} longer than {MAX_LINE} bytes ({} bytes not read; agent-tty never writes \
                 such lines, so something else wrote to this file)",
                crate::text::counted(self.long_lines as usize, "line was"),
                self.long_bytes
            ));
        }
        if self.missing_events > 0 {
            parts.push(format!(
                "{} missing (seq jumps ahead; the first missing is seq {})",
                crate::text::counted(self.missing_events as usize, "event"),
                self.first_missing_seq.unwrap_or(0)
            ));
        }
        Some(format!(
            "the Event Log {} is damaged: {}; what is shown was rebuilt from the remaining \
             events and may be incomplete",
            crate::text::escape_path(log),
            parts.join("; ")
        ))
    }

    fn line(&mut self, at: u64) {
        self.lines += 1;
        self.first_line_at.get_or_insert(at);
    }

    /// A line over [`MAX_LINE`] starting at byte `at`; its bytes are added
    /// as they are passed over.
    fn long_line(&mut self, at: u64) {
        self.line(at);
        self.long_lines += 1;
    }
}

/// Follows an Event Log: each call reads only bytes appended since the last.
pub struct EventLogFollower {
    path: PathBuf,
    offset: u64,
    torn: Vec<u8>,
    /// The read buffer, allocated on the first read and reused by every
    /// later one: `wait` polls a follower many times a second.
    chunk: Vec<u8>,
    /// The `seq` the next event should have (unknown when started in the
    /// middle of a log).
    expected_seq: Option<u64>,
    /// The first line may be the tail of one cut by the starting offset:
    /// not damage when it does not parse.
    first_may_be_cut: bool,
    /// Inside a line longer than [`MAX_LINE`], skipped up to its end.
    skipping: bool,
    skipped: Skipped,
    /// Where the line being decoded has its escaped text unescaped, reused
    /// from line to line (see [`EventRef`]).
    unescaped: String,
}

impl EventLogFollower {
    /// Starts at the beginning of the log.
    pub fn new(path: &Path) -> Self {
        let mut follower = Self::starting_at(path, 0);
        follower.expected_seq = Some(0);
        follower
    }

    /// Starts at byte `offset`, a line boundary up to which a reader has
    /// already read the log: `last_seq` is the last event it saw and
    /// `skipped` what it skipped there (a screen checkpoint's record).
    pub fn resuming(path: &Path, offset: u64, last_seq: Option<u64>, skipped: Skipped) -> Self {
        let mut follower = Self::starting_at(path, offset);
        follower.expected_seq = Some(last_seq.map_or(0, |s| s + 1));
        follower.first_may_be_cut = false;
        follower.skipped = skipped;
        follower
    }

    /// Starts at byte `offset`, e.g. the log's length just before sending a
    /// request whose effects are awaited, so only what follows is read. An
    /// offset inside a line (a writer was mid-append) costs at most that one
    /// unparseable line, which is skipped.
    pub fn starting_at(path: &Path, offset: u64) -> Self {
        EventLogFollower {
            path: path.to_owned(),
            offset,
            torn: Vec::new(),
            chunk: Vec::new(),
            expected_seq: None,
            first_may_be_cut: offset > 0,
            skipping: false,
            skipped: Skipped::default(),
            unescaped: String::new(),
        }
    }

    /// What it skipped so far (since the log's start, for a follower that
    /// started there or resumed a reader that did).
    pub fn skipped(&self) -> &Skipped {
        &self.skipped
    }

    /// The Event Log it follows.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes read so far, a torn last line included: the log has more to
    /// read while it is longer than this.
    pub fn bytes_read(&self) -> u64 {
        self.offset
    }

    /// Bytes consumed so far (complete lines only).
    pub fn offset(&self) -> u64 {
        self.offset - self.torn.len() as u64
    }

    /// Calls `each` for every complete event appended since the last call,
    /// reading in bounded chunks so a huge log never sits in memory at once.
    /// A torn last line is kept for next time; malformed lines, lines longer
    /// than [`MAX_LINE`] (never held whole), and events whose `seq` repeats
    /// or goes backwards, are skipped and counted in
    /// [`EventLogFollower::skipped`], as are `seq` numbers jumped over.
    /// A missing file is simply empty (the Session may not have written yet).
    pub fn read_new(&mut self, each: impl FnMut(Event)) -> Result<usize> {
        self.read_new_up_to(u64::MAX, each)
    }

    /// [`Self::read_new`], stopping once about `budget` bytes were read (at
    /// the end of a chunk): a reader that must stay responsive (the
    /// dashboard) reads a big log in steps. Whether more is left is
    /// whether the file is longer than [`Self::offset`].
    pub fn read_new_up_to(&mut self, budget: u64, mut each: impl FnMut(Event)) -> Result<usize> {
        self.read_new_borrowed_up_to(budget, |event| each(event.into_owned()))
    }

    /// [`Self::read_new`] without an allocation per event: `output` events
    /// borrow their text from the read buffer (see [`EventRef`]), so a
    /// reader that only looks at them (a replay) copies nothing.
    pub fn read_new_borrowed(&mut self, each: impl FnMut(EventRef<'_>)) -> Result<usize> {
        self.read_new_borrowed_up_to(u64::MAX, each)
    }

    /// [`Self::read_new_up_to`] with borrowed events (see
    /// [`Self::read_new_borrowed`]).
    pub fn read_new_borrowed_up_to(
        &mut self,
        budget: u64,
        mut each: impl FnMut(EventRef<'_>),
    ) -> Result<usize> {
        self.read_events(budget, |event| {
            each(event);
            ControlFlow::Continue(())
        })
    }

    /// [`Self::read_new_up_to`] that stops at once when `each` breaks: a
    /// reader that has what it came for (a capture past its part of a
    /// video) does not parse the rest of the log. The event it broke on
    /// counts as read; a later call starts at the line after it.
    pub fn read_new_until(
        &mut self,
        budget: u64,
        mut each: impl FnMut(Event) -> ControlFlow<()>,
    ) -> Result<usize> {
        self.read_events(budget, |event| each(event.into_owned()))
    }

    /// What every `read_new*` does (see [`Self::read_new`]).
    fn read_events(
        &mut self,
        budget: u64,
        mut each: impl FnMut(EventRef<'_>) -> ControlFlow<()>,
    ) -> Result<usize> {
        // Never a FIFO or a symlink (see `safe_fs::open_home_file`).
        let mut file = match crate::safe_fs::open_home_file(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(Error::read(&self.path, e)),
        };
        file.seek(SeekFrom::Start(self.offset))
            .map_err(|e| Error::read(&self.path, e))?;
        let mut count = 0;
        if self.chunk.is_empty() {
            self.chunk.resize(256 * 1024, 0);
        }
        let mut read = 0u64;
        'chunks: while read < budget {
            let n = file
                .read(&mut self.chunk)
                .map_err(|e| Error::read(&self.path, e))?;
            if n == 0 {
                break;
            }
            let chunk_start = self.offset;
            self.offset += n as u64;
            read += n as u64;
            let mut line_start = chunk_start - self.torn.len() as u64;
            let mut data = &self.chunk[..n];
            while let Some(nl) = memchr::memchr(b'\n', data) {
                let (line, rest) = data.split_at(nl);
                let next_start = self.offset - (rest.len() - 1) as u64;
                data = &rest[1..];
                if self.skipping {
                    // The end of an over-long line.
                    self.skipping = false;
                    self.skipped.long_bytes += line.len() as u64 + 1;
                    line_start = next_start;
                    continue;
                }
                if self.torn.len() + line.len() > MAX_LINE {
                    self.skipped.long_line(line_start);
                    skip_torn(&mut self.torn, &mut self.skipped, line.len() as u64 + 1);
                    self.first_may_be_cut = false;
                    line_start = next_start;
                    continue;
                }
                let whole = if self.torn.is_empty() {
                    line
                } else {
                    self.torn.extend_from_slice(line);
                    &self.torn
                };
                let may_be_cut = std::mem::take(&mut self.first_may_be_cut);
                match fast::decode(whole, &mut self.unescaped) {
                    Ok(event) => match self.expected_seq {
                        Some(expected) if event.seq() < expected => self.skipped.line(line_start),
                        expected => {
                            let seq = event.seq();
                            if let Some(expected) = expected.filter(|&e| seq > e) {
                                self.skipped.missing_events += seq - expected;
                                self.skipped.first_missing_seq.get_or_insert(expected);
                            }
                            self.expected_seq = Some(seq + 1);
                            count += 1;
                            if each(event).is_break() {
                                // The rest of this chunk is read again next time.
                                self.torn.clear();
                                self.offset = next_start;
                                break 'chunks;
                            }
                        }
                    },
                    Err(_) if may_be_cut || whole.trim_ascii().is_empty() => {}
                    Err(_) => self.skipped.line(line_start),
                }
                self.torn.clear();
                line_start = next_start;
            }
            if self.skipping {
                self.skipped.long_bytes += data.len() as u64;
            } else if self.torn.len() + data.len() > MAX_LINE {
                // Over the cap before its end: drop what is held and skip
                // the rest as it comes.
                self.skipped.long_line(line_start);
                skip_torn(&mut self.torn, &mut self.skipped, data.len() as u64);
                self.first_may_be_cut = false;
                self.skipping = true;
            } else {
                self.torn.extend_from_slice(data);
            }
        }
        // A follower lives as long as its reader (`wait`, the dashboard):
        // one huge line must not keep its unescaped copy alive.
        if self.unescaped.capacity() > 4 << 20 {
            self.unescaped = String::new();
        }
        Ok(count)
    }
}

/// Drops the held start of an over-long line (freeing it) and counts its
/// bytes and `more` as skipped.
fn skip_torn(torn: &mut Vec<u8>, skipped: &mut Skipped, more: u64) {
    skipped.long_bytes += torn.len() as u64 + more;
    *torn = Vec::new();
}

/// Reads every complete event of a log (tests and small logs; followers
/// should use [`EventLogFollower`]).
pub fn read_all(path: &Path) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    EventLogFollower::new(path).read_new(|e| events.push(e))?;
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that breaks stops there, parses nothing after it, and the
    /// next read starts with the event after the one it broke on.
    #[test]
    fn a_reader_that_breaks_stops_and_resumes_after_that_event() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let line = |seq: u64| {
            format!(
                "{{\"seq\":{seq},\"ts\":\"2026-11-24T03:50:02.677Z\",\"type\":\"output\",\"payload\":{{\"data\":\"e{seq}\"}}}}\n"
            )
        };
        let text: String = (0..5).map(line).collect();
        std::fs::write(&path, text).unwrap();
        let mut follower = EventLogFollower::new(&path);
        let mut seen = Vec::new();
        let read = follower
            .read_new_until(u64::MAX, |e| {
                seen.push(e.seq);
                if e.seq == 1 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .unwrap();
        assert_eq!((read, seen), (2, vec![0, 1]));
        assert_eq!(follower.offset(), (line(0) + &line(1)).len() as u64);
        let mut rest = Vec::new();
        follower.read_new(|e| rest.push(e.seq)).unwrap();
        assert_eq!(rest, [2, 3, 4]);
        assert_eq!(*follower.skipped(), Skipped::default());
    }

    #[test]
    fn lines_have_the_05_shape() {
        let e = Event {
            seq: 3,
            ts: "2026-11-24T03:50:02.677Z".into(),
            body: EventBody::InputRun {
                command: "ls".into(),
                marker: Some("m1".into()),
                no_wait: false,
            },
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"seq":3,"ts":"2026-11-24T03:50:02.677Z","type":"input_run","payload":{"command":"ls","marker":"m1","noWait":false}}"#
        );
    }

    #[test]
    fn output_lines_are_encoded_as_serialising_the_event_would() {
        for data in [
            "",
            "plain",
            "q\"uote\\ back\u{1b}[31mred\u{7}\r\n\t\u{0}\u{7f}",
            "é→😀\u{2028}\u{fffd}",
        ] {
            let event = Event {
                seq: 12345678901,
                ts: "2026-11-24T03:50:02.677Z".into(),
                body: EventBody::Output { data: data.into() },
            };
            let mut line = Vec::new();
            encode_output(&mut line, event.seq, &event.ts, data);
            assert_eq!(line, serde_json::to_vec(&event).unwrap());
            let parsed: Event = serde_json::from_slice(&line).unwrap();
            assert_eq!(parsed, event);
        }
    }

    #[test]
    fn a_torn_last_line_is_terminated_before_the_next_append() {
        let tmp = tempfile::tempdir().unwrap();
        let path = SessionDir::new(tmp.path()).event_log();
        {
            let mut w = EventLogWriter::open(tmp.path()).unwrap();
            w.append(EventBody::Output { data: "a".into() }).unwrap();
        }
        // What a write cut short by a full disk leaves.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"seq":1,"ts":"2026-11-24T03:5"#).unwrap();
        let mut w = EventLogWriter::open(tmp.path()).unwrap();
        assert_eq!(w.append(EventBody::Output { data: "b".into() }).unwrap(), 1);
        let events = read_all(&path).unwrap();
        assert_eq!(events.len(), 2, "the event after a torn line was lost");
        assert_eq!(events[1].body, EventBody::Output { data: "b".into() });
    }

    /// A log of `lines`, each written as given plus a newline.
    fn log_of(lines: &[&str]) -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let path = SessionDir::new(tmp.path()).event_log();
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, text).unwrap();
        (tmp, path)
    }

    fn output_line(seq: u64) -> String {
        format!(
            r#"{{"seq":{seq},"ts":"2026-11-24T03:50:02.677Z","type":"output","payload":{{"data":"x"}}}}"#
        )
    }

    #[test]
    fn garbage_lines_and_seq_gaps_are_read_past_and_counted() {
        let (e0, e1, e4, e2) = (
            output_line(0),
            output_line(1),
            output_line(4),
            output_line(2),
        );
        let (_tmp, path) = log_of(&[&e0, "not json at all", &e1, "", &e4, &e2]);
        let mut follower = EventLogFollower::new(&path);
        let mut seen = Vec::new();
        follower.read_new(|e| seen.push(e.seq)).unwrap();
        assert_eq!(seen, [0, 1, 4], "every readable event, in order");
        let skipped = follower.skipped().clone();
        let garbage_at = e0.len() as u64 + 1;
        assert_eq!(
            skipped,
            Skipped {
                // The garbage line and seq 2 going backwards; the blank line is no damage.
                lines: 2,
                first_line_at: Some(garbage_at),
                missing_events: 2,
                first_missing_seq: Some(2),
                ..Skipped::default()
            }
        );
        let warning = skipped.warning(&path).unwrap();
        assert!(
            warning.contains("skipped 2 malformed lines (the first at byte")
                && warning.contains("2 events missing")
                && warning.contains("first missing is seq 2"),
            "{warning}"
        );
    }

    #[test]
    fn a_log_that_does_not_start_at_seq_0_is_missing_events() {
        let e3 = output_line(3);
        let (_tmp, path) = log_of(&[&e3]);
        let mut follower = EventLogFollower::new(&path);
        follower.read_new(|_| {}).unwrap();
        assert_eq!(follower.skipped().missing_events, 3);
        // A follower started mid-log knows no seq to expect, and its first
        // line may be the tail of a cut one: neither is damage.
        let mut mid = EventLogFollower::starting_at(&path, 5);
        mid.read_new(|_| {}).unwrap();
        assert!(mid.skipped().is_empty(), "{:?}", mid.skipped());
    }

    /// A log of every kind of line, long enough that many lines straddle
    /// the follower's read chunks (the torn-line path), read by the
    /// follower and by serde line by line: the same events, in order, and
    /// the same lines skipped.
    #[test]
    fn the_follower_reads_what_serde_reads_line_by_line() {
        let kinds = [
            r#"{"seq":SEQ,"ts":"2026-11-24T03:50:02.677Z","type":"output","payload":{"data":"\u001b[1mbold\u001b[0m \ud83c\udf89 é\r\n"}}"#,
            r#"{"payload":{"data":"reordered"},"type":"output","seq":SEQ,"ts":"t"}"#,
            r#"{"seq":SEQ,"ts":"t","type":"output","payload":{"data":"extra key"},"x":[1,{"y":null}]}"#,
            r#"{"seq":SEQ,"ts":"t","type":"resize","payload":{"cols":80,"rows":24}}"#,
            r#"{"seq":SEQ,"ts":"t","type":"output","payload":{"data":"lone \ud83c"}}"#,
            r#"{"seq":SEQ,"ts":"t","type":"output","payload":{"data":"raw	tab"}}"#,
            r#"{"seq":SEQ,"ts":"t","type":"marker","payload":{"label":"m"}}"#,
            "not json",
        ];
        let mut text = String::new();
        let mut expected = Vec::new();
        let mut malformed = 0;
        let long = "x".repeat(3000);
        for seq in 0..2000u64 {
            let mut line = kinds[seq as usize % kinds.len()].replace("SEQ", &seq.to_string());
            if seq % 3 == 0 {
                line = line.replace("bold", &long);
            }
            match serde_json::from_str::<Event>(&line) {
                Ok(event) => expected.push(event),
                Err(_) => malformed += 1,
            }
            text.push_str(&line);
            text.push('\n');
        }
        let tmp = tempfile::tempdir().unwrap();
        let path = SessionDir::new(tmp.path()).event_log();
        std::fs::write(&path, &text).unwrap();
        let mut follower = EventLogFollower::new(&path);
        let mut seen = Vec::new();
        follower.read_new(|e| seen.push(e)).unwrap();
        assert_eq!(seen.len(), expected.len());
        assert!(seen == expected, "the follower and serde disagree");
        assert_eq!(follower.skipped().lines, malformed);
        // Each malformed line is a seq jumped over, except the last line's
        // (`not json`), which no later event reveals.
        assert_eq!(follower.skipped().missing_events, malformed - 1);
    }

    #[test]
    fn an_intact_log_skips_nothing() {
        let (e0, e1) = (output_line(0), output_line(1));
        let (_tmp, path) = log_of(&[&e0, &e1]);
        let mut follower = EventLogFollower::new(&path);
        assert_eq!(follower.read_new(|_| {}).unwrap(), 2);
        assert!(follower.skipped().is_empty());
        assert_eq!(follower.skipped().warning(&path), None);
    }

    #[test]
    fn writer_continues_seq_and_follower_tolerates_a_torn_tail() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = EventLogWriter::open(tmp.path()).unwrap();
        w.append(EventBody::Output { data: "a".into() }).unwrap();
        drop(w);
        let mut w = EventLogWriter::open(tmp.path()).unwrap();
        assert_eq!(w.append(EventBody::Output { data: "b".into() }).unwrap(), 1);
        let path = SessionDir::new(tmp.path()).event_log();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"seq":2,"ts":"2026-11-24T03:50:02.677Z","type":"out"#)
            .unwrap();

        let mut follower = EventLogFollower::new(&path);
        let mut seen = Vec::new();
        follower.read_new(|e| seen.push(e.seq)).unwrap();
        assert_eq!(seen, [0, 1]);
        f.write_all(b"put\",\"payload\":{\"data\":\"c\"}}\n")
            .unwrap();
        follower.read_new(|e| seen.push(e.seq)).unwrap();
        assert_eq!(seen, [0, 1, 2]);
        assert_eq!(follower.offset(), std::fs::metadata(&path).unwrap().len());
        assert_eq!(last_event(&path).unwrap().unwrap().seq, 2);
    }

    #[test]
    fn output_too_long_for_one_line_is_split_and_nothing_is_lost() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = EventLogWriter::open(tmp.path()).unwrap();
        // Control characters escape to six bytes each: the worst case.
        let data = "\u{1}é".repeat(OUTPUT_PIECE / 2 + 7);
        w.append(EventBody::Output { data: data.clone() }).unwrap();
        let path = SessionDir::new(tmp.path()).event_log();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.lines().count() > 1);
        assert!(text.lines().all(|l| l.len() <= MAX_LINE));
        let joined: String = read_all(&path)
            .unwrap()
            .into_iter()
            .map(|e| match e.body {
                EventBody::Output { data } => data,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(joined, data);
    }

    #[test]
    fn an_event_too_long_for_a_line_is_refused_without_claiming_a_full_disk() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = EventLogWriter::open(tmp.path()).unwrap();
        let data = "\u{1}".repeat(MAX_LINE / 6 + 1);
        let refused = w.append(EventBody::InputText { data }).unwrap_err();
        assert!(matches!(refused, Error::Invalid { .. }), "{refused:?}");
        assert!(!read_host_record(tmp.path()).unwrap().storage_full);
        assert_eq!(
            w.append(EventBody::Marker { label: "x".into() }).unwrap(),
            0
        );
    }

    /// A log whose middle line is `size` bytes long (not JSON), between two
    /// events.
    fn log_with_long_line(size: usize) -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = EventLogWriter::open(tmp.path()).unwrap();
        w.append(EventBody::Output { data: "a".into() }).unwrap();
        drop(w);
        let path = SessionDir::new(tmp.path()).event_log();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&vec![b'x'; size]).unwrap();
        f.write_all(b"\n").unwrap();
        drop(f);
        let mut w = EventLogWriter::open(tmp.path()).unwrap();
        w.append(EventBody::Output { data: "b".into() }).unwrap();
        (tmp, path)
    }

    #[test]
    fn readers_skip_a_line_over_the_cap_and_count_it() {
        let size = MAX_LINE + 1;
        let (_tmp, path) = log_with_long_line(size);
        let mut follower = EventLogFollower::new(&path);
        let mut seen = Vec::new();
        follower.read_new(|e| seen.push(e.body)).unwrap();
        assert_eq!(
            seen,
            [
                EventBody::Output { data: "a".into() },
                EventBody::Output { data: "b".into() }
            ]
        );
        let skipped = follower.skipped();
        assert_eq!((skipped.lines, skipped.long_lines), (1, 1));
        assert_eq!(skipped.long_bytes, size as u64 + 1);
        assert!(
            follower.torn.capacity() < MAX_LINE,
            "the long line was held"
        );
        assert!(skipped.warning(&path).unwrap().contains("longer than"));
        // A line at the cap is read as usual (and here skipped as malformed).
        let (_tmp, path) = log_with_long_line(MAX_LINE);
        let mut follower = EventLogFollower::new(&path);
        assert_eq!(follower.read_new(|_| {}).unwrap(), 2);
        assert_eq!(
            (follower.skipped().lines, follower.skipped().long_lines),
            (1, 0)
        );
    }

    #[test]
    fn the_last_event_is_found_behind_a_long_torn_tail_without_reading_it_whole() {
        let (_tmp, path) = log_with_long_line(MAX_LINE + 10);
        assert_eq!(last_event(&path).unwrap().unwrap().seq, 1);
        // A huge last complete line and a torn one after it.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&vec![b'y'; MAX_LINE + 10]).unwrap();
        f.write_all(b"\n{\"seq\":9").unwrap();
        assert_eq!(last_event(&path).unwrap().unwrap().seq, 1);
    }
}
