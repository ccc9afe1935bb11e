//! Where a capture is written: the Session's `artifacts/` by default, or
//! `--out PATH`, resolved against the current directory, whose directory
//! must exist and be writable.

use std::path::{Path, PathBuf};

/// The file `--out` names, made absolute with its directory's real path;
/// `Err` says what is wrong with it, in words for the user.
pub(crate) fn resolve_out(out: &str) -> Result<PathBuf, String> {
    if out.is_empty() {
        return Err("--out must not be empty".into());
    }
    let path = Path::new(out);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| format!("the current directory cannot be read ({e})"))?
            .join(path)
    };
    let name = absolute
        .file_name()
        .ok_or_else(|| format!("--out {out:?} names a directory, not a file"))?
        .to_owned();
    let parent = absolute.parent().unwrap_or(Path::new("/"));
    let parent = parent
        .canonicalize()
        .map_err(|e| format!("the directory of --out {out:?} does not exist ({e})"))?;
    if !parent.is_dir() {
        return Err(format!("the directory of --out {out:?} is not a directory"));
    }
    let c_parent = std::ffi::CString::new(parent.as_os_str().as_encoded_bytes())
        .map_err(|_| format!("--out {out:?} is not a usable path"))?;
    // SAFETY: access(2) only reads the NUL-terminated path.
    if unsafe { libc::access(c_parent.as_ptr(), libc::W_OK) } != 0 {
        return Err(format!(
            "the directory of --out {out:?} is not writable; choose another --out"
        ));
    }
    let target = parent.join(name);
    if target.is_dir() {
        return Err(format!("--out {out:?} is a directory; give a file name"));
    }
    Ok(target)
}
