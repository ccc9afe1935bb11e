//! The output pump: PTY output into the Event Log and the live screen.
//!
//! A kernel PTY hands over at most a few KiB per `read`, so the pump reads
//! on while more is waiting, up to [`CHUNK`] bytes, and each such chunk
//! becomes one `output` event, written with one `write` (docs/adr/0022-host-ingest.md).
//! Nothing waits for more to come: what is there is logged at once. The
//! format stores text, but a chunk can end in the middle of a UTF-8
//! character, so the incomplete end of one is carried into the next
//! ([`Utf8Carry`]); bytes that are not UTF-8 at all become U+FFFD. The text
//! is borrowed from the read buffer all the way into the Event Log line
//! unless something has to change it.
//!
//! The text first loses the echo of `run`'s completion lines and their
//! sequences ([`CompletionEcho`](agent_tty_term::run_marker::CompletionEcho),
//! which may hold back a cut-off piece until the next read or a short
//! quiet), then goes through the [`Responder`]: the live screen is fed the
//! output up to each terminal question, the answer is queued for the
//! program (never logged), and shell integration marks go to the Session's
//! [`RunTracker`](agent_tty_runtime::shell_integration::RunTracker). The marks
//! carrying the Session's key are removed from what is logged, a mark cut
//! by a read's end held back until its end comes
//! ([`MarkStripper`]). A finished
//! `run` gets its `run_complete` right after the output that carried its
//! mark.

use super::memory;
use super::replies::{Responder, Step};
use super::runs;
use super::{LogState, Shared};
use agent_tty_runtime::shell_integration::{MarkKind, MarkStripper};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::borrow::Cow;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

/// The most output read before it is logged as one event.
pub const CHUNK: usize = 128 * 1024;

/// One `read` of the PTY gives at most this much (the kernel's line
/// discipline buffer is 4 KiB), so a chunk with less room left is full.
const READ_ROOM: usize = 4096;

/// After the command ends, stop reading once the PTY has been quiet this
/// long (something it started may still hold the terminal open)...
const DRAIN_QUIET: Duration = Duration::from_millis(50);
/// ...or at the latest after this long.
const DRAIN_LIMIT: Duration = Duration::from_millis(500);
/// Output held back because it may be the start of a completion line's
/// echo is shown after this long without more output.
const HOLD_LIMIT: Duration = Duration::from_millis(30);
/// After this long without output the live screen and the read buffers are
/// put away ([`LiveScreen`](agent_tty_core::screen::LiveScreen)), so an
/// idle host holds little memory.
const SLEEP_AFTER: Duration = Duration::from_millis(1000);

/// A one-shot, many-listener "stop now" (a self-pipe, so threads blocked in
/// `poll` wake up at once and idle Sessions never wake up at all).
pub struct StopSignal {
    read: OwnedFd,
    write: File,
}

impl StopSignal {
    /// A signal not yet raised. Fails only when out of descriptors, which
    /// is why the host makes it (and its watchers) before it reports ready.
    pub fn new() -> std::io::Result<Self> {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        Ok(StopSignal {
            read,
            write: File::from(write),
        })
    }

    /// A descriptor that becomes readable (and stays so) once raised.
    pub fn watcher(&self) -> std::io::Result<OwnedFd> {
        self.read.try_clone()
    }

    /// Raises the signal.
    pub fn raise(mut self) {
        let _ = self.write.write_all(b"x");
    }
}

/// Reads the PTY until the command has ended and its output is drained.
///
/// Answers to terminal questions go to the input queue, whose writer thread
/// delivers them between slices of input, so a program that does not read
/// its input can never stop this thread from reading its output.
pub fn pump(mut master: File, shared: &Shared, stop: OwnedFd) {
    let mut text = Utf8Carry::default();
    let mut responder = Responder::new();
    let mut marks = MarkStripper::default();
    let mut buf = Vec::new();
    let mut drain_deadline: Option<Instant> = None;
    // Output came since the screen was last put away.
    let mut awake = true;
    // The code pages were released since the screen was last put away.
    let mut code_released = false;
    // Whether the completion echo filter or the mark stripper holds back a
    // piece: only this thread feeds them, so it knows without the lock.
    let mut holding = false;
    loop {
        let ready = {
            let mut fds = [
                PollFd::new(master.as_fd(), PollFlags::POLLIN),
                PollFd::new(stop.as_fd(), PollFlags::POLLIN),
            ];
            // While draining, the raised stop signal is no longer watched.
            let watched = if drain_deadline.is_none() { 2 } else { 1 };
            let fds = &mut fds[..watched];
            let timeout = match (drain_deadline, holding, awake) {
                (Some(_), _, _) => PollTimeout::from(DRAIN_QUIET.as_millis() as u16),
                (None, true, _) => PollTimeout::from(HOLD_LIMIT.as_millis() as u16),
                (None, false, true) => PollTimeout::from(SLEEP_AFTER.as_millis() as u16),
                (None, false, false) if !code_released => {
                    PollTimeout::from(memory::RELEASE_CODE_AFTER.as_millis() as u16)
                }
                (None, false, false) => PollTimeout::NONE,
            };
            match poll(fds, timeout) {
                Ok(0) if drain_deadline.is_none() && !holding => {
                    if awake {
                        put_away(shared, &mut buf);
                        awake = false;
                    } else {
                        memory::release_code();
                        code_released = true;
                    }
                    continue;
                }
                Ok(0) if drain_deadline.is_none() => {
                    // Nothing more came to decide what was held: show it.
                    let held = shared.log().runs.echo.flush();
                    handle(shared, &mut responder, &mut marks, &held, false);
                    let held = marks.flush();
                    if !held.is_empty() {
                        let _ = shared.log().writer.append_output(&held);
                    }
                    holding = false;
                    continue;
                }
                Ok(0) => break,
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => break,
            }
            let master_ready = fds[0].revents().is_some_and(|r| !r.is_empty());
            let stopped = fds
                .get(1)
                .and_then(|f| f.revents())
                .is_some_and(|r| !r.is_empty());
            if stopped {
                drain_deadline = Some(Instant::now() + DRAIN_LIMIT);
            }
            master_ready
        };
        if drain_deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        if !ready {
            continue;
        }
        if buf.is_empty() {
            buf = vec![0u8; CHUNK];
        }
        awake = true;
        code_released = false;
        let (n, ended) = read_chunk(&mut master, &mut buf);
        if n > 0 {
            shared.activity.touch_output();
            let data = text.decode(&buf[..n]);
            holding = handle(shared, &mut responder, &mut marks, &data, true);
        }
        if ended {
            break;
        }
    }
    let mut rest = shared.log().runs.echo.flush();
    rest.push_str(&text.finish());
    let key = shared.log().tracker.as_ref().map(|t| t.key().to_owned());
    let mut rest = match key {
        Some(key) => marks.strip(&rest, &key).into_owned(),
        None => rest,
    };
    rest.push_str(&marks.flush());
    if !rest.is_empty() {
        let _ = shared.log().writer.append_output(&rest);
    }
}

/// Puts the live screen and the buffers away while the Session is quiet
/// (see [`SLEEP_AFTER`]) and gives the memory back to the system.
fn put_away(shared: &Shared, buf: &mut Vec<u8>) {
    *buf = Vec::new();
    {
        let mut log = shared.log();
        log.screen.sleep();
        log.writer.release_buffer();
    }
    memory::trim();
}

/// Reads what the PTY has, into `buf`: one `read` (the caller saw it
/// readable), then more while more is waiting and `buf` has room. Returns
/// the bytes read and whether the terminal has ended (end of file, or
/// `EIO` once every process holding it has closed it).
fn read_chunk(master: &mut File, buf: &mut [u8]) -> (usize, bool) {
    let mut filled = 0;
    loop {
        match master.read(&mut buf[filled..]) {
            Ok(0) => return (filled, true),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return (filled, true),
        }
        if buf.len() - filled < READ_ROOM {
            return (filled, false);
        }
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::ZERO) {
            Ok(1)
                if fds[0]
                    .revents()
                    .is_some_and(|r| r.contains(PollFlags::POLLIN)) => {}
            _ => return (filled, false),
        }
    }
}

/// Takes one piece of output through everything of the module docs: the
/// completion echo (unless `filter` is false: the piece was held by it
/// already), the responder, the live screen, the Event Log and the runs it
/// finishes. Returns whether a piece is now held back (by the completion
/// echo or the mark stripper) until more output or a quiet moment.
fn handle(
    shared: &Shared,
    responder: &mut Responder,
    marks: &mut MarkStripper,
    data: &str,
    filter: bool,
) -> bool {
    let mut answers = Vec::new();
    let mut finished = Vec::new();
    let mut logged = 0;
    let mut log = shared.log();
    let state = &mut *log;
    let (data, completed) = if filter {
        state.runs.echo.filter(data)
    } else {
        (Cow::Borrowed(data), Vec::new())
    };
    // The output not logged yet: `data[piece.0..piece.1]`. The responder's
    // output steps are consecutive pieces of `data`, so this is one range.
    let mut piece = (0, 0);
    let base = data.as_ptr() as usize;
    responder.scan(&data, |step| match step {
        Step::Output(output) => {
            state.screen.feed(output.as_bytes());
            piece.1 = output.as_ptr() as usize - base + output.len();
        }
        Step::Reply(reply) => {
            let screen = state.screen.get();
            answers.push(reply.bytes(screen.cursor(), screen.size()))
        }
        Step::Mark(mark) => {
            let Some(tracker) = state.tracker.as_mut() else {
                return;
            };
            let start = matches!(mark.kind, MarkKind::CommandStart(_));
            let ended = tracker.mark(mark);
            // Typed before an interrupt, they will never run: nothing may
            // complete them now (their callers, if still waiting, time out).
            for marker in tracker.take_dropped() {
                state.runs.take(&marker);
            }
            let started: Vec<String> = state
                .runs
                .pending()
                .iter()
                .filter(|r| start && r.output_from.is_none() && tracker.is_running(&r.marker))
                .map(|r| r.marker.clone())
                .collect();
            if started.is_empty() && ended.is_none() {
                return;
            }
            // The output is logged in pieces cut where a run's command
            // starts and ends, so the `seq`s of its own output are known
            // (`run_exits`, for `run --output`).
            logged += log_output(state, marks, &data[piece.0..piece.1]);
            piece.0 = piece.1;
            let at = state.writer.next_seq();
            for marker in started {
                state.runs.output_from(&marker, at);
            }
            finished.extend(ended.map(|f| (f, at)));
        }
    });
    logged += log_output(state, marks, &data[piece.0..piece.1]);
    for c in completed {
        if let Some(run) = state.runs.take_token(&c.token) {
            runs::finish(state, &shared.session_dir, run, c.exit_code, None);
        }
    }
    for (f, output_to) in finished {
        if let Some(run) = state.runs.take(&f.marker) {
            runs::finish(
                state,
                &shared.session_dir,
                run,
                f.exit_code,
                Some(output_to),
            );
        }
    }
    let holding = state.runs.echo.holds() || marks.holds();
    drop(log);
    shared.checkpoints.logged(logged);
    for answer in answers {
        shared.queue.answer(answer);
    }
    holding
}

/// Logs a piece of output, without the genuine marks. A failed append (a
/// full disk) loses it from the log but the terminal must still be read, or
/// the command would block writing. Returns the bytes logged.
fn log_output(state: &mut LogState, marks: &mut MarkStripper, text: &str) -> usize {
    let logged = match &state.tracker {
        Some(t) => marks.strip(text, t.key()),
        None => Cow::Borrowed(text),
    };
    if logged.is_empty() || state.writer.append_output(&logged).is_err() {
        return 0;
    }
    logged.len()
}

/// Decodes a byte stream as UTF-8 across arbitrary chunk boundaries.
#[derive(Default)]
pub struct Utf8Carry {
    carry: Vec<u8>,
}

impl Utf8Carry {
    /// The text of `chunk`, keeping an incomplete trailing character for the
    /// next call; invalid bytes become U+FFFD. Borrowed from `chunk` when
    /// nothing needs changing (the usual case).
    pub fn decode<'a>(&mut self, chunk: &'a [u8]) -> Cow<'a, str> {
        if self.carry.is_empty() {
            match std::str::from_utf8(chunk) {
                Ok(s) => return Cow::Borrowed(s),
                Err(e) if e.error_len().is_none() => {
                    let (valid, after) = chunk.split_at(e.valid_up_to());
                    self.carry = after.to_vec();
                    return Cow::Borrowed(std::str::from_utf8(valid).expect("checked"));
                }
                Err(_) => {}
            }
        }
        let joined;
        let mut rest: &[u8] = if self.carry.is_empty() {
            chunk
        } else {
            let mut j = std::mem::take(&mut self.carry);
            j.extend_from_slice(chunk);
            joined = j;
            &joined
        };
        let mut out = String::with_capacity(rest.len());
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    out.push_str(std::str::from_utf8(valid).expect("checked by from_utf8"));
                    match e.error_len() {
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                        None => {
                            self.carry = after.to_vec();
                            break;
                        }
                    }
                }
            }
        }
        Cow::Owned(out)
    }

    /// Whatever is left at the end of the stream, lossily.
    pub fn finish(&mut self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut self.carry)).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(1)]
    #[case(2)]
    #[case(3)]
    fn characters_split_across_reads_survive(#[case] piece: usize) {
        let input = "é→😀 ok".as_bytes();
        let mut d = Utf8Carry::default();
        let text: String = input.chunks(piece).map(|c| d.decode(c)).collect();
        assert_eq!(text + &d.finish(), "é→😀 ok");
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut d = Utf8Carry::default();
        assert_eq!(d.decode(b"a\xffb"), "a\u{FFFD}b");
        assert_eq!(d.decode(b"c\xe2\x86"), "c");
        assert_eq!(d.finish(), "\u{FFFD}");
    }
}
