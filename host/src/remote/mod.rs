//! Sessions on other machines: every command can run on a remote through the
//! system's OpenSSH (ADR 0017).
//!
//! - [`forward`](mod@forward): `--remote` (or `AGENT_TTY_REMOTE`, or a Home's `remote`
//!   key) sends the invocation to the remote's agent-tty and brings its
//!   answer back;
//! - [`command`]: the `remote` commands (`add`, `list`, `remove`, `stop`,
//!   `install`);
//! - [`fleet`]: `home list --remotes`, every machine's Homes in one list;
//! - [`ssh`]: the shared connection, [`quote`]: arguments that reach the
//!   remote byte for byte, [`target`] and [`store`]: where a remote is and
//!   the named ones.

pub mod command;
pub mod dashboard;
pub mod fleet;
pub mod forward;
pub mod quote;
pub mod ssh;
pub mod store;
pub mod target;

pub use forward::forward;

use agent_tty_plugin_api::PluginError;
use target::{NamedRemote, Remote, Target};

/// What `--remote TEXT` names: a named remote when one is called `TEXT`,
/// else the machine `[user@]host[:port]`.
pub fn resolve(text: &str) -> Result<Remote, PluginError> {
    let remotes = store::load()?;
    if let Some(named) = remotes.get(text) {
        return Ok(Remote {
            label: named.name.clone(),
            spec: named.clone(),
        });
    }
    let target = Target::parse(text)?;
    Ok(Remote {
        label: target.to_string(),
        spec: NamedRemote {
            name: target.to_string(),
            target,
            home: None,
            agent_tty: None,
        },
    })
}
