//! File primitives with the durability and privacy the formats require.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Writes `bytes` to `path` atomically: a same-directory temp file created
/// with `create_new` and `mode`, fsynced, renamed over `path`, then the
/// directory fsynced. Readers see the old content or the new, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    replace(path, bytes, mode, true)
}

/// [`write_atomic`] without the fsyncs: readers still never see a torn file,
/// but after a crash the file may hold its old content or be missing. For
/// files about to be rewritten durably anyway, or advisory ones, where two
/// fsyncs (milliseconds on a real disk) would sit on a latency-critical path.
pub fn write_atomic_unsynced(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    replace(path, bytes, mode, false)
}

fn replace(path: &Path, bytes: &[u8], mode: u32, durable: bool) -> io::Result<()> {
    replace_with(path, mode, durable, |file| file.write_all(bytes), || true)
}

/// [`write_atomic`] of a file that names another one: `bytes` are written
/// to the temp file and fsynced, then `ready` is asked (the caller waits
/// there until what this file names is durable) and only if it answers
/// true is the temp file renamed into place and the directory fsynced;
/// otherwise the temp file is removed and `path` left as it was. Returns
/// `ready`'s answer. The wait overlaps the two files' writes and fsyncs.
pub fn write_atomic_when(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    ready: impl FnOnce() -> bool,
) -> io::Result<bool> {
    let mut declined = false;
    let result = replace_with(
        path,
        mode,
        true,
        |file| file.write_all(bytes),
        || {
            declined = !ready();
            !declined
        },
    );
    match result {
        // The error that stopped the rename, and nothing else failed.
        Err(_) if declined => Ok(false),
        other => other.map(|()| true),
    }
}

/// [`write_atomic`] for content produced as it is written: `fill` streams
/// into the temp file, so no buffer as big as the file is ever needed. When
/// `fill` fails, the temp file is removed and `path` is left as it was.
pub fn write_atomic_with<T, E: From<io::Error>>(
    path: &Path,
    mode: u32,
    fill: impl FnOnce(&mut File) -> Result<T, E>,
) -> Result<T, E> {
    replace_with(path, mode, true, fill, || true)
}

fn replace_with<T, E: From<io::Error>>(
    path: &Path,
    mode: u32,
    durable: bool,
    fill: impl FnOnce(&mut File) -> Result<T, E>,
    ready: impl FnOnce() -> bool,
) -> Result<T, E> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no directory"))?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut attempt = 0u32;
    let (tmp_path, mut file) = loop {
        let tmp = dir.join(format!(
            ".{}.tmp-{}-{}",
            name.to_string_lossy(),
            std::process::id(),
            unique_suffix(attempt)
        ));
        // `create_new` is O_EXCL: a name someone planted (file or symlink)
        // is never opened; O_NOFOLLOW says so twice.
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
        {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 16 => attempt += 1,
            Err(e) => return Err(e.into()),
        }
    };
    let result = (|| -> Result<T, E> {
        let value = fill(&mut file)?;
        if durable {
            file.sync_all()?;
        }
        if !ready() {
            // Not renamed: the temp file is removed below.
            return Err(io::Error::other("not renamed: what it names is not in place").into());
        }
        fs::rename(&tmp_path, path)?;
        if durable {
            sync_dir(dir)?;
        }
        Ok(value)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp_path);
    }
    result
}

/// Fsyncs a directory so a rename or create inside it is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `mkdir -p` where every directory created gets mode 0700.
pub fn create_dir_all_private(path: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

/// Opens the lock file at `path` for `flock`, creating it with mode 0600 when
/// it is missing. Its content means nothing and is never truncated: every
/// process that locks the same resource opens the same file and takes the lock
/// on it, so the file must outlive any one holder.
///
/// Never through a symlink (`O_NOFOLLOW`: a planted `x.lock -> elsewhere`
/// is refused rather than creating or locking `elsewhere`), and only a
/// regular file of this user's that nobody else can write is accepted: a
/// lock file someone else controls could be held forever to block us.
pub fn open_lock_file(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                io::Error::new(
                    e.kind(),
                    format!(
                        "{} is a symlink; refused (lock files are never followed)",
                        path.display()
                    ),
                )
            } else {
                e
            }
        })?;
    if !crate::safe_fs::is_private_file(&file.metadata()?) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is not a private lock file of yours (another user's, writable by others, \
                 or not a regular file); refused. Remove it if it is stray",
                path.display()
            ),
        ));
    }
    Ok(file)
}

fn unique_suffix(attempt: u32) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos:x}{attempt}")
}

/// Reads a file expected to be small (a manifest, a sidecar) into `buf`,
/// reused across files, refusing it (`InvalidData`) when it holds more than
/// `limit` bytes: one `read` into a buffer larger than any such file, and
/// only when that comes back full a loop up to one byte past `limit`. A
/// short read of a regular file means its end, so the usual extra `read`
/// that returns 0 is skipped, and so are the `fstat` and `lseek` that
/// `read_to_end` makes to guess a size. Scans of thousands of Sessions read
/// one such file each. `file` should be a regular file: open it with
/// [`crate::safe_fs::DirFd::open_regular_beneath`], or read it with
/// [`crate::safe_fs::DirFd::read_regular_beneath`], which refuses what a
/// non-regular file gives.
pub fn read_small_file(
    mut file: impl io::Read,
    buf: &mut Vec<u8>,
    limit: u64,
) -> io::Result<&[u8]> {
    use std::io::Read;
    const FIRST_READ: usize = 4 * 1024;
    if buf.len() < FIRST_READ {
        // Zeroed once per buffer, then reused for every file.
        buf.resize(FIRST_READ, 0);
    }
    let n = file.read(&mut buf[..FIRST_READ])?;
    if n < FIRST_READ {
        if n as u64 > limit {
            return Err(crate::safe_fs::too_big(limit));
        }
        return Ok(&buf[..n]);
    }
    buf.truncate(FIRST_READ);
    file.take(limit.saturating_add(1).saturating_sub(FIRST_READ as u64))
        .read_to_end(buf)?;
    if buf.len() as u64 > limit {
        return Err(crate::safe_fs::too_big(limit));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn atomic_write_replaces_content_with_the_given_mode_and_leaves_no_temp() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f.json");
        write_atomic(&path, b"one", 0o600).unwrap();
        write_atomic(&path, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_streamed_write_lands_whole_or_not_at_all() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f.cast");
        write_atomic(&path, b"old", 0o600).unwrap();
        // A fill that fails halfway leaves the old file and no temp file.
        let failed = write_atomic_with(&path, 0o600, |file| {
            file.write_all(b"half")?;
            Err::<(), _>(io::Error::other("generation failed"))
        });
        assert_eq!(failed.unwrap_err().to_string(), "generation failed");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
        // One that succeeds replaces it, mode 0600, and returns its value.
        let n = write_atomic_with(&path, 0o600, |file| {
            file.write_all(b"line 1\n")?;
            file.write_all(b"line 2\n")?;
            Ok::<_, io::Error>(2)
        });
        assert_eq!(n.unwrap(), 2);
        assert_eq!(fs::read(&path).unwrap(), b"line 1\nline 2\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    /// A small file reads whole whichever road it takes (one read, or the
    /// loop past the first 4 KiB); one byte past the limit is refused, not
    /// cut short.
    #[test]
    fn a_small_file_over_its_limit_is_refused_not_truncated() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        let mut buf = Vec::new();
        for (len, limit, ok) in [
            (10, 10, true),
            (11, 10, false),
            (9000, 9000, true),
            (9001, 9000, false),
        ] {
            fs::write(&path, vec![b'x'; len]).unwrap();
            let read = read_small_file(File::open(&path).unwrap(), &mut buf, limit);
            match read {
                Ok(bytes) if ok => assert_eq!(bytes.len(), len),
                Err(e) if !ok => assert!(e.to_string().contains("larger than"), "{e}"),
                other => panic!("{len}/{limit}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_lock_file_is_created_private_and_never_truncated() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.lock");
        drop(open_lock_file(&path).unwrap());
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::write(&path, b"held").unwrap();
        drop(open_lock_file(&path).unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"held");
    }

    #[test]
    fn a_planted_lock_link_is_refused_and_creates_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("created-elsewhere");
        let link = tmp.path().join("session.json.lock");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = open_lock_file(&link).unwrap_err();
        assert!(e.to_string().contains("symlink"), "{e}");
        assert!(!target.exists(), "the link's target was created");
        // A link to an existing file is refused too (never locked through).
        fs::write(&target, b"").unwrap();
        assert!(open_lock_file(&link).is_err());
    }

    #[test]
    fn a_lock_file_writable_by_others_or_of_another_user_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.lock");
        fs::write(&path, b"").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
        assert!(open_lock_file(&path).is_err());
        if nix::unistd::geteuid().is_root() {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            nix::unistd::chown(&path, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
            assert!(open_lock_file(&path).is_err());
        } else {
            eprintln!("SKIP (part): giving a file to another user needs root");
        }
    }
}
