//! The per-Session control socket: how the CLI hands input and control to a
//! Session's host process.
//!
//! One newline-terminated JSON [`ControlRequest`] per connection, answered by
//! one newline-terminated JSON [`ControlResponse`]. The host logs every input
//! and control action to the Event Log itself, so the log is the single record
//! of what happened; readers (`wait`, `snapshot`, the dashboard) never ask the
//! host anything.
//!
//! The socket lives under `$XDG_RUNTIME_DIR/agent-tty/` when that is set, else
//! `/tmp/agent-tty-<uid>/`; either directory is created 0700 and must be owned
//! by the user, so no other user can reach a Session.

use crate::error::{Error, Result};
use agent_tty_plugin_api::ErrorCode;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A request to a Session's host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ControlRequest {
    /// Is the host there? Answered with `ok`.
    Ping,
    /// Literal text, written as is; logged as `input_text`.
    Text {
        /// The text.
        data: String,
    },
    /// A bracketed paste; logged as `input_paste`.
    Paste {
        /// The text.
        data: String,
    },
    /// Named keys (see `keys`); logged as `input_keys`. Invalid names are
    /// refused with `INVALID_KEYS` and nothing is written.
    Keys {
        /// Key names such as `Enter`, `Ctrl+C`.
        keys: Vec<String>,
    },
    /// Type a command into the shell with a hidden completion marker; logged
    /// as `input_run`, and `run_complete` is logged when the marker is seen.
    #[serde(rename_all = "camelCase")]
    Run {
        /// The command line.
        command: String,
        /// The unique completion marker.
        marker: String,
        /// Whether the caller will not wait.
        no_wait: bool,
    },
    /// Resize the PTY; logged as `resize`; the manifest's cols/rows follow.
    Resize {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// Send a signal to the Session's process group; logged as `signal`.
    Signal {
        /// A name such as `SIGINT` or `INT`.
        signal: String,
    },
}

/// The host's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlResponse {
    /// Whether the request was carried out.
    pub ok: bool,
    /// The `seq` of the event logged for it, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Why not, when `ok` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ControlError>,
}

/// A refusal from the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlError {
    /// A contract error code.
    pub code: ErrorCode,
    /// What happened.
    pub message: String,
}

/// The directory holding this user's Session sockets, created 0700 if needed.
pub fn socket_dir() -> Result<PathBuf> {
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(d) if d.is_absolute() => d.join("agent-tty"),
        _ => PathBuf::from(format!("/tmp/agent-tty-{}", nix::unistd::getuid())),
    };
    match std::fs::symlink_metadata(&dir) {
        Ok(meta) => {
            let mine = meta.uid() == nix::unistd::getuid().as_raw();
            if !meta.is_dir() || !mine || meta.permissions().mode() & 0o077 != 0 {
                return Err(Error::invalid(
                    ErrorCode::StorageWriteError,
                    format!(
                        "{} must be a directory owned by you with mode 0700; remove it and try again",
                        dir.display()
                    ),
                ));
            }
        }
        Err(_) => crate::fsutil::create_dir_all_private(&dir).map_err(|e| Error::write(&dir, e))?,
    }
    Ok(dir)
}

/// The socket path of a Session. The Home is part of the name (hashed, to
/// stay within the 108-byte socket path limit) because a copied Home can hold
/// the same Session id as its original.
pub fn socket_path(home: &Path, session_id: &str) -> Result<PathBuf> {
    Ok(socket_dir()?.join(format!(
        "{session_id}-{:08x}.sock",
        fnv1a(home.as_os_str().as_encoded_bytes())
    )))
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Sends one request to a Session's host and waits for its answer.
///
/// Connection failures are `HOST_UNREACHABLE` (exit 6, retryable); no answer
/// within `timeout` is `HOST_TIMEOUT` (exit 5); a refusal comes back as the
/// host's own code (e.g. `INVALID_KEYS`).
pub fn send(socket: &Path, request: &ControlRequest, timeout: Duration) -> Result<ControlResponse> {
    let unreachable = |e: std::io::Error| {
        Error::invalid(
            ErrorCode::HostUnreachable,
            format!(
                "the Session's host is not answering on {} ({e}); check it with `agent-tty inspect <id>`",
                socket.display()
            ),
        )
    };
    let mut stream = UnixStream::connect(socket).map_err(unreachable)?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(unreachable)?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(unreachable)?;
    let mut line = serde_json::to_vec(request).expect("a request always serialises");
    line.push(b'\n');
    stream.write_all(&line).map_err(unreachable)?;
    let mut answer = String::new();
    BufReader::new(&stream)
        .read_line(&mut answer)
        .map_err(|e| {
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) {
                Error::invalid(
                    ErrorCode::HostTimeout,
                    format!(
                        "the Session's host did not answer within {} ms",
                        timeout.as_millis()
                    ),
                )
            } else {
                unreachable(e)
            }
        })?;
    let response: ControlResponse = serde_json::from_str(answer.trim_end()).map_err(|e| {
        Error::invalid(
            ErrorCode::ProtocolError,
            format!("the Session's host sent a malformed answer: {e}"),
        )
    })?;
    match (&response.ok, &response.error) {
        (false, Some(err)) => Err(Error::invalid(err.code, err.message.clone())),
        (false, None) => Err(Error::invalid(
            ErrorCode::RpcError,
            "the Session's host refused the request",
        )),
        _ => Ok(response),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_a_stable_wire_shape() {
        let r = ControlRequest::Run {
            command: "ls".into(),
            marker: "M".into(),
            no_wait: true,
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"type":"run","command":"ls","marker":"M","noWait":true}"#
        );
    }

    #[test]
    fn socket_names_differ_per_home() {
        let a = fnv1a(b"/homes/a");
        let b = fnv1a(b"/homes/b");
        assert_ne!(a, b);
    }
}
