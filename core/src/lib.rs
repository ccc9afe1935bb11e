//! agent-tty's domain, shared by the host and every plugin: Homes, Session
//! manifests and their status policy, the Event Log, screen replay, process
//! liveness, reconcile, and the Home Registry store.
//!
//! Everything here reads and writes the on-disk formats of agent-tty 0.5
//! (`docs/FORMATS.md`), so a Home made by either tool works with the other. Each
//! idea lives here once; plugins call it rather than copying it.

#![deny(missing_docs)]

pub mod artifacts;
pub mod config;
pub mod control;
pub mod error;
pub mod event_log;
pub mod fsutil;
pub mod home;
pub mod home_scan;
pub mod keys;
pub mod legacy_rpc;
pub mod liveness;
pub mod manifest;
pub mod parallel;
pub mod profile;
pub mod pty;
pub mod reconcile;
pub mod registry;
pub mod reserve;
pub mod run_exits;
pub mod run_marker;
pub mod safe_fs;
pub mod screen;
pub mod session_ref;
pub mod shell_integration;
pub mod signals;
pub mod takeover;
pub mod text;
pub mod time;
pub mod xdg;

#[cfg(test)]
mod fuzz_tests;

pub use error::{Error, Result};
