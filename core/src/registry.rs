//! The Home Registry: the per-machine file `homes.json` that remembers every
//! Home which has hosted a Session.
//!
//! The registry is *advisory*. The Home directories are the source of truth;
//! the file only says where to look. That decides most of the design:
//!
//! - **Location** ([`registry_path`]) comes from the OS user, never from
//!   `AGENT_TTY_HOME`: the registry spans Homes, so it cannot live in one.
//! - **Format** is byte-compatible with agent-tty 0.5:
//!   `{"version": 1, "homes": [{"path", "lastSeenAt"}]}`, 2-space indent,
//!   trailing newline, newest `lastSeenAt` first. Either tool reads the other's.
//! - **Readers take no lock** ([`HomeRegistry::read`]) and never write: a
//!   listing must stay cheap and can never make anything worse. A file that is
//!   missing, unreadable or corrupt reads as an empty registry, with a note.
//! - **Every read-modify-write holds an exclusive lock** on the sidecar
//!   `homes.json.lock` ([`HomeRegistry::update`]). agent-tty 0.5 read, changed
//!   and wrote the file without one and kept only 6–7 of 32 Homes created in
//!   parallel. The wait is bounded: after [`DEFAULT_LOCK_WAIT`] the update
//!   fails with `STORAGE_WRITE_ERROR` rather than hanging a `create`. On a
//!   filesystem that cannot lock at all, the update carries on unlocked (the
//!   write itself is still atomic).
//! - **Read as a Home file is** ([`crate::safe_fs::read_home_file`]): never
//!   through a symlink, never blocking (a FIFO, device or socket is refused
//!   without being opened), at most [`REGISTRY_READ_LIMIT`] bytes. A file
//!   refused so reads as empty with a warning, and every update fails on it
//!   (`STORAGE_READ_ERROR`) rather than write over the Homes it may hold.
//! - **Robust reading**: entries are parsed one by one and only malformed ones
//!   are dropped; unknown top-level keys are ignored (and kept on rewrite). A
//!   file that is not a registry at all is moved aside to
//!   `homes.json.corrupt-<timestamp>` by the next update, never silently
//!   overwritten, and the registry starts again empty. Homes re-register on
//!   their next `create`, so losing the file costs little.

use crate::error::{Error, Result};
use crate::fsutil;
use crate::home::canonical_path;
use crate::time::{format_iso, parse_iso};
use agent_tty_protocol::{ErrorCode, PluginError};
use fs4::fs_std::FileExt;
use serde_json::{Map, Value};
use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// The registry's file name.
pub const REGISTRY_FILE: &str = "homes.json";
/// The sidecar file every read-modify-write locks.
pub const LOCK_FILE: &str = "homes.json.lock";
/// The only format version this tool writes.
pub const FORMAT_VERSION: u64 = 1;
/// How long an update waits for another process's update before giving up.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(5);
/// The largest registry read, 16 MiB. An entry is about 80 bytes plus its
/// path (the layout this tool writes), so this holds over 100,000 Homes
/// at typical path lengths, and 4,000 even if every path were `PATH_MAX`
/// (4,096 bytes) long: no registry this tool writes comes near it. A
/// bigger file is refused from its size before anything is allocated (a
/// 200 MB one cost 211 MB of memory before), reads as empty with a
/// warning, and is never rewritten (see [`HomeRegistry::update`]).
pub const REGISTRY_READ_LIMIT: u64 = 16 << 20;

/// Where the registry lives: `$XDG_STATE_HOME/agent-tty/homes.json` when
/// `XDG_STATE_HOME` is set, non-empty and absolute (the XDG spec says a
/// relative value is invalid and must be ignored), else
/// `<user dir>/.local/state/agent-tty/homes.json`.
///
/// A pure function of the two values so that callers and tests inject them;
/// [`registry_path_from_env`] reads the real ones. The path is built here
/// rather than taken from a "state dir" crate because macOS has no XDG state
/// directory and those crates answer something else there.
pub fn registry_path(xdg_state_home: Option<&OsStr>, user_dir: Option<&Path>) -> Option<PathBuf> {
    let state = crate::xdg::resolve(xdg_state_home, user_dir, crate::xdg::STATE.1)?;
    Some(state.join("agent-tty").join(REGISTRY_FILE))
}

/// [`registry_path`] over this process's `XDG_STATE_HOME` and `HOME`.
pub fn registry_path_from_env() -> Option<PathBuf> {
    registry_path(
        std::env::var_os("XDG_STATE_HOME").as_deref(),
        std::env::var_os("HOME").as_deref().map(Path::new),
    )
}

/// One registered Home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeEntry {
    /// The Home's canonical path.
    pub path: String,
    /// When a Session was last created in it (ISO-8601 UTC, as stored).
    pub last_seen_at: String,
}

impl HomeEntry {
    /// `lastSeenAt` as a time. Entries with an unparseable one never get this
    /// far (they are dropped as malformed), so this falls back to the epoch
    /// only for entries built by hand.
    pub fn last_seen(&self) -> SystemTime {
        parse_iso(&self.last_seen_at).unwrap_or(SystemTime::UNIX_EPOCH)
    }

    fn from_json(value: &Value) -> Option<HomeEntry> {
        HomeEntry::checked(
            value.get("path")?.as_str()?,
            value.get("lastSeenAt")?.as_str()?,
        )
    }

    /// The entry, if it is well-formed: an absolute path and a time.
    fn checked(path: &str, last_seen_at: &str) -> Option<HomeEntry> {
        if !Path::new(path).is_absolute() || parse_iso(last_seen_at).is_none() {
            return None;
        }
        Some(HomeEntry {
            path: path.to_owned(),
            last_seen_at: last_seen_at.to_owned(),
        })
    }
}

/// What a lock-free read found.
#[derive(Debug, Clone, Default)]
pub struct RegistryRead {
    /// The entries, newest `lastSeenAt` first, one per path.
    pub homes: Vec<HomeEntry>,
    /// Why the file read as (partly) empty, for a warning: unreadable,
    /// corrupt, or some entries malformed. `None` when all was well or the
    /// file simply does not exist yet.
    pub problem: Option<String>,
}

/// The parsed file, with what must survive a rewrite.
#[derive(Debug, Clone, Default)]
struct Contents {
    homes: Vec<HomeEntry>,
    /// Top-level keys other than `version` and `homes`, kept on rewrite so a
    /// newer tool's additions survive an update by this one.
    extra: Map<String, Value>,
    dropped: usize,
    version: Option<u64>,
}

/// Why bytes are not a registry.
#[derive(Debug)]
struct Corrupt(String);

/// Reads the registry file's bytes.
///
/// A file of exactly `version` and `homes` (every file agent-tty and 0.5
/// write) is read by [`parse_plain`], without a tree of [`Value`]s, which
/// cost `home list` of a thousand Homes more than its whole answer (ADR
/// 0023); anything else, and every error, is read by [`parse_tree`], so
/// the answer is the same either way.
fn parse(bytes: &[u8]) -> std::result::Result<Contents, Corrupt> {
    parse_plain(bytes).map_or_else(|| parse_tree(bytes), Ok)
}

/// [`parse`] of any file, through a tree of [`Value`]s.
fn parse_tree(bytes: &[u8]) -> std::result::Result<Contents, Corrupt> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| Corrupt(format!("not valid JSON ({e})")))?;
    let Value::Object(mut top) = value else {
        return Err(Corrupt("not a JSON object".into()));
    };
    let version = match top.remove("version") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| Corrupt(format!("\"version\" is {v}, not a number")))?,
        ),
    };
    let raw = match top.remove("homes") {
        None => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(Corrupt(format!("\"homes\" is {other}, not a list"))),
    };
    let (homes, dropped) = checked_entries(raw.iter().map(HomeEntry::from_json));
    Ok(Contents {
        homes,
        extra: top,
        dropped,
        version,
    })
}

/// [`parse`] of a file whose top level holds `version` (a whole number)
/// and `homes` (a list of objects of `path` and `lastSeenAt`), and nothing
/// else: the entries are checked as they are read, with no tree of
/// [`Value`]s built. `None` for any other file, or any error (an unknown or
/// repeated key, a `null`, invalid JSON), which [`parse`] then reads as a
/// tree, so the answer never depends on which road a file took.
fn parse_plain(bytes: &[u8]) -> Option<Contents> {
    /// The top level; its keys as they must be.
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Plain<'a> {
        #[serde(default)]
        version: Given<u64>,
        #[serde(default, borrow)]
        homes: Given<Vec<Objects<Entry<'a>>>>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Entry<'a> {
        #[serde(borrow)]
        path: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow)]
        last_seen_at: Option<std::borrow::Cow<'a, str>>,
    }
    /// A key that, when present, holds a `T` (`null` is not one).
    struct Given<T>(Option<T>);
    impl<T> Default for Given<T> {
        fn default() -> Self {
            Given(None)
        }
    }
    impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Given<T> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            T::deserialize(d).map(|v| Given(Some(v)))
        }
    }
    /// A `T` read from a JSON object only (serde would take a list too).
    struct Objects<T>(T);
    impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Objects<T> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            struct Only<T>(std::marker::PhantomData<T>);
            impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Only<T> {
                type Value = T;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    map: A,
                ) -> std::result::Result<T, A::Error> {
                    T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                }
            }
            d.deserialize_map(Only(std::marker::PhantomData))
                .map(Objects)
        }
    }

    let Objects(plain) = serde_json::from_slice::<Objects<Plain>>(bytes).ok()?;
    let items = plain.homes.0.unwrap_or_default();
    let (homes, dropped) = checked_entries(items.iter().map(|Objects(entry)| {
        HomeEntry::checked(entry.path.as_deref()?, entry.last_seen_at.as_deref()?)
    }));
    Some(Contents {
        homes,
        extra: Map::new(),
        dropped,
        version: plain.version.0,
    })
}

/// The well-formed entries, newest first and one per path, and how many
/// were dropped as malformed.
fn checked_entries(
    items: impl ExactSizeIterator<Item = Option<HomeEntry>>,
) -> (Vec<HomeEntry>, usize) {
    let mut homes: Vec<HomeEntry> = Vec::with_capacity(items.len());
    let mut dropped = 0;
    for item in items {
        match item {
            Some(entry) => homes.push(entry),
            None => dropped += 1,
        }
    }
    sort_and_dedupe(&mut homes);
    (homes, dropped)
}

/// Newest first; where a path appears twice the newer entry wins.
fn sort_and_dedupe(homes: &mut Vec<HomeEntry>) {
    homes.sort_by_cached_key(|h| std::cmp::Reverse(h.last_seen()));
    let mut seen = std::collections::HashSet::with_capacity(homes.len());
    homes.retain(|h| seen.insert(h.path.clone()));
}

/// The file's bytes for these entries: 0.5's layout exactly.
fn render(homes: &[HomeEntry], extra: &Map<String, Value>) -> Vec<u8> {
    let mut top = Map::new();
    top.insert("version".into(), Value::from(FORMAT_VERSION));
    let list = homes
        .iter()
        .map(|h| {
            let mut entry = Map::new();
            entry.insert("path".into(), Value::from(h.path.clone()));
            entry.insert("lastSeenAt".into(), Value::from(h.last_seen_at.clone()));
            Value::Object(entry)
        })
        .collect();
    top.insert("homes".into(), Value::Array(list));
    for (k, v) in extra {
        top.insert(k.clone(), v.clone());
    }
    let mut bytes =
        serde_json::to_vec_pretty(&Value::Object(top)).expect("plain JSON always serialises");
    bytes.push(b'\n');
    bytes
}

/// The Home Registry store: one file, one lock. The registry plugin, gc and
/// the dashboard's Home picker all go through this type.
#[derive(Debug, Clone)]
pub struct HomeRegistry {
    file: PathBuf,
    lock_wait: Duration,
}

impl HomeRegistry {
    /// The registry stored in `file`.
    pub fn new(file: PathBuf) -> Self {
        HomeRegistry {
            file,
            lock_wait: DEFAULT_LOCK_WAIT,
        }
    }

    /// The registry of this process's user ([`registry_path_from_env`]).
    pub fn from_env() -> Result<Self> {
        registry_path_from_env().map(Self::new).ok_or_else(|| {
            Error::invalid(
                ErrorCode::InvalidInput,
                "cannot locate the Home Registry: neither XDG_STATE_HOME nor HOME is an \
                 absolute path; set XDG_STATE_HOME=/absolute/dir",
            )
        })
    }

    /// Changes how long an update waits for the lock.
    pub fn with_lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// The `homes.json` path.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The `homes.json.lock` path.
    pub fn lock_file(&self) -> PathBuf {
        self.file.with_file_name(LOCK_FILE)
    }

    /// Reads the registry without a lock and without writing anything. A
    /// missing, unreadable or corrupt file reads as empty (the registry is
    /// advisory); [`RegistryRead::problem`] says why.
    pub fn read(&self) -> RegistryRead {
        let bytes = match crate::safe_fs::read_home_file(&self.file, REGISTRY_READ_LIMIT) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return RegistryRead::default(),
            Err(e) => {
                return RegistryRead {
                    homes: Vec::new(),
                    problem: Some(format!(
                        "the Home Registry {} could not be read ({e}); listing no Homes, and \
                         it is left as it is (no Home is registered or forgotten until it is \
                         fixed or moved away)",
                        self.file.display()
                    )),
                }
            }
        };
        match parse(&bytes) {
            Ok(contents) => RegistryRead {
                problem: (contents.dropped > 0).then(|| {
                    format!(
                        "the Home Registry {} has {} malformed entr{} that {} ignored",
                        self.file.display(),
                        contents.dropped,
                        if contents.dropped == 1 { "y" } else { "ies" },
                        if contents.dropped == 1 { "was" } else { "were" },
                    )
                }),
                homes: contents.homes,
            },
            Err(Corrupt(why)) => RegistryRead {
                homes: Vec::new(),
                problem: Some(format!(
                    "the Home Registry {} is {why}; it reads as empty and the next \
                     registration moves it aside and starts a new one",
                    self.file.display()
                )),
            },
        }
    }

    /// Reads, changes and writes the registry under the exclusive lock.
    ///
    /// `change` sees the current entries (newest first) and may edit them
    /// freely; whatever it decides is decided *under the lock*, so a caller
    /// such as gc can re-check a Home on disk inside `change` and know no
    /// other update slips in between. The file is rewritten only when the
    /// entries changed, sorted newest first.
    ///
    /// A corrupt file is moved aside first. An unreadable one, or one written
    /// by a newer format version, is left alone and the update fails: writing
    /// over it would lose Homes this tool cannot see.
    pub fn update<T>(&self, change: impl FnOnce(&mut Vec<HomeEntry>) -> Result<T>) -> Result<T> {
        let _lock = self.lock()?;
        let contents = self.read_for_update()?;
        let mut homes = contents.homes.clone();
        let value = change(&mut homes)?;
        sort_and_dedupe(&mut homes);
        if homes != contents.homes {
            let bytes = render(&homes, &contents.extra);
            fsutil::write_atomic(&self.file, &bytes, 0o600)
                .map_err(|e| Error::write(&self.file, e))?;
        }
        Ok(value)
    }

    /// Checks, before anything irreversible is done, that the registry can
    /// be updated now: its lock can be taken, its content is one this
    /// version may rewrite, and its directory has room for a rewrite (the
    /// file is rewritten in place with its own bytes, atomically, which
    /// fails on a full disk exactly as a real update would). gc calls this
    /// before it deletes anything, so a registry it could not update is an
    /// error up front, not after Sessions are gone.
    pub fn check_updatable(&self) -> Result<()> {
        let _lock = self.lock()?;
        let Some(bytes) = self.read_bytes()? else {
            return Ok(());
        };
        // A corrupt file was just moved aside: nothing is left to rewrite.
        if self.contents_for_update(&bytes)?.is_some() {
            fsutil::write_atomic(&self.file, &bytes, 0o600)
                .map_err(|e| Error::write(&self.file, e))?;
        }
        Ok(())
    }

    /// Registers `home` (in canonical form), or refreshes its `lastSeenAt`.
    pub fn register(&self, home: &Path) -> Result<()> {
        self.register_at(home, SystemTime::now())
    }

    /// [`HomeRegistry::register`] with an injected clock.
    pub fn register_at(&self, home: &Path, now: SystemTime) -> Result<()> {
        let path = canonical_path(home).to_string_lossy().into_owned();
        let last_seen_at = format_iso(now);
        self.update(|homes| {
            homes.retain(|h| h.path != path);
            homes.insert(0, HomeEntry { path, last_seen_at });
            Ok(())
        })
    }

    /// Removes `home`'s entry, matching both its normalised and its canonical
    /// (symlink-resolved) form. Touches nothing but the registry file; returns
    /// whether an entry was removed.
    pub fn forget(&self, home: &Path) -> Result<bool> {
        let canonical = canonical_path(home).to_string_lossy().into_owned();
        let normal = crate::home::normalise(home).to_string_lossy().into_owned();
        self.update(|homes| {
            let before = homes.len();
            homes.retain(|h| h.path != canonical && h.path != normal);
            Ok(homes.len() != before)
        })
    }

    fn read_for_update(&self) -> Result<Contents> {
        let Some(bytes) = self.read_bytes()? else {
            return Ok(Contents::default());
        };
        Ok(self.contents_for_update(&bytes)?.unwrap_or_default())
    }

    /// The file's bytes, `None` when there is no file. A file refused by
    /// [`crate::safe_fs::read_home_file`] (a FIFO, a symlink, one over
    /// [`REGISTRY_READ_LIMIT`]) is an error, so no update ever writes over
    /// it and loses the Homes it may hold.
    fn read_bytes(&self) -> Result<Option<Vec<u8>>> {
        match crate::safe_fs::read_home_file(&self.file, REGISTRY_READ_LIMIT) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::read(&self.file, e)),
        }
    }

    /// [`read_for_update`](Self::read_for_update)'s verdict on bytes read
    /// under the lock: `None` when they were corrupt and the file has been
    /// moved aside.
    fn contents_for_update(&self, bytes: &[u8]) -> Result<Option<Contents>> {
        match parse(bytes) {
            Ok(contents) => match contents.version {
                Some(v) if v != FORMAT_VERSION => Err(PluginError::new(
                    ErrorCode::StorageWriteError,
                    format!(
                        "the Home Registry {} is format version {v}, written by a newer \
                         agent-tty; this one only writes version {FORMAT_VERSION}, so it \
                         leaves the file alone. Upgrade agent-tty, or move the file away \
                         to start a new registry",
                        self.file.display()
                    ),
                )
                .with_details(serde_json::json!({ "path": self.file }))
                .into()),
                _ => Ok(Some(contents)),
            },
            Err(Corrupt(_)) => {
                self.move_aside()?;
                Ok(None)
            }
        }
    }

    /// Renames a corrupt file to `homes.json.corrupt-<timestamp>` (never over
    /// an earlier one), so whatever it held can still be inspected.
    fn move_aside(&self) -> Result<PathBuf> {
        let stamp = format_iso(SystemTime::now()).replace(':', "-");
        let mut target = self
            .file
            .with_file_name(format!("{REGISTRY_FILE}.corrupt-{stamp}"));
        let mut n = 1;
        while target.exists() {
            target = self
                .file
                .with_file_name(format!("{REGISTRY_FILE}.corrupt-{stamp}-{n}"));
            n += 1;
        }
        std::fs::rename(&self.file, &target).map_err(|e| Error::write(&self.file, e))?;
        Ok(target)
    }

    /// Takes the exclusive lock, polling so the wait is bounded; `None` when
    /// the filesystem cannot lock at all. The lock is released when the
    /// returned file is dropped.
    fn lock(&self) -> Result<Option<File>> {
        let lock_path = self.lock_file();
        if let Some(dir) = lock_path.parent() {
            fsutil::create_dir_all_private(dir).map_err(|e| Error::write(dir, e))?;
        }
        let file = fsutil::open_lock_file(&lock_path).map_err(|e| Error::write(&lock_path, e))?;
        let deadline = Instant::now() + self.lock_wait;
        let mut pause = Duration::from_millis(1);
        loop {
            match FileExt::try_lock_exclusive(&file) {
                Ok(true) => return Ok(Some(file)),
                Ok(false) if Instant::now() < deadline => {
                    std::thread::sleep(pause + jitter(pause));
                    pause = (pause * 2).min(Duration::from_millis(16));
                }
                Ok(false) => {
                    return Err(PluginError::new(
                        ErrorCode::StorageWriteError,
                        format!(
                            "the Home Registry is locked by another agent-tty process \
                             (waited {:.1}s for {}); try again, and if it persists look \
                             for a hung agent-tty process holding that lock",
                            self.lock_wait.as_secs_f64(),
                            lock_path.display()
                        ),
                    )
                    .with_details(serde_json::json!({ "path": lock_path }))
                    .into())
                }
                Err(e) if cannot_lock(&e) => return Ok(None),
                Err(e) => return Err(Error::write(&lock_path, e)),
            }
        }
    }
}

/// Whether a lock error means "this filesystem has no locks" (some network
/// and FUSE filesystems) rather than a real failure.
fn cannot_lock(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOLCK | libc::EOPNOTSUPP | libc::ENOSYS | libc::EINVAL)
    ) || e.kind() == std::io::ErrorKind::Unsupported
}

/// Up to `pause` of extra sleep, so that many waiting processes do not retry
/// in lock-step.
fn jitter(pause: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0) as u64
        ^ u64::from(std::process::id());
    Duration::from_nanos(nanos % (pause.as_nanos() as u64).max(1))
}

#[cfg(test)]
mod tests;
