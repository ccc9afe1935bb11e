use serde::{Deserialize, Serialize};
use std::fmt;

/// Every error code of the CLI contract, with its exit code. Shared by host and
/// plugins so the mapping from code to exit status lives in exactly one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum ErrorCode {
    InternalError,
    InvalidSessionId,
    InvalidDimensions,
    InvalidSignal,
    InvalidKeys,
    InvalidDuration,
    InvalidInput,
    PluginNotInstalled,
    SessionNotFound,
    SessionNotRunning,
    SessionAlreadyDestroyed,
    HostTimeout,
    HostUnreachable,
    ExportError,
    StorageReadError,
    StorageWriteError,
    ManifestValidationError,
    ProtocolError,
    RpcError,
    ReplayError,
    WaitTimeout,
    /// `skills get|path` of a name no bundled skill has. Exit 1, as in 0.5
    /// (which leaves it out of its exit-code map).
    SkillNotFound,
    /// The receiver does not know this request, event or capability kind: the
    /// peer is newer. Callers treat it as "not supported here", not a failure
    /// of the thing asked for.
    Unsupported,
    /// A plugin called a side-effecting capability without declaring the
    /// permission that guards it (see `PluginDescription::permissions`).
    PermissionDenied,
    /// A person has taken the Session over (`attach`): agent input is
    /// refused until they detach, unless forced. Exit 12, retryable.
    SessionControlled,
    /// `click`/`scroll` on a program that has not enabled mouse reporting:
    /// nothing was sent. Exit 13.
    MouseNotEnabled,
    /// `--remote`: ssh could not reach the machine or log in (ssh's own
    /// message is in `details.ssh`). Exit 14, retryable.
    RemoteUnreachable,
    /// `--remote`: the machine answered but has no agent-tty where it was
    /// looked for (`remote install NAME` copies this build there). Exit 15.
    RemoteNotInstalled,
    /// `--remote`: the machine's agent-tty is of another release, or did not
    /// answer with an envelope this one can read. Exit 16.
    RemoteVersionMismatch,
    /// An error code newer than this build. The peer's message and details are
    /// kept; it exits 1 like `INTERNAL_ERROR`.
    #[serde(other)]
    Unrecognized,
}

impl ErrorCode {
    /// The process exit status for this code (docs/CONTRACT.md §2.2).
    pub fn exit_code(self) -> i32 {
        use ErrorCode::*;
        match self {
            InternalError | SkillNotFound | Unsupported | Unrecognized | PermissionDenied => 1,
            InvalidSessionId | InvalidDimensions | InvalidSignal | InvalidKeys
            | InvalidDuration | InvalidInput | PluginNotInstalled => 2,
            SessionNotFound => 3,
            SessionNotRunning | SessionAlreadyDestroyed => 4,
            HostTimeout => 5,
            HostUnreachable => 6,
            ExportError => 7,
            StorageReadError | StorageWriteError | ManifestValidationError => 8,
            ProtocolError | RpcError => 9,
            ReplayError => 10,
            WaitTimeout => 11,
            SessionControlled => 12,
            MouseNotEnabled => 13,
            RemoteUnreachable => 14,
            RemoteNotInstalled => 15,
            RemoteVersionMismatch => 16,
        }
    }

    /// Whether trying the same thing again may succeed.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::HostUnreachable
                | ErrorCode::HostTimeout
                | ErrorCode::RpcError
                | ErrorCode::SessionControlled
                | ErrorCode::RemoteUnreachable
        )
    }

    /// The wire spelling, e.g. `SESSION_NOT_FOUND`.
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "INTERNAL_ERROR".to_owned())
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

/// A typed failure crossing the plugin boundary; the host renders it as the
/// error envelope and exits with [`ErrorCode::exit_code`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct PluginError {
    /// The contract's error code.
    pub code: ErrorCode,
    /// What happened and what to do next, for a person.
    pub message: String,
    /// Structured facts for scripts (paths, ids, versions).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
}

impl PluginError {
    /// An error with no details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        PluginError {
            code,
            message: message.into(),
            details: serde_json::Value::Null,
        }
    }

    /// Attaches structured details.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    /// Shorthand for `INTERNAL_ERROR`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }

    /// Shorthand for a usage error (`INVALID_INPUT`, exit 2; 0.5's name for every usage error).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }
}
