//! [`SessionId`]: a Session's id, checked once, when it is made.
//!
//! An id names a directory under `<home>/sessions/` and comes from users,
//! scripts, listings and files that may be hostile, so anything that could
//! leave `sessions/` (a separator, `.`/`..`, a NUL or control character, an
//! empty or overlong name) is refused before any path is built from it.
//! Ids agent-tty makes are ULIDs, but 0.5's Homes and scripts may hold other
//! names, so any name that passes these checks is an id.

use crate::error::{Error, Result};
use agent_tty_protocol::ErrorCode;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest id accepted, in bytes.
pub const MAX_SESSION_ID_BYTES: usize = 128;

/// A checked Session id. On disk and on the wire it is the same JSON
/// string it always was (serde goes through `String`); only a string that
/// passes [`SessionId::new`]'s checks becomes one, so deserializing a
/// hostile id fails rather than yielding a path outside `sessions/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SessionId(String);

impl SessionId {
    /// Checks `id` and makes it a Session id, or `INVALID_SESSION_ID`
    /// saying what an id looks like.
    pub fn new(id: impl Into<String>) -> Result<SessionId> {
        let id = id.into();
        SessionId::check(&id)?;
        Ok(SessionId(id))
    }

    /// A new id: a ULID, as every Session agent-tty creates gets.
    pub fn generate() -> SessionId {
        SessionId(ulid::Ulid::new().to_string())
    }

    /// The checks [`SessionId::new`] makes, for text that is only looked
    /// at (a directory entry, a name on the command line).
    pub fn check(id: &str) -> Result<()> {
        let bad = id.is_empty()
            || id == "."
            || id == ".."
            || id.len() > MAX_SESSION_ID_BYTES
            // One pass (a listing checks 5000 ids, ADR 0023); NUL is a
            // control character.
            || id.chars().any(|c| matches!(c, '/' | '\\') || c.is_control());
        if bad {
            return Err(Error::invalid(
                ErrorCode::InvalidSessionId,
                format!(
                    "{id:?} is not a valid Session id; ids look like 01JD3Z6X8K4M2N5P7Q9R1S3T5V \
                     (see `agent-tty list --all`)"
                ),
            ));
        }
        Ok(())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::ops::Deref for SessionId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SessionId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<std::path::Path> for SessionId {
    fn as_ref(&self) -> &std::path::Path {
        std::path::Path::new(&self.0)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for SessionId {
    type Err = Error;
    fn from_str(s: &str) -> Result<SessionId> {
        SessionId::new(s)
    }
}

impl TryFrom<String> for SessionId {
    type Error = Error;
    fn try_from(id: String) -> Result<SessionId> {
        SessionId::new(id)
    }
}

impl TryFrom<&str> for SessionId {
    type Error = Error;
    fn try_from(id: &str) -> Result<SessionId> {
        SessionId::new(id)
    }
}

impl From<SessionId> for String {
    fn from(id: SessionId) -> String {
        id.0
    }
}

impl PartialEq<str> for SessionId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for SessionId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for SessionId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("../etc")]
    #[case("a/b")]
    #[case("a\\b")]
    #[case("..")]
    #[case(".")]
    #[case("")]
    #[case("nul\0byte")]
    #[case("new\nline")]
    #[case(&"x".repeat(MAX_SESSION_ID_BYTES + 1))]
    fn ids_that_could_leave_sessions_are_refused(#[case] id: &str) {
        let err = SessionId::new(id).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidSessionId);
        assert!(
            err.to_string().contains("is not a valid Session id"),
            "{err}"
        );
        assert_eq!(
            SessionId::check(id).unwrap_err().code(),
            ErrorCode::InvalidSessionId
        );
    }

    #[rstest]
    #[case("01JD3Z6X8K4M2N5P7Q9R1S3T5V")]
    #[case("my-session")]
    #[case(".hidden-but-one-component")]
    #[case(&"x".repeat(MAX_SESSION_ID_BYTES))]
    fn single_safe_names_are_ids(#[case] id: &str) {
        let parsed = SessionId::new(id).unwrap();
        assert_eq!(parsed.as_str(), id);
        assert_eq!(parsed, id);
        assert_eq!(parsed.to_string(), id);
    }

    #[test]
    fn the_json_form_is_the_plain_string_and_a_hostile_one_does_not_parse() {
        let id = SessionId::generate();
        assert_eq!(id.len(), 26, "a ULID");
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        let back: SessionId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        let err = serde_json::from_str::<SessionId>("\"../../etc\"").unwrap_err();
        assert!(err.to_string().contains("not a valid Session id"), "{err}");
    }
}
