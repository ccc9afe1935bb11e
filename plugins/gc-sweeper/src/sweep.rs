//! Sweeping one Home: reconcile each Session, then remove the Collectable
//! ones the options allow.
//!
//! Safety rules, in the order they apply to each entry of `sessions/`:
//! 0. The Home and its `sessions/` are opened once, never through a
//!    symlink, and must be trusted (owned by the user, not group/world
//!    writable; `agent_tty_core::safe_fs`); otherwise the Home is refused
//!    with the reason and stays registered. Every later step acts relative
//!    to the open `sessions/`, so a path swapped meanwhile changes nothing.
//!    Tombstones an interrupted gc left (`.tombstone-<id>-…`) are finished.
//! 1. Only a real directory with a valid Session id is a Session, and it
//!    must be trusted too. A symlink or a plain file is skipped with a
//!    reason; what it points to is never looked at, let alone removed.
//! 2. A Session whose manifest cannot be read is left alone (it may be one
//!    being created right now). A *husk*, a directory without
//!    `session.json` in which nothing changed for [`HUSK_AGE`] and whose
//!    host lock nobody holds, is what a killed `create` or a half-finished
//!    removal leaves: it is collected (ADR 0015), so it no longer keeps its
//!    Home registered for ever.
//! 3. Reconcile decides the status (in a dry run, in memory only).
//! 4. Only Collectable Sessions, filtered by `--stale-only`/`--older-than`.
//! 5. Right before removal the manifest is read again; a Session that is no
//!    longer Collectable is skipped.
//! 6. Removal renames the Session to a tombstone inside `sessions/`, then
//!    deletes the tombstone through directory descriptors (`unlinkat`),
//!    never following a symlink.
//!
//! A dry run goes through exactly the same steps and decisions and stops
//! short of the two that change anything: reconcile writing or signalling,
//! and the removal.

use crate::options::Options;
use agent_tty_core::fsutil::read_small_file;
use agent_tty_core::home_scan::{
    check_trusted, open_home_sessions, HiddenReason, HomeSessions, SessionEntry,
};
use agent_tty_core::layout::{self, HomeDir, SessionDir};
use agent_tty_core::manifest::{
    parse_manifest, read_manifest_at, ManifestView, Status, MANIFEST_READ_LIMIT,
};
use agent_tty_core::safe_fs::{tombstone_name, tombstone_of, DirFd};
use agent_tty_core::time::{parse_iso, relative_age};
use agent_tty_runtime::reconcile::{reconcile_manifest, ReconcileMode};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How long a Session directory without a manifest must have been left
/// untouched before it counts as a husk: `create` writes the manifest
/// within a second of making the directory, so this is far beyond any
/// Session still being made.
pub const HUSK_AGE: Duration = Duration::from_secs(15 * 60);

/// Why a Session was not collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// The entry's name in `sessions/`.
    pub session_id: String,
    /// What a person reads.
    pub reason: String,
    /// An ordinary outcome (an Active Session, one filtered out by an
    /// option) rather than something a person should look at.
    pub routine: bool,
    /// gc tried to remove it and could not (all or part of its files stay).
    pub removal_failed: bool,
}

impl Skip {
    /// `session_id` left alone (or `routine`ly passed over) for `reason`.
    fn new(session_id: &str, reason: String, routine: bool) -> Self {
        Skip {
            session_id: session_id.to_owned(),
            reason,
            routine,
            removal_failed: false,
        }
    }

    /// gc tried to remove `session_id` and could not.
    fn failed(session_id: &str, reason: String) -> Self {
        Skip {
            removal_failed: true,
            ..Skip::new(session_id, reason, false)
        }
    }
}

/// What gc did (or, in a dry run, would do) in one Home.
#[derive(Debug, Clone, Default)]
pub struct HomeSweep {
    /// The Home's canonical path.
    pub home: String,
    /// The Home directory existed when the sweep began.
    pub existed: bool,
    /// Session ids removed (would be removed), in name order.
    pub removed: Vec<String>,
    /// Sessions left in place, with why.
    pub skipped: Vec<Skip>,
    /// Bytes of the removed Sessions' files.
    pub bytes_freed: u64,
    /// Entries left in `sessions/` after the sweep; `None` when it could not
    /// be listed (an unreadable Home is never deregistered).
    pub remaining: Option<usize>,
    /// The Home was (would be) dropped from the Home Registry.
    pub deregistered: bool,
}

impl HomeSweep {
    /// How many removals gc attempted and could not complete.
    pub fn removals_failed(&self) -> usize {
        self.skipped.iter().filter(|s| s.removal_failed).count()
    }

    /// Whether the sweep did anything a person should hear about.
    pub fn had_activity(&self) -> bool {
        !self.removed.is_empty() || self.deregistered || self.skipped.iter().any(|s| !s.routine)
    }
}

/// Test hooks: code run at a chosen instant of a sweep, so race tests can
/// place an attack exactly between a check and the act it guards.
#[derive(Default)]
pub(crate) struct Hooks<'a> {
    /// Runs after the last check of a Session and before it is removed,
    /// with the Session directory's path.
    pub before_remove: Option<&'a (dyn Fn(&Path) + Sync)>,
}

/// Sweeps one Home.
pub fn sweep_home(home: &str, options: &Options) -> HomeSweep {
    sweep_home_with(home, options, &Hooks::default())
}

/// [`sweep_home`] with test hooks.
pub(crate) fn sweep_home_with(home: &str, options: &Options, hooks: &Hooks<'_>) -> HomeSweep {
    let path = Path::new(home);
    let mut sweep = HomeSweep {
        home: home.to_owned(),
        existed: true,
        remaining: Some(0),
        ..Default::default()
    };
    // What cannot be read or is not trusted is reported and kept:
    // `remaining: None` means the Home is never deregistered, by a real run
    // or a dry one.
    let unreadable = |sweep: &mut HomeSweep, what: String| {
        sweep.remaining = None;
        sweep.skipped.push(Skip {
            session_id: String::new(),
            reason: format!("{what}; nothing was collected and the Home stays registered"),
            routine: false,
            removal_failed: false,
        });
    };
    // The Home and its `sessions/` are opened once, never through a symlink,
    // and checked, by the same scan `home list` makes; everything after
    // that is done relative to the open `sessions/`, so swapping a path for
    // a symlink meanwhile changes nothing.
    let HomeSessions {
        dir: sessions,
        entries,
    } = match open_home_sessions(path) {
        Ok(Some(scanned)) => scanned,
        Ok(None) => return sweep,
        Err(HiddenReason::DirectoryMissing) => {
            sweep.existed = false;
            return sweep;
        }
        Err(reason) => {
            unreadable(&mut sweep, reason.describe());
            return sweep;
        }
    };
    let total = entries.len();
    let mut gone = 0;
    for SessionEntry { name: raw, .. } in entries {
        let name = raw.to_string_lossy().into_owned();
        if let Some(id) = tombstone_of(&name) {
            // A Session an interrupted gc had already renamed aside: finish.
            let id = id.to_owned();
            if options.dry_run {
                sweep.removed.push(id);
                continue;
            }
            match sessions.remove_tree(&raw) {
                Ok(bytes) => {
                    sweep.removed.push(id);
                    sweep.bytes_freed += bytes;
                    gone += 1;
                }
                Err(e) => sweep.skipped.push(Skip {
                    session_id: id,
                    reason: format!(
                        "an earlier gc's removal ({name}) could not be finished ({e}); \
                         the next gc tries again"
                    ),
                    routine: false,
                    removal_failed: true,
                }),
            }
            continue;
        }
        match collect(&sessions, &raw, &name, path, options, hooks) {
            Ok(Collected { bytes, unfinished }) => {
                sweep.removed.push(name);
                sweep.bytes_freed += bytes;
                gone += usize::from(unfinished.is_none());
                sweep.skipped.extend(unfinished);
            }
            Err(skip) => sweep.skipped.push(skip),
        }
    }
    sweep.remaining = Some(total - gone);
    if options.dry_run {
        sweep.remaining = Some(total - sweep.removed.len());
    }
    sweep
}

/// A Session that was (would be) removed.
struct Collected {
    /// Bytes of its files.
    bytes: u64,
    /// Set when it was renamed to a tombstone but not all of it could be
    /// deleted: it is no longer a Session, and the next gc finishes.
    unfinished: Option<Skip>,
}

/// Decides one entry and, unless in a dry run, removes it.
fn collect(
    sessions: &DirFd,
    raw: &std::ffi::OsStr,
    name: &str,
    home: &Path,
    options: &Options,
    hooks: &Hooks<'_>,
) -> Result<Collected, Skip> {
    let skip = |reason: String, routine: bool| Skip::new(name, reason, routine);
    let failed = |reason: String| Skip::failed(name, reason);
    // Opening with O_NOFOLLOW both tells a symlink apart (never followed)
    // and pins the directory for the trust check.
    let pinned = match sessions.open_child(raw) {
        Ok(dir) => dir,
        // O_NOFOLLOW|O_DIRECTORY on a symlink fails with ELOOP or ENOTDIR.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) => {
            let symlink = sessions
                .stat_child(raw)
                .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK);
            return Err(if symlink {
                skip(
                    "a symlink, not a Session directory; left alone (gc never follows symlinks)"
                        .into(),
                    false,
                )
            } else {
                skip("not a Session directory; left alone".into(), false)
            });
        }
        Err(e) => {
            return Err(skip(
                format!("could not be examined ({e}); left alone"),
                false,
            ))
        }
    };
    if agent_tty_core::SessionId::check(name).is_err() || name.starts_with('.') {
        return Err(skip("not a Session id; left alone".into(), false));
    }
    check_trusted(&pinned, "the Session directory").map_err(|u| skip(u.reason, false))?;
    let dir = &HomeDir::new(home).sessions().join(raw);
    // The manifest is opened first, through the pinned directory: one
    // without it is what a husk is, and no `lstat` is needed to tell.
    let manifest = match pinned.open_regular_beneath(
        Path::new(layout::session::MANIFEST.name),
        MANIFEST_READ_LIMIT,
    ) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let age = husk_age(&pinned, dir, options.now).map_err(|r| skip(r, false))?;
            return collect_husk(sessions, &pinned, raw, name, age, options, hooks);
        }
        Err(e) => {
            let e = agent_tty_core::Error::read(&SessionDir::new(dir).manifest(), e);
            return Err(skip(
                format!("its manifest could not be read ({e}); left alone"),
                false,
            ));
        }
    };
    let outcome = decide(manifest, dir, options.dry_run).map_err(|e| {
        skip(
            format!("its manifest could not be read ({e}); left alone"),
            false,
        )
    })?;
    if outcome.foreign {
        return Err(skip("recorded by another machine; left alone".into(), true));
    }
    if !outcome.status.is_collectable() {
        return Err(skip(
            format!("{}: not Collectable", outcome.status.as_str()),
            true,
        ));
    }
    if options.stale_only && !outcome.found_dead {
        return Err(skip(
            "--stale-only: this run did not find it dead".into(),
            true,
        ));
    }
    if let Some(min_age) = options.older_than {
        // Judged from before this run's reconcile, so a Session found dead
        // now but silent for a week counts as a week old.
        let updated = parse_iso(&outcome.last_recorded_at).unwrap_or(options.now);
        let age = options.now.duration_since(updated).unwrap_or_default();
        if age < min_age {
            return Err(skip(
                format!(
                    "--older-than: last updated {}",
                    relative_age(updated, options.now)
                ),
                true,
            ));
        }
    }
    if options.dry_run {
        // A real run frees the manifest reconcile would have written, not
        // the one read now: count that, so both runs agree. The manifest's
        // size is known from reading it, so it is not `lstat`-ed again.
        let manifest = outcome.rewritten_len.unwrap_or(outcome.manifest_len);
        return Ok(Collected {
            bytes: pinned.tree_bytes_without(layout::session::MANIFEST.name) + manifest,
            unfinished: None,
        });
    }
    // Re-check right before removing: a Session must never go while in use.
    match read_manifest_at(&pinned, dir) {
        Ok(m) if m.status.is_collectable() => {}
        Ok(m) => {
            return Err(skip(
                format!("became {} before removal; left alone", m.status.as_str()),
                false,
            ))
        }
        Err(e) => {
            return Err(skip(
                format!("its manifest changed before removal ({e}); left alone"),
                false,
            ))
        }
    }
    if let Some(hook) = hooks.before_remove {
        hook(dir);
    }
    // Renamed aside inside the pinned `sessions/` first, so the Session
    // stops being one in a single step; a gc killed while deleting leaves a
    // tombstone the next gc recognises and finishes.
    drop(pinned);
    remove(sessions, raw, name).map_err(|e| failed(format!("could not be removed ({e})")))
}

/// How long a directory without a manifest has been untouched, when it is
/// a husk; why it is left alone when it is too young to tell, or its host
/// lock is held.
fn husk_age(pinned: &DirFd, dir: &Path, now: SystemTime) -> Result<Duration, String> {
    let mtime = |secs: i64| SystemTime::UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64);
    let mut newest = pinned.stat().map_or(now, |st| mtime(st.st_mtime));
    for entry in pinned.names().unwrap_or_default() {
        if let Ok(st) = pinned.stat_child(&entry) {
            newest = newest.max(mtime(st.st_mtime));
        }
    }
    let age = now.duration_since(newest).unwrap_or_default();
    if age < HUSK_AGE {
        return Err(format!(
            "no session.json (a Session being created?); left alone until it has been \
             untouched for {} minutes",
            HUSK_AGE.as_secs() / 60
        ));
    }
    if agent_tty_runtime::liveness::host_lock_held(dir) == Some(true) {
        return Err("no session.json, but a host holds its lock; left alone".into());
    }
    Ok(age)
}

/// Removes (in a dry run, counts) a husk, checked once more right before.
fn collect_husk(
    sessions: &DirFd,
    pinned: &DirFd,
    raw: &std::ffi::OsStr,
    name: &str,
    age: Duration,
    options: &Options,
    hooks: &Hooks<'_>,
) -> Result<Collected, Skip> {
    let skip = |reason: String, routine: bool| Skip::new(name, reason, routine);
    if options.older_than.is_some_and(|min| age < min) {
        return Err(skip(
            "--older-than: a Session directory without session.json, too recent".into(),
            true,
        ));
    }
    if options.dry_run {
        return Ok(Collected {
            bytes: pinned.tree_bytes(),
            unfinished: None,
        });
    }
    if pinned.stat_child(layout::session::MANIFEST.name).is_ok() {
        return Err(skip(
            "gained a session.json before removal; left alone".into(),
            false,
        ));
    }
    if let Some(hook) = hooks.before_remove {
        hook(pinned.path());
    }
    remove(sessions, raw, name)
        .map_err(|e| Skip::failed(name, format!("could not be removed ({e})")))
}

/// Renames a Session directory aside inside `sessions/`, then deletes it.
fn remove(sessions: &DirFd, raw: &std::ffi::OsStr, name: &str) -> std::io::Result<Collected> {
    let tombstone = tombstone_name(name);
    sessions.rename_child(raw, &tombstone)?;
    match sessions.remove_tree(&tombstone) {
        Ok(bytes) => Ok(Collected {
            bytes,
            unfinished: None,
        }),
        Err(e) => Ok(Collected {
            bytes: 0,
            unfinished: Some(Skip::failed(
                name,
                format!(
                    "removed as a Session, but its files could not all be deleted ({e}); \
                     the next gc finishes ({tombstone})"
                ),
            )),
        }),
    }
}

/// What reconcile decided for one Session, as far as gc needs it.
struct Decision {
    /// The status after reconcile (in a dry run: as it would be).
    status: Status,
    /// This run found the host dead and changed (would change) the status.
    found_dead: bool,
    /// Recorded by another machine; left alone.
    foreign: bool,
    /// `updatedAt` as the Session last recorded it (see
    /// `ReconcileOutcome::last_recorded_at`).
    last_recorded_at: String,
    /// In a dry run that found the host dead, the size of the manifest a
    /// real run would write.
    rewritten_len: Option<u64>,
    /// The size of the manifest as read.
    manifest_len: u64,
}

/// Reads the manifest (opened through the pinned Session directory) and
/// reconciles it (in a dry run, in memory only). A Terminal Session, what
/// gc mostly meets, needs nothing but its status and `updatedAt`: those
/// are read from a [`ManifestView`] without building the whole manifest,
/// and nothing else is looked at (no lock, no sidecar, no `/proc`).
/// Anything else, and any manifest the view refuses (so the error says
/// why, in the full parse's words), goes through [`reconcile_manifest`].
fn decide(manifest: std::fs::File, dir: &Path, dry_run: bool) -> agent_tty_core::Result<Decision> {
    thread_local! {
        /// One manifest buffer per sweeping thread, reused for every Session.
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with_borrow_mut(|buf| decide_with(manifest, dir, dry_run, buf))
}

fn decide_with(
    manifest: std::fs::File,
    dir: &Path,
    dry_run: bool,
    buf: &mut Vec<u8>,
) -> agent_tty_core::Result<Decision> {
    let path = SessionDir::new(dir).manifest();
    let bytes = read_small_file(manifest, buf, MANIFEST_READ_LIMIT)
        .map_err(|e| agent_tty_core::Error::read(&path, e))?;
    let manifest_len = bytes.len() as u64;
    if let Some(view) = ManifestView::parse(bytes).filter(|v| v.status.is_terminal()) {
        return Ok(Decision {
            status: view.status,
            found_dead: false,
            foreign: false,
            last_recorded_at: view.updated_at.into_owned(),
            rewritten_len: None,
            manifest_len,
        });
    }
    let manifest = parse_manifest(&path, bytes)?;
    let mode = if dry_run {
        ReconcileMode::DryRun
    } else {
        ReconcileMode::Apply
    };
    let outcome = reconcile_manifest(dir, manifest, mode)?;
    Ok(Decision {
        status: outcome.manifest.status,
        found_dead: outcome.found_dead,
        foreign: outcome.foreign,
        rewritten_len: (dry_run && outcome.found_dead)
            .then(|| outcome.manifest.to_json().len() as u64),
        last_recorded_at: outcome.last_recorded_at,
        manifest_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn options(dry_run: bool) -> Options {
        Options {
            dry_run,
            stale_only: false,
            older_than: None,
            now: SystemTime::now(),
        }
    }

    #[test]
    fn a_missing_home_did_not_exist_and_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let sweep = sweep_home(&tmp.path().join("gone").to_string_lossy(), &options(false));
        assert!(!sweep.existed);
        assert_eq!(sweep.remaining, Some(0));
    }

    #[test]
    fn a_home_that_is_not_a_directory_is_unreadable_and_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, "").unwrap();
        for dry_run in [true, false] {
            let sweep = sweep_home(&file.to_string_lossy(), &options(dry_run));
            assert!(sweep.existed);
            assert_eq!(sweep.remaining, None);
            assert!(sweep.had_activity());
        }
        assert!(file.is_file());
    }

    #[test]
    fn a_directory_without_a_manifest_is_left_alone_while_young_and_collected_as_a_husk() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp
            .path()
            .join("sessions")
            .join("01JD3Z6X8K4M2N5P7Q9R1S3T5V");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("events.jsonl"), b"{}\n").unwrap();
        let home = tmp.path().to_string_lossy();
        let sweep = sweep_home(&home, &options(false));
        assert!(sweep.removed.is_empty());
        assert_eq!(sweep.remaining, Some(1));
        assert!(sweep.skipped[0].reason.contains("no session.json"));
        assert!(dir.is_dir());
        // Untouched for longer than HUSK_AGE: a husk, counted by a dry run
        // and removed by a real one, which leaves the Home empty.
        let later = |dry_run| Options {
            now: SystemTime::now() + HUSK_AGE + Duration::from_secs(60),
            ..options(dry_run)
        };
        let dry = sweep_home(&home, &later(true));
        assert_eq!(dry.removed, ["01JD3Z6X8K4M2N5P7Q9R1S3T5V"]);
        assert!(dir.is_dir());
        let sweep = sweep_home(&home, &later(false));
        assert_eq!(sweep.removed, ["01JD3Z6X8K4M2N5P7Q9R1S3T5V"]);
        assert_eq!(sweep.remaining, Some(0));
        assert!(!dir.exists());
    }

    #[test]
    fn a_manifest_that_cannot_be_read_is_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp
            .path()
            .join("sessions")
            .join("01JD3Z6X8K4M2N5P7Q9R1S3T5V");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("session.json"), b"{not json").unwrap();
        let sweep = sweep_home(&tmp.path().to_string_lossy(), &options(false));
        assert!(sweep.removed.is_empty());
        assert_eq!(sweep.remaining, Some(1));
        assert!(sweep.skipped[0]
            .reason
            .contains("manifest could not be read"));
        assert!(dir.is_dir());
    }

    const ID: &str = "01JD3Z6X8K4M2N5P7Q9R1S3T5V";

    /// A manifest that is a symlink (dangling or not) is a manifest that
    /// cannot be read, never a missing one: the Session is left alone, not
    /// collected as a husk however old it is, and the link is not followed.
    #[test]
    fn a_symlinked_manifest_is_left_alone_and_never_taken_for_a_husk() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp
            .path()
            .join("sessions")
            .join("01JD3Z6X8K4M2N5P7Q9R1S3T5V");
        std::fs::create_dir_all(&dir).unwrap();
        for target in ["/nonexistent/session.json", "/etc/hostname"] {
            let _ = std::fs::remove_file(dir.join("session.json"));
            std::os::unix::fs::symlink(target, dir.join("session.json")).unwrap();
            for dry_run in [true, false] {
                let later = Options {
                    now: SystemTime::now() + HUSK_AGE + Duration::from_secs(60),
                    ..options(dry_run)
                };
                let sweep = sweep_home(&tmp.path().to_string_lossy(), &later);
                assert!(sweep.removed.is_empty(), "{target}: {:?}", sweep.removed);
                assert!(
                    sweep.skipped[0]
                        .reason
                        .contains("manifest could not be read"),
                    "{target}: {:?}",
                    sweep.skipped
                );
            }
            assert!(dir.join("session.json").is_symlink());
        }
    }

    /// A dry run counts exactly the bytes the real run then frees, though
    /// it sizes the manifest from its read rather than an `lstat`.
    #[test]
    fn a_dry_run_counts_the_bytes_the_real_run_frees() {
        let tmp = tempfile::tempdir().unwrap();
        let home = home_with_ended_session(tmp.path());
        std::fs::create_dir(home.join("sessions").join(ID).join("artifacts")).unwrap();
        std::fs::write(
            home.join("sessions")
                .join(ID)
                .join("artifacts")
                .join("a.png"),
            vec![0u8; 1000],
        )
        .unwrap();
        let home = home.to_string_lossy();
        let dry = sweep_home(&home, &options(true));
        let real = sweep_home(&home, &options(false));
        assert_eq!(real.removed, [ID]);
        assert_eq!(dry.removed, real.removed);
        assert_eq!(dry.bytes_freed, real.bytes_freed);
        assert!(real.bytes_freed > 1003, "{}", real.bytes_freed);
    }

    /// A Home holding one ended (Collectable) Session.
    fn home_with_ended_session(root: &Path) -> std::path::PathBuf {
        let home = root.join("home");
        let dir = home.join("sessions").join(ID);
        std::fs::create_dir_all(&dir).unwrap();
        let mut m: agent_tty_core::manifest::Manifest = serde_json::from_value(serde_json::json!({
            "version": 1, "sessionId": ID, "createdAt": "2026-11-24T03:50:02.677Z",
            "updatedAt": "2026-11-24T03:50:02.677Z", "status": "exited",
            "command": ["true"], "cwd": "/", "cols": 80, "rows": 24
        }))
        .unwrap();
        m.exit_code = Some(0);
        agent_tty_core::manifest::write_manifest(&dir, &m).unwrap();
        std::fs::write(dir.join("events.jsonl"), b"{}\n").unwrap();
        home
    }

    /// A directory outside the Home shaped like `sessions/` (a Session
    /// directory with the same id) that gc must never touch.
    fn decoy(root: &Path) -> std::path::PathBuf {
        let victim = root.join("victim");
        std::fs::create_dir_all(victim.join(ID)).unwrap();
        std::fs::write(victim.join(ID).join("precious"), b"keep").unwrap();
        victim
    }

    #[test]
    fn swapping_sessions_for_a_symlink_between_check_and_delete_never_deletes_outside() {
        for round in 0..20 {
            let tmp = tempfile::tempdir().unwrap();
            let home = home_with_ended_session(tmp.path());
            let victim = decoy(tmp.path());
            let attack = |_: &Path| {
                std::fs::rename(home.join("sessions"), home.join("sessions.moved")).unwrap();
                std::os::unix::fs::symlink(&victim, home.join("sessions")).unwrap();
            };
            let hooks = Hooks {
                before_remove: Some(&attack),
            };
            let sweep = sweep_home_with(&home.to_string_lossy(), &options(false), &hooks);
            assert_eq!(
                std::fs::read(victim.join(ID).join("precious")).unwrap(),
                b"keep",
                "round {round}: gc deleted outside the Home"
            );
            // The pinned `sessions/` is the one gc removed the Session from.
            assert_eq!(sweep.removed, vec![ID.to_owned()], "round {round}");
            assert_eq!(
                std::fs::read_dir(home.join("sessions.moved"))
                    .unwrap()
                    .count(),
                0
            );
        }
    }

    #[test]
    fn a_symlinked_sessions_dir_is_refused_and_its_target_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        std::fs::create_dir(&home).unwrap();
        let victim = decoy(tmp.path());
        std::os::unix::fs::symlink(&victim, home.join("sessions")).unwrap();
        for dry_run in [true, false] {
            let sweep = sweep_home(&home.to_string_lossy(), &options(dry_run));
            assert!(sweep.removed.is_empty());
            assert_eq!(sweep.remaining, None, "a refused Home stays registered");
            assert!(
                sweep.skipped[0].reason.contains("symlink"),
                "{:?}",
                sweep.skipped
            );
        }
        assert!(victim.join(ID).join("precious").exists());
    }

    #[test]
    fn a_tombstone_left_by_an_interrupted_gc_is_finished_by_the_next() {
        let tmp = tempfile::tempdir().unwrap();
        let home = home_with_ended_session(tmp.path());
        // What a gc killed right after its rename leaves behind.
        let tomb = home.join("sessions").join(tombstone_name(ID));
        std::fs::rename(home.join("sessions").join(ID), &tomb).unwrap();
        let dry = sweep_home(&home.to_string_lossy(), &options(true));
        assert_eq!(dry.removed, vec![ID.to_owned()]);
        assert!(tomb.exists(), "a dry run deletes nothing");
        let sweep = sweep_home(&home.to_string_lossy(), &options(false));
        assert_eq!(sweep.removed, vec![ID.to_owned()]);
        assert_eq!(sweep.remaining, Some(0), "so the Home can be deregistered");
        assert!(!tomb.exists());
    }

    #[rstest::rstest]
    #[case::home_world_writable("", 0o777)]
    #[case::home_group_writable("", 0o770)]
    #[case::sessions_world_writable("sessions", 0o777)]
    #[case::session_group_writable("sessions/01JD3Z6X8K4M2N5P7Q9R1S3T5V", 0o775)]
    fn writable_by_others_is_refused_and_kept(#[case] which: &str, #[case] mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let home = home_with_ended_session(tmp.path());
        let target = home.join(which);
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode)).unwrap();
        let sweep = sweep_home(&home.to_string_lossy(), &options(false));
        assert!(sweep.removed.is_empty(), "{:?}", sweep.skipped);
        assert!(
            sweep
                .skipped
                .iter()
                .any(|s| s.reason.contains("writable by group or others")),
            "{:?}",
            sweep.skipped
        );
        assert!(home.join("sessions").join(ID).join("session.json").exists());
    }

    /// Another user's directory (root can `chown`; others skip).
    #[rstest::rstest]
    #[case::home("")]
    #[case::session("sessions/01JD3Z6X8K4M2N5P7Q9R1S3T5V")]
    fn a_directory_of_another_user_is_refused(#[case] which: &str) {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIP: needs root to give a directory to another user");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let home = home_with_ended_session(tmp.path());
        let other = nix::unistd::Uid::from_raw(65534);
        nix::unistd::chown(&home.join(which), Some(other), None).unwrap();
        // Run as a non-root effective user would: root-owned dirs are
        // trusted, but 65534's are not, whoever we are.
        let sweep = sweep_home(&home.to_string_lossy(), &options(false));
        assert!(sweep.removed.is_empty());
        assert!(
            sweep
                .skipped
                .iter()
                .any(|s| s.reason.contains("belongs to another user")),
            "{:?}",
            sweep.skipped
        );
        assert!(home.join("sessions").join(ID).join("session.json").exists());
    }
}
