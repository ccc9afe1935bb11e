//! What an idle host holds, and how it gives it back once its Session goes
//! quiet.
//!
//! A host lives as long as its Session, mostly idle, so what it holds while
//! idle is what it costs (issue 21: ≤ 4 MB PSS for an idle host with
//! 10,000 lines behind it; docs/adr/0022-host-ingest.md). Three things kept
//! memory resident after the live screen was put away:
//! - glibc's threshold for giving back the top of a heap grows with the
//!   largest block freed (up to 64 MB), so after the checkpoint thread
//!   drops a reader's screen its arena kept megabytes of freed pages;
//! - `malloc_trim` gives back whole free pages inside every arena but
//!   shrinks only the main arena's top, so a thread arena's top stayed;
//! - the code the host ran while busy (start-up, the emulator, JSON) stays
//!   mapped: clean pages of the binary and the plugin, megabytes of PSS for
//!   a lone host although the page cache holds them anyway.
//!
//! [`tune`] fixes both heap thresholds at glibc's defaults, so every
//! arena's top shrinks as soon as a `free` leaves more than
//! [`TRIM_THRESHOLD`] there; [`trim`] releases the free pages left inside;
//! [`release_code`] unmaps the clean code pages, which the kernel maps back
//! from the page cache on their next use (a minor fault each).

use std::io::BufRead;

/// Free memory at the top of an arena beyond which a `free` gives it back:
/// glibc's default, fixed instead of growing.
#[cfg(target_env = "gnu")]
const TRIM_THRESHOLD: libc::c_int = 128 * 1024;

/// Blocks at least this big get their own mapping, returned on `free`:
/// glibc's default, fixed instead of growing (the buffers the host reuses
/// while busy, such as the PTY read buffer, are allocated once).
#[cfg(target_env = "gnu")]
const MMAP_THRESHOLD: libc::c_int = 128 * 1024;

/// Fixes the allocator's thresholds; called once, before the host's
/// threads start.
pub fn tune() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only changes the allocator's parameters; a refusal
    // (0) leaves glibc's defaults, which are correct, only larger.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

/// Returns freed heap memory to the system (glibc keeps it otherwise, and
/// the host's PSS with it).
pub fn trim() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Unmaps the pages of code this process has mapped from files (the
/// binary, the plugin, the system libraries): they stay in the page cache,
/// and the next instruction run from one maps it back. Best effort: a
/// range that cannot be read or released is left as it is.
pub fn release_code() {
    let Ok(maps) = std::fs::File::open("/proc/self/maps") else {
        return;
    };
    for line in std::io::BufReader::new(maps).lines().map_while(Result::ok) {
        if let Some((start, end)) = code_range(&line) {
            // SAFETY: the range is a whole mapping of this process that is
            // executable, not writable and private to a file: its pages
            // are clean copies of the file (code is never written), so
            // dropping them loses nothing; the next use faults them in
            // again from the same file.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
            }
        }
    }
}

/// The address range of a `/proc/self/maps` line that maps code from a
/// file: `r-xp` (readable, executable, never writable, private) with a
/// path, so not the vDSO or an anonymous mapping.
fn code_range(line: &str) -> Option<(usize, usize)> {
    let mut fields = line.split_ascii_whitespace();
    let range = fields.next()?;
    let perms = fields.next()?;
    let path = fields.nth(3)?;
    if perms != "r-xp" || !path.starts_with('/') {
        return None;
    }
    let (start, end) = range.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    (start < end).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_file_code_mappings_are_released() {
        let code = "7f1c2a000000-7f1c2a400000 r-xp 000d8000 fd:01 123 /usr/bin/agent-tty";
        assert_eq!(code_range(code), Some((0x7f1c2a000000, 0x7f1c2a400000)));
        for kept in [
            // Written data, read-only data (relocated pages live there).
            "7f1c2a400000-7f1c2a500000 rw-p 00000000 fd:01 123 /usr/bin/agent-tty",
            "7f1c2a500000-7f1c2a600000 r--p 00000000 fd:01 123 /usr/bin/agent-tty",
            // Shared, writable-executable, the vDSO, anonymous memory.
            "7f1c2a600000-7f1c2a700000 r-xs 00000000 fd:01 124 /dev/shm/x",
            "7f1c2a700000-7f1c2a800000 rwxp 00000000 fd:01 125 /tmp/jit",
            "7ffd1e5f0000-7ffd1e5f2000 r-xp 00000000 00:00 0 [vdso]",
            "7f1c2a800000-7f1c2a900000 r-xp 00000000 00:00 0",
        ] {
            assert_eq!(code_range(kept), None, "{kept}");
        }
    }

    #[test]
    fn released_code_runs_again() {
        // After the release every page of this test's code is faulted back
        // in from its file, and it still computes the same thing.
        let before: u64 = (1..=1000u64).map(|n| n * n % 7).sum();
        release_code();
        let after: u64 = (1..=1000u64).map(|n| n * n % 7).sum();
        assert_eq!(before, after);
    }
}
