//! `doctor`: can this machine run Sessions? (contract §3.18, adapted to this
//! implementation: no Node, no browser, but a PTY, sockets, a Home, the Home
//! Registry, plugins and the terminal engine).
//!
//! This plugin serves the checks that need it (`sessions.doctor`); the
//! `doctor` command is the host's, so it still answers with no plugin
//! installed (`host/src/doctor.rs`). Each check runs in turn and reports
//! `{name, status: pass|fail|skip, message, durationMs}`, grouped as
//! `environment` and `terminal`.
//!
//! **Nothing is left behind.** Directories that do not exist yet (the Home,
//! the state directory, the socket directory) are not created: the check
//! proves that their nearest existing parent is writable by creating and
//! removing a temporary entry there. The PTY check's process is waited for;
//! the socket check's socket is removed.

use agent_tty_core::event_log::{Event, EventBody};
use agent_tty_core::manifest::Manifest;
use agent_tty_core::registry::registry_path_from_env;
use agent_tty_core::screen::ScreenReplay;
use agent_tty_plugin_api::{Capability, CommandContext, CommandTable, Host, PluginError};
use agent_tty_runtime::control;
use agent_tty_runtime::legacy_rpc;
use agent_tty_session_host::pty;
use serde_json::{json, Value};
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::{Duration, Instant};

/// The capability the host's `doctor` calls for this plugin's checks.
pub const CAPABILITY: &str = "sessions.doctor";

/// The `sessions.doctor` capability (the host's `doctor` runs it).
pub fn commands() -> CommandTable {
    CommandTable::new().capability(Capability::new(CAPABILITY, doctor))
}

#[derive(Clone, Copy, PartialEq)]
enum Status {
    Pass,
    Fail,
    Skip,
}

struct Check {
    name: &'static str,
    status: Status,
    message: String,
    duration: Duration,
}

fn run(name: &'static str, f: impl FnOnce() -> (Status, String)) -> Check {
    let started = Instant::now();
    let (status, message) = f();
    Check {
        name,
        status,
        message,
        duration: started.elapsed(),
    }
}

/// `{environment: [check], terminal: [check]}`, each check
/// `{name, status: pass|fail|skip, message, durationMs}`: the host adds its
/// own `plugins` group, decides `ok` and renders the text.
fn doctor(_host: &Host, _args: &Value, context: &CommandContext) -> Result<Value, PluginError> {
    let home = context.home().map(|h| std::path::PathBuf::from(&h.path));
    let environment = vec![
        run("home-writable", || match &home {
            Ok(h) => writable("Home", h),
            Err(e) => (Status::Fail, e.message.clone()),
        }),
        run("state-dir-writable", || {
            match registry_path_from_env().as_deref().and_then(Path::parent) {
                Some(dir) => writable("State directory", dir),
                None => (
                    Status::Fail,
                    "neither XDG_STATE_HOME nor HOME gives a state directory for the Home \
                     Registry; set XDG_STATE_HOME to an absolute path"
                        .into(),
                ),
            }
        }),
        run("registry-lock", registry_lock),
        run("pty-spawn", pty_spawn),
        run("socket-viable", socket_viable),
        run("legacy-socket", || match &home {
            Ok(h) => legacy_socket(h),
            Err(_) => (Status::Skip, "no Home, so no 0.5 socket location".into()),
        }),
    ];
    let terminal = vec![
        run("terminal-engine", terminal_engine),
        run("fallback-fonts", fallback_fonts),
    ];
    let group = |checks: &[Check]| -> Value {
        checks
            .iter()
            .map(|c| {
                json!({
                    "name": c.name,
                    "status": match c.status {
                        Status::Pass => "pass",
                        Status::Fail => "fail",
                        Status::Skip => "skip",
                    },
                    "message": c.message,
                    "durationMs": c.duration.as_millis() as u64,
                })
            })
            .collect()
    };
    Ok(json!({ "environment": group(&environment), "terminal": group(&terminal) }))
}

/// Whether `dir` (or, when it does not exist yet, its nearest existing
/// parent) takes a new file: one is created and removed at once.
fn writable(what: &str, dir: &Path) -> (Status, String) {
    let mut probe = dir.to_path_buf();
    while std::fs::symlink_metadata(&probe).is_err() {
        match probe.parent() {
            Some(p) => probe = p.to_path_buf(),
            None => break,
        }
    }
    match tempfile::Builder::new()
        .prefix(".agent-tty-doctor-")
        .tempfile_in(&probe)
    {
        Ok(file) => {
            drop(file);
            if probe == dir {
                (
                    Status::Pass,
                    format!("{what} {} is writable", dir.display()),
                )
            } else {
                (
                    Status::Pass,
                    format!(
                        "{what} {} does not exist yet; it can be created in {}",
                        dir.display(),
                        probe.display()
                    ),
                )
            }
        }
        Err(e) => (
            Status::Fail,
            format!(
                "{what} {} is not writable ({} : {e}); fix its permissions or choose another",
                dir.display(),
                probe.display()
            ),
        ),
    }
}

/// The Home Registry's lock can be taken now (and is released at once).
fn registry_lock() -> (Status, String) {
    let Some(file) = registry_path_from_env() else {
        return (Status::Skip, "no Home Registry location".into());
    };
    let lock = agent_tty_core::registry::HomeRegistry::new(file).lock_file();
    // Never a FIFO (which would block the open) or a symlink.
    let Ok(handle) = agent_tty_core::safe_fs::open_home_file(&lock) else {
        return (
            Status::Pass,
            format!("no lock file yet at {} (nothing holds it)", lock.display()),
        );
    };
    // SAFETY: flock(2) on a descriptor we own; released when it closes.
    let taken = unsafe { libc::flock(handle.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    if taken {
        (Status::Pass, format!("{} can be locked", lock.display()))
    } else {
        (
            Status::Fail,
            format!(
                "{} is locked by another process; look for a hung agent-tty process",
                lock.display()
            ),
        )
    }
}

/// Opens a PTY and starts a command on it, the way a Session's host does,
/// and reads its output back.
fn pty_spawn() -> (Status, String) {
    const SAID: &str = "agent-tty-doctor-pty-ok";
    let manifest: Manifest = match serde_json::from_value(json!({
        "version": 1, "sessionId": "doctor", "createdAt": "1970-01-01T00:00:00.000Z",
        "updatedAt": "1970-01-01T00:00:00.000Z", "status": "running",
        "command": ["/bin/sh", "-c", format!("printf {SAID}")], "cwd": "/",
        "cols": 80, "rows": 24,
    })) {
        Ok(m) => m,
        Err(e) => return (Status::Fail, format!("internal: {e}")),
    };
    let (master, slave) = match pty::open(80, 24) {
        Ok(p) => p,
        Err(e) => return (Status::Fail, format!("no PTY could be opened: {e}")),
    };
    let mut child = match pty::spawn(slave, &manifest, None) {
        Ok(c) => c,
        Err(e) => {
            return (
                Status::Fail,
                format!("/bin/sh could not start on a PTY: {e}"),
            )
        }
    };
    let mut reader = std::fs::File::from(master);
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    // Read until the text or EIO (the command ended and closed the PTY).
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
        if seen.windows(SAID.len()).any(|w| w == SAID.as_bytes()) {
            break;
        }
    }
    let _ = child.wait();
    if seen.windows(SAID.len()).any(|w| w == SAID.as_bytes()) {
        (
            Status::Pass,
            "a command ran on a new PTY and its output was read".into(),
        )
    } else {
        (
            Status::Fail,
            format!(
                "a command ran on a PTY but its output did not arrive (got {:?})",
                String::from_utf8_lossy(&seen)
            ),
        )
    }
}

/// The control socket directory is private and a socket can be bound in it.
fn socket_viable() -> (Status, String) {
    let dir = control::socket_dir_location();
    if std::fs::symlink_metadata(&dir).is_err() {
        let parent = dir.parent().map(Path::to_path_buf).unwrap_or_default();
        let (status, message) = writable("Socket directory parent", &parent);
        return (
            status,
            format!(
                "{} will be created (mode 0700) on first use; {message}",
                dir.display()
            ),
        );
    }
    if let Err(e) = control::socket_dir() {
        return (Status::Fail, e.to_string());
    }
    let probe = dir.join(format!(".doctor-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&probe);
    let outcome = UnixListener::bind(&probe);
    let _ = std::fs::remove_file(&probe);
    match outcome {
        Ok(_) => (
            Status::Pass,
            format!("{} is private and takes sockets", dir.display()),
        ),
        Err(e) => (
            Status::Fail,
            format!("cannot listen in {}: {e}", dir.display()),
        ),
    }
}

/// Whether agent-tty 0.5 clients will reach this Home's Sessions.
fn legacy_socket(home: &Path) -> (Status, String) {
    let root = Path::new(legacy_rpc::ROOT);
    if std::fs::symlink_metadata(root).is_err() {
        return (
            Status::Pass,
            format!(
                "{} will be created (mode 0700) for agent-tty 0.5 clients",
                root.display()
            ),
        );
    }
    let dir = legacy_rpc::socket_dir(home);
    let checked = if std::fs::symlink_metadata(&dir).is_ok() {
        legacy_rpc::check_socket_dirs(home)
    } else {
        legacy_rpc::check_dir(root)
    };
    match checked {
        Ok(()) => (
            Status::Pass,
            format!(
                "agent-tty 0.5 clients can reach Sessions under {}",
                root.display()
            ),
        ),
        // Not a failure: everything but 0.5 interop works.
        Err(why) => (
            Status::Skip,
            format!("agent-tty 0.5 clients will not reach this Home's Sessions: {why}"),
        ),
    }
}

/// Which font draws each script a screenshot may show: the bundled fonts
/// always, system fonts where installed. A script no font has is drawn as
/// boxes, which is worth saying but is no failure.
fn fallback_fonts() -> (Status, String) {
    let report = agent_tty_render::fallback_report();
    let mut lines = vec![format!(
        "bundled: {}",
        agent_tty_render::BUNDLED_FAMILIES.join(", ")
    )];
    let mut absent = Vec::new();
    for (script, _, font) in &report {
        match font {
            // A font's name is the font file's text: shown printable only.
            Some(info) => lines.push(format!(
                "{script}: {}",
                info.family
                    .chars()
                    .filter(|c| !c.is_control())
                    .collect::<String>()
            )),
            None => absent.push(*script),
        }
    }
    if !absent.is_empty() {
        lines.push(format!(
            "no font for {} (drawn as boxes; install e.g. fonts-noto-core, fonts-noto-cjk \
             under {})",
            absent.join(", "),
            agent_tty_render::SYSTEM_FONT_DIRS[0]
        ));
    }
    (Status::Pass, lines.join("; "))
}

/// The terminal engine renders a known byte stream as expected.
fn terminal_engine() -> (Status, String) {
    let mut replay = ScreenReplay::new(20, 3);
    let event = Event {
        seq: 0,
        ts: "1970-01-01T00:00:00.000Z".into(),
        body: EventBody::Output {
            data: "\x1b[1mok\x1b[0m\r\nline 2\x1b[2;3H!".into(),
        },
    };
    replay.apply(&event);
    let lines = replay.visible_lines();
    let cursor = replay.cursor();
    if lines.first().map(String::as_str) == Some("ok")
        && lines.get(1).map(String::as_str) == Some("li!e 2")
        && cursor == (1, 3)
    {
        (
            Status::Pass,
            "escape sequences render as expected (text, SGR, cursor moves)".into(),
        )
    } else {
        (
            Status::Fail,
            format!("the engine rendered {lines:?} with the cursor at {cursor:?}"),
        )
    }
}
