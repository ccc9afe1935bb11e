//! agent-tty's terminal model: what a Session's screen is, with no file,
//! socket or process in sight.
//!
//! - [`Engine`]: the emulator (`alacritty_terminal` behind a thin handler
//!   that fills the gaps our conformance suite found) and the state a
//!   checkpoint must carry;
//! - [`cells`]: the screen as styled cells, the one shape every consumer
//!   reads (snapshots, the renderer, the dashboard);
//! - [`modes`] and [`mouse`]: the input modes a program set, and mouse
//!   reports encoded as it asked for them;
//! - [`keys`]: key names (`Enter`, `C-c`, …) to the bytes a terminal sends;
//!   [`paste`]: text as a bracketed paste it cannot break out of;
//! - [`profile`]: the render profiles (colours, font size) of agent-tty 0.5;
//! - [`run_marker`] and [`marker_echo`]: the marks `run` types and reads
//!   back, and the filter that hides their echo (a mark's nonce is the one
//!   system call here: `getrandom(2)`, which opens nothing).
//!
//! Reading the Event Log, checkpoints on disk and live Sessions belong to
//! `agent-tty-core` and the runtime; this crate only models the terminal,
//! so the renderer and the dashboard can depend on it alone, and it can be
//! tested byte in, screen out.

#![deny(missing_docs)]

pub mod cells;
pub mod engine;
pub mod keys;
pub mod marker_echo;
pub mod modes;
pub mod mouse;
pub mod paste;
pub mod profile;
pub mod run_marker;

pub use agent_tty_protocol::{ErrorCode, PluginError};
pub use cells::{Cell, CellColor, CellRows, CellWidth};
pub use engine::Engine;
