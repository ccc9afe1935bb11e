//! Screen checkpoints written by the host (docs/adr/0022-host-ingest.md).
//!
//! A reader that replays a long stretch of log leaves a checkpoint for the
//! next one (`screen/checkpoint.rs`), but the first reader of a big log
//! still pays a full replay. The host sees its log grow, so it leaves
//! checkpoints as it goes: each time it has logged [`EVERY_BYTES`] more
//! output, its checkpoint thread catches a reader's screen up on the Event
//! Log and saves it. That screen is a reader's in every way (built and fed
//! by `ScreenReplay::catch_up`, the code `snapshot` and `wait` run), so the
//! checkpoint has the format, the scrollback and the trust rules of any
//! reader's, and a reader cannot tell who wrote it. The host's live screen
//! cannot serve: it keeps only `MIN_HISTORY` lines (readers keep 10,000)
//! and sees the output before the Session's marks are removed.
//!
//! It stays off the hot path: the thread runs at the lowest priority (nice
//! 19), so it takes CPU time mostly when nothing else wants it, lagging
//! behind a flood rather than slowing the output pump or the program (and,
//! unlike `SCHED_IDLE`, it still gets a little on a machine busy all the
//! time). Its screen
//! (10,000 lines: tens of MB) is kept only while the log keeps growing; a
//! pass that finds the output slowed drops it and returns the memory to the
//! system, so an idle host holds none of it. When the command ends, the host
//! gives it a moment ([`FINAL_WAIT`]) to cover the end of the log, so the
//! first reader of an ended Session replays next to nothing.

use super::Shared;
use agent_tty_core::event_log::EventLogFollower;
use agent_tty_core::layout::SessionDir;
use agent_tty_core::manifest;
use agent_tty_core::screen::{ScreenReplay, CHECKPOINT_EVERY_BYTES};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The host leaves a checkpoint each time it has logged this much more
/// output. Saving one takes a few ms for a full scrollback, so this keeps
/// the cost per MB small, while a reader catching up on what came since
/// replays at most this much.
pub const EVERY_BYTES: u64 = 8 * 1024 * 1024;

/// How long the ending host waits for the last checkpoint (covering the end
/// of the log) at most.
const FINAL_WAIT: Duration = Duration::from_secs(2);

/// What the output pump tells the checkpoint thread, and how it waits.
#[derive(Default)]
pub struct Checkpoints {
    /// Output bytes logged since the host started.
    logged: AtomicU64,
    /// `logged` at which the next pass is due.
    due: AtomicU64,
    state: Mutex<State>,
    changed: Condvar,
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

    /// The pump logged `bytes` more output.
    pub fn logged(&self, bytes: usize) {
        let total = self.logged.fetch_add(bytes as u64, Ordering::Relaxed) + bytes as u64;
        if total >= self.due.load(Ordering::Relaxed).max(EVERY_BYTES) {
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

    /// Waits (at most `quiet`, when given) until a pass is due.
    fn next_pass(&self, quiet: Option<Duration>) -> Pass {
        let deadline = quiet.map(|q| Instant::now() + q);
        let mut state = self.lock();
        loop {
            if state.ending {
                return Pass::Last;
            }
            let logged = self.logged.load(Ordering::Relaxed);
            if logged >= self.due.load(Ordering::Relaxed).max(EVERY_BYTES) {
                return Pass::Due;
            }
            state = match deadline {
                None => self.changed.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Pass::Quiet;
                    }
                    self.changed
                        .wait_timeout(state, left)
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
    /// [`EVERY_BYTES`] more were logged.
    Due,
    /// The command has ended: the last pass.
    Last,
    /// Nothing for a while.
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
        let pass = checkpoints.next_pass(screen.is_some().then_some(KEEP_SCREEN));
        if let Pass::Quiet = pass {
            // Output slowed down: give the screen's memory back.
            screen = None;
            trim_heap();
            continue;
        }
        let start = checkpoints.logged.load(Ordering::Relaxed);
        checkpoints
            .due
            .store(start + EVERY_BYTES, Ordering::Relaxed);
        let last = matches!(pass, Pass::Last);
        // A short tail is left to readers: they replay it in no time.
        if !last || start - covered >= CHECKPOINT_EVERY_BYTES {
            covered = start;
            catch_up(shared, &log, &mut screen);
        }
        if last {
            drop(screen);
            trim_heap();
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

/// Returns freed heap memory to the system (glibc keeps it otherwise, and
/// the host's PSS with it).
pub fn trim_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}
