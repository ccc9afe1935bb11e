//! Read-only scans of Homes: how many Sessions each holds, how many are
//! Active, when its Event Logs last changed, or why it is hidden.
//!
//! [`list_homes`] is *the* listing of registered Homes: `home list` prints it
//! and the dashboard's Home picker shows it (through the registry plugin's
//! `registry.homes` capability), so the two can never disagree about which
//! Homes exist or what scope means. Listings and gc open every Home through
//! [`open_home_sessions`], so they refuse the same Homes for the same
//! reasons (ADR 0023).
//!
//! Scanning never reconciles and never writes. A Session whose host died
//! still says `running` in its manifest, and a listing reports exactly that:
//! making the manifest tell the truth is reconcile's job, done when a Home is
//! entered (`list`, the dashboard) or swept (`gc`). Merely looking at every
//! Home on the machine must not be able to kill or rewrite anything, and it
//! must stay cheap: one directory listing and one manifest read per Session
//! (and one `stat` of its Event Log when the last activity is asked for,
//! [`Activity`]), with Homes scanned in parallel.

use crate::layout::{self, HomeDir};
use crate::manifest::{ManifestView, Status};
use crate::registry::{HomeEntry, HomeRegistry};
use crate::safe_fs::{self, open_refusal, DirFd};
use crate::time::format_iso;
use serde_json::Value;
use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::time::SystemTime;

/// Whether a scan also finds each Home's last activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Also the newest change of a visible Session's Event Log: one more
    /// `fstatat` per Session, for `home list`'s table and `--verbose` rows.
    Found,
    /// Counts only: agent-tty 0.5's `home list --json` rows and the Home
    /// picker have no use for it, and 1000 Homes are 5000 `fstatat`s.
    Skipped,
}

/// What a scan found in one Home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HomeScan {
    /// At least one visible Session (readable manifest, not `destroyed`).
    Visible(SessionCounts),
    /// No visible Session, and why: listings hide such a Home.
    Hidden(HiddenReason),
}

/// A visible Home's derived facts (docs/FORMATS.md, "Derived Home facts").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionCounts {
    /// Visible Sessions whose status is Active.
    pub active: usize,
    /// Visible Sessions.
    pub total: usize,
    /// The newest modification time of a visible Session's Event Log
    /// (`None` when the scan skipped it, [`Activity::Skipped`]).
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
    /// The Home or its `sessions/` is not trusted (another user's, writable
    /// by group or others, or a symlink): nothing in it is looked at.
    Untrusted(String),
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
            HiddenReason::Untrusted(_) => "untrusted",
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
            HiddenReason::Untrusted(why) => why.clone(),
        }
    }
}

/// Scans one Home. Never writes, never reconciles.
///
/// The Home and its `sessions/` are opened without following a symlink and
/// must be trusted ([`crate::safe_fs::check_trusted`]); a Home that is not
/// (say a deleted `/tmp` Home another user re-created) is hidden with the
/// reason, and nothing inside it is read.
pub fn scan_home(home: &Path, activity: Activity) -> HomeScan {
    let sessions = match open_home_sessions(home) {
        Ok(Some(sessions)) => sessions,
        Ok(None) => return HomeScan::Hidden(HiddenReason::SessionsMissing),
        Err(reason) => return HomeScan::Hidden(reason),
    };
    let tally = tally_sessions(&sessions, activity);
    match (tally.counts.total, tally.destroyed, tally.unreadable) {
        (0, 0, 0) => HomeScan::Hidden(HiddenReason::NoSessions),
        (0, 0, n) => HomeScan::Hidden(HiddenReason::Unreadable(format!(
            "{n} Session manifest{} unreadable or invalid",
            if n == 1 { " is" } else { "s are" }
        ))),
        (0, _, _) => HomeScan::Hidden(HiddenReason::OnlyDestroyed),
        _ => HomeScan::Visible(tally.counts),
    }
}

/// One entry of a Home's `sessions/`, as the scan met it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEntry {
    /// Its name (a Session id, a tombstone, or anything else planted there).
    pub name: OsString,
    /// Whether the directory listing says it is a directory (`None`: the
    /// filesystem does not say).
    pub listed_dir: Option<bool>,
}

/// A Home's `sessions/`, opened and checked, and its entries: what every
/// scan of a Home starts from.
#[derive(Debug)]
pub struct HomeSessions {
    /// `sessions/`, opened through the open Home, neither through a
    /// symlink, both trusted. Everything a scan reads below it is reached
    /// relative to this descriptor.
    pub dir: DirFd,
    /// Its entries (without `.` and `..`), in name order.
    pub entries: Vec<SessionEntry>,
}

/// The one scan of a Home that `home list`, the dashboard's Home picker
/// and `gc` all make: opens the Home (its last component never followed),
/// checks it with `fstat` on that descriptor, opens `sessions/` relative
/// to it (`openat`, `O_NOFOLLOW`), checks that with `fstat` too, and lists
/// it with `getdents64` from the same descriptor. No path is walked twice
/// and no directory opened twice: six system calls per Home, plus the
/// closes. `Ok(None)`: the Home has no `sessions/`.
///
/// What the callers do per Session differs (a listing reads manifests
/// beneath `sessions/`; gc pins each Session directory because it may
/// delete it), so that part is theirs.
pub fn open_home_sessions(home: &Path) -> Result<Option<HomeSessions>, HiddenReason> {
    let Some(dir) = open_trusted(home)? else {
        return Ok(None);
    };
    let mut entries = Vec::new();
    dir.for_each_entry(|name, listed_dir| {
        entries.push(SessionEntry {
            name: name.to_owned(),
            listed_dir,
        })
    })
    .map_err(|e| HiddenReason::Unreadable(format!("its sessions/ could not be listed: {e}")))?;
    entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    Ok(Some(HomeSessions { dir, entries }))
}

/// Opens a Home's `sessions/` through the Home, neither through a symlink,
/// and checks both are trusted. `Ok(None)`: the Home has no `sessions/`.
fn open_trusted(home: &Path) -> Result<Option<DirFd>, HiddenReason> {
    let home_dir = match DirFd::open(home) {
        Ok(dir) => dir,
        Err(e) => {
            return Err(match e.kind() {
                io::ErrorKind::NotFound => HiddenReason::DirectoryMissing,
                _ if e.raw_os_error() == Some(libc::ENOTDIR) && !is_symlink(home) => {
                    HiddenReason::Unreadable("it is not a directory".into())
                }
                _ if e.raw_os_error() == Some(libc::ELOOP)
                    || e.raw_os_error() == Some(libc::ENOTDIR) =>
                {
                    HiddenReason::Untrusted(open_refusal("the Home", home, &e))
                }
                _ => HiddenReason::Unreadable(e.to_string()),
            })
        }
    };
    check_trusted(&home_dir, "the Home").map_err(|u| HiddenReason::Untrusted(u.reason))?;
    let sessions = match home_dir.open_child("sessions") {
        Ok(dir) => dir,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) => {
            return Err(HiddenReason::Untrusted(open_refusal(
                "the Home's sessions/",
                &HomeDir::new(home).sessions(),
                &e,
            )))
        }
        Err(e) => return Err(HiddenReason::Unreadable(e.to_string())),
    };
    check_trusted(&sessions, "the Home's sessions/")
        .map_err(|u| HiddenReason::Untrusted(u.reason))?;
    Ok(Some(sessions))
}

/// [`DirFd::check_trusted`], the ownership check of every directory a scan
/// goes through. A build with `--cfg agent_tty_bench_unchecked` (only
/// `bench/gc.sh` makes one) skips it when
/// `AGENT_TTY_BENCH_SKIP_TRUST_CHECKS=1`, to measure what the checks cost.
pub fn check_trusted(dir: &DirFd, what: &str) -> Result<(), safe_fs::Untrusted> {
    #[cfg(agent_tty_bench_unchecked)]
    if std::env::var_os("AGENT_TTY_BENCH_SKIP_TRUST_CHECKS").is_some_and(|v| v == "1") {
        return Ok(());
    }
    dir.check_trusted(what)
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// What one pass over `sessions/` found.
struct Tally {
    counts: SessionCounts,
    destroyed: usize,
    unreadable: usize,
}

/// Reads every Session of one scanned `sessions/`.
///
/// This is the hot path of `home list` over thousands of Homes, and nearly
/// all of its time is spent in system calls. So each manifest is opened
/// beneath the already-open, already-checked `sessions/` descriptor in one
/// call that follows no symlink (`<id>/session.json`), `fstat`-ed once to
/// refuse anything but a regular file within the cap, and read into one
/// reused buffer ([`crate::manifest::read_manifest_beneath`]); only the
/// manifest fields a listing needs are looked at ([`ManifestView`]), and,
/// when `activity` asks, the Event Log is `fstatat`-ed relative to the
/// descriptor: four system calls per Session, five with the activity.
/// A listing never opens a Session directory and never probes a lock.
fn tally_sessions(sessions: &HomeSessions, activity: Activity) -> Tally {
    let mut tally = Tally {
        counts: SessionCounts {
            active: 0,
            total: 0,
            last_activity: None,
        },
        destroyed: 0,
        unreadable: 0,
    };
    thread_local! {
        /// One manifest buffer per scanning thread, reused for every Home.
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with_borrow_mut(|buf| tally_into(sessions, activity, &mut tally, buf));
    tally
}

fn tally_into(sessions: &HomeSessions, activity: Activity, tally: &mut Tally, buf: &mut Vec<u8>) {
    use nix::sys::stat::fstatat;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;

    let dir = &sessions.dir;
    let fd = dir.as_raw_fd();
    let mut relative = Vec::with_capacity(64);
    for entry in &sessions.entries {
        let name = entry.name.as_os_str();
        // A Session is a directory; symlinks and stray files are not followed.
        let is_dir = entry
            .listed_dir
            .unwrap_or_else(|| dir.stat_child(name).is_ok_and(|st| safe_fs::is_dir(&st)));
        if !is_dir {
            continue;
        }
        let at = |file: &str, relative: &mut Vec<u8>| {
            relative.clear();
            relative.extend_from_slice(name.as_bytes());
            relative.push(b'/');
            relative.extend_from_slice(file.as_bytes());
        };
        at(layout::session::MANIFEST.name, &mut relative);
        let status = crate::manifest::read_manifest_beneath(
            dir,
            Path::new(std::ffi::OsStr::from_bytes(&relative)),
            buf,
        )
        .ok()
        .and_then(|bytes| ManifestView::parse(bytes).map(|m| m.status));
        let Some(status) = status else {
            tally.unreadable += 1;
            continue;
        };
        if status == Status::Destroyed {
            tally.destroyed += 1;
            continue;
        }
        tally.counts.total += 1;
        tally.counts.active += usize::from(status.is_active());
        if activity == Activity::Skipped {
            continue;
        }
        at(layout::session::EVENT_LOG.name, &mut relative);
        if let Ok(st) = fstatat(Some(fd), relative.as_slice(), nix::fcntl::AtFlags::empty()) {
            let modified = std::time::UNIX_EPOCH
                + std::time::Duration::new(st.st_mtime.max(0) as u64, st.st_mtime_nsec as u32);
            tally.counts.last_activity = tally.counts.last_activity.max(Some(modified));
        }
    }
}

/// Scans many Homes in parallel, answering in the order given.
pub fn scan_homes(homes: &[&Path], activity: Activity) -> Vec<HomeScan> {
    map_homes(homes, |home| scan_home(home, activity))
}

/// Runs `each` over every Home on a few threads, answering in the order
/// given (see [`crate::parallel::map_in_order`]). Used by listings and by gc.
pub fn map_homes<T, R, F>(homes: &[T], each: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    crate::parallel::map_in_order(homes, 8, 8, each)
}

/// Whether a Home still holds anything in `sessions/`: what gc asks, under
/// the registry lock, before it deregisters a Home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Occupancy {
    /// The Home directory does not exist.
    Gone,
    /// The Home exists with no `sessions/` or an empty one.
    Empty,
    /// `sessions/` holds this many entries (Session directories or not).
    Occupied(usize),
    /// The Home or its `sessions/` could not be read (e.g. permission denied).
    Unreadable(String),
}

/// Looks at a Home's `sessions/` without reading any manifest. Any entry
/// counts, even one gc would not collect: a Home is only emptied when
/// nothing at all is left in it.
pub fn occupancy(home: &Path) -> Occupancy {
    let counted = |sessions: DirFd| match sessions.names() {
        Ok(names) if names.is_empty() => Occupancy::Empty,
        Ok(names) => Occupancy::Occupied(names.len()),
        Err(e) => Occupancy::Unreadable(e.to_string()),
    };
    match open_trusted(home) {
        Ok(Some(sessions)) => counted(sessions),
        Ok(None) => Occupancy::Empty,
        Err(HiddenReason::DirectoryMissing) => Occupancy::Gone,
        Err(reason) => Occupancy::Unreadable(reason.describe()),
    }
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
pub fn list_homes(registry: &HomeRegistry, scope: Scope, activity: Activity) -> HomeListing {
    let read = registry.read();
    let paths: Vec<&Path> = read.homes.iter().map(|h| Path::new(&h.path)).collect();
    let scans = scan_homes(&paths, activity);
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
    /// totalSessions, lastSeenAt}]}`, agent-tty 0.5's rows key for key (its
    /// scripts compare whole rows). `verbose` (our flag) adds each row's
    /// `lastActivityAt` and `hidden: [{path, lastSeenAt, reason, detail}]`.
    pub fn to_json(&self, verbose: bool) -> Value {
        serde_json::to_value(self.rows(verbose)).unwrap_or(Value::Null)
    }

    /// [`HomeListing::to_json`] written as JSON text, without building the
    /// [`Value`] (what `home list` sends to the host: a thousand Homes are a
    /// thousand objects, ADR 0023).
    pub fn to_json_text(&self, verbose: bool) -> Box<serde_json::value::RawValue> {
        serde_json::value::to_raw_value(&self.rows(verbose))
            .unwrap_or_else(|_| serde_json::value::to_raw_value(&Value::Null).expect("null"))
    }

    fn rows(&self, verbose: bool) -> ListingRows<'_> {
        ListingRows {
            homes: self.homes.iter().map(|h| HomeRow(h, verbose)).collect(),
            hidden: verbose.then(|| self.hidden.iter().map(HiddenRow).collect()),
        }
    }
}

/// The shape of [`HomeListing::to_json`], in its key order.
#[derive(serde::Serialize)]
struct ListingRows<'a> {
    homes: Vec<HomeRow<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hidden: Option<Vec<HiddenRow<'a>>>,
}

/// A listed Home, with its `lastActivityAt` when the listing is verbose.
struct HomeRow<'a>(&'a ListedHome, bool);

impl serde::Serialize for HomeRow<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let HomeRow(h, verbose) = *self;
        let mut row = serializer.serialize_struct("Home", 4 + usize::from(verbose))?;
        row.serialize_field("path", &h.entry.path)?;
        row.serialize_field("activeSessions", &h.counts.active)?;
        row.serialize_field("totalSessions", &h.counts.total)?;
        row.serialize_field("lastSeenAt", &h.entry.last_seen_at)?;
        if verbose {
            row.serialize_field("lastActivityAt", &h.counts.last_activity.map(format_iso))?;
        }
        row.end()
    }
}

struct HiddenRow<'a>(&'a HiddenHome);

impl serde::Serialize for HiddenRow<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let h = self.0;
        let mut row = serializer.serialize_struct("HiddenHome", 4)?;
        row.serialize_field("path", &h.entry.path)?;
        row.serialize_field("lastSeenAt", &h.entry.last_seen_at)?;
        row.serialize_field("reason", h.reason.code())?;
        row.serialize_field("detail", &h.reason.describe())?;
        row.end()
    }
}

#[cfg(test)]
mod tests;
