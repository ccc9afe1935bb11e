//! The host's side: load one plugin library and talk to it.
//!
//! Each library is opened through abi_stable's per-library header
//! (`lib_header_from_path(..).init_root_module()`), never through
//! `RootModule::load_from_*`: those cache one module per root-module *type*,
//! and every agent-tty plugin shares one root-module type, so the convenience
//! loaders would hand back the first plugin for every file.

use crate::abi::{HostCallbacks, PluginModuleRef};
use crate::plugin::PluginDescription;
use crate::wire::{PluginRequest, Response};
use crate::{PluginError, INTERFACE_VERSION};
use abi_stable::library::{lib_header_from_path, LibraryError};
use abi_stable::std_types::{RStr, RString};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A plugin that loaded and described itself.
pub struct LoadedPlugin {
    /// The plugin's name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// The interface version it was built against (equal to ours).
    pub interface_version: u32,
    /// Where it was loaded from.
    pub path: PathBuf,
    /// Its commands, capabilities and panes.
    pub description: PluginDescription,
    module: PluginModuleRef,
}

/// A library that could not be used, and why.
#[derive(Debug, Clone)]
pub struct RefusedPlugin {
    /// The file.
    pub path: PathBuf,
    /// The plugin's name, when it could be read.
    pub name: Option<String>,
    /// The plugin's version, when it could be read.
    pub version: Option<String>,
    /// The interface version it reports, when it could be read.
    pub interface_version: Option<u32>,
    /// A sentence naming the file and what is wrong.
    pub reason: String,
}

type HostHandler = Box<dyn Fn(&str) -> String + Send + Sync>;
static HOST_HANDLER: OnceLock<HostHandler> = OnceLock::new();

/// Installs the function that answers plugins' [`crate::wire::HostRequest`]s
/// (JSON in, JSON [`Response`] out). Call once, before the first plugin call.
pub fn set_host_handler(handler: impl Fn(&str) -> String + Send + Sync + 'static) {
    let _ = HOST_HANDLER.set(Box::new(handler));
}

extern "C" fn host_call(request: RStr<'_>) -> RString {
    let answer = match HOST_HANDLER.get() {
        Some(handler) => handler(request.as_str()),
        None => Response::from_result(Err(PluginError::internal(
            "the host offers no services to plugins",
        )))
        .to_json(),
    };
    RString::from(answer)
}

/// Loads and checks one plugin library.
pub fn load(path: &Path) -> Result<LoadedPlugin, RefusedPlugin> {
    let refuse = |reason: String| RefusedPlugin {
        path: path.to_owned(),
        name: None,
        version: None,
        interface_version: None,
        reason,
    };
    if let Err(why) = crate::elf::check(path) {
        return Err(refuse(format!("{} {why}", path.display())));
    }
    let header = lib_header_from_path(path).map_err(|e| {
        refuse(match e {
            LibraryError::GetSymbolError { .. } => format!(
                "{} is not an agent-tty plugin: it exports no plugin root module \
                 (plugins are built with `agent_tty_plugin_api::export_plugin!`)",
                path.display()
            ),
            other => format!(
                "{} is not a loadable agent-tty plugin: {}",
                path.display(),
                one_line(&other.to_string())
            ),
        })
    })?;
    let module = header.init_root_module::<PluginModuleRef>().map_err(|e| {
        refuse(format!(
            "{} was built against an incompatible agent-tty plugin interface \
             (this agent-tty speaks interface {INTERFACE_VERSION}, plugin-api {}): {}",
            path.display(),
            env!("CARGO_PKG_VERSION"),
            one_line(&e.to_string())
        ))
    })?;
    let name = module.name().as_str().to_owned();
    let version = module.version().as_str().to_owned();
    let interface_version = module.interface_version();
    if interface_version != INTERFACE_VERSION {
        return Err(RefusedPlugin {
            path: path.to_owned(),
            name: Some(name.clone()),
            version: Some(version.clone()),
            interface_version: Some(interface_version),
            reason: format!(
                "{} ({name} {version}) was built against plugin interface version \
                 {interface_version}, but this agent-tty speaks interface version \
                 {INTERFACE_VERSION}; rebuild the plugin against agent-tty-plugin-api \
                 with interface {INTERFACE_VERSION}",
                path.display()
            ),
        });
    }
    let mut plugin = LoadedPlugin {
        name,
        version,
        interface_version,
        path: path.to_owned(),
        description: PluginDescription::default(),
        module,
    };
    let description = plugin
        .call(&PluginRequest::Describe)
        .and_then(|v| {
            serde_json::from_value(v)
                .map_err(|e| PluginError::internal(format!("malformed description: {e}")))
        })
        .map_err(|e| RefusedPlugin {
            path: path.to_owned(),
            name: Some(plugin.name.clone()),
            version: Some(plugin.version.clone()),
            interface_version: Some(interface_version),
            reason: format!(
                "{} could not describe itself: {}",
                path.display(),
                e.message
            ),
        })?;
    plugin.description = description;
    Ok(plugin)
}

impl LoadedPlugin {
    /// Sends one request and decodes the answer.
    pub fn call(&self, request: &PluginRequest) -> Result<Value, PluginError> {
        let text = serde_json::to_string(request)
            .map_err(|e| PluginError::internal(format!("could not encode a request: {e}")))?;
        let answer = (self.module.call())(HostCallbacks { call: host_call }, RStr::from_str(&text));
        Response::parse(answer.as_str())
    }
}

/// abi_stable's messages span several indented lines; a refusal reason is one.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
