//! A Session's artifact store, `<session>/artifacts/`: the files `snapshot`,
//! `screenshot` and `record export` leave behind, and `manifest.json`, the
//! list of them (agent-tty 0.5's format, contract §6.3):
//!
//! `{version:1, sessionId, artifacts:[{id, kind, filename, sessionId,
//! capturedAtSeq, createdAt, sha256?, bytes?, metadata}]}`, 2-space JSON,
//! file mode 0600, replaced atomically.
//!
//! Appends take an exclusive lock (`artifacts/.manifest.json.lock`) around
//! read-modify-write, so two captures finishing together both get listed.

use crate::error::{Error, Result};
use crate::fsutil;
use crate::layout::{self, SessionDir};
use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// An artifact list bigger than this is refused (an entry is ~400 bytes).
pub const ARTIFACT_MANIFEST_READ_LIMIT: u64 = 32 << 20;

/// Hex sha256 of `bytes`: the `sha256` of artifact entries and results.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A writer that passes everything on to `W` and keeps the sha256 and byte
/// count of what went through: the fingerprint of a file written as it is
/// generated, never held whole.
pub struct Fingerprinted<W> {
    inner: W,
    hasher: sha2::Sha256,
    bytes: u64,
}

impl<W: std::io::Write> Fingerprinted<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        use sha2::Digest;
        Fingerprinted {
            inner,
            hasher: sha2::Sha256::new(),
            bytes: 0,
        }
    }

    /// Flushes `W`; returns the hex sha256 and the byte count of everything
    /// written.
    pub fn finish(mut self) -> std::io::Result<(String, u64)> {
        use sha2::Digest;
        self.inner.flush()?;
        Ok((hex(&self.hasher.finalize()), self.bytes))
    }
}

impl<W: std::io::Write> std::io::Write for Fingerprinted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Creates `<session dir>/artifacts` if missing (mode 0755 at most, whatever
/// the umask) and returns it, once it passes the Home's trust check: a
/// symlink, or a directory another user owns or can write, is refused, so
/// a capture never writes where someone else chose.
pub fn ensure_artifacts_dir(session_dir: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = SessionDir::new(session_dir).artifacts();
    match std::fs::DirBuilder::new().mode(0o755).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::write(&dir, e)),
    }
    crate::safe_fs::check_trusted_path(&dir, "the Session's artifacts/")?;
    Ok(dir)
}

/// Checks, before a capture writes anything, that its entry could be
/// recorded: `artifacts/` (when there is one) passes the trust check and
/// its `manifest.json` (when there is one) is a valid artifact list.
pub fn check_artifact_store(session_dir: &Path) -> Result<()> {
    crate::safe_fs::check_trusted_path(
        &SessionDir::new(session_dir).artifacts(),
        "the Session's artifacts/",
    )?;
    read_artifact_manifest(session_dir).map(|_| ())
}

/// What kind of file an artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactKind {
    /// A `snapshot` result (JSON).
    Snapshot,
    /// A `screenshot` (PNG).
    Screenshot,
    /// A text recording (asciicast).
    Recording,
    /// A video or animation (WebM, GIF).
    Video,
}

/// One entry of `artifacts/manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactEntry {
    /// A ULID.
    pub id: String,
    /// What it is.
    pub kind: ArtifactKind,
    /// The file's name (no directory).
    pub filename: String,
    /// The Session it was taken from.
    pub session_id: String,
    /// The last Event Log `seq` it reflects.
    pub captured_at_seq: u64,
    /// When it was made (ISO-8601 UTC, ms).
    pub created_at: String,
    /// Hex sha256 of the file's bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The file's size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Kind-specific facts (format, size, profile, ...).
    pub metadata: Value,
}

impl ArtifactEntry {
    /// A new entry with a fresh id and the current time.
    pub fn new(
        kind: ArtifactKind,
        filename: impl Into<String>,
        session_id: impl Into<String>,
        captured_at_seq: u64,
        metadata: Value,
    ) -> ArtifactEntry {
        ArtifactEntry {
            id: ulid::Ulid::new().to_string(),
            kind,
            filename: filename.into(),
            session_id: session_id.into(),
            captured_at_seq,
            created_at: crate::time::now_iso(),
            sha256: None,
            bytes: None,
            metadata,
        }
    }

    /// The entry for a capture of `session_id` written to `path`: named by
    /// its file name, with the file's `sha256` and size.
    pub fn for_file(
        kind: ArtifactKind,
        path: &Path,
        session_id: &str,
        captured_at_seq: u64,
        metadata: Value,
        (sha256, bytes): (&str, u64),
    ) -> ArtifactEntry {
        let filename = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut entry = ArtifactEntry::new(kind, filename, session_id, captured_at_seq, metadata);
        entry.sha256 = Some(sha256.to_owned());
        entry.bytes = Some(bytes);
        entry
    }
}

/// The whole `artifacts/manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactManifest {
    /// Always 1.
    pub version: u32,
    /// The Session.
    pub session_id: String,
    /// Oldest first.
    pub artifacts: Vec<ArtifactEntry>,
}

/// Reads `artifacts/manifest.json`; `None` when there is none yet.
pub fn read_artifact_manifest(session_dir: &Path) -> Result<Option<ArtifactManifest>> {
    let path = SessionDir::new(session_dir).artifacts_manifest();
    let bytes = match crate::safe_fs::read_home_file(&path, ARTIFACT_MANIFEST_READ_LIMIT) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::read(&path, e)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        Error::read(
            &path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not a valid artifact manifest ({e}); move it aside to start a new list"),
            ),
        )
    })
}

/// Appends `entry` to the Session's artifact list, creating the list (and
/// the directory) when missing.
pub fn append_artifact(session_dir: &Path, entry: ArtifactEntry) -> Result<()> {
    append_artifact_when(session_dir, entry, || true).map(|_| ())
}

/// [`append_artifact`] for a file still being made durable: the new list is
/// read, extended, written to its temp file and fsynced while the file is,
/// then `file_in_place` is asked (the caller waits there for the file's
/// own rename and directory fsync) and the list is renamed into place only
/// if it answers true, so an entry never becomes durable before its file.
/// Returns whether the entry was listed. The lock is held throughout.
pub fn append_artifact_when(
    session_dir: &Path,
    entry: ArtifactEntry,
    file_in_place: impl FnOnce() -> bool,
) -> Result<bool> {
    let dir = ensure_artifacts_dir(session_dir)?;
    let lock_path = dir.join(layout::artifacts::MANIFEST_LOCK.name);
    let lock = fsutil::open_lock_file(&lock_path).map_err(|e| Error::write(&lock_path, e))?;
    let locked = FileExt::lock_exclusive(&lock).is_ok();
    let result = (|| {
        let mut manifest = read_artifact_manifest(session_dir)?.unwrap_or(ArtifactManifest {
            version: 1,
            session_id: entry.session_id.clone(),
            artifacts: Vec::new(),
        });
        manifest.artifacts.push(entry);
        let mut json =
            serde_json::to_string_pretty(&manifest).expect("artifact manifest serialises");
        json.push('\n');
        let path = dir.join(layout::artifacts::MANIFEST.name);
        fsutil::write_atomic_when(&path, json.as_bytes(), 0o600, file_in_place)
            .map_err(|e| Error::write(&path, e))
    })();
    if locked {
        let _ = FileExt::unlock(&lock);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_fingerprinted_stream_matches_the_fingerprint_of_its_bytes() {
        use std::io::Write;
        let mut sink = Fingerprinted::new(Vec::new());
        sink.write_all(b"hello ").unwrap();
        sink.write_all(b"world").unwrap();
        assert_eq!(sink.finish().unwrap(), (sha256_hex(b"hello world"), 11));
    }

    #[test]
    fn appends_keep_older_entries_and_0_5_lists_parse() {
        let dir = tempfile::tempdir().unwrap();
        // An entry as agent-tty 0.5 wrote it (from its fixture Home).
        let from_0_5 = r#"{
  "version": 1,
  "sessionId": "01M8PJ1DE3T96EGQAZHTXVB5QJ",
  "artifacts": [
    {
      "id": "01M8PJ1ZCMRRY2D0CMJP4ZHB6Z",
      "kind": "recording",
      "filename": "drive.cast",
      "sessionId": "01M8PJ1DE3T96EGQAZHTXVB5QJ",
      "capturedAtSeq": 21,
      "createdAt": "2026-11-30T15:44:26.521Z",
      "sha256": "e4229c56507c0fc4feba6d1eccb7f9f51c57b308b77850b6bf6af01dd72b5c98",
      "bytes": 1181,
      "metadata": {"format": "asciicast", "width": 100, "height": 30}
    }
  ]
}
"#;
        std::fs::create_dir_all(SessionDir::new(dir.path()).artifacts()).unwrap();
        std::fs::write(SessionDir::new(dir.path()).artifacts_manifest(), from_0_5).unwrap();
        let before = read_artifact_manifest(dir.path())
            .unwrap()
            .unwrap()
            .artifacts
            .len();
        assert_eq!(before, 1);
        let mut entry = ArtifactEntry::new(
            ArtifactKind::Screenshot,
            "screenshot-3-reference-dark.png",
            "01M8PJ1DE3T96EGQAZHTXVB5QJ",
            3,
            json!({"cols": 80}),
        );
        entry.sha256 = Some("ab".into());
        entry.bytes = Some(10);
        append_artifact(dir.path(), entry.clone()).unwrap();
        let after = read_artifact_manifest(dir.path()).unwrap().unwrap();
        assert_eq!(after.artifacts.len(), before + 1);
        assert_eq!(after.artifacts.last(), Some(&entry));
        let text =
            std::fs::read_to_string(SessionDir::new(dir.path()).artifacts_manifest()).unwrap();
        assert!(text.contains("\"kind\": \"screenshot\""), "{text}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(SessionDir::new(dir.path()).artifacts_manifest())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    /// The list changes only once the listed file says it is in place; a
    /// file that failed leaves the list as it was, with no temp file behind.
    #[test]
    fn an_entry_is_listed_only_once_its_file_is_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let entry = |name: &str| {
            ArtifactEntry::new(
                ArtifactKind::Screenshot,
                name,
                "01M8PJ1DE3T96EGQAZHTXVB5QJ",
                1,
                json!({}),
            )
        };
        let listed = |d: &Path| {
            read_artifact_manifest(d)
                .unwrap()
                .map_or(0, |m| m.artifacts.len())
        };
        let artifacts = SessionDir::new(dir.path()).artifacts();
        let mut asked = false;
        let written = append_artifact_when(dir.path(), entry("a.png"), || {
            // The list's temp file is written by now; the list is not.
            asked = true;
            listed(dir.path()) == 0
        });
        assert!(asked && written.unwrap());
        assert_eq!(listed(dir.path()), 1);
        let failed = append_artifact_when(dir.path(), entry("b.png"), || false).unwrap();
        assert!(!failed);
        assert_eq!(listed(dir.path()), 1);
        let names: Vec<String> = std::fs::read_dir(&artifacts)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(names.is_empty(), "{names:?}");
    }
}
