//! The host's second listener: agent-tty 0.5's request protocol at 0.5's
//! socket location, so a 0.5 CLI (or any client written from contract §7.3)
//! can drive a Session our host runs.
//!
//! **Where, safely.** `/tmp/agent-tty/<h8>/<h12>` (see
//! [`agent_tty_runtime::legacy_rpc`]). `/tmp` is shared, so each directory is
//! created owner-only if missing and then checked with `lstat` (never
//! following a symlink): it must be a directory of ours that nobody else can
//! write. If `/tmp/agent-tty` belongs to someone else, is a symlink, is
//! group/world-writable, or a live host already answers at the socket path,
//! the host does **not** listen there: it records why in the Session's
//! sidecar (`legacySocketRefused`) and everything else works as usual,
//! through our own socket. A stale socket (nobody answers) is replaced.
//! Because the checked directories are ours and closed to others, nobody
//! can swap them between the check and the `bind`.
//!
//! **What it answers.** Each 0.5 method is mapped to the handler our own
//! socket uses (`server::handle`) or, for the methods that read the
//! screen, to the [`ScreenQueries`] the `_host` command handed in, with
//! 0.5's response shapes and error rules: an unusable request is
//! `RPC_ERROR` (id `"unknown"` when it has none), an unknown method is
//! `RPC_ERROR "Unsupported method: X"`, parameters outside the method's
//! strict schema are `RPC_ERROR` naming them, and a handler's own error
//! keeps its code (`INVALID_KEYS`, `SESSION_NOT_RUNNING`, ...). Every
//! result has exactly 0.5's keys: its client checks each one against a
//! strict schema and rejects an unknown key. `screenshot` is drawn by our
//! renderer (as the `screenshot` command draws it) and stored in the
//! Session's artifacts, as 0.5 does.

use super::{server, Shared};
use agent_tty_core::error::{ErrorCode, PluginError};
use agent_tty_core::manifest::{self, Status};
use agent_tty_runtime::control::ControlRequest;
use agent_tty_runtime::control::{DEFAULT_RUN_TIMEOUT, DEFAULT_WAIT_TIMEOUT};
use agent_tty_runtime::legacy_rpc::{self, MAX_LINE};
use agent_tty_term::{keys, run_marker};
use nix::sys::signal::Signal;
use serde_json::{json, Map, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// What the renderer fields of `inspect` say: our emulator replays the
/// Event Log the way 0.5's semantic renderer does.
const RENDERER_BACKEND: &str = "libghostty-vt";

/// The 0.5 listener, bound.
pub(crate) struct LegacyListener {
    listener: UnixListener,
    path: PathBuf,
}

impl LegacyListener {
    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Binds the 0.5 socket for a Session, or says why not.
pub(crate) fn bind(home: &Path, session_id: &str) -> Result<LegacyListener, String> {
    let root = Path::new(legacy_rpc::ROOT);
    let dir = legacy_rpc::socket_dir(home);
    for d in [root, dir.as_path()] {
        if std::fs::symlink_metadata(d).is_err() {
            // mkdir does not follow a symlink at the final component, and
            // an existing entry of any kind makes it fail (checked next).
            let _ = std::fs::DirBuilder::new().mode(0o700).create(d);
        }
        legacy_rpc::check_dir(d)?;
    }
    let path = legacy_rpc::socket_path(home, session_id);
    if path.as_os_str().len() > 104 {
        return Err(format!("{} is longer than 104 bytes", path.display()));
    }
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_socket() => {
            let probe = UnixStream::connect(&path);
            if probe.is_ok() {
                return Err(format!(
                    "another host already answers at {}",
                    path.display()
                ));
            }
            std::fs::remove_file(&path).map_err(|e| {
                format!("the stale socket {} cannot be removed: {e}", path.display())
            })?;
        }
        Ok(_) => return Err(format!("{} exists and is not a socket", path.display())),
        Err(_) => {}
    }
    let listener = UnixListener::bind(&path)
        .map_err(|e| format!("cannot listen at {}: {e}", path.display()))?;
    if let Err(e) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)) {
        let _ = std::fs::remove_file(&path);
        return Err(format!("cannot make {} private: {e}", path.display()));
    }
    Ok(LegacyListener { listener, path })
}

/// Removes the socket, and its Home directory when that is left empty.
pub(crate) fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Who the host is, for the handlers.
pub struct Identity {
    /// The Session's Home.
    pub home: PathBuf,
    /// The Session's id.
    pub session_id: String,
    /// The Session's directory in its Home.
    pub session_dir: PathBuf,
    /// The 0.5 socket this listener serves.
    pub socket: PathBuf,
    /// Who answers the requests that read the screen.
    pub queries: Arc<dyn ScreenQueries>,
}

/// A 0.5 request's `params`.
pub type Params = Map<String, Value>;

/// The 0.5 requests that read the screen, answered by the agent loop and
/// the renderer the way the CLI commands of the same names answer: the
/// Session host does not link them, so the `_host` command hands them in
/// ([`crate::SessionHost::start`]). Each checks its own `params` against
/// 0.5's strict schema with this module's helpers ([`strict`], ...).
pub trait ScreenQueries: Send + Sync {
    /// `waitForRender {text?, regex?, screenStableMs?, cursorRow?, ...}`.
    fn wait_for_render(&self, me: &Identity, params: &Params) -> Result<Value, PluginError>;
    /// `snapshot {format?, includeScrollback?, includeCells?, rendererName?}`.
    fn snapshot(&self, me: &Identity, params: &Params) -> Result<Value, PluginError>;
    /// `screenshot {profile?, showCursor?, rendererName?}`.
    fn screenshot(&self, me: &Identity, params: &Params) -> Result<Value, PluginError>;
}

/// Accepts connections until `stop` is raised, one thread per request.
pub(crate) fn serve(
    listener: LegacyListener,
    shared: Arc<Shared>,
    me: Arc<Identity>,
    stop: OwnedFd,
) {
    server::accept_until_stopped(&listener.listener, &stop, |stream| {
        let shared = Arc::clone(&shared);
        let me = Arc::clone(&me);
        shared.legacy_in_flight.fetch_add(1, Ordering::SeqCst);
        std::thread::spawn(move || {
            answer(stream, &shared, &me);
            shared.legacy_in_flight.fetch_sub(1, Ordering::SeqCst);
        });
    });
}

/// Waits (up to `limit`) for requests still being answered, so an answer
/// that the Session's end completes (`wait {exit}`) is still delivered.
pub(crate) fn drain(shared: &Shared, limit: Duration) {
    let deadline = Instant::now() + limit;
    while shared.legacy_in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// 0.5's `RPC_ERROR` with `message`.
pub fn rpc_error(message: impl Into<String>) -> PluginError {
    PluginError::new(ErrorCode::RpcError, message)
}

fn answer(stream: UnixStream, shared: &Shared, me: &Identity) {
    let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
    let mut line = String::new();
    let read = BufReader::new((&stream).take(MAX_LINE)).read_line(&mut line);
    let mut id = Value::from("unknown");
    let mut after = None;
    let outcome = match read {
        Err(e) => Err(rpc_error(format!("the request could not be read: {e}"))),
        Ok(_) if !line.ends_with('\n') => Err(rpc_error(
            "the request must be one JSON line ending in a newline (at most 1 MiB)",
        )),
        Ok(_) => match serde_json::from_str::<Value>(line.trim_end()) {
            Err(e) => Err(rpc_error(format!("the request is not valid JSON: {e}"))),
            Ok(request) => {
                if let Some(given) = request["id"].as_str().filter(|s| !s.is_empty()) {
                    id = Value::from(given);
                }
                parse_request(&request).and_then(|(method, params)| {
                    let result = handle(shared, me, method, &params);
                    if method == "destroy" && result.is_ok() {
                        after = Some(());
                    }
                    result
                })
            }
        },
    };
    let response = match outcome {
        Ok(result) => json!({ "id": id, "ok": true, "result": result }),
        Err(e) => {
            json!({ "id": id, "ok": false, "error": { "code": e.code, "message": e.message } })
        }
    };
    let mut out = serde_json::to_vec(&response).expect("a response serialises");
    out.push(b'\n');
    let _ = (&stream).write_all(&out);
    drop(stream);
    // `destroy`: the shutdown starts after the reply, as in 0.5.
    if after.is_some() {
        shut_down(shared);
    }
}

fn parse_request(request: &Value) -> Result<(&str, Map<String, Value>), PluginError> {
    if request["id"].as_str().is_none_or(str::is_empty) {
        return Err(rpc_error(
            "Invalid request: `id` must be a non-empty string",
        ));
    }
    let method = request["method"]
        .as_str()
        .ok_or_else(|| rpc_error("Invalid request: `method` must be a string"))?;
    let params = match request.get("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(rpc_error("Invalid request: `params` must be an object")),
    };
    Ok((method, params))
}

/// The strict schema of one method: every key must be one of `allowed`.
pub fn strict(params: &Map<String, Value>, allowed: &[&str]) -> Result<(), PluginError> {
    let unknown: Vec<&str> = params
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(rpc_error(format!(
            "Unrecognized key(s) in params: {}",
            unknown.join(", ")
        )))
    }
}

/// The string at `key`, required (and not empty if `non_empty`).
pub fn string(
    params: &Map<String, Value>,
    key: &str,
    non_empty: bool,
) -> Result<String, PluginError> {
    match params.get(key) {
        Some(Value::String(s)) if !non_empty || !s.is_empty() => Ok(s.clone()),
        _ => Err(rpc_error(format!(
            "params.{key}: expected a {}string",
            if non_empty { "non-empty " } else { "" }
        ))),
    }
}

/// The string at `key`, if given.
pub fn opt_string(params: &Map<String, Value>, key: &str) -> Result<Option<String>, PluginError> {
    match params.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(rpc_error(format!("params.{key}: expected a string"))),
    }
}

/// An optional integer ≥ `min`.
pub fn opt_int(
    params: &Map<String, Value>,
    key: &str,
    min: u64,
) -> Result<Option<u64>, PluginError> {
    match params.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .filter(|n| *n >= min)
            .map(Some)
            .ok_or_else(|| rpc_error(format!("params.{key}: expected an integer >= {min}"))),
    }
}

/// `rendererName`, one of 0.5's two names. Ours has one emulator, so the
/// name is checked and then answers with it.
pub fn renderer_name(params: &Map<String, Value>) -> Result<(), PluginError> {
    match opt_string(params, "rendererName")?.as_deref() {
        None | Some("ghostty-web" | "libghostty-vt") => Ok(()),
        Some(_) => Err(rpc_error(
            "params.rendererName: expected one of ghostty-web, libghostty-vt",
        )),
    }
}

/// The boolean at `key`, if given.
pub fn opt_bool(params: &Map<String, Value>, key: &str) -> Result<Option<bool>, PluginError> {
    match params.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(rpc_error(format!("params.{key}: expected a boolean"))),
    }
}

fn seq_result(seq: Option<u64>) -> Value {
    json!({ "seq": seq })
}

/// One request, by method.
fn handle(
    shared: &Shared,
    me: &Identity,
    method: &str,
    p: &Map<String, Value>,
) -> Result<Value, PluginError> {
    let control =
        |request: ControlRequest| server::handle(shared, request).map_err(PluginError::from);
    match method {
        "inspect" => {
            strict(p, &[])?;
            let session = manifest::read_manifest(&shared.session_dir)?;
            Ok(json!({
                "session": session,
                "cliVersion": env!("CARGO_PKG_VERSION"),
                "rpcSocketPath": me.socket,
                "rendererBackend": RENDERER_BACKEND,
                "rendererBooted": true,
                "rendererBootInFlight": false,
            }))
        }
        "type" => {
            strict(p, &["text"])?;
            let data = string(p, "text", true)?;
            control(ControlRequest::Text {
                data,
                secret: false,
            })
            .map(seq_result)
        }
        "paste" => {
            strict(p, &["text"])?;
            let data = string(p, "text", true)?;
            control(ControlRequest::Paste { data }).map(seq_result)
        }
        "mark" => {
            strict(p, &["label"])?;
            let label = string(p, "label", false)?;
            control(ControlRequest::Mark { label }).map(seq_result)
        }
        "sendKeys" => {
            strict(p, &["keys"])?;
            let names: Vec<String> = match p.get("keys") {
                Some(Value::Array(a))
                    if !a.is_empty()
                        && a.iter().all(|k| k.as_str().is_some_and(|s| !s.is_empty())) =>
                {
                    a.iter()
                        .filter_map(|k| k.as_str().map(str::to_owned))
                        .collect()
                }
                _ => {
                    return Err(rpc_error(
                        "params.keys: expected at least one non-empty key name",
                    ))
                }
            };
            let bytes = keys::encode(&names)?.len();
            let seq = control(ControlRequest::Keys {
                keys: names.clone(),
            })?;
            Ok(json!({ "accepted": names, "bytesWritten": bytes, "seq": seq }))
        }
        "resize" => {
            strict(p, &["cols", "rows"])?;
            let dim = |k: &str| {
                opt_int(p, k, 1)?
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or_else(|| rpc_error(format!("params.{k}: expected a positive integer")))
            };
            let (cols, rows) = (dim("cols")?, dim("rows")?);
            control(ControlRequest::Resize { cols, rows })?;
            Ok(json!({ "cols": cols, "rows": rows }))
        }
        "signal" => {
            strict(p, &["signal"])?;
            let signal = string(p, "signal", true)?;
            control(ControlRequest::Signal {
                signal,
                shell: false,
            })?;
            Ok(json!({}))
        }
        "run" => run(shared, p, &control),
        "wait" => wait(shared, p),
        "waitForRender" => me.queries.wait_for_render(me, p),
        "snapshot" => me.queries.snapshot(me, p),
        "screenshot" => me.queries.screenshot(me, p),
        "destroy" => {
            strict(p, &["force"])?;
            opt_bool(p, "force")?;
            Ok(json!({ "sessionId": me.session_id, "destroyed": true }))
        }
        other => Err(rpc_error(format!("Unsupported method: {other}"))),
    }
}

/// `run`: typed with a completion marker; waited on the host by watching
/// the marker leave the pending set (the output pump removes it when it
/// logs `run_complete`).
fn run(
    shared: &Shared,
    p: &Map<String, Value>,
    control: &dyn Fn(ControlRequest) -> Result<Option<u64>, PluginError>,
) -> Result<Value, PluginError> {
    strict(p, &["command", "noWait", "timeoutMs"])?;
    let command = string(p, "command", true)?;
    let no_wait = opt_bool(p, "noWait")?.unwrap_or(false);
    let limit = opt_int(p, "timeoutMs", 1)?
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_RUN_TIMEOUT);
    let marker = run_marker::new_marker();
    let started = Instant::now();
    let seq = control(ControlRequest::Run {
        command,
        marker: marker.clone(),
        no_wait,
    })?;
    if no_wait {
        return Ok(json!({ "accepted": true, "seq": seq }));
    }
    let (completed, timed_out) = loop {
        {
            let log = shared.log();
            if !log.runs.is_pending(&marker) {
                break (true, false);
            }
            if log.child_exited {
                break (false, false);
            }
        }
        if started.elapsed() >= limit {
            break (false, true);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Ok(json!({
        "accepted": true,
        "completed": completed,
        "timedOut": timed_out,
        "seq": seq,
        "durationMs": started.elapsed().as_millis() as u64,
        "marker": marker,
    }))
}

/// `wait {exit | idleMs, timeoutMs?}` (the legacy waits).
fn wait(shared: &Shared, p: &Map<String, Value>) -> Result<Value, PluginError> {
    strict(p, &["exit", "idleMs", "timeoutMs"])?;
    let exit = opt_bool(p, "exit")?.unwrap_or(false);
    let idle = opt_int(p, "idleMs", 1)?.map(Duration::from_millis);
    let limit = opt_int(p, "timeoutMs", 1)?
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_WAIT_TIMEOUT);
    if exit == idle.is_some() {
        return Err(PluginError::new(
            ErrorCode::InvalidDuration,
            "Specify exactly one of --exit or --idle-ms.",
        ));
    }
    let started = Instant::now();
    if idle.is_some() && shared.log().child_exited {
        return Err(PluginError::new(
            ErrorCode::SessionNotRunning,
            "Session is not running.",
        ));
    }
    loop {
        if exit {
            if let Some((code, _)) = &shared.log().exit_status {
                // 0.5's `exitCode` is an integer when present, never null.
                let mut result = json!({ "timedOut": false });
                if let Some(code) = code {
                    result["exitCode"] = json!(code);
                }
                return Ok(result);
            }
        } else if let Some(idle) = idle {
            if shared.activity.output_quiet_since(started) >= idle {
                return Ok(json!({ "timedOut": false }));
            }
        }
        if started.elapsed() >= limit {
            return Ok(json!({ "timedOut": true }));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// After a `destroy` request: the Session is `destroying`, its command is
/// hung up; the host's exit path then records it `destroyed`.
fn shut_down(shared: &Shared) {
    let _ = manifest::update_manifest(&shared.session_dir, |m| {
        let change = m.status == Status::Running;
        if change {
            m.status = Status::Destroying;
        }
        Ok((change, ()))
    });
    agent_tty_runtime::liveness::signal_group(shared.child_pid, Signal::SIGHUP);
}
