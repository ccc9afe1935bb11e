//! The wire protocol between the `agent-tty` host and its plugins, and nothing
//! else: plain serde types, no I/O, no FFI, no abi_stable.
//!
//! Three crates share the plugin boundary (see docs/adr/0002):
//! - this one, the *protocol*: what crosses the boundary as JSON (requests,
//!   responses, [`ErrorCode`]s, command specs, pane frames and keys) and the
//!   typed rows that one plugin produces and another consumes;
//! - `agent-tty-plugin-api`, the small SDK a plugin author sees: the `Plugin`
//!   trait, `export_plugin!`, the frozen FFI root module. It re-exports this
//!   crate, so a plugin depends on the SDK alone;
//! - the host's loader and ELF pre-flight check (`host/src/loader.rs`).
//!
//! # Growing the protocol without stranding anyone
//! Every open set on the wire has a fallback instead of a decode error:
//! an unknown [`HostEvent`], [`wire::PluginRequest`] or [`wire::HostRequest`]
//! decodes to its `Unsupported` variant and is answered with
//! [`ErrorCode::Unsupported`]; an unknown error code decodes to
//! [`ErrorCode::Unrecognized`] keeping the peer's message; an unknown
//! [`KeyCode`] or [`PaneAction`] decodes to `Unsupported` (ignored), an unknown
//! [`Color`] to "no colour". On top of that, [`Description::protocol`]
//! says which requests and events a plugin understands, so the host does not
//! send what a plugin cannot answer (feature negotiation instead of guessing
//! from errors).

#![deny(missing_docs)]

mod error;
mod pane;
mod spec;
pub mod wire;

pub use error::{ErrorCode, PluginError};
pub use pane::{
    Color, KeyCode, KeyEvent, PaneAction, PaneContext, PaneFrame, PaneLine, PaneSpan, PaneStyle,
};
pub use spec::{
    ArgKind, ArgSpec, CommandContext, CommandOutput, CommandSpec, Description, EffectSpec,
    GroupSpec, HomeChoice, Invocation, PaneSpec, PluginDescription, ProtocolSupport, ValueHint,
};
pub use wire::HostEvent;

/// The version of the plugin interface: **the one version that matters** for
/// compatibility. The host refuses a plugin that reports a different one,
/// naming both. Bump it only when the meaning of an existing request or
/// response changes incompatibly; new request kinds, events, error codes, keys,
/// pane actions and description fields are additive (see the crate docs) and
/// do not bump it.
pub const INTERFACE_VERSION: u32 = 1;
