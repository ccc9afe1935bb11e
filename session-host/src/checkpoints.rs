//! Screen checkpoints written by the host (docs/adr/0022-host-ingest.md).
//!
//! A reader that replays a long stretch of log leaves a checkpoint for the
//! next one (`screen/checkpoint.rs`), but the first reader of a big log
//! still pays a full replay. The host sees its log grow, so it leaves
//! checkpoints itself: its checkpoint thread catches a reader's screen up
//! on the Event Log and saves it. That screen is a reader's in every way
//! (built and fed by `ScreenReplay::catch_up`, the code `snapshot` and
//! `wait` run), so the checkpoint has the format, the scrollback and the
//! trust rules of any reader's, and a reader cannot tell who wrote it. The
//! host's live screen cannot serve: it keeps only `MIN_HISTORY` lines
//! (readers keep 10,000) and sees the output before the Session's marks are
//! removed.
//!
//! When: once the output *pauses* ([`QUIET`]) after at least
//! [`IDLE_MIN_BYTES`] more, and when the command ends, so the first reader
//! after a burst (the usual one: an agent reads once its command is done)
//! replays next to nothing; while a program prints flat out, only every
//! [`EVERY_BYTES`], so a flood does not pay a checkpoint (the save of 10,000
//! lines) every few MB. A catch-up skips the part of a flood of plain lines
//! that scrolls out unseen, so a pass costs about the decoding of what it
//! reads.
//!
//! It stays off the hot path: the thread runs at the lowest priority (nice
//! 19), so it takes CPU time mostly when nothing else wants it, lagging
//! behind a flood rather than slowing the output pump or the program (and,
//! unlike `SCHED_IDLE`, it still gets a little on a machine busy all the
//! time); the pump only adds to a counter. Its screen (10,000 lines: tens
//! of MB) is kept only while passes keep coming, then dropped and the memory
//! returned to the system, so an idle host holds none of it. When the
//! command ends, the host gives it a moment ([`FINAL_WAIT`]) to cover the
//! end of the log.

use super::{memory, Shared};
use agent_tty_core::event_log::EventLogFollower;
use agent_tty_core::layout::SessionDir;
use agent_tty_core::manifest;
use agent_tty_core::screen::ScreenReplay;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// While output keeps coming, a checkpoint at most every this much output:
/// a reader in the middle of a flood replays up to this much (a flood of
/// plain lines at decoding speed, ~50 ms; output that redraws in place at
/// the emulator's, ~300 ms), and the host saves 10,000 lines of screen a
/// few times per 100 MB instead of a dozen.
pub const EVERY_BYTES: u64 = 32 * 1024 * 1024;

/// Output that stops for this long gets its checkpoint...
const QUIET: Duration = Duration::from_millis(200);

/// ...when at least this much came since the last one: a reader replays
/// less in a few ms, and a Session printing a little now and then does not
/// save its screen each time.
pub const IDLE_MIN_BYTES: u64 = 1024 * 1024;

/// How long the ending host waits for the last checkpoint (covering the end
/// of the log) at most.
const FINAL_WAIT: Duration = Duration::from_secs(2);

/// What the output pump tells the checkpoint thread, and how it waits.
pub struct Checkpoints {
    /// Output bytes logged since the host started.
    logged: AtomicU64,
    /// The pump wakes the thread once `logged` reaches this (`u64::MAX`:
    /// the thread is watching the output already).
    wake_at: AtomicU64,
    state: Mutex<State>,
    changed: Condvar,
}

impl Default for Checkpoints {
    fn default() -> Self {
        Checkpoints {
            logged: AtomicU64::new(0),
            wake_at: AtomicU64::new(IDLE_MIN_BYTES),
            state: Mutex::default(),
            changed: Condvar::new(),
        }
    }
}

#[derive(Default)]
struct State {
    /// The command has ended: make the last checkpoint, then end.
    ending: bool,
    /// The thread has ended.
    done: bool,
}

impl Checkpoints {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The pump logged `bytes` more output: an atomic add, and a wake-up
    /// once per checkpoint at most.
    pub fn logged(&self, bytes: usize) {
        // SeqCst here and where the thread sets `wake_at` and then reads
        // `logged`: one of the two sees the other's write, so no wake-up is
        // lost (the rest is ordered by the lock).
        // Only the threshold read here is taken back: one the thread set
        // meanwhile stays (the thread then reads this add itself).
        let total = self.logged.fetch_add(bytes as u64, Ordering::SeqCst) + bytes as u64;
        let at = self.wake_at.load(Ordering::SeqCst);
        if total >= at
            && self
                .wake_at
                .compare_exchange(at, u64::MAX, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
        {
            let _guard = self.lock();
            self.changed.notify_all();
        }
    }

    /// Tells the thread the log is complete and waits (at most
    /// [`FINAL_WAIT`]) for its last checkpoint.
    pub fn finish(&self) {
        let deadline = Instant::now() + FINAL_WAIT;
        let mut state = self.lock();
        state.ending = true;
        self.changed.notify_all();
        while !state.done {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Waits until a pass is due, given that the last one covered
    /// `covered` bytes of output; gives up after `keep` (when given) with
    /// nothing to do.
    fn next_pass(&self, covered: u64, keep: Option<Duration>) -> Pass {
        let give_up = keep.map(|k| Instant::now() + k);
        let mut state = self.lock();
        // `logged` at the last look while output comes.
        let mut seen = None;
        loop {
            if state.ending {
                return Pass::Last;
            }
            let logged = self.logged.load(Ordering::Relaxed);
            if logged >= covered + EVERY_BYTES {
                return Pass::Flowing;
            }
            let wait = if logged >= covered + IDLE_MIN_BYTES {
                if seen == Some(logged) {
                    return Pass::Paused;
                }
                // Watch the output (no wake-ups from the pump meanwhile).
                seen = Some(logged);
                self.wake_at.store(u64::MAX, Ordering::Relaxed);
                Some(QUIET)
            } else {
                seen = None;
                self.wake_at
                    .store(covered + IDLE_MIN_BYTES, Ordering::SeqCst);
                // It may have been reached just before (see `logged`).
                if self.logged.load(Ordering::SeqCst) >= covered + IDLE_MIN_BYTES {
                    continue;
                }
                match give_up {
                    Some(at) => {
                        let left = at.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            return Pass::Quiet;
                        }
                        Some(left)
                    }
                    None => None,
                }
            };
            state = match wait {
                None => self.changed.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(wait) => {
                    self.changed
                        .wait_timeout(state, wait)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
    }

    /// The thread has ended (or could not start): [`Checkpoints::finish`]
    /// waits no longer.
    pub fn ended(&self) {
        self.lock().done = true;
        self.changed.notify_all();
    }
}

/// Calls [`Checkpoints::ended`] however the thread ends, a panic included,
/// so an ending host never waits the whole [`FINAL_WAIT`] for nothing.
struct EndedOnDrop<'a>(&'a Checkpoints);

impl Drop for EndedOnDrop<'_> {
    fn drop(&mut self) {
        self.0.ended();
    }
}

/// What [`Checkpoints::next_pass`] found.
enum Pass {
    /// [`EVERY_BYTES`] more were logged, and output still comes.
    Flowing,
    /// Output paused after at least [`IDLE_MIN_BYTES`] more.
    Paused,
    /// The command has ended: the last pass.
    Last,
    /// Nothing to do for a while.
    Quiet,
}

/// How long the checkpoint thread keeps its screen without a pass to make.
const KEEP_SCREEN: Duration = Duration::from_millis(500);

/// The checkpoint thread (see the module docs); returns once the command
/// has ended and the last checkpoint is written.
pub fn run(shared: &Shared) {
    lower_priority();
    let log = SessionDir::new(&shared.session_dir).event_log();
    let checkpoints = &shared.checkpoints;
    let _ended = EndedOnDrop(checkpoints);
    let mut screen: Option<(ScreenReplay, EventLogFollower)> = None;
    // `logged` when the last pass started.
    let mut covered = 0;
    loop {
        let pass = checkpoints.next_pass(covered, screen.is_some().then_some(KEEP_SCREEN));
        if let Pass::Quiet = pass {
            // No pass for a while: give the screen's memory back.
            screen = None;
            memory::trim();
            continue;
        }
        let start = checkpoints.logged.load(Ordering::Relaxed);
        let last = matches!(pass, Pass::Last);
        // A short tail is left to readers: they replay it in no time.
        if !last || start - covered >= IDLE_MIN_BYTES {
            covered = start;
            catch_up(shared, &log, &mut screen);
        }
        if last {
            drop(screen);
            memory::trim();
            return;
        }
    }
}

/// Catches the reader's screen up on the log (from the last checkpoint, when
/// it has none yet) and saves it as the checkpoint.
fn catch_up(shared: &Shared, log: &Path, screen: &mut Option<(ScreenReplay, EventLogFollower)>) {
    if screen.is_none() {
        let Ok(manifest) = manifest::read_manifest(&shared.session_dir) else {
            return;
        };
        *screen = Some((
            ScreenReplay::for_manifest(&manifest),
            EventLogFollower::new(log),
        ));
    }
    let Some((replay, follower)) = screen.as_mut() else {
        return;
    };
    // A fresh screen's catch-up saves a checkpoint itself when it replayed
    // much; one is written once either way.
    let written = || {
        std::fs::metadata(SessionDir::new(&shared.session_dir).checkpoint())
            .and_then(|m| m.modified())
            .ok()
    };
    let before = written();
    if replay.catch_up(follower).is_err() {
        *screen = None;
        return;
    }
    if written() == before {
        replay.save_checkpoint(log, follower.offset());
    }
}

/// Gives this thread (and those it starts) the lowest priority, nice 19.
fn lower_priority() {
    // SAFETY: gettid has no preconditions; setpriority on a thread id sets
    // that thread's nice value on Linux. A failure leaves it as it was.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19);
    }
}
