//! Writing a capture: the file (atomically, mode 0600, as every artifact)
//! and its fingerprint.

use agent_tty_core::fsutil::write_atomic;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Hex sha256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `bytes` to `path` atomically (temp file + rename), mode 0600.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic(path, bytes, 0o600)
}
