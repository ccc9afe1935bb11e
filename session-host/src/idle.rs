//! The idle timeout (`idleTimeoutMs` in the manifest, `create
//! --idle-timeout-ms`): a Session nobody uses ends by itself.
//!
//! Activity is what agent-tty 0.5 counts (contract §7.7): any PTY output, and
//! the input and control requests `type`, `paste`, `run`, `send-keys`, `mark`
//! and `resize`. A `signal` and every read (`snapshot`, `wait`, `inspect`) are
//! not activity. The watcher looks every `min(timeout, 5 s)`; once the Session
//! has been idle for the whole timeout it appends a `marker` event saying so
//! (an event type every 0.5 reader knows, so the Event Log tells why the
//! Session ended) and sends the command's process group SIGHUP, as a closed
//! terminal would. The Session then ends `exited` with `exitSignal "1"`
//! through the host's normal exit path.

use super::Shared;
use agent_tty_core::event_log::EventBody;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The longest pause between two looks, whatever the timeout.
const MAX_POLL: Duration = Duration::from_millis(5000);

/// The label of the `marker` event logged when the idle timeout ends a
/// Session; the full label is `idle-timeout: no activity for <N> ms`.
pub const IDLE_MARKER_PREFIX: &str = "idle-timeout";

/// When the Session was last active, as milliseconds since the host started
/// (an atomic, so the output pump and request handlers never wait for it).
/// Output is tracked on its own too, for 0.5's `wait {idleMs}` request,
/// which counts output only.
pub struct Activity {
    epoch: Instant,
    last_ms: AtomicU64,
    last_output_ms: AtomicU64,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            epoch: Instant::now(),
            last_ms: AtomicU64::new(0),
            last_output_ms: AtomicU64::new(0),
        }
    }
}

impl Activity {
    /// Something happened now.
    pub fn touch(&self) {
        let now = self.epoch.elapsed().as_millis() as u64;
        self.last_ms.fetch_max(now, Ordering::Relaxed);
    }

    /// The terminal produced output now (also activity).
    pub fn touch_output(&self) {
        let now = self.epoch.elapsed().as_millis() as u64;
        self.last_output_ms.fetch_max(now, Ordering::Relaxed);
        self.last_ms.fetch_max(now, Ordering::Relaxed);
    }

    /// Whether the terminal produced output after `since`.
    pub fn output_after(&self, since: Instant) -> bool {
        let since_ms = since.saturating_duration_since(self.epoch).as_millis() as u64;
        self.last_output_ms.load(Ordering::Relaxed) >= since_ms
    }

    /// How long since the last output, counting from `since` at the latest.
    pub fn output_quiet_since(&self, since: Instant) -> Duration {
        let since_ms = since.saturating_duration_since(self.epoch).as_millis() as u64;
        let last = self.last_output_ms.load(Ordering::Relaxed).max(since_ms);
        let now = self.epoch.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(last))
    }

    /// How long the Session has been idle.
    pub fn idle_for(&self) -> Duration {
        let now = self.epoch.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// How often the watcher looks for a given timeout.
fn poll_interval(timeout: Duration) -> Duration {
    timeout.min(MAX_POLL).max(Duration::from_millis(1))
}

/// Watches until `stop` is raised or the timeout fires. Returns at once when
/// `timeout_ms` is 0 (disabled).
pub fn watch(shared: &Shared, timeout_ms: u64, stop: OwnedFd) {
    if timeout_ms == 0 {
        return;
    }
    let timeout = Duration::from_millis(timeout_ms);
    loop {
        let idle = shared.activity.idle_for();
        // Look again when the timeout could first be reached, but at least
        // every `poll_interval`, as 0.5 does.
        let wait = timeout.saturating_sub(idle).min(poll_interval(timeout));
        let mut fds = [PollFd::new(stop.as_fd(), PollFlags::POLLIN)];
        let ms = u16::try_from(wait.as_millis().max(1)).unwrap_or(u16::MAX);
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            // Stopped (or poll broke): the Session is ending anyway.
            _ => return,
        }
        if shared.activity.idle_for() < timeout {
            continue;
        }
        {
            let mut log = shared.log();
            if log.child_exited {
                return;
            }
            let _ = log.writer.append(EventBody::Marker {
                label: format!("{IDLE_MARKER_PREFIX}: no activity for {timeout_ms} ms"),
            });
        }
        agent_tty_runtime::liveness::signal_group(shared.child_pid, Signal::SIGHUP);
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watcher_looks_at_least_every_five_seconds() {
        assert_eq!(
            poll_interval(Duration::from_millis(300)),
            Duration::from_millis(300)
        );
        assert_eq!(poll_interval(Duration::from_secs(60)), MAX_POLL);
    }

    #[test]
    fn activity_restarts_the_idle_clock() {
        let a = Activity::default();
        std::thread::sleep(Duration::from_millis(20));
        assert!(a.idle_for() >= Duration::from_millis(20));
        a.touch();
        assert!(a.idle_for() < Duration::from_millis(20));
    }
}
