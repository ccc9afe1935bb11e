//! The domain's typed errors, mapped to the CLI contract's codes in one place
//! ([`Error::code`]).

use crate::layout::{HomeDir, SessionDir};
pub use agent_tty_protocol::{ErrorCode, PluginError};
use std::path::{Path, PathBuf};

/// A domain failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input from the user; the message says what to do.
    #[error("{message}")]
    Invalid {
        /// Which contract code (one of the exit-2 codes).
        code: ErrorCode,
        /// What was wrong.
        message: String,
    },
    /// No Session with this id in this Home (0.5's words, which its
    /// scripts match).
    #[error("Session \"{id}\" was not found.")]
    SessionNotFound {
        /// The id asked for.
        id: String,
        /// The Home searched.
        home: PathBuf,
    },
    /// Reading a file or directory failed.
    #[error("could not read {}: {source}{}", path.display(), limit_advice(source))]
    Read {
        /// What.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Writing a file or directory failed.
    #[error("could not write {}: {source}{}", path.display(), limit_advice(source))]
    Write {
        /// What.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A manifest exists but does not hold a valid version-1 manifest.
    #[error("{} is not a valid Session manifest: {reason}", path.display())]
    Manifest {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Any other contract failure, already classified.
    #[error("{0}")]
    Plugin(PluginError),
}

/// Shorthand.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether `e` is the process (`EMFILE`) or the system (`ENFILE`) running
/// out of file descriptors: a limit of the system, not a fault of the file.
pub fn is_descriptor_limit(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Whether `e`, or an I/O error it wraps, says the disk is full (`ENOSPC`)
/// or the user's quota on it is used up (`EDQUOT`): the state of the
/// machine, which the user can change, not a fault of the file.
pub fn is_disk_full(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{QuotaExceeded, StorageFull};
    let mut io = Some(e);
    while let Some(e) = io {
        if matches!(e.kind(), StorageFull | QuotaExceeded)
            || matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
        {
            return true;
        }
        io = e.get_ref().and_then(|inner| inner.downcast_ref());
    }
    false
}

/// What to do about the disk being full (see [`is_disk_full`]).
const DISK_FULL_ADVICE: &str = "the disk is full: free some space and try again";

/// What to do about a limit of the machine (a full disk, a descriptor
/// limit), appended to the message of an error caused by one (empty
/// otherwise).
pub fn limit_advice(e: &std::io::Error) -> String {
    if is_disk_full(e) {
        return format!(" ({DISK_FULL_ADVICE})");
    }
    if !is_descriptor_limit(e) {
        return String::new();
    }
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        limit.rlim_cur.to_string()
    } else {
        "?".into()
    };
    format!(
        " (the limit on open files was reached: `ulimit -n` is {soft} here; raise it, \
         e.g. `ulimit -n 4096`, and try again)"
    )
}

impl Error {
    /// A usage error with a specific code.
    pub fn invalid(code: ErrorCode, message: impl Into<String>) -> Self {
        Error::Invalid {
            code,
            message: message.into(),
        }
    }

    /// Wraps a read failure.
    pub fn read(path: &Path, source: std::io::Error) -> Self {
        Error::Read {
            path: path.to_owned(),
            source,
        }
    }

    /// Wraps a write failure.
    pub fn write(path: &Path, source: std::io::Error) -> Self {
        Error::Write {
            path: path.to_owned(),
            source,
        }
    }

    /// The contract code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Invalid { code, .. } => *code,
            Error::SessionNotFound { .. } => ErrorCode::SessionNotFound,
            Error::Read { .. } => ErrorCode::StorageReadError,
            Error::Write { .. } => ErrorCode::StorageWriteError,
            Error::Manifest { .. } => ErrorCode::ManifestValidationError,
            Error::Plugin(e) => e.code,
        }
    }
}

impl From<Error> for PluginError {
    fn from(e: Error) -> Self {
        match e {
            Error::Plugin(p) => p,
            other => {
                let details = match &other {
                    Error::Read { path, .. }
                    | Error::Write { path, .. }
                    | Error::Manifest { path, .. } => {
                        serde_json::json!({ "path": path })
                    }
                    Error::SessionNotFound { id, home } => serde_json::json!({
                        "sessionId": id,
                        "manifestPath": SessionDir::new(
                            &HomeDir::new(home).sessions().join(id)
                        ).manifest(),
                    }),
                    _ => serde_json::Value::Null,
                };
                PluginError::new(other.code(), other.to_string()).with_details(details)
            }
        }
    }
}

impl From<PluginError> for Error {
    fn from(e: PluginError) -> Self {
        Error::Plugin(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{self, BufWriter, Write};

    /// A disk that is full: every write fails with `ENOSPC`.
    struct FullDisk;

    impl Write for FullDisk {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from_raw_os_error(libc::ENOSPC))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_full_disk_is_known_through_buffers_and_wrappers_and_says_what_to_do() {
        let mut out = BufWriter::new(FullDisk);
        let e = out.write_all(b"x").and_then(|()| out.flush()).unwrap_err();
        assert!(is_disk_full(&e));
        assert!(is_disk_full(&io::Error::other(e)), "wrapped");
        assert!(is_disk_full(&io::Error::from_raw_os_error(libc::EDQUOT)));
        assert!(!is_disk_full(&io::Error::from_raw_os_error(libc::EACCES)));
        let write = Error::write(
            Path::new("/h/x"),
            io::Error::from_raw_os_error(libc::ENOSPC),
        );
        assert_eq!(write.code(), ErrorCode::StorageWriteError);
        assert!(
            write
                .to_string()
                .ends_with(&format!("({DISK_FULL_ADVICE})")),
            "{write}"
        );
    }
}
