//! The one loop that follows a Session's Event Log until something happens.
//!
//! `wait` (and through [`super::wait::follow`] `batch`'s wait steps and the
//! host's answer to 0.5's `waitForRender`) and `run` (and `batch`'s run
//! steps, through `run_in_session`) all wait the same way: look at what the
//! Event Log gained, pace the looks with [`PollPace`], stop at the time
//! limit, and every [`STATUS_CHECK_INTERVAL`] re-read the manifest (a host
//! that died logs no `exit`, only the manifest says the Session ended) and
//! the host record (a host that cannot write its log would make the caller
//! wait for something that may have happened unrecorded). Only what a look
//! searches for differs, so that is the caller's `step`; the rest lives
//! here once, and `run` and `wait` cannot drift apart.

use super::target::Target;
use super::PollPace;
use agent_tty_core::event_log::storage_problem;
use agent_tty_core::manifest::read_manifest;
use agent_tty_plugin_api::PluginError;
use std::time::{Duration, Instant};

/// How often the manifest and host record are re-read, to notice a Session
/// that ended without an `exit` event (its host died) or a host that can no
/// longer write its Event Log.
pub(crate) const STATUS_CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// What one look at the Event Log found.
pub(crate) enum Step<T> {
    /// Not yet. `active`: new events arrived, so the next look comes sooner.
    Pending { active: bool },
    /// Finished, with the caller's answer.
    Done(T),
}

/// What a step is told.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Look {
    /// When this look happens (quiet periods are measured against it).
    pub now: Instant,
    /// The manifest says the Session has ended although no `exit` event may
    /// have been logged (its host died): what has not happened yet never
    /// will. Once true it stays true.
    pub ended_elsewhere: bool,
}

/// How [`until`] ended.
pub(crate) enum Followed<T> {
    /// A step answered.
    Done(T),
    /// `limit` passed first (the host could write its log, so this is a
    /// real timeout).
    TimedOut,
}

/// Calls `step` until it answers or `limit` (counted from `started`;
/// `None`: no limit) passes, pacing the calls and re-reading the Session's
/// state in between.
///
/// Fails with the storage error (`STORAGE_WRITE_ERROR`) as soon as the
/// Session's host records that it could not write its Event Log, and also
/// instead of a timeout: what the caller waits for may have happened
/// without being recorded, and "free some space" is the useful answer.
pub(crate) fn until<T>(
    target: &Target,
    limit: Option<Duration>,
    started: Instant,
    mut step: impl FnMut(Look) -> Result<Step<T>, PluginError>,
) -> Result<Followed<T>, PluginError> {
    let mut ended_elsewhere = target.manifest.status.is_terminal();
    let mut last_status_check = started;
    let mut pace = PollPace::new();
    loop {
        let look = Look {
            now: Instant::now(),
            ended_elsewhere,
        };
        match step(look)? {
            Step::Done(answer) => return Ok(Followed::Done(answer)),
            Step::Pending { active: true } => pace.activity(),
            Step::Pending { active: false } => {}
        }
        if limit.is_some_and(|l| started.elapsed() >= l) {
            if let Some(problem) = storage_problem(&target.dir) {
                return Err(problem.into());
            }
            return Ok(Followed::TimedOut);
        }
        if !ended_elsewhere && last_status_check.elapsed() >= STATUS_CHECK_INTERVAL {
            last_status_check = Instant::now();
            ended_elsewhere = read_manifest(&target.dir).is_ok_and(|m| m.status.is_terminal());
            if let Some(problem) = storage_problem(&target.dir) {
                return Err(problem.into());
            }
        }
        pace.sleep();
    }
}
