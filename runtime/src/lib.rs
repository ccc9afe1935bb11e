//! agent-tty's live-Session runtime: what only the Session host and the
//! commands that talk to a live Session need, on top of the store
//! (`agent-tty-core`).
//!
//! - [`control`]: the host's control socket, client side (requests, the
//!   socket's path, the connection);
//! - [`legacy_rpc`]: agent-tty 0.5's socket protocol, which its clients
//!   speak to our hosts;
//! - [`liveness`]: whether a Session's host and command still run, the
//!   sidecar that records them, and who may signal them;
//! - [`reconcile`]: records a Session whose host died as ended;
//! - [`pty`]: the pseudo-terminal a Session's command runs on;
//! - [`takeover`]: a person holding a Session (`attach`);
//! - [`shell_integration`]: the shell start-up hooks that mark prompts and
//!   `run` completions.

#![deny(missing_docs)]

pub mod control;
pub mod legacy_rpc;
pub mod liveness;
pub mod pty;
pub mod reconcile;
pub mod shell_integration;
pub mod takeover;
