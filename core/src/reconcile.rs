//! Reconcile: make a Session's manifest tell the truth about a host that died.
//!
//! Rules (compat.md): for a non-terminal Session whose host process is not
//! alive, kill a still-alive child, then `running`→`failed` (failureOrigin
//! `host-death`), `exiting`→`exited`, `destroying`→`destroyed`; null the pids
//! and refresh `updatedAt`. Sessions recorded by another machine are never
//! touched. A dry run computes the same decision in memory and writes and
//! signals nothing.
//!
//! OWNED BY THE SESSIONS WORK: the signatures below are the contract that
//! `list`, `gc` and the dashboard call; the bodies are to be implemented.

use crate::error::Result;
use crate::manifest::Manifest;
use std::path::Path;

/// Whether reconcile may change anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconcileMode {
    /// Write manifests and kill orphaned children.
    Apply,
    /// Decide in memory only: no write, no signal.
    DryRun,
}

/// What reconcile found for one Session.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconcileOutcome {
    /// The manifest after reconcile (in a dry run: as it would be).
    pub manifest: Manifest,
    /// This run found the host dead and changed (or would change) the status.
    pub found_dead: bool,
    /// The Session was recorded by another machine and was left alone.
    pub foreign: bool,
}

/// Reconciles one Session directory.
pub fn reconcile_session(session_dir: &Path, mode: ReconcileMode) -> Result<ReconcileOutcome> {
    let manifest = crate::manifest::read_manifest(session_dir)?;
    let _ = mode;
    Ok(ReconcileOutcome {
        manifest,
        found_dead: false,
        foreign: false,
    })
}
