//! A Home's optional `config.json`: defaults for the log level, the render
//! profile, the renderer and `create --idle-timeout-ms` (contract §1.4).
//!
//! The file is strict, as in agent-tty 0.5: one JSON object, only the known
//! keys, each of its type. 0.5 crashes with a stack trace on a bad file; ours
//! refuses it with `INVALID_INPUT` naming the file and the key, so the user
//! knows exactly what to fix (details `{file, key}`).

use crate::error::{Error, Result};
use crate::layout::HomeDir;
use agent_tty_protocol::{ErrorCode, PluginError};
use serde_json::{json, Map, Value};
use std::path::Path;

/// The log levels `--log-level`, `AGENT_TTY_LOG_LEVEL` and `logLevel` accept.
pub const LOG_LEVELS: &[&str] = &["debug", "info", "warn", "error"];

/// The renderer names agent-tty 0.5 accepts. Ours has one terminal engine;
/// the names are accepted (and reported) so 0.5 scripts and configs work.
pub const RENDERERS: &[&str] = &["ghostty-web", "libghostty-vt"];

/// A Home's `config.json`, every key optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HomeConfig {
    /// `logLevel`: one of [`LOG_LEVELS`].
    pub log_level: Option<String>,
    /// `defaultProfile`: the render profile for screenshots and videos.
    pub default_profile: Option<String>,
    /// `defaultRenderer`: validated where it is used, as in 0.5.
    pub default_renderer: Option<String>,
    /// `idleTimeoutMs`: `create`'s default `--idle-timeout-ms`.
    pub idle_timeout_ms: Option<u64>,
    /// `defaultShell`, accepted and unused (as in 0.5).
    pub default_shell: Option<String>,
    /// `defaultTerm`, accepted and unused (as in 0.5).
    pub default_term: Option<String>,
    /// `defaultCols`, accepted and unused (as in 0.5).
    pub default_cols: Option<u64>,
    /// `defaultRows`, accepted and unused (as in 0.5).
    pub default_rows: Option<u64>,
    /// `remote`: every command on this Home runs on that machine (a named
    /// remote or `[user@]host[:port]`; the host validates it), as if
    /// `--remote` were given.
    pub remote: Option<String>,
}

/// A `config.json` bigger than this is not one (they hold eight keys).
const CONFIG_READ_LIMIT: u64 = 1 << 20;

/// Reads `<home>/config.json`; a missing file (or Home) is the empty config.
/// Read as every Home file is ([`crate::safe_fs::read_home_file`]): a
/// symlink, FIFO or device there is refused at once, never waited on.
/// Call it only for a Home that passed the trust check.
pub fn read_home_config(home: &Path) -> Result<HomeConfig> {
    let path = HomeDir::new(home).config();
    let text = match crate::safe_fs::read_home_file(&path, CONFIG_READ_LIMIT) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HomeConfig::default()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Ok(HomeConfig::default()),
        Err(e) => {
            return Err(invalid(
                &path,
                None,
                format!("could not be read ({e}); fix its permissions or remove it"),
            ))
        }
    };
    let value: Value = serde_json::from_slice(&text).map_err(|e| {
        invalid(
            &path,
            None,
            format!("is not valid JSON ({e}); it must hold one JSON object"),
        )
    })?;
    let Value::Object(map) = value else {
        return Err(invalid(&path, None, "must hold one JSON object".into()));
    };
    parse(&path, &map)
}

/// The config of a Home every command starts from: read only after the Home
/// passed the trust check (`safe_fs::check_trusted`), so a Home someone else
/// controls cannot steer this user's commands through its `config.json`.
///
/// - no Home yet (or a path that is not a directory): the empty config;
/// - a Home this user cannot open: `STORAGE_READ_ERROR` naming the Home
///   (not its `config.json`) and what to do;
/// - an untrusted Home (another user's, writable by others, a symlink):
///   the empty config; its commands refuse the Home themselves, with the
///   reason, where it matters;
/// - otherwise [`read_home_config`].
pub fn read_trusted_home_config(home: &Path) -> Result<HomeConfig> {
    let dir = match crate::safe_fs::DirFd::open(home) {
        Ok(dir) => dir,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            let shown = crate::text::escape_path(home);
            return Err(Error::Plugin(
                PluginError::new(
                    ErrorCode::StorageReadError,
                    format!(
                        "the Home {shown} cannot be read ({e}); give yourself access \
                         (`chmod u+rwx {shown}`) or choose another Home with --home"
                    ),
                )
                .with_details(json!({ "home": home })),
            ));
        }
        Err(_) => return Ok(HomeConfig::default()),
    };
    if dir.check_trusted("the Home").is_err() {
        return Ok(HomeConfig::default());
    }
    read_home_config(home)
}

fn parse(path: &Path, map: &Map<String, Value>) -> Result<HomeConfig> {
    let mut config = HomeConfig::default();
    for (key, value) in map {
        let text = || -> Result<String> {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid(path, Some(key), format!("key `{key}` must be a string")))
        };
        let integer = |min: u64| -> Result<u64> {
            value.as_u64().filter(|n| *n >= min).ok_or_else(|| {
                let what = if min == 0 {
                    "an integer ≥ 0"
                } else {
                    "a positive integer"
                };
                invalid(path, Some(key), format!("key `{key}` must be {what}"))
            })
        };
        match key.as_str() {
            "logLevel" => {
                let level = text()?;
                if !LOG_LEVELS.contains(&level.as_str()) {
                    return Err(invalid(
                        path,
                        Some(key),
                        format!(
                            "key `logLevel` must be one of debug, info, warn, or error (got {level:?})"
                        ),
                    ));
                }
                config.log_level = Some(level);
            }
            "defaultProfile" => config.default_profile = Some(text()?),
            "defaultRenderer" => config.default_renderer = Some(text()?),
            "idleTimeoutMs" => config.idle_timeout_ms = Some(integer(0)?),
            "defaultShell" => config.default_shell = Some(text()?),
            "defaultTerm" => config.default_term = Some(text()?),
            "defaultCols" => config.default_cols = Some(integer(1)?),
            "defaultRows" => config.default_rows = Some(integer(1)?),
            "remote" => config.remote = Some(text()?),
            other => {
                return Err(invalid(
                    path,
                    Some(key),
                    format!(
                        "has an unknown key `{other}`; the keys are logLevel, defaultProfile, \
                         defaultRenderer, idleTimeoutMs, defaultShell, defaultTerm, defaultCols, \
                         defaultRows, remote"
                    ),
                ))
            }
        }
    }
    Ok(config)
}

fn invalid(path: &Path, key: Option<&String>, what: String) -> Error {
    let mut details = json!({ "file": path });
    if let Some(key) = key {
        details["key"] = json!(key);
    }
    let message = match key {
        Some(_) => format!("Home config {}: {what}.", path.display()),
        None => format!("Home config {} {what}.", path.display()),
    };
    Error::Plugin(PluginError::new(ErrorCode::InvalidInput, message).with_details(details))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn config(text: &str) -> (tempfile::TempDir, Result<HomeConfig>) {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(HomeDir::new(tmp.path()).config(), text).unwrap();
        let read = read_home_config(tmp.path());
        (tmp, read)
    }

    #[test]
    fn a_missing_file_or_home_is_the_empty_config() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(read_home_config(tmp.path()).unwrap(), HomeConfig::default());
        let gone = tmp.path().join("no-home");
        assert_eq!(read_home_config(&gone).unwrap(), HomeConfig::default());
    }

    #[test]
    fn every_key_is_read() {
        let (_tmp, read) = config(
            r#"{"logLevel":"debug","defaultProfile":"reference-light","defaultRenderer":"ghostty-web",
                "idleTimeoutMs":1500,"defaultShell":"/bin/sh","defaultTerm":"xterm","defaultCols":100,"defaultRows":30}"#,
        );
        let c = read.unwrap();
        assert_eq!(c.log_level.as_deref(), Some("debug"));
        assert_eq!(c.default_profile.as_deref(), Some("reference-light"));
        assert_eq!(c.default_renderer.as_deref(), Some("ghostty-web"));
        assert_eq!(c.idle_timeout_ms, Some(1500));
        assert_eq!(c.default_cols, Some(100));
    }

    #[rstest]
    #[case("{", None)]
    #[case("[]", None)]
    #[case(r#"{"logLevel":"loud"}"#, Some("logLevel"))]
    #[case(r#"{"logLevel":3}"#, Some("logLevel"))]
    #[case(r#"{"idleTimeoutMs":-1}"#, Some("idleTimeoutMs"))]
    #[case(r#"{"idleTimeoutMs":1.5}"#, Some("idleTimeoutMs"))]
    #[case(r#"{"defaultCols":0}"#, Some("defaultCols"))]
    #[case(r#"{"colour":"red"}"#, Some("colour"))]
    fn a_bad_file_is_invalid_input_naming_file_and_key(
        #[case] text: &str,
        #[case] key: Option<&str>,
    ) {
        let (tmp, read) = config(text);
        let err = PluginError::from(read.unwrap_err());
        assert_eq!(err.code, ErrorCode::InvalidInput);
        let file = HomeDir::new(tmp.path()).config();
        assert!(err.message.contains(&*file.to_string_lossy()), "{err}");
        assert_eq!(err.details["file"], json!(file));
        match key {
            Some(k) => {
                assert!(err.message.contains(&format!("`{k}`")), "{err}");
                assert_eq!(err.details["key"], k);
            }
            None => assert!(err.details.get("key").is_none()),
        }
    }
}
