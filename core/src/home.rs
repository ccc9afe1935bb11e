//! Homes: which one a command uses, its canonical form, and the paths inside it.

use crate::error::{Error, Result};
use crate::fsutil;
use crate::layout::{self, HomeDir, SessionDir};
use crate::safe_fs;
use crate::session_id::SessionId;
use agent_tty_protocol::{ErrorCode, HomeChoice};
use std::path::{Component, Path, PathBuf};

/// The environment variable that selects a Home.
pub const HOME_ENV: &str = "AGENT_TTY_HOME";

/// Picks the Home: `--home`, then `AGENT_TTY_HOME`, else `~/.agent-tty`.
///
/// The first two are *explicit* (gc, for one, scopes itself to an explicit
/// Home). Relative paths are refused rather than resolved against whatever
/// directory the command happened to run in, because a Home is a long-lived
/// place and a relative name would silently point elsewhere next time.
pub fn resolve_home(
    flag: Option<&str>,
    env_value: Option<&str>,
    os_home: Option<&Path>,
) -> Result<HomeChoice> {
    let (raw, explicit, source) = match (flag, env_value) {
        (Some(f), _) => (PathBuf::from(f), true, Source::Flag),
        (None, Some(e)) => (PathBuf::from(e), true, Source::Env),
        (None, None) => {
            let base = os_home.ok_or_else(|| {
                Error::invalid(
                    ErrorCode::InvalidInput,
                    "cannot find your user directory to place the default Home ~/.agent-tty; \
                     pass --home <absolute path> or set AGENT_TTY_HOME",
                )
            })?;
            (base.join(".agent-tty"), false, Source::Default)
        }
    };
    // 0.5's wording exactly ("--home must not be empty." / "… must be an
    // absolute path."): scripts match it; the value is in `details.home`.
    let name = match source {
        Source::Flag => "--home",
        Source::Env => HOME_ENV,
        Source::Default => "$HOME",
    };
    let shown = raw.display().to_string();
    let refuse = |message: String| {
        Error::Plugin(
            agent_tty_protocol::PluginError::new(ErrorCode::InvalidInput, message)
                .with_details(serde_json::json!({ "source": source.as_str(), "home": shown })),
        )
    };
    if raw.as_os_str().is_empty() {
        return Err(refuse(format!("{name} must not be empty.")));
    }
    if !raw.is_absolute() {
        let message = match source {
            // 0.5's words exactly (the value is in `details.home`).
            Source::Flag | Source::Env => format!("{name} must be an absolute path."),
            Source::Default => format!(
                "the default Home {shown:?} is not absolute because $HOME is relative; \
                 pass --home <absolute path> or set {HOME_ENV}"
            ),
        };
        return Err(refuse(message));
    }
    Ok(HomeChoice {
        path: canonical_path(&raw).to_string_lossy().into_owned(),
        explicit,
    })
}

/// The canonical form of a Home path: absolute, `.`/`..` folded, then
/// symlinks resolved when the directory exists. A path that no longer exists
/// keeps its normalised form so it can still be matched and forgotten.
pub fn canonical_path(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_owned())
    };
    let normal = normalise(&absolute);
    std::fs::canonicalize(&normal).unwrap_or(normal)
}

/// Folds `.` and `..` and drops trailing slashes, without touching the disk.
pub fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push("/");
    }
    out
}

/// Where a Home choice came from, for messages.
#[derive(Clone, Copy)]
enum Source {
    Flag,
    Env,
    Default,
}

impl Source {
    /// The `details.source` of a refused Home.
    fn as_str(self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::Env => "env",
            Source::Default => "default",
        }
    }
}

/// Checks a Session id and returns its directory. Ids come from users and
/// scripts, so anything that could leave `sessions/` is refused before any
/// path is built from it ([`SessionId`]).
pub fn session_dir(home: &Path, session_id: &str) -> Result<PathBuf> {
    Ok(HomeDir::new(home).session(&SessionId::new(session_id)?))
}

/// The directory of an existing Session: the id checked as
/// [`session_dir`] does (`INVALID_SESSION_ID`), then `SESSION_NOT_FOUND`
/// when the Home has no manifest for it. The one lookup every command that
/// names a Session uses; the manifest itself is not read here.
///
/// What is there is looked at without following a symlink, so no command
/// acts through one: a Session directory that is a symlink (to another
/// Home's Session, say) or not a directory is refused with the message
/// `destroy` and reconcile give ([`safe_fs::open_refusal`],
/// `STORAGE_READ_ERROR`), and a manifest that is there but is not a regular
/// file (a FIFO, a directory, a device node, a symlink) is
/// `STORAGE_READ_ERROR` naming it, as reading it would be: the Session
/// exists, so it is never `SESSION_NOT_FOUND`.
pub fn existing_session_dir(home: &Path, session_id: &str) -> Result<PathBuf> {
    let dir = session_dir(home, session_id)?;
    let not_found = || Error::SessionNotFound {
        id: session_id.to_owned(),
        home: home.to_owned(),
    };
    let pinned = match safe_fs::DirFd::open(&dir) {
        Ok(pinned) => pinned,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) => {
            return Err(safe_fs::Untrusted {
                reason: safe_fs::open_refusal("the Session directory", &dir, &e),
                path: dir,
            }
            .into())
        }
        Err(e) => return Err(Error::read(&dir, e)),
    };
    let manifest = SessionDir::new(&dir).manifest();
    match pinned.stat_child(layout::session::MANIFEST.name) {
        Ok(st) if safe_fs::is_regular(&st) => Ok(dir),
        Ok(st) => Err(Error::read(
            &manifest,
            safe_fs::not_regular(safe_fs::kind_of(&st)),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(not_found()),
        Err(e) => Err(Error::read(&manifest, e)),
    }
}

/// Creates the Home and its `sessions/` when missing. A Home the tool creates
/// gets mode 0700; an existing one is never re-moded.
pub fn ensure_home(home: &Path) -> Result<()> {
    if !home.exists() {
        fsutil::create_dir_all_private(home).map_err(|e| Error::write(home, e))?;
    }
    let sessions = HomeDir::new(home).sessions();
    if !sessions.exists() {
        fsutil::create_dir_all_private(&sessions).map_err(|e| Error::write(&sessions, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// The one Session lookup refuses a symlinked (or non-directory)
    /// Session directory with `destroy`'s message, whatever command asks,
    /// and a manifest that is there but not a regular file is a read error
    /// naming what it is, never SESSION_NOT_FOUND.
    #[test]
    fn a_session_is_found_only_as_a_real_directory_with_a_regular_manifest() {
        let tmp = tempfile::tempdir().unwrap();
        let (home, other) = (tmp.path().join("home"), tmp.path().join("other"));
        let id = "01JD3Z6X8K4M2N5P7Q9R1S3T5V";
        for h in [&home, &other] {
            std::fs::create_dir_all(h.join("sessions").join(id)).unwrap();
            std::fs::write(h.join("sessions").join(id).join("session.json"), b"{}").unwrap();
        }
        let dir = home.join("sessions").join(id);
        assert_eq!(existing_session_dir(&home, id).unwrap(), dir);
        let code = |r: Result<PathBuf>| r.unwrap_err().code();
        assert_eq!(
            code(existing_session_dir(&home, "01JD3Z6X8K4M2N5P7Q9R1S3T5W")),
            ErrorCode::SessionNotFound
        );
        // A symlink to another Home's Session, then a plain file.
        std::fs::remove_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink(other.join("sessions").join(id), &dir).unwrap();
        let e = existing_session_dir(&home, id).unwrap_err();
        assert_eq!(e.code(), ErrorCode::StorageReadError);
        let refusal = crate::safe_fs::check_session_chain(&dir).unwrap_err();
        assert_eq!(e.to_string(), refusal.reason, "the same words as destroy's");
        assert!(e.to_string().contains("symlink"), "{e}");
        std::fs::remove_file(&dir).unwrap();
        std::fs::write(&dir, b"").unwrap();
        assert!(existing_session_dir(&home, id)
            .unwrap_err()
            .to_string()
            .contains("not a directory"));
        std::fs::remove_file(&dir).unwrap();
        // A manifest that is not a regular file.
        std::fs::create_dir(&dir).unwrap();
        let manifest = dir.join("session.json");
        std::fs::create_dir(&manifest).unwrap();
        let e = existing_session_dir(&home, id).unwrap_err();
        assert_eq!(e.code(), ErrorCode::StorageReadError, "{e}");
        assert!(e.to_string().contains("a directory"), "{e}");
        std::fs::remove_dir(&manifest).unwrap();
        nix::unistd::mkfifo(&manifest, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = existing_session_dir(&home, id).unwrap_err();
        assert_eq!(e.code(), ErrorCode::StorageReadError, "{e}");
        assert!(e.to_string().contains("a FIFO"), "{e}");
        // Being made: a directory without a manifest yet.
        std::fs::remove_file(&manifest).unwrap();
        assert_eq!(
            code(existing_session_dir(&home, id)),
            ErrorCode::SessionNotFound
        );
    }

    #[rstest]
    #[case(Some("/tmp/flag"), Some("/tmp/env"), "/tmp/flag", true)]
    #[case(None, Some("/tmp/env"), "/tmp/env", true)]
    #[case(None, None, "/users/me/.agent-tty", false)]
    fn resolution_order(
        #[case] flag: Option<&str>,
        #[case] env: Option<&str>,
        #[case] expected: &str,
        #[case] explicit: bool,
    ) {
        let choice = resolve_home(flag, env, Some(Path::new("/users/me"))).unwrap();
        // /tmp may itself be a symlink on some systems; compare the canonical form.
        assert_eq!(
            choice.path,
            canonical_path(Path::new(expected)).to_string_lossy()
        );
        assert_eq!(choice.explicit, explicit);
    }

    #[rstest]
    #[case(Some("relative/home"), None)]
    #[case(None, Some("relative"))]
    #[case(Some(""), None)]
    #[case(None, Some(""))]
    fn relative_homes_are_usage_errors(#[case] flag: Option<&str>, #[case] env: Option<&str>) {
        let err = resolve_home(flag, env, Some(Path::new("/users/me"))).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        assert!(
            err.to_string().contains("must be an absolute path.")
                || err.to_string().contains("must not be empty."),
            "{err}"
        );
        assert!(!err.to_string().contains("default"), "{err}");
    }

    #[test]
    fn a_relative_user_directory_is_explained() {
        let err = resolve_home(None, None, Some(Path::new("relhome"))).unwrap_err();
        assert!(err.to_string().contains("$HOME is relative"), "{err}");
    }

    #[rstest]
    #[case("/a/b/../c/./d/", "/a/c/d")]
    #[case("/a/..", "/")]
    #[case("/../..", "/")]
    fn normalises(#[case] input: &str, #[case] expected: &str) {
        assert_eq!(normalise(Path::new(input)), PathBuf::from(expected));
    }

    #[test]
    fn canonical_path_resolves_symlinks_of_existing_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(canonical_path(&link), std::fs::canonicalize(&real).unwrap());
        let gone = tmp.path().join("gone/../gone2/");
        assert_eq!(canonical_path(&gone), normalise(&tmp.path().join("gone2")));
    }

    #[test]
    fn a_session_dir_is_built_only_from_a_checked_id() {
        let home = Path::new("/h");
        assert_eq!(
            session_dir(home, "01JD3Z6X8K4M2N5P7Q9R1S3T5V").unwrap(),
            Path::new("/h/sessions/01JD3Z6X8K4M2N5P7Q9R1S3T5V")
        );
        for bad in ["../etc", "a/b", ".."] {
            assert_eq!(
                session_dir(home, bad).unwrap_err().code(),
                ErrorCode::InvalidSessionId
            );
        }
    }

    #[test]
    fn ensure_home_creates_private_dirs_and_leaves_existing_modes() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("new-home");
        ensure_home(&home).unwrap();
        let mode = std::fs::metadata(&home).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let mine = tmp.path().join("mine");
        std::fs::create_dir(&mine).unwrap();
        std::fs::set_permissions(&mine, std::fs::Permissions::from_mode(0o755)).unwrap();
        ensure_home(&mine).unwrap();
        let mode = std::fs::metadata(&mine).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
    }
}
