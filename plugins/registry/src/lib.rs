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
    export_plugin, ArgSpec, Capability, CommandSpec, CommandTable, GroupSpec, Host, HostEvent,
    Plugin, PluginDescription, PluginError,
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
    /// A new Session's Home joins the Home Registry.
    fn events(&self) -> Vec<String> {
        vec!["sessionCreated".to_owned()]
    }

    fn commands(&self) -> CommandTable {
        CommandTable::new()
            .command(
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
                |_, invocation| {
                    let registry = HomeRegistry::from_env()?;
                    Ok(list::run(
                        &registry,
                        invocation.flag("all"),
                        invocation.flag("verbose"),
                        &invocation.context,
                    ))
                },
            )
            .command(
                CommandSpec::new(
                    &["home", "forget"],
                    "Remove a Home from the registry (its directory and Sessions are untouched)",
                )
                .arg(ArgSpec::positional("path", "The Home to forget").value_name("PATH")),
                |_, invocation| {
                    let registry = HomeRegistry::from_env()?;
                    let path = invocation
                        .value("path")
                        .ok_or_else(|| PluginError::usage("`home forget` needs the Home's path"))?;
                    forget::run(&registry, Path::new(path))
                },
            )
            // The dashboard's Home picker: args `{"all": bool}`, answer the
            // `home list --json` result.
            .capability(Capability::new(HOMES_CAPABILITY, |_, args, _| {
                let all = args.get("all").and_then(Value::as_bool).unwrap_or(false);
                Ok(list::result(&HomeRegistry::from_env()?, all))
            }))
    }

    fn describe(&self) -> PluginDescription {
        PluginDescription {
            groups: vec![GroupSpec {
                name: "home".into(),
                about: "See and manage the Homes agent-tty has hosted Sessions in".into(),
            }],
            ..Default::default()
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
}

export_plugin!("registry", RegistryPlugin::default);

#[cfg(test)]
mod command_table_tests {
    use super::*;
    use agent_tty_plugin_api::test_support::PluginHarness;

    /// Described exactly as declared in the table, each path once.
    #[test]
    fn every_command_is_declared_once() {
        let d = PluginHarness::new(RegistryPlugin).describe();
        let paths: Vec<_> = d.commands.iter().map(|c| c.path.join(" ")).collect();
        assert_eq!(paths, ["home list", "home forget"]);
        let capabilities: [&str; 1] = ["registry.homes"];
        assert_eq!(d.capabilities, capabilities);
    }
}
