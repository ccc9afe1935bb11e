//! `destroy <id> [--force]`: end a Session's processes and mark it destroyed.
//!
//! The manifest goes to `destroying` first, so that anyone looking meanwhile
//! (and the host, when the command ends) knows the end is intended. The
//! command's process group is hung up and terminated (`SIGHUP`, `SIGTERM`),
//! given [`GRACE`] to finish, then killed; `--force` kills at once. The host
//! records the exit and marks the Session `destroyed` itself; when the host is
//! already dead, `destroy` does it and removes the socket the host left.

use crate::agent_loop::target::Target;
use crate::lookup::{find_session, runs_elsewhere, FoundSession};
use agent_tty_core::liveness::{self, Liveness, Sidecar};
use agent_tty_core::manifest::{self, Manifest, Status};
use agent_tty_core::{control, safe_fs, Error};
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
/// How long an agent-tty 0.5 host gets to answer `destroy` and record the
/// end (0.5's own CLI waits 5 s for each).
const LEGACY_END: Duration = Duration::from_secs(5);

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
    // A 0.5 host ends and records its Session itself; the rest are ended
    // here.
    let warnings = if end_legacy_host(&home, &id, &dir)? {
        Vec::new()
    } else {
        let begun = begin(&dir, &id)?;
        end_processes(&home, &id, &dir, begun, force)
    };
    manifest::update_manifest(&dir, |m| {
        let changed =
            m.status != Status::Destroyed || m.host_pid.is_some() || m.child_pid.is_some();
        m.status = Status::Destroyed;
        m.host_pid = None;
        m.child_pid = None;
        Ok((changed, ()))
    })?;
    let mut output = CommandOutput::new(
        // 0.5's result, exactly.
        json!({ "sessionId": id, "destroyed": true }),
        format!("Session destroyed: {id}"),
    );
    output.warnings = warnings;
    Ok(output)
}

/// Ends the processes of a Session [`begin`] marked `destroying`: the
/// command (only as its sidecar pins it), then a host that does not exit
/// on its own (only a verifiable one). Returns the warnings for the user.
fn end_processes(home: &Path, id: &str, dir: &Path, begun: Begun, force: bool) -> Vec<String> {
    let Begun {
        liveness,
        sidecar,
        manifest: m,
    } = begun;
    let mut warnings = Vec::new();
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
                child.end(force, GRACE);
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
    warnings
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
}

/// Checks the Session can be destroyed here and marks it `destroying` (an
/// ended Session needs no processes ended and goes straight on).
fn begin(dir: &Path, id: &str) -> Result<Begun, PluginError> {
    let (manifest, (liveness, sidecar)) = manifest::update_manifest(dir, |m| {
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
        m.status = Status::Destroying;
        Ok((true, (verdict, sidecar)))
    })?;
    Ok(Begun {
        liveness,
        manifest,
        sidecar,
    })
}
