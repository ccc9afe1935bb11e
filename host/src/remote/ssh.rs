//! One remote machine reached through the system's OpenSSH.
//!
//! Every call is `ssh -T` with connection sharing: the first call to a
//! machine starts a master connection (`ControlMaster=auto`) that stays for
//! [`persist`] seconds after the last use (`ControlPersist`), and later calls
//! ride on it, so a warm call costs one round trip and no handshake. The
//! control sockets live in a private directory of this user's (0700,
//! checked), named by a hash of the machine and the ssh command, never by
//! anything the remote chose.
//!
//! The ssh command is `ssh`, or `$AGENT_TTY_SSH` run by `sh` with our
//! arguments appended (git's `GIT_SSH_COMMAND` convention), so
//! `AGENT_TTY_SSH='ssh -F my_config -i key'` works and options given there
//! win over ours (ssh keeps the first value of an option).

use super::quote::{is_plain, remote_command, NOT_INSTALLED_MARK};
use super::target::Remote;
use agent_tty_core::text::escape_path;
use agent_tty_plugin_api::{ErrorCode, PluginError};
use serde_json::json;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// `AGENT_TTY_SSH`: the ssh command, run by `sh` (default `ssh`).
pub const SSH_ENV: &str = "AGENT_TTY_SSH";

/// `AGENT_TTY_REMOTE_PERSIST`: seconds a shared connection outlives its last
/// use (default 60; `0` turns sharing off).
pub const PERSIST_ENV: &str = "AGENT_TTY_REMOTE_PERSIST";

/// The status the remote script exits with when there is no agent-tty.
const NOT_INSTALLED_STATUS: i32 = 127;

/// Runs the remote's agent-tty (see [`super::quote::DECODER`]).
pub const RUN_SCRIPT: &str = super::quote::RUN_AGENT_TTY;

/// [`RUN_SCRIPT`] for a stream whose reader may go away at any time (the
/// dashboard following a Session): the command runs in the background while
/// `cat` waits for the end of standard input, which comes when the local
/// side closes its end or its ssh goes away; then the command is ended
/// (`cat` reads a copy of the descriptor: a background job's own standard
/// input is `/dev/null` in a shell without job control). A
/// remote command that only writes would otherwise live on until its next
/// write fails.
pub const STREAM_SCRIPT: &str = r#"p=$1; shift
case $p in "~/"*) p=$HOME/${p#"~/"};; esac
if [ -z "$p" ]; then
  IFS=:; for d in $PATH; do if [ -f "$d/agent-tty" ] && [ -x "$d/agent-tty" ]; then p=$d/agent-tty; break; fi; done; unset IFS
  [ -n "$p" ] || p=$HOME/.local/bin/agent-tty
fi
if [ -f "$p" ] && [ -x "$p" ]; then
  exec 3<&0
  "$p" "$@" </dev/null 3<&- & c=$!
  (cat <&3 >/dev/null 2>&1; kill $c 2>/dev/null) 3<&3 2>/dev/null & w=$!
  wait $c; s=$?
  kill $w 2>/dev/null
  exit $s
fi
printf 'agent-tty-remote: not installed: %s\n' "$p" >&2; exit 127"#;

/// How long ssh may take to connect (`ConnectTimeout`), in seconds.
const CONNECT_TIMEOUT: u32 = 10;

/// Seconds a shared connection outlives its last use.
pub fn persist() -> u32 {
    std::env::var(PERSIST_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60)
}

/// What one remote call printed and how it ended.
#[derive(Debug)]
pub struct Finished {
    /// The remote program's exit status (ssh passes it through); -1 when
    /// ssh itself was killed by a signal.
    pub status: i32,
    /// Its standard output, as bytes.
    pub stdout: Vec<u8>,
    /// Its standard error (and ssh's), as bytes.
    pub stderr: Vec<u8>,
}

/// A machine and the way to reach it.
pub struct Ssh {
    /// The remote.
    pub remote: Remote,
    socket: PathBuf,
    connect_timeout: u32,
}

impl Ssh {
    /// Prepares calls to `remote` (creating the private socket directory).
    pub fn new(remote: &Remote) -> Result<Ssh, PluginError> {
        let dir = control_dir()?;
        let t = &remote.spec.target;
        let key = format!(
            "{}\0{}\0{}\0{}",
            std::env::var(SSH_ENV).unwrap_or_default(),
            t.user.as_deref().unwrap_or(""),
            t.host,
            t.port.unwrap_or(0)
        );
        Ok(Ssh {
            remote: remote.clone(),
            socket: dir.join(format!("{:016x}", fnv1a(key.as_bytes()))),
            connect_timeout: CONNECT_TIMEOUT,
        })
    }

    /// Gives up connecting after `seconds` (for the fleet listing).
    pub fn with_connect_timeout(mut self, seconds: u32) -> Ssh {
        self.connect_timeout = seconds.max(1);
        self
    }

    /// Whether a shared connection is (probably) up: its socket exists.
    pub fn is_warm(&self) -> bool {
        std::fs::symlink_metadata(&self.socket).is_ok()
    }

    /// The ssh command line for `line` (what the remote login shell runs),
    /// with `options` before the destination.
    fn command(&self, options: &[String], line: Option<&str>) -> Command {
        let t = &self.remote.spec.target;
        let mut args: Vec<String> = vec!["-T".into()];
        let persist = persist();
        if persist > 0 {
            args.extend([
                "-o".into(),
                "ControlMaster=auto".into(),
                "-o".into(),
                format!("ControlPath={}", self.socket.display()),
                "-o".into(),
                format!("ControlPersist={persist}"),
            ]);
        }
        args.extend([
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            format!("ConnectTimeout={}", self.connect_timeout),
        ]);
        if let Some(p) = t.port {
            args.extend(["-p".into(), p.to_string()]);
        }
        if let Some(u) = &t.user {
            args.extend(["-l".into(), u.clone()]);
        }
        args.extend(options.iter().cloned());
        // The target was checked (no leading `-`); `--` makes sure anyway.
        args.extend(["--".into(), t.host.clone()]);
        if let Some(line) = line {
            args.push(line.to_owned());
        }
        match std::env::var(SSH_ENV).ok().filter(|s| !s.trim().is_empty()) {
            // Words a shell would leave alone: run directly (no `sh`).
            Some(ssh) if ssh.bytes().all(|b| is_plain(b) || b == b' ') => {
                let mut words = ssh.split_whitespace();
                let mut cmd = Command::new(words.next().unwrap_or("ssh"));
                cmd.args(words).args(args);
                cmd
            }
            Some(ssh) => {
                let mut cmd = Command::new("sh");
                cmd.arg("-c")
                    .arg(format!("{ssh} \"$@\""))
                    .arg("agent-tty-ssh")
                    .args(args);
                cmd
            }
            None => {
                let mut cmd = Command::new("ssh");
                cmd.args(args);
                cmd
            }
        }
    }

    /// Starts `script` on the remote with `args` (see [`remote_command`]).
    pub fn spawn<'a>(
        &self,
        script: &str,
        args: impl IntoIterator<Item = &'a OsStr>,
        stdin: Stdio,
    ) -> Result<Child, PluginError> {
        let line = remote_command(script, args);
        self.command(&[], Some(&line))
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.unreachable(format!("could not start ssh: {e}"), ""))
    }

    /// Runs `script` to the end and collects what it printed.
    pub fn run<'a>(
        &self,
        script: &str,
        args: impl IntoIterator<Item = &'a OsStr>,
        stdin: Stdio,
    ) -> Result<Finished, PluginError> {
        let mut child = self.spawn(script, args, stdin)?;
        let mut err = child.stderr.take().expect("piped");
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = err.read_to_end(&mut buf);
            buf
        });
        let mut stdout = Vec::new();
        if let Some(mut out) = child.stdout.take() {
            let _ = out.read_to_end(&mut stdout);
        }
        let status = child.wait().map(|s| s.code().unwrap_or(-1)).unwrap_or(-1);
        let stderr = reader.join().unwrap_or_default();
        self.check(Finished {
            status,
            stdout,
            stderr,
        })
    }

    /// Runs the remote agent-tty with `args`.
    pub fn run_agent_tty<'a>(
        &self,
        args: impl IntoIterator<Item = &'a OsStr>,
        stdin: Stdio,
    ) -> Result<Finished, PluginError> {
        let program = self.remote.spec.agent_tty.as_deref().unwrap_or_default();
        let program: &OsStr = OsStr::new(program);
        let mut all: Vec<&OsStr> = vec![program];
        for a in args {
            all.push(a);
        }
        self.run(RUN_SCRIPT, all, stdin)
    }

    /// Turns ssh's own failures into `REMOTE_UNREACHABLE` and a missing
    /// program into `REMOTE_NOT_INSTALLED`; anything else is the remote's
    /// answer.
    pub fn check(&self, done: Finished) -> Result<Finished, PluginError> {
        let stderr = String::from_utf8_lossy(&done.stderr);
        if done.status == 255 {
            return Err(self.unreachable(
                format!(
                    "ssh could not reach {}: {}",
                    self.remote.label,
                    agent_tty_core::text::escape(last_line(&stderr))
                ),
                &stderr,
            ));
        }
        if done.status == NOT_INSTALLED_STATUS {
            if let Some(path) = stderr
                .lines()
                .find_map(|l| l.strip_prefix(NOT_INSTALLED_MARK))
            {
                return Err(PluginError::new(
                    ErrorCode::RemoteNotInstalled,
                    format!(
                        "{} has no agent-tty at {} (looked on its PATH, then in \
                         ~/.local/bin); copy this build there with `agent-tty remote install \
                         NAME`, or give its path with `agent-tty remote add NAME TARGET \
                         --agent-tty PATH`",
                        self.remote.label,
                        agent_tty_core::text::escape(path)
                    ),
                )
                .with_details(self.details(&stderr)));
            }
        }
        Ok(done)
    }

    fn unreachable(&self, message: String, stderr: &str) -> PluginError {
        PluginError::new(ErrorCode::RemoteUnreachable, message).with_details(self.details(stderr))
    }

    /// The error details every remote failure carries.
    pub fn details(&self, stderr: &str) -> serde_json::Value {
        json!({
            "remote": self.remote.label,
            "target": self.remote.spec.target.to_string(),
            "ssh": stderr.trim_end(),
        })
    }

    /// Ends the shared connection now (`ssh -O exit`). Whether one was up.
    pub fn stop(&self) -> bool {
        if !self.is_warm() {
            return false;
        }
        let opts = ["-O".to_owned(), "exit".to_owned()];
        self.command(&opts, None)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

/// Stops every shared connection in the socket directory (each socket is
/// asked to exit; stale ones are removed). How many were stopped.
pub fn stop_all() -> Result<usize, PluginError> {
    let dir = control_dir()?;
    let mut stopped = 0;
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(0);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        // Any destination will do: the control socket decides.
        let ok = Command::new("ssh")
            .arg("-o")
            .arg(format!("ControlPath={}", path.display()))
            .args(["-O", "exit", "--", "agent-tty-remote"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            stopped += 1;
        } else {
            let _ = std::fs::remove_file(&path);
        }
    }
    Ok(stopped)
}

/// The private directory of control sockets: `ssh/` beside the Session
/// sockets (`$XDG_RUNTIME_DIR/agent-tty`, else `/tmp/agent-tty-UID`),
/// created 0700 and refused unless it is this user's own and private.
pub fn control_dir() -> Result<PathBuf, PluginError> {
    let base = agent_tty_runtime::control::socket_dir()?;
    let dir = base.join("ssh");
    if std::fs::symlink_metadata(&dir).is_err() {
        agent_tty_core::fsutil::create_dir_all_private(&dir).map_err(|e| {
            PluginError::new(
                ErrorCode::StorageWriteError,
                format!(
                    "could not create the ssh socket directory {}: {e}",
                    escape_path(&dir)
                ),
            )
        })?;
    }
    check_private(&dir)?;
    Ok(dir)
}

fn check_private(dir: &Path) -> Result<(), PluginError> {
    let private = std::fs::symlink_metadata(dir).is_ok_and(|m| {
        m.is_dir() && m.uid() == agent_tty_core::safe_fs::effective_uid() && m.mode() & 0o077 == 0
    });
    if private {
        return Ok(());
    }
    Err(PluginError::new(
        ErrorCode::StorageWriteError,
        format!(
            "the ssh socket directory {} must be a directory (not a symlink) owned by you \
             with mode 0700; anyone who can reach a shared connection's socket can run \
             commands on that machine as you. Remove it and try again",
            escape_path(dir)
        ),
    )
    .with_details(json!({ "dir": dir })))
}

/// The last non-empty line (ssh's reason comes last).
fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
}

/// FNV-1a, 64 bits: a stable name for a control socket.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
