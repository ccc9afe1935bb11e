//! The plugin description cache: what each plugin library answered to
//! `describe` (or why it was refused), keyed by the identity of its file, so
//! that a command opens only the plugins it uses (ADR 0010).
//!
//! Without it every invocation would `dlopen` and describe every plugin just
//! to build the command line, though `agent-tty list` needs one plugin and
//! `agent-tty version` none. nushell keeps plugin signatures in a registry
//! file for the same reason.
//!
//! The cache lives in `${XDG_CACHE_HOME:-~/.cache}/agent-tty/plugins.json`.
//! It is advisory: a missing, unreadable, malformed or untrusted cache (not a
//! regular file of this user's, or writable by others) is ignored and the
//! plugins are described afresh; a cache that cannot be written is not an
//! error. An entry is used only while the file's device, inode, size,
//! modification time and change time are unchanged and the `agent-tty`
//! binary is the same one that wrote it (its refusal reasons and interface
//! version are part of what is cached). Replacing or rebuilding a plugin
//! changes its identity, so the next command describes it again; `agent-tty
//! plugins` always describes every plugin afresh.

use crate::loader::{self, LoadedPlugin, RefusedPlugin};
use agent_tty_plugin_api::{Description, INTERFACE_VERSION};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Bumped whenever the file's shape changes; another value is ignored.
const FORMAT: u32 = 1;
/// A cache bigger than this is not read (a handful of plugins take ~30 KB).
const MAX_BYTES: u64 = 4 << 20;
/// Entries kept for plugin files this invocation did not find (another
/// `AGENT_TTY_PLUGIN_PATH`), so alternating setups do not evict each other.
const MAX_ENTRIES: usize = 64;

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileIdentity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl FileIdentity {
    /// The identity of the file at `path` (following symlinks, as `dlopen`
    /// does), or `None` when it cannot be read.
    pub fn of(path: &Path) -> Option<Self> {
        std::fs::metadata(path)
            .ok()
            .map(|m| Self::from_metadata(&m))
    }

    fn from_metadata(m: &std::fs::Metadata) -> Self {
        let ns = |secs: i64, nanos: i64| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
        FileIdentity {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: ns(m.mtime(), m.mtime_nsec()),
            ctime_ns: ns(m.ctime(), m.ctime_nsec()),
        }
    }
}

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
    host: HostIdentity,
    plugins: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    path: PathBuf,
    file: FileIdentity,
    outcome: Outcome,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Outcome {
    #[serde(rename_all = "camelCase")]
    Described {
        name: String,
        version: String,
        interface_version: u32,
        description: Description,
    },
    #[serde(rename_all = "camelCase")]
    Refused {
        name: Option<String>,
        version: Option<String>,
        interface_version: Option<u32>,
        reason: String,
    },
}

/// The cache as read at start-up, plus what this invocation learnt.
pub struct PluginCache {
    file: Option<PathBuf>,
    host: HostIdentity,
    entries: Vec<Entry>,
    changed: bool,
}

impl PluginCache {
    /// Reads the cache from its usual place ([`PluginCache::location`]).
    pub fn open() -> Self {
        Self::at(Self::location())
    }

    /// `${XDG_CACHE_HOME:-~/.cache}/agent-tty/plugins.json`, if there is a
    /// usable base directory.
    pub fn location() -> Option<PathBuf> {
        agent_tty_core::xdg::base_dir(agent_tty_core::xdg::CACHE)
            .map(|dir| dir.join("agent-tty").join("plugins.json"))
    }

    /// Reads the cache at `file`; anything unusable reads as empty.
    fn at(file: Option<PathBuf>) -> Self {
        let host = HostIdentity::current();
        let entries = file
            .as_deref()
            .and_then(read_trusted)
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|c| c.format == FORMAT && c.host == host)
            .map(|c| c.plugins)
            .unwrap_or_default();
        PluginCache {
            file,
            host,
            entries,
            changed: false,
        }
    }

    /// The cached outcome for the file at `path` whose identity is `file`.
    pub fn lookup(
        &self,
        path: &Path,
        file: FileIdentity,
    ) -> Option<Result<LoadedPlugin, RefusedPlugin>> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.path == path && e.file == file)?;
        Some(match entry.outcome.clone() {
            Outcome::Described {
                name,
                version,
                interface_version,
                description,
            } => Ok(loader::described(
                path.to_owned(),
                name,
                version,
                interface_version,
                description,
            )),
            Outcome::Refused {
                name,
                version,
                interface_version,
                reason,
            } => Err(RefusedPlugin {
                path: path.to_owned(),
                name,
                version,
                interface_version,
                reason,
            }),
        })
    }

    /// Records what describing (or refusing) the file at `path` gave.
    pub fn record(
        &mut self,
        path: &Path,
        file: FileIdentity,
        outcome: &Result<LoadedPlugin, RefusedPlugin>,
    ) {
        let outcome = match outcome {
            Ok(p) => Outcome::Described {
                name: p.name.clone(),
                version: p.version.clone(),
                interface_version: p.interface_version,
                description: p.description.clone(),
            },
            Err(r) => Outcome::Refused {
                name: r.name.clone(),
                version: r.version.clone(),
                interface_version: r.interface_version,
                reason: r.reason.clone(),
            },
        };
        self.entries.retain(|e| e.path != path);
        self.entries.push(Entry {
            path: path.to_owned(),
            file,
            outcome,
        });
        self.changed = true;
    }

    /// Writes the cache back if this invocation learnt something, keeping the
    /// entries of `current` (the files found this time) first. Failing to
    /// write is not an error: the next invocation describes again.
    pub fn save(mut self, current: &[PathBuf]) {
        let Some(file) = self.file.take().filter(|_| self.changed) else {
            return;
        };
        // Only paths JSON can carry; a non-UTF-8 plugin path is simply
        // described every time.
        self.entries.retain(|e| e.path.to_str().is_some());
        self.entries.sort_by_key(|e| !current.contains(&e.path));
        self.entries.truncate(MAX_ENTRIES.max(current.len()));
        let cache = CacheFile {
            format: FORMAT,
            host: self.host,
            plugins: self.entries,
        };
        let Ok(bytes) = serde_json::to_vec(&cache) else {
            return;
        };
        if let Some(dir) = file.parent() {
            if agent_tty_core::fsutil::create_dir_all_private(dir).is_err() {
                return;
            }
        }
        let _ = agent_tty_core::fsutil::write_atomic_unsynced(&file, &bytes, 0o600);
    }
}

/// The cache file's bytes, if it is a regular file of this user's that no
/// one else can write, not reached through a symlink, and of a sane size.
fn read_trusted(path: &Path) -> Option<Vec<u8>> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if !meta.is_file() || meta.uid() != euid || meta.mode() & 0o022 != 0 || meta.len() > MAX_BYTES {
        return None;
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn refused(path: &Path, reason: &str) -> Result<LoadedPlugin, RefusedPlugin> {
        Err(RefusedPlugin {
            path: path.to_owned(),
            name: Some("broken".into()),
            version: Some("9.9.9".into()),
            interface_version: Some(99),
            reason: reason.into(),
        })
    }

    /// A cache in a temp dir with one recorded refusal of `plugin`.
    fn saved(dir: &Path, plugin: &Path) -> PathBuf {
        let file = dir.join("cache").join("agent-tty").join("plugins.json");
        let mut cache = PluginCache::at(Some(file.clone()));
        let id = FileIdentity::of(plugin).unwrap();
        cache.record(plugin, id, &refused(plugin, "too new"));
        cache.save(&[plugin.to_owned()]);
        file
    }

    #[test]
    fn an_entry_is_used_while_the_file_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = dir.path().join("libagent_tty_plugin_x.so");
        std::fs::write(&plugin, b"v1").unwrap();
        let file = saved(dir.path(), &plugin);
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );

        let cache = PluginCache::at(Some(file.clone()));
        let hit = cache.lookup(&plugin, FileIdentity::of(&plugin).unwrap());
        let Some(Err(r)) = hit else {
            panic!("the refusal is cached")
        };
        assert_eq!(
            (r.reason.as_str(), r.interface_version),
            ("too new", Some(99))
        );

        // Rewriting the file (even to the same size) changes its identity.
        std::fs::write(&plugin, b"v2").unwrap();
        let cache = PluginCache::at(Some(file));
        assert!(cache
            .lookup(&plugin, FileIdentity::of(&plugin).unwrap())
            .is_none());
    }

    #[test]
    fn an_untrusted_or_malformed_cache_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = dir.path().join("libagent_tty_plugin_x.so");
        std::fs::write(&plugin, b"v1").unwrap();
        let file = saved(dir.path(), &plugin);
        let id = FileIdentity::of(&plugin).unwrap();

        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(PluginCache::at(Some(file.clone()))
            .lookup(&plugin, id)
            .is_none());

        let link = dir.path().join("link.json");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(PluginCache::at(Some(link)).lookup(&plugin, id).is_none());

        std::fs::write(&file, b"{not json").unwrap();
        assert!(PluginCache::at(Some(file)).lookup(&plugin, id).is_none());
    }

    #[test]
    fn a_cache_that_cannot_be_written_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = dir.path().join("libagent_tty_plugin_x.so");
        std::fs::write(&plugin, b"v1").unwrap();
        // The cache's directory would have to be created under a file.
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, b"").unwrap();
        let mut cache = PluginCache::at(Some(blocker.join("agent-tty").join("plugins.json")));
        let id = FileIdentity::of(&plugin).unwrap();
        cache.record(&plugin, id, &refused(&plugin, "x"));
        cache.save(&[plugin]);
        assert!(blocker.is_file());
    }
}
