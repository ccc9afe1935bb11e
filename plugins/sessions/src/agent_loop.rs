//! The agent loop: drive a Session and read its screen back.
//!
//! - `input`: `type`, `paste`, `send-keys`, `resize`, `signal` — one request
//!   each to the Session's host over its control socket.
//! - `run`: `run`, which types a command with a hidden completion marker and
//!   waits for the host to log `run_complete`.
//! - `wait`: `wait`, which follows the Event Log through a screen replay
//!   until a condition holds.
//! - `snapshot`: `snapshot`, an offline replay of the Event Log.
//!
//! Everything that reads (`wait`, `snapshot`, `run`'s completion) works from
//! the Event Log alone, never by asking the host, so it behaves the same for
//! live Sessions, ended ones and Homes written by agent-tty 0.5.

use agent_tty_plugin_api::{ArgSpec, CommandTable, Invocation, PluginError};
use std::time::Duration;

pub(crate) mod batch;
mod follow;
mod input;
mod mark;
mod mouse;
mod observe;
mod run;
mod run_output;
pub(crate) mod snapshot;
mod snapshot_since;
pub mod source;
mod stream;
pub(crate) mod target;
pub(crate) mod wait;

/// This module's commands, in help order, each declared beside its handler
/// in the submodule that implements it.
pub fn commands() -> CommandTable {
    CommandTable::new()
        .with(input::type_command())
        .with(input::paste_command())
        .with(input::send_keys_command())
        .with(run::command())
        .with(wait::command())
        .with(snapshot::command())
        .with(mark::command())
        .with(batch::command())
        .with(input::resize_command())
        .with(input::signal_command())
        .with(stream::command())
        .with(mouse::click_command())
        .with(mouse::scroll_command())
}

/// `--force`: send input even while a person controls the Session.
fn force_arg() -> ArgSpec {
    ArgSpec::flag(
        "force",
        "Send even while a person controls the Session (attach)",
    )
}

/// Agent input is refused while a person is attached (`SESSION_CONTROLLED`),
/// unless `--force`.
fn require_uncontrolled(target: &target::Target, inv: &Invocation) -> Result<(), PluginError> {
    agent_tty_runtime::takeover::require_uncontrolled(&target.dir, &target.id, inv.flag("force"))
}

/// The Session id every agent-loop command takes first.
fn session_id_arg() -> ArgSpec {
    ArgSpec::session_id("The Session id")
}

/// `--file PATH`, the alternative to a text argument.
fn file_arg() -> ArgSpec {
    ArgSpec::option(
        "file",
        "PATH",
        "Read the text from this regular file (≤ 10 MB) instead of the argument",
    )
}

/// How `run` and `wait` pace their looks at the Event Log: every millisecond
/// right after something happened (a trivial command completes within a few
/// ms, and a fixed 10 ms tick would add most of that again), backing off to
/// every 10 ms while nothing does, where polling costs next to nothing.
struct PollPace {
    next: Duration,
}

impl PollPace {
    const FIRST: Duration = Duration::from_millis(1);
    const SLOWEST: Duration = Duration::from_millis(10);

    fn new() -> Self {
        PollPace { next: Self::FIRST }
    }

    /// Something arrived: look again soon.
    fn activity(&mut self) {
        self.next = Self::FIRST;
    }

    /// Sleeps before the next look, a little longer each quiet time.
    fn sleep(&mut self) {
        std::thread::sleep(self.next);
        self.next = (self.next * 2).min(Self::SLOWEST);
    }
}
