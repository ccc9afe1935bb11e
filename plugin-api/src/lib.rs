//! The SDK a plugin author sees: implement [`Plugin`], call [`export_plugin!`]
//! once, and the `cdylib` is an agent-tty plugin. A plugin's commands and
//! capabilities are a [`CommandTable`] ([`Plugin::commands`]): each declared
//! once, its spec beside its handler (see [`commands`]).
//!
//! The boundary is three pieces (docs/adr/0002):
//! - the **protocol** ([`agent_tty_protocol`], re-exported here in full): the
//!   JSON that crosses the boundary, with fallbacks so anything newer than a
//!   peer degrades to "unsupported" instead of an error;
//! - this **SDK**: the [`Plugin`] and [`Pane`] traits, the [`Host`] handle a
//!   plugin calls back through, and the frozen FFI root module ([`abi`]);
//! - the host's **loader** (`host/src/loader.rs`), which checks and opens a
//!   library and is no business of a plugin's.
//!
//! The root module is tiny and frozen: the interface version, a name, a
//! version and one `call` entry that takes a JSON request and returns a JSON
//! response. abi_stable's root module is a *prefix type*, so a field could be
//! appended without breaking older plugins; we still grow the JSON protocol
//! instead, because every new request then works across both directions of
//! version skew with one mechanism (negotiation in `describe`).
//!
//! [`INTERFACE_VERSION`] is the one version that matters for compatibility.

#![deny(missing_docs)]

pub mod abi;
pub mod commands;
mod plugin;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;

/// The wire protocol (requests, events, responses), re-exported from
/// [`agent_tty_protocol::wire`].
pub mod wire {
    pub use agent_tty_protocol::wire::*;
}

pub use agent_tty_protocol;
pub use agent_tty_protocol::{
    ArgKind, ArgSpec, Color, CommandContext, CommandOutput, CommandSpec, Description, EffectSpec,
    ErrorCode, GroupSpec, HomeChoice, HostEvent, Invocation, KeyCode, KeyEvent, PaneAction,
    PaneContext, PaneFrame, PaneLine, PaneSpan, PaneSpec, PaneStyle, PluginDescription,
    PluginError, ProtocolSupport, ValueHint, INTERFACE_VERSION,
};
pub use commands::{Capability, CapabilityHandler, Command, CommandHandler, CommandTable};
pub use plugin::{Host, Pane, Plugin};

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
