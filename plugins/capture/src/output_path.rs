//! Where a capture is written: the Session's `artifacts/` by default, or
//! `--out PATH`, resolved against the current directory, whose directory
//! must exist and be writable; `--out -` sends the bytes to stdout.
//!
//! `--out` only ever creates or replaces a regular file. Whatever else is
//! at the path (a FIFO, a socket, a device node such as `/dev/null`, a
//! directory, or a symlink to any of them, `/dev/stdout` on a terminal
//! included) is refused before anything is written: a capture renamed over
//! a device node would replace that node for everyone. A symlink to a
//! regular file writes that file (the link stays a link), but only a
//! symlink no one else could have planted: every link on the way, the last
//! one included, must be the user's own, or its directory's owner's in a
//! directory no one else can write
//! ([`agent_tty_core::safe_fs::may_follow_for_writing`]). Another user's
//! `p.png -> ~/victim` in `/tmp` is refused, never written through.

use agent_tty_core::safe_fs::{self, kind_of, Unresolved};
use agent_tty_plugin_api::{ErrorCode, PluginError};
use std::path::{Path, PathBuf};

/// Where `--out` sends a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    /// `--out -`: the bytes go to stdout, and the summary to stderr.
    Stdout,
    /// A regular file to create or replace (an absolute, real path).
    File(PathBuf),
}

/// Why `--out` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutError {
    /// Something other than a regular file is at the path: refused
    /// (`INVALID_INPUT`) rather than a failure to write.
    pub refused: bool,
    /// What is wrong, in words for the user.
    pub why: String,
}

impl OutError {
    fn refused(why: String) -> Self {
        OutError { refused: true, why }
    }
}

impl From<String> for OutError {
    fn from(why: String) -> Self {
        OutError {
            refused: false,
            why,
        }
    }
}

impl From<&str> for OutError {
    fn from(why: &str) -> Self {
        why.to_owned().into()
    }
}

/// The destination `--out` names; `Err` says what is wrong with it.
pub(crate) fn resolve_out(out: &str) -> Result<Destination, OutError> {
    if out.is_empty() {
        return Err(OutError::refused("--out must not be empty".into()));
    }
    if out == "-" {
        return Ok(Destination::Stdout);
    }
    let path = Path::new(out);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| format!("the current directory cannot be read ({e})"))?
            .join(path)
    };
    if absolute.file_name().is_none() {
        return Err(OutError::refused(format!(
            "--out {out:?} names a directory, not a file"
        )));
    }
    let resolved = safe_fs::resolve_for_writing(&absolute).map_err(|e| match e {
        Unresolved::Refused(why) => OutError::refused(format!(
            "--out {out:?} leads through a symlink someone else could have planted \
             ({why}); refused, nothing was written"
        )),
        Unresolved::Missing(dir, e) if e.raw_os_error() == Some(libc::ENOTDIR) => format!(
            "the directory of --out {out:?} is not a directory ({} is not one)",
            dir.display()
        )
        .into(),
        Unresolved::Missing(dir, e) if e.kind() == std::io::ErrorKind::NotFound => format!(
            "the directory of --out {out:?} does not exist ({} is missing)",
            dir.display()
        )
        .into(),
        Unresolved::Missing(dir, e) => format!(
            "the directory of --out {out:?} cannot be reached ({}: {e})",
            dir.display()
        )
        .into(),
    })?;
    let target = resolved.path;
    match resolved.last {
        None if resolved.through_link => {
            return Err(OutError::refused(format!(
                "--out {out:?} is a symlink that leads nowhere usable ({} does not \
                 exist); refused",
                target.display()
            )))
        }
        None => {}
        Some(st) if kind_of(&st) == "a regular file" => {}
        Some(st) if resolved.through_link => {
            return Err(OutError::refused(format!(
                "--out {out:?} is a symlink to {} ({}); --out only creates or replaces a \
                 regular file. Give a file path, or `--out -` for stdout",
                target.display(),
                kind_of(&st)
            )))
        }
        Some(st) => {
            return Err(OutError::refused(format!(
                "--out {out:?} is {}; --out only creates or replaces a regular file. Give \
                 a file path, or `--out -` for stdout",
                kind_of(&st)
            )))
        }
    }
    let dir = target.parent().unwrap_or(Path::new("/"));
    let c_dir = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
        .map_err(|_| format!("--out {out:?} is not a usable path"))?;
    // SAFETY: access(2) only reads the NUL-terminated path.
    if unsafe { libc::access(c_dir.as_ptr(), libc::W_OK) } != 0 {
        return Err(format!(
            "the directory of --out {out:?} is not writable; choose another --out"
        )
        .into());
    }
    Ok(Destination::File(target))
}

/// Why `--out` may not name `target` for a capture of the Session in
/// `session_dir`: its own artifact list or that list's lock. A capture
/// renamed over the list would be listed in nothing and lose every entry,
/// and one over the lock would let two writers change the list at once.
pub(crate) fn artifact_store_clash(target: &Path, session_dir: &Path) -> Option<String> {
    use agent_tty_core::layout::{self, SessionDir};
    let name = target.file_name()?;
    let store = [
        layout::artifacts::MANIFEST.name,
        layout::artifacts::MANIFEST_LOCK.name,
    ];
    if !store.iter().any(|s| name == *s) {
        return None;
    }
    let artifacts = SessionDir::new(session_dir)
        .artifacts()
        .canonicalize()
        .ok()?;
    (target.parent() == Some(artifacts.as_path())).then(|| {
        format!(
            "--out {} is the Session's own artifact list; choose another path",
            target.display()
        )
    })
}

/// The `INVALID_INPUT` refusing `--out OUT` for `why`, in `request`'s
/// words ("Screenshot", "Record export"), with the path in its details.
pub(crate) fn refused_out(request: &str, why: &str, out: &str) -> PluginError {
    PluginError::new(
        ErrorCode::InvalidInput,
        format!("{request} request is invalid: {why}."),
    )
    .with_details(serde_json::json!({ "out": out }))
}

/// Writes `bytes` to stdout (`--out -`) and flushes.
pub(crate) fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_or_stdout_are_destinations() {
        let tmp = tempfile::tempdir().unwrap();
        let p = |n: &str| tmp.path().join(n);
        let s = |p: &Path| p.to_str().unwrap().to_owned();
        std::fs::write(p("file"), b"old").unwrap();
        std::fs::create_dir(p("dir")).unwrap();
        nix::unistd::mkfifo(&p("fifo"), nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(p("socket")).unwrap();
        std::os::unix::fs::symlink(p("fifo"), p("to-fifo")).unwrap();
        std::os::unix::fs::symlink(p("file"), p("to-file")).unwrap();
        std::os::unix::fs::symlink(p("gone"), p("dangling")).unwrap();
        assert_eq!(resolve_out("-"), Ok(Destination::Stdout));
        let real = |n: &str| p(n).parent().unwrap().canonicalize().unwrap().join(n);
        assert_eq!(
            resolve_out(&s(&p("new"))),
            Ok(Destination::File(real("new")))
        );
        assert_eq!(
            resolve_out(&s(&p("file"))),
            Ok(Destination::File(real("file")))
        );
        assert_eq!(
            resolve_out(&s(&p("to-file"))),
            Ok(Destination::File(real("file")))
        );
        for (name, says) in [
            ("dir", "a directory"),
            ("fifo", "a FIFO"),
            ("socket", "a socket"),
            ("to-fifo", "a FIFO"),
            ("dangling", "leads nowhere"),
        ] {
            let err = resolve_out(&s(&p(name))).unwrap_err();
            assert!(err.refused && err.why.contains(says), "{name}: {err:?}");
        }
        if nix::unistd::geteuid().is_root() {
            // A device node of our own, in the temp dir (never one in /dev).
            nix::sys::stat::mknod(
                &p("null"),
                nix::sys::stat::SFlag::S_IFCHR,
                nix::sys::stat::Mode::from_bits_truncate(0o600),
                nix::sys::stat::makedev(1, 3),
            )
            .unwrap();
            let err = resolve_out(&s(&p("null"))).unwrap_err();
            assert!(
                err.refused && err.why.contains("a character device"),
                "{err:?}"
            );
        } else {
            eprintln!("SKIP (device node case): needs root for mknod");
        }
    }

    /// The symlinks `--out` follows are those no one else could have
    /// planted: the user's own anywhere, another user's only in a directory
    /// of theirs that no one else can write. Checked on every component,
    /// the last and those on the way.
    #[test]
    fn another_users_symlink_is_followed_only_in_a_directory_no_one_else_writes() {
        use std::os::unix::fs::{lchown, symlink, PermissionsExt};
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIP: needs root to give a symlink to another user (uid 65534)");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let victim = root.join("victim");
        std::fs::write(&victim, b"data").unwrap();
        let dir = |name: &str, mode: u32, owner: u32| {
            let d = root.join(name);
            std::fs::create_dir(&d).unwrap();
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).unwrap();
            lchown(&d, Some(owner), None).unwrap();
            d
        };
        let link = |at: &Path, to: &Path, owner: u32| {
            symlink(to, at).unwrap();
            lchown(at, Some(owner), None).unwrap();
            at.to_str().unwrap().to_owned()
        };
        let sticky = dir("sticky", 0o1777, 0);
        let open = dir("open", 0o777, 0);
        let theirs = dir("theirs", 0o755, 65534);
        let shared = dir("shared", 0o775, 65534);
        let elsewhere = dir("elsewhere", 0o755, 0);
        let refused = |out: &str| {
            let err = resolve_out(out).unwrap_err();
            assert!(err.refused, "{out}: {err:?}");
            assert!(err.why.contains("uid 65534"), "{out}: {err:?}");
        };
        // Another user's link in a sticky world-writable directory, at the
        // last component or on the way.
        refused(&link(&sticky.join("p.png"), &victim, 65534));
        let on_the_way = link(&sticky.join("d"), &elsewhere, 65534);
        refused(&format!("{on_the_way}/new.png"));
        // In their own directory that their group can write too.
        refused(&link(&shared.join("p.png"), &victim, 65534));
        // Ours, even in a directory anyone may write.
        let ours = Ok(Destination::File(victim.clone()));
        assert_eq!(resolve_out(&link(&sticky.join("mine"), &victim, 0)), ours);
        assert_eq!(resolve_out(&link(&open.join("mine"), &victim, 0)), ours);
        // Theirs in a directory only they can write: theirs to point.
        assert_eq!(
            resolve_out(&link(&theirs.join("p.png"), &victim, 65534)),
            ours
        );
        assert_eq!(std::fs::read(&victim).unwrap(), b"data");
    }
}
