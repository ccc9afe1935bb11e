//! Where the text of `type`, `paste` and `run` comes from: the positional
//! argument or `--file <path>`, checked in 0.5's order and words (contract
//! §3.6), all `INVALID_INPUT`. One function for every command that takes
//! text this way (`run` and `batch --file` call it too), so the rules and
//! messages cannot drift apart.

use agent_tty_plugin_api::{ErrorCode, Invocation, PluginError};
use serde_json::json;
use std::io::Read;
use std::path::Path;

/// The largest file `--file` accepts (0.5: 10 000 000 bytes).
pub const MAX_FILE_BYTES: u64 = 10_000_000;

/// What the text is called in messages: `Input file`/`Text` for
/// type/paste/run, `Steps file`/`Steps` for batch.
#[derive(Debug, Clone, Copy)]
pub struct SourceWords {
    /// The positional in the usage line, e.g. `<text>` or `[steps]`.
    pub positional: &'static str,
    /// "Input file" / "Steps file".
    pub file: &'static str,
    /// "Missing input text." / "Missing steps."
    pub missing: &'static str,
    /// What the positional is, after "Provide either a positional …":
    /// `"<text> argument"` / `"[steps] JSON array"`.
    pub provide: &'static str,
    /// "Text must not be empty." / "Steps must not be empty."
    pub empty: &'static str,
}

/// The words of `type`, `paste` and `run`.
pub const TEXT: SourceWords = SourceWords {
    positional: "<text>",
    file: "Input file",
    missing: "Missing input text.",
    provide: "<text> argument",
    empty: "Text must not be empty.",
};

/// The text from the positional `name` or `--file`, for `usage` (e.g.
/// `agent-tty type <session-id> [text] [--file <path>]`).
pub fn text_or_file(
    inv: &Invocation,
    name: &str,
    usage: &str,
    words: SourceWords,
) -> Result<String, PluginError> {
    match (inv.value(name), inv.value("file")) {
        (Some(_), Some(_)) => Err(invalid(format!(
            "Positional {} argument and --file are mutually exclusive. Usage: {usage}",
            words.positional
        ))),
        (None, None) => Err(invalid(format!(
            "{} Provide either a positional {} or --file <path>. Usage: {usage}",
            words.missing, words.provide
        ))),
        (Some(""), None) => Err(invalid(words.empty.to_owned())),
        (Some(text), None) => Ok(text.to_owned()),
        (None, Some(path)) => read_file(Path::new(path), words.file),
    }
}

/// Reads `--file`: a regular file (symlinks, directories and devices are
/// refused, before anything is opened), at most [`MAX_FILE_BYTES`], not
/// empty, UTF-8 text.
pub fn read_file(path: &Path, noun: &str) -> Result<String, PluginError> {
    let shown = path.display();
    let details = json!({ "file": path });
    let meta = std::fs::symlink_metadata(path).map_err(|e| {
        let message = match e.kind() {
            std::io::ErrorKind::NotFound => format!("{noun} \"{shown}\" was not found."),
            std::io::ErrorKind::PermissionDenied => format!("{noun} \"{shown}\" is not readable."),
            _ => format!("Failed to inspect {} \"{shown}\": {e}", noun.to_lowercase()),
        };
        invalid(message).with_details(details.clone())
    })?;
    if !meta.file_type().is_file() {
        return Err(invalid(format!(
            "{noun} \"{shown}\" must be a regular file. Directories, symlinks, and device files \
             are not supported."
        ))
        .with_details(details));
    }
    let too_big = |size: u64| {
        invalid(format!(
            "{noun} \"{shown}\" exceeds the 10 MB limit ({size} bytes); split it or send less."
        ))
        .with_details(json!({ "file": path, "sizeBytes": size, "maxSizeBytes": MAX_FILE_BYTES }))
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big(meta.len()));
    }
    let read_error = |e: std::io::Error| {
        let message = match e.kind() {
            std::io::ErrorKind::PermissionDenied => format!("{noun} \"{shown}\" is not readable."),
            _ => format!("Failed to read {} \"{shown}\": {e}", noun.to_lowercase()),
        };
        invalid(message).with_details(json!({ "file": path }))
    };
    // O_NOFOLLOW: the file checked above cannot be swapped for a symlink.
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    if bytes.is_empty() {
        return Err(invalid(format!("{noun} \"{shown}\" must not be empty.")).with_details(details));
    }
    String::from_utf8(bytes).map_err(|e| {
        invalid(format!(
            "{noun} \"{shown}\" is not UTF-8 text (invalid byte at offset {}).",
            e.utf8_error().valid_up_to()
        ))
        .with_details(details)
    })
}

fn invalid(message: String) -> PluginError {
    PluginError::new(ErrorCode::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::{Map, Value};

    fn inv(text: Option<&str>, file: Option<&str>) -> Invocation {
        let mut args = Map::new();
        if let Some(t) = text {
            args.insert("text".into(), Value::String(t.into()));
        }
        if let Some(f) = file {
            args.insert("file".into(), Value::String(f.into()));
        }
        Invocation {
            command: vec!["type".into()],
            args,
            context: Default::default(),
        }
    }

    #[rstest]
    #[case(Some("a"), Some("/x"), "mutually exclusive")]
    #[case(None, None, "Missing input text.")]
    #[case(Some(""), None, "Text must not be empty.")]
    #[case(None, Some("/no/such/file"), "was not found.")]
    #[case(None, Some("/"), "must be a regular file.")]
    #[case(None, Some("/dev/null"), "must be a regular file.")]
    fn refusals(#[case] text: Option<&str>, #[case] file: Option<&str>, #[case] says: &str) {
        let err = text_or_file(&inv(text, file), "text", "agent-tty type", TEXT).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(err.message.contains(says), "{err}");
    }

    #[test]
    fn files_empty_symlinked_too_big_or_fine() {
        let tmp = tempfile::tempdir().unwrap();
        let empty = tmp.path().join("empty");
        std::fs::write(&empty, "").unwrap();
        let good = tmp.path().join("good");
        std::fs::write(&good, "echo hi\n").unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&good, &link).unwrap();
        let big = tmp.path().join("big");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_FILE_BYTES + 1)
            .unwrap();
        let read = |p: &Path| read_file(p, "Input file");
        assert!(read(&empty)
            .unwrap_err()
            .message
            .contains("must not be empty."));
        assert!(read(&link).unwrap_err().message.contains("regular file"));
        let err = read(&big).unwrap_err();
        assert!(err.message.contains("10 MB limit"), "{err}");
        assert_eq!(err.details["maxSizeBytes"], MAX_FILE_BYTES);
        assert_eq!(read(&good).unwrap(), "echo hi\n");
    }
}
