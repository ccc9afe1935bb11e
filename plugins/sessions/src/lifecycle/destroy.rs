//! `destroy <id> [--force]`: end a Session's processes and mark it destroyed.
//!
//! The manifest goes to `destroying` first, so that anyone looking meanwhile
//! (and the host, when the command ends) knows the end is intended. The
//! command's process group and the job in its terminal's foreground are hung
//! up and terminated (`SIGHUP`, `SIGTERM`), given [`GRACE`] to finish, then
//! killed; `--force` kills at once, background jobs included. The host
//! records the exit and marks the Session `destroyed` itself; when the host is
//! already dead, `destroy` does it and removes the socket the host left.
//! Processes of the Session's terminal that still run afterwards are named
//! in the result (`survivors`) with a warning.
//!
//! A full disk never keeps a Session alive (ADR 0015): when the manifest
//! cannot be marked `destroying`, the processes are ended all the same, and
//! the final record uses the Session's reserved space
//! ([`agent_tty_core::reserve`]); a record that still fails is a warning.

use crate::lookup::{find_session, runs_elsewhere, FoundSession};
use agent_tty_core::liveness::{self, Liveness, Sidecar};
use agent_tty_core::manifest::{self, Manifest, Status};
use agent_tty_core::{control, reserve, safe_fs, Error};
use agent_tty_plugin_api::{ArgSpec, Command, CommandSpec};
use agent_tty_plugin_api::{CommandOutput, ErrorCode, Invocation, PluginError};
use nix::sys::signal::Signal;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

/// How long a hung-up command may take to exit before it is killed.
const GRACE: Duration = Duration::from_millis(1500);
/// How long the host may take to record the exit once the command is gone.
const HOST_GRACE: Duration = Duration::from_millis(1500);

/// `destroy`: its spec beside its handler ([`run`]).
pub(super) fn command() -> Command {
    let spec = CommandSpec::new(
        &["destroy"],
        "End a Session's processes and mark it destroyed",
    )
    .arg(ArgSpec::positional("id", "The Session id"))
    .arg(ArgSpec::flag(
        "force",
        "Kill at once instead of hanging up and waiting a moment",
    ));
    Command::new(spec, |_, invocation| run(invocation))
}

pub(super) fn run(invocation: &Invocation) -> Result<CommandOutput, PluginError> {
    let FoundSession { home, id, dir } = find_session(invocation)?;
    // Nothing is signalled or written in a Home someone else could control.
    safe_fs::check_session_chain(&dir).map_err(agent_tty_core::Error::from)?;
    let force = invocation.flag("force");
    let Begun {
        before,
        liveness,
        sidecar,
        manifest: m,
        unmarked,
    } = begin(&dir, &id)?;
    let mut warnings = Vec::new();
    let mut survivors = Vec::new();
    if let Some(unmarked) = unmarked {
        warnings.push(format!(
            "the Session could not be marked `destroying` first ({unmarked}); \
             its processes are ended all the same"
        ));
    }
    if let Liveness::Local {
        host_alive,
        child_alive,
    } = liveness
    {
        // Only processes the sidecar pins, verified right now, are
        // signalled: never a PID from the manifest.
        if child_alive {
            if let Some(child) = liveness::child_identity(sidecar.as_ref()).and_then(|c| c.verify())
            {
                survivors = child.end(force, GRACE);
            }
        }
        if host_alive {
            // The host notices the command's end, records it and exits; one
            // that does not is stuck and is killed, if it is provably the
            // host.
            let host_runs =
                || liveness::judge(&dir, &m, sidecar.as_ref()).host_alive() == Some(true);
            if !liveness::wait_for(HOST_GRACE, || !host_runs()) {
                match sidecar.as_ref().and_then(|s| s.host.verify()) {
                    Some(host) => {
                        host.signal(Signal::SIGKILL);
                    }
                    None => warnings.push(format!(
                        "the Session's host has no verifiable identity (made by agent-tty 0.5?), \
                         so no process was signalled; if pid {} is its host, end it yourself",
                        liveness::host_pid(&m, sidecar.as_ref())
                            .map_or_else(|| "?".to_owned(), |p| p.to_string())
                    )),
                }
            }
        }
        // A host that ended normally removed its socket; one that was dead
        // already, or was just killed, could not.
        control::remove_dead_socket(&home, &id, sidecar.as_ref());
    }
    let recorded = reserve::with_reserve(&dir, || {
        manifest::update_manifest(&dir, |m| {
            let changed =
                m.status != Status::Destroyed || m.host_pid.is_some() || m.child_pid.is_some();
            m.status = Status::Destroyed;
            m.host_pid = None;
            m.child_pid = None;
            Ok((changed, ()))
        })
    });
    let status = match recorded {
        Ok((m, ())) => m.status,
        // Ended but not recorded: the processes are what mattered.
        Err(e @ Error::Write { .. }) => {
            warnings.push(format!(
                "the Session's processes are ended, but it could not be recorded as destroyed \
                 ({e}); `agent-tty list` shows it as ended, and `agent-tty destroy {id}` \
                 records it once there is space"
            ));
            m.status
        }
        Err(e) => return Err(e.into()),
    };
    if !survivors.is_empty() {
        warnings.push(format!(
            "{} process(es) of the Session's terminal outlived it (pids {}): jobs it started \
             in the background; `agent-tty destroy --force` ends them too, or end them yourself",
            survivors.len(),
            survivors
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut output = CommandOutput::new(
        // 0.5's `{sessionId, destroyed}`, then ours (a strict superset).
        json!({
            "sessionId": id,
            "destroyed": true,
            "status": status,
            "previousStatus": before,
            "forced": force,
            "survivors": survivors,
        }),
        format!("Session destroyed: {id}"),
    );
    output.warnings = warnings;
    Ok(output)
}

/// What [`begin`] found under the manifest lock.
struct Begun {
    /// The status before `destroy`.
    before: Status,
    /// The Session's processes; both dead for an ended Session.
    liveness: Liveness,
    /// The manifest as `begin` left it (its PIDs are the ones to end).
    manifest: Manifest,
    /// The Session's sidecar.
    sidecar: Option<Sidecar>,
    /// Why the manifest could not be marked `destroying` (a full disk).
    unmarked: Option<Error>,
}

/// Checks the Session can be destroyed here and marks it `destroying` (an
/// ended Session needs no processes ended and goes straight on). When the
/// mark cannot be written (a full disk), the same checks are made on the
/// manifest as read, and the Session is destroyed unmarked.
fn begin(dir: &Path, id: &str) -> Result<Begun, PluginError> {
    match manifest::update_manifest(dir, |m| {
        let (mark, found) = judge(dir, id, m)?;
        if mark {
            m.status = Status::Destroying;
        }
        Ok((mark, found))
    }) {
        Ok((manifest, (before, liveness, sidecar))) => Ok(Begun {
            before,
            liveness,
            manifest,
            sidecar,
            unmarked: None,
        }),
        Err(unmarked @ Error::Write { .. }) => {
            let manifest = manifest::read_manifest(dir)?;
            let (_, (before, liveness, sidecar)) = judge(dir, id, &manifest)?;
            Ok(Begun {
                before,
                liveness,
                manifest,
                sidecar,
                unmarked: Some(unmarked),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// What [`judge`] found: the status before, the processes, the sidecar.
type Found = (Status, Liveness, Option<Sidecar>);

/// Whether the Session can be destroyed here; whether it is to be marked
/// `destroying` (it is active), and what was found.
fn judge(dir: &Path, id: &str, m: &Manifest) -> Result<(bool, Found), Error> {
    let before = m.status;
    if before == Status::Destroyed {
        return Err(Error::invalid(
            ErrorCode::SessionAlreadyDestroyed,
            format!(
                "Session {id} is already destroyed; `agent-tty gc` removes it, \
                 `agent-tty create` starts a new one"
            ),
        ));
    }
    let sidecar = liveness::read_sidecar(dir);
    let verdict = liveness::judge(dir, m, sidecar.as_ref());
    if verdict.is_foreign() && before.is_active() {
        return Err(Error::Plugin(runs_elsewhere(
            id,
            sidecar.as_ref(),
            "destroy it there",
        )));
    }
    if before.is_terminal() {
        let ended = Liveness::Local {
            host_alive: false,
            child_alive: false,
        };
        return Ok((false, (before, ended, sidecar)));
    }
    Ok((true, (before, verdict, sidecar)))
}
