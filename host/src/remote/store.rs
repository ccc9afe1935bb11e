//! The named remotes, `${XDG_CONFIG_HOME:-~/.config}/agent-tty/remotes.json`.
//!
//! The file says which machine a command runs on and which program runs
//! there, so it is treated like `~/.ssh/config`: written atomically with
//! mode 0600 in a 0700 directory, and refused when it is not a regular file
//! of this user's that only they can write (someone who could edit it could
//! send every command, and what it types, elsewhere).

use super::target::{validate_name, NamedRemote};
use agent_tty_core::fsutil::{create_dir_all_private, write_atomic};
use agent_tty_core::safe_fs::{is_private_file, read_home_file};
use agent_tty_core::text::escape_path;
use agent_tty_plugin_api::{ErrorCode, PluginError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};

/// `XDG_CONFIG_HOME`, default `~/.config`.
const CONFIG: (&str, &str) = ("XDG_CONFIG_HOME", ".config");

/// The file's format version.
const FORMAT: u32 = 1;

/// The largest remotes file read, 1 MiB: a remote is a couple of hundred
/// bytes, so this holds thousands. A bigger file is refused from its size
/// before anything is allocated (a 300 MB one cost 312 MB of memory
/// before), as the Home Registry's cap does.
pub const REMOTES_READ_LIMIT: u64 = 1 << 20;

/// The remotes file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remotes {
    /// Always 1.
    #[serde(default)]
    pub version: u32,
    /// In the order they were added.
    #[serde(default)]
    pub remotes: Vec<NamedRemote>,
}

impl Remotes {
    /// The remote called `name`.
    pub fn get(&self, name: &str) -> Option<&NamedRemote> {
        self.remotes.iter().find(|r| r.name == name)
    }
}

/// Where the remotes file is.
pub fn path() -> Result<PathBuf, PluginError> {
    agent_tty_core::xdg::base_dir(CONFIG)
        .map(|d| d.join("agent-tty").join("remotes.json"))
        .ok_or_else(|| {
            PluginError::usage(
                "named remotes live under $XDG_CONFIG_HOME or $HOME/.config, and neither is an \
                 absolute path; set one of them",
            )
        })
}

/// Reads the remotes file; a missing one holds no remotes.
pub fn load() -> Result<Remotes, PluginError> {
    load_from(&path()?)
}

/// [`load`] from a given path.
pub fn load_from(path: &Path) -> Result<Remotes, PluginError> {
    let shown = escape_path(path);
    let refuse = |why: String| {
        PluginError::new(
            ErrorCode::StorageReadError,
            format!("the remotes file {shown} {why}"),
        )
        .with_details(json!({ "file": path }))
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Remotes::default()),
        Err(e) => return Err(refuse(format!("could not be read ({e})"))),
    };
    if !is_private_file(&meta) {
        return Err(refuse(
            "is not a regular file of yours that only you can write (it decides where \
             commands run); fix it with `chmod 600` or remove it"
                .to_owned(),
        ));
    }
    // Read as the Home Registry is: no symlink, no FIFO swapped in after
    // the check above (never waited on), at most REMOTES_READ_LIMIT bytes.
    let bytes = read_home_file(path, REMOTES_READ_LIMIT)
        .map_err(|e| refuse(format!("could not be read ({e})")))?;
    let remotes: Remotes = serde_json::from_slice(&bytes).map_err(|e| {
        refuse(format!(
            "is not valid ({e}); fix it or remove it and `remote add` again"
        ))
    })?;
    for r in &remotes.remotes {
        validate_name(&r.name).map_err(|e| refuse(format!("holds a bad name: {}", e.message)))?;
        super::target::Target::parse(&r.target.to_string())
            .map_err(|e| refuse(format!("holds a bad target: {}", e.message)))?;
    }
    Ok(remotes)
}

/// Writes the remotes file at `path` (0600, atomically, its directory 0700).
pub fn save_to(path: &Path, remotes: &Remotes) -> Result<(), PluginError> {
    let write_error = |e: std::io::Error| {
        PluginError::new(
            ErrorCode::StorageWriteError,
            format!(
                "could not write the remotes file {}: {e}",
                escape_path(path)
            ),
        )
        .with_details(json!({ "file": path }))
    };
    if let Some(dir) = path.parent() {
        create_dir_all_private(dir).map_err(write_error)?;
    }
    let mut out = remotes.clone();
    out.version = FORMAT;
    let mut text = serde_json::to_vec_pretty(&out).map_err(|e| write_error(e.into()))?;
    text.push(b'\n');
    write_atomic(path, &text, 0o600).map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::target::Target;
    use std::os::unix::fs::PermissionsExt;

    fn sample() -> Remotes {
        Remotes {
            version: 1,
            remotes: vec![NamedRemote {
                name: "box".into(),
                target: Target::parse("me@box:2222").unwrap(),
                home: Some("/srv/h".into()),
                agent_tty: None,
            }],
        }
    }

    #[test]
    fn round_trips_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cfg").join("remotes.json");
        save_to(&file, &sample()).unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let parent = std::fs::metadata(file.parent().unwrap()).unwrap();
        assert_eq!(parent.permissions().mode() & 0o777, 0o700);
        assert_eq!(load_from(&file).unwrap(), sample());
    }

    #[test]
    fn a_file_others_can_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("remotes.json");
        save_to(&file, &sample()).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = load_from(&file).unwrap_err();
        assert_eq!(e.code, ErrorCode::StorageReadError);
        assert!(e.message.contains("chmod 600"), "{e}");
    }

    /// A sparse file far past the cap is refused from its size, before
    /// anything is allocated, naming the cap.
    #[test]
    fn a_remotes_file_over_the_cap_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("remotes.json");
        save_to(&file, &sample()).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(300 << 20)
            .unwrap();
        let e = load_from(&file).unwrap_err();
        assert_eq!(e.code, ErrorCode::StorageReadError);
        assert!(e.message.contains("larger than 1048576 bytes"), "{e}");
    }

    #[test]
    fn a_hostile_target_in_the_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("remotes.json");
        let text =
            r#"{"version":1,"remotes":[{"name":"x","target":{"host":"-oProxyCommand=id"}}]}"#;
        write_atomic(&file, text.as_bytes(), 0o600).unwrap();
        assert_eq!(
            load_from(&file).unwrap_err().code,
            ErrorCode::StorageReadError
        );
    }
}
