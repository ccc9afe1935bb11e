//! The `sessions` plugin: real, long-lived PTY Sessions.
//!
//! - [`lifecycle`]: `create`, `list`, `inspect`, `destroy` and the
//!   `sessions.list` capability.
//! - [`pty_host`]: the hidden `_host <id>` entry, the detached process that
//!   owns a Session's PTY, writes its Event Log and serves its control socket.
//! - [`agent_loop`]: `type`, `paste`, `send-keys`, `run`, `wait`, `snapshot`,
//!   `resize`, `signal`.
//! - `lookup`: the Home and the Session a command is aimed at, shared by both.

use agent_tty_plugin_api::{
    export_plugin, CommandContext, CommandOutput, Host, Invocation, Plugin, PluginDescription,
    PluginError,
};
use serde_json::Value;

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
    fn describe(&self) -> PluginDescription {
        let mut commands = lifecycle::specs();
        commands.extend(agent_loop::specs());
        commands.extend(pty_host::specs());
        commands.extend(doctor::specs());
        PluginDescription {
            commands,
            capabilities: lifecycle::CAPABILITIES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ..Default::default()
        }
    }

    fn effects(&self) -> Vec<agent_tty_plugin_api::EffectSpec> {
        lifecycle::effects()
    }

    fn invoke(&self, host: &Host, invocation: &Invocation) -> Result<CommandOutput, PluginError> {
        lifecycle::invoke(host, invocation)
            .or_else(|| agent_loop::invoke(host, invocation))
            .or_else(|| pty_host::invoke(host, invocation))
            .or_else(|| doctor::invoke(host, invocation))
            .unwrap_or_else(|| {
                Err(PluginError::internal(format!(
                    "the sessions plugin has no command `{}`",
                    invocation.name()
                )))
            })
    }

    fn capability(
        &self,
        host: &Host,
        name: &str,
        args: &Value,
        context: &CommandContext,
    ) -> Result<Value, PluginError> {
        lifecycle::capability(host, name, args, context)
    }
}

export_plugin!("sessions", SessionsPlugin::default);
