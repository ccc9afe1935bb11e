//! File operations inside a Home (and the state directory) that another local
//! user cannot redirect, and the ownership rules that decide whether a
//! directory may be trusted at all.
//!
//! Two ideas, both from `docs/SECURITY.md`:
//!
//! - **Pinned directories.** A path is looked up again by the kernel on every
//!   call, so a check on `<home>/sessions/<id>` followed by a delete of the
//!   same path can act on two different directories if anything in between
//!   was swapped for a symlink. Here a directory is opened once
//!   ([`DirFd`]), with `O_NOFOLLOW` on every component opened below it, and
//!   everything after that (renames, unlinks, recursive removal) is done
//!   relative to the open descriptor with `*at` calls that never follow a
//!   symlink. Swapping a path afterwards changes nothing for us.
//! - **Trusted directories** ([`check_trusted`]), as ssh's `StrictModes`: a
//!   Home, its `sessions/` and every Session directory must belong to the
//!   user running agent-tty (or root) and must not be writable by group or
//!   others. Anything else could have been planted or could be changed under
//!   us by someone else, so nothing reconciles, signals or deletes inside it.
//!
//! Only single components are ever opened relative to a descriptor, so
//! `O_NOFOLLOW` per component gives what `openat2(RESOLVE_NO_SYMLINKS)`
//! would, on every kernel.

use nix::errno::Errno;
use nix::fcntl::{openat, renameat, AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, FileStat, Mode, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// The prefix of a Session directory gc has renamed aside to delete it
/// ([`crate::layout::sessions::TOMBSTONE`]). A gc that dies mid-delete
/// leaves one behind; the next gc recognises the name and finishes the job
/// (see [`tombstone_name`]).
const TOMBSTONE_PREFIX: &str = crate::layout::sessions::TOMBSTONE.name;

/// The tombstone name gc renames Session `id` to before deleting it:
/// hidden (dot), never a valid Session id, unique per attempt.
pub fn tombstone_name(id: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{TOMBSTONE_PREFIX}{id}-{}-{nanos:x}", std::process::id())
}

/// The Session id a tombstone name stands for, or `None` when `name` is not
/// a tombstone.
pub fn tombstone_of(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(TOMBSTONE_PREFIX)?;
    // `<id>-<pid>-<nanos>`: the id is everything before the last two dashes.
    let mut parts = rest.rsplitn(3, '-');
    let (_nanos, _pid, id) = (parts.next()?, parts.next()?, parts.next()?);
    Some(id)
}

/// An open directory, reached without following a symlink at its last
/// component (and, when opened with [`DirFd::open_child`], at any component
/// below the first).
#[derive(Debug)]
pub struct DirFd {
    fd: OwnedFd,
    path: PathBuf,
    /// Its entries have been read once, so the descriptor's offset is no
    /// longer at the start (see [`DirFd::for_each_entry`]).
    listed: AtomicBool,
}

const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);

impl DirFd {
    /// Opens the directory at `path`. The last component must not be a
    /// symlink (`ELOOP`, or `ENOTDIR`, otherwise); the components before it
    /// are the user's own choice of where the Home lives and are followed.
    pub fn open(path: &Path) -> io::Result<DirFd> {
        Ok(DirFd::open_at(None, path.as_os_str(), path.to_owned())?)
    }

    /// Opens the directory `name` inside this one, refusing a symlink.
    pub fn open_child(&self, name: impl AsRef<OsStr>) -> io::Result<DirFd> {
        let name = name.as_ref();
        Ok(DirFd::open_at(
            Some(self.raw()),
            name,
            self.path.join(name),
        )?)
    }

    /// Opens the directory `name` relative to `at` (the working directory
    /// when `None`) with [`DIR_FLAGS`]; `path` is kept for messages.
    fn open_at(at: Option<RawFd>, name: &OsStr, path: PathBuf) -> nix::Result<DirFd> {
        let raw = openat(at, name, DIR_FLAGS, Mode::empty())?;
        Ok(DirFd {
            // SAFETY: `raw` was just opened and is owned by nothing else.
            fd: unsafe { OwnedFd::from_raw_fd(raw) },
            path,
            listed: AtomicBool::new(false),
        })
    }

    /// The path this directory was opened by, for messages only: it may no
    /// longer lead here.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// `fstat` of the open directory itself.
    pub fn stat(&self) -> io::Result<FileStat> {
        Ok(fstat(self.raw())?)
    }

    /// Refuses a directory someone else could have planted or could change
    /// (see [`check_trusted`]). `what` names it in the message ("the Home").
    pub fn check_trusted(&self, what: &str) -> Result<(), Untrusted> {
        let st = self.stat().map_err(|e| Untrusted {
            path: self.path.clone(),
            reason: format!("{what} could not be examined ({e})"),
        })?;
        check_trusted(&st, &self.path, what)
    }

    /// `lstat` of an entry, never following a symlink.
    pub fn stat_child(&self, name: impl AsRef<OsStr>) -> io::Result<FileStat> {
        Ok(fstatat(
            Some(self.raw()),
            name.as_ref(),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )?)
    }

    /// The entries' names (without `.` and `..`).
    pub fn names(&self) -> io::Result<Vec<OsString>> {
        let mut names = Vec::new();
        self.for_each_entry(|name, _| names.push(name.to_owned()))?;
        Ok(names)
    }

    /// Calls `each` with every entry's name (without `.` and `..`) and
    /// whether the directory listing says it is a directory (`None`: the
    /// filesystem does not say; `lstat` it with [`DirFd::stat_child`]).
    ///
    /// The entries are read with `getdents64` straight from this
    /// descriptor: no second descriptor, no `fdopendir` probes. Scans of
    /// thousands of Homes make one such listing per Home, so that matters.
    /// A listing after the first rewinds the descriptor first.
    pub fn for_each_entry(&self, mut each: impl FnMut(&OsStr, Option<bool>)) -> io::Result<()> {
        use rustix::fs::{FileType, RawDir};
        if self.listed.swap(true, Ordering::Relaxed) {
            nix::unistd::lseek(self.raw(), 0, nix::unistd::Whence::SeekSet)?;
        }
        // 8 KiB holds a Home's usual few Session entries in one call.
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 8192];
        let mut dir = RawDir::new(&self.fd, &mut buf);
        while let Some(entry) = dir.next() {
            let entry = entry?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let is_dir = match entry.file_type() {
                FileType::Directory => Some(true),
                FileType::Unknown => None,
                _ => Some(false),
            };
            each(OsStr::from_bytes(name), is_dir);
        }
        Ok(())
    }

    /// Opens the regular file at `relative` (e.g. `<id>/session.json`)
    /// for reading, beneath this directory and without following a
    /// symlink at any component: one `openat2(RESOLVE_BENEATH |
    /// RESOLVE_NO_SYMLINKS)` where the kernel has it (Linux 5.6+), else an
    /// `O_NOFOLLOW` open per component.
    fn open_file_beneath(&self, relative: &Path) -> io::Result<std::fs::File> {
        static NO_OPENAT2: AtomicBool = AtomicBool::new(false);
        // Non-blocking: a FIFO planted at the name is opened at once
        // instead of hanging the reader (and is then refused by
        // [`DirFd::open_regular_beneath`]); never a controlling terminal.
        let flags = OFlag::O_RDONLY
            | OFlag::O_NOFOLLOW
            | OFlag::O_CLOEXEC
            | OFlag::O_NONBLOCK
            | OFlag::O_NOCTTY;
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            use nix::fcntl::{openat2, OpenHow, ResolveFlag};
            let how = OpenHow::new()
                .flags(flags)
                .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS);
            match openat2(self.raw(), relative, how) {
                // SAFETY: `raw` was just opened and is owned by nothing else.
                Ok(raw) => return Ok(unsafe { std::fs::File::from_raw_fd(raw) }),
                // No openat2 here (old kernel, or a seccomp filter): per component.
                Err(Errno::ENOSYS | Errno::EPERM) => NO_OPENAT2.store(true, Ordering::Relaxed),
                Err(e) => return Err(e.into()),
            }
        }
        let mut parts = relative.components().peekable();
        let mut dir: Option<OwnedFd> = None;
        while let Some(part) = parts.next() {
            let std::path::Component::Normal(name) = part else {
                return Err(Errno::EXDEV.into());
            };
            let at = dir.as_ref().map_or(self.raw(), |d| d.as_raw_fd());
            let last = parts.peek().is_none();
            let raw = openat(
                Some(at),
                name,
                if last { flags } else { DIR_FLAGS },
                Mode::empty(),
            )?;
            // SAFETY: `raw` was just opened and is owned by nothing else.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            if last {
                return Ok(std::fs::File::from(fd));
            }
            dir = Some(fd);
        }
        Err(Errno::ENOENT.into())
    }

    /// Opens the file at `relative` (e.g. `<id>/session.json`) beneath
    /// this directory, following no symlink at any component (one
    /// `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` where the kernel has
    /// it, else an `O_NOFOLLOW` open per component), keeping it only when `fstat`
    /// says it is a regular file of at most `cap` bytes: a FIFO, socket,
    /// device node or directory at the name is refused (`InvalidData`,
    /// saying what it is) before a byte is read, and so is a sparse giant.
    /// The one `fstat` is what a scan pays for that: the open is already
    /// non-blocking and never makes a terminal ours, so opening what is
    /// then refused does nothing.
    pub fn open_regular_beneath(&self, relative: &Path, cap: u64) -> io::Result<std::fs::File> {
        let file = self.open_beneath_saying_what(relative)?;
        let st = fstat(file.as_raw_fd())?;
        if !is_regular(&st) {
            return Err(not_regular(kind_of(&st)));
        }
        if st.st_size as u64 > cap {
            return Err(too_big(cap));
        }
        Ok(file)
    }

    /// Reads the small file at `relative` beneath this directory (a
    /// manifest) into `buf`, reused across files, at most `cap` bytes, never
    /// blocking: the read of thousands of manifests by a listing.
    ///
    /// Opened as [`DirFd::open_regular_beneath`] opens (no symlink,
    /// non-blocking, never making a terminal ours), but read *before* it is
    /// `fstat`-ed: a FIFO or device given such a read yields nothing, an
    /// error or more than `cap` bytes, and only then is the file looked at,
    /// to refuse it saying what it is. So a regular manifest, the listing's
    /// every case, costs no `fstat` (5000 manifests: ~10 % of `home list`'s
    /// CPU), and nothing can hang the read or flood memory. What it does not
    /// refuse: a FIFO whose writer (one of this user's own processes: the
    /// Home is trusted) has already written a small manifest into it.
    pub fn read_regular_beneath<'b>(
        &self,
        relative: &Path,
        buf: &'b mut Vec<u8>,
        cap: u64,
    ) -> io::Result<&'b [u8]> {
        let file = self.open_beneath_saying_what(relative)?;
        let fd = file.as_raw_fd();
        // Two passes over `buf` so the borrow of the good read ends before
        // the refusal looks at the file.
        let read = crate::fsutil::read_small_file(&file, buf, cap).map(|b| b.len());
        match read {
            Ok(n) if n > 0 => Ok(&buf[..n]),
            outcome => match fstat(fd) {
                Ok(st) if !is_regular(&st) => Err(not_regular(kind_of(&st))),
                _ => outcome.map(|_| &buf[..0]),
            },
        }
    }

    /// [`DirFd::open_file_beneath`], saying what the entry is when it
    /// cannot be opened at all (a socket, a device without a driver) rather
    /// than "no such device".
    fn open_beneath_saying_what(&self, relative: &Path) -> io::Result<std::fs::File> {
        self.open_file_beneath(relative).map_err(|e| {
            match fstatat(Some(self.raw()), relative, AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(st) if e.raw_os_error() == Some(libc::ENXIO) => not_regular(kind_of(&st)),
                _ => e,
            }
        })
    }

    /// Renames entry `from` to `to`, both inside this directory.
    pub fn rename_child(&self, from: impl AsRef<OsStr>, to: impl AsRef<OsStr>) -> io::Result<()> {
        Ok(renameat(
            Some(self.raw()),
            from.as_ref(),
            Some(self.raw()),
            to.as_ref(),
        )?)
    }

    /// Removes entry `name` and, when it is a directory, everything under
    /// it, however deep, without ever following a symlink: a symlink is
    /// unlinked, never its target. Holds a bounded number of descriptors
    /// and no recursion (`remove_tree_at`). Returns the bytes of regular
    /// files removed.
    pub fn remove_tree(&self, name: impl AsRef<OsStr>) -> io::Result<u64> {
        remove_tree_at(self.raw(), name.as_ref())
    }

    /// Unlinks the non-directory entry `name`.
    pub fn unlink_child(&self, name: impl AsRef<OsStr>) -> io::Result<()> {
        Ok(unlinkat(
            Some(self.raw()),
            name.as_ref(),
            UnlinkatFlags::NoRemoveDir,
        )?)
    }

    /// The bytes of every regular file under this directory, reached
    /// through descriptors and never following a symlink: what removing it
    /// would free (`gc --dry-run`). What cannot be read counts as empty.
    pub fn tree_bytes(&self) -> u64 {
        self.tree_bytes_below(0, None)
    }

    /// [`DirFd::tree_bytes`] leaving out the entry `skip` of this directory
    /// (not of those below), for a caller that already knows its size (gc
    /// has just read the manifest) and need not `lstat` it again.
    pub fn tree_bytes_without(&self, skip: impl AsRef<OsStr>) -> u64 {
        self.tree_bytes_below(0, Some(skip.as_ref()))
    }

    fn tree_bytes_below(&self, depth: usize, skip: Option<&OsStr>) -> u64 {
        let mut total = 0;
        let mut subdirs = Vec::new();
        let _ = self.for_each_entry(|name, listed_dir| {
            if skip == Some(name) {
                return;
            }
            // A directory the listing names needs no `lstat`: only files
            // have sizes that count.
            if listed_dir == Some(true) {
                subdirs.push(name.to_owned());
                return;
            }
            match self.stat_child(name) {
                Ok(st) if is_dir(&st) => subdirs.push(name.to_owned()),
                Ok(st) if is_regular(&st) => total += st.st_size as u64,
                _ => {}
            }
        });
        if depth < MAX_DEPTH {
            for sub in subdirs {
                if let Ok(dir) = self.open_child(&sub) {
                    total += dir.tree_bytes_below(depth + 1, None);
                }
            }
        }
        total
    }

    /// Whether this directory has been removed since it was opened (its
    /// link count dropped to zero): a host uses this to notice that its
    /// Session directory vanished.
    pub fn is_deleted(&self) -> bool {
        self.stat().is_ok_and(|st| st.st_nlink == 0)
    }
}

impl AsRawFd for DirFd {
    fn as_raw_fd(&self) -> RawFd {
        self.raw()
    }
}

/// Deep enough for any Session directory: what [`DirFd::tree_bytes`]
/// counts below (it is an estimate; removal has no depth limit).
const MAX_DEPTH: usize = 32;

/// The directory descriptors [`remove_tree_at`] keeps open at once, however
/// deep the tree: a directory further up is closed and re-opened (through
/// `..`, checked to be the same directory) when its turn comes again.
const OPEN_DIRS: usize = 16;

/// A directory [`remove_tree_at`] is emptying.
struct Emptying {
    /// Open while among the deepest [`OPEN_DIRS`] of the walk.
    dir: Option<DirFd>,
    /// Device and inode, to know it again when re-opened through `..`.
    id: (libc::dev_t, libc::ino_t),
    /// Its name in its parent.
    name: OsString,
    /// Its entries not yet removed (listed once, when it was opened).
    left: Vec<OsString>,
}

impl Emptying {
    fn open(dir: DirFd, name: OsString) -> io::Result<Emptying> {
        let st = dir.stat()?;
        let left = dir.names()?;
        Ok(Emptying {
            dir: Some(dir),
            id: (st.st_dev, st.st_ino),
            name,
            left,
        })
    }
}

/// Opens directory `name` of `parent` to empty it, or `None` when it was
/// swapped for a symlink or a file since it was `lstat`-ed (then that is
/// unlinked instead).
fn open_to_empty(parent: RawFd, name: &OsStr) -> io::Result<Option<Emptying>> {
    match DirFd::open_at(Some(parent), name, PathBuf::new()) {
        Ok(dir) => Emptying::open(dir, name.to_owned()).map(Some),
        Err(Errno::ELOOP | Errno::ENOTDIR) => {
            unlinkat(Some(parent), name, UnlinkatFlags::NoRemoveDir)?;
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes `name` of `parent` and everything under it: depth first, by a
/// loop over a stack of the directories being emptied (no recursion, so no
/// depth limit), each opened by name with `O_NOFOLLOW` (a symlink is
/// unlinked, never followed) and at most [`OPEN_DIRS`] of them open. A
/// directory closed on the way down is re-opened from its child through
/// `..` (never a symlink) and used only when it is the very directory it
/// was (device and inode): had the tree been moved meanwhile, nothing
/// outside it is touched, the removal stops with an error.
fn remove_tree_at(parent: RawFd, name: &OsStr) -> io::Result<u64> {
    let size = |st: &FileStat| if is_regular(st) { st.st_size as u64 } else { 0 };
    let st = fstatat(Some(parent), name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
    if !is_dir(&st) {
        unlinkat(Some(parent), name, UnlinkatFlags::NoRemoveDir)?;
        return Ok(size(&st));
    }
    let Some(root) = open_to_empty(parent, name)? else {
        return Ok(0);
    };
    let mut bytes = 0;
    let mut stack = vec![root];
    while let Some(top) = stack.last_mut() {
        let at = top
            .dir
            .as_ref()
            .map(DirFd::raw)
            .expect("the deepest is open");
        if let Some(child) = top.left.pop() {
            let st = fstatat(Some(at), child.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)?;
            if !is_dir(&st) {
                unlinkat(Some(at), child.as_os_str(), UnlinkatFlags::NoRemoveDir)?;
                bytes += size(&st);
            } else if let Some(sub) = open_to_empty(at, &child)? {
                stack.push(sub);
                if let Some(far) = stack.len().checked_sub(OPEN_DIRS + 1) {
                    stack[far].dir = None;
                }
            }
            continue;
        }
        let emptied = stack.pop().expect("the loop's top");
        let parent_fd = match stack.last_mut() {
            None => parent,
            Some(up) => {
                if up.dir.is_none() {
                    let below = emptied.dir.as_ref().expect("the deepest is open");
                    let again =
                        DirFd::open_at(Some(below.raw()), OsStr::new(".."), PathBuf::new())?;
                    let st = again.stat()?;
                    if (st.st_dev, st.st_ino) != up.id {
                        return Err(io::Error::other(
                            "the directory tree was moved while it was being removed",
                        ));
                    }
                    up.dir = Some(again);
                }
                up.dir.as_ref().map(DirFd::raw).expect("just opened")
            }
        };
        drop(emptied.dir);
        unlinkat(
            Some(parent_fd),
            emptied.name.as_os_str(),
            UnlinkatFlags::RemoveDir,
        )?;
    }
    Ok(bytes)
}

fn file_type(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT
}

/// Whether an `lstat`/`fstat` answer is a directory.
pub fn is_dir(st: &FileStat) -> bool {
    file_type(st) == SFlag::S_IFDIR
}

/// Whether an `lstat`/`fstat` answer is a regular file.
pub fn is_regular(st: &FileStat) -> bool {
    file_type(st) == SFlag::S_IFREG
}

/// Whether an `lstat` answer is a symlink.
pub fn is_symlink(st: &FileStat) -> bool {
    file_type(st) == SFlag::S_IFLNK
}

/// Why a directory is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untrusted {
    /// The directory.
    pub path: PathBuf,
    /// What a person reads, including what to do.
    pub reason: String,
}

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl From<Untrusted> for crate::Error {
    fn from(u: Untrusted) -> Self {
        crate::Error::invalid(agent_tty_protocol::ErrorCode::StorageReadError, u.reason)
    }
}

/// Whether `uid` may own what agent-tty trusts: the effective user, or root.
fn trusted_owner(uid: u32) -> bool {
    uid == effective_uid() || uid == 0
}

/// Whether a mode lets group or others write.
fn writable_by_others(mode: u32) -> bool {
    mode & 0o022 != 0
}

/// The ownership rule (ssh `StrictModes`): a directory is trusted when it is
/// a real directory owned by the effective user (or by root) and neither
/// group- nor world-writable. Otherwise another user could have created it,
/// or could add, swap or remove what is inside it.
pub fn check_trusted(st: &FileStat, path: &Path, what: &str) -> Result<(), Untrusted> {
    if is_dir(st) && trusted_owner(st.st_uid) && !writable_by_others(st.st_mode) {
        return Ok(());
    }
    if !is_dir(st) {
        return Err(Untrusted {
            path: path.to_owned(),
            reason: format!(
                "{what} {} is not a directory; refused (nothing in it is touched)",
                crate::text::escape_path(path)
            ),
        });
    }
    refuse_owner_or_mode(st, path, what)
}

/// The rule for the directories above a trusted one (`path` excluded): a
/// directory someone else may write could have its entry for the next one
/// renamed and replaced between a check and a use. Each must be owned by
/// the effective user or root and be writable by no one else, or be sticky
/// (as `/tmp`: there only an entry's owner may rename it, and the entry is
/// checked in turn). A missing or unreadable ancestor is refused.
pub fn check_ancestors(path: &Path, what: &str) -> Result<(), Untrusted> {
    for dir in path.ancestors().skip(1) {
        if dir.as_os_str().is_empty() {
            continue;
        }
        let st = nix::sys::stat::lstat(dir).map_err(|e| Untrusted {
            path: dir.to_owned(),
            reason: format!(
                "{} (above {what} {}) could not be examined ({e}); refused",
                crate::text::escape_path(dir),
                crate::text::escape_path(path)
            ),
        })?;
        let sticky = st.st_mode & libc::S_ISVTX != 0;
        if is_dir(&st) && trusted_owner(st.st_uid) && sticky {
            continue;
        }
        check_trusted(&st, dir, &format!("{what}'s ancestor directory"))?;
    }
    Ok(())
}

/// The same rule for a file whose content agent-tty runs or hands out (a
/// plugin library, a `SKILL.md`): a regular file owned by the effective
/// user or root that neither group nor others can write.
pub fn check_trusted_file(st: &FileStat, path: &Path, what: &str) -> Result<(), Untrusted> {
    if is_regular(st) && trusted_owner(st.st_uid) && !writable_by_others(st.st_mode) {
        return Ok(());
    }
    if !is_regular(st) {
        return Err(Untrusted {
            path: path.to_owned(),
            reason: format!(
                "{what} {} is {}, not a regular file; refused (it is never opened)",
                crate::text::escape_path(path),
                kind_of(st)
            ),
        });
    }
    refuse_owner_or_mode(st, path, what)
}

/// What a refusal of `what` means, and what to do when it is someone
/// else's: the rule is one, its consequences differ by what it guards.
fn consequence(what: &str) -> (&'static str, &'static str) {
    if what.starts_with("the plugin") {
        (
            "no plugin is opened from it",
            "remove it, or install agent-tty where only you can write",
        )
    } else if what.contains("skill") || what.contains("data directory") {
        (
            "no skill is installed or handed out from it",
            "remove it, or point XDG_DATA_HOME at a directory of yours",
        )
    } else {
        (
            "nothing in it is reconciled, signalled or deleted",
            "remove it from the registry with `agent-tty home forget`",
        )
    }
}

/// The refusal of something of the right type whose owner or mode breaks
/// the rule.
fn refuse_owner_or_mode(st: &FileStat, path: &Path, what: &str) -> Result<(), Untrusted> {
    let me = effective_uid();
    let shown = crate::text::escape_path(path);
    let (refused, otherwise) = consequence(what);
    let refuse = |why: String| {
        Err(Untrusted {
            path: path.to_owned(),
            reason: why,
        })
    };
    if !trusted_owner(st.st_uid) {
        return refuse(format!(
            "{what} {shown} belongs to another user (uid {}), not to you (uid {me}); \
             refused: {refused}. If it is yours, `chown` it; otherwise {otherwise}",
            st.st_uid
        ));
    }
    if writable_by_others(st.st_mode) {
        return refuse(format!(
            "{what} {shown} is writable by group or others (mode {:o}); refused: \
             {refused}. Fix it with `chmod go-w {shown}`",
            st.st_mode & 0o7777
        ));
    }
    Ok(())
}

/// What kind of file an `lstat` answer is, in words ("a FIFO").
pub fn kind_of(st: &FileStat) -> &'static str {
    match file_type(st) {
        SFlag::S_IFREG => "a regular file",
        SFlag::S_IFDIR => "a directory",
        SFlag::S_IFLNK => "a symlink",
        SFlag::S_IFIFO => "a FIFO",
        SFlag::S_IFSOCK => "a socket",
        SFlag::S_IFCHR => "a character device",
        SFlag::S_IFBLK => "a block device",
        _ => "of an unknown type",
    }
}

/// Symlinks followed before a path is given up on (as the kernel's 40).
const MAX_SYMLINKS: usize = 40;

/// The real path of `path`, following a symlink only where no other user
/// controls it: the link must be owned by the effective user or root, and
/// sit in a directory others cannot write (or a sticky one, where they
/// cannot replace a link that is not theirs). A link anyone else could
/// have made or could swap is refused, so what is opened through the path
/// is what its owner meant. Components that do not exist end the walk:
/// the rest is appended as it is.
pub fn resolve_trusted_symlinks(path: &Path, what: &str) -> Result<PathBuf, Untrusted> {
    use std::path::Component;
    let refuse = |reason: String| Untrusted {
        path: path.to_owned(),
        reason,
    };
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()
            .map_err(|e| refuse(format!("{what}: the current directory is unreadable ({e})")))?
            .join(path)
    };
    // Components still to walk, last first.
    let mut todo: Vec<OsString> = absolute
        .components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_owned()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect();
    let mut real = PathBuf::from("/");
    let mut links = 0;
    while let Some(name) = todo.pop() {
        if name == ".." {
            real.pop();
            continue;
        }
        let next = real.join(&name);
        let st = match nix::sys::stat::lstat(&next) {
            Ok(st) => st,
            Err(_) => {
                // Missing (or unreadable): nothing further to follow.
                let mut rest = next;
                while let Some(n) = todo.pop() {
                    rest.push(n);
                }
                return Ok(rest);
            }
        };
        if file_type(&st) != SFlag::S_IFLNK {
            real = next;
            continue;
        }
        links += 1;
        if links > MAX_SYMLINKS {
            return Err(refuse(format!(
                "{what} {}: too many levels of symlinks",
                crate::text::escape_path(path)
            )));
        }
        let parent = nix::sys::stat::lstat(&real).map_err(|e| {
            refuse(format!(
                "{what}: {} could not be examined ({e})",
                real.display()
            ))
        })?;
        let sticky = parent.st_mode & libc::S_ISVTX != 0;
        if !trusted_owner(st.st_uid) || (writable_by_others(parent.st_mode) && !sticky) {
            return Err(refuse(format!(
                "{what} {} is reached through the symlink {}, which {}; refused (a link \
                 someone else controls could point anywhere)",
                crate::text::escape_path(path),
                crate::text::escape_path(&next),
                if trusted_owner(st.st_uid) {
                    "sits in a directory others can write"
                } else {
                    "belongs to another user"
                }
            )));
        }
        let target = std::fs::read_link(&next)
            .map_err(|e| refuse(format!("{what}: {} unreadable ({e})", next.display())))?;
        if target.is_absolute() {
            real = PathBuf::from("/");
        }
        let parts: Vec<OsString> = target
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_owned()),
                Component::ParentDir => Some(OsString::from("..")),
                _ => None,
            })
            .collect();
        todo.extend(parts.into_iter().rev());
    }
    Ok(real)
}

/// Whether a symlink may be followed on a path the user asked agent-tty to
/// write (`--out`): the rule the kernel's `fs.protected_symlinks` applies
/// in sticky world-writable directories, made strict and applied in every
/// directory. The link must be the effective user's own, or belong to the
/// owner of the directory it is in while that directory is writable by no
/// one else (`/dev/stdout`, root's in root's `/dev`). A link another user
/// planted in `/tmp`, or in any directory a third party may write, is not
/// followed: its owner chose where the write goes, not the user.
pub fn may_follow_for_writing(link: &FileStat, dir: &FileStat) -> bool {
    link.st_uid == effective_uid()
        || (link.st_uid == dir.st_uid && !writable_by_others(dir.st_mode))
}

/// Where [`resolve_for_writing`] found a path to lead.
#[derive(Debug)]
pub struct Resolved {
    /// The real path: no symlink and no `..` in it.
    pub path: PathBuf,
    /// What the last component is (`fstat` of it, never of what a link
    /// points to), or `None` when nothing is there yet.
    pub last: Option<FileStat>,
    /// Whether the last component was reached by following a symlink.
    pub through_link: bool,
}

/// Why [`resolve_for_writing`] gave up.
#[derive(Debug)]
pub enum Unresolved {
    /// A symlink on the way breaks [`may_follow_for_writing`], or there are
    /// too many: a sentence naming the link and its owner.
    Refused(String),
    /// A directory on the way is missing, is not a directory or cannot be
    /// opened (the path, and the error).
    Missing(PathBuf, io::Error),
}

/// Resolves `path` (absolute) the way the kernel would, but follows a
/// symlink (at any component, the last included) only when
/// [`may_follow_for_writing`] allows it.
///
/// Every step is taken on descriptors: each component is opened with
/// `O_PATH | O_NOFOLLOW` beneath the descriptor of the directory before it,
/// the link's owner is read with `fstat` of that same descriptor and its
/// target with `readlinkat(fd, "")`, so the link that is judged is the one
/// that is read, even in a directory where others may swap entries. What
/// is decided holds for the objects found at resolution time; a directory
/// on the resolved path that someone else may rename can still be swapped
/// later (SECURITY.md says what `--out` covers).
pub fn resolve_for_writing(path: &Path) -> Result<Resolved, Unresolved> {
    use std::path::Component;
    const FLAGS: OFlag = OFlag::O_PATH
        .union(OFlag::O_NOFOLLOW)
        .union(OFlag::O_CLOEXEC);
    let open = |at: Option<RawFd>, name: &OsStr| -> nix::Result<(OwnedFd, FileStat)> {
        let raw = openat(at, name, FLAGS, Mode::empty())?;
        // SAFETY: `raw` was just opened and is owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let st = fstat(fd.as_raw_fd())?;
        Ok((fd, st))
    };
    let parts = |p: &Path| -> Vec<OsString> {
        p.components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_owned()),
                Component::ParentDir => Some(OsString::from("..")),
                _ => None,
            })
            .collect()
    };
    let missing = |p: PathBuf, e: Errno| Unresolved::Missing(p, io::Error::from(e));
    let root = open(None, OsStr::new("/")).map_err(|e| missing(PathBuf::from("/"), e))?;
    // The directories walked down so far (the root first) and their path.
    let mut dirs = vec![root];
    let mut real = PathBuf::from("/");
    let mut todo: Vec<OsString> = parts(path).into_iter().rev().collect();
    let (mut links, mut through_link) = (0, false);
    while let Some(name) = todo.pop() {
        if name == ".." {
            if dirs.len() > 1 {
                dirs.pop();
                real.pop();
            }
            continue;
        }
        let last = todo.is_empty();
        let here = dirs.last().expect("the root is never popped");
        let (fd, st) = match open(Some(here.0.as_raw_fd()), &name) {
            Ok(found) => found,
            Err(Errno::ENOENT) if last => {
                return Ok(Resolved {
                    path: real.join(name),
                    last: None,
                    through_link,
                })
            }
            Err(e) => return Err(missing(real.join(name), e)),
        };
        if is_symlink(&st) {
            let shown = real.join(&name);
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(Unresolved::Refused(format!(
                    "{} leads through too many levels of symlinks",
                    crate::text::escape_path(path)
                )));
            }
            if !may_follow_for_writing(&st, &here.1) {
                return Err(Unresolved::Refused(format!(
                    "{} is a symlink of uid {} in a directory {}; agent-tty writes \
                     through a symlink only when it is yours, or its directory's owner's \
                     in a directory no one else can write",
                    crate::text::escape_path(&shown),
                    st.st_uid,
                    if writable_by_others(here.1.st_mode) {
                        "others can write".to_owned()
                    } else {
                        format!("of uid {}", here.1.st_uid)
                    }
                )));
            }
            let target = readlink_fd(&fd).map_err(|e| Unresolved::Missing(shown, e))?;
            if target.is_absolute() {
                dirs.truncate(1);
                real = PathBuf::from("/");
            }
            through_link |= last;
            todo.extend(parts(&target).into_iter().rev());
            continue;
        }
        if last {
            return Ok(Resolved {
                path: real.join(name),
                last: Some(st),
                through_link,
            });
        }
        if !is_dir(&st) {
            return Err(missing(real.join(name), Errno::ENOTDIR));
        }
        real.push(name);
        dirs.push((fd, st));
    }
    // Only `/` (or `..` above it) names no last component.
    let st = dirs.last().map(|d| d.1);
    Ok(Resolved {
        path: real,
        last: st,
        through_link,
    })
}

/// The target of the symlink open as `fd` (`O_PATH | O_NOFOLLOW`): the
/// empty path makes `readlinkat` read the link `fd` itself refers to.
fn readlink_fd(fd: &OwnedFd) -> io::Result<PathBuf> {
    Ok(PathBuf::from(nix::fcntl::readlinkat(
        Some(fd.as_raw_fd()),
        "",
    )?))
}

/// The ownership rule for a file whose content decides what agent-tty
/// does (a lock file, a sidecar): a regular file of the effective user's
/// that neither group nor others can write. Anything else could be someone
/// else's, or be changed by someone else.
pub fn is_private_file(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    meta.is_file() && meta.uid() == effective_uid() && meta.mode() & 0o022 == 0
}

/// The effective user id, asked of the kernel once per process: a scan of
/// a thousand Homes checks two thousand directories against it.
pub fn effective_uid() -> u32 {
    static EUID: OnceLock<u32> = OnceLock::new();
    *EUID.get_or_init(|| nix::unistd::geteuid().as_raw())
}

/// Opens a file of a Home for reading, the one way every Home file is read
/// (and the per-user state files beside them: the Home Registry, the
/// remotes file):
///
/// - never through a symlink at its last component (`O_NOFOLLOW`);
/// - never blocking: anything but a regular file (a FIFO, a device, a
///   socket) is refused from its `lstat`, before it is opened, and the open
///   itself is `O_NONBLOCK`, so a FIFO swapped in between is refused too
///   instead of waited on;
/// - only a file of the expected owner: the effective user, root, or
///   whoever owns the directory it is in (the Home's owner, for a Home
///   read but not written); a file a third user planted is refused.
///
/// A refusal is an `io::Error` of kind `InvalidData` that says what the
/// file is; a missing file is `NotFound`, as for `File::open`.
pub fn open_home_file(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let before = nix::sys::stat::lstat(path).map_err(io::Error::from)?;
    if !is_regular(&before) {
        return Err(not_regular(kind_of(&before)));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => not_regular("a symlink"),
            _ => e,
        })?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.ino() != before.st_ino as u64 || meta.dev() != before.st_dev as u64 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "it was replaced while being opened; refused",
        ));
    }
    if !trusted_owner(meta.uid()) {
        if let Some(refused) = strangers_file(path, meta.uid()) {
            return Err(refused);
        }
    }
    Ok(file)
}

/// The refusal of something that is not a regular file (`kind` says what
/// it is: "a FIFO", "a symlink").
pub(crate) fn not_regular(kind: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "it is {kind}; refused (agent-tty reads only regular files, never through a \
             symlink, so nothing planted there can hang or redirect it)"
        ),
    )
}

/// The refusal of a file bigger than `cap` bytes.
pub(crate) fn too_big(cap: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("it is larger than {cap} bytes, more than such a file ever holds; refused"),
    )
}

/// The verdict on a regular file at `path` of uid `owner`, neither the
/// effective user nor root: accepted (`None`) when it belongs to whoever
/// owns the directory it is in, refused otherwise saying what is wrong.
/// The directory is `lstat`-ed, never followed: a file reached through a
/// symlinked directory is judged by the link, which is what a Home holds.
fn strangers_file(path: &Path, owner: u32) -> Option<io::Error> {
    let me = effective_uid();
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir_st = dir.and_then(|d| nix::sys::stat::lstat(d).ok());
    let why = match (dir, dir_st) {
        (Some(dir), Some(st)) if is_symlink(&st) => format!(
            "it belongs to uid {owner}, not to you (uid {me}), and is reached through the \
             symlink {}; refused (agent-tty never follows a symlink to another user's files)",
            crate::text::escape_path(dir)
        ),
        (_, Some(st)) if st.st_uid == owner => return None,
        (_, Some(st)) => format!(
            "it belongs to uid {owner}, but you are uid {me} and its directory belongs to \
             uid {}; refused (a file another user put there is never read)",
            st.st_uid
        ),
        (_, None) => format!(
            "it belongs to uid {owner}, not to you (uid {me}), and its directory could not \
             be examined; refused"
        ),
    };
    Some(io::Error::new(io::ErrorKind::InvalidData, why))
}

/// Reads a whole file of a Home, opened as [`open_home_file`] does, up to
/// `cap` bytes: a bigger file (a sparse 64 GB one, say) is refused from its
/// size, before anything is allocated, and one that grows past the cap
/// while being read is refused too.
pub fn read_home_file(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let file = open_home_file(path)?;
    let len = file.metadata()?.len();
    if len > cap {
        return Err(too_big(cap));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(too_big(cap));
    }
    Ok(bytes)
}

/// Checks the directory at `path` (not following a last-component symlink)
/// with [`check_trusted`]. A missing directory is `Ok(false)`.
pub fn check_trusted_path(path: &Path, what: &str) -> Result<bool, Untrusted> {
    match DirFd::open(path) {
        Ok(dir) => dir.check_trusted(what).map(|()| true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Untrusted {
            path: path.to_owned(),
            reason: open_refusal(what, path, &e),
        }),
    }
}

/// The message for a directory that could not be opened: a symlink is
/// named as such (it is refused, never followed).
pub fn open_refusal(what: &str, path: &Path, e: &io::Error) -> String {
    let shown = crate::text::escape_path(path);
    if e.raw_os_error() == Some(libc::ELOOP) || e.raw_os_error() == Some(libc::ENOTDIR) {
        format!(
            "{what} {shown} is a symlink or not a directory; refused (agent-tty never \
             follows symlinks inside a Home)"
        )
    } else {
        format!("{what} {shown} could not be opened ({e})")
    }
}

/// Checks a Session directory and the two directories above it
/// (`<home>/sessions/<id>`): the chain everything in a Session is reached
/// through. Used before anything reconciles, signals or deletes in it.
pub fn check_session_chain(session_dir: &Path) -> Result<(), Untrusted> {
    let sessions = session_dir.parent().unwrap_or(Path::new("/"));
    let home = sessions.parent().unwrap_or(Path::new("/"));
    check_trusted_path(home, "the Home")?;
    check_trusted_path(sessions, "the Home's sessions/")?;
    check_trusted_path(session_dir, "the Session directory")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn an_ancestor_others_may_write_is_refused_unless_sticky() {
        let tmp = tempfile::tempdir().unwrap();
        let above = tmp.path().join("above");
        let plugins = above.join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        let chmod = |mode| std::fs::set_permissions(&above, std::fs::Permissions::from_mode(mode));
        chmod(0o755).unwrap();
        check_ancestors(&plugins, "the plugin directory").unwrap();
        chmod(0o777).unwrap();
        let u = check_ancestors(&plugins, "the plugin directory").unwrap_err();
        assert_eq!(u.path, above);
        assert!(u.reason.contains("writable by group or others"), "{u}");
        assert!(u.reason.contains("no plugin is opened"), "{u}");
        chmod(0o1777).unwrap();
        check_ancestors(&plugins, "the plugin directory").unwrap();
    }

    #[test]
    fn tombstones_name_their_session_and_nothing_else_is_one() {
        let id = "01JD3Z6X8K4M2N5P7Q9R1S3T5V";
        let t = tombstone_name(id);
        assert!(t.starts_with('.'));
        assert_eq!(tombstone_of(&t), Some(id));
        assert_eq!(tombstone_of(id), None);
        assert_eq!(tombstone_of(".tombstone-x"), None);
    }

    #[test]
    fn remove_tree_removes_links_not_their_targets() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("precious"), b"keep").unwrap();
        let victim = tmp.path().join("d");
        std::fs::create_dir_all(victim.join("sub")).unwrap();
        std::fs::write(victim.join("sub/f"), b"12345").unwrap();
        std::os::unix::fs::symlink(&outside, victim.join("link")).unwrap();
        std::os::unix::fs::symlink(outside.join("precious"), victim.join("sub/flink")).unwrap();
        let dir = DirFd::open(tmp.path()).unwrap();
        assert_eq!(dir.remove_tree("d").unwrap(), 5);
        assert!(!victim.exists());
        assert_eq!(std::fs::read(outside.join("precious")).unwrap(), b"keep");
    }

    /// Far deeper than the descriptors it keeps open ([`OPEN_DIRS`]) or the
    /// 32 levels removal used to stop at: every level goes, the links at the
    /// bottom are unlinked, their targets kept.
    #[test]
    fn remove_tree_removes_a_tree_200_deep_with_bounded_descriptors() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("precious"), b"keep").unwrap();
        let victim = tmp.path().join("d");
        let mut deepest = victim.clone();
        for level in 0..200 {
            deepest.push(format!("l{level}"));
            if level % 50 == 0 {
                std::fs::create_dir_all(&deepest).unwrap();
                std::fs::write(deepest.join("f"), b"123").unwrap();
                std::os::unix::fs::symlink(&outside, deepest.join("up")).unwrap();
            }
        }
        std::fs::create_dir_all(&deepest).unwrap();
        std::fs::write(deepest.join("bottom"), b"12345").unwrap();
        std::os::unix::fs::symlink(outside.join("precious"), deepest.join("link")).unwrap();
        let dir = DirFd::open(tmp.path()).unwrap();
        assert_eq!(dir.remove_tree("d").unwrap(), 4 * 3 + 5);
        assert!(!victim.exists());
        assert_eq!(std::fs::read(outside.join("precious")).unwrap(), b"keep");
    }

    #[test]
    fn a_symlinked_directory_is_refused_when_opened() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("real")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("real"), tmp.path().join("link")).unwrap();
        let dir = DirFd::open(tmp.path()).unwrap();
        assert!(dir.open_child("real").is_ok());
        let e = dir.open_child("link").unwrap_err();
        assert!(
            matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)),
            "{e}"
        );
        assert!(DirFd::open(&tmp.path().join("link")).is_err());
        assert!(check_trusted_path(&tmp.path().join("link"), "the Home")
            .unwrap_err()
            .reason
            .contains("symlink"));
    }

    #[test]
    fn group_or_world_writable_directories_are_untrusted() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("d");
        std::fs::create_dir(&d).unwrap();
        for (mode, ok) in [(0o700, true), (0o755, true), (0o770, false), (0o777, false)] {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).unwrap();
            let verdict = check_trusted_path(&d, "the Home");
            assert_eq!(verdict.is_ok(), ok, "mode {mode:o}: {verdict:?}");
            if !ok {
                assert!(verdict.unwrap_err().reason.contains("chmod go-w"));
            }
        }
        assert_eq!(check_trusted_path(&tmp.path().join("gone"), "x"), Ok(false));
    }

    /// Every Home file is read the one way: no symlink, no FIFO (refused at
    /// once, never waited on), no socket, device or directory, the expected
    /// owner, and a size cap checked before anything is allocated.
    #[test]
    fn home_files_are_read_only_when_regular_owned_and_small() {
        let tmp = tempfile::tempdir().unwrap();
        let p = |n: &str| tmp.path().join(n);
        std::fs::write(p("ok"), b"{}").unwrap();
        assert_eq!(read_home_file(&p("ok"), 10).unwrap(), b"{}");
        std::os::unix::fs::symlink(p("ok"), p("link")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", p("zero")).unwrap();
        nix::unistd::mkfifo(&p("fifo"), Mode::from_bits_truncate(0o600)).unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(p("socket")).unwrap();
        std::fs::create_dir(p("dir")).unwrap();
        let sparse = std::fs::File::create(p("sparse")).unwrap();
        sparse.set_len(64 << 30).unwrap();
        for (name, says) in [
            ("link", "a symlink"),
            ("zero", "a symlink"),
            ("fifo", "a FIFO"),
            ("socket", "a socket"),
            ("dir", "a directory"),
            ("sparse", "larger than"),
        ] {
            let e = read_home_file(&p(name), 1 << 20).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{name}: {e}");
            assert!(e.to_string().contains(says), "{name}: {e}");
        }
        assert_eq!(
            read_home_file(&p("missing"), 10).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        if nix::unistd::geteuid().is_root() {
            let nobody = Some(nix::unistd::Uid::from_raw(65534));
            nix::unistd::chown(&p("ok"), nobody, None).unwrap();
            let e = read_home_file(&p("ok"), 10).unwrap_err();
            assert!(e.to_string().contains("uid 65534"), "{e}");
            // The owner of the directory's own files are its to have.
            nix::unistd::chown(tmp.path(), nobody, None).unwrap();
            assert_eq!(read_home_file(&p("ok"), 10).unwrap(), b"{}");
        } else {
            eprintln!("SKIP (another user's file): needs root to chown");
        }
    }

    /// A read beneath a pinned directory (every `list`, `home list` and gc
    /// manifest read) takes only a regular file within the cap: a FIFO,
    /// socket, directory, device node or sparse giant is refused from one
    /// `fstat`, before a byte is read.
    #[test]
    fn reads_beneath_a_directory_take_only_small_regular_files() {
        let tmp = tempfile::tempdir().unwrap();
        let p = |n: &str| tmp.path().join(n);
        std::fs::write(p("ok"), b"{}").unwrap();
        std::fs::write(p("big"), vec![b' '; 5000]).unwrap();
        nix::unistd::mkfifo(&p("fifo"), Mode::from_bits_truncate(0o600)).unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(p("socket")).unwrap();
        std::fs::create_dir(p("dir")).unwrap();
        let sparse = std::fs::File::create(p("sparse")).unwrap();
        sparse.set_len(64 << 30).unwrap();
        let mut cases = vec![
            ("socket", "a socket"),
            ("fifo", "a FIFO"),
            ("dir", "a directory"),
            ("sparse", "larger than"),
            ("big", "larger than"),
        ];
        if nix::unistd::geteuid().is_root() {
            // /dev/zero's numbers, made only inside this temp directory.
            nix::sys::stat::mknod(
                &p("zero"),
                SFlag::S_IFCHR,
                Mode::from_bits_truncate(0o600),
                nix::sys::stat::makedev(1, 5),
            )
            .unwrap();
            cases.push(("zero", "a character device"));
        } else {
            eprintln!("SKIP (device node): needs root to mknod");
        }
        let dir = DirFd::open(tmp.path()).unwrap();
        let mut buf = Vec::new();
        assert_eq!(
            dir.read_regular_beneath(Path::new("ok"), &mut buf, 4096)
                .unwrap(),
            b"{}"
        );
        for (name, says) in cases {
            let e = dir
                .read_regular_beneath(Path::new(name), &mut buf, 4096)
                .unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{name}: {e}");
            assert!(e.to_string().contains(says), "{name}: {e}");
        }
    }

    /// A stranger's file is refused saying what is wrong: whose it is and
    /// whose its directory is, or the symlink it was reached through; not
    /// that it is not a regular file.
    #[test]
    fn a_strangers_file_is_refused_saying_whose_it_is() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIP: giving a file to another user needs root");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let theirs = tmp.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::write(theirs.join("f"), b"{}").unwrap();
        let nobody = Some(nix::unistd::Uid::from_raw(65534));
        nix::unistd::chown(&theirs.join("f"), nobody, None).unwrap();
        let e = read_home_file(&theirs.join("f"), 10).unwrap_err();
        let said = e.to_string();
        assert!(said.contains("belongs to uid 65534"), "{said}");
        assert!(said.contains("its directory belongs to uid 0"), "{said}");
        assert!(!said.contains("regular file"), "{said}");
        // Reached through a link to their directory: the link is named.
        nix::unistd::chown(&theirs, nobody, None).unwrap();
        std::os::unix::fs::symlink(&theirs, tmp.path().join("link")).unwrap();
        let said = read_home_file(&tmp.path().join("link/f"), 10)
            .unwrap_err()
            .to_string();
        assert!(said.contains("through the symlink"), "{said}");
        assert!(!said.contains("regular file"), "{said}");
        assert_eq!(read_home_file(&theirs.join("f"), 10).unwrap(), b"{}");
    }

    /// A symlink is followed only where no one else controls it: ours, in a
    /// directory others cannot write or in a sticky one.
    #[test]
    fn symlinks_are_resolved_only_where_no_one_else_controls_them() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().canonicalize().unwrap().join("real");
        std::fs::create_dir(&real).unwrap();
        let at = |n: &str, mode: u32| {
            let d = tmp.path().join(n);
            std::fs::create_dir(&d).unwrap();
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).unwrap();
            std::os::unix::fs::symlink("../real", d.join("link")).unwrap();
            d.join("link").join("x")
        };
        let (private, sticky, open) = (
            at("private", 0o755),
            at("sticky", 0o1777),
            at("open", 0o777),
        );
        assert_eq!(
            resolve_trusted_symlinks(&private, "it").unwrap(),
            real.join("x")
        );
        assert_eq!(
            resolve_trusted_symlinks(&sticky, "it").unwrap(),
            real.join("x")
        );
        let e = resolve_trusted_symlinks(&open, "it").unwrap_err();
        assert!(e.reason.contains("others can write"), "{e}");
        std::os::unix::fs::symlink("loop", tmp.path().join("loop")).unwrap();
        let e = resolve_trusted_symlinks(&tmp.path().join("loop"), "it").unwrap_err();
        assert!(e.reason.contains("too many levels"), "{e}");
    }

    /// gc's dry run sizes a Session without `lstat`-ing the manifest it
    /// has just read: only that top-level entry is left out, and links
    /// count for nothing either way.
    #[test]
    fn tree_bytes_without_leaves_out_one_top_level_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("d");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join("session.json"), b"12345").unwrap();
        std::fs::write(d.join("events.jsonl"), b"1234567").unwrap();
        std::fs::write(d.join("sub").join("session.json"), b"123").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", d.join("link")).unwrap();
        let dir = DirFd::open(&d).unwrap();
        assert_eq!(dir.tree_bytes(), 15);
        assert_eq!(dir.tree_bytes_without("session.json"), 10);
        assert_eq!(dir.tree_bytes_without("absent"), 15);
    }

    #[test]
    fn a_deleted_directory_is_noticed_through_its_descriptor() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("d");
        std::fs::create_dir(&d).unwrap();
        let dir = DirFd::open(&d).unwrap();
        assert!(!dir.is_deleted());
        std::fs::remove_dir(&d).unwrap();
        assert!(dir.is_deleted());
    }
}
