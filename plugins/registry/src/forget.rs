//! `home forget <path>`: drop a registry entry, never the Home.

use agent_tty_core::home::canonical_path;
use agent_tty_core::registry::HomeRegistry;
use agent_tty_plugin_api::{CommandOutput, PluginError};
use serde_json::json;
use std::path::Path;

/// Forgets `path` (relative paths, trailing slashes and symlinks are resolved
/// to the canonical form first). `forgotten` says whether it was registered.
pub fn run(registry: &HomeRegistry, path: &Path) -> Result<CommandOutput, PluginError> {
    if path.as_os_str().is_empty() {
        return Err(PluginError::usage(
            "home forget needs a Home path; see `agent-tty home list --all` for registered Homes",
        ));
    }
    let canonical = canonical_path(path).to_string_lossy().into_owned();
    let forgotten = registry.forget(path)?;
    let human = if forgotten {
        format!(
            "Forgot Home {canonical}. Its directory and Sessions are untouched; it is \
             registered again the next time a Session is created in it."
        )
    } else {
        format!("Home {canonical} was not registered; nothing to forget.")
    };
    Ok(CommandOutput::new(
        json!({ "path": canonical, "forgotten": forgotten }),
        human,
    ))
}
