//! See the crate documentation.

use agent_tty_plugin_api::{CommandOutput, CommandSpec, Host, Invocation, PluginError};

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
