//! The registry plugin: the Home Registry's commands and its bookkeeping.
//!
//! - `home list [--all] [--verbose]` shows the registered Homes (Active ones by
//!   default), each with its Active/total Session counts and ages;
//! - `home forget <path>` drops a Home from the registry without touching it;
//! - every `SessionCreated` event registers its Home (or refreshes its
//!   `lastSeenAt`), so nobody registers a Home by hand;
//! - the `registry.homes` capability answers the dashboard's Home picker with
//!   exactly what `home list --json` prints.
//!
//! The store, its lock and the listing live in `agent_tty_core::{registry,
//! home_scan}`, shared with gc and the picker; this crate only maps them onto
//! commands, events and text for people.

mod forget;
mod list;

use agent_tty_core::registry::HomeRegistry;
use agent_tty_plugin_api::{
    export_plugin, ArgSpec, CommandContext, CommandOutput, CommandSpec, GroupSpec, Host, HostEvent,
    Invocation, Plugin, PluginDescription, PluginError,
};
use serde_json::Value;
use std::path::Path;

/// The capability the dashboard's Home picker calls: args `{"all": bool}`,
/// answer the `home list --json` result.
pub const HOMES_CAPABILITY: &str = "registry.homes";

/// The Home Registry plugin.
#[derive(Default)]
pub struct RegistryPlugin;

impl Plugin for RegistryPlugin {
    fn describe(&self) -> PluginDescription {
        PluginDescription {
            groups: vec![GroupSpec {
                name: "home".into(),
                about: "See and manage the Homes agent-tty has hosted Sessions in".into(),
            }],
            commands: vec![
                CommandSpec::new(
                    &["home", "list"],
                    "List registered Homes with Active Sessions (--all: also those whose Sessions ended)",
                )
                .alias("ls")
                .arg(ArgSpec::flag(
                    "all",
                    "Also list Homes whose Sessions have all ended",
                ))
                .arg(ArgSpec::flag(
                    "verbose",
                    "Also list registered Homes that are hidden, and why",
                )),
                CommandSpec::new(
                    &["home", "forget"],
                    "Remove a Home from the registry (its directory and Sessions are untouched)",
                )
                .arg(
                    ArgSpec::positional("path", "The Home to forget")
                        .value_name("PATH"),
                ),
            ],
            capabilities: vec![HOMES_CAPABILITY.into()],
            panes: Vec::new(),
        }
    }

    fn invoke(&self, _host: &Host, invocation: &Invocation) -> Result<CommandOutput, PluginError> {
        let registry = HomeRegistry::from_env()?;
        match invocation.name().as_str() {
            "home list" => Ok(list::run(
                &registry,
                invocation.flag("all"),
                invocation.flag("verbose"),
                invocation.context.json,
            )),
            "home forget" => {
                let path = invocation
                    .value("path")
                    .ok_or_else(|| PluginError::usage("`home forget` needs the Home's path"))?;
                forget::run(&registry, Path::new(path))
            }
            other => Err(PluginError::internal(format!(
                "the registry plugin has no command `{other}`"
            ))),
        }
    }

    fn on_event(&self, _host: &Host, event: &HostEvent) -> Result<(), PluginError> {
        let HostEvent::SessionCreated { home, .. } = event else {
            return Ok(());
        };
        HomeRegistry::from_env()
            .and_then(|registry| registry.register(Path::new(home)))
            .map_err(|e| {
                let e = PluginError::from(e);
                PluginError::new(
                    e.code,
                    format!(
                        "the Session was created, but its Home {home} could not be added \
                         to the Home Registry: {}",
                        e.message
                    ),
                )
                .with_details(e.details)
            })
    }

    fn capability(
        &self,
        _host: &Host,
        name: &str,
        args: &Value,
        _context: &CommandContext,
    ) -> Result<Value, PluginError> {
        if name != HOMES_CAPABILITY {
            return Err(PluginError::internal(format!(
                "the registry plugin has no capability `{name}`"
            )));
        }
        let all = args.get("all").and_then(Value::as_bool).unwrap_or(false);
        Ok(list::result(&HomeRegistry::from_env()?, all))
    }
}

export_plugin!("registry", RegistryPlugin::default);
