//! The capture plugin: proof a human can glance at, drawn from a Session's
//! Event Log with no browser and no host round-trip.
//!
//! - `screenshot <id>` renders the screen as it is now to a PNG;
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
mod output_path;
mod profile;
mod screenshot;
mod session;
mod store;

use agent_tty_plugin_api::{
    export_plugin, ArgSpec, CommandOutput, CommandSpec, GroupSpec, Host, Invocation, Plugin,
    PluginDescription, PluginError,
};

pub use export::{frames, gif as gif_export, webm as webm_export};

/// The capture plugin.
#[derive(Default)]
pub struct CapturePlugin;

impl Plugin for CapturePlugin {
    fn describe(&self) -> PluginDescription {
        PluginDescription {
            groups: vec![GroupSpec {
                name: "record".into(),
                about: "Export a Session's recording (asciicast, GIF, WebM)".into(),
            }],
            commands: vec![
                CommandSpec::new(
                    &["screenshot"],
                    "Save a PNG of a Session's screen (drawn from its Event Log, no browser)",
                )
                .arg(ArgSpec::positional("id", "The Session").value_name("SESSION_ID"))
                .arg(ArgSpec::option(
                    "out",
                    "PATH",
                    "Write the PNG here instead of the Session's artifacts/",
                ))
                .arg(ArgSpec::option(
                    "profile",
                    "NAME",
                    "Render profile: reference-dark (default) or reference-light",
                ))
                .arg(ArgSpec::flag("show-cursor", "Draw the cursor"))
                .arg(ArgSpec::flag(
                    "hide-cursor",
                    "Leave the cursor out (the default)",
                )),
                CommandSpec::new(
                    &["record", "export"],
                    "Export a Session's Event Log as asciicast v2, an animated GIF, or a WebM video",
                )
                .arg(ArgSpec::positional("id", "The Session").value_name("SESSION_ID"))
                .arg(ArgSpec::option(
                    "format",
                    "FORMAT",
                    "asciicast, gif or webm (required)",
                ))
                .arg(ArgSpec::option(
                    "out",
                    "PATH",
                    "Write the file here instead of the Session's artifacts/",
                ))
                .arg(ArgSpec::option(
                    "profile",
                    "NAME",
                    "Render profile for gif/webm: reference-dark (default) or reference-light",
                ))
                .arg(ArgSpec::option(
                    "timing",
                    "MODE",
                    "recorded (default), accelerated or max-speed (gif/webm)",
                ))
                .arg(ArgSpec::option(
                    "speed",
                    "X",
                    "Play gif/webm X times faster (default 1)",
                )),
            ],
            capabilities: Vec::new(),
            panes: Vec::new(),
        }
    }

    fn invoke(&self, _host: &Host, invocation: &Invocation) -> Result<CommandOutput, PluginError> {
        match invocation.name().as_str() {
            "screenshot" => screenshot::run(invocation),
            "record export" => export::run(invocation),
            other => Err(PluginError::internal(format!(
                "the capture plugin has no command `{other}`"
            ))),
        }
    }
}

export_plugin!("capture", CapturePlugin::default);
