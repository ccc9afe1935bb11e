//! Read-only scans of Homes: how many Sessions each holds, how many are
//! Active, when its Event Logs last changed, or why it is hidden.
//!
//! [`list_homes`] is *the* listing of registered Homes: `home list` prints it
//! and the dashboard's Home picker shows it (through the registry plugin's
//! `registry.homes` capability), so the two can never disagree about which
//! Homes exist or what scope means.
//!
//! Scanning never reconciles and never writes. A Session whose host died
//! still says `running` in its manifest, and a listing reports exactly that:
//! making the manifest tell the truth is reconcile's job, done when a Home is
//! entered (`list`, the dashboard) or swept (`gc`). Merely looking at every
//! Home on the machine must not be able to kill or rewrite anything, and it
//! must stay cheap: one directory listing, one manifest read and one `stat`
//! per Session, with Homes scanned in parallel.

use crate::event_log::EVENT_LOG_FILE;
use crate::home::sessions_dir;
use crate::manifest::{parse_manifest, Status, MANIFEST_FILE};
use crate::registry::{HomeEntry, HomeRegistry};
use crate::time::format_iso;
use serde_json::{json, Value};
use std::io;
use std::path::Path;
use std::time::SystemTime;

/// What a scan found in one Home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HomeScan {
    /// At least one visible Session (readable manifest, not `destroyed`).
    Visible(SessionCounts),
    /// No visible Session, and why: listings hide such a Home.
    Hidden(HiddenReason),
}

/// A visible Home's derived facts (compat.md "Derived Home facts").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionCounts {
    /// Visible Sessions whose status is Active.
    pub active: usize,
    /// Visible Sessions.
    pub total: usize,
    /// The newest modification time of a visible Session's Event Log.
    pub last_activity: Option<SystemTime>,
}

/// Why a registered Home is hidden from listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HiddenReason {
    /// The Home directory does not exist.
    DirectoryMissing,
    /// The Home exists but has no `sessions/` directory.
    SessionsMissing,
    /// `sessions/` is empty.
    NoSessions,
    /// Every Session in it is `destroyed`.
    OnlyDestroyed,
    /// The Home, its `sessions/`, or every manifest in it could not be read.
    Unreadable(String),
}

impl HiddenReason {
    /// A stable machine-readable code, e.g. `directory-missing`.
    pub fn code(&self) -> &'static str {
        match self {
            HiddenReason::DirectoryMissing => "directory-missing",
            HiddenReason::SessionsMissing => "sessions-missing",
            HiddenReason::NoSessions => "no-sessions",
            HiddenReason::OnlyDestroyed => "only-destroyed",
            HiddenReason::Unreadable(_) => "unreadable",
        }
    }

    /// What a person reads.
    pub fn describe(&self) -> String {
        match self {
            HiddenReason::DirectoryMissing => "the Home directory no longer exists".into(),
            HiddenReason::SessionsMissing => "the Home has no sessions/ directory".into(),
            HiddenReason::NoSessions => "the Home has no Sessions left".into(),
            HiddenReason::OnlyDestroyed => "every Session in the Home was destroyed".into(),
            HiddenReason::Unreadable(why) => format!("the Home could not be read ({why})"),
        }
    }
}

/// Scans one Home. Never writes, never reconciles.
pub fn scan_home(home: &Path) -> HomeScan {
    let sessions = sessions_dir(home);
    let entries = match std::fs::read_dir(&sessions) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return HomeScan::Hidden(match std::fs::metadata(home) {
                Ok(meta) if meta.is_dir() => HiddenReason::SessionsMissing,
                Ok(_) => HiddenReason::Unreadable("it is not a directory".into()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => HiddenReason::DirectoryMissing,
                Err(e) => HiddenReason::Unreadable(e.to_string()),
            })
        }
        Err(e) => return HomeScan::Hidden(HiddenReason::Unreadable(e.to_string())),
    };
    let (mut counts, mut destroyed, mut unreadable) = (
        SessionCounts {
            active: 0,
            total: 0,
            last_activity: None,
        },
        0usize,
        0usize,
    );
    let mut buf = Vec::with_capacity(2048);
    for entry in entries.flatten() {
        // A Session is a directory; symlinks and stray files are not followed.
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let dir = entry.path();
        let Some(status) = read_status(&dir, &mut buf) else {
            unreadable += 1;
            continue;
        };
        if status == Status::Destroyed {
            destroyed += 1;
            continue;
        }
        counts.total += 1;
        counts.active += usize::from(status.is_active());
        if let Ok(modified) = std::fs::metadata(dir.join(EVENT_LOG_FILE)).and_then(|m| m.modified())
        {
            counts.last_activity = counts.last_activity.max(Some(modified));
        }
    }
    match (counts.total, destroyed, unreadable) {
        (0, 0, 0) => HomeScan::Hidden(HiddenReason::NoSessions),
        (0, 0, n) => HomeScan::Hidden(HiddenReason::Unreadable(format!(
            "{n} Session manifest{} unreadable or invalid",
            if n == 1 { " is" } else { "s are" }
        ))),
        (0, _, _) => HomeScan::Hidden(HiddenReason::OnlyDestroyed),
        _ => HomeScan::Visible(counts),
    }
}

/// The status of a readable, valid manifest; `None` for anything else.
fn read_status(session_dir: &Path, buf: &mut Vec<u8>) -> Option<Status> {
    use std::io::Read;
    let path = session_dir.join(MANIFEST_FILE);
    buf.clear();
    std::fs::File::open(&path).ok()?.read_to_end(buf).ok()?;
    parse_manifest(&path, buf).ok().map(|m| m.status)
}

/// Scans many Homes in parallel, answering in the order given.
///
/// Scanning is dominated by small file reads, so a few threads overlap the
/// waits; small inputs are scanned inline where a thread would cost more
/// than it saves.
pub fn scan_homes(homes: &[&Path]) -> Vec<HomeScan> {
    const PER_THREAD_MIN: usize = 8;
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 8)
        .min(homes.len() / PER_THREAD_MIN);
    if threads <= 1 {
        return homes.iter().map(|h| scan_home(h)).collect();
    }
    let chunk = homes.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = homes
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|h| scan_home(h)).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a Home scan never panics"))
            .collect()
    })
}

/// Which Homes a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Homes with at least one Active Session (the default).
    Active,
    /// Every visible Home, including those whose Sessions have all ended.
    All,
}

/// One row of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedHome {
    /// The registry entry.
    pub entry: HomeEntry,
    /// What the scan found.
    pub counts: SessionCounts,
}

/// A registered Home left out of a listing because it has no visible Session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenHome {
    /// The registry entry.
    pub entry: HomeEntry,
    /// Why it is hidden.
    pub reason: HiddenReason,
}

/// The registered Homes, as `home list` and the dashboard's Home picker show them.
#[derive(Debug, Clone, Default)]
pub struct HomeListing {
    /// Homes in scope, newest `lastSeenAt` first.
    pub homes: Vec<ListedHome>,
    /// Registered Homes hidden by prune-on-read, newest first.
    pub hidden: Vec<HiddenHome>,
    /// Visible Homes left out only because of the scope (Terminal-only Homes
    /// in [`Scope::Active`]).
    pub out_of_scope: usize,
    /// A problem with the registry file itself, for a warning.
    pub problem: Option<String>,
}

/// Lists the registered Homes in `scope`: reads the registry without a lock,
/// scans every Home in parallel, hides those with no visible Session. Never
/// writes anything, not even to drop hidden Homes from the file (durable
/// pruning is gc's job).
pub fn list_homes(registry: &HomeRegistry, scope: Scope) -> HomeListing {
    let read = registry.read();
    let paths: Vec<&Path> = read.homes.iter().map(|h| Path::new(&h.path)).collect();
    let scans = scan_homes(&paths);
    let mut listing = HomeListing {
        problem: read.problem.clone(),
        ..Default::default()
    };
    for (entry, scan) in read.homes.into_iter().zip(scans) {
        match scan {
            HomeScan::Visible(counts) if scope == Scope::All || counts.active > 0 => {
                listing.homes.push(ListedHome { entry, counts })
            }
            HomeScan::Visible(_) => listing.out_of_scope += 1,
            HomeScan::Hidden(reason) => listing.hidden.push(HiddenHome { entry, reason }),
        }
    }
    listing
}

impl HomeListing {
    /// The `home list` result: `{"homes": [{path, activeSessions,
    /// totalSessions, lastSeenAt, lastActivityAt}]}`, plus `hidden: [{path,
    /// lastSeenAt, reason, detail}]` when `verbose`.
    pub fn to_json(&self, verbose: bool) -> Value {
        let homes: Vec<Value> = self
            .homes
            .iter()
            .map(|h| {
                json!({
                    "path": h.entry.path,
                    "activeSessions": h.counts.active,
                    "totalSessions": h.counts.total,
                    "lastSeenAt": h.entry.last_seen_at,
                    "lastActivityAt": h.counts.last_activity.map(format_iso),
                })
            })
            .collect();
        if !verbose {
            return json!({ "homes": homes });
        }
        let hidden: Vec<Value> = self
            .hidden
            .iter()
            .map(|h| {
                json!({
                    "path": h.entry.path,
                    "lastSeenAt": h.entry.last_seen_at,
                    "reason": h.reason.code(),
                    "detail": h.reason.describe(),
                })
            })
            .collect();
        json!({ "homes": homes, "hidden": hidden })
    }
}

#[cfg(test)]
mod tests;
