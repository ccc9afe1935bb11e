//! The Session Dashboard: a read-only terminal view of one Home at a time.
//!
//! The host binary owns the terminal (raw mode, alternate screen, restoring
//! it on quit, panic and signals) and implements [`DashboardHost`] over its
//! plugins; this crate decides what to show and draws it.
//!
//! - [`app`]: the state machine. Keys and worker results in, state and
//!   effects out; no I/O, so tests drive it directly.
//! - [`keys`]: the key table that both handles keys and writes the footer.
//! - [`render`]: a pure function from state to a ratatui frame.
//! - [`live`]: the Live View worker, following Sessions' Event Logs (the
//!   shown one with its history, and the overview's tiles).
//! - [`remote`]: Homes and Sessions on other machines, reached through the
//!   host's ssh runner.
//! - [`guard`]: keeps a failure (a panic included) inside the pane that
//!   failed.
//! - [`runtime`]: the event loop and the effect executor, whose workers
//!   keep I/O off the drawing thread (tests run the same executor).
//!
//! The dashboard never changes a Session: it never sends input and never
//! talks to a Session's host. The only state change it can cause is the one
//! `list` causes, reconciling a Home when the dashboard enters it.

pub mod app;
pub mod guard;
pub mod host;
pub mod keys;
pub mod live;
pub mod remote;
pub mod render;
pub mod runtime;
pub mod session;

pub use app::{App, Msg, Options};
pub use host::{DashboardHost, PaneInfo};
pub use ratatui;
pub use runtime::{run, spawn_terminal_input, Executor};
