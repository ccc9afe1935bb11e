//! The `sessions` plugin: real, long-lived PTY Sessions.
//!
//! - [`lifecycle`]: `create`, `list`, `inspect`, `destroy` and the
//!   `sessions.list` capability.
//! - [`pty_host`]: the hidden `_host <id>` entry, the detached process that
//!   owns a Session's PTY, writes its Event Log and serves its control socket.
//! - [`agent_loop`]: `type`, `paste`, `send-keys`, `run`, `wait`, `snapshot`,
//!   `resize`, `signal`.
//! - `lookup`: the Home and the Session a command is aimed at, shared by both.

use agent_tty_plugin_api::{export_plugin, CommandTable, Plugin};

pub mod agent_loop;
mod dimensions;
pub mod doctor;
pub mod lifecycle;
mod lookup;
pub mod pty_host;

/// The plugin.
#[derive(Default)]
pub struct SessionsPlugin;

impl Plugin for SessionsPlugin {
    fn commands(&self) -> CommandTable {
        lifecycle::commands()
            .merge(agent_loop::commands())
            .merge(pty_host::commands())
            .merge(doctor::commands())
    }
}

export_plugin!("sessions", SessionsPlugin::default);
