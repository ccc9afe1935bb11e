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

use crate::agent_loop::target::Target;
use crate::lookup::{find_session, runs_elsewhere, FoundSession};
use agent_tty_core::manifest::{self, Manifest, Status};
use agent_tty_core::{reserve, safe_fs, Error};
use agent_tty_plugin_api::{ArgSpec, Command, CommandSpec, ValueHint};
use agent_tty_plugin_api::{CommandOutput, ErrorCode, Invocation, PluginError};
use agent_tty_runtime::control;
use agent_tty_runtime::liveness::{self, Liveness, Sidecar};
use nix::sys::signal::Signal;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

/// How long a hung-up command may take to exit before it is killed.
const GRACE: Duration = Duration::from_millis(1500);
/// How long the host may take to record the exit once the command is gone.
const HOST_GRACE: Duration = Duration::from_millis(1500);
/// How long an agent-tty 0.5 host gets to answer `destroy` and record the
/// end (0.5's own CLI waits 5 s for each).
const LEGACY_END: Duration = Duration::from_secs(5);

/// `destroy`: its spec beside its handler ([`run`]).
pub(super) fn command() -> Command {
    let spec = CommandSpec::new(
        &["destroy"],
        "End a Session's processes and mark it destroyed",
    )
    .arg(ArgSpec::positional("id", "The Session id").hint(ValueHint::SessionId))
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
    // A 0.5 host ends and records its Session itself; the rest are ended
    // here, before anything is recorded (a full disk never keeps a Session
    // alive).
    let legacy = end_legacy_host(&home, &id, &dir)?;
    let (mut warnings, survivors) = if legacy {
        (Vec::new(), Vec::new())
    } else {
        end_processes(&home, &id, &dir, begin(&dir, &id)?, force)
    };
    let recorded = reserve::record_end(&dir, || {
        manifest::update_manifest(&dir, |m| {
            let changed =
                m.status != Status::Destroyed || m.host_pid.is_some() || m.child_pid.is_some();
            m.status = Status::Destroyed;
            m.host_pid = None;
            m.child_pid = None;
            Ok((changed, ()))
        })
    });
    match recorded {
        Ok(_) => {}
        // Ended but not recorded: the processes are what mattered.
        Err(e @ Error::Write { .. }) if !legacy => {
            warnings.push(format!(
                "the Session's processes are ended, but it could not be recorded as destroyed \
                 ({e}); `agent-tty list` shows it as ended, and `agent-tty destroy {id}` \
                 records it once there is space"
            ));
        }
        Err(e) => return Err(e.into()),
    }
    if !survivors.is_empty() {
        warnings.push(format!(
            "{} of the Session's terminal outlived it (pids {}): jobs it started in the \
             background; `agent-tty destroy --force` ends them too, or end them yourself",
            agent_tty_core::text::counted(survivors.len(), "process"),
            survivors
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // 0.5's result, exactly; `survivors` (ours) only when some process
    // outlived the Session, which nothing else would tell the caller.
    let mut result = json!({ "sessionId": id, "destroyed": true });
    if !survivors.is_empty() {
        result["survivors"] = json!(survivors);
    }
    let mut output = CommandOutput::new(result, format!("Session destroyed: {id}"));
    output.warnings = warnings;
    Ok(output)
}

/// Ends the processes of a Session [`begin`] marked `destroying` (or could
/// not mark, on a full disk): the command (only as its sidecar pins it) and
/// the job in its terminal's foreground, then a host that does not exit on
/// its own (only a verifiable one). Returns the warnings for the user and
/// the processes of the terminal that outlived it.
fn end_processes(
    home: &Path,
    id: &str,
    dir: &Path,
    begun: Begun,
    force: bool,
) -> (Vec<String>, Vec<u32>) {
    let Begun {
        liveness,
        sidecar,
        manifest: m,
        unmarked,
    } = begun;
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
                || liveness::judge(dir, &m, sidecar.as_ref()).host_alive() == Some(true);
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
        control::remove_dead_socket(home, id, sidecar.as_ref());
    }
    (warnings, survivors)
}

/// A live Session hosted by agent-tty 0.5 (no sidecar of ours) is ended
/// the way 0.5 ends it: its own `destroy` request over its socket, then up
/// to [`LEGACY_END`] for its host to record the end (it hangs the command
/// up and writes `destroyed` itself). None of its processes can be
/// verified from here, so none is signalled; when the request cannot be
/// sent (an unsafe socket directory, no listener while the host lives),
/// nothing is changed and the error says why. `true` when the host ended
/// the Session; a host found dead on the way (`false`) is left to the
/// ordinary path (reconciled, then marked destroyed).
fn end_legacy_host(home: &Path, id: &str, dir: &Path) -> Result<bool, PluginError> {
    let target = Target::read(home.to_owned(), id.to_owned(), dir.to_owned())?;
    if !target.is_legacy()
        || !target.manifest.status.is_active()
        || liveness::judge(dir, &target.manifest, None).host_alive() != Some(true)
    {
        return Ok(false);
    }
    match target.call_legacy("destroy", json!({}), LEGACY_END) {
        Ok(_) => {}
        // Reconciled on the way: the host was dead after all.
        Err(e) if e.code == ErrorCode::SessionNotRunning => return Ok(false),
        Err(e) => return Err(e),
    }
    let ended = liveness::wait_for(LEGACY_END, || {
        manifest::read_manifest(dir).is_ok_and(|m| m.status.is_terminal())
    });
    if ended {
        Ok(true)
    } else {
        Err(PluginError::new(
            ErrorCode::HostTimeout,
            format!(
                "the agent-tty 0.5 host of Session \"{id}\" accepted `destroy` but had not \
                 ended it after {} ms; `agent-tty inspect {id}` shows where it stands",
                LEGACY_END.as_millis()
            ),
        )
        .with_details(json!({ "sessionId": id })))
    }
}

/// What [`begin`] found under the manifest lock.
struct Begun {
    /// The Session's processes; both dead for an ended Session.
    liveness: Liveness,
    /// The manifest as `begin` left it (its PIDs are the ones to end).
    manifest: Manifest,
    /// The Session's sidecar.
    sidecar: Option<Sidecar>,
    /// Why it could not be marked `destroying` (a full disk), if it could not.
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
        Ok((manifest, (liveness, sidecar))) => Ok(Begun {
            liveness,
            manifest,
            sidecar,
            unmarked: None,
        }),
        Err(unmarked @ Error::Write { .. }) => {
            let manifest = manifest::read_manifest(dir)?;
            let (_, (liveness, sidecar)) = judge(dir, id, &manifest)?;
            Ok(Begun {
                liveness,
                manifest,
                sidecar,
                unmarked: Some(unmarked),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// What [`judge`] found: the processes and the sidecar.
type Found = (Liveness, Option<Sidecar>);

/// Whether the Session can be destroyed here; whether it is to be marked
/// `destroying` (it is active), and what was found.
fn judge(dir: &Path, id: &str, m: &Manifest) -> Result<(bool, Found), Error> {
    let before = m.status;
    if before == Status::Destroyed {
        return Err(crate::agent_loop::target::already_destroyed(id).into());
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
        return Ok((false, (ended, sidecar)));
    }
    Ok((true, (verdict, sidecar)))
}
