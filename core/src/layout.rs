//! The layout of a Home and of a Session directory: every file agent-tty
//! keeps there, declared once, with its name, whether 0.5 shares it, the
//! mode agent-tty makes it with and what it is for; and the one place paths
//! into them are built ([`HomeDir`], [`SessionDir`]).
//!
//! A module that reads or writes one of these files names it through this
//! module, never with a string of its own, so a new file in a Session
//! directory is one new [`Entry`] here (and a row in `docs/FORMATS.md`,
//! which a test below compares with these entries). [`HomeDir::session`]
//! takes only a checked [`SessionId`], so a Session path it builds cannot
//! leave `sessions/`; [`SessionDir::new`] wraps a directory a scan of
//! `sessions/` found, or one `HomeDir::session` built.

use crate::session_id::SessionId;
use std::path::{Path, PathBuf};

/// Whether 0.5 knows an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Byte-compatible with agent-tty 0.5 (`docs/CONTRACT.md` has its shape).
    V05,
    /// This project's own; 0.5 does not know it and ignores it.
    Ours,
}

/// What an entry is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// Any name that starts with [`Entry::name`] (a family of entries).
    Prefix,
}

/// One entry of a Home or a Session directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Its name in its directory (for [`Kind::Prefix`], the start of it).
    pub name: &'static str,
    /// File, directory or family of names.
    pub kind: Kind,
    /// Whether 0.5 shares it.
    pub origin: Origin,
    /// The mode agent-tty creates it with; `None` when agent-tty never
    /// creates it (the person writes it, or it is only renamed into place).
    pub mode: Option<u32>,
    /// What it is for and who writes it; `docs/FORMATS.md` has the rest.
    pub purpose: &'static str,
}

impl Entry {
    /// How `docs/FORMATS.md` names it: `artifacts/` for a directory,
    /// `.tombstone-*` for a family.
    pub fn shown(&self) -> String {
        match self.kind {
            Kind::File => self.name.to_owned(),
            Kind::Dir => format!("{}/", self.name),
            Kind::Prefix => format!("{}*", self.name),
        }
    }

    /// Whether a directory entry called `name` is this one.
    pub fn matches(&self, name: &str) -> bool {
        match self.kind {
            Kind::Prefix => name.starts_with(self.name),
            Kind::File | Kind::Dir => name == self.name,
        }
    }
}

/// A Session directory and every file in it is its owner's alone.
const PRIVATE_DIR: Option<u32> = Some(0o700);
const PRIVATE_FILE: Option<u32> = Some(0o600);

/// What a Home holds. The Home itself is created 0700 when agent-tty
/// creates it (an existing one is never re-moded).
pub mod home {
    use super::*;

    /// `config.json`: the person's defaults (`logLevel`, `defaultProfile`,
    /// `defaultRenderer`, `idleTimeoutMs`), read only after the Home passes
    /// the trust check (`core::config`).
    pub const CONFIG: Entry = Entry {
        name: "config.json",
        kind: Kind::File,
        origin: Origin::V05,
        mode: None,
        purpose: "the person's defaults; agent-tty only reads it",
    };

    /// `sessions/`: one directory per Session, named by its id.
    pub const SESSIONS: Entry = Entry {
        name: "sessions",
        kind: Kind::Dir,
        origin: Origin::V05,
        mode: PRIVATE_DIR,
        purpose: "one directory per Session, named by its id",
    };

    /// Every entry of a Home, in `docs/FORMATS.md`'s order.
    pub const ENTRIES: &[Entry] = &[CONFIG, SESSIONS];
}

/// What `sessions/` holds besides Session directories.
pub mod sessions {
    use super::*;

    /// `.tombstone-*`: a Session directory `gc` is deleting, renamed aside
    /// first so a half-deleted Session is never listed (`core::safe_fs`).
    pub const TOMBSTONE: Entry = Entry {
        name: ".tombstone-",
        kind: Kind::Prefix,
        origin: Origin::Ours,
        mode: None,
        purpose: "a Session directory gc is deleting, renamed aside first",
    };

    /// Every entry of `sessions/` that is not a Session directory.
    pub const ENTRIES: &[Entry] = &[TOMBSTONE];
}

/// What a Session directory holds.
pub mod session {
    use super::*;

    /// The Session directory itself (`<home>/sessions/<id>`).
    pub const DIR_MODE: u32 = 0o700;

    /// `session.json`: the manifest (`core::manifest`).
    pub const MANIFEST: Entry = Entry {
        name: "session.json",
        kind: Kind::File,
        origin: Origin::V05,
        mode: PRIVATE_FILE,
        purpose: "the manifest, version 1; replaced atomically",
    };

    /// `session.json.lock`: held around each read-modify-write of the
    /// manifest.
    pub const MANIFEST_LOCK: Entry = Entry {
        name: "session.json.lock",
        kind: Kind::File,
        origin: Origin::Ours,
        mode: PRIVATE_FILE,
        purpose: "an flock held around each read-modify-write of the manifest",
    };

    /// `events.jsonl`: the Event Log (`core::event_log`).
    pub const EVENT_LOG: Entry = Entry {
        name: "events.jsonl",
        kind: Kind::File,
        origin: Origin::V05,
        mode: PRIVATE_FILE,
        purpose: "the Event Log, appended by the Session's host",
    };

    /// `run-exits.jsonl`: how each `run` ended (`core::run_exits`).
    pub const RUN_EXITS: Entry = Entry {
        name: "run-exits.jsonl",
        kind: Kind::File,
        origin: Origin::Ours,
        mode: PRIVATE_FILE,
        purpose: "one line per finished run: its exit status and output range",
    };

    /// `host.json`: the liveness sidecar (the host's and child's identity).
    pub const SIDECAR: Entry = Entry {
        name: "host.json",
        kind: Kind::File,
        origin: Origin::Ours,
        mode: PRIVATE_FILE,
        purpose: "the liveness sidecar: which processes the Session owns",
    };

    /// `host.lock`: held by the host for its whole life.
    pub const HOST_LOCK: Entry = Entry {
        name: "host.lock",
        kind: Kind::File,
        origin: Origin::Ours,
        mode: PRIVATE_FILE,
        purpose: "held for the host's whole life: the host is alive exactly while it is held",
    };

    /// `host-record.json`: the host's fixed-size record (`core::event_log`).
    pub const HOST_RECORD: Entry = Entry {
        name: "host-record.json",
        kind: Kind::File,
        origin: Origin::Ours,
        mode: PRIVATE_FILE,
        purpose: "made at a fixed size, rewritten in place: a full disk, lost output, the exit",
    };

    /// `reserved-space`: blocks set aside to record the end on a full disk
    /// (`core::reserve`).
    pub const RESERVED_SPACE: Entry = Entry {
        name: "reserved-space",
        kind: Kind::File,
        origin: Origin::Ours,
        mode: PRIVATE_FILE,
        purpose: "real blocks set aside to record the Session's end on a full disk",
    };

    /// `control.lock`: held while a person is attached.
    pub const CONTROL_LOCK: Entry = Entry {
        name: "control.lock",
        kind: Kind::File,
        origin: Origin::Ours,
        mode: PRIVATE_FILE,
        purpose: "held while a person is attached: the truth about control",
    };

    /// `control.json`: who is attached.
    pub const CONTROL: Entry = Entry {
        name: "control.json",
        kind: Kind::File,
        origin: Origin::Ours,
        mode: PRIVATE_FILE,
        purpose: "who is attached (holder, pid, since); stale unless the lock is held",
    };

    /// `screen.checkpoint`: the emulator's state at an offset of the log.
    pub const CHECKPOINT: Entry = Entry {
        name: "screen.checkpoint",
        kind: Kind::File,
        origin: Origin::Ours,
        mode: PRIVATE_FILE,
        purpose: "the emulator's state at an offset of the Event Log; a cache",
    };

    /// `artifacts/`: captured files and their manifest (`core::artifacts`).
    pub const ARTIFACTS: Entry = Entry {
        name: "artifacts",
        kind: Kind::Dir,
        origin: Origin::V05,
        mode: Some(0o755),
        purpose: "snapshots, screenshots and recordings, and their manifest",
    };

    /// Every entry of a Session directory, in `docs/FORMATS.md`'s order.
    pub const ENTRIES: &[Entry] = &[
        MANIFEST,
        MANIFEST_LOCK,
        EVENT_LOG,
        RUN_EXITS,
        SIDECAR,
        HOST_LOCK,
        HOST_RECORD,
        RESERVED_SPACE,
        CONTROL_LOCK,
        CONTROL,
        CHECKPOINT,
        ARTIFACTS,
    ];
}

/// What a Session's `artifacts/` holds besides the artifacts themselves.
pub mod artifacts {
    use super::*;

    /// `artifacts/manifest.json`: the list of artifacts.
    pub const MANIFEST: Entry = Entry {
        name: "manifest.json",
        kind: Kind::File,
        origin: Origin::V05,
        mode: PRIVATE_FILE,
        purpose: "the list of artifacts, version 1; replaced atomically",
    };

    /// `artifacts/.manifest.json.lock`: held around each change of it.
    pub const MANIFEST_LOCK: Entry = Entry {
        name: ".manifest.json.lock",
        kind: Kind::File,
        origin: Origin::Ours,
        mode: PRIVATE_FILE,
        purpose: "an flock held around each change of the artifacts manifest",
    };

    /// Every entry of `artifacts/` that is not an artifact.
    pub const ENTRIES: &[Entry] = &[MANIFEST, MANIFEST_LOCK];
}

/// The paths of a Home.
#[derive(Debug, Clone, Copy)]
pub struct HomeDir<'a> {
    root: &'a Path,
}

impl<'a> HomeDir<'a> {
    /// The Home at `root` (a resolved Home path).
    pub fn new(root: &'a Path) -> Self {
        HomeDir { root }
    }

    /// The Home itself.
    pub fn root(&self) -> &'a Path {
        self.root
    }

    /// `<home>/config.json`.
    pub fn config(&self) -> PathBuf {
        self.root.join(home::CONFIG.name)
    }

    /// `<home>/sessions`.
    pub fn sessions(&self) -> PathBuf {
        self.root.join(home::SESSIONS.name)
    }

    /// `<home>/sessions/<id>`: only through a checked id, so it never
    /// leaves `sessions/`.
    pub fn session(&self, id: &SessionId) -> PathBuf {
        self.sessions().join(id.as_str())
    }
}

/// The paths of a Session directory.
#[derive(Debug, Clone, Copy)]
pub struct SessionDir<'a> {
    dir: &'a Path,
}

impl<'a> SessionDir<'a> {
    /// The Session directory at `dir` (one [`HomeDir::session`] gave, or
    /// one a scan of `sessions/` found).
    pub fn new(dir: &'a Path) -> Self {
        SessionDir { dir }
    }

    /// The directory itself.
    pub fn dir(&self) -> &'a Path {
        self.dir
    }

    /// The path of `entry` in this directory.
    pub fn path(&self, entry: &Entry) -> PathBuf {
        self.dir.join(entry.name)
    }

    /// `session.json`.
    pub fn manifest(&self) -> PathBuf {
        self.path(&session::MANIFEST)
    }

    /// `session.json.lock`.
    pub fn manifest_lock(&self) -> PathBuf {
        self.path(&session::MANIFEST_LOCK)
    }

    /// `events.jsonl`.
    pub fn event_log(&self) -> PathBuf {
        self.path(&session::EVENT_LOG)
    }

    /// `run-exits.jsonl`.
    pub fn run_exits(&self) -> PathBuf {
        self.path(&session::RUN_EXITS)
    }

    /// `host.json`.
    pub fn sidecar(&self) -> PathBuf {
        self.path(&session::SIDECAR)
    }

    /// `host.lock`.
    pub fn host_lock(&self) -> PathBuf {
        self.path(&session::HOST_LOCK)
    }

    /// `host-record.json`.
    pub fn host_record(&self) -> PathBuf {
        self.path(&session::HOST_RECORD)
    }

    /// `reserved-space`.
    pub fn reserved_space(&self) -> PathBuf {
        self.path(&session::RESERVED_SPACE)
    }

    /// `control.lock`.
    pub fn control_lock(&self) -> PathBuf {
        self.path(&session::CONTROL_LOCK)
    }

    /// `control.json`.
    pub fn control(&self) -> PathBuf {
        self.path(&session::CONTROL)
    }

    /// `screen.checkpoint`.
    pub fn checkpoint(&self) -> PathBuf {
        self.path(&session::CHECKPOINT)
    }

    /// `artifacts/`.
    pub fn artifacts(&self) -> PathBuf {
        self.path(&session::ARTIFACTS)
    }

    /// `artifacts/manifest.json`.
    pub fn artifacts_manifest(&self) -> PathBuf {
        self.artifacts().join(artifacts::MANIFEST.name)
    }

    /// `artifacts/.manifest.json.lock`.
    pub fn artifacts_manifest_lock(&self) -> PathBuf {
        self.artifacts().join(artifacts::MANIFEST_LOCK.name)
    }
}

/// Whether `name`, found in a Session directory, is an entry this layout
/// declares, or a temporary file an atomic write of one leaves for a moment
/// (`.<name>.tmp-…`, `core::fsutil`).
pub fn is_session_entry(name: &str) -> bool {
    session::ENTRIES.iter().any(|e| e.matches(name)) || is_atomic_temp(name, session::ENTRIES)
}

/// `.<name>.tmp-…` for one of `entries`.
fn is_atomic_temp(name: &str, entries: &[Entry]) -> bool {
    name.strip_prefix('.')
        .and_then(|rest| rest.split_once(".tmp-"))
        .is_some_and(|(base, _)| entries.iter().any(|e| e.name == base))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The first column of the table under `heading` in docs/FORMATS.md:
    /// each backticked name (a row may name two, `control.lock`,
    /// `control.json`).
    fn documented(heading: &str) -> Vec<String> {
        let doc = include_str!("../../docs/FORMATS.md");
        let section = doc
            .split(heading)
            .nth(1)
            .unwrap_or_else(|| panic!("docs/FORMATS.md has {heading:?}"))
            .split("\n## ")
            .next()
            .unwrap();
        section
            .lines()
            .filter(|l| l.starts_with("| `"))
            .flat_map(|l| {
                let first = l.split('|').nth(1).unwrap();
                first
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn shown(entries: &[Entry]) -> Vec<String> {
        entries.iter().map(Entry::shown).collect()
    }

    #[test]
    fn formats_md_describes_exactly_the_session_directory_declared_here() {
        assert_eq!(
            documented("## A Session directory"),
            shown(session::ENTRIES),
            "docs/FORMATS.md's Session directory table and core/src/layout.rs differ"
        );
    }

    #[test]
    fn formats_md_describes_exactly_the_home_declared_here() {
        let mut declared = shown(home::ENTRIES);
        declared.extend(
            sessions::ENTRIES
                .iter()
                .map(|e| format!("{}/{}", home::SESSIONS.name, e.shown())),
        );
        assert_eq!(documented("## The Home"), declared);
    }

    #[test]
    fn formats_md_names_the_files_inside_artifacts() {
        let doc = include_str!("../../docs/FORMATS.md");
        let row = doc
            .lines()
            .find(|l| l.starts_with("| `artifacts/`"))
            .expect("an artifacts/ row");
        for entry in artifacts::ENTRIES {
            assert!(row.contains(entry.name), "{} is not in {row}", entry.name);
        }
    }

    #[test]
    fn names_are_unique_single_components() {
        for entries in [
            home::ENTRIES,
            sessions::ENTRIES,
            session::ENTRIES,
            artifacts::ENTRIES,
        ] {
            let names: BTreeSet<&str> = entries.iter().map(|e| e.name).collect();
            assert_eq!(names.len(), entries.len(), "{entries:?}");
            for e in entries {
                assert!(!e.name.is_empty() && !e.name.contains('/'), "{e:?}");
                assert!(!e.purpose.is_empty(), "{e:?}");
                if let Some(mode) = e.mode {
                    assert_eq!(mode & 0o022, 0, "{e:?} is writable by others");
                }
            }
        }
    }

    #[test]
    fn paths_are_built_under_their_directory() {
        let home = HomeDir::new(Path::new("/h"));
        let id = SessionId::new("01JD3Z6X8K4M2N5P7Q9R1S3T5V").unwrap();
        assert_eq!(home.config(), Path::new("/h/config.json"));
        let dir = home.session(&id);
        assert_eq!(dir, Path::new("/h/sessions/01JD3Z6X8K4M2N5P7Q9R1S3T5V"));
        let s = SessionDir::new(&dir);
        for (path, entry) in [
            (s.manifest(), session::MANIFEST),
            (s.manifest_lock(), session::MANIFEST_LOCK),
            (s.event_log(), session::EVENT_LOG),
            (s.run_exits(), session::RUN_EXITS),
            (s.sidecar(), session::SIDECAR),
            (s.host_lock(), session::HOST_LOCK),
            (s.host_record(), session::HOST_RECORD),
            (s.reserved_space(), session::RESERVED_SPACE),
            (s.control_lock(), session::CONTROL_LOCK),
            (s.control(), session::CONTROL),
            (s.checkpoint(), session::CHECKPOINT),
            (s.artifacts(), session::ARTIFACTS),
        ] {
            assert_eq!(path, dir.join(entry.name));
        }
        assert_eq!(
            s.artifacts_manifest_lock(),
            dir.join("artifacts/.manifest.json.lock")
        );
    }

    #[test]
    fn only_declared_names_and_their_atomic_temporaries_belong_in_a_session() {
        assert!(is_session_entry("events.jsonl"));
        assert!(is_session_entry(".session.json.tmp-123-4"));
        assert!(!is_session_entry(".stray.tmp-1"));
        assert!(!is_session_entry("notes.txt"));
        assert!(sessions::TOMBSTONE.matches(".tombstone-01JD-1-ff"));
    }
}
