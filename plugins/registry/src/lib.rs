//! The registry plugin.

use agent_tty_plugin_api::{export_plugin, Plugin, PluginDescription};

/// Placeholder until its issue lands.
#[derive(Default)]
pub struct ThePlugin;

impl Plugin for ThePlugin {
    fn describe(&self) -> PluginDescription {
        PluginDescription::default()
    }
}

export_plugin!("registry", ThePlugin::default);
