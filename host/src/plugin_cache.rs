//! The plugin description cache: what each plugin library answered to
//! `describe`, keyed by the identity of its file, so that a command opens
//! only the plugins it uses (ADR 0010).
//!
//! Without it every invocation would `dlopen` and describe every plugin just
//! to build the command line, though `agent-tty list` needs one plugin and
//! `agent-tty version` none. nushell keeps plugin signatures in a registry
//! file for the same reason.
//!
//! The cache lives in `${XDG_CACHE_HOME:-~/.cache}/agent-tty/plugins.json`.
//! It is advisory: a missing, unreadable, malformed or untrusted cache is
//! ignored and the plugins are described afresh, and a cache that cannot be
//! written is not an error. Trusted means: the `agent-tty` directory passes
//! the Home's ownership rule (this user's or root's, writable by no one
//! else, not a symlink) and `plugins.json` is a regular file of this user's
//! that no one else can write, opened without following a symlink or
//! blocking (a FIFO planted there is refused, not waited on).
//!
//! An entry is used only while the library's device, inode, size,
//! modification time and change time are unchanged, and only by the
//! `agent-tty` build that wrote it (each entry records the host's version,
//! interface version and executable identity, so two installed builds keep
//! separate entries instead of evicting each other). Refusals are never
//! cached: why a library could not be opened may depend on the environment
//! (a missing dependency, a resource limit), so a refused library is tried
//! again by the next command. `agent-tty plugins` and `agent-tty doctor`
//! always describe every library afresh, and report a library whose fresh
//! answer differs from the one cached for the same unchanged file
//! ([`Described::drift`]): its description depends on something besides
//! the library, so the other commands may be using a stale one.
//!
//! A leaf: it stores and returns what a library said ([`Described`]); the
//! loader turns that into a plugin, and [`FileIdentity`] belongs to
//! discovery, which stats the files.

use crate::discovery::FileIdentity;
use agent_tty_core::safe_fs::DirFd;
use agent_tty_plugin_api::{Description, INTERFACE_VERSION};
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;
use serde::{Deserialize, Serialize};
use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Bumped whenever the file's shape changes; another value is ignored
/// (3: an entry's description nested under `described` instead of
/// flattened into it, which made serde buffer every entry as generic
/// content first: half of a command's start-up instructions).
const FORMAT: u32 = 3;
/// The cache file's name inside `${XDG_CACHE_HOME}/agent-tty`.
const FILE_NAME: &str = "plugins.json";
/// Temp files are `.plugins.json.tmp-<pid>-<n>` until renamed into place.
const TEMP_PREFIX: &str = ".plugins.json.tmp-";
/// A cache bigger than this is not read (a handful of plugins take ~30 KB).
const MAX_BYTES: u64 = 4 << 20;
/// Entries kept in all: those of the files this invocation found come first;
/// the rest (another `AGENT_TTY_PLUGIN_PATH`, another `agent-tty` build)
/// stay up to this many, so alternating setups do not evict each other.
const MAX_ENTRIES: usize = 64;

/// The `agent-tty` build an entry was made by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HostIdentity {
    version: String,
    interface_version: u32,
    exe: Option<FileIdentity>,
}

impl HostIdentity {
    fn current() -> Self {
        HostIdentity {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            interface_version: INTERFACE_VERSION,
            exe: std::env::current_exe()
                .ok()
                .and_then(|exe| FileIdentity::of(&exe)),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CacheFile {
    format: u32,
    plugins: Vec<Entry>,
}

/// What a library says of itself: the part of an entry that is the
/// plugin's, and what [`PluginCache::lookup`] gives back.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Described {
    pub name: String,
    pub version: String,
    pub interface_version: u32,
    pub description: Description,
}

impl Described {
    /// How this answer differs from `fresh`, a later answer of the same
    /// unchanged file, in words for a person (`None`: it does not). A
    /// description must depend on the library alone (docs/PLUGINS.md); one
    /// that changes with the environment makes the cache serve a stale one.
    pub fn drift(&self, fresh: &Described) -> Option<String> {
        let json = |d: &Description| serde_json::to_value(d).unwrap_or_default();
        let mut changed = Vec::new();
        if self.name != fresh.name {
            changed.push("name");
        }
        if self.version != fresh.version {
            changed.push("version");
        }
        if self.interface_version != fresh.interface_version {
            changed.push("interface version");
        }
        let (old, new) = (json(&self.description), json(&fresh.description));
        for key in [
            "commands",
            "groups",
            "capabilities",
            "panes",
            "permissions",
            "effects",
            "protocol",
        ] {
            if old.get(key) != new.get(key) {
                changed.push(key);
            }
        }
        (!changed.is_empty()).then(|| changed.join(", "))
    }
}

/// One library's `describe` answer, as one `agent-tty` build got it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    path: PathBuf,
    file: FileIdentity,
    host: HostIdentity,
    described: Described,
}

/// The cache as read at start-up, plus what this invocation learnt.
pub struct PluginCache {
    /// `${XDG_CACHE_HOME}/agent-tty`, when there is a base directory.
    dir: Option<PathBuf>,
    /// That directory as opened and trusted at start-up, so a save writes
    /// through the same descriptor instead of opening it again.
    opened: Option<DirFd>,
    host: HostIdentity,
    entries: Vec<Entry>,
    changed: bool,
}

impl PluginCache {
    /// Reads the cache from its usual place ([`PluginCache::location`]).
    pub fn open() -> Self {
        Self::in_dir(Self::location())
    }

    /// `${XDG_CACHE_HOME:-~/.cache}/agent-tty`, the directory that holds
    /// `plugins.json`, if there is a usable base directory.
    pub fn location() -> Option<PathBuf> {
        agent_tty_core::xdg::base_dir(agent_tty_core::xdg::CACHE).map(|dir| dir.join("agent-tty"))
    }

    /// Reads the cache in `dir`; anything unusable reads as empty.
    fn in_dir(dir: Option<PathBuf>) -> Self {
        let opened = dir.as_deref().and_then(trusted_dir);
        let entries = opened
            .as_ref()
            .and_then(read_trusted)
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|c| c.format == FORMAT)
            .map(|c| c.plugins)
            .unwrap_or_default();
        PluginCache {
            dir,
            opened,
            host: HostIdentity::current(),
            entries,
            changed: false,
        }
    }

    /// What the file at `path` whose identity is `file` said of itself, if
    /// this build of `agent-tty` described that very file before.
    pub fn lookup(&self, path: &Path, file: FileIdentity) -> Option<&Described> {
        self.entries
            .iter()
            .find(|e| e.path == path && e.file == file && e.host == self.host)
            .map(|e| &e.described)
    }

    /// Records what describing the file at `path` (identity `file`) gave.
    pub fn record(&mut self, path: &Path, file: FileIdentity, described: Described) {
        self.entries
            .retain(|e| !(e.path == path && e.host == self.host));
        self.entries.push(Entry {
            path: path.to_owned(),
            file,
            host: self.host.clone(),
            described,
        });
        self.changed = true;
    }

    /// Writes the cache back if this invocation learnt something, keeping
    /// this build's entries for `current` (the files found this time) first.
    /// Failing to write is not an error: the next invocation describes again.
    pub fn save(mut self, current: &[PathBuf]) {
        let Some(dir) = self.dir.take().filter(|_| self.changed) else {
            return;
        };
        // Only paths JSON can carry; a non-UTF-8 plugin path is simply
        // described every time.
        self.entries.retain(|e| e.path.to_str().is_some());
        let host = &self.host;
        self.entries
            .sort_by_key(|e| !(e.host == *host && current.contains(&e.path)));
        self.entries.truncate(MAX_ENTRIES.max(current.len()));
        let cache = CacheFile {
            format: FORMAT,
            plugins: self.entries,
        };
        let Ok(bytes) = serde_json::to_vec(&cache) else {
            return;
        };
        // The directory read at start-up, else (it did not exist) created now.
        let opened = self.opened.or_else(|| {
            agent_tty_core::fsutil::create_dir_all_private(&dir).ok()?;
            trusted_dir(&dir)
        });
        if let Some(dir) = opened {
            remove_abandoned_temp_files(&dir);
            let _ = replace(&dir, &bytes);
        }
    }
}

/// The cache directory, opened without following a symlink, if it passes
/// the ownership rule Homes pass ([`DirFd::check_trusted`]).
fn trusted_dir(path: &Path) -> Option<DirFd> {
    let dir = DirFd::open(path).ok()?;
    dir.check_trusted("the plugin cache directory").ok()?;
    Some(dir)
}

/// Opens `name` in `dir` with `flags` (always `O_NOFOLLOW | O_CLOEXEC`).
fn open_in(dir: &DirFd, name: &str, flags: OFlag, mode: u32) -> nix::Result<File> {
    let flags = flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let raw = openat(
        Some(dir.as_raw_fd()),
        OsStr::new(name),
        flags,
        Mode::from_bits_truncate(mode),
    )?;
    // SAFETY: `raw` was just opened and is owned by nothing else.
    Ok(unsafe { File::from_raw_fd(raw) })
}

/// The cache file's bytes, if it is a regular file of this user's that no
/// one else can write and of a sane size. Opened non-blocking, so a FIFO or
/// device planted at the name is refused rather than waited on.
fn read_trusted(dir: &DirFd) -> Option<Vec<u8>> {
    let file = open_in(dir, FILE_NAME, OFlag::O_RDONLY | OFlag::O_NONBLOCK, 0).ok()?;
    let meta = file.metadata().ok()?;
    let me = nix::unistd::geteuid().as_raw();
    if !meta.is_file() || meta.uid() != me || meta.mode() & 0o022 != 0 || meta.len() > MAX_BYTES {
        return None;
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_BYTES).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Writes `bytes` as the cache file: a new temp file in `dir`, renamed over
/// the old one, so a reader sees the old cache or the new, never a mix.
fn replace(dir: &DirFd, bytes: &[u8]) -> std::io::Result<()> {
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL;
    let pid = std::process::id();
    let (temp, mut file) = (0..16)
        .find_map(|n| {
            let temp = format!("{TEMP_PREFIX}{pid}-{n}");
            open_in(dir, &temp, flags, 0o600).ok().map(|f| (temp, f))
        })
        .ok_or_else(|| std::io::Error::other("no temp file name was free"))?;
    let written = file
        .write_all(bytes)
        .and_then(|()| dir.rename_child(&temp, FILE_NAME));
    if written.is_err() {
        let _ = dir.unlink_child(&temp);
    }
    written
}

/// Removes temp files left by a writer that was killed before its rename
/// (their process is gone).
fn remove_abandoned_temp_files(dir: &DirFd) {
    let Ok(names) = dir.names() else { return };
    for name in names {
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(TEMP_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        // ESRCH: no such process. EPERM means it exists (another user's).
        let gone = matches!(
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
            Err(nix::errno::Errno::ESRCH)
        );
        if gone {
            let _ = dir.unlink_child(&name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// `x` 1.2.3 with an empty description.
    fn described() -> Described {
        Described {
            name: "x".into(),
            version: "1.2.3".into(),
            interface_version: INTERFACE_VERSION,
            description: Description::default(),
        }
    }

    #[test]
    fn drift_names_what_changed() {
        let cached = described();
        assert_eq!(cached.drift(&described()), None);
        let mut fresh = described();
        fresh.description.permissions = vec!["sessions.reconcile".into()];
        fresh.version = "1.2.4".into();
        assert_eq!(
            cached.drift(&fresh).as_deref(),
            Some("version, permissions")
        );
    }

    /// A plugin file and a cache directory in a temp dir.
    struct Fixture {
        _tmp: tempfile::TempDir,
        plugin: PathBuf,
        dir: PathBuf,
    }

    impl Fixture {
        fn new() -> Self {
            let tmp = tempfile::tempdir().unwrap();
            let plugin = tmp.path().join("libagent_tty_plugin_x.so");
            std::fs::write(&plugin, b"v1").unwrap();
            let dir = tmp.path().join("cache").join("agent-tty");
            Fixture {
                plugin,
                dir,
                _tmp: tmp,
            }
        }

        fn id(&self) -> FileIdentity {
            FileIdentity::of(&self.plugin).unwrap()
        }

        fn file(&self) -> PathBuf {
            self.dir.join(FILE_NAME)
        }

        /// Records `x` 1.2.3 for the plugin file and saves.
        fn save(&self) {
            let mut cache = PluginCache::in_dir(Some(self.dir.clone()));
            cache.record(&self.plugin, self.id(), described());
            cache.save(std::slice::from_ref(&self.plugin));
        }

        fn hit(&self) -> bool {
            PluginCache::in_dir(Some(self.dir.clone()))
                .lookup(&self.plugin, self.id())
                .is_some_and(|p| p.name == "x" && p.version == "1.2.3")
        }
    }

    #[test]
    fn an_entry_is_used_while_the_file_and_the_host_are_unchanged() {
        let f = Fixture::new();
        f.save();
        assert_eq!(
            std::fs::metadata(f.file()).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(f.hit());

        // Another agent-tty build's entry is not this build's.
        let text = std::fs::read_to_string(f.file()).unwrap();
        let other = text.replace(env!("CARGO_PKG_VERSION"), "999.0.0");
        assert_ne!(text, other);
        std::fs::write(f.file(), other).unwrap();
        assert!(!f.hit());

        // Rewriting the library (even to the same size) changes its identity.
        f.save();
        assert!(f.hit());
        std::fs::write(&f.plugin, b"v2").unwrap();
        assert!(!f.hit());
    }

    #[rstest::rstest]
    #[case::world_writable_file(0o700, 0o666)]
    #[case::group_writable_file(0o700, 0o620)]
    #[case::group_writable_directory(0o770, 0o600)]
    #[case::world_writable_directory(0o777, 0o600)]
    fn a_cache_others_can_write_is_ignored_and_left_alone(
        #[case] dir_mode: u32,
        #[case] file_mode: u32,
    ) {
        let f = Fixture::new();
        f.save();
        let perms = |path: &Path, mode| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        perms(&f.file(), file_mode);
        perms(&f.dir, dir_mode);
        assert!(!f.hit());
        if dir_mode & 0o022 != 0 {
            // Not written into either.
            let before = std::fs::read(f.file()).unwrap();
            std::fs::write(&f.plugin, b"changed").unwrap();
            f.save();
            assert_eq!(std::fs::read(f.file()).unwrap(), before);
        }
    }

    #[test]
    fn symlinks_fifos_and_garbage_are_ignored() {
        let f = Fixture::new();
        f.save();
        let real = f.dir.with_file_name("real.json");
        std::fs::rename(f.file(), &real).unwrap();
        std::os::unix::fs::symlink(&real, f.file()).unwrap();
        assert!(!f.hit(), "a symlinked file");

        std::fs::remove_file(f.file()).unwrap();
        nix::unistd::mkfifo(&f.file(), Mode::from_bits_truncate(0o600)).unwrap();
        assert!(!f.hit(), "a FIFO is refused without blocking");

        std::fs::remove_file(f.file()).unwrap();
        std::fs::write(f.file(), b"{\"format\": 2, \"plugins\": [tru").unwrap();
        assert!(!f.hit(), "malformed");

        // A symlinked directory is not followed, for reading or writing.
        let elsewhere = f.dir.with_file_name("elsewhere");
        std::fs::rename(&f.dir, &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &f.dir).unwrap();
        std::fs::write(elsewhere.join(FILE_NAME), b"").unwrap();
        f.save();
        assert!(!f.hit());
        assert_eq!(std::fs::read(elsewhere.join(FILE_NAME)).unwrap(), b"");
    }

    #[test]
    fn a_cache_of_another_user_is_ignored() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIP: needs root to give the cache file to another user");
            return;
        }
        let f = Fixture::new();
        f.save();
        nix::unistd::chown(&f.file(), Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        assert!(!f.hit());
    }

    #[test]
    fn a_cache_that_cannot_be_written_is_not_an_error() {
        let f = Fixture::new();
        // The cache's directory would have to be created under a file.
        let blocker = f.dir.parent().unwrap().to_owned();
        std::fs::write(&blocker, b"").unwrap();
        f.save();
        assert_eq!(std::fs::read(&blocker).unwrap(), b"");
        assert!(!f.hit());
    }

    #[test]
    fn temp_files_of_killed_writers_are_removed_on_the_next_write() {
        let f = Fixture::new();
        f.save();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let abandoned = f.dir.join(format!("{TEMP_PREFIX}{dead}-0"));
        let live = f.dir.join(format!("{TEMP_PREFIX}1-0"));
        std::fs::write(&abandoned, b"{").unwrap();
        std::fs::write(&live, b"{").unwrap();
        std::fs::write(&f.plugin, b"v2").unwrap();
        f.save();
        assert!(!abandoned.exists());
        assert!(live.exists(), "pid 1 is alive: its file is left");
        assert!(f.hit());
    }
}
