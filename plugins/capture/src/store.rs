//! Writing a capture: the file (atomically, mode 0600, as every artifact),
//! its fingerprint, and its entry in `artifacts/manifest.json`.

use agent_tty_core::artifacts::Fingerprinted;
use agent_tty_core::fsutil::write_atomic_with;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Writes a capture to `path` atomically (temp file + rename), mode 0600,
/// as `fill` produces it: never held whole. See [`fill_counted`].
pub(crate) fn write_file_with<T, E: From<io::Error>>(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<T, E>,
) -> Result<(T, String, u64), E> {
    write_atomic_with(path, 0o600, |file| fill_counted(file, fill))
}

/// Runs `fill` on `out` (buffered), then flushes; returns `fill`'s value and
/// the sha256 and size of what it wrote, counted on the way.
pub(crate) fn fill_counted<T, E: From<io::Error>>(
    out: impl Write,
    fill: impl FnOnce(&mut dyn Write) -> Result<T, E>,
) -> Result<(T, String, u64), E> {
    let mut sink = Fingerprinted::new(BufWriter::new(out));
    let value = fill(&mut sink)?;
    let (sha256, bytes) = sink.finish()?;
    Ok((value, sha256, bytes))
}
