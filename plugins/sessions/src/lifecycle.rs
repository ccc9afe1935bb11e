//! `create`, `list`, `inspect`, `destroy`, and the `sessions.list` capability.

use agent_tty_plugin_api::{
    CommandContext, CommandOutput, CommandSpec, Host, Invocation, PluginError,
};
use serde_json::Value;

/// Capabilities this module answers.
pub const CAPABILITIES: &[&str] = &["sessions.list"];

/// Command descriptors.
pub fn specs() -> Vec<CommandSpec> {
    Vec::new()
}

/// Runs a command of this module, or `None` when it is not one.
pub fn invoke(
    _host: &Host,
    _invocation: &Invocation,
) -> Option<Result<CommandOutput, PluginError>> {
    None
}

/// Answers a capability.
pub fn capability(
    _host: &Host,
    name: &str,
    _args: &Value,
    _context: &CommandContext,
) -> Result<Value, PluginError> {
    Err(PluginError::internal(format!("no capability {name}")))
}
