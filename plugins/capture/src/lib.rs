//! The capture plugin: proof a human can glance at, drawn from a Session's
//! Event Log with no browser and no host round-trip.
//!
//! - `screenshot <id>` renders the screen as it is now to a PNG or an SVG,
//!   in agent-tty 0.5's look or a theme and geometry of the user's;
//! - `record export <id> --format asciicast|gif|webm` turns the whole Event
//!   Log into an asciicast v2 file, an animated GIF, or an AV1 WebM video.
//!
//! Both read only the Session's files (its manifest and Event Log), so they
//! work the same on running Sessions, ended ones, and Sessions recorded by
//! agent-tty 0.5. The screen comes from `agent_tty_core::screen`, the pixels
//! from `agent_tty_render`, and the results land in the Session's artifact
//! store (`agent_tty_core::artifacts`). The flags, checks, file names and
//! result fields are agent-tty 0.5's (contract §3.14, §3.15, §6), with GIF
//! added to `--format`.

mod export;
mod look;
mod output_path;
mod profile;
mod screenshot;
mod session;
mod store;

use agent_tty_plugin_api::{export_plugin, CommandTable, GroupSpec, Plugin, PluginDescription};

pub use export::{frames, gif as gif_export, webm as webm_export};

/// The capture plugin.
#[derive(Default)]
pub struct CapturePlugin;

impl Plugin for CapturePlugin {
    /// None: the host need not open this plugin to announce anything.
    fn events(&self) -> Vec<String> {
        Vec::new()
    }

    fn commands(&self) -> CommandTable {
        CommandTable::new()
            .with(screenshot::command())
            .with(export::command())
    }

    fn describe(&self) -> PluginDescription {
        PluginDescription {
            groups: vec![GroupSpec {
                name: "record".into(),
                about: "Export a Session's recording (asciicast, GIF, WebM)".into(),
            }],
            ..Default::default()
        }
    }
}

export_plugin!("capture", CapturePlugin::default);

#[cfg(test)]
mod command_table_tests {
    use super::*;
    use agent_tty_plugin_api::test_support::PluginHarness;

    /// Described exactly as declared in the table, each path once.
    #[test]
    fn every_command_is_declared_once() {
        let d = PluginHarness::new(CapturePlugin).describe();
        let paths: Vec<_> = d.commands.iter().map(|c| c.path.join(" ")).collect();
        assert_eq!(paths, ["screenshot", "record export"]);
        let capabilities: [&str; 0] = [];
        assert_eq!(d.capabilities, capabilities);
    }
}
