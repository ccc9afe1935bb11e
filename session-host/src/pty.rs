//! Opening the PTY and starting the Session's command on it.

use super::readiness::READY_FD_ENV;
use agent_tty_core::manifest::Manifest;
use agent_tty_runtime::shell_integration::Launch;
use std::os::fd::OwnedFd;
use std::process::{Child, Command};

pub use agent_tty_runtime::pty::{open, resize};

/// Starts the manifest's command on the PTY slave: in its own session (so it
/// leads its own process group, which `signal` and `destroy` address) with
/// the PTY as its controlling terminal, `TERM` and `PROMPT_EOL_MARK=""`
/// set, in the manifest's directory with its extra environment. With shell
/// integration the
/// `launch`'s command line and variables are used (the Session's own
/// variables still win). The host's copy of the slave is closed when this
/// returns.
pub fn spawn(
    slave: OwnedFd,
    manifest: &Manifest,
    launch: Option<&Launch>,
) -> std::io::Result<Child> {
    let argv = launch.map_or(&manifest.command, |l| &l.command);
    let (program, args) = argv.split_first().expect("a valid manifest has a command");
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(&manifest.cwd)
        .env_remove(READY_FD_ENV)
        .env_remove(super::guard::HOST_LOCK_FD_ENV)
        .env("TERM", manifest.term.as_deref().unwrap_or("xterm-256color"))
        // As 0.5 (contract §7.1): zsh prints no `%` mark before a prompt
        // that follows output without a newline, which would otherwise
        // litter snapshots. A Session's own `--env` value still wins.
        .env("PROMPT_EOL_MARK", "")
        .envs(
            launch
                .iter()
                .flat_map(|l| l.env.iter().map(|(k, v)| (k, v))),
        )
        .envs(manifest.env.iter().flatten());
    agent_tty_runtime::pty::attach(&mut command, slave)?;
    command.spawn()
}
