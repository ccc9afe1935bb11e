//! The control server: one request per connection on the Session's socket
//! (served by [`connections`]).
//!
//! Every input and control action is appended to the Event Log as its event
//! type *before* it takes effect, and the answer carries that event's `seq`,
//! so a caller can look for its effects after that point in the log. Input to
//! a command that has ended is refused with `SESSION_NOT_RUNNING`.

use super::input_writer::MAX_QUEUED;
use super::runs::{self, How, PendingRun};
use super::{connections, foreground, pty, LogState, Shared};
use agent_tty_core::dimensions::check_size;
use agent_tty_core::error::{ErrorCode, PluginError};
use agent_tty_core::event_log::{Event, EventBody};
use agent_tty_core::{manifest, signals, Error};
use agent_tty_runtime::control::wire::decode_request;
use agent_tty_runtime::control::{ControlRequest, ControlResponse, Hello, HostStatus};
use agent_tty_runtime::shell_integration::{self, Shell};
use agent_tty_term::{keys, run_marker};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

/// Serves the control socket until `stop` is raised, without a thread per
/// connection ([`connections`]).
pub fn serve(listener: UnixListener, shared: Arc<Shared>, stop: OwnedFd) {
    connections::serve(&listener, &stop, |request| respond(&shared, request));
}

/// The accept loop of agent-tty 0.5's protocol: hands each connection to
/// `accepted` until `stop` becomes readable or polling fails. When `accept`
/// fails (out of descriptors) the listener rests for [`connections::BACKOFF`]
/// rather than being polled again at once, which would spin.
pub(super) fn accept_until_stopped(
    listener: &UnixListener,
    stop: &OwnedFd,
    mut accepted: impl FnMut(UnixStream),
) {
    loop {
        let mut fds = [
            PollFd::new(listener.as_fd(), PollFlags::POLLIN),
            PollFd::new(stop.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        }
        if fds[1].revents().is_some_and(|r| !r.is_empty()) {
            return;
        }
        match listener.accept() {
            Ok((stream, _)) => accepted(stream),
            Err(_) => {
                let mut stop_only = [PollFd::new(stop.as_fd(), PollFlags::POLLIN)];
                let rest = PollTimeout::try_from(connections::BACKOFF.as_millis() as u64)
                    .unwrap_or(PollTimeout::MAX);
                let _ = poll(&mut stop_only, rest);
            }
        }
    }
}

/// The answer to one request line, as sent back. A kind or field this host
/// does not know is refused by [`decode_request`] (`UNSUPPORTED`), never
/// carried out in part.
fn respond(shared: &Shared, request: connections::Request) -> Vec<u8> {
    let response = match request {
        Ok(line) => match decode_request(line.trim_ascii_end()) {
            Ok(request) => answer(shared, request),
            Err(refusal) => refusal.into(),
        },
        Err(e) => ControlResponse::refused(
            ErrorCode::ProtocolError,
            format!("the request could not be read: {e}"),
        ),
    };
    let mut out = serde_json::to_vec(&response).expect("a response always serialises");
    out.push(b'\n');
    out
}

/// Answers one request: the hello and `status` here, input and control
/// through [`handle`].
fn answer(shared: &Shared, request: ControlRequest) -> ControlResponse {
    match request {
        ControlRequest::Hello(_) => ControlResponse {
            hello: Some(Hello::ours()),
            ..ControlResponse::done(None)
        },
        ControlRequest::Status => ControlResponse {
            status: Some(status(shared)),
            ..ControlResponse::done(None)
        },
        request => match handle(shared, request) {
            Ok(seq) => ControlResponse::done(seq),
            Err(e) => {
                let e: PluginError = e.into();
                ControlResponse::refused(e.code, e.message)
            }
        },
    }
}

/// What the host knows about its Session that the files do not say.
fn status(shared: &Shared) -> HostStatus {
    let log = shared.log();
    let (exit_code, exit_signal) = log.exit_status.clone().unwrap_or((None, None));
    HostStatus {
        host_pid: std::process::id(),
        child_pid: shared.child_pid,
        running: !log.child_exited,
        exit_code,
        exit_signal,
        input_queued: shared.queue.pending(),
        runs_pending: log.runs.pending().len(),
    }
}

/// Carries out one request; returns the `seq` of the event it logged.
pub(super) fn handle(
    shared: &Shared,
    request: ControlRequest,
) -> agent_tty_core::Result<Option<u64>> {
    match request {
        ControlRequest::Ping => Ok(None),
        ControlRequest::Text { data, secret } => {
            let bytes = data.clone().into_bytes();
            let logged = if secret {
                agent_tty_runtime::control::REDACTED_INPUT.to_owned()
            } else {
                data
            };
            input(
                shared,
                EventBody::InputText { data: logged },
                &bytes,
                |_, _| {},
            )
        }
        ControlRequest::Paste { data } => {
            // The event holds exactly the bytes written, brackets included,
            // as 0.5 logs it (contract §7.4); the text cannot close them.
            let data = agent_tty_term::paste::bracketed(&data);
            let bytes = data.clone().into_bytes();
            input(shared, EventBody::InputPaste { data }, &bytes, |_, _| {})
        }
        ControlRequest::Keys { keys: names } => {
            let bytes = keys::encode(&names)?;
            input(
                shared,
                EventBody::InputKeys { keys: names },
                &bytes,
                |_, _| {},
            )
        }
        ControlRequest::Run {
            command,
            marker,
            no_wait,
        } => {
            if !run_marker::is_valid_marker(&marker) {
                return Err(Error::invalid(
                    ErrorCode::InvalidInput,
                    format!("{marker:?} is not a valid run marker (1-64 letters, digits, _ or -)"),
                ));
            }
            run(shared, command, marker, no_wait)
        }
        ControlRequest::Resize { cols, rows } => resize(shared, cols, rows),
        ControlRequest::Signal { signal, shell } => send_signal(shared, &signal, shell),
        ControlRequest::Mark { label } => {
            input(shared, EventBody::Marker { label }, &[], |_, _| {})
        }
        // Answered by the control server itself ([`answer`]), or not at all.
        ControlRequest::Hello(_) | ControlRequest::Status | ControlRequest::Unknown => {
            Err(Error::invalid(
                ErrorCode::Unsupported,
                format!(
                    "`{}` is not an input or control action",
                    request.capability()
                ),
            ))
        }
    }
}

/// Types a `run` command: exactly the command and a newline, then, only when
/// another shell than the Session's integrated one will read it, a
/// completion line of ours on its own line (see [`runs`](super::runs) for
/// how each kind of run is known to have finished).
fn run(
    shared: &Shared,
    command: String,
    marker: String,
    no_wait: bool,
) -> agent_tty_core::Result<Option<u64>> {
    let mut line = command.clone();
    if !line.ends_with('\n') {
        line.push('\n');
    }
    let body = EventBody::InputRun {
        command: command.clone(),
        marker: (!no_wait).then(|| marker.clone()),
        no_wait,
    };
    if no_wait {
        let log = running(shared)?;
        let foreground = foreground::group(&shared.master);
        if foreground.is_none_or(|g| g == shared.child_pid as i32) && !shared.shell_replaced() {
            clear_fish_line(&log, &mut line);
        }
        drop(log);
        return input(shared, body, line.as_bytes(), |_, _| {});
    }
    // A shell just started may not have shown its first prompt (and with it
    // that its integration works): wait for that, within the grace period.
    let integrated = loop {
        match running(shared)?.tracker.as_ref() {
            Some(t) if t.awaiting_confirmation() => {}
            Some(t) => break t.confirmed(),
            None => break false,
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // A shell that replaced itself (`exec bash`) runs without our hooks:
    // the line after the command tells instead.
    let integrated = integrated && !shared.shell_replaced();
    let shell = shared.child_pid as i32;
    let foreground = foreground::group(&shared.master).unwrap_or(shell);
    let mut completion = None;
    let how = if integrated && foreground == shell {
        How::Shell
    } else {
        let program = foreground::program(foreground).unwrap_or_default();
        let reads_commands =
            shell_integration::reads_shell_commands(
                &program,
                foreground::reads_keys(&shared.master),
            ) && !shell_integration::runs_a_script(&foreground::command_line(foreground));
        if reads_commands {
            let token = run_marker::random_hex(4);
            completion = Some(run_marker::completion_line(&token));
            How::Line(token)
        } else {
            How::Program {
                pgid: foreground,
                prompt: None,
            }
        }
    };
    if let Some(completion) = &completion {
        line.push_str(completion);
        line.push('\n');
    }
    // Several commands on several lines, typed, would each be a command of
    // their own with its own prompt, and the first prompt would end the
    // run. To the line editor of an integrated bash, zsh or fish they go as
    // one paste and Enter, as a person pastes a script: the shell reads
    // them whole, runs them in order and prompts once, with the last one's
    // status. Only to an editor seen taking pastes (mode 2004 at its
    // prompt): one with pastes off, or a shell without an editor, would
    // take the brackets as keys (a POSIX shell's tracker counts the lines
    // instead, by their prompts).
    let lines = command.trim_end_matches(['\n', '\r']);
    let mut pasted = false;
    if matches!(how, How::Shell) {
        let mut log = running(shared)?;
        let editor = log
            .tracker
            .as_ref()
            .is_some_and(|t| t.shell().marks_command_start());
        // Looked at on every run, so the first script need not find the
        // editor at its prompt.
        if editor && log.screen.get().takes_bracketed_paste() {
            log.shell_takes_paste = true;
        }
        pasted = editor && log.shell_takes_paste && lines.contains('\n');
        if pasted {
            line = agent_tty_term::paste::bracketed(lines);
            line.push('\n');
        }
        clear_fish_line(&log, &mut line);
    }
    input(shared, body, line.as_bytes(), move |log, seq| {
        let how = match how {
            How::Program { pgid, .. } => How::Program {
                pgid,
                prompt: foreground::waits_for_input(&shared.master, pgid)
                    .then(|| runs::prompt_of(log.screen.get())),
            },
            How::Line(token) => {
                log.runs
                    .echo
                    .expect(&token, completion.expect("a line run has its line"));
                How::Line(token)
            }
            How::Shell => How::Shell,
        };
        if let (Some(tracker), false) = (log.tracker.as_mut(), matches!(how, How::Line(_))) {
            tracker.run_typed(marker.clone(), seq, &command, foreground != shell);
            if pasted {
                tracker.pasted(&marker);
            }
        }
        log.runs.add(PendingRun {
            marker,
            seq,
            typed_at: Instant::now(),
            how,
            output_from: None,
        });
    })
    .inspect(|_| shared.run_wake.raise())
}

/// fish keeps a line it refused (a syntax error) in its editor, where the
/// next run would be appended to it: after fish said so (`133;R`, with the
/// line's number of lines), a run to the integrated fish starts with Ctrl+U
/// (`backward-kill-line`) for every line left, and one more for each line
/// break between them (at the start of a line it joins the line to the one
/// before). Only then: text someone typed into the editor otherwise (with
/// `type`) is theirs and stays. Call only when the integrated shell is in
/// the foreground.
fn clear_fish_line(log: &LogState, line: &mut String) {
    if let Some(tracker) = log.tracker.as_ref().filter(|t| t.shell() == Shell::Fish) {
        let left = tracker.refused_lines();
        if left > 0 {
            line.insert_str(0, &"\u{15}".repeat(2 * left - 1));
        }
    }
}

/// Logs `body`, lets `also` record more under the same lock, then queues
/// `bytes` for the terminal ([`super::input_writer`]): the answer never
/// waits for the program to read them, however many there are. Input is
/// refused before it is logged while the program has not read
/// [`MAX_QUEUED`] bytes of earlier input.
fn input(
    shared: &Shared,
    body: EventBody,
    bytes: &[u8],
    also: impl FnOnce(&mut LogState, u64),
) -> agent_tty_core::Result<Option<u64>> {
    let _order = shared.input.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(longest) = longest_line(bytes).filter(|&n| n > MAX_EDITED_LINE) {
        if !foreground::reads_keys(&shared.master) {
            return Err(line_too_long(shared, longest));
        }
    }
    shared.activity.touch();
    let waiting = shared.queue.pending();
    if waiting >= MAX_QUEUED {
        return Err(input_backlog(shared, waiting));
    }
    let seq = {
        let mut log = running(shared)?;
        let seq = log.writer.append(body)?;
        // Ctrl+C (with the terminal's signals on) throws away what the
        // shell has not read: runs typed before it will never start.
        let shell = shared.child_pid as i32;
        let to_shell = foreground::group(&shared.master).is_none_or(|g| g == shell);
        if foreground::interrupts(&shared.master, bytes, to_shell) {
            if let Some(tracker) = log.tracker.as_mut() {
                tracker.interrupted();
            }
        }
        also(&mut log, seq);
        // A line typed by anyone makes the shell busy (see `RunTracker`); a
        // bracketed paste is not run by the shell until Enter. A waited
        // `run` told the tracker itself.
        let pasted = bytes.starts_with(agent_tty_term::paste::START.as_bytes());
        let waited_run = matches!(&log.runs.pending().last(), Some(r) if r.seq == seq);
        if !pasted && !waited_run && (bytes.contains(&b'\r') || bytes.contains(&b'\n')) {
            if let Some(tracker) = log.tracker.as_mut() {
                tracker.line_typed(to_shell);
            }
        }
        seq
    };
    shared
        .queue
        .push(bytes.to_vec())
        .map_err(|waiting| input_backlog(shared, waiting))?;
    Ok(Some(seq))
}

/// The longest line a terminal with line editing on (canonical mode) holds:
/// the kernel drops what a line has beyond it, silently.
const MAX_EDITED_LINE: usize = 4095;

/// The length in bytes of the longest line of `bytes` (lines end at `\n`
/// or `\r`), when there is more than [`MAX_EDITED_LINE`] bytes at all.
fn longest_line(bytes: &[u8]) -> Option<usize> {
    (bytes.len() > MAX_EDITED_LINE).then(|| {
        bytes
            .split(|&b| b == b'\n' || b == b'\r')
            .map(<[u8]>::len)
            .max()
            .unwrap_or(0)
    })
}

/// The refusal of a line the terminal would cut: the program reads whole
/// lines (a shell without a line editor such as dash, or a command that
/// runs), and the kernel keeps only [`MAX_EDITED_LINE`] bytes of each.
fn line_too_long(shared: &Shared, longest: usize) -> Error {
    Error::invalid(
        ErrorCode::InvalidInput,
        format!(
            "Session {}'s terminal reads whole lines now (line editing on: a shell without a \
             line editor such as dash, or a command that runs) and keeps at most \
             {MAX_EDITED_LINE} bytes of a line; this input has a line of {longest} bytes, which \
             would be cut. Split it into shorter lines, or write it to a file and run that",
            session_id(shared)
        ),
    )
}

/// The refusal of input while the program has not read earlier input.
fn input_backlog(shared: &Shared, waiting: usize) -> Error {
    Error::invalid(
        ErrorCode::HostTimeout,
        format!(
            "the program in Session {} has not yet read {waiting} bytes of earlier input; \
             try again once it has (`agent-tty snapshot` shows what it is doing)",
            session_id(shared)
        ),
    )
}

fn resize(shared: &Shared, cols: u16, rows: u16) -> agent_tty_core::Result<Option<u64>> {
    check_size(cols, rows).map_err(Error::Plugin)?;
    shared.activity.touch();
    let seq = {
        let mut log = running(shared)?;
        pty::resize(&shared.master, cols, rows).map_err(|_| not_running())?;
        let body = EventBody::Resize { cols, rows };
        let seq = log.writer.append(body.clone())?;
        // The live screen follows, in step with the output around it.
        log.screen.get().apply(&Event {
            seq,
            ts: String::new(),
            body,
        });
        seq
    };
    // The kernel signals the terminal's foreground group; the command's own
    // group is told too, in case it is not in the foreground.
    agent_tty_runtime::liveness::signal_group(shared.child_pid, Signal::SIGWINCH);
    manifest::update_manifest(&shared.session_dir, |m| {
        let changed = (m.cols, m.rows) != (cols, rows);
        m.cols = cols;
        m.rows = rows;
        Ok((changed, ()))
    })?;
    Ok(Some(seq))
}

/// Delivers a signal as a terminal's Ctrl+C would: to the PTY's foreground
/// process group (`tcgetpgrp` on the master), i.e. the job running in the
/// shell, or the shell itself at its prompt. With `to_shell`, the Session's
/// command alone gets it.
///
/// The signal is sent first and recorded afterwards (ADR 0015): a full disk
/// must never stop a `signal KILL`. A `signal` event that cannot be written
/// is answered without a `seq` (the caller warns), and the reserved host
/// record says storage ran out.
fn send_signal(shared: &Shared, name: &str, to_shell: bool) -> agent_tty_core::Result<Option<u64>> {
    let signal = signals::parse(name)?;
    let log = running(shared)?;
    let shell = nix::unistd::Pid::from_raw(shared.child_pid as i32);
    let delivered = if to_shell {
        nix::sys::signal::kill(shell, signal)
    } else {
        match nix::unistd::tcgetpgrp(&shared.master) {
            Ok(group) if group.as_raw() > 0 => nix::sys::signal::killpg(group, signal),
            // No foreground group (the command detached from the terminal):
            // its own group, as before.
            _ => nix::sys::signal::killpg(shell, signal),
        }
    };
    delivered.map_err(|_| {
        Error::invalid(
            ErrorCode::SessionNotRunning,
            "Child process is no longer running.",
        )
    })?;
    let mut log = log;
    match log.writer.append(EventBody::Signal {
        signal: signal.as_str().to_owned(),
    }) {
        Ok(seq) => Ok(Some(seq)),
        Err(Error::Write { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The Event Log, provided the command still runs.
fn running(shared: &Shared) -> agent_tty_core::Result<MutexGuard<'_, LogState>> {
    let log = shared.log();
    if log.child_exited {
        return Err(not_running());
    }
    Ok(log)
}

/// The Session's id, from its directory's name.
fn session_id(shared: &Shared) -> std::borrow::Cow<'_, str> {
    shared
        .session_dir
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default()
}

/// The host's refusal once the command has ended, in 0.5's words (its
/// socket clients compare them): `SESSION_NOT_RUNNING "Session is not
/// running."`.
fn not_running() -> Error {
    Error::invalid(ErrorCode::SessionNotRunning, "Session is not running.")
}
