//! `agent-tty`: a thin host. It finds and loads plugins, mounts their commands
//! into one CLI, renders the JSON envelope and exit code, answers plugins'
//! requests for each other's capabilities, and owns the terminal for the
//! dashboard. Every feature lives in a plugin.

mod cli;
mod completions;
mod dashboard;
mod discovery;
mod doctor;
mod elf;
mod loader;
mod output;
mod plugin_cache;
mod plugins;
mod remote;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let code = cli::run(args);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
