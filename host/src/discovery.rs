//! Where plugins are looked for, in order; the first plugin of a name wins.
//!
//! 1. `AGENT_TTY_PLUGIN_PATH` (colon-separated directories or library files,
//!    each absolute: a relative entry is refused, never resolved against
//!    the current directory),
//! 2. the executable's directory and its `plugins/` subdirectory (so
//!    `target/release/agent-tty` finds the plugins `cargo build` put beside it),
//! 3. `<exe dir>/../lib/agent-tty/plugins`, where `scripts/install.sh` puts
//!    them (`PREFIX/bin/agent-tty` and `PREFIX/lib/agent-tty/plugins/`),
//! 4. `${XDG_DATA_HOME:-~/.local/share}/agent-tty/plugins`.
//!
//! In a directory only files named `libagent_tty_plugin_*.so` (`.dylib` on
//! macOS) count, so unrelated libraries beside the binary are never opened. A
//! file named explicitly on `AGENT_TTY_PLUGIN_PATH` is tried whatever its name.
//!
//! Each directory and library must pass the trust rule Homes pass (see
//! [`candidates`]); one that does not is refused, with the reason, and never
//! opened.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The file-name prefix and suffix of plugin libraries in searched directories.
pub const PLUGIN_PREFIX: &str = "libagent_tty_plugin_";
#[cfg(target_os = "macos")]
pub const PLUGIN_SUFFIX: &str = ".dylib";
#[cfg(not(target_os = "macos"))]
pub const PLUGIN_SUFFIX: &str = ".so";

/// The directories and files searched, in order.
pub fn search_path() -> Vec<PathBuf> {
    let mut entries = Vec::new();
    if let Some(list) = std::env::var_os("AGENT_TTY_PLUGIN_PATH") {
        entries.extend(std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()));
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_owned))
    {
        let plugins = dir.join("plugins");
        let installed = dir.join("../lib/agent-tty/plugins");
        entries.extend([dir, plugins, installed]);
    }
    if let Some(data) = agent_tty_core::xdg::base_dir(agent_tty_core::xdg::DATA) {
        entries.push(data.join("agent-tty").join("plugins"));
    }
    entries
}

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

    /// The identity an `lstat`/`stat` answer describes.
    pub fn from_stat(st: &nix::sys::stat::FileStat) -> Self {
        let ns = |secs: i64, nanos: i64| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
        FileIdentity {
            dev: st.st_dev,
            ino: st.st_ino,
            size: st.st_size as u64,
            mtime_ns: ns(st.st_mtime, st.st_mtime_nsec),
            ctime_ns: ns(st.st_ctime, st.st_ctime_nsec),
        }
    }

    /// The identity `m` describes (metadata already fetched).
    pub fn from_metadata(m: &std::fs::Metadata) -> Self {
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

/// A library found on the search path, with the identity of the file as
/// the search saw it: the stat that found it a regular file is the one the
/// description cache is keyed by, so the file is not stat-ed again, and the
/// one the loader holds the file it opens to ([`crate::loader`]).
#[derive(Clone)]
pub struct Candidate {
    /// Where it was found (as the search path names it, for people).
    pub path: PathBuf,
    /// The file that was checked: an absolute path with no symlink in it.
    /// The loader opens this, never `path`, whose links could lead
    /// elsewhere by then.
    pub real: PathBuf,
    /// The file's identity when it was found.
    pub identity: FileIdentity,
}

/// A library the search will not open, and why.
pub struct Refusal {
    /// The library (or the directory, for one named on the path).
    pub path: PathBuf,
    /// A sentence naming what is wrong and how to fix it.
    pub reason: String,
}

/// What the search found: the libraries that may be opened, in search
/// order and each file once, and those that may not.
#[derive(Default)]
pub struct Found {
    pub candidates: Vec<Candidate>,
    pub refused: Vec<Refusal>,
}

/// Every candidate library, in search order, each file once; and every
/// library refused by the trust rule, never opened.
///
/// Plugins run as the user, inside every command and every Session host,
/// so they are trusted as Homes are (`agent_tty_core::safe_fs`, one rule):
/// a searched directory, and each library, must be owned by the user or
/// root and writable by no one else, and neither may be reached through a
/// symlink another user controls. A library in a directory anyone may
/// write (a copy of agent-tty in `/tmp`, a shared `XDG_DATA_HOME`) could
/// have been planted there; it is listed as refused with the reason, and
/// its file is never opened, let alone `dlopen`ed.
pub fn candidates(search_path: &[PathBuf]) -> Found {
    let mut seen = HashSet::new();
    let mut found = Found::default();
    for entry in search_path {
        let files = match search_entry(entry) {
            Ok(files) => files,
            Err(refusals) => {
                found.refused.extend(refusals);
                continue;
            }
        };
        for file in files {
            match file {
                Ok(file) => {
                    if seen.insert(file.real.clone()) {
                        found.candidates.push(file);
                    }
                }
                Err(refusal) => found.refused.push(refusal),
            }
        }
    }
    found
}

/// The libraries of one search-path entry (a directory, or a library named
/// on `AGENT_TTY_PLUGIN_PATH`), each accepted or refused; `Err` when the
/// whole entry is refused. A missing entry has none.
fn search_entry(entry: &Path) -> Result<Vec<Result<Candidate, Refusal>>, Vec<Refusal>> {
    use agent_tty_core::safe_fs;
    let refuse = |path: &Path, reason: String| Refusal {
        path: path.to_owned(),
        reason,
    };
    if !entry.is_absolute() {
        // Resolved against the current directory, a relative entry would
        // let whatever directory agent-tty runs in (a checked-out
        // repository, an unpacked archive) decide what code runs.
        return Err(vec![refuse(
            entry,
            format!(
                "AGENT_TTY_PLUGIN_PATH entry {} is relative; ignored: plugins are looked \
                 for only at absolute paths, so the current directory never decides what \
                 runs. Give it as an absolute path (e.g. \"$PWD/{}\")",
                agent_tty_core::text::escape_path(entry),
                agent_tty_core::text::escape_path(entry)
            ),
        )]);
    }
    let real = match safe_fs::resolve_trusted_symlinks(entry, "the plugin search path entry") {
        Ok(real) => real,
        Err(u) => return Err(vec![refuse(entry, u.reason)]),
    };
    let Ok(st) = nix::sys::stat::lstat(&real) else {
        return Ok(Vec::new());
    };
    if !safe_fs::is_dir(&st) {
        // A library named on the path: it and its directory are checked.
        return Ok(vec![library(entry, &real)]);
    }
    let Ok(dir) = safe_fs::DirFd::open(&real) else {
        return Ok(Vec::new());
    };
    let mut names: Vec<std::ffi::OsString> = dir
        .names()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| {
            n.to_str()
                .is_some_and(|n| n.starts_with(PLUGIN_PREFIX) && n.ends_with(PLUGIN_SUFFIX))
        })
        .collect();
    names.sort();
    if let Err(u) = dir
        .check_trusted("the plugin directory")
        .and_then(|()| safe_fs::check_ancestors(&real, "the plugin directory"))
    {
        // Only worth a line when it holds something that looks like a plugin.
        return Err(names
            .iter()
            .map(|n| {
                let path = entry.join(n);
                let reason = format!("{} was not opened: {}", path.display(), u.reason);
                refuse(&path, reason)
            })
            .collect());
    }
    Ok(names
        .iter()
        .map(|name| {
            let path = entry.join(name);
            match dir.stat_child(name) {
                // A link (a development setup linking built libraries) is
                // followed only where no one else controls it, and leads to
                // a library checked with its own directory.
                Ok(st) if safe_fs::is_symlink(&st) => {
                    safe_fs::resolve_trusted_symlinks(&path, "the plugin library")
                        .map_err(|u| refuse(&path, u.reason))
                        .and_then(|real| library(&path, &real))
                }
                Ok(st) => checked_file(&path, &real.join(name), &st),
                Err(e) => Err(refuse(
                    &path,
                    format!("{} could not be examined ({e})", path.display()),
                )),
            }
        })
        .collect())
}

/// A library file at `real` (found as `shown`), with its directory checked.
fn library(shown: &Path, real: &Path) -> Result<Candidate, Refusal> {
    use agent_tty_core::safe_fs;
    let dir = real.parent().unwrap_or(Path::new("/"));
    const WHAT: &str = "the plugin library's directory";
    if let Err(u) =
        safe_fs::check_trusted_path(dir, WHAT).and_then(|_| safe_fs::check_ancestors(dir, WHAT))
    {
        return Err(Refusal {
            path: shown.to_owned(),
            reason: u.reason,
        });
    }
    match nix::sys::stat::lstat(real) {
        Ok(st) => checked_file(shown, real, &st),
        Err(e) => Err(Refusal {
            path: shown.to_owned(),
            reason: format!("{} could not be examined ({e})", shown.display()),
        }),
    }
}

/// The library `real` (found as `path`) whose `lstat` is `st`, if it
/// passes the file rule.
fn checked_file(
    path: &Path,
    real: &Path,
    st: &nix::sys::stat::FileStat,
) -> Result<Candidate, Refusal> {
    agent_tty_core::safe_fs::check_trusted_file(st, path, "the plugin library").map_err(|u| {
        Refusal {
            path: path.to_owned(),
            reason: u.reason,
        }
    })?;
    Ok(Candidate {
        path: path.to_owned(),
        real: real.to_owned(),
        identity: FileIdentity::from_stat(st),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn lib(dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(format!("{PLUGIN_PREFIX}{name}{PLUGIN_SUFFIX}"));
        std::fs::write(&path, b"not opened by discovery").unwrap();
        mode(&path, 0o644);
        path
    }

    fn paths(found: &Found) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
        (
            found.candidates.iter().map(|c| c.path.clone()).collect(),
            found
                .refused
                .iter()
                .map(|r| (r.path.clone(), r.reason.clone()))
                .collect(),
        )
    }

    #[test]
    fn only_libraries_in_directories_no_one_else_controls_are_candidates() {
        let tmp = tempfile::tempdir().unwrap();
        let good = tmp.path().join("good");
        let shared = tmp.path().join("shared");
        let sticky = tmp.path().join("sticky");
        for d in [&good, &shared, &sticky] {
            std::fs::create_dir(d).unwrap();
        }
        mode(&good, 0o755);
        mode(&shared, 0o775);
        mode(&sticky, 0o1777);
        let ok = lib(&good, "ok");
        let writable = lib(&good, "writable");
        mode(&writable, 0o666);
        // A FIFO with a plugin's name: opening it would hang the search.
        let fifo = good.join(format!("{PLUGIN_PREFIX}fifo{PLUGIN_SUFFIX}"));
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        let planted = lib(&shared, "planted");
        let dropped = lib(&sticky, "dropped");
        let (candidates, refused) = paths(&candidates(&[good, shared, sticky]));
        assert_eq!(candidates, [ok]);
        let reason = |p: &Path| {
            refused
                .iter()
                .find(|(r, _)| r == p)
                .map(|(_, why)| why.clone())
                .unwrap_or_else(|| panic!("{} not refused: {refused:?}", p.display()))
        };
        assert!(reason(&writable).contains("writable by group or others"));
        assert!(reason(&fifo).contains("a FIFO"));
        assert!(reason(&planted).contains("plugin directory"));
        assert!(reason(&dropped).contains("writable by group or others"));
    }

    #[test]
    fn a_library_named_on_the_path_is_checked_with_its_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        mode(&dir, 0o700);
        let named = dir.join("any-name.so");
        std::fs::write(&named, b"x").unwrap();
        mode(&named, 0o644);
        assert_eq!(
            paths(&candidates(std::slice::from_ref(&named))).0,
            [named.as_path()]
        );
        mode(&dir, 0o777);
        let (candidates, refused) = paths(&candidates(std::slice::from_ref(&named)));
        assert!(candidates.is_empty());
        assert!(
            refused[0].1.contains("writable by group or others"),
            "{refused:?}"
        );
    }

    #[test]
    fn symlinks_are_followed_only_where_no_one_else_controls_them() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        let links = tmp.path().join("links");
        std::fs::create_dir(&real).unwrap();
        std::fs::create_dir(&links).unwrap();
        mode(&real, 0o755);
        mode(&links, 0o755);
        let target = lib(&real, "x");
        let link = links.join(format!("{PLUGIN_PREFIX}x{PLUGIN_SUFFIX}"));
        std::os::unix::fs::symlink(&target, &link).unwrap();
        // Our own link in our own directory: followed, and the file the
        // loader will open is the one the link led to when it was checked.
        let found = candidates(std::slice::from_ref(&links));
        assert_eq!(paths(&found).0, [link.as_path()]);
        assert_eq!(found.candidates[0].real, target.canonicalize().unwrap());
        // Its target's directory writable by others: refused.
        mode(&real, 0o777);
        let (c, r) = paths(&candidates(std::slice::from_ref(&links)));
        assert!(
            c.is_empty() && r[0].1.contains("writable by group or others"),
            "{r:?}"
        );
        mode(&real, 0o755);
        if nix::unistd::geteuid().is_root() {
            // A link another user owns: refused, whatever it points at.
            nix::unistd::fchownat(
                None,
                &link,
                Some(nix::unistd::Uid::from_raw(65534)),
                None,
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .unwrap();
            let (c, r) = paths(&candidates(&[links]));
            assert!(
                c.is_empty() && r[0].1.contains("belongs to another user"),
                "{r:?}"
            );
        } else {
            eprintln!("SKIP (another user's symlink): needs root to chown a link");
        }
    }

    /// A relative entry would be looked up in whatever directory agent-tty
    /// runs in (a checked-out repository's `pl/`): it is refused, with the
    /// way to name it, and nothing in it is looked at.
    #[test]
    fn relative_entries_are_ignored_with_the_reason() {
        for entry in ["pl", ".", "libagent_tty_plugin_x.so", "../x"] {
            let found = candidates(&[PathBuf::from(entry)]);
            let (c, r) = paths(&found);
            assert!(c.is_empty(), "{entry}: {c:?}");
            assert_eq!(r.len(), 1, "{entry}: {r:?}");
            assert_eq!(r[0].0, Path::new(entry));
            assert!(r[0].1.contains("is relative; ignored"), "{r:?}");
            assert!(r[0].1.contains("$PWD/"), "{r:?}");
        }
    }
}
