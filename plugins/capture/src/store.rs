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

/// The artifact entry for a capture (see [`ArtifactEntry::for_file`]).
pub(crate) fn capture_entry(
    kind: ArtifactKind,
    path: &Path,
    session_id: &str,
    captured_at_seq: u64,
    metadata: Value,
    file: (&str, &[u8]),
) -> ArtifactEntry {
    ArtifactEntry::for_file(kind, path, session_id, captured_at_seq, metadata, file)
}
