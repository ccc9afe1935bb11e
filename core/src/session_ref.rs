//! How a command line names a Session: by its full id (as in agent-tty
//! 0.5), by a unique prefix of its id, or by the `--name` it was created
//! with. Every command that takes a Session id resolves it here, so they all
//! accept the same names and refuse the same ones.
//!
//! Order: the text is validated as an id first (`INVALID_SESSION_ID` for
//! anything that could leave `sessions/`, e.g. `../x`), then an exact id
//! wins; only when there is none are the Home's Sessions scanned for ids
//! starting with it and for names equal to it. Two or more candidates are
//! `INVALID_INPUT` listing them (never a guess: the command may be
//! `destroy`). No candidate is `SESSION_NOT_FOUND`; when another Home in
//! the Home Registry has a Session with that exact id, the error names it.

use crate::error::{Error, Result};
use crate::home::{self, existing_session_dir};
use crate::layout::HomeDir;
use crate::manifest::read_manifest;
use crate::registry::HomeRegistry;
use crate::session_id::SessionId;
use agent_tty_protocol::{ErrorCode, PluginError};
use serde_json::json;
use std::path::{Path, PathBuf};

/// A Session a command line named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRef {
    /// Its full id.
    pub id: SessionId,
    /// `<home>/sessions/<id>`.
    pub dir: PathBuf,
}

/// One Session a prefix or name could mean.
struct Candidate {
    id: String,
    name: Option<String>,
}

/// Finds the Session `given` names in `home` (see the module docs).
pub fn resolve_session(home: &Path, given: &str) -> Result<SessionRef> {
    let exact = SessionId::new(given)?;
    let not_found = match existing_session_dir(home, given) {
        Ok(dir) => return Ok(SessionRef { id: exact, dir }),
        Err(e @ Error::SessionNotFound { .. }) => e,
        Err(e) => return Err(e),
    };
    let mut candidates = candidates(home, given);
    match candidates.len() {
        0 => Err(elsewhere_hint(home, given, not_found)),
        1 => {
            let id = SessionId::new(candidates.remove(0).id)?;
            let dir = existing_session_dir(home, &id)?;
            Ok(SessionRef { id, dir })
        }
        _ => Err(ambiguous(given, &candidates)),
    }
}

/// The Home's Sessions whose id starts with `given` or whose name is
/// `given`, sorted by id. Directories that are symlinks, or whose manifest
/// cannot be read, are not Sessions anyone can name here.
fn candidates(home: &Path, given: &str) -> Vec<Candidate> {
    let Ok(entries) = std::fs::read_dir(HomeDir::new(home).sessions()) else {
        return Vec::new();
    };
    let mut found: Vec<Candidate> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let id = entry.file_name().into_string().ok()?;
            if id.starts_with('.')
                || SessionId::check(&id).is_err()
                || !entry.file_type().ok()?.is_dir()
            {
                return None;
            }
            let manifest = read_manifest(&entry.path()).ok()?;
            (id.starts_with(given) || manifest.name.as_deref() == Some(given)).then_some(
                Candidate {
                    id,
                    name: manifest.name,
                },
            )
        })
        .collect();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found
}

fn ambiguous(given: &str, candidates: &[Candidate]) -> Error {
    let listed: Vec<String> = candidates
        .iter()
        .map(|c| match &c.name {
            Some(name) => format!(
                "{} ({})",
                crate::text::escape(&c.id),
                crate::text::escape(name)
            ),
            None => crate::text::escape(&c.id).into_owned(),
        })
        .collect();
    Error::Plugin(
        PluginError::new(
            ErrorCode::InvalidInput,
            format!(
                "{:?} could mean {} Sessions: {}; give more of the id",
                crate::text::escape(given),
                candidates.len(),
                listed.join(", ")
            ),
        )
        .with_details(json!({
            "sessionId": given,
            "candidates": candidates
                .iter()
                .map(|c| json!({ "sessionId": c.id, "name": c.name }))
                .collect::<Vec<_>>(),
        })),
    )
}

/// `not_found`, with a hint when another registered Home has a Session
/// with exactly this id: the likely mistake is the Home, not the id.
fn elsewhere_hint(home: &Path, id: &str, not_found: Error) -> Error {
    let Ok(registry) = HomeRegistry::from_env() else {
        return not_found;
    };
    let here = home::canonical_path(home);
    let other = registry.read().homes.into_iter().find(|entry| {
        let other = Path::new(&entry.path);
        other != here && existing_session_dir(other, id).is_ok()
    });
    let Some(other) = other else {
        return not_found;
    };
    let mut error = PluginError::from(not_found);
    error.message = format!(
        "{} It is in another Home, {}: add --home {}",
        error.message.trim_end(),
        crate::text::escape(&other.path),
        crate::text::escape(&other.path)
    );
    if let Some(details) = error.details.as_object_mut() {
        details.insert("otherHome".into(), json!(other.path));
    }
    Error::Plugin(error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::write_manifest;
    use crate::test_support::sample;

    fn session(home: &Path, id: &str, name: Option<&str>) {
        let dir = HomeDir::new(home).sessions().join(id);
        std::fs::create_dir_all(&dir).unwrap();
        let mut m = sample();
        m.session_id = id.to_owned();
        m.name = name.map(str::to_owned);
        write_manifest(&dir, &m).unwrap();
    }

    #[test]
    fn full_ids_prefixes_and_names_resolve() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path();
        session(home, "01AAAA", Some("build"));
        session(home, "01ABBB", None);
        session(home, "01B", Some("01A"));
        let id = |given: &str| resolve_session(home, given).map(|r| r.id);
        assert_eq!(id("01AAAA").unwrap(), "01AAAA");
        assert_eq!(id("01AA").unwrap(), "01AAAA");
        assert_eq!(id("build").unwrap(), "01AAAA");
        // An exact id wins over a name and a longer id it prefixes.
        assert_eq!(id("01B").unwrap(), "01B");
        assert_eq!(
            resolve_session(home, "01AB").unwrap().dir,
            HomeDir::new(home).sessions().join("01ABBB")
        );
    }

    #[test]
    fn an_ambiguous_prefix_or_name_lists_the_candidates() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path();
        session(home, "01AAAA", None);
        session(home, "01ABBB", None);
        session(home, "01C", Some("01A"));
        let err = PluginError::from(resolve_session(home, "01A").unwrap_err());
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(
            err.message
                .contains("could mean 3 Sessions: 01AAAA, 01ABBB, 01C (01A)"),
            "{}",
            err.message
        );
        assert_eq!(err.details["candidates"][2]["name"], "01A");
    }

    #[test]
    fn path_tricks_and_unknown_names_are_refused_as_before() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path();
        session(home, "01AAAA", None);
        let code = |given: &str| resolve_session(home, given).unwrap_err().code();
        assert_eq!(code("../x"), ErrorCode::InvalidSessionId);
        assert_eq!(code(".."), ErrorCode::InvalidSessionId);
        assert_eq!(code("nope"), ErrorCode::SessionNotFound);
    }
}
