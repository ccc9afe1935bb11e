//! A pre-flight check of ELF libraries before `dlopen`.
//!
//! The dynamic loader maps a library's segments straight from the file; a
//! truncated file whose segments extend past its end is mapped anyway and the
//! first touch of a missing page kills the whole process with SIGBUS. Checking
//! that every loadable segment and header table lies inside the file turns
//! that crash into a clear refusal. Non-ELF files are left to the loader.

use std::fs::File;
use std::os::unix::fs::FileExt;

/// `Err` with a sentence when the file is an ELF object that cannot be mapped
/// safely; `Ok` for sound ELF files and anything that is not ELF.
///
/// It reads the file already open, so the loader checks the very file it
/// then loads.
pub fn check_file(file: &File) -> Result<(), String> {
    let unreadable = |e: std::io::Error| format!("cannot be read: {e}");
    let len = file.metadata().map_err(unreadable)?.len();
    // Two small reads: the ELF header, then the program header table. It
    // runs before every `dlopen` (on the first call to a plugin, and when a
    // library is described), so it must not read the library.
    let mut head = [0u8; 64];
    let got = read_at_most(file, &mut head, 0).map_err(unreadable)?;
    let head = &head[..got];
    if !head.starts_with(b"\x7fELF") {
        return Ok(());
    }
    let truncated = |what: &str, end: u64| {
        format!(
            "is truncated or corrupt: its {what} ends at byte {end} but the file has {len} bytes"
        )
    };
    let bad = || "is corrupt: its ELF header cannot be read".to_string();
    // Offsets near u64::MAX would wrap past the size checks below.
    let beyond = || "is corrupt: its ELF headers point beyond any possible file".to_string();
    let is64 = match head.get(4) {
        Some(1) => false,
        Some(2) => true,
        _ => return Err("is corrupt: unknown ELF class".into()),
    };
    let little = match head.get(5) {
        Some(1) => true,
        Some(2) => false,
        _ => return Err("is corrupt: unknown ELF byte order".into()),
    };
    let header_len: u64 = if is64 { 64 } else { 52 };
    if len < header_len {
        return Err(truncated("ELF header", header_len));
    }
    let word = if is64 { 8 } else { 4 };
    let (phoff_at, shoff_at, sizes_at) = if is64 { (32, 40, 54) } else { (28, 32, 42) };
    let field = |at: usize, size: usize| read_uint(head, at, size, little).ok_or_else(bad);
    let phoff = field(phoff_at, word)?;
    let shoff = field(shoff_at, word)?;
    let phentsize = field(sizes_at, 2)?;
    let phnum = field(sizes_at + 2, 2)?;
    let shentsize = field(sizes_at + 4, 2)?;
    let shnum = field(sizes_at + 6, 2)?;
    let ph_end = phoff.checked_add(phentsize * phnum).ok_or_else(beyond)?;
    if ph_end > len {
        return Err(truncated("program header table", ph_end));
    }
    let sh_end = shoff.checked_add(shentsize * shnum).ok_or_else(beyond)?;
    if shoff != 0 && sh_end > len {
        return Err(truncated("section header table", sh_end));
    }
    let mut table = vec![0u8; (phentsize * phnum) as usize];
    let got = read_at_most(file, &mut table, phoff).map_err(unreadable)?;
    if got < table.len() {
        return Err(truncated("program header table", ph_end));
    }
    const PT_LOAD: u64 = 1;
    for i in 0..phnum as usize {
        let entry = &table[i * phentsize as usize..];
        let p_type = read_uint(entry, 0, 4, little).ok_or_else(bad)?;
        if p_type != PT_LOAD {
            continue;
        }
        let (offset, filesz) = if is64 {
            (
                read_uint(entry, 8, 8, little),
                read_uint(entry, 32, 8, little),
            )
        } else {
            (
                read_uint(entry, 4, 4, little),
                read_uint(entry, 16, 4, little),
            )
        };
        let end = offset
            .ok_or_else(bad)?
            .checked_add(filesz.ok_or_else(bad)?)
            .ok_or_else(beyond)?;
        if end > len {
            return Err(truncated(&format!("loadable segment {i}"), end));
        }
    }
    Ok(())
}

fn read_uint(bytes: &[u8], at: usize, size: usize, little: bool) -> Option<u64> {
    let bytes = bytes.get(at..at + size)?;
    let fold = |v: u64, b: &u8| (v << 8) | u64::from(*b);
    Some(if little {
        bytes.iter().rev().fold(0, fold)
    } else {
        bytes.iter().fold(0, fold)
    })
}

/// Fills as much of `buf` as the file holds from `offset`.
fn read_at_most(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn check(path: &Path) -> Result<(), String> {
        check_file(&File::open(path).unwrap())
    }

    #[test]
    fn a_truncated_copy_of_a_real_library_is_refused_and_the_original_passes() {
        let exe = std::env::current_exe().unwrap();
        assert_eq!(check(&exe), Ok(()));
        let bytes = std::fs::read(&exe).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let cut = tmp.path().join("cut.so");
        std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
        let err = check(&cut).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn header_offsets_that_would_wrap_are_refused() {
        let mut bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(bytes[4], 2, "a 64-bit test binary");
        let phoff = if bytes[5] == 1 {
            (u64::MAX - 8).to_le_bytes()
        } else {
            (u64::MAX - 8).to_be_bytes()
        };
        bytes[32..40].copy_from_slice(&phoff);
        let tmp = tempfile::tempdir().unwrap();
        let bad = tmp.path().join("wrapped.so");
        std::fs::write(&bad, &bytes).unwrap();
        let err = check(&bad).unwrap_err();
        assert!(err.contains("beyond"), "{err}");
    }

    #[test]
    fn non_elf_files_are_left_to_the_loader() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("text.so");
        std::fs::write(&f, b"not a library").unwrap();
        assert_eq!(check(&f), Ok(()));
    }
}
