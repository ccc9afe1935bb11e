//! End-to-end tests: the Session Dashboard, driven in a real PTY the test
//! opens itself, read back through a VT emulator.
//!
//! Sessions are written as agent-tty 0.5-format files (manifest + Event Log)
//! with a live process standing in for each Session's host, and both Homes
//! are entered in the Home Registry the way `create` leaves them.

use agent_tty_core::event_log::{EventBody, EventLogWriter};
use agent_tty_core::home::canonical_path;
use agent_tty_core::manifest::{write_manifest, Manifest, Status};
use agent_tty_e2e::pty::PtyChild;
use agent_tty_e2e::{agent_tty, plugin_lib, Sandbox};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);
const SA: &str = "01JDAAAAAAAAAAAAAAAAAAAAAA";
const SB: &str = "01JDBBBBBBBBBBBBBBBBBBBBBB";

/// A stand-in Session host: a live process whose pid the manifest records,
/// so reconcile finds the Session alive. Killed on drop.
struct FakeHost(Child);

impl Drop for FakeHost {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Writes a running Session with some output into `home`.
fn running_session(home: &Path, id: &str, name: &str, output: &str) -> (FakeHost, EventLogWriter) {
    let host = FakeHost(Command::new("sleep").arg("600").spawn().unwrap());
    let dir = home.join("sessions").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let now = agent_tty_core::time::now_iso();
    write_manifest(
        &dir,
        &Manifest {
            version: 1,
            session_id: id.into(),
            created_at: now.clone(),
            updated_at: now,
            status: Status::Running,
            failure_reason: None,
            failure_origin: None,
            command: vec!["sh".into()],
            cwd: "/".into(),
            name: Some(name.into()),
            shell: None,
            term: None,
            env: None,
            cols: 60,
            rows: 10,
            creation_cols: Some(60),
            creation_rows: Some(10),
            idle_timeout_ms: None,
            host_pid: Some(host.0.id()),
            child_pid: None,
            exit_code: None,
            exit_signal: None,
        },
    )
    .unwrap();
    let mut log = EventLogWriter::open(&dir).unwrap();
    log.append(EventBody::Output {
        data: format!("{output}\r\n"),
    })
    .unwrap();
    (host, log)
}

/// Registers Homes in the sandbox's Home Registry (0.5 format).
fn register(sandbox: &Sandbox, homes: &[&Path]) {
    let now = agent_tty_core::time::now_iso();
    let entries: Vec<_> = homes
        .iter()
        .map(|h| serde_json::json!({"path": canonical_path(h), "lastSeenAt": now}))
        .collect();
    let file = sandbox.registry_file();
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let text = serde_json::to_string_pretty(&serde_json::json!({"version": 1, "homes": entries}));
    std::fs::write(file, text.unwrap() + "\n").unwrap();
}

/// Every manifest under the Homes plus the registry file, with their bytes.
fn state_files(sandbox: &Sandbox, homes: &[&Path]) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files: BTreeMap<PathBuf, Vec<u8>> = homes
        .iter()
        .flat_map(|h| agent_tty_e2e::snapshot_tree(h))
        .filter(|(p, _)| p.ends_with("session.json"))
        .collect();
    files.insert(
        sandbox.registry_file(),
        std::fs::read(sandbox.registry_file()).unwrap(),
    );
    files
}

fn dashboard(sandbox: &Sandbox, exe: &Path, home: &Path) -> PtyChild {
    let mut cmd = sandbox.command_for(
        exe,
        ["--home".as_ref(), home.as_os_str(), "dashboard".as_ref()],
    );
    cmd.env_remove("TERM");
    PtyChild::spawn(cmd, 120, 40)
}

#[test]
fn browse_homes_switch_to_b_follow_its_output_and_quit_cleanly() {
    let sandbox = Sandbox::new();
    let (a, b) = (sandbox.home("a"), sandbox.home("b"));
    let _ha = running_session(&a, SA, "alpha", "hello from A");
    let (_hb, mut log_b) = running_session(&b, SB, "beta", "hello from B");
    register(&sandbox, &[&b, &a]);
    let before = state_files(&sandbox, &[&a, &b]);

    let mut ui = dashboard(&sandbox, &agent_tty(), &a);
    ui.expect_text(SA, WAIT);
    ui.expect_text("hello from A", WAIT);
    assert!(ui.alternate_screen());

    ui.send(b"H");
    ui.expect_text("Active Homes (2)", WAIT);
    ui.expect_text("…/homes/a", WAIT);
    ui.expect_text("…/homes/b", WAIT);
    // Browse: widen and narrow the scope, move around, filter.
    ui.send(b"a");
    ui.expect_text("all Homes (2)", WAIT);
    ui.send(b"a");
    ui.expect_text("Active Homes (2)", WAIT);
    ui.send(b"jk");
    ui.send(b"/homes/b");
    ui.expect_text("Active Homes (1)", WAIT);
    assert_eq!(
        state_files(&sandbox, &[&a, &b]),
        before,
        "browsing wrote something"
    );

    ui.send(b"\r");
    ui.expect_text(&format!("Home {}", canonical_path(&b).display()), WAIT);
    ui.expect_text(SB, WAIT);
    ui.expect_text("hello from B", WAIT);
    log_b
        .append(EventBody::Output {
            data: "live line from B".into(),
        })
        .unwrap();
    ui.expect_text("live line from B", WAIT);
    assert_eq!(
        state_files(&sandbox, &[&a, &b]),
        before,
        "entering a Home whose Sessions are alive changed a file"
    );

    ui.send(b"q");
    let status = ui.wait_exit(WAIT).expect("the dashboard quits on q");
    assert_eq!(status.code(), Some(0));
    assert!(!ui.alternate_screen(), "the alternate screen was left");
    assert!(ui.terminal_restored(), "raw mode was turned off");
}

#[test]
fn sigterm_restores_the_terminal() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("a");
    std::fs::create_dir_all(&home).unwrap();
    let mut ui = dashboard(&sandbox, &agent_tty(), &home);
    ui.expect_text("read-only", WAIT);
    ui.signal(libc::SIGTERM);
    let status = ui.wait_exit(WAIT).expect("the dashboard ends on SIGTERM");
    assert_eq!(status.code(), Some(128 + libc::SIGTERM));
    assert!(!ui.alternate_screen());
    assert!(ui.terminal_restored());
}

#[test]
fn without_a_terminal_it_points_to_the_json_commands() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(["--json", "dashboard"]);
    run.expect_code(2);
    let message = run.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("list --json") && message.contains("home list --json"),
        "{message}"
    );
    let human = sandbox.run(["dashboard"]);
    human.expect_code(2);
    assert!(
        human.stderr.contains("needs a terminal"),
        "{}",
        human.stderr
    );
}

#[test]
fn without_the_picker_plugin_h_says_so_and_plugin_panes_still_open() {
    let sandbox = Sandbox::new();
    let lonely = sandbox.root().join("lonely");
    std::fs::create_dir(&lonely).unwrap();
    let exe = lonely.join("agent-tty");
    std::fs::copy(agent_tty(), &exe).unwrap();
    for stem in [
        "agent_tty_plugin_sessions",
        "agent_tty_plugin_example_hello",
    ] {
        std::fs::copy(plugin_lib(stem), lonely.join(format!("lib{stem}.so"))).unwrap();
    }
    let home = sandbox.home("a");
    std::fs::create_dir_all(&home).unwrap();
    let mut ui = dashboard(&sandbox, &exe, &home);
    ui.expect_text("E Hello", WAIT);
    ui.send(b"H");
    ui.expect_text(
        "Home picker plugin (dashboard-home-picker) is not installed",
        WAIT,
    );
    ui.send(b"E");
    ui.expect_text("Hello from the example plugin!", WAIT);
    ui.send(b"\x1b");
    ui.expect_text("E Hello", WAIT);
    ui.send(b"q");
    assert_eq!(ui.wait_exit(WAIT).and_then(|s| s.code()), Some(0));
}
