//! Space a Session sets aside while its disk has room, so that ending it
//! can still be recorded when the disk is full (ADR 0015).
//!
//! The host writes `reserved-space`
//! ([`crate::layout::session::RESERVED_SPACE`]) when it starts: real
//! blocks, not a sparse file. A command that has already ended a Session's processes and
//! then cannot record it for lack of space ([`with_reserve`]) removes the file
//! and tries once more; the space it frees is far more than a manifest needs.
//! Acting never waits for this: processes are ended first, and a record
//! that still fails is a warning, never a reason to keep a Session alive.
//!
//! Once a Session's end is recorded (by its host when its command exits, or
//! by `destroy`; [`record_end`]) the reserve has done its job and goes back
//! to the disk: ended Sessions kept until `gc` hold none.

use crate::error::{Error, Result};
use crate::layout::SessionDir;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Its size: many times a manifest (and its temporary copy) or a few events.
const RESERVED_BYTES: usize = 64 * 1024;

/// Sets the reserve aside (a reserve already there is kept).
pub fn reserve(session_dir: &Path) -> std::io::Result<()> {
    let path = SessionDir::new(session_dir).reserved_space();
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e),
    };
    let written = file
        .write_all(&[0u8; RESERVED_BYTES])
        .and_then(|()| file.sync_all());
    if written.is_err() {
        // Half a reserve would promise room that is not there.
        let _ = std::fs::remove_file(&path);
    }
    written
}

/// Runs `record`; when it fails for lack of space (a write error), gives the
/// Session's reserve back to the disk and runs it once more.
pub fn with_reserve<T>(session_dir: &Path, mut record: impl FnMut() -> Result<T>) -> Result<T> {
    match record() {
        Err(Error::Write { .. }) if release(session_dir) => record(),
        other => other,
    }
}

/// [`with_reserve`] for the record that ends a Session: once it is
/// written, the reserve is given back too (nothing after it needs room).
pub fn record_end<T>(session_dir: &Path, record: impl FnMut() -> Result<T>) -> Result<T> {
    let recorded = with_reserve(session_dir, record)?;
    release(session_dir);
    Ok(recorded)
}

/// Removes the reserve; whether there was one.
fn release(session_dir: &Path) -> bool {
    std::fs::remove_file(SessionDir::new(session_dir).reserved_space()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn the_reserve_holds_real_blocks_and_is_given_back_only_on_a_write_error() {
        let tmp = tempfile::tempdir().unwrap();
        reserve(tmp.path()).unwrap();
        let meta = std::fs::metadata(SessionDir::new(tmp.path()).reserved_space()).unwrap();
        assert_eq!(meta.len(), RESERVED_BYTES as u64);
        assert!(meta.blocks() * 512 >= RESERVED_BYTES as u64, "sparse");
        // Success, or another error, keeps it.
        with_reserve(tmp.path(), || Ok(())).unwrap();
        let _ = with_reserve::<()>(tmp.path(), || {
            Err(Error::invalid(
                agent_tty_protocol::ErrorCode::InvalidInput,
                "no",
            ))
        });
        assert!(SessionDir::new(tmp.path()).reserved_space().exists());
        let mut tries = 0;
        let recorded = with_reserve(tmp.path(), || {
            tries += 1;
            if tries == 1 {
                Err(Error::write(tmp.path(), std::io::Error::other("full")))
            } else {
                Ok(tries)
            }
        });
        assert_eq!(recorded.unwrap(), 2);
        assert!(!SessionDir::new(tmp.path()).reserved_space().exists());
    }

    #[test]
    fn the_reserve_goes_once_the_end_is_recorded_and_only_then() {
        let tmp = tempfile::tempdir().unwrap();
        reserve(tmp.path()).unwrap();
        let failed = record_end::<()>(tmp.path(), || {
            Err(Error::invalid(
                agent_tty_protocol::ErrorCode::InvalidInput,
                "no",
            ))
        });
        assert!(failed.is_err());
        assert!(SessionDir::new(tmp.path()).reserved_space().exists());
        assert_eq!(record_end(tmp.path(), || Ok(7)).unwrap(), 7);
        assert!(!SessionDir::new(tmp.path()).reserved_space().exists());
        // No reserve left (already given back): still recorded.
        assert_eq!(record_end(tmp.path(), || Ok(8)).unwrap(), 8);
    }
}
