//! Shared helpers for the end-to-end tests: run the built `agent-tty` with its
//! plugins in a sandbox of temp directories, and clean up every process a test
//! started.
//!
//! A [`Sandbox`] gives each test its own fake user directory (so the default
//! Home `~/.agent-tty` is inside it), `XDG_STATE_HOME` (the Home Registry),
//! `XDG_DATA_HOME`, and `XDG_RUNTIME_DIR` (Session sockets). Nothing touches
//! the real `~/.agent-tty` or `~/.local/state`.

pub mod event_log_schema05;
pub mod pty;
pub mod rpc_schema05;
pub mod sshd;

use serde_json::Value;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The directory holding the built `agent-tty` and plugin libraries
/// (`target/debug` for `cargo test`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let deps = exe
        .parent()
        .expect("test binaries live in target/<profile>/deps");
    deps.parent().expect("deps has a parent").to_owned()
}

/// The packages the end-to-end tests run: the host, every plugin (product and
/// example), and the deliberately broken fixture plugins. `cargo test` builds
/// none of their `cdylib`s or the host binary for this crate, so the harness
/// builds them itself, once (see [`ensure_built`]).
pub const E2E_PACKAGES: &[&str] = &[
    "agent-tty",
    "agent-tty-plugin-sessions",
    "agent-tty-plugin-registry",
    "agent-tty-plugin-gc-sweeper",
    "agent-tty-plugin-dashboard-home-picker",
    "agent-tty-plugin-capture",
    "agent-tty-plugin-skills",
    "agent-tty-plugin-mcp",
    "agent-tty-plugin-example-hello",
    "fixture-panicky-plugin",
    "fixture-future-plugin",
    "fixture-tidy-plugin",
    "fixture-tidy-undeclared-plugin",
];

/// Builds [`E2E_PACKAGES`] into the running test's own target directory and
/// profile, so `cargo test --workspace` passes on a fresh checkout with nothing
/// built before.
///
/// Runs at most once per test process (a `OnceLock`); across processes (several
/// test binaries, or `cargo test` and an editor's `cargo check`) cargo's own
/// lock on the build directory serialises the builds, and a build that finds
/// everything fresh rewrites nothing, so a binary another test is running is
/// never replaced under it. A build failure fails every e2e test with cargo's
/// output, not with a missing-file message.
///
/// `AGENT_TTY_E2E_NO_BUILD=1` skips the build (for running the e2e tests
/// against binaries built some other way, e.g. a release build copied in).
pub fn ensure_built() {
    static BUILT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let outcome = BUILT.get_or_init(|| {
        if std::env::var_os("AGENT_TTY_E2E_NO_BUILD").is_some_and(|v| v == "1") {
            return Ok(());
        }
        let dir = bin_dir();
        let profile = dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
        let target_dir = dir.parent().expect("target/<profile> has a parent");
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the e2e crate lives in <workspace>/tests");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        // The workspace's packages, the frozen compatibility fixtures (their
        // own Cargo projects, see tests/fixtures/compat-v1 and
        // tests/fixtures/session-host-v1), and the out-of-tree
        // example plugin. The example is a real `libagent_tty_plugin_*.so`, so
        // it gets a target directory of its own: beside target/debug/agent-tty
        // every test would load it.
        let example_target = example_target_dir();
        let builds: [(PathBuf, &[&str], &Path); 4] = [
            (workspace.join("Cargo.toml"), E2E_PACKAGES, target_dir),
            (
                workspace.join("tests/fixtures/compat-v1/Cargo.toml"),
                &["fixture-compat-v1-plugin", "fixture-compat-v1-host"],
                target_dir,
            ),
            (
                workspace.join("tests/fixtures/session-host-v1/Cargo.toml"),
                &["fixture-session-host-v1"],
                target_dir,
            ),
            (
                workspace.join("examples/hello-pane/Cargo.toml"),
                &["agent-tty-plugin-hello-pane"],
                &example_target,
            ),
        ];
        for (manifest, packages, target_dir) in builds {
            let mut cmd = Command::new(&cargo);
            cmd.current_dir(workspace)
                .arg("build")
                .arg("--quiet")
                .arg("--manifest-path")
                .arg(&manifest)
                .arg("--target-dir")
                .arg(target_dir);
            match profile {
                "debug" => {}
                "release" => {
                    cmd.arg("--release");
                }
                other => {
                    cmd.args(["--profile", other]);
                }
            }
            for package in packages {
                cmd.args(["-p", package]);
            }
            let out = cmd
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("could not run cargo to build the e2e binaries: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "building the e2e binaries failed ({cmd:?}):\n{}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

/// Where the out-of-tree example plugin (`examples/hello-pane`) is built:
/// `target/hello-pane-example`, so it is never beside the host under test.
/// `.ci/run` runs the example's own tests with the same directory.
pub fn example_target_dir() -> PathBuf {
    bin_dir()
        .parent()
        .expect("target/<profile> has a parent")
        .join("hello-pane-example")
}

/// The built out-of-tree example plugin (built first if needed).
pub fn out_of_tree_example() -> PathBuf {
    ensure_built();
    let profile = bin_dir();
    let profile = profile.file_name().expect("a profile directory");
    let path = example_target_dir()
        .join(profile)
        .join("libagent_tty_plugin_hello_pane.so");
    assert!(
        path.exists(),
        "{} is missing after the build",
        path.display()
    );
    path
}

/// The built `agent-tty` (built first if needed, see [`ensure_built`]).
pub fn agent_tty() -> PathBuf {
    ensure_built();
    let path = bin_dir().join("agent-tty");
    assert!(
        path.exists(),
        "{} is missing after the build",
        path.display()
    );
    path
}

/// A built plugin library by file stem, e.g. `agent_tty_plugin_sessions` or
/// `fixture_panicky_plugin` (built first if needed, see [`ensure_built`]).
pub fn plugin_lib(stem: &str) -> PathBuf {
    ensure_built();
    let path = bin_dir().join(format!("lib{stem}.so"));
    assert!(
        path.exists(),
        "{} is missing after the build",
        path.display()
    );
    path
}

/// The example plugin. It is deliberately not named `libagent_tty_plugin_*`,
/// so the host never picks it up from the directory beside the binary (it is
/// not shipped to users); tests load it through `AGENT_TTY_PLUGIN_PATH`.
pub fn example_plugin() -> PathBuf {
    plugin_lib("agent_tty_example_hello")
}

/// What a command did.
#[derive(Debug)]
pub struct Run {
    /// Exit status (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Stdout parsed as JSON (panics with the output when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}); code {}\nstdout:\n{}\nstderr:\n{}",
                self.code, self.stdout, self.stderr
            )
        })
    }

    /// The envelope's `result` of a successful `--json` run.
    pub fn result(&self) -> Value {
        let v = self.json();
        assert_eq!(
            v["ok"], true,
            "expected success, got {v:#}\nstderr: {}",
            self.stderr
        );
        v["result"].clone()
    }

    /// Asserts the exit status, showing the output on failure.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit status\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Temp directories standing in for a user's machine. Dropping it kills every
/// Session process recorded in any Home beneath it.
pub struct Sandbox {
    root: tempfile::TempDir,
    /// `XDG_CACHE_HOME`, apart from `root`: the plugin description cache is
    /// the host's, written by whichever command runs first, so tests that
    /// check a command "wrote nothing" under `root` are about the command.
    cache: tempfile::TempDir,
    extra_homes: std::cell::RefCell<Vec<PathBuf>>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// A fresh sandbox.
    pub fn new() -> Self {
        let root = tempfile::Builder::new()
            .prefix("agent-tty-e2e-")
            .tempdir()
            .expect("a temp dir");
        for d in ["user", "state", "data", "runtime", "homes"] {
            std::fs::create_dir_all(root.path().join(d)).unwrap();
        }
        let cache = tempfile::Builder::new()
            .prefix("agent-tty-e2e-cache-")
            .tempdir()
            .expect("a temp dir");
        Sandbox {
            root,
            cache,
            extra_homes: Default::default(),
        }
    }

    /// The sandbox's root.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The fake user directory (`$HOME`).
    pub fn user_dir(&self) -> PathBuf {
        self.root().join("user")
    }

    /// The default Home, `$HOME/.agent-tty`.
    pub fn default_home(&self) -> PathBuf {
        self.user_dir().join(".agent-tty")
    }

    /// A path for a named Home under the sandbox (not created).
    pub fn home(&self, name: &str) -> PathBuf {
        self.root().join("homes").join(name)
    }

    /// `XDG_STATE_HOME`.
    pub fn state_dir(&self) -> PathBuf {
        self.root().join("state")
    }

    /// `XDG_CACHE_HOME` (the plugin description cache).
    pub fn cache_dir(&self) -> PathBuf {
        self.cache.path().to_owned()
    }

    /// The Home Registry file.
    pub fn registry_file(&self) -> PathBuf {
        self.state_dir().join("agent-tty").join("homes.json")
    }

    /// Remembers a Home outside the sandbox whose Sessions must be cleaned up.
    pub fn track_home(&self, home: &Path) {
        self.extra_homes.borrow_mut().push(home.to_owned());
    }

    /// A `Command` for the built binary with the sandbox's environment.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command_for(&agent_tty(), args)
    }

    /// Like [`Sandbox::command`] for another copy of the binary.
    pub fn command_for<I, S>(&self, exe: &Path, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(exe);
        self.isolate(&mut cmd).args(args);
        cmd
    }

    /// Gives `cmd` the sandbox's environment (its `HOME`, XDG directories,
    /// no `AGENT_TTY_*` of the developer's, `SHELL=/bin/sh`, stdin closed),
    /// for a process other than the binary itself (a shell script).
    pub fn isolate<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.env_remove("AGENT_TTY_HOME")
            .env_remove("AGENT_TTY_PLUGIN_PATH")
            .env_remove("NO_COLOR")
            .env("HOME", self.user_dir())
            .env("XDG_STATE_HOME", self.state_dir())
            .env("XDG_DATA_HOME", self.root().join("data"))
            .env("XDG_CACHE_HOME", self.cache_dir())
            .env("XDG_RUNTIME_DIR", self.root().join("runtime"))
            .env("SHELL", "/bin/sh")
            .stdin(Stdio::null())
    }

    /// Runs the binary to completion.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command(args).output().expect("agent-tty runs").into()
    }

    /// Runs with `--home <home>` and `--json` prepended.
    pub fn run_in(&self, home: &Path, args: &[&str]) -> Run {
        let mut all: Vec<&OsStr> =
            vec![OsStr::new("--json"), OsStr::new("--home"), home.as_os_str()];
        all.extend(args.iter().map(OsStr::new));
        self.run(all)
    }

    fn session_dirs(&self) -> Vec<PathBuf> {
        let mut homes: Vec<PathBuf> = vec![self.default_home()];
        if let Ok(rd) = std::fs::read_dir(self.root().join("homes")) {
            homes.extend(rd.filter_map(|e| e.ok()).map(|e| e.path()));
        }
        homes.extend(self.extra_homes.borrow().iter().cloned());
        homes
            .iter()
            .filter_map(|h| std::fs::read_dir(h.join("sessions")).ok())
            .flat_map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()))
            .collect()
    }

    /// Kills every host and child process recorded under the sandbox.
    pub fn kill_all(&self) {
        for dir in self.session_dirs() {
            // Read as agent-tty reads it: tests plant FIFOs, device nodes
            // and giant sparse files there, which a plain read would wait
            // on or read until memory runs out.
            let read =
                |name: &str| agent_tty_core::safe_fs::read_home_file(&dir.join(name), 1 << 20).ok();
            let Some(m) =
                read("session.json").and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            else {
                continue;
            };
            // A host killed outright cannot remove its agent-tty 0.5
            // socket in the shared /tmp/agent-tty; do it for it.
            let sidecar = read("host.json").and_then(|b| serde_json::from_slice::<Value>(&b).ok());
            if let Some(legacy) = sidecar
                .as_ref()
                .and_then(|h| h["legacySocket"].as_str())
                .filter(|p| p.starts_with("/tmp/agent-tty/"))
            {
                let legacy = Path::new(legacy);
                let _ = std::fs::remove_file(legacy);
                if let Some(parent) = legacy.parent() {
                    let _ = std::fs::remove_dir(parent);
                }
            }
            for (key, group) in [("childPid", true), ("hostPid", false)] {
                if let Some(pid) = m[key].as_i64().filter(|p| *p > 1) {
                    // SAFETY: plain kill(2) on a pid this sandbox recorded.
                    unsafe {
                        if group {
                            libc::kill(-(pid as i32), libc::SIGKILL);
                        }
                        libc::kill(pid as i32, libc::SIGKILL);
                    }
                }
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// The Event Log records of the Session directory `dir` read so far (a line
/// still being written, or malformed, is left out).
pub fn logged_events(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Polls `check` every 10 ms until it returns `Some` or `timeout` passes.
pub fn eventually<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether process `pid` has `path` open (one of its `/proc/<pid>/fd`
/// links). A process opens a lock file only to take the lock, so a race test
/// that holds a lock knows, rather than guesses with a sleep, that the other
/// process has reached it.
pub fn has_open(pid: u32, path: &Path) -> bool {
    let want = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .any(|target| target == want)
}

/// Whether a process exists (and is not a zombie).
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|s| s.split_whitespace().next());
            state != Some("Z") && state != Some("X")
        }
        Err(_) => false,
    }
}

/// Every regular file under `dir` with its bytes, for byte-identical checks.
pub fn snapshot_tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.filter_map(|e| e.ok()) {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                if let Ok(bytes) = std::fs::read(&p) {
                    out.insert(p, bytes);
                }
            }
        }
    }
    out
}

/// Writes a Session directory with a manifest in agent-tty 0.5's format, as
/// if a host had created it: `status` as given, `hostPid` as given (use
/// [`dead_pid`] for a host that was killed). Returns the Session directory.
pub fn write_session(
    home: &Path,
    session_id: &str,
    status: &str,
    host_pid: Option<u32>,
) -> PathBuf {
    let dir = home.join("sessions").join(session_id);
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = serde_json::json!({
        "version": 1,
        "sessionId": session_id,
        "createdAt": "2026-11-24T03:50:02.677Z",
        "updatedAt": "2026-11-24T03:50:02.677Z",
        "status": status,
        "command": ["sleep", "300"],
        "cwd": "/tmp",
        "cols": 80,
        "rows": 24,
        "hostPid": host_pid,
        "childPid": null,
        "exitCode": null,
        "exitSignal": null,
    });
    let mut text = serde_json::to_string_pretty(&manifest).unwrap();
    text.push('\n');
    std::fs::write(dir.join("session.json"), text).unwrap();
    std::fs::write(
        dir.join("events.jsonl"),
        "{\"seq\":0,\"ts\":\"2026-11-24T03:50:02.700Z\",\"type\":\"output\",\"payload\":{\"data\":\"hi\\r\\n\"}}\n",
    )
    .unwrap();
    dir
}

/// The pid of a process that has exited and been reaped: a host that died.
pub fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().expect("`true` runs");
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// A Session id (a valid ULID shape) numbered `n`.
pub fn session_id(n: usize) -> String {
    format!("01JD3Z6X8K4M2N5P7Q9R{n:06}")
}

/// `create ARGS` in `home` through `sandbox` (it must succeed): the new
/// Session's id and directory.
pub fn create_session(sandbox: &Sandbox, home: &Path, args: &[&str]) -> (String, PathBuf) {
    let mut all = vec!["create"];
    all.extend(args);
    let result = sandbox.run_in(home, &all).expect_code(0).result();
    let id = result["sessionId"].as_str().unwrap().to_owned();
    let dir = home.join("sessions").join(&id);
    (id, dir)
}

/// `create ARGS -- bash --norc --noprofile` in `home` (it must succeed): a
/// bash Session without rc files, so its prompt and screen are predictable.
/// Returns its id.
pub fn bash_session(sandbox: &Sandbox, home: &Path, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend(["--", "bash", "--norc", "--noprofile"]);
    create_session(sandbox, home, &all).0
}

/// Whether an extra tool a test needs (`name`) is here, as the caller's
/// probe `found` says. Under `CI=true` it must be (`.ci/run` installs it), so
/// a missing one fails loudly; elsewhere the test skips with a message that
/// says how to `install` it.
pub fn required_under_ci(name: &str, found: bool, install: &str) -> bool {
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is required under CI=true (.ci/run installs it) but is not installed"
        );
        eprintln!("SKIPPED: {name} is not installed ({install}); set CI=true to require it");
    }
    found
}

/// A Session directory's `session.json`, parsed.
pub fn read_manifest(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("session.json")).unwrap()).unwrap()
}

/// A PID field of a manifest (`hostPid`, `childPid`).
pub fn manifest_pid(m: &Value, key: &str) -> i32 {
    m[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key} missing in {m:#}")) as i32
}

/// The second local user the security tests act as (`nobody`): they give
/// files to it, or run commands as it, when they run as root.
pub const NOBODY: u32 = 65534;

/// Whether the tests run as root, so they can act as [`NOBODY`] (tests that
/// need a second user skip with a message otherwise).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Runs `sh -c script` as [`NOBODY`] (it must succeed). Root only.
pub fn as_nobody(script: &str) {
    use std::os::unix::process::CommandExt;
    let status = Command::new("sh")
        .args(["-c", script])
        .uid(NOBODY)
        .gid(NOBODY)
        .status()
        .unwrap();
    assert!(status.success(), "as nobody: {script}");
}
