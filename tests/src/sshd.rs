//! A throwaway OpenSSH server for the `--remote` tests: "the remote" is this
//! machine, reached through Debian's `sshd` on a free loopback port, with
//! its own `HOME` and XDG directories.
//!
//! Everything lives in a temp directory: the host key, the user key, the
//! `authorized_keys`, the `sshd_config` (`SetEnv` gives the remote side its
//! own `HOME`, `XDG_*`), the pinned `known_hosts` and the ssh command the
//! client side uses (`AGENT_TTY_SSH`, with `-F` pointing at nothing, so the
//! developer's `~/.ssh/config` is never read). No system configuration is
//! touched, with one exception sshd insists on: its privilege separation
//! directory `/run/sshd`, created (mode 0755, empty) only when missing and
//! only when running as root, as the openssh-server package would.
//!
//! `sshd -D -e` runs as a child in its own process group; dropping the
//! [`Sshd`] kills the group (the listener and every connection it forked).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs the server.
pub const SSHD: &str = "/usr/sbin/sshd";

/// Whether the server and client are installed (failing under `CI=true`,
/// see [`crate::required_under_ci`]).
pub fn available() -> bool {
    let found = Path::new(SSHD).exists()
        && Command::new("ssh-keygen")
            .arg("-?")
            .stderr(Stdio::null())
            .status()
            .is_ok()
        && Command::new("ssh")
            .arg("-V")
            .stderr(Stdio::null())
            .status()
            .is_ok();
    crate::required_under_ci(
        "sshd and ssh",
        found,
        "apt-get install openssh-server openssh-client",
    )
}

/// A running throwaway sshd.
pub struct Sshd {
    dir: tempfile::TempDir,
    child: Option<Child>,
    port: u16,
    user: String,
}

impl Sshd {
    /// Starts one on a free loopback port; `remote_root` becomes the
    /// remote side's `HOME` (`remote_root/user`) and XDG directories.
    pub fn start(remote_root: &Path) -> Sshd {
        let dir = tempfile::Builder::new()
            .prefix("agent-tty-sshd-")
            .tempdir()
            .expect("a temp dir");
        let d = dir.path();
        for key in ["host_key", "user_key"] {
            let ok = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "agent-tty-e2e", "-f"])
                .arg(d.join(key))
                .stdin(Stdio::null())
                .status()
                .expect("ssh-keygen runs")
                .success();
            assert!(ok, "ssh-keygen failed");
        }
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).unwrap();
        for sub in ["user", "state", "data", "cache", "runtime"] {
            std::fs::create_dir_all(remote_root.join(sub)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            remote_root.join("runtime"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        // SAFETY: getuid has no preconditions.
        if unsafe { libc::getuid() } == 0 && !Path::new("/run/sshd").exists() {
            let _ = std::fs::DirBuilder::new().mode(0o755).create("/run/sshd");
        }
        let port = free_port();
        let r = |s: &str| remote_root.join(s).display().to_string();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nPidFile {pid}\n\
             AuthorizedKeysFile {ak}\nStrictModes no\nUsePAM no\n\
             PermitRootLogin prohibit-password\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nLogLevel ERROR\nMaxSessions 100\n\
             MaxStartups 100\n\
             SetEnv HOME={home} XDG_STATE_HOME={state} XDG_DATA_HOME={data} \
             XDG_CACHE_HOME={cache} XDG_RUNTIME_DIR={runtime}\n",
            hk = d.join("host_key").display(),
            pid = d.join("sshd.pid").display(),
            ak = d.join("authorized_keys").display(),
            home = r("user"),
            state = r("state"),
            data = r("data"),
            cache = r("cache"),
            runtime = r("runtime"),
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        let host_pub = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        let mut fields = host_pub.split_whitespace();
        let (kind, key) = (fields.next().unwrap(), fields.next().unwrap());
        std::fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {kind} {key}\n"),
        )
        .unwrap();
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_owned();
        let mut sshd = Sshd {
            dir,
            child: None,
            port,
            user,
        };
        sshd.resume();
        sshd
    }

    /// Starts the server again (after [`Sshd::stop`]) on the same port.
    pub fn resume(&mut self) {
        let d = self.dir.path();
        let log = std::fs::File::create(d.join("sshd.log")).unwrap();
        use std::os::unix::process::CommandExt;
        let child = Command::new(SSHD)
            .arg("-f")
            .arg(d.join("sshd_config"))
            .args(["-D", "-e"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("sshd starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not listen: {}",
                std::fs::read_to_string(d.join("sshd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the server and every connection it serves.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on the process group this struct started.
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
            let _ = child.wait();
        }
    }

    /// `user@127.0.0.1:port`.
    pub fn target(&self) -> String {
        format!("{}@127.0.0.1:{}", self.user, self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The ssh command for `AGENT_TTY_SSH`: this server's key, its pinned
    /// host key, and no ssh config of the developer's.
    pub fn ssh_command(&self) -> String {
        let d = self.dir.path();
        format!(
            "ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o UserKnownHostsFile={} \
             -o StrictHostKeyChecking=yes -o LogLevel=ERROR",
            d.join("user_key").display(),
            d.join("known_hosts").display()
        )
    }

    /// The temp directory (for scripts a test writes).
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind(("127.0.0.1", 0)).expect("a free port");
    l.local_addr().unwrap().port()
}

use std::os::unix::fs::DirBuilderExt;
