//! The per-Session control socket: how the CLI hands input and control to a
//! Session's host process.
//!
//! One newline-terminated JSON [`ControlRequest`] per connection, answered by
//! one newline-terminated JSON [`ControlResponse`] ([`wire`]: the types, the
//! protocol version and the capabilities, without I/O). Hosts run for days
//! across upgrades, so a client meets older hosts: [`HostClient`] sends a
//! request only when the host can answer it (docs/SESSION-HOST-PROTOCOL.md). The host logs every input
//! and control action to the Event Log itself, so the log is the single record
//! of what happened; readers (`wait`, `snapshot`, the dashboard) never ask the
//! host anything.
//!
//! The socket lives under `$XDG_RUNTIME_DIR/agent-tty/` when that is set, else
//! `/tmp/agent-tty-<uid>/`; either directory is created 0700 and must be owned
//! by the user, so no other user can reach a Session. Which of the two the
//! host used depends on *its* environment, so the host records the path it
//! bound in the Session's sidecar and clients connect there
//! ([`session_socket`]): any shell of the same user can drive a Session,
//! whatever its own `XDG_RUNTIME_DIR`.

use crate::liveness::Sidecar;
use agent_tty_core::error::ErrorCode;
use agent_tty_core::error::{Error, Result};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// How long a `run` waits when it gives no limit (0.5: 30 000 ms): the
/// `run` command, `batch`'s run steps and 0.5's `run` request alike.
pub const DEFAULT_RUN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// `wait`'s default `--timeout` (0.5: 600 000 ms; `0` waits forever), and
/// 0.5's `wait` request's.
pub const DEFAULT_WAIT_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(600_000);

pub mod wire;

pub use wire::{
    capability, ControlError, ControlRequest, ControlResponse, Hello, HostStatus,
    BASE_CAPABILITIES, BASE_VERSION, CAPABILITIES, PROTOCOL_VERSION, REDACTED_INPUT,
};

/// The directory holding this user's Session sockets, created 0700 if needed.
///
/// Whether it was just created or already there (possibly made by someone
/// else in a shared `/tmp`), it is checked afterwards: a directory another
/// user pre-created is refused with how to get past it, never used.
pub fn socket_dir() -> Result<PathBuf> {
    let dir = socket_dir_location();
    if std::fs::symlink_metadata(&dir).is_err() {
        agent_tty_core::fsutil::create_dir_all_private(&dir).map_err(|e| Error::write(&dir, e))?;
    }
    check_private_dir(&dir)?;
    Ok(dir)
}

/// Where this process's environment puts Session sockets (not created;
/// `doctor` checks it without creating it).
pub fn socket_dir_location() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(d) if d.is_absolute() => d.join("agent-tty"),
        _ => PathBuf::from(format!("/tmp/agent-tty-{}", nix::unistd::getuid())),
    }
}

/// A socket directory must be a directory of this user's that nobody else
/// can enter: otherwise another user could stand in for a Session's host.
fn check_private_dir(dir: &Path) -> Result<()> {
    let private = std::fs::symlink_metadata(dir).is_ok_and(|meta| {
        meta.is_dir()
            && meta.uid() == nix::unistd::getuid().as_raw()
            && meta.permissions().mode() & 0o077 == 0
    });
    if private {
        return Ok(());
    }
    Err(Error::invalid(
        ErrorCode::StorageWriteError,
        format!(
            "the Session socket directory {} must be a directory (not a symlink) owned by \
             you with mode 0700, and it is not (another user may have created it); remove \
             it if it is yours, or set XDG_RUNTIME_DIR to a private directory of yours \
             (e.g. `export XDG_RUNTIME_DIR=/run/user/$(id -u)`) and try again",
            agent_tty_core::text::escape_path(dir)
        ),
    ))
}

/// The socket path a host starting now binds for a Session. The Home is part
/// of the name (hashed, to stay within the 108-byte socket path limit)
/// because a copied Home can hold the same Session id as its original.
///
/// The directory depends on this process's environment, so clients must not
/// call this to find a running host: they use [`session_socket`], which
/// prefers the path the host recorded.
pub fn socket_path(home: &Path, session_id: &str) -> Result<PathBuf> {
    Ok(socket_dir()?.join(socket_name(home, session_id)))
}

/// `<id>-<hash of the Home path>.sock`.
pub(crate) fn socket_name(home: &Path, session_id: &str) -> String {
    format!(
        "{session_id}-{:08x}.sock",
        fnv1a(home.as_os_str().as_encoded_bytes())
    )
}

/// The socket a Session's host listens on: the path the host recorded in
/// its sidecar when it started, so that any shell of the user reaches it
/// whatever its `XDG_RUNTIME_DIR`; else (Sessions whose sidecar predates the
/// record, or that have none) the path this process's environment gives.
pub fn session_socket(home: &Path, session_id: &str, sidecar: Option<&Sidecar>) -> Result<PathBuf> {
    match sidecar.and_then(|s| recorded_socket(s, session_id)) {
        Some(socket) => {
            // A directory that is gone (a runtime directory removed at
            // logout) took the socket with it: connecting says so.
            let dir = socket.parent().unwrap_or(Path::new("/"));
            if dir.exists() {
                check_private_dir(dir)?;
            }
            Ok(socket)
        }
        None => socket_path(home, session_id),
    }
}

/// Removes the control socket of a Session whose host is dead (a host that
/// ends normally removes its own; one killed outright cannot). A damaged or
/// hostile sidecar must not make this delete anything else, so the socket
/// removed is exactly `<id>-<hash of this Home>.sock` (a sidecar naming
/// another Session's or another Home's socket is ignored), it must be a
/// socket, and its directory must be a private runtime directory of this
/// user's (owner, mode 0700, not a symlink). The unlink goes through that
/// directory's descriptor. Nothing is created, and a missing socket is not
/// an error.
pub fn remove_dead_socket(home: &Path, session_id: &str, sidecar: Option<&Sidecar>) {
    let name = socket_name(home, session_id);
    let dir = sidecar
        .and_then(|s| recorded_socket(s, session_id))
        .filter(|socket| socket.file_name().is_some_and(|n| n == name.as_str()))
        .and_then(|socket| socket.parent().map(Path::to_owned))
        .unwrap_or_else(socket_dir_location);
    let Ok(pinned) = agent_tty_core::safe_fs::DirFd::open(&dir) else {
        return;
    };
    let private = pinned
        .stat()
        .is_ok_and(|st| st.st_uid == nix::unistd::geteuid().as_raw() && st.st_mode & 0o077 == 0);
    let is_socket = pinned.stat_child(&name).is_ok_and(|st| {
        nix::sys::stat::SFlag::from_bits_truncate(st.st_mode) & nix::sys::stat::SFlag::S_IFMT
            == nix::sys::stat::SFlag::S_IFSOCK
    });
    if private && is_socket {
        let _ = pinned.unlink_child(&name);
    }
    remove_dead_legacy_socket(home, session_id, sidecar);
}

/// The agent-tty 0.5 socket a dead host recorded (`legacySocket`), provided
/// it is exactly this Session's 0.5 path, a socket, in directories we trust;
/// its Home directory goes too when left empty.
fn remove_dead_legacy_socket(home: &Path, session_id: &str, sidecar: Option<&Sidecar>) {
    let expected = crate::legacy_rpc::socket_path(home, session_id);
    let recorded = sidecar.and_then(|s| s.legacy_socket.as_deref());
    if recorded != Some(expected.as_path()) || crate::legacy_rpc::check_socket_dirs(home).is_err() {
        return;
    }
    if std::fs::symlink_metadata(&expected).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(&expected);
        let _ = std::fs::remove_dir(crate::legacy_rpc::socket_dir(home));
    }
}

/// The sidecar's socket, provided it is an absolute path named for this
/// Session (`<id>-<hash>.sock`).
fn recorded_socket(sidecar: &Sidecar, session_id: &str) -> Option<PathBuf> {
    let socket = sidecar.socket.as_ref()?;
    let name = socket.file_name()?.to_str()?;
    let named_for_it = name
        .strip_prefix(session_id)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|rest| rest.ends_with(".sock"));
    (socket.is_absolute() && named_for_it).then(|| socket.clone())
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Why a one-line exchange with a host failed.
pub(crate) enum Exchange {
    /// Connecting, writing or reading failed.
    Io(std::io::Error),
    /// No answer within the timeout.
    TimedOut,
}

/// The one request/answer exchange both host protocols use (ours and
/// agent-tty 0.5's): connect, write `line` and a newline, read one line of at
/// most `max` bytes, all within `timeout` per operation. Callers word the
/// failures for their protocol.
pub(crate) fn exchange_line(
    socket: &Path,
    line: &[u8],
    timeout: Duration,
    max: u64,
) -> std::result::Result<String, Exchange> {
    use std::io::Read;
    let mut stream = UnixStream::connect(socket).map_err(Exchange::Io)?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(Exchange::Io)?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(Exchange::Io)?;
    let mut framed = Vec::with_capacity(line.len() + 1);
    framed.extend_from_slice(line);
    framed.push(b'\n');
    stream.write_all(&framed).map_err(Exchange::Io)?;
    let mut answer = String::new();
    BufReader::new((&stream).take(max))
        .read_line(&mut answer)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => Exchange::TimedOut,
            _ => Exchange::Io(e),
        })?;
    Ok(answer)
}

/// Sends one request to a Session's host and waits for its answer.
///
/// Connection failures are `HOST_UNREACHABLE` (exit 6, retryable); no answer
/// within `timeout` is `HOST_TIMEOUT` (exit 5); a refusal comes back as the
/// host's own code (e.g. `INVALID_KEYS`).
///
/// The request is sent whatever the host's protocol: fine for the base
/// requests every host answers; anything else goes through a [`HostClient`].
pub fn send(socket: &Path, request: &ControlRequest, timeout: Duration) -> Result<ControlResponse> {
    let response = exchange(socket, request, timeout)?;
    match (&response.ok, &response.error) {
        (false, Some(err)) => Err(Error::invalid(err.code, err.message.clone())),
        (false, None) => Err(Error::invalid(
            ErrorCode::RpcError,
            "the Session's host refused the request",
        )),
        _ => Ok(response),
    }
}

/// One request and the host's answer as it came, refusals included.
fn exchange(socket: &Path, request: &ControlRequest, timeout: Duration) -> Result<ControlResponse> {
    let unreachable = |e: std::io::Error| {
        Error::invalid(
            ErrorCode::HostUnreachable,
            format!(
                "the Session's host is not answering on {} ({e})",
                socket.display()
            ),
        )
    };
    let line = serde_json::to_vec(request).expect("a request always serialises");
    let answer = exchange_line(socket, &line, timeout, u64::MAX).map_err(|e| match e {
        Exchange::TimedOut => Error::invalid(
            ErrorCode::HostTimeout,
            format!(
                "the Session's host did not answer within {} ms; it may be \
                 busy, so try again, and if it keeps happening `agent-tty inspect` \
                 shows whether the Session still runs",
                timeout.as_millis()
            ),
        ),
        Exchange::Io(e) => unreachable(e),
    })?;
    serde_json::from_str(answer.trim_end()).map_err(|e| {
        Error::invalid(
            ErrorCode::ProtocolError,
            format!("the Session's host sent a malformed answer: {e}"),
        )
    })
}

/// A client of one Session's host that sends only what the host can answer
/// (docs/SESSION-HOST-PROTOCOL.md): a base request as it is (every host of
/// every protocol answers those), anything else only after the host's hello
/// listed it. The hello is asked once per client.
pub struct HostClient {
    /// The Session's id, for what the client says of it.
    session: String,
    socket: PathBuf,
    timeout: Duration,
    hello: OnceLock<Hello>,
}

impl HostClient {
    /// A client of Session `session`'s host, listening on `socket`, giving
    /// it `timeout` per request.
    pub fn new(session: &str, socket: impl Into<PathBuf>, timeout: Duration) -> Self {
        HostClient {
            session: session.to_owned(),
            socket: socket.into(),
            timeout,
            hello: OnceLock::new(),
        }
    }

    /// What the host speaks: its hello, or, from a host that predates the
    /// hello (it answers `PROTOCOL_ERROR` "could not understand"), protocol
    /// 1 with the base capabilities. The answer also proves the host alive.
    pub fn hello(&self) -> Result<&Hello> {
        if let Some(hello) = self.hello.get() {
            return Ok(hello);
        }
        let answer = exchange(
            &self.socket,
            &ControlRequest::Hello(Hello::ours()),
            self.timeout,
        )?;
        let hello = match answer {
            ControlResponse {
                ok: true,
                hello: Some(hello),
                ..
            } => hello,
            ControlResponse {
                ok: false,
                error: Some(error),
                ..
            } if wire::is_pre_hello_refusal(&error) => Hello::pre_hello(),
            ControlResponse {
                ok: false,
                error: Some(error),
                ..
            } => return Err(Error::invalid(error.code, error.message)),
            _ => {
                return Err(Error::invalid(
                    ErrorCode::ProtocolError,
                    "the Session's host answered the hello without saying what it speaks",
                ))
            }
        };
        Ok(self.hello.get_or_init(|| hello))
    }

    /// Sends `request` if the host can answer it (see [`send`] for the
    /// errors). A request outside the base set that the host did not list
    /// is not sent: `UNSUPPORTED`, saying to restart the Session.
    pub fn send(&self, request: &ControlRequest) -> Result<ControlResponse> {
        if !request.is_base() {
            let hello = self.hello()?;
            if !hello.supports(request.capability()) {
                return Err(self.lacks(hello, request.capability()));
            }
        }
        send(&self.socket, request, self.timeout)
    }

    /// The host's [`HostStatus`] (protocol 2).
    pub fn status(&self) -> Result<HostStatus> {
        self.send(&ControlRequest::Status)?.status.ok_or_else(|| {
            Error::invalid(
                ErrorCode::ProtocolError,
                "the Session's host answered `status` without its status",
            )
        })
    }

    /// The refusal of a request the host is too old for.
    fn lacks(&self, hello: &Hello, capability: &str) -> Error {
        let started_by = hello.agent_tty.as_deref().map_or_else(
            || "an older agent-tty".to_owned(),
            |v| format!("agent-tty {v}"),
        );
        Error::invalid(
            ErrorCode::Unsupported,
            format!(
                "the host of Session {} speaks control protocol {} (it was started by {started_by}) \
                 and cannot answer `{capability}`; restart the Session (`agent-tty destroy` it and \
                 `create` it again) to use it",
                self.session,
                hello.protocol
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_a_stable_wire_shape() {
        let r = ControlRequest::Run {
            command: "ls".into(),
            marker: "M".into(),
            no_wait: true,
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"type":"run","command":"ls","marker":"M","noWait":true}"#
        );
    }

    use crate::liveness::ProcessIdentity;
    use std::os::unix::net::UnixListener;

    const ID: &str = "01JD3Z6X8K4M2N5P7Q9R1S3T5V";

    fn sidecar_naming(socket: &Path) -> Sidecar {
        let me = ProcessIdentity::of(std::process::id()).unwrap();
        Sidecar::new(me, None).with_socket(socket.to_owned())
    }

    /// A private socket directory, as the host makes it.
    fn socket_dir_in(tmp: &tempfile::TempDir) -> PathBuf {
        let dir = tmp.path().join("agent-tty");
        agent_tty_core::fsutil::create_dir_all_private(&dir).unwrap();
        dir
    }

    #[test]
    fn clients_use_the_socket_the_host_recorded() {
        let tmp = tempfile::tempdir().unwrap();
        let recorded = socket_dir_in(&tmp).join(format!("{ID}-0badf00d.sock"));
        let found = session_socket(Path::new("/h"), ID, Some(&sidecar_naming(&recorded)));
        assert_eq!(found.unwrap(), recorded);
    }

    #[test]
    fn a_recorded_socket_not_named_for_the_session_is_ignored() {
        for bad in [
            "/tmp/x/01JD3Z6X8K4M2N5P7Q9R1S3T5W-0badf00d.sock",
            "/tmp/x/01JD3Z6X8K4M2N5P7Q9R1S3T5V-0badf00d.txt",
            "relative/01JD3Z6X8K4M2N5P7Q9R1S3T5V-0badf00d.sock",
            "/home/me/.bashrc",
        ] {
            assert_eq!(
                recorded_socket(&sidecar_naming(Path::new(bad)), ID),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn a_recorded_socket_whose_directory_is_gone_is_unreachable() {
        let tmp = tempfile::tempdir().unwrap();
        let gone = tmp.path().join("gone").join(format!("{ID}-0badf00d.sock"));
        let found = session_socket(Path::new("/h"), ID, Some(&sidecar_naming(&gone))).unwrap();
        let err = send(&found, &ControlRequest::Ping, Duration::from_secs(1)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::HostUnreachable);
    }

    #[test]
    fn a_recorded_socket_in_a_directory_others_can_enter_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let recorded = open.join(format!("{ID}-0badf00d.sock"));
        let err = session_socket(Path::new("/h"), ID, Some(&sidecar_naming(&recorded)));
        assert_eq!(err.unwrap_err().code(), ErrorCode::StorageWriteError);
    }

    #[test]
    fn a_dead_hosts_socket_is_removed_but_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = socket_dir_in(&tmp);
        let home = Path::new("/h");
        let socket = dir.join(socket_name(home, ID));
        drop(UnixListener::bind(&socket).unwrap());
        remove_dead_socket(home, ID, Some(&sidecar_naming(&socket)));
        assert!(!socket.exists());
        // Missing: nothing to do, no error.
        remove_dead_socket(home, ID, Some(&sidecar_naming(&socket)));

        // A regular file under the socket's name is not a socket: kept.
        std::fs::write(&socket, "not a socket").unwrap();
        remove_dead_socket(home, ID, Some(&sidecar_naming(&socket)));
        assert!(socket.exists());
        // A socket named for another Session is kept.
        let other = dir.join("01JD3Z6X8K4M2N5P7Q9R1S3T5W-0badf00d.sock");
        drop(UnixListener::bind(&other).unwrap());
        remove_dead_socket(home, ID, Some(&sidecar_naming(&other)));
        assert!(other.exists());
    }

    #[test]
    fn a_crafted_sidecar_cannot_remove_another_homes_socket_of_the_same_id() {
        // A Session with the victim's id in another (crafted) Home names the
        // victim's live socket in its sidecar.
        let tmp = tempfile::tempdir().unwrap();
        let dir = socket_dir_in(&tmp);
        let victim = dir.join(socket_name(Path::new("/victim/home"), ID));
        let _live = UnixListener::bind(&victim).unwrap();
        remove_dead_socket(
            Path::new("/crafted/home"),
            ID,
            Some(&sidecar_naming(&victim)),
        );
        assert!(victim.exists(), "another Session's socket was removed");
        // Nor in a directory that is not a private one of ours.
        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let planted = open.join(socket_name(Path::new("/h"), ID));
        drop(UnixListener::bind(&planted).unwrap());
        remove_dead_socket(Path::new("/h"), ID, Some(&sidecar_naming(&planted)));
        assert!(planted.exists());
    }

    #[test]
    fn a_runtime_directory_precreated_by_another_user_is_refused_with_a_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = socket_dir_in(&tmp);
        assert!(check_private_dir(&dir).is_ok());
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIP (part): giving a directory to another user needs root");
            return;
        }
        nix::unistd::chown(&dir, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        let err = check_private_dir(&dir).unwrap_err();
        assert_eq!(err.code(), ErrorCode::StorageWriteError);
        assert!(err.to_string().contains("XDG_RUNTIME_DIR"), "{err}");
        // A symlink to a private directory of ours is refused too.
        let real = socket_dir_in(&tempfile::tempdir().unwrap());
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(check_private_dir(&link).is_err());
    }

    #[test]
    fn socket_names_differ_per_home() {
        // A copied Home holds the same Session ids as its original; both
        // hosts must still get sockets of their own in the shared directory.
        let id = "01JD3Z6X8K4M2N5P7Q9R000001";
        let a = socket_name(Path::new("/homes/a"), id);
        let b = socket_name(Path::new("/homes/b"), id);
        assert_ne!(a, b);
        // Stable for one Home (a client finds the host's socket again)...
        assert_eq!(a, socket_name(Path::new("/homes/a"), id));
        // ...named for the Session, and short enough for sun_path (108 bytes)
        // even under a long runtime directory.
        assert!(a.starts_with(id) && a.ends_with(".sock"), "{a}");
        assert!(a.len() <= 40, "{a} is {} bytes", a.len());
        // Different Sessions of one Home differ too.
        assert_ne!(
            a,
            socket_name(Path::new("/homes/a"), "01JD3Z6X8K4M2N5P7Q9R000002")
        );
    }
}
