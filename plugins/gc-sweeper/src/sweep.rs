//! Sweeping one Home: reconcile each Session, then remove the Collectable
//! ones the options allow.
//!
//! Safety rules, in the order they apply to each entry of `sessions/`:
//! 1. Only a real directory with a valid Session id is a Session. A symlink
//!    or a plain file is skipped with a reason; what it points to is never
//!    looked at, let alone removed.
//! 2. A Session whose manifest cannot be read is left alone (it may be one
//!    being created right now).
//! 3. Reconcile decides the status (in a dry run, in memory only).
//! 4. Only Collectable Sessions, filtered by `--stale-only`/`--older-than`.
//! 5. Right before removal the manifest is read again; a Session that is no
//!    longer Collectable is skipped.
//! 6. Removal (`remove_dir_all`) does not follow symlinks inside the Session.
//!
//! A dry run goes through exactly the same steps and decisions and stops
//! short of the two that change anything: reconcile writing or signalling,
//! and the removal.

use crate::options::Options;
use agent_tty_core::home::{sessions_dir, validate_session_id};
use agent_tty_core::manifest::{manifest_path, read_manifest};
use agent_tty_core::reconcile::{reconcile_session, ReconcileMode};
use agent_tty_core::time::{parse_iso, relative_age};
use std::path::Path;

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
    /// Whether the sweep did anything a person should hear about.
    pub fn had_activity(&self) -> bool {
        !self.removed.is_empty() || self.deregistered || self.skipped.iter().any(|s| !s.routine)
    }
}

/// Sweeps one Home.
pub fn sweep_home(home: &str, options: &Options) -> HomeSweep {
    let path = Path::new(home);
    let mut sweep = HomeSweep {
        home: home.to_owned(),
        existed: true,
        remaining: Some(0),
        ..Default::default()
    };
    // What cannot be read is reported and kept: `remaining: None` means the
    // Home is never deregistered, by a real run or a dry one.
    let unreadable = |sweep: &mut HomeSweep, what: String| {
        sweep.remaining = None;
        sweep.skipped.push(Skip {
            session_id: String::new(),
            reason: format!("{what}; nothing was collected and the Home stays registered"),
            routine: false,
        });
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            unreadable(&mut sweep, "the Home is not a directory".into());
            return sweep;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            sweep.existed = false;
            return sweep;
        }
        Err(e) => {
            unreadable(&mut sweep, format!("the Home could not be read ({e})"));
            return sweep;
        }
    }
    let mut entries: Vec<std::fs::DirEntry> = match std::fs::read_dir(sessions_dir(path)) {
        Ok(rd) => rd.flatten().collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return sweep,
        Err(e) => {
            unreadable(
                &mut sweep,
                format!("the Home's sessions/ could not be read ({e})"),
            );
            return sweep;
        }
    };
    entries.sort_by_key(|e| e.file_name());
    let total = entries.len();
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        match collect(&entry, &name, options) {
            Ok(bytes) => {
                sweep.removed.push(name);
                sweep.bytes_freed += bytes;
            }
            Err(skip) => sweep.skipped.push(skip),
        }
    }
    sweep.remaining = Some(total - sweep.removed.len());
    sweep
}

/// Decides one entry and, unless in a dry run, removes it. `Ok(bytes)` when
/// it was (would be) removed.
fn collect(entry: &std::fs::DirEntry, name: &str, options: &Options) -> Result<u64, Skip> {
    let skip = |reason: String, routine: bool| Skip {
        session_id: name.to_owned(),
        reason,
        routine,
    };
    // The directory listing already says what each entry is (without
    // following symlinks), so no `lstat` per Session.
    let kind = entry
        .file_type()
        .map_err(|e| skip(format!("could not be examined ({e}); left alone"), false))?;
    let dir = &entry.path();
    if kind.is_symlink() {
        return Err(skip(
            "a symlink, not a Session directory; left alone (gc never follows symlinks)".into(),
            false,
        ));
    }
    if !kind.is_dir() {
        return Err(skip("not a Session directory; left alone".into(), false));
    }
    if validate_session_id(name).is_err() {
        return Err(skip("not a Session id; left alone".into(), false));
    }
    let mode = if options.dry_run {
        ReconcileMode::DryRun
    } else {
        ReconcileMode::Apply
    };
    let outcome = reconcile_session(dir, mode).map_err(|e| {
        skip(
            format!("its manifest could not be read ({e}); left alone"),
            false,
        )
    })?;
    if outcome.foreign {
        return Err(skip("recorded by another machine; left alone".into(), true));
    }
    let manifest = &outcome.manifest;
    if !manifest.status.is_collectable() {
        return Err(skip(
            format!("{}: not Collectable", manifest.status.as_str()),
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
    let mut bytes = tree_bytes(dir);
    if options.dry_run {
        if outcome.found_dead {
            // A real run frees the manifest reconcile would have written,
            // not the one on disk now: count that, so both runs agree.
            let on_disk = std::fs::symlink_metadata(manifest_path(dir)).map_or(0, |m| m.len());
            bytes = bytes - on_disk.min(bytes) + manifest.to_json().len() as u64;
        }
        return Ok(bytes);
    }
    // Re-check right before removing: a Session must never go while in use.
    match read_manifest(dir) {
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
    // `remove_dir_all` removes symlinks inside the Session, never their targets.
    std::fs::remove_dir_all(dir).map_err(|e| skip(format!("could not be removed ({e})"), false))?;
    Ok(bytes)
}

/// The size of every regular file under `dir`, without following symlinks.
fn tree_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() {
                total += meta.len();
            }
        }
    }
    total
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
    fn an_entry_with_an_unreadable_manifest_is_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp
            .path()
            .join("sessions")
            .join("01JD3Z6X8K4M2N5P7Q9R1S3T5V");
        std::fs::create_dir_all(&dir).unwrap();
        let sweep = sweep_home(&tmp.path().to_string_lossy(), &options(false));
        assert!(sweep.removed.is_empty());
        assert_eq!(sweep.remaining, Some(1));
        assert!(sweep.skipped[0]
            .reason
            .contains("manifest could not be read"));
        assert!(dir.is_dir());
    }
}
