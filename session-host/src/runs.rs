//! The host's waited `run`s: how each will be known to have finished, and
//! the watcher for those that finish by waiting for input again.
//!
//! The way is chosen when the command is typed, from what will read it
//! ([`foreground`](super::foreground); docs/adr/0012-run-completion.md):
//!
//! - [`How::Shell`]: the Session's integrated shell is in the foreground.
//!   Only the command is typed; the shell's marks finish it
//!   ([`RunTracker`](agent_tty_runtime::shell_integration::RunTracker)) with
//!   its exit status.
//! - [`How::Line`]: another shell is in the foreground (an inner `bash`,
//!   `ssh`, `su`, a shell without integration). The command, then a
//!   completion line of ours on its own line
//!   ([`run_marker`](agent_tty_term::run_marker)); its sequence carries the
//!   exit status.
//! - [`How::Program`]: something else is (a REPL, a program reading its
//!   input, or a command the shell runs before it reads the line). Only the
//!   command is typed, nothing else, ever. It is finished, with no exit
//!   status, when the program waits for input again (its prompt is back
//!   where it was, output has been quiet for [`STABLE`]); or, when the
//!   program has ended meanwhile and the integrated shell is back at its
//!   prompt without starting the line, at once; or by the shell's marks,
//!   when the integrated shell reads the line after the busy command.
//!
//! A `Shell` run that the shell started but whose command now waits for
//! input in another interactive program (`bash`, `ssh`, `python3`: a
//! program that reads commands or keys) is finished then too, with no exit
//! status: the program it started is ready for the next `run`.

use super::{foreground, LogState, Shared};
use agent_tty_core::event_log::EventBody;
use agent_tty_core::run_exits;
use agent_tty_core::screen::ScreenReplay;
use agent_tty_runtime::shell_integration::{reads_shell_commands, switches_user};
use agent_tty_term::run_marker::CompletionEcho;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long output must have been quiet before a program waiting for input
/// counts as ready again.
pub const STABLE: Duration = Duration::from_millis(200);

/// How often the watcher looks while runs wait for a program.
const LOOK_EVERY: Duration = Duration::from_millis(25);

/// How a run will be known to have finished.
#[derive(Debug, Clone)]
pub enum How {
    /// By the integrated shell's marks.
    Shell,
    /// By the completion line typed after it, with this token.
    Line(String),
    /// By the foreground program waiting for input again.
    Program {
        /// The foreground process group when it was typed.
        pgid: i32,
        /// The cursor's line, left of the cursor, when it was typed: the
        /// program's prompt. `None` when the program did not wait for
        /// input then (a REPL still starting, before its first prompt).
        prompt: Option<String>,
    },
}

/// A waited `run` not finished yet.
#[derive(Debug, Clone)]
pub struct PendingRun {
    /// Its marker.
    pub marker: String,
    /// The `seq` of its `input_run`.
    pub seq: u64,
    /// When it was typed.
    pub typed_at: Instant,
    /// How it will be known to have finished.
    pub how: How,
    /// The `seq` of the first `output` event after the shell's mark that
    /// it started the command.
    pub output_from: Option<u64>,
}

/// The runs of a Session that have not finished.
#[derive(Debug, Default)]
pub struct Runs {
    pending: Vec<PendingRun>,
    /// Removes completion lines and sequences from the output.
    pub echo: CompletionEcho,
}

impl Runs {
    /// A run was typed.
    pub fn add(&mut self, run: PendingRun) {
        self.pending.push(run);
    }

    /// Whether the run with `marker` is still pending.
    pub fn is_pending(&self, marker: &str) -> bool {
        self.pending.iter().any(|r| r.marker == marker)
    }

    /// The pending runs, oldest first.
    pub fn pending(&self) -> &[PendingRun] {
        &self.pending
    }

    /// Takes the run with `marker` out of the pending set.
    pub fn take(&mut self, marker: &str) -> Option<PendingRun> {
        let at = self.pending.iter().position(|r| r.marker == marker)?;
        Some(self.pending.remove(at))
    }

    /// Notes that the output of the run with `marker` is logged from `seq`
    /// on (the shell started it).
    pub fn output_from(&mut self, marker: &str, seq: u64) {
        if let Some(run) = self.pending.iter_mut().find(|r| r.marker == marker) {
            run.output_from.get_or_insert(seq);
        }
    }

    /// Takes the run whose completion line carries `token`.
    pub fn take_token(&mut self, token: &str) -> Option<PendingRun> {
        let at = self
            .pending
            .iter()
            .position(|r| matches!(&r.how, How::Line(t) if t == token))?;
        Some(self.pending.remove(at))
    }
}

/// Logs that `run` finished (with `exit_code` when known, and `output_to`,
/// the `seq` its output ends before, when the shell's mark said): these
/// beside the log first ([`run_exits`]), then `run_complete` with 0.5's
/// keys only. The caller has taken it out of [`Runs`].
pub fn finish(
    state: &mut LogState,
    session_dir: &Path,
    run: PendingRun,
    exit_code: Option<i32>,
    output_to: Option<u64>,
) {
    if let Some(tracker) = state.tracker.as_mut() {
        tracker.forget(&run.marker);
    }
    let recorded = run_exits::Recorded {
        exit_code,
        output_from_seq: run.output_from.filter(|_| output_to.is_some()),
        output_to_seq: output_to,
    };
    if !recorded.is_empty() {
        let _ = run_exits::record(session_dir, &run.marker, &recorded);
    }
    let _ = state.writer.append(EventBody::RunComplete {
        marker: run.marker,
        input_run_seq: Some(run.seq),
        exit_code: None,
    });
}

/// The cursor's line, left of the cursor.
pub fn prompt_of(screen: &ScreenReplay) -> String {
    let (row, col) = screen.cursor();
    screen
        .visible_lines()
        .get(usize::from(row))
        .map(|line| line.chars().take(usize::from(col)).collect())
        .unwrap_or_default()
}

/// Wakes [`watch`] when a run is added, so a host with no pending run
/// sleeps until then instead of looking every [`LOOK_EVERY`].
pub struct Wake {
    read: OwnedFd,
    write: std::fs::File,
}

impl Wake {
    /// A wake-up not yet raised (a non-blocking self-pipe). Fails only
    /// when out of descriptors.
    pub fn new() -> std::io::Result<Self> {
        let flags = nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK;
        let (read, write) = nix::unistd::pipe2(flags)?;
        Ok(Wake {
            read,
            write: std::fs::File::from(write),
        })
    }

    /// A run was added. A full pipe already means "wake up".
    pub fn raise(&self) {
        use std::io::Write;
        let _ = (&self.write).write(&[1]);
    }

    /// Empties the pipe once woken.
    fn drain(&self) {
        let mut buf = [0u8; 64];
        while nix::unistd::read(self.read.as_raw_fd(), &mut buf).is_ok_and(|n| n > 0) {}
    }
}

/// Watches runs that finish by waiting for input, until `stop` is raised.
/// With no run pending it sleeps until [`Wake::raise`].
pub fn watch(shared: &Shared, stop: OwnedFd) {
    let mut idle = true;
    loop {
        let mut fds = [
            PollFd::new(stop.as_fd(), PollFlags::POLLIN),
            PollFd::new(shared.run_wake.read.as_fd(), PollFlags::POLLIN),
        ];
        let every = if idle {
            PollTimeout::NONE
        } else {
            PollTimeout::from(LOOK_EVERY.as_millis() as u16)
        };
        match poll(&mut fds, every) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
            Ok(_) if fds[0].any().unwrap_or(true) => return,
            Ok(_) => shared.run_wake.drain(),
        }
        let mut log = shared.log();
        idle = log.runs.pending.is_empty() || log.child_exited;
        if idle {
            continue;
        }
        let ready = ready_runs(shared, &mut log);
        for marker in ready {
            if let Some(run) = log.runs.take(&marker) {
                finish(&mut log, &shared.session_dir, run, None, None);
            }
        }
    }
}

/// The markers of the runs that are finished because a program waits for
/// input again.
fn ready_runs(shared: &Shared, log: &mut LogState) -> Vec<String> {
    let master = &shared.master;
    let shell = shared.child_pid as i32;
    let foreground = foreground::group(master);
    // Looked at (two `/proc` reads) only once a run has settled.
    let replaced = std::cell::LazyCell::new(|| shared.shell_replaced());
    // Every byte typed has been read, by whatever read it.
    let all_read = || shared.queue.pending() == 0 && foreground::input_read(master);
    let mut ready = Vec::new();
    for run in &log.runs.pending {
        let settled = shared.activity.output_after(run.typed_at)
            && shared.activity.output_quiet_since(run.typed_at) >= STABLE;
        if !settled {
            continue;
        }
        let tracker = log.tracker.as_ref();
        let done = match &run.how {
            How::Line(_) => false,
            How::Shell if *replaced => {
                // The shell replaced itself (`exec bash`): the program now
                // in its place, which has no hooks, waits for input.
                foreground == Some(shell) && foreground::waits_for_input(master, shell)
            }
            How::Shell => {
                // Now waiting in an interactive program the shell ran (a
                // nested shell, a REPL), which either the shell started it
                // in, or which read it: typed ahead while the program was
                // starting, it is not in the terminal's input any more, and
                // the shell does not read while a program runs.
                foreground.is_some_and(|fg| {
                    fg != shell
                        && interactive(master, fg)
                        && foreground::waits_for_input(master, fg)
                }) && (tracker.is_some_and(|t| t.is_running(&run.marker)) || all_read())
            }
            How::Program { pgid, prompt } => match foreground {
                Some(fg) if fg == *pgid => {
                    foreground::waits_for_input(master, fg)
                        && match prompt {
                            Some(prompt) => prompt_of(log.screen.get()) == *prompt,
                            // Its prompt was not up yet: it has read the
                            // line and waits again.
                            None => all_read(),
                        }
                }
                // The program ended; the shell is back at its prompt,
                // waits for a key (its prompt hooks, however slow, are
                // done: the line typed ahead would be read by now) and did
                // not start the line (the program had read it).
                Some(fg) if fg == shell && tracker.is_some() && !*replaced => {
                    tracker.is_some_and(|t| t.at_prompt() && !t.is_running(&run.marker))
                        && foreground::waits_for_input(master, shell)
                }
                Some(fg) => foreground::waits_for_input(master, fg),
                None => false,
            },
        };
        if done {
            ready.push(run.marker.clone());
        }
    }
    ready
}

/// Whether the foreground program reads commands, keys or a password: a
/// shell (or a way to one, even one asking a question on the way), a
/// program with line editing off (a REPL, an editor), or `su`/`sudo`
/// asking for a password. A run that reached one is finished, so the
/// agent sees the question.
fn interactive(master: &std::fs::File, pgid: i32) -> bool {
    foreground::reads_keys(master)
        || foreground::program(pgid)
            .is_some_and(|p| reads_shell_commands(&p, true) || switches_user(&p))
}
