//! Writing a capture: the file (atomically, mode 0600, as every artifact),
//! its fingerprint, and its entry in `artifacts/manifest.json`.

use agent_tty_core::artifacts::{ArtifactEntry, ArtifactKind};
use agent_tty_core::fsutil::write_atomic;
use serde_json::Value;
use std::path::Path;

pub(crate) use agent_tty_core::artifacts::sha256_hex;

/// Writes `bytes` to `path` atomically (temp file + rename), mode 0600.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic(path, bytes, 0o600)
}

/// The artifact entry for a capture of `session_id` written to `path`:
/// named by its file name, with the file's `sha256` and size.
pub(crate) fn capture_entry(
    kind: ArtifactKind,
    path: &Path,
    session_id: &str,
    captured_at_seq: u64,
    metadata: Value,
    (sha256, bytes): (&str, &[u8]),
) -> ArtifactEntry {
    let filename = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut entry = ArtifactEntry::new(kind, filename, session_id, captured_at_seq, metadata);
    entry.sha256 = Some(sha256.to_owned());
    entry.bytes = Some(bytes.len() as u64);
    entry
}
