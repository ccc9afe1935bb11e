//! `agent-tty dashboard`: the host owns the terminal; the dashboard crate draws.

use crate::output::{self, OutputMode};
use crate::plugins::PluginSet;
use agent_tty_plugin_api::{CommandContext, PluginError};
use clap::ArgMatches;

pub fn run(
    _set: &PluginSet,
    _context: &CommandContext,
    _matches: &ArgMatches,
    mode: OutputMode,
) -> i32 {
    output::failure(
        mode,
        "dashboard",
        &PluginError::internal("the dashboard is not built yet"),
    )
}
