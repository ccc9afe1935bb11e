//! A pre-flight check of ELF libraries before `dlopen`.
//!
//! The dynamic loader maps a library's segments straight from the file; a
//! truncated file whose segments extend past its end is mapped anyway and the
//! first touch of a missing page kills the whole process with SIGBUS. Checking
//! that every loadable segment and header table lies inside the file turns
//! that crash into a clear refusal. Non-ELF files are left to the loader.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// `Err` with a sentence when the file is an ELF object that cannot be mapped
/// safely; `Ok` for sound ELF files and anything that is not ELF.
pub fn check(path: &Path) -> Result<(), String> {
    let mut file = File::open(path).map_err(|e| format!("cannot be read: {e}"))?;
    let len = file
        .metadata()
        .map_err(|e| format!("cannot be read: {e}"))?
        .len();
    let mut head = Vec::new();
    file.by_ref()
        .take(1 << 20)
        .read_to_end(&mut head)
        .map_err(|e| format!("cannot be read: {e}"))?;
    if !head.starts_with(b"\x7fELF") {
        return Ok(());
    }
    let truncated = |what: &str, end: u64| {
        format!(
            "is truncated or corrupt: its {what} ends at byte {end} but the file has {len} bytes"
        )
    };
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
    let read = |off: u64, size: usize| -> Option<u64> {
        let bytes = head.get(off as usize..off as usize + size)?;
        let mut v: u64 = 0;
        for i in 0..size {
            let b = if little {
                bytes[size - 1 - i]
            } else {
                bytes[i]
            };
            v = (v << 8) | u64::from(b);
        }
        Some(v)
    };
    let word = if is64 { 8 } else { 4 };
    let header_len: u64 = if is64 { 64 } else { 52 };
    if len < header_len {
        return Err(truncated("ELF header", header_len));
    }
    let (phoff_at, shoff_at, sizes_at) = if is64 { (32, 40, 54) } else { (28, 32, 42) };
    let bad = || "is corrupt: its ELF header cannot be read".to_string();
    let phoff = read(phoff_at, word).ok_or_else(bad)?;
    let shoff = read(shoff_at, word).ok_or_else(bad)?;
    let phentsize = read(sizes_at, 2).ok_or_else(bad)?;
    let phnum = read(sizes_at + 2, 2).ok_or_else(bad)?;
    let shentsize = read(sizes_at + 4, 2).ok_or_else(bad)?;
    let shnum = read(sizes_at + 6, 2).ok_or_else(bad)?;
    let ph_end = phoff + phentsize * phnum;
    if ph_end > len {
        return Err(truncated("program header table", ph_end));
    }
    let sh_end = shoff + shentsize * shnum;
    if shoff != 0 && sh_end > len {
        return Err(truncated("section header table", sh_end));
    }
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        let p_type = read(at, 4).ok_or_else(bad)?;
        const PT_LOAD: u64 = 1;
        if p_type != PT_LOAD {
            continue;
        }
        let (offset, filesz) = if is64 {
            (read(at + 8, 8), read(at + 32, 8))
        } else {
            (read(at + 4, 4), read(at + 16, 4))
        };
        let end = offset.ok_or_else(bad)? + filesz.ok_or_else(bad)?;
        if end > len {
            return Err(truncated(&format!("loadable segment {i}"), end));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn non_elf_files_are_left_to_the_loader() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("text.so");
        std::fs::write(&f, b"not a library").unwrap();
        assert_eq!(check(&f), Ok(()));
    }
}
