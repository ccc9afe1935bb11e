//! The `sessions` plugin: real, long-lived PTY Sessions.
//!
//! - [`lifecycle`]: `create`, `list`, `inspect`, `destroy` and the
//!   `sessions.list` capability.
//! - `host_entry`: the hidden `_host <id>` entry, which runs the Session
//!   host (`agent-tty-session-host`: the detached process that owns a
//!   Session's PTY, writes its Event Log and serves its control socket).
//! - [`agent_loop`]: `type`, `paste`, `send-keys`, `run`, `wait`, `snapshot`,
//!   `resize`, `signal`, `follow`, `click`, `scroll`.
//! - `attach`: a person takes a Session over in their terminal.
//! - `lookup`: the Home and the Session a command is aimed at, shared by both.

use agent_tty_plugin_api::{export_plugin, CommandTable, Plugin};

pub mod agent_loop;
mod attach;
pub mod doctor;
mod host_entry;
pub mod lifecycle;
mod lookup;

/// The plugin.
#[derive(Default)]
pub struct SessionsPlugin;

impl Plugin for SessionsPlugin {
    /// None: the host need not open this plugin to announce anything.
    fn events(&self) -> Vec<String> {
        Vec::new()
    }

    fn commands(&self) -> CommandTable {
        lifecycle::commands()
            .merge(agent_loop::commands())
            .merge(attach::commands())
            .merge(host_entry::commands())
            .merge(doctor::commands())
    }
}

export_plugin!("sessions", SessionsPlugin::default);

#[cfg(test)]
mod tests {
    use super::*;
    use agent_tty_plugin_api::test_support::PluginHarness;

    /// The four modules' tables join without a path or capability declared
    /// twice, in help order, with the `sessions.list` effect derived.
    #[test]
    fn every_command_is_declared_once() {
        let d = PluginHarness::new(SessionsPlugin).describe();
        let paths: Vec<_> = d.commands.iter().map(|c| c.path.join(" ")).collect();
        assert_eq!(
            paths,
            [
                "create",
                "list",
                "inspect",
                "destroy",
                "type",
                "paste",
                "send-keys",
                "run",
                "wait",
                "snapshot",
                "mark",
                "batch",
                "resize",
                "signal",
                "follow",
                "click",
                "scroll",
                "attach",
                "_host",
            ]
        );
        assert_eq!(d.capabilities, ["sessions.list", "sessions.doctor"]);
        assert_eq!(d.effects[0].permission, "sessions.reconcile");
    }
}
