//! The Session host: the detached process that owns one Session's PTY for
//! as long as its command runs.
//!
//! `create` starts `agent-tty --home H _host ID` (the sessions plugin's
//! hidden command, which calls [`SessionHost::start`] and
//! [`SessionHost::run`]) in a new session with no controlling terminal, so
//! it outlives the CLI and the terminal it ran in. The host:
//! 1. opens a PTY at the manifest's size and starts the command on it as the
//!    leader of a new session (the PTY is its controlling terminal);
//! 2. opens the Event Log, binds the control socket (mode 0600), writes the
//!    liveness sidecar (which records the socket's path, for clients whose
//!    environment would put it elsewhere), records its own and the command's
//!    PIDs in the manifest, starts its `guard` (termination signals, a
//!    vanished Session directory), and only then tells `create` it is ready.
//!    From before the manifest existed until it exits, it holds the host
//!    lock `create` handed it (`guard`), which is what says it is alive;
//! 3. runs three activities: the *output pump* appends PTY output to the
//!    Event Log (and spots `run` completion markers), the *control server*
//!    answers requests on the socket, and the main thread waits for the
//!    command to end; beside them, at idle priority, the *checkpoint
//!    thread* leaves screen checkpoints as the log grows (`checkpoints`);
//! 4. when it ends: drains the remaining output, appends `exit`, lets the
//!    checkpoint thread cover the end of the log (briefly), removes the
//!    socket, records the exit in the manifest (`exited`, or `destroyed` if
//!    it was being destroyed) and returns.
//!
//! The host is the Event Log's only writer. Its writer sits behind one mutex
//! shared by the output pump and every request handler, so `seq` stays
//! contiguous and an input event always precedes the output it causes.

#![deny(missing_docs)]

mod checkpoints;
mod connections;
mod foreground;
pub mod guard;
mod idle;
mod input_writer;
pub mod legacy_rpc;
mod memory;
mod output;
pub mod pty;
pub mod readiness;
mod replies;
mod runs;
mod server;

/// Shared with `attach`, whose keys arrive split across reads as output does.
pub use output::Utf8Carry;

use agent_tty_core::error::ErrorCode;
use agent_tty_core::event_log::EventLogWriter;
use agent_tty_core::manifest::{self, Manifest, Status};
use agent_tty_core::screen::LiveScreen;
use agent_tty_core::{home, Error};
use agent_tty_runtime::control;
use agent_tty_runtime::liveness::{self, ProcessIdentity, Sidecar};
use agent_tty_runtime::shell_integration::{self, Launch, RunTracker};
pub use legacy_rpc::ScreenQueries;
use nix::sys::signal::Signal;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex, MutexGuard};

/// State shared by the output pump, the control server and the main thread.
pub(crate) struct Shared {
    session_dir: PathBuf,
    /// The PTY master, for writing input and resizing.
    master: File,
    /// The command's PID, which is also its process group id.
    child_pid: u32,
    /// The program image of the integrated shell as started
    /// ([`foreground::image`]), to tell when it has replaced itself.
    shell_image: Option<Vec<u8>>,
    /// The shell was seen replaced by another image: an `exec` is for
    /// good, so it is not looked at again.
    shell_was_replaced: std::sync::atomic::AtomicBool,
    /// Held while input is logged and queued, so concurrent inputs reach
    /// the terminal in the order they were logged.
    input: Mutex<()>,
    /// Input on its way to the PTY, written by its own thread.
    queue: input_writer::InputQueue,
    /// Wakes the run watcher when a run is added.
    run_wake: runs::Wake,
    log: Mutex<LogState>,
    /// When the Session was last active, for the idle timeout.
    activity: idle::Activity,
    /// agent-tty 0.5 requests being answered (see `legacy_rpc::drain`).
    legacy_in_flight: std::sync::atomic::AtomicUsize,
    /// How much output was logged, for the checkpoint thread.
    checkpoints: checkpoints::Checkpoints,
}

/// Everything that must change together with the Event Log.
pub(crate) struct LogState {
    writer: EventLogWriter,
    /// Waited `run`s not finished yet.
    runs: runs::Runs,
    /// The screen as the program sees it, fed the same output as the Event
    /// Log, for answering terminal questions (put away while the Session is
    /// quiet: `output`).
    screen: LiveScreen,
    /// `run`s followed through the shell's marks, when the Session's shell
    /// was started with shell integration.
    tracker: Option<RunTracker>,
    /// The integrated shell's line editor has been seen taking bracketed
    /// pastes at its prompt (mode 2004 on): it takes one typed ahead too,
    /// even in the moment after a command before it turns the mode on again.
    shell_takes_paste: bool,
    /// The command has ended: input is refused from now on.
    child_exited: bool,
    /// How it ended (`exitCode`, `exitSignal`), once it has.
    exit_status: Option<(Option<i32>, Option<String>)>,
}

impl Shared {
    /// Whether the Session's integrated shell has replaced itself with
    /// another program (`exec bash`, `exec python3`): the new one has none
    /// of our hooks, and marks from it will never come (the hooks are gone
    /// from its environment: docs/adr/0012-run-completion.md, amendment).
    fn shell_replaced(&self) -> bool {
        use std::sync::atomic::Ordering;
        if self.shell_was_replaced.load(Ordering::Relaxed) {
            return true;
        }
        let Some(started) = &self.shell_image else {
            return false;
        };
        match foreground::image(self.child_pid as i32) {
            Some(now) if now == *started => false,
            Some(_) => {
                self.shell_was_replaced.store(true, Ordering::Relaxed);
                true
            }
            // Unreadable: another user's program (`exec sudo …`) or the
            // shell exiting; not latched, so a failed read is not for good.
            None => true,
        }
    }

    fn log(&self) -> MutexGuard<'_, LogState> {
        // A handler thread that panicked must not stop the Session.
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A started Session host: its command runs and its sockets listen.
pub struct SessionHost {
    /// Held for the host's whole life: the proof that it is alive.
    _host_lock: File,
    shared: Arc<Shared>,
    child: Child,
    reader: File,
    listener: UnixListener,
    socket: PathBuf,
    /// The manifest's `idleTimeoutMs` (0: never).
    idle_timeout_ms: u64,
    /// The agent-tty 0.5 listener, when the host could open one safely.
    legacy: LegacyServer,
    /// Stops the host's threads once the command has ended.
    stop: Stop,
}

/// The "stop now" signal and one watcher per thread, made before the host
/// reports ready: out of descriptors, `create` must fail with advice, not
/// leave a Session whose host dies in its first moment.
struct Stop {
    signal: output::StopSignal,
    pump: OwnedFd,
    server: OwnedFd,
    legacy: OwnedFd,
    idle: OwnedFd,
    run_watch: OwnedFd,
}

impl Stop {
    fn new() -> std::io::Result<Self> {
        let signal = output::StopSignal::new()?;
        Ok(Stop {
            pump: signal.watcher()?,
            server: signal.watcher()?,
            legacy: signal.watcher()?,
            idle: signal.watcher()?,
            run_watch: signal.watcher()?,
            signal,
        })
    }
}

impl SessionHost {
    /// Steps 1 and 2 of the module documentation. On failure nothing keeps
    /// running: a started command is killed before the error is returned.
    pub fn start(
        home: &Path,
        id: &str,
        queries: Arc<dyn ScreenQueries>,
    ) -> agent_tty_core::Result<Self> {
        memory::tune();
        let session_dir = home::session_dir(home, id)?;
        check_descriptor_room(&session_dir)?;
        let host_lock = guard::host_lock(&session_dir)?;
        let manifest = manifest::read_manifest(&session_dir)?;
        if manifest.status != Status::Running || manifest.host_pid.is_some() {
            return Err(Error::invalid(
                ErrorCode::InvalidInput,
                format!(
                    "Session {id} is {} and already has or had a host; \
                     `_host` is started only by `create`",
                    manifest.status.as_str()
                ),
            ));
        }
        let (master, slave) = pty::open(manifest.cols, manifest.rows)
            .map_err(|e| host_error(format!("could not open a PTY: {e}")))?;
        let launch = integration(home, id, &manifest);
        let child =
            pty::spawn(slave, &manifest, launch.as_ref()).map_err(|e| spawn_error(&manifest, e))?;
        let rest = Self::serve_setup(home, id, &session_dir, master, &child, &manifest, launch)
            .and_then(|setup| Self::record_identity(&session_dir, &child).map(|()| setup));
        match rest {
            Ok((shared, reader, listener, socket, legacy, stop)) => Ok(SessionHost {
                legacy: legacy.map(|l| {
                    let me = Arc::new(legacy_rpc::Identity {
                        home: home.to_owned(),
                        session_id: id.to_owned(),
                        session_dir: session_dir.clone(),
                        socket: l.path().to_owned(),
                        queries,
                    });
                    (l, me)
                }),
                _host_lock: host_lock,
                shared,
                child,
                reader,
                listener,
                socket,
                idle_timeout_ms: manifest.idle_timeout_ms.unwrap_or(0),
                stop,
            }),
            Err(e) => {
                liveness::signal_group(child.id(), Signal::SIGKILL);
                let mut child = child;
                let _ = child.wait();
                Err(e)
            }
        }
    }

    fn serve_setup(
        home: &Path,
        id: &str,
        session_dir: &Path,
        master: OwnedFd,
        child: &Child,
        manifest: &Manifest,
        launch: Option<Launch>,
    ) -> agent_tty_core::Result<ServeSetup> {
        let writer = EventLogWriter::open(session_dir)?;
        // Room for `destroy` to record the end on a full disk later.
        let _ = agent_tty_core::reserve::reserve(session_dir);
        let out_of_descriptors = |e| Error::write(session_dir, e);
        let stop = Stop::new().map_err(out_of_descriptors)?;
        let run_wake = runs::Wake::new().map_err(out_of_descriptors)?;
        let reader = File::from(master.try_clone().map_err(|e| {
            if agent_tty_core::error::is_descriptor_limit(&e) {
                Error::write(session_dir, e)
            } else {
                host_error(format!("could not share the PTY: {e}"))
            }
        })?);
        let socket = control::socket_path(home, id)?;
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket).map_err(|e| Error::write(&socket, e))?;
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::write(&socket, e))?;
        let me = ProcessIdentity::of(std::process::id())
            .ok_or_else(|| host_error("cannot read this process's start time".into()))?;
        // agent-tty 0.5's location too, when that is safe (never fatal).
        let legacy = legacy_rpc::bind(home, id);
        let sidecar = Sidecar::new(me, ProcessIdentity::of(child.id()))
            .with_socket(socket.clone())
            .with_legacy_socket(
                legacy
                    .as_ref()
                    .map(|l| l.path().to_owned())
                    .map_err(Clone::clone),
            );
        if let Err(e) = liveness::write_sidecar(session_dir, &sidecar) {
            let _ = std::fs::remove_file(&socket);
            if let Ok(l) = &legacy {
                legacy_rpc::remove(l.path());
            }
            return Err(e);
        }
        let legacy = legacy.ok();
        let shared = Arc::new(Shared {
            session_dir: session_dir.to_owned(),
            master: File::from(master),
            child_pid: child.id(),
            // `spawn` returns once the shell's program is executed.
            shell_image: launch
                .as_ref()
                .and_then(|_| foreground::image(child.id() as i32)),
            shell_was_replaced: Default::default(),
            input: Mutex::new(()),
            queue: input_writer::InputQueue::default(),
            run_wake,
            log: Mutex::new(LogState {
                writer,
                runs: runs::Runs::default(),
                screen: LiveScreen::new(manifest.cols, manifest.rows),
                tracker: launch.map(|l| RunTracker::new(l.shell, l.key)),
                shell_takes_paste: false,
                child_exited: false,
                exit_status: None,
            }),
            activity: idle::Activity::default(),
            legacy_in_flight: Default::default(),
            checkpoints: checkpoints::Checkpoints::default(),
        });
        Ok((shared, reader, listener, socket, legacy, stop))
    }

    /// Writes the host's and the command's PIDs into the manifest (for
    /// agent-tty 0.5 readers; liveness itself is the host lock) and starts
    /// the guard, before `create` is told the Session is ready: a `create`
    /// killed from now on leaves a Session that is complete and owned.
    fn record_identity(session_dir: &Path, child: &Child) -> agent_tty_core::Result<()> {
        // `None` when the command has already ended (a zombie until the
        // main thread reaps it): there is then nothing left to end.
        let pinned = ProcessIdentity::of(child.id()).and_then(|c| c.verify());
        manifest::update_manifest(session_dir, |m| {
            if m.status != Status::Running {
                return Err(Error::invalid(
                    ErrorCode::SessionNotRunning,
                    format!(
                        "Session {} became {} while its host started",
                        m.session_id,
                        m.status.as_str()
                    ),
                ));
            }
            m.host_pid = Some(std::process::id());
            m.child_pid = Some(child.id());
            Ok((true, ()))
        })?;
        guard::watch(pinned, session_dir)
            .map_err(|e| host_error(format!("could not watch for signals: {e}")))
    }

    /// Steps 3 and 4: serve until the command ends, then record the end.
    pub fn run(mut self) -> (Option<i32>, Option<String>) {
        let Stop {
            signal: stop,
            pump: pump_stop,
            server: server_stop,
            legacy: legacy_stop,
            idle: idle_stop,
            run_watch: run_watch_stop,
        } = self.stop;
        // The writer is not joined: a program that never reads its input
        // could keep it blocked in a write, and the host must still end.
        // Terminal answers go through its queue, between two slices of
        // queued input (never inside one).
        {
            let shared = Arc::clone(&self.shared);
            std::thread::spawn(move || shared.queue.write_to(&shared.master));
        }
        let pump = {
            let shared = Arc::clone(&self.shared);
            std::thread::spawn(move || output::pump(self.reader, &shared, pump_stop))
        };
        let server = {
            let shared = Arc::clone(&self.shared);
            std::thread::spawn(move || server::serve(self.listener, shared, server_stop))
        };
        let legacy_socket = self.legacy.as_ref().map(|(l, _)| l.path().to_owned());
        let legacy = self.legacy.map(|(listener, me)| {
            let shared = Arc::clone(&self.shared);
            std::thread::spawn(move || legacy_rpc::serve(listener, shared, me, legacy_stop))
        });
        let idle = {
            let shared = Arc::clone(&self.shared);
            let timeout = self.idle_timeout_ms;
            std::thread::spawn(move || idle::watch(&shared, timeout, idle_stop))
        };
        let run_watch = {
            let shared = Arc::clone(&self.shared);
            std::thread::spawn(move || runs::watch(&shared, run_watch_stop))
        };
        // Not joined either: it may be in the middle of a long replay when
        // the host ends (a checkpoint is written whole or not at all).
        {
            let shared = Arc::clone(&self.shared);
            let started = std::thread::Builder::new()
                .name("checkpoints".into())
                .spawn(move || checkpoints::run(&shared));
            if started.is_err() {
                self.shared.checkpoints.ended();
            }
        }
        let status = loop {
            match self.child.wait() {
                Ok(status) => break Some(status),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break None,
            }
        };
        // As agent-tty 0.5 records it (contract §7.1): a command ended by a
        // signal has `exitSignal` = the signal's number as a decimal string
        // ("1" for SIGHUP) and `exitCode` 0.
        let exit_signal = status.and_then(|s| s.signal()).map(|n| n.to_string());
        let exit_code = status.and_then(|s| s.code().or(s.signal().map(|_| 0)));
        {
            let mut log = self.shared.log();
            log.child_exited = true;
            log.exit_status = Some((exit_code, exit_signal.clone()));
        }
        stop.raise();
        self.shared.queue.close();
        let _ = pump.join();
        let _ = server.join();
        let _ = idle.join();
        let _ = run_watch.join();
        if let Some(legacy) = legacy {
            let _ = legacy.join();
        }
        // Into space reserved at start first, then the log: the exit
        // survives a disk that is full by now.
        let _ = self
            .shared
            .log()
            .writer
            .record_exit(exit_code, exit_signal.clone());
        // A Session being destroyed is not read again: `destroy` does not
        // wait for a checkpoint.
        let destroying = manifest::read_manifest(&self.shared.session_dir)
            .is_ok_and(|m| matches!(m.status, Status::Destroying | Status::Destroyed));
        if !destroying {
            self.shared.checkpoints.finish();
        }
        // The socket goes first, so a Session recorded as ended never has one.
        let _ = std::fs::remove_file(&self.socket);
        if let Some(dir) = integration_dir_beside(&self.socket) {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(path) = &legacy_socket {
            legacy_rpc::remove(path);
        }
        let dir = &self.shared.session_dir;
        let _ = agent_tty_core::reserve::record_end(dir, || {
            manifest::update_manifest(dir, |m: &mut Manifest| {
                m.record_exit(exit_code, exit_signal.clone());
                Ok((true, ()))
            })
        });
        // Answers the end completes (0.5's `wait {exit}`) still go out.
        legacy_rpc::drain(&self.shared, std::time::Duration::from_secs(1));
        (exit_code, exit_signal)
    }
}

/// Open files a host needs: about 25 of its own, the rest for clients
/// connected at once.
const MIN_DESCRIPTORS: libc::rlim_t = 64;

/// Refuses to start under a limit on open files too low to serve the
/// Session, with the advice `create` shows. Without it, some limits fail
/// cleanly at the first descriptor that is missing and others end a host
/// that already reported ready, or read its own identity as unknown.
fn check_descriptor_room(session_dir: &Path) -> agent_tty_core::Result<()> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    let known = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    if known && limit.rlim_cur < MIN_DESCRIPTORS {
        return Err(Error::write(
            session_dir,
            std::io::Error::from_raw_os_error(libc::EMFILE),
        ));
    }
    Ok(())
}

/// Shell integration for the Session's command, when it is an interactive
/// shell we know. The scripts, which hold the Session's key, live in a
/// directory of its own in the (private) socket directory; if they cannot
/// be written, `run` treats the shell as one without integration.
fn integration(home: &Path, id: &str, manifest: &Manifest) -> Option<Launch> {
    let dir = integration_dir(home, id)?;
    let env = |name: &str| {
        manifest
            .env
            .as_ref()
            .and_then(|e| e.get(name).cloned())
            .or_else(|| std::env::var(name).ok())
    };
    let key = agent_tty_term::run_marker::random_hex(16);
    shell_integration::launch(&manifest.command, &env, &dir, &key)
        .ok()
        .flatten()
}

/// `<socket dir>/shell-integration/<socket name>`: the Session's hook
/// scripts.
fn integration_dir(home: &Path, id: &str) -> Option<PathBuf> {
    integration_dir_beside(&control::socket_path(home, id).ok()?)
}

fn integration_dir_beside(socket: &Path) -> Option<PathBuf> {
    let name = socket.file_stem()?.to_owned();
    Some(socket.parent()?.join("shell-integration").join(name))
}

/// The agent-tty 0.5 listener and who it answers for, when there is one.
type LegacyServer = Option<(legacy_rpc::LegacyListener, Arc<legacy_rpc::Identity>)>;

/// What `serve_setup` opens: the shared state, the PTY reader, our control
/// listener and its path, agent-tty 0.5's listener (not yet answering) and
/// the stop pipe.
type ServeSetup = (
    Arc<Shared>,
    File,
    UnixListener,
    PathBuf,
    Option<legacy_rpc::LegacyListener>,
    Stop,
);

fn host_error(message: String) -> Error {
    Error::invalid(ErrorCode::HostUnreachable, message)
}

fn spawn_error(manifest: &Manifest, e: std::io::Error) -> Error {
    Error::invalid(
        ErrorCode::InvalidInput,
        format!(
            "could not start {:?} in {}: {e}; check that the command exists and is executable \
             (PATH is searched) and that the directory exists",
            manifest.command[0], manifest.cwd
        ),
    )
}
