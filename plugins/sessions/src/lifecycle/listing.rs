//! `list [--all]` and the scan behind the `sessions.list` capability.
//!
//! One function, [`list_sessions`], serves the command, the dashboard and
//! anyone else, so they can never disagree about what a Home holds.

use crate::lookup::home_of;
use agent_tty_core::layout::{self, HomeDir, SessionDir};
use agent_tty_core::manifest::{self, Manifest};
use agent_tty_core::parallel::map_in_order;
use agent_tty_core::safe_fs::DirFd;
use agent_tty_core::text::escape;
use agent_tty_core::{safe_fs, Result, SessionId};
use agent_tty_plugin_api::{ArgSpec, Command, CommandSpec};
use agent_tty_plugin_api::{CommandOutput, Invocation, PluginError};
use agent_tty_runtime::reconcile::{reconcile_manifest, ReconcileMode};
use serde_json::{json, Value};
use std::path::Path;

/// One Session as listed.
pub struct ListedSession {
    /// Its manifest, after reconcile (or as a dry run says it would be).
    pub manifest: Manifest,
    /// Who has taken it over (`attach`), when someone has.
    pub control: Option<agent_tty_runtime::takeover::Controller>,
}

/// What a scan found.
pub struct Listing {
    /// The Sessions, newest first.
    pub sessions: Vec<ListedSession>,
    /// Session directories that could not be read, with why, and Sessions
    /// listed without being updated (a full disk), with why.
    pub skipped: Vec<String>,
}

/// `list`: its spec beside its handler ([`run`]).
pub(super) fn command() -> Command {
    let spec = CommandSpec::new(
        &["list"],
        "List the Home's Sessions (active ones unless --all)",
    )
    .alias("ls")
    .arg(ArgSpec::flag("all", "Include Sessions that have ended"));
    Command::new(spec, |_, invocation| run(invocation))
}

pub(super) fn run(invocation: &Invocation) -> std::result::Result<CommandOutput, PluginError> {
    let home = home_of(invocation)?;
    let all = invocation.flag("all");
    let listing = list_sessions(&home, all, true)?;
    let mut output =
        CommandOutput::for_context(&invocation.context, result(&listing.sessions), || {
            table(&listing.sessions)
        });
    output.warnings = listing.skipped;
    Ok(output)
}

/// Lists a Home's Sessions: Active ones, plus Terminal ones with `all`, newest
/// first. Active Sessions are reconciled first; with `reconcile` false that is
/// a dry run, so the scan writes and signals nothing. A Home that does not
/// exist has no Sessions.
pub fn list_sessions(home: &Path, all: bool, reconcile: bool) -> Result<Listing> {
    let nothing = || Listing {
        sessions: Vec::new(),
        skipped: Vec::new(),
    };
    // Nothing is read from (let alone reconciled in) a Home someone else
    // could have planted or can change: refused with the reason. The Home
    // and its `sessions/` are opened once, neither through a symlink, and
    // every manifest is read beneath that open `sessions/`.
    let Some(sessions) = open_trusted(home, None, "the Home")? else {
        return Ok(nothing());
    };
    let Some(sessions) = open_trusted(
        &HomeDir::new(home).sessions(),
        Some(&sessions),
        "the Home's sessions/",
    )?
    else {
        return Ok(nothing());
    };
    let mode = if reconcile {
        ReconcileMode::Apply
    } else {
        ReconcileMode::DryRun
    };
    // Only real directories with valid ids: a symlink could lead out of
    // `sessions/`, and other entries are not Sessions.
    let mut ids: Vec<String> = Vec::new();
    sessions
        .for_each_entry(|name, is_dir| {
            let is_dir = is_dir.unwrap_or_else(|| {
                sessions
                    .stat_child(name)
                    .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
            });
            if let (true, Some(id)) = (is_dir, name.to_str()) {
                if !id.starts_with('.') && SessionId::check(id).is_ok() {
                    ids.push(id.to_owned());
                }
            }
        })
        .map_err(|e| agent_tty_core::Error::read(sessions.path(), e))?;
    // Reading hundreds of manifests is most of a big Home's listing time;
    // spread it over up to 4 cores.
    let found: Vec<Found> = map_in_order(&ids, PER_WORKER_MIN, 4, |id| {
        look_at(&sessions, id, mode, all)
    });
    let mut sessions = Vec::new();
    let mut skipped = Vec::new();
    for (listed, why) in found {
        sessions.extend(listed);
        skipped.extend(why);
    }
    sessions.sort_by(|a, b| {
        (&b.manifest.created_at, &b.manifest.session_id)
            .cmp(&(&a.manifest.created_at, &a.manifest.session_id))
    });
    Ok(Listing { sessions, skipped })
}

/// Opens `path` (as `name` inside `parent` when given) without following a
/// symlink and checks it is trusted; `Ok(None)` when it does not exist.
fn open_trusted(path: &Path, parent: Option<&DirFd>, what: &str) -> Result<Option<DirFd>> {
    let opened = match parent {
        Some(parent) => parent.open_child(path.file_name().unwrap_or_default()),
        None => DirFd::open(path),
    };
    let dir = match opened {
        Ok(dir) => dir,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(safe_fs::Untrusted {
                path: path.to_owned(),
                reason: safe_fs::open_refusal(what, path, &e),
            }
            .into())
        }
    };
    dir.check_trusted(what)?;
    Ok(Some(dir))
}

/// Fewer Sessions than this per thread are not worth a thread.
const PER_WORKER_MIN: usize = 64;

/// A listed Session (or nothing to list), and why a directory was skipped
/// or a Session listed without being updated.
type Found = (Option<ListedSession>, Option<String>);

/// Reads one Session's manifest beneath the open `sessions/`, reconciling
/// it when it is Active.
fn look_at(sessions: &DirFd, id: &str, mode: ReconcileMode, all: bool) -> Found {
    let dir = sessions.path().join(id);
    let mut unrecorded = None;
    let read = read_manifest_beneath(sessions, id, &dir).and_then(|m| {
        if !m.status.is_active() {
            return Ok(m);
        }
        let reconciled = match reconcile_manifest(&dir, m.clone(), mode) {
            // A Session is never left out for want of space to update it:
            // it is listed as the update would have made it.
            Err(e @ agent_tty_core::Error::Write { .. }) if mode == ReconcileMode::Apply => {
                unrecorded = Some(format!(
                    "Session {id} is listed as it is now, but its manifest could not be \
                     updated ({e}); free some space"
                ));
                reconcile_manifest(&dir, m, ReconcileMode::DryRun)
            }
            other => other,
        };
        reconciled.map(|o| o.manifest)
    });
    match read {
        Ok(manifest) if all || manifest.status.is_active() => {
            let control = manifest
                .status
                .is_active()
                .then(|| agent_tty_runtime::takeover::controller(&dir))
                .flatten();
            (Some(ListedSession { manifest, control }), unrecorded)
        }
        Ok(_) => (None, unrecorded),
        // A directory without a manifest yet is a Session being made.
        Err(agent_tty_core::Error::Read { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            (None, None)
        }
        Err(e) => (None, Some(format!("skipped Session {id}: {e}"))),
    }
}

/// `<id>/session.json` opened beneath `sessions/`, following no symlink;
/// errors name the manifest's path as [`manifest::read_manifest`]'s do.
fn read_manifest_beneath(sessions: &DirFd, id: &str, dir: &Path) -> Result<Manifest> {
    let path = SessionDir::new(dir).manifest();
    let mut buf = Vec::new();
    let bytes = manifest::read_manifest_beneath(
        sessions,
        &Path::new(id).join(layout::session::MANIFEST.name),
        &mut buf,
    )
    .map_err(|e| agent_tty_core::Error::read(&path, e))?;
    manifest::parse_manifest(&path, bytes)
}

/// `list --json`'s result.
pub fn result(sessions: &[ListedSession]) -> Value {
    json!({ "sessions": sessions.iter().map(row).collect::<Vec<_>>() })
}

fn row(listed: &ListedSession) -> Value {
    let m = &listed.manifest;
    // 0.5's keys exactly (its scripts compare whole rows); the rest of a
    // Session's facts are `inspect`'s.
    let mut row = json!({
        "sessionId": m.session_id,
        "status": m.status,
        "command": m.command,
        "createdAt": m.created_at,
    });
    if let Some(name) = &m.name {
        row["name"] = json!(name);
    }
    row["pid"] = json!(m.child_pid);
    // Ours, only while someone has taken the Session over (`attach`): why
    // an agent's input is refused.
    if let Some(control) = &listed.control {
        row["control"] = control.to_json();
    }
    row
}

/// 0.5's human lines: `<id>  <status>  <command>` per Session, in listing
/// order, so `agent-tty list | awk '{print $1}'` gives the ids; then, for a
/// Session created with `--name`, `  (<name>)`. An empty listing prints one
/// empty line, as 0.5's does.
fn table(sessions: &[ListedSession]) -> String {
    sessions
        .iter()
        .map(|s| {
            let m = &s.manifest;
            let mut line = format!(
                "{}  {}  {}",
                escape(&m.session_id),
                m.status.as_str(),
                escape(&m.command.join(" "))
            );
            if let Some(name) = &m.name {
                line.push_str(&format!("  ({})", escape(name)));
            }
            if let Some(c) = &s.control {
                line.push_str(&format!(
                    "  (controlled by {} since {})",
                    escape(&c.holder),
                    escape(&c.since)
                ));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}
