//! agent-tty's store, shared by the host and every plugin: Homes, Session
//! manifests and their status policy, the Event Log, screen replay and its
//! checkpoints, artifacts, scans of Homes, and the Home Registry.
//!
//! The terminal model it replays into is `agent-tty-term`; what only live
//! Sessions need (the control socket, liveness, reconcile, the PTY) is
//! `agent-tty-runtime`. This crate depends on the I/O-free `agent-tty-protocol`
//! for error codes, never on the plugin interface.
//!
//! Everything here reads and writes the on-disk formats of agent-tty 0.5
//! (`docs/FORMATS.md`), so a Home made by either tool works with the other. Each
//! idea lives here once; plugins call it rather than copying it.

#![deny(missing_docs)]

pub mod artifacts;
pub mod config;
pub mod dimensions;
pub mod error;
pub mod event_log;
pub mod fsutil;
pub mod home;
pub mod home_scan;
pub mod layout;
pub mod manifest;
pub mod parallel;
pub mod registry;
pub mod reserve;
pub mod run_exits;
pub mod safe_fs;
pub mod screen;
pub mod session_id;
pub mod session_ref;
pub mod signals;
pub mod text;
pub mod time;
pub mod xdg;

#[cfg(test)]
mod fuzz_tests;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;

pub use error::{Error, Result};
pub use session_id::SessionId;
