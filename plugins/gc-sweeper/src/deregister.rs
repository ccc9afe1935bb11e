//! Dropping gone and emptied Homes from the Home Registry.
//!
//! The sweep suggests candidates (registered Homes that are gone, or whose
//! `sessions/` the sweep left empty); the decision is taken again *under the
//! registry lock*, by looking at each candidate on disk once more. A `create`
//! makes its Session directory before it registers its Home, so either gc's
//! re-check sees that directory and keeps the Home, or gc finished first and
//! the `create` registers the Home again afterwards. Either way a Home with a
//! new Session stays registered. A Home that cannot be read is kept.

use crate::sweep::HomeSweep;
use agent_tty_core::home_scan::{occupancy, Occupancy};
use agent_tty_core::registry::HomeRegistry;
use agent_tty_plugin_api::PluginError;
use std::collections::HashSet;
use std::path::Path;

/// Marks (and, unless `dry_run`, removes from the registry) the registered
/// Homes that are gone or left without any Session directory.
pub fn deregister(
    registry: &HomeRegistry,
    registered: &[String],
    sweeps: &mut [HomeSweep],
    dry_run: bool,
) -> Result<(), PluginError> {
    let registered: HashSet<&str> = registered.iter().map(String::as_str).collect();
    let candidates: HashSet<String> = sweeps
        .iter()
        .filter(|s| registered.contains(s.home.as_str()))
        .filter(|s| !s.existed || s.remaining == Some(0))
        .map(|s| s.home.clone())
        .collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let deregistered: HashSet<String> = if dry_run {
        // What the real run would decide under the lock: the sweep's own
        // account of what would be left (nothing was removed for real).
        candidates
    } else {
        registry.update(|homes| {
            let mut gone = HashSet::new();
            homes.retain(|h| {
                let drop = candidates.contains(&h.path)
                    && matches!(
                        occupancy(Path::new(&h.path)),
                        Occupancy::Gone | Occupancy::Empty
                    );
                if drop {
                    gone.insert(h.path.clone());
                }
                !drop
            });
            Ok(gone)
        })?
    };
    for sweep in sweeps.iter_mut() {
        sweep.deregistered = deregistered.contains(&sweep.home);
    }
    Ok(())
}
