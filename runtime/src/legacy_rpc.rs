//! agent-tty 0.5's host protocol (contract §7.2, §7.3), both ends' shared
//! facts: where a 0.5 host's socket is, how to check its directory is safe,
//! and a client for it.
//!
//! **Location.** `/tmp/agent-tty/<first 8 hex of sha256(home)>/<first 12 hex
//! of sha256(sessionId)>`, with the Home exactly as resolved. `/tmp` is
//! shared by every user, so a directory there is only trusted when it is a
//! real directory (not a symlink), owned by this user and writable by nobody
//! else: otherwise another user could have made it, and could stand in for a
//! Session's host (read what we send, answer what they like) or block it.
//! [`check_dir`] says which of these failed, so the caller can name it.
//!
//! **Protocol.** One connection per request: the client writes one JSON line
//! `{"id", "method", "params"}`, the host answers one line `{"id", "ok":
//! true, "result"}` or `{"id", "ok": false, "error": {"code", "message"}}`
//! and closes. Lines are at most 1 MiB both ways.

use crate::control::{exchange_line, Exchange};
use agent_tty_core::error::ErrorCode;
use agent_tty_core::error::{Error, Result};
use serde_json::{json, Value};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The shared parent of every 0.5 socket directory.
pub const ROOT: &str = "/tmp/agent-tty";
/// The longest request or response line (1 MiB).
pub const MAX_LINE: u64 = 1024 * 1024;

/// The first `take` hex digits of sha256(`bytes`).
fn sha256_hex(bytes: &[u8], take: usize) -> String {
    let mut hex = agent_tty_core::artifacts::sha256_hex(bytes);
    hex.truncate(take);
    hex
}

/// `/tmp/agent-tty/<h8>`: the directory of a Home's 0.5 sockets.
pub fn socket_dir(home: &Path) -> PathBuf {
    Path::new(ROOT).join(sha256_hex(home.as_os_str().as_encoded_bytes(), 8))
}

/// Where agent-tty 0.5 puts (and looks for) a Session's host socket.
pub fn socket_path(home: &Path, session_id: &str) -> PathBuf {
    socket_dir(home).join(sha256_hex(session_id.as_bytes(), 12))
}

/// Why a directory under `/tmp` cannot be trusted, or `Ok` when it can: a
/// real directory, owned by this user, not writable by group or others.
pub fn check_dir(dir: &Path) -> std::result::Result<(), String> {
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| format!("{} cannot be inspected: {e}", dir.display()))?;
    if meta.file_type().is_symlink() {
        return Err(format!("{} is a symbolic link", dir.display()));
    }
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let me = nix::unistd::getuid().as_raw();
    if meta.uid() != me {
        return Err(format!(
            "{} belongs to user id {}, not to you (user id {me})",
            dir.display(),
            meta.uid()
        ));
    }
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(format!(
            "{} is writable by other users (mode {:o})",
            dir.display(),
            meta.permissions().mode() & 0o777
        ));
    }
    Ok(())
}

/// Checks `/tmp/agent-tty` and the Home's directory below it.
pub fn check_socket_dirs(home: &Path) -> std::result::Result<(), String> {
    check_dir(Path::new(ROOT))?;
    check_dir(&socket_dir(home))
}

/// A successful answer's `result`, or the error the host (or the
/// connection) gave, mapped as 0.5's client maps it (§7.3): refused or
/// missing socket, reset connection → `HOST_UNREACHABLE`; no answer within
/// `timeout` → `HOST_TIMEOUT`; the host's own error codes pass through;
/// anything else → `RPC_ERROR`; a malformed answer → `PROTOCOL_ERROR`.
pub fn call(socket: &Path, method: &str, params: Value, timeout: Duration) -> Result<Value> {
    let unreachable = |e: std::io::Error| {
        Error::invalid(
            ErrorCode::HostUnreachable,
            format!(
                "the agent-tty 0.5 host is not answering on {} ({e})",
                socket.display()
            ),
        )
    };
    let timed_out = || {
        Error::invalid(
            ErrorCode::HostTimeout,
            format!(
                "the agent-tty 0.5 host did not answer `{method}` within {} ms",
                timeout.as_millis()
            ),
        )
    };
    let id = ulid::Ulid::new().to_string();
    let line = serde_json::to_vec(&json!({ "id": id, "method": method, "params": params }))
        .expect("a request serialises");
    let answer = exchange_line(socket, &line, timeout, MAX_LINE).map_err(|e| match e {
        Exchange::TimedOut => timed_out(),
        Exchange::Io(e) => unreachable(e),
    })?;
    if !answer.ends_with('\n') {
        return Err(if answer.is_empty() {
            unreachable(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
        } else {
            Error::invalid(
                ErrorCode::RpcError,
                format!("the agent-tty 0.5 host's answer to `{method}` ended early"),
            )
        });
    }
    let malformed = |why: &str| {
        Error::invalid(
            ErrorCode::ProtocolError,
            format!("the agent-tty 0.5 host answered `{method}` with {why}"),
        )
    };
    let response: Value =
        serde_json::from_str(answer.trim_end()).map_err(|_| malformed("invalid JSON"))?;
    match response["ok"].as_bool() {
        Some(true) => Ok(response.get("result").cloned().unwrap_or(Value::Null)),
        Some(false) => {
            let code = response["error"]["code"].as_str().unwrap_or("RPC_ERROR");
            let message = response["error"]["message"]
                .as_str()
                .unwrap_or("RPC request failed.");
            let code = serde_json::from_value::<ErrorCode>(json!(code))
                .ok()
                .filter(|c| c.as_str() == code)
                .unwrap_or(ErrorCode::RpcError);
            Err(Error::invalid(code, message.to_owned()))
        }
        None => Err(malformed("no `ok` field")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_paths_hash_the_home_and_the_session_id() {
        let p = socket_path(Path::new("/h"), "S");
        let expected_dir = sha256_hex(b"/h", 8);
        assert_eq!(
            p,
            Path::new(ROOT)
                .join(expected_dir)
                .join(sha256_hex(b"S", 12))
        );
        assert_eq!(p.file_name().unwrap().len(), 12);
        // Trailing-slash variants are different Homes, as in 0.5.
        assert_ne!(socket_dir(Path::new("/h")), socket_dir(Path::new("/h/")));
    }

    #[test]
    fn only_private_directories_of_ours_are_trusted() {
        let tmp = tempfile::tempdir().unwrap();
        let ok = tmp.path().join("ok");
        std::fs::create_dir(&ok).unwrap();
        std::fs::set_permissions(&ok, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(check_dir(&ok), Ok(()));
        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(check_dir(&open)
            .unwrap_err()
            .contains("writable by other users"));
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&ok, &link).unwrap();
        assert!(check_dir(&link).unwrap_err().contains("symbolic link"));
    }
}
