//! The XDG base directories agent-tty uses, resolved one way everywhere:
//! the variable when it holds an absolute path (the spec says a relative one
//! is invalid and must be ignored), else the spec's default under `$HOME`,
//! else nothing (no absolute `HOME` either: the caller says what to set).
//!
//! The runtime directory (`XDG_RUNTIME_DIR`) has its own fallback (a private
//! directory under /tmp) and lives with the control socket code.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// `XDG_DATA_HOME`, default `~/.local/share` (plugins, skills).
pub const DATA: (&str, &str) = ("XDG_DATA_HOME", ".local/share");
/// `XDG_STATE_HOME`, default `~/.local/state` (the Home Registry).
pub const STATE: (&str, &str) = ("XDG_STATE_HOME", ".local/state");
/// `XDG_CACHE_HOME`, default `~/.cache` (the plugin description cache).
pub const CACHE: (&str, &str) = ("XDG_CACHE_HOME", ".cache");

/// The base directory from these values: a pure function, for tests and for
/// callers that inject the environment.
pub fn resolve(var: Option<&OsStr>, home: Option<&Path>, default: &str) -> Option<PathBuf> {
    match var.map(Path::new) {
        Some(dir) if dir.is_absolute() => Some(dir.to_owned()),
        _ => home.filter(|h| h.is_absolute()).map(|h| h.join(default)),
    }
}

/// The base directory `(variable, default)` (e.g. [`DATA`]) from this
/// process's environment.
pub fn base_dir((var, default): (&str, &str)) -> Option<PathBuf> {
    resolve(
        std::env::var_os(var).as_deref(),
        std::env::var_os("HOME").as_deref().map(Path::new),
        default,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::absolute(Some("/x/state"), Some("/u"), Some("/x/state"))]
    #[case::relative_is_ignored(Some("rel"), Some("/u"), Some("/u/.local/state"))]
    #[case::empty_is_ignored(Some(""), Some("/u"), Some("/u/.local/state"))]
    #[case::unset(None, Some("/u"), Some("/u/.local/state"))]
    #[case::no_usable_home(None, Some("u"), None)]
    #[case::nothing(None, None, None)]
    fn resolves_like_the_spec(
        #[case] var: Option<&str>,
        #[case] home: Option<&str>,
        #[case] expected: Option<&str>,
    ) {
        assert_eq!(
            resolve(var.map(OsStr::new), home.map(Path::new), STATE.1),
            expected.map(PathBuf::from)
        );
    }
}
