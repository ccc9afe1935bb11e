//! The gc-sweeper plugin: `gc [--dry-run] [--stale-only] [--older-than N(m|h|d)]`.
//!
//! Plain `gc` sweeps the default Home plus every Home in the Home Registry,
//! and deregisters registered Homes that are gone or left with no Session.
//! A Home chosen explicitly (`--home`, `AGENT_TTY_HOME`) scopes gc to that
//! Home alone and leaves the registry untouched. gc never removes a Home
//! directory: only Session directories and registry entries go.
//!
//! Each Home is swept by `sweep::sweep_home`; deregistration is decided by
//! `deregister` under the registry's lock; `report` renders the result.

mod deregister;
mod options;
mod report;
mod sweep;

use agent_tty_core::home_scan::map_homes;
use agent_tty_core::registry::HomeRegistry;
use agent_tty_plugin_api::{
    export_plugin, ArgSpec, CommandOutput, CommandSpec, CommandTable, ErrorCode, Host, Invocation,
    Plugin, PluginError,
};
use options::Options;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use sweep::HomeSweep;

/// The gc plugin.
#[derive(Default)]
pub struct GcPlugin;

impl Plugin for GcPlugin {
    /// None: the host need not open this plugin to announce anything.
    fn events(&self) -> Vec<String> {
        Vec::new()
    }

    fn commands(&self) -> CommandTable {
        CommandTable::new().command(
            CommandSpec::new(
                &["gc"],
                "Remove ended Sessions from every registered Home (or only --home) and prune the Home Registry",
            )
            .arg(ArgSpec::flag(
                "dry-run",
                "Report what would be removed and deregistered; change nothing",
            ))
            .arg(ArgSpec::flag(
                "stale-only",
                "Only collect Sessions this run found dead",
            ))
            .arg(ArgSpec::option(
                "older-than",
                "N(m|h|d)",
                "Only collect Sessions last updated at least this long ago, e.g. 7d",
            )),
            Self::gc,
        )
    }
}

impl GcPlugin {
    /// `gc`, declared just above.
    fn gc(_host: &Host, invocation: &Invocation) -> Result<CommandOutput, PluginError> {
        let options = Options::from_invocation(invocation)?;
        let choice = invocation.context.home()?;
        let mut warnings = Vec::new();
        // An explicit Home scopes gc to it and keeps the registry out of it.
        let (targets, registry, registered) = if choice.explicit {
            (vec![choice.path.clone()], None, Vec::new())
        } else {
            let registry = HomeRegistry::from_env()?;
            // Before anything is deleted: a registry gc could not update
            // afterwards is refused now, with nothing changed.
            if !options.dry_run {
                registry.check_updatable()?;
            }
            let read = registry.read();
            warnings.extend(read.problem);
            let registered: Vec<String> = read.homes.into_iter().map(|h| h.path).collect();
            let mut targets = vec![choice.path.clone()];
            targets.extend(registered.iter().filter(|p| **p != choice.path).cloned());
            (targets, Some(registry), registered)
        };

        let progress = Progress::new(targets.len());
        let mut sweeps = map_homes(&targets, |home| {
            let sweep = sweep::sweep_home(home, &options);
            progress.tick();
            sweep
        });
        progress.finish();

        // Sessions are already gone by now: a registry that fails after all
        // is a warning beside the full report, never a lost report.
        if let Some(registry) = registry {
            if let Err(e) =
                deregister::deregister(&registry, &registered, &mut sweeps, options.dry_run)
            {
                warnings.push(format!(
                    "the Home Registry could not be updated ({}); the Sessions listed were \
                     removed, but no Home was deregistered: run gc again once it can be written",
                    e.message
                ));
            }
        }
        let mut out = CommandOutput::for_context(
            &invocation.context,
            report::result(&sweeps, options.dry_run),
            || report::human(&sweeps, options.dry_run),
        );
        // The report stands (what was removed is gone), but a script must
        // not read success when removals failed: the exit status is the
        // storage error's, as for a failed write.
        let failed: usize = sweeps.iter().map(HomeSweep::removals_failed).sum();
        if failed > 0 {
            warnings.push(format!(
                "{} could not be removed; see the report above",
                agent_tty_core::text::counted(failed, "Session")
            ));
            out.exit_code = ErrorCode::StorageWriteError.exit_code();
        }
        out.warnings = warnings;
        Ok(out)
    }
}

/// "swept 120/1000 Homes" on stderr, only when stderr is a terminal and the
/// sweep is big enough to be worth watching. stdout stays the result only.
struct Progress {
    total: usize,
    done: AtomicUsize,
    shown: bool,
}

impl Progress {
    const MIN_HOMES: usize = 20;

    fn new(total: usize) -> Self {
        // SAFETY: isatty only inspects the descriptor.
        let tty = unsafe { libc::isatty(libc::STDERR_FILENO) } == 1;
        Progress {
            total,
            done: AtomicUsize::new(0),
            shown: tty && total >= Self::MIN_HOMES,
        }
    }

    fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if self.shown && (done.is_multiple_of(10) || done == self.total) {
            let _ = write!(std::io::stderr(), "\rgc: swept {done}/{} Homes", self.total);
        }
    }

    fn finish(&self) {
        if self.shown {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

export_plugin!("gc-sweeper", GcPlugin::default);

#[cfg(test)]
mod command_table_tests {
    use super::*;
    use agent_tty_plugin_api::test_support::PluginHarness;

    /// Described exactly as declared in the table, each path once.
    #[test]
    fn every_command_is_declared_once() {
        let d = PluginHarness::new(GcPlugin).describe();
        let paths: Vec<_> = d.commands.iter().map(|c| c.path.join(" ")).collect();
        assert_eq!(paths, ["gc"]);
        let capabilities: [&str; 0] = [];
        assert_eq!(d.capabilities, capabilities);
    }
}
