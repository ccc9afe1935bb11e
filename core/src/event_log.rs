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
//! ([`HOST_RECORD_FILE`]), rewritten in place, which needs no new space, so
//! the exit status survives a disk that is full at exit. That record also
//! says "storage full", which `run` and `wait` report instead of timing out.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The Event Log file name inside a Session directory.
pub const EVENT_LOG_FILE: &str = "events.jsonl";

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

/// `<session dir>/events.jsonl`.
pub fn event_log_path(session_dir: &Path) -> PathBuf {
    session_dir.join(EVENT_LOG_FILE)
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
}

/// The file, beside the Event Log, where a host records what must survive a
/// full disk: its exit and whether storage ran out.
pub const HOST_RECORD_FILE: &str = "host-record.json";

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
        let path = session_dir.join(HOST_RECORD_FILE);
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
    let bytes = std::fs::read(session_dir.join(HOST_RECORD_FILE)).ok()?;
    serde_json::from_slice(bytes.trim_ascii_end()).ok()
}

/// The error `run` and `wait` give, instead of a timeout, when the
/// Session's host could not write its Event Log: what they wait for may
/// have happened without being recorded.
pub fn storage_problem(session_dir: &Path) -> Option<crate::Error> {
    let record = read_host_record(session_dir)?;
    record.storage_full.then(|| {
        crate::Error::invalid(
            agent_tty_plugin_api::ErrorCode::StorageWriteError,
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
        let path = event_log_path(session_dir);
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
        self.repair().map_err(|e| Error::write(&self.path, e))?;
        let seq = self.next_seq;
        let event = Event {
            seq,
            ts: crate::time::now_iso(),
            body,
        };
        let mut line = serde_json::to_vec(&event).expect("an event always serialises");
        line.push(b'\n');
        if let Err(e) = self.file.write_all(&line) {
            self.torn = true;
            return Err(Error::write(&self.path, e));
        }
        self.next_seq += 1;
        Ok(seq)
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
        let output_len = match &body {
            EventBody::Output { data } => data.len() as u64,
            _ => 0,
        };
        let written = self
            .write_lost_marker()
            .and_then(|()| self.write_line(body));
        match written {
            Ok(seq) => {
                self.note_storage(false);
                Ok(seq)
            }
            Err(e) => {
                self.lost_output += output_len;
                self.note_storage(true);
                Err(e)
            }
        }
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

/// The last complete, parseable event of a log, reading only its tail.
pub fn last_event(path: &Path) -> Result<Option<Event>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::read(path, e)),
    };
    let len = file.metadata().map_err(|e| Error::read(path, e))?.len();
    let mut window: u64 = 64 * 1024;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start))
            .map_err(|e| Error::read(path, e))?;
        let mut buf = Vec::with_capacity((len - start) as usize);
        file.read_to_end(&mut buf)
            .map_err(|e| Error::read(path, e))?;
        // Complete lines only: drop a torn tail, and a possibly cut first line.
        let end = buf
            .iter()
            .rposition(|&b| b == b'\n')
            .map(|i| i + 1)
            .unwrap_or(0);
        let body = &buf[..end];
        let lines: Vec<&[u8]> = body
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let first_whole = usize::from(start > 0);
        for line in lines.iter().skip(first_whole).rev() {
            if let Ok(e) = serde_json::from_slice::<Event>(line) {
                return Ok(Some(e));
            }
        }
        if start == 0 {
            return Ok(None);
        }
        window *= 4;
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
}

impl EventLogFollower {
    /// Starts at the beginning of the log.
    pub fn new(path: &Path) -> Self {
        Self::starting_at(path, 0)
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
        }
    }

    /// The Event Log it follows.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes consumed so far (complete lines only).
    pub fn offset(&self) -> u64 {
        self.offset - self.torn.len() as u64
    }

    /// Calls `each` for every complete event appended since the last call,
    /// reading in bounded chunks so a huge log never sits in memory at once.
    /// A torn last line is kept for next time; malformed lines are skipped.
    /// A missing file is simply empty (the Session may not have written yet).
    pub fn read_new(&mut self, mut each: impl FnMut(Event)) -> Result<usize> {
        let mut file = match File::open(&self.path) {
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
        loop {
            let n = file
                .read(&mut self.chunk)
                .map_err(|e| Error::read(&self.path, e))?;
            if n == 0 {
                break;
            }
            self.offset += n as u64;
            let mut data = &self.chunk[..n];
            while let Some(nl) = data.iter().position(|&b| b == b'\n') {
                let (line, rest) = data.split_at(nl);
                data = &rest[1..];
                let parsed = if self.torn.is_empty() {
                    serde_json::from_slice::<Event>(line)
                } else {
                    self.torn.extend_from_slice(line);
                    let parsed = serde_json::from_slice::<Event>(&self.torn);
                    self.torn.clear();
                    parsed
                };
                if let Ok(event) = parsed {
                    each(event);
                    count += 1;
                }
            }
            self.torn.extend_from_slice(data);
        }
        Ok(count)
    }
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
    fn a_torn_last_line_is_terminated_before_the_next_append() {
        let tmp = tempfile::tempdir().unwrap();
        let path = event_log_path(tmp.path());
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

    #[test]
    fn writer_continues_seq_and_follower_tolerates_a_torn_tail() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = EventLogWriter::open(tmp.path()).unwrap();
        w.append(EventBody::Output { data: "a".into() }).unwrap();
        drop(w);
        let mut w = EventLogWriter::open(tmp.path()).unwrap();
        assert_eq!(w.append(EventBody::Output { data: "b".into() }).unwrap(), 1);
        let path = event_log_path(tmp.path());
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
}
