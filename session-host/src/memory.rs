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
//! [`TRIM_THRESHOLD`] there; [`trim`] releases the free pages left inside
//! when the live screen is put away; [`release_code`], after a longer
//! quiet, unmaps the clean code pages of the binary and the plugin, which
//! the kernel maps back from the page cache on their next use (a minor
//! fault each).

/// Free memory at the top of an arena beyond which a `free` gives it back:
/// glibc's default, fixed instead of growing.
#[cfg(target_env = "gnu")]
const TRIM_THRESHOLD: libc::c_int = 128 * 1024;

/// Blocks at least this big get their own mapping, returned on `free`:
/// glibc's default, fixed instead of growing (the buffers the host reuses
/// while busy, such as the PTY read buffer, are allocated once).
#[cfg(target_env = "gnu")]
const MMAP_THRESHOLD: libc::c_int = 128 * 1024;

/// Fixes the allocator's thresholds (for the whole process); called once,
/// when the host starts.
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

/// Unmaps the pages of code this process has mapped from the `agent-tty`
/// binary and from the plugin this module is part of: they stay in the
/// page cache, and the next instruction run from one maps it back. Called
/// once a Session has been quiet for a while ([`RELEASE_CODE_AFTER`]), so
/// a Session typed into now and then does not fault its code back in after
/// every pause. Best effort: nothing is released when `/proc/self/smaps`
/// cannot be read.
pub fn release_code() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    // SAFETY: getauxval only reads the process's auxiliary vector.
    let entry = unsafe { libc::getauxval(libc::AT_ENTRY) } as usize;
    let ours = [entry, release_code as fn() as usize];
    for (start, end) in releasable(&smaps, &ours) {
        // SAFETY: see `releasable`: every page of the range is a clean
        // copy of the file (no private copy was ever made: no breakpoint,
        // relocation or patch written into it), of an object that stays
        // mapped as long as the process lives (the binary, and a plugin,
        // which is never unloaded), so dropping the pages loses nothing and
        // cannot touch memory mapped there later; the next use faults them
        // in again from the same file.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}

/// How long after the live screen was put away the code is released.
pub const RELEASE_CODE_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// The code mappings of a `/proc/PID/smaps` text that [`release_code`] may
/// release: readable, executable, never writable and private (`r-xp`),
/// from the same file as a mapping holding one of the addresses `ours`,
/// with no anonymous (privately copied) page, nothing locked, and 4 KiB
/// pages (a huge page could not be faulted back in for sure).
fn releasable(smaps: &str, ours: &[usize]) -> Vec<(usize, usize)> {
    struct Mapping<'a> {
        range: (usize, usize),
        code: bool,
        path: &'a str,
        clean: bool,
    }
    let mut mappings: Vec<Mapping> = Vec::new();
    for line in smaps.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some(key) = first.strip_suffix(':') {
            let value = fields.next();
            if let Some(mapping) = mappings.last_mut() {
                mapping.clean &= match key {
                    "Anonymous" | "Locked" => value == Some("0"),
                    "KernelPageSize" | "MMUPageSize" => value == Some("4"),
                    _ => true,
                };
            }
            continue;
        }
        let Some((start, end)) = mapping_range(first) else {
            continue;
        };
        let perms = fields.next().unwrap_or_default();
        let path = fields.nth(3).unwrap_or_default();
        mappings.push(Mapping {
            range: (start, end),
            code: perms == "r-xp" && path.starts_with('/') && start < end,
            path,
            clean: true,
        });
    }
    let own: Vec<&str> = mappings
        .iter()
        .filter(|m| ours.iter().any(|&a| (m.range.0..m.range.1).contains(&a)))
        .map(|m| m.path)
        .filter(|p| p.starts_with('/'))
        .collect();
    mappings
        .iter()
        .filter(|m| m.code && m.clean && own.contains(&m.path))
        .map(|m| m.range)
        .collect()
}

/// The address range a `/proc/PID/maps` or `smaps` header line starts
/// with (`7f1c2a000000-7f1c2a400000`).
fn mapping_range(field: &str) -> Option<(usize, usize)> {
    let (start, end) = field.split_once('-')?;
    Some((
        usize::from_str_radix(start, 16).ok()?,
        usize::from_str_radix(end, 16).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
1000-2000 r--p 00000000 fd:01 7 /usr/bin/agent-tty
Anonymous:             0 kB
2000-6000 r-xp 00001000 fd:01 7 /usr/bin/agent-tty
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Anonymous:             0 kB
Locked:                0 kB
6000-7000 rw-p 00005000 fd:01 7 /usr/bin/agent-tty
Anonymous:             4 kB
8000-9000 r-xp 00000000 fd:01 8 /usr/lib/libc.so.6
Anonymous:             0 kB
a000-c000 r-xp 00000000 fd:01 9 /opt/plugins/libsessions.so
Anonymous:             0 kB
c000-e000 r-xp 00002000 fd:01 9 /opt/plugins/libsessions.so
Anonymous:             4 kB
e000-f000 r-xp 00004000 fd:01 9 /opt/plugins/libsessions.so
Locked:                4 kB
f000-11000 r-xp 00005000 fd:01 9 /opt/plugins/libsessions.so
KernelPageSize:     2048 kB
11000-12000 r-xp 00000000 00:00 0 [vdso]
12000-13000 r-xp 00000000 00:00 0
";

    #[test]
    fn only_clean_code_of_our_own_objects_is_released() {
        // The binary's entry point, and code of the plugin.
        let ours = [0x2100, 0xa010];
        assert_eq!(
            releasable(SMAPS, &ours),
            // Not libc, not the plugin's pages privately copied (a
            // breakpoint), locked or huge, nothing anonymous or not code.
            vec![(0x2000, 0x6000), (0xa000, 0xc000)]
        );
        assert_eq!(
            releasable(SMAPS, &[0x11000]),
            vec![],
            "the vDSO is no object"
        );
        assert_eq!(releasable("", &ours), vec![]);
    }

    /// The resident pages of the mapping holding `address`, from smaps.
    fn resident_kb(address: usize) -> usize {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            let first = line.split_ascii_whitespace().next().unwrap_or_default();
            if let Some((start, end)) = mapping_range(first) {
                inside = (start..end).contains(&address);
            } else if inside && first == "Rss:" {
                return line
                    .split_ascii_whitespace()
                    .nth(1)
                    .unwrap()
                    .parse()
                    .unwrap();
            }
        }
        panic!("no mapping holds {address:#x}");
    }

    #[test]
    fn this_programs_code_is_released_and_runs_again() {
        let here = this_programs_code_is_released_and_runs_again as fn() as usize;
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let ours = [here];
        let ranges = releasable(&smaps, &ours);
        let (start, end) = *ranges
            .iter()
            .find(|(s, e)| (*s..*e).contains(&here))
            .expect("this test's own code is releasable");
        // Every page of it resident first.
        for page in (start..end).step_by(4096) {
            // SAFETY: the page is mapped readable (an r-xp mapping).
            unsafe { std::ptr::read_volatile(page as *const u8) };
        }
        let before = resident_kb(here);
        release_code();
        let after = resident_kb(here);
        // Without the release every page stays resident; with it, what
        // runs from here on (reading smaps) maps some back at once.
        assert!(after < before, "{after} kB of {before} kB still resident");
    }
}
