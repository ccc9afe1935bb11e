//! The output pump: PTY output into the Event Log and the live screen.
//!
//! Each read becomes one `output` event. The format stores text, but a read
//! can end in the middle of a UTF-8 character, so the incomplete end of one
//! read is carried into the next ([`Utf8Carry`]); bytes that are not UTF-8 at
//! all become U+FFFD.
//!
//! The text first loses the echo of `run`'s completion lines and their
//! sequences ([`CompletionEcho`](agent_tty_core::run_marker::CompletionEcho),
//! which may hold back a cut-off piece until the next read or a short
//! quiet), then goes through the [`Responder`]: the live screen is fed the
//! output up to each terminal question, the answer is queued for the
//! program (never logged), and shell integration marks go to the Session's
//! [`RunTracker`](agent_tty_core::shell_integration::RunTracker). The marks
//! carrying the Session's key are removed from what is logged, a mark cut
//! by a read's end held back until its end comes
//! ([`MarkStripper`]). A finished
//! `run` gets its `run_complete` right after the output that carried its
//! mark.

use super::replies::{Responder, Step};
use super::runs;
use super::{LogState, Shared};
use agent_tty_core::event_log::EventBody;
use agent_tty_core::shell_integration::{MarkKind, MarkStripper};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

/// After the command ends, stop reading once the PTY has been quiet this
/// long (something it started may still hold the terminal open)...
const DRAIN_QUIET: Duration = Duration::from_millis(50);
/// ...or at the latest after this long.
const DRAIN_LIMIT: Duration = Duration::from_millis(500);
/// Output held back because it may be the start of a completion line's
/// echo is shown after this long without more output.
const HOLD_LIMIT: Duration = Duration::from_millis(30);

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
    let mut buf = vec![0u8; 64 * 1024];
    let mut drain_deadline: Option<Instant> = None;
    loop {
        let holding = shared.log().runs.echo.holds() || marks.holds();
        let ready = {
            let mut fds = [
                PollFd::new(master.as_fd(), PollFlags::POLLIN),
                PollFd::new(stop.as_fd(), PollFlags::POLLIN),
            ];
            // While draining, the raised stop signal is no longer watched.
            let watched = if drain_deadline.is_none() { 2 } else { 1 };
            let fds = &mut fds[..watched];
            let timeout = match (drain_deadline, holding) {
                (Some(_), _) => PollTimeout::from(DRAIN_QUIET.as_millis() as u16),
                (None, true) => PollTimeout::from(HOLD_LIMIT.as_millis() as u16),
                (None, false) => PollTimeout::NONE,
            };
            match poll(fds, timeout) {
                Ok(0) if drain_deadline.is_none() => {
                    // Nothing more came to decide what was held: show it.
                    let held = shared.log().runs.echo.flush();
                    handle(shared, &mut responder, &mut marks, &held, false);
                    let held = marks.flush();
                    if !held.is_empty() {
                        let _ = shared.log().writer.append(EventBody::Output { data: held });
                    }
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
        let n = match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // EIO: every process holding the terminal has closed it.
            Err(_) => break,
        };
        shared.activity.touch_output();
        let data = text.decode(&buf[..n]);
        handle(shared, &mut responder, &mut marks, &data, true);
    }
    let mut rest = shared.log().runs.echo.flush();
    rest.push_str(&text.finish());
    let key = shared.log().tracker.as_ref().map(|t| t.key().to_owned());
    let mut rest = match key {
        Some(key) => marks.strip(&rest, &key),
        None => rest,
    };
    rest.push_str(&marks.flush());
    if !rest.is_empty() {
        let _ = shared.log().writer.append(EventBody::Output { data: rest });
    }
}

/// Takes one piece of output through everything of the module docs: the
/// completion echo (unless `filter` is false: the piece was held by it
/// already), the responder, the live screen, the Event Log and the runs it
/// finishes.
fn handle(
    shared: &Shared,
    responder: &mut Responder,
    marks: &mut MarkStripper,
    data: &str,
    filter: bool,
) {
    let mut answers = Vec::new();
    let mut finished = Vec::new();
    let mut piece = String::new();
    let mut log = shared.log();
    let state = &mut *log;
    let (data, completed) = if filter {
        state.runs.echo.filter(data)
    } else {
        (data.to_owned(), Vec::new())
    };
    responder.scan(&data, |step| match step {
        Step::Output(output) => {
            state.screen.feed(output.as_bytes());
            piece.push_str(output);
        }
        Step::Reply(reply) => answers.push(reply.bytes(state.screen.cursor(), state.screen.size())),
        Step::Mark(mark) => {
            let Some(tracker) = state.tracker.as_mut() else {
                return;
            };
            let start = matches!(mark.kind, MarkKind::CommandStart(_));
            let ended = tracker.mark(mark);
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
            log_output(state, marks, &std::mem::take(&mut piece));
            let at = state.writer.next_seq();
            for marker in started {
                state.runs.output_from(&marker, at);
            }
            finished.extend(ended.map(|f| (f, at)));
        }
    });
    log_output(state, marks, &piece);
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
    drop(log);
    for answer in answers {
        shared.queue.answer(answer);
    }
}

/// Logs a piece of output, without the genuine marks. A failed append (a
/// full disk) loses it from the log but the terminal must still be read, or
/// the command would block writing.
fn log_output(state: &mut LogState, marks: &mut MarkStripper, text: &str) {
    let logged = match &state.tracker {
        Some(t) => marks.strip(text, t.key()),
        None => text.to_owned(),
    };
    if !logged.is_empty() {
        let _ = state.writer.append(EventBody::Output { data: logged });
    }
}

/// Decodes a byte stream as UTF-8 across arbitrary chunk boundaries.
#[derive(Default)]
pub struct Utf8Carry {
    carry: Vec<u8>,
}

impl Utf8Carry {
    /// The text of `chunk`, keeping an incomplete trailing character for the
    /// next call; invalid bytes become U+FFFD.
    pub fn decode(&mut self, chunk: &[u8]) -> String {
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
        out
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
