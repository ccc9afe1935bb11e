//! Where plugins are looked for, in order; the first plugin of a name wins.
//!
//! 1. `AGENT_TTY_PLUGIN_PATH` (colon-separated directories or library files),
//! 2. the executable's directory and its `plugins/` subdirectory (so
//!    `target/release/agent-tty` finds the plugins `cargo build` put beside it),
//! 3. `<exe dir>/../lib/agent-tty/plugins`, where `scripts/install.sh` puts
//!    them (`PREFIX/bin/agent-tty` and `PREFIX/lib/agent-tty/plugins/`),
//! 4. `${XDG_DATA_HOME:-~/.local/share}/agent-tty/plugins`.
//!
//! In a directory only files named `libagent_tty_plugin_*.so` (`.dylib` on
//! macOS) count, so unrelated libraries beside the binary are never opened. A
//! file named explicitly on `AGENT_TTY_PLUGIN_PATH` is tried whatever its name.

use crate::plugin_cache::FileIdentity;
use std::collections::HashSet;
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

/// A library found on the search path, with the identity of the file as
/// the search saw it: the stat that found it a regular file is the one the
/// description cache is keyed by, so the file is not stat-ed again.
pub struct Candidate {
    /// Where it was found.
    pub path: PathBuf,
    /// The file's identity when it was found.
    pub identity: FileIdentity,
}

/// Every candidate library, in search order, each file once.
pub fn candidates(search_path: &[PathBuf]) -> Vec<Candidate> {
    // The identity of `path` if it is a regular file (following symlinks).
    let regular = |path: &Path| {
        std::fs::metadata(path)
            .ok()
            .filter(std::fs::Metadata::is_file)
            .map(|m| FileIdentity::from_metadata(&m))
    };
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for entry in search_path {
        let files = if let Some(identity) = regular(entry) {
            vec![Candidate {
                path: entry.clone(),
                identity,
            }]
        } else {
            let Ok(dir) = std::fs::read_dir(entry) else {
                continue;
            };
            let mut files: Vec<Candidate> = dir
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(PLUGIN_PREFIX) && n.ends_with(PLUGIN_SUFFIX))
                })
                .filter_map(|path| {
                    Some(Candidate {
                        identity: regular(&path)?,
                        path,
                    })
                })
                .collect();
            files.sort_by(|a, b| a.path.cmp(&b.path));
            files
        };
        for file in files {
            let key = std::fs::canonicalize(&file.path).unwrap_or_else(|_| file.path.clone());
            if seen.insert(key) {
                found.push(file);
            }
        }
    }
    found
}
