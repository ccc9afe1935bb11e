//! The stable interface between the `agent-tty` host and its plugins.
//!
//! A plugin is a `cdylib` that exports one root module ([`abi::PluginModule`]).
//! The root module is deliberately tiny and frozen: a name, a version, the
//! interface version the plugin was built against and a single `call` entry
//! that takes a JSON request and returns a JSON response. Everything a plugin
//! can do (commands, host events, capabilities, dashboard panes) travels
//! through that entry as JSON, so the interface grows by new request kinds
//! rather than new fields. abi_stable refuses a library whose root module
//! layout differs from the host's, so adding a field would strand every
//! plugin already built; adding a JSON request kind strands nobody.
//!
//! Plugin authors never touch the `R*` FFI types: they implement the ordinary
//! Rust trait [`Plugin`] and call [`export_plugin!`] once. The host side uses
//! [`loader`] to discover, load and call plugins.

#![deny(missing_docs)]

pub mod abi;
mod elf;
mod error;
pub mod loader;
mod pane;
mod plugin;
pub mod wire;

pub use error::{ErrorCode, PluginError};
pub use pane::{
    Color, KeyCode, KeyEvent, PaneAction, PaneContext, PaneFrame, PaneLine, PaneSpan, PaneStyle,
};
pub use plugin::{
    ArgKind, ArgSpec, CommandContext, CommandOutput, CommandSpec, GroupSpec, HomeChoice, Host,
    Invocation, Pane, PaneSpec, Plugin, PluginDescription,
};
pub use wire::HostEvent;

/// The version of this interface. The host refuses a plugin that reports a
/// different one, naming both. Bump it whenever the meaning of a request or
/// response changes incompatibly; purely additive request kinds do not need it.
pub const INTERFACE_VERSION: u32 = 1;

#[doc(hidden)]
pub mod __private {
    pub use crate::plugin::{dispatch, ErasedPluginState, PluginState};
    pub use abi_stable;
    pub use serde_json;
}

#[cfg(test)]
mod tests {
    #[test]
    fn export_macro_uses_abi_stables_loader_symbol() {
        assert_eq!(
            abi_stable::library::ROOT_MODULE_LOADER_NAME,
            "_1as_0lib_1header_0root_bmodule_bloader"
        );
    }
}
