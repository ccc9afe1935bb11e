//! Writing a capture: the file (atomically, mode 0600, as every artifact)
//! and its fingerprint.

use agent_tty_core::fsutil::write_atomic;
use std::path::Path;

pub(crate) use agent_tty_core::artifacts::sha256_hex;

/// Writes `bytes` to `path` atomically (temp file + rename), mode 0600.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic(path, bytes, 0o600)
}
