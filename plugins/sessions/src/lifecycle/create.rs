//! `create`: a new Session, answered only once its host is ready.
//!
//! Order of work, chosen so that a failure at any step leaves nothing behind
//! (no Session directory, no process):
//! 1. check every argument before touching the disk;
//! 2. make the Home (0700) if needed, then the Session directory (0700);
//! 3. take the Session's host lock, then write `session.json` (0600) with
//!    no PIDs;
//! 4. start `agent-tty --home H _host ID` detached (new session, stdio on
//!    `/dev/null`, working directory `/`), handing it the locked host-lock
//!    descriptor, and wait for its readiness byte. The host records its own
//!    and its command's PIDs in the manifest (and sidecar) before it says
//!    ready;
//! 5. read the manifest back for the result.
//!
//! The host lock is what says a Session's host is alive
//! (`agent_tty_runtime::liveness`). Taking it before the manifest exists and
//! passing the very descriptor to the host means there is no instant at
//! which the Session looks dead: a `create` killed at any point leaves
//! either a Session whose host runs and owns it, or (killed before the host
//! started) a lock nobody holds, which reconcile marks failed, with no
//! process left behind.

use crate::lookup::home_of;
use agent_tty_core::dimensions::{parse_dimension, Dimension};
use agent_tty_core::layout::{HomeDir, SessionDir};
use agent_tty_core::manifest::{self, Manifest, Status};
use agent_tty_core::SessionId;
use agent_tty_core::{fsutil, home, safe_fs, time, Error};
use agent_tty_plugin_api::{ArgSpec, CommandSpec, ValueHint};
use agent_tty_plugin_api::{CommandOutput, ErrorCode, HostEvent, Invocation, PluginError};
use agent_tty_runtime::control;
use agent_tty_runtime::liveness;
use agent_tty_session_host::guard::{inherit_in_child, HOST_LOCK_FD_ENV};
use agent_tty_session_host::readiness::{Readiness, ReadyPipe, READY_FD_ENV};
use nix::sys::signal::Signal;
use serde_json::json;
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long `create` waits for its host.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// What `create` was asked for, checked.
struct Request {
    name: Option<String>,
    cwd: PathBuf,
    cols: u16,
    rows: u16,
    env: BTreeMap<String, String>,
    term: String,
    shell: String,
    command: Vec<String>,
    /// `--idle-timeout-ms` (else the Home config's `idleTimeoutMs`); 0 = off.
    idle_timeout_ms: u64,
}

/// `create`: its spec beside its handler ([`run`]).
pub(super) fn command() -> agent_tty_plugin_api::Command {
    let spec = CommandSpec::new(
        &["create"],
        "Start a new Session running a command (default: a shell)",
    )
    .arg(ArgSpec::option(
        "name",
        "NAME",
        "A name to recognise the Session by",
    ))
    .arg(ArgSpec::option(
        "cwd",
        "DIR",
        "Working directory of the command (default: the current one)",
    ))
    .arg(ArgSpec::option(
        "cols",
        "COLS",
        "Terminal width (default 80)",
    ))
    .arg(ArgSpec::option(
        "rows",
        "ROWS",
        "Terminal height (default 24)",
    ))
    .arg(ArgSpec::repeated(
        "env",
        "KEY=VALUE",
        "An extra environment variable for the command (repeatable)",
    ))
    .arg(ArgSpec::option(
        "term",
        "TERM",
        "The TERM the command sees (default xterm-256color)",
    ))
    .arg(ArgSpec::option(
        "shell",
        "PATH",
        "The shell to run when no command is given (default $SHELL, else /bin/sh)",
    ))
    .arg(ArgSpec::option(
        "command",
        "PATH",
        "Legacy name of --shell (agent-tty 0.5); wins over --shell",
    ))
    .arg(ArgSpec::option(
        "idle-timeout-ms",
        "MS",
        "End the Session after MS milliseconds without activity (0 = never; default \
         the Home config's idleTimeoutMs, else 0)",
    ))
    .arg(
        ArgSpec::trailing(
            "argv",
            "The command and its arguments (after `--` when they have options)",
        )
        .value_name("COMMAND")
        .hint(ValueHint::Command),
    );
    agent_tty_plugin_api::Command::new(spec, |_, invocation| run(invocation))
}

pub(super) fn run(invocation: &Invocation) -> Result<CommandOutput, PluginError> {
    let request = parse(invocation)?;
    let home = home_of(invocation)?;
    home::ensure_home(&home)?;
    // A Session is never made where someone else could reach into it (a
    // deleted /tmp Home another user re-created, a group-writable one).
    safe_fs::check_trusted_path(&home, "the Home").map_err(Error::from)?;
    safe_fs::check_trusted_path(&HomeDir::new(&home).sessions(), "the Home's sessions/")
        .map_err(Error::from)?;
    let id = SessionId::generate();
    let dir = HomeDir::new(&home).session(&id);
    fsutil::create_dir_all_private(&dir).map_err(|e| Error::write(&dir, e))?;
    let created = start(invocation, &home, &id, &dir, &request);
    let manifest = match created {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
    };
    let mut result = json!({
        "sessionId": id,
        "createdAt": manifest.created_at,
        "cols": manifest.cols,
        "rows": manifest.rows,
        "shell": manifest.shell,
    });
    if let Some(env) = &manifest.env {
        result["env"] = json!(env);
    }
    if let Some(ms) = manifest.idle_timeout_ms {
        result["idleTimeoutMs"] = json!(ms);
    }
    // 0.5's line; `agent-tty create --json | jq -r .result.sessionId` (or
    // `cut -d' ' -f3`) captures the id.
    let mut output = CommandOutput::new(result, format!("Session created: {id}"));
    output.events.push(HostEvent::SessionCreated {
        home: home.to_string_lossy().into_owned(),
        session_id: id.into_string(),
    });
    Ok(output)
}

/// Steps 3 to 5. On error the caller removes the directory; everything
/// started here has been stopped.
fn start(
    invocation: &Invocation,
    home: &Path,
    id: &str,
    dir: &Path,
    request: &Request,
) -> Result<Manifest, PluginError> {
    let host_lock = liveness::take_host_lock(dir)?;
    let now = time::now_iso();
    let manifest = Manifest {
        version: 1,
        session_id: id.to_owned(),
        created_at: now.clone(),
        updated_at: now,
        status: Status::Running,
        failure_reason: None,
        failure_origin: None,
        command: request.command.clone(),
        cwd: request.cwd.to_string_lossy().into_owned(),
        name: request.name.clone(),
        shell: Some(request.shell.clone()),
        term: Some(request.term.clone()),
        env: (!request.env.is_empty()).then(|| request.env.clone()),
        cols: request.cols,
        rows: request.rows,
        creation_cols: Some(request.cols),
        creation_rows: Some(request.rows),
        idle_timeout_ms: (request.idle_timeout_ms > 0).then_some(request.idle_timeout_ms),
        host_pid: None,
        child_pid: None,
        exit_code: None,
        exit_signal: None,
    };
    // Not fsynced: the host rewrites it durably with the PIDs in a moment,
    // and a crash in between leaves a Session that reconcile marks failed.
    let path = SessionDir::new(dir).manifest();
    fsutil::write_atomic_unsynced(&path, manifest.to_json().as_bytes(), 0o600)
        .map_err(|e| Error::write(&path, e))?;

    let pipe = ReadyPipe::new().map_err(|e| Error::write(dir, e))?;
    let log_level = invocation.context.log_level.as_deref().unwrap_or("info");
    let mut host = spawn_host(
        &invocation.context.exe,
        home,
        id,
        log_level,
        &pipe,
        &host_lock,
    )?;
    // The host holds the lock now (same open file); ours can go.
    drop(host_lock);
    let answer = pipe.wait(READY_TIMEOUT);
    let failure = match answer {
        Readiness::Ready => None,
        Readiness::Failed(e) => Some(e),
        Readiness::Vanished => Some(PluginError::new(
            ErrorCode::HostTimeout,
            "the Session's host exited before it was ready; nothing was left behind. \
             Try again, and check that the agent-tty binary and its plugins are intact",
        )),
        Readiness::TimedOut => Some(PluginError::new(
            ErrorCode::HostTimeout,
            format!(
                "the Session's host was not ready within {} s; it was stopped and nothing \
                 was left behind. Try again (the machine may be overloaded)",
                READY_TIMEOUT.as_secs()
            ),
        )),
    };
    if let Some(e) = failure {
        abandon(home, id, dir, &mut host);
        return Err(e);
    }
    match manifest::read_manifest(dir) {
        Ok(recorded) => Ok(recorded),
        Err(e) => {
            abandon(home, id, dir, &mut host);
            Err(e.into())
        }
    }
}

/// Starts the host fully detached: a new session (no controlling terminal,
/// so closing the terminal `create` ran in cannot hang it up), stdio on
/// `/dev/null`, working directory `/` (it must not pin a mount).
///
/// As in 0.5, the host (and so the Session's command) sees the resolved
/// `AGENT_TTY_HOME` and `AGENT_TTY_LOG_LEVEL`.
fn spawn_host(
    exe: &str,
    home: &Path,
    id: &str,
    log_level: &str,
    pipe: &ReadyPipe,
    host_lock: &std::fs::File,
) -> Result<Child, PluginError> {
    use std::os::fd::AsRawFd;
    let ready_fd = pipe.write_fd();
    let lock_fd = host_lock.as_raw_fd();
    let mut command = Command::new(exe);
    command
        .arg("--home")
        .arg(home)
        .arg("_host")
        .arg(id)
        .current_dir("/")
        .env(agent_tty_core::home::HOME_ENV, home)
        .env("AGENT_TTY_LOG_LEVEL", log_level)
        .env(READY_FD_ENV, ready_fd.to_string())
        .env(HOST_LOCK_FD_ENV, lock_fd.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            ReadyPipe::inherit_in_child(ready_fd)?;
            inherit_in_child(lock_fd)
        });
    }
    command.spawn().map_err(|e| {
        if agent_tty_core::error::is_descriptor_limit(&e) {
            // The system's limit, not a broken install: say which.
            return PluginError::new(
                ErrorCode::StorageWriteError,
                format!(
                    "could not start the Session's host: {e}{}",
                    agent_tty_core::error::limit_advice(&e)
                ),
            )
            .with_details(json!({ "cause": "descriptor-limit" }));
        }
        PluginError::new(
            ErrorCode::HostUnreachable,
            format!("could not start the Session's host {exe}: {e}; reinstall agent-tty"),
        )
    })
}

/// Stops whatever a failed creation started: the host, and its command if
/// the host got as far as recording it. The caller removes the directory.
fn abandon(home: &Path, id: &str, dir: &Path, host: &mut Child) {
    let _ = host.kill();
    let _ = host.wait();
    let sidecar = liveness::read_sidecar(dir);
    if let Some(child) = liveness::child_identity(sidecar.as_ref()).and_then(|c| c.verify()) {
        child.signal_group(Signal::SIGKILL);
    }
    control::remove_dead_socket(home, id, sidecar.as_ref());
}

/// Checks the arguments in 0.5's order (contract §3.1): `--env` →
/// `--idle-timeout-ms` → `--name` → `--cols`/`--rows` → `--cwd` →
/// `--shell`/`--command` → the command's words.
fn parse(invocation: &Invocation) -> Result<Request, PluginError> {
    let mut env = BTreeMap::new();
    for pair in invocation.values("env") {
        match pair.split_once('=') {
            Some((key, value)) if !key.is_empty() && !key.contains('\0') => {
                env.insert(key.to_owned(), value.to_owned());
            }
            _ => {
                return Err(PluginError::usage(format!(
                    "--env must use KEY=VALUE format, got: {pair}"
                ))
                .with_details(json!({ "env": pair })))
            }
        }
    }
    let idle_timeout_ms = match invocation.value("idle-timeout-ms") {
        Some(given) => given.trim().parse::<u64>().map_err(|_| {
            PluginError::usage(format!(
                "--idle-timeout-ms must be an integer ≥ 0 (milliseconds; 0 disables it), \
                 got: {given}"
            ))
            .with_details(json!({ "idleTimeoutMs": given }))
        })?,
        None => invocation.context.idle_timeout_ms.unwrap_or(0),
    };
    let name = match invocation.value("name") {
        Some(n) if n.trim().is_empty() => {
            return Err(PluginError::usage(
                "--name must not be empty; give the Session a name or leave --name out",
            ))
        }
        other => other.map(str::to_owned),
    };
    let size = |dimension: Dimension, default: u16| {
        invocation
            .value(dimension.flag())
            .map_or(Ok(default), |given| parse_dimension(dimension, given))
    };
    let cols = size(Dimension::Cols, 80)?;
    let rows = size(Dimension::Rows, 24)?;
    let term = non_empty(invocation.value("term"), "--term")?
        .unwrap_or_else(|| "xterm-256color".to_owned());
    let cwd = working_dir(invocation.value("cwd"))?;
    // `--command` is 0.5's legacy name for `--shell`, and wins over it.
    let shell = match invocation.value("command") {
        Some(path) => shell(Some(path), "--command")?,
        None => shell(invocation.value("shell"), "--shell")?,
    };
    let mut command = invocation.values("argv");
    if command.is_empty() {
        command = vec![shell.clone()];
    }
    if command.iter().any(String::is_empty) {
        return Err(PluginError::usage(
            "the command to run has an empty word; quote it or leave it out",
        ));
    }
    Ok(Request {
        name,
        cwd,
        cols,
        rows,
        env,
        term,
        shell,
        command,
        idle_timeout_ms,
    })
}

fn non_empty(value: Option<&str>, flag: &str) -> Result<Option<String>, PluginError> {
    match value {
        Some("") => Err(PluginError::usage(format!("{flag} must not be empty"))),
        other => Ok(other.map(str::to_owned)),
    }
}

fn working_dir(value: Option<&str>) -> Result<PathBuf, PluginError> {
    let given = match value {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_dir().map_err(|e| {
            PluginError::usage(format!(
                "the current directory cannot be used ({e}); pass --cwd <directory>"
            ))
        })?,
    };
    if given.as_os_str().is_empty() {
        return Err(PluginError::usage("--cwd must not be empty"));
    }
    // 0.5's code and wording (STORAGE_READ_ERROR, exit 8), then what to do.
    let refuse = |why: String| {
        let shown = home::canonical_path(&given);
        PluginError::new(
            ErrorCode::StorageReadError,
            format!(
                "Working directory does not exist or is not accessible: {} ({why}); \
                 create it or pass another --cwd",
                shown.display()
            ),
        )
        .with_details(json!({ "path": shown }))
    };
    match std::fs::canonicalize(&given) {
        Ok(dir) if dir.is_dir() => Ok(dir),
        Ok(_) => Err(refuse("not a directory".into())),
        Err(e) => Err(refuse(e.to_string())),
    }
}

/// `--shell`, else `$SHELL`, else `/bin/sh`. A path given explicitly must
/// exist; a `$SHELL` that does not falls back to `/bin/sh`.
fn shell(value: Option<&str>, flag: &str) -> Result<String, PluginError> {
    if let Some(path) = value {
        let p = Path::new(path);
        let problem = if !p.is_absolute() {
            "is not an absolute path"
        } else if p.is_dir() {
            "is a directory, not a program"
        } else if !p.exists() {
            "does not exist"
        } else if !p.is_file() {
            "is not a regular file"
        } else {
            ""
        };
        if !problem.is_empty() {
            return Err(PluginError::usage(format!(
                "Shell path does not exist or is not a file: {flag} {path} {problem}; give \
                 the absolute path of an installed shell, e.g. /bin/bash"
            ))
            .with_details(json!({ "path": path })));
        }
        return Ok(path.to_owned());
    }
    Ok(std::env::var("SHELL")
        .ok()
        .filter(|s| Path::new(s).is_absolute() && Path::new(s).is_file())
        .unwrap_or_else(|| "/bin/sh".to_owned()))
}
