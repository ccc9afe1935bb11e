//! Text read from a file named by `--file` (contract §3.6), with agent-tty
//! 0.5's checks: the path is inspected without following a symlink, must be
//! a regular file of at most 10 MB, and must not be empty. `what` names the
//! file in messages ("Steps file", "Input file"). Our superset: `-` reads
//! standard input (same size and emptiness limits).

use agent_tty_plugin_api::{ErrorCode, PluginError};
use serde_json::json;
use std::io::Read;
use std::path::Path;

/// The largest file accepted.
pub(super) const MAX_FILE_BYTES: u64 = 10_000_000;

/// Reads `path` as UTF-8 text, or standard input for `-`.
pub(super) fn read_text_file(path: &str, what: &str) -> Result<String, PluginError> {
    let invalid = |message: String| {
        PluginError::new(ErrorCode::InvalidInput, message).with_details(json!({ "file": path }))
    };
    let bytes = if path == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| invalid(format!("{what} could not be read from standard input: {e}")))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(too_big(what, path, bytes.len() as u64));
        }
        bytes
    } else {
        let meta = std::fs::symlink_metadata(Path::new(path)).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => invalid(format!("{what} \"{path}\" was not found.")),
            std::io::ErrorKind::PermissionDenied => {
                invalid(format!("{what} \"{path}\" is not readable."))
            }
            _ => invalid(format!(
                "Failed to inspect {} \"{path}\": {e}",
                what.to_lowercase()
            )),
        })?;
        if !meta.file_type().is_file() {
            return Err(invalid(format!(
                "{what} \"{path}\" must be a regular file. Directories, symlinks, and device \
                 files are not supported."
            )));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(too_big(what, path, meta.len()));
        }
        std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => {
                invalid(format!("{what} \"{path}\" is not readable."))
            }
            _ => invalid(format!(
                "Failed to read {} \"{path}\": {e}",
                what.to_lowercase()
            )),
        })?
    };
    if bytes.is_empty() {
        return Err(invalid(format!("{what} \"{path}\" must not be empty.")));
    }
    String::from_utf8(bytes)
        .map_err(|_| invalid(format!("{what} \"{path}\" is not valid UTF-8 text.")))
}

fn too_big(what: &str, path: &str, size: u64) -> PluginError {
    PluginError::new(
        ErrorCode::InvalidInput,
        format!("{what} \"{path}\" exceeds the 10 MB limit ({size} bytes)."),
    )
    .with_details(json!({ "file": path, "sizeBytes": size, "maxSizeBytes": MAX_FILE_BYTES }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_checked_as_0_5_does() {
        let tmp = tempfile::tempdir().unwrap();
        let p = |n: &str| tmp.path().join(n).to_string_lossy().into_owned();
        std::fs::write(p("ok"), "[1]").unwrap();
        std::fs::write(p("empty"), "").unwrap();
        std::os::unix::fs::symlink(p("ok"), p("link")).unwrap();
        assert_eq!(read_text_file(&p("ok"), "Steps file").unwrap(), "[1]");
        for (name, says) in [
            ("missing", "was not found."),
            ("empty", "must not be empty."),
            ("link", "must be a regular file."),
            ("", "must be a regular file."),
        ] {
            let e = read_text_file(&p(name), "Steps file").unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidInput);
            assert!(e.message.starts_with("Steps file \""), "{}", e.message);
            assert!(e.message.contains(says), "{name}: {}", e.message);
        }
    }
}
