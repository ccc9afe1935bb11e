//! End-to-end tests: the Session Dashboard, driven in a real PTY the test
//! opens itself, read back through a VT emulator. Sessions are real ones
//! made with `create`, which also registers their Homes.

use agent_tty_core::home::canonical_path;
use agent_tty_e2e::pty::PtyChild;
use agent_tty_e2e::{agent_tty, create_session, example_plugin, plugin_lib, Sandbox};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// Creates a Session named `name` in `home` running a shell script; returns its id.
fn create(sandbox: &Sandbox, home: &Path, name: &str, script: &str) -> String {
    let args = [
        "--name", name, "--cols", "60", "--rows", "10", "--", "sh", "-c", script,
    ];
    create_session(sandbox, home, &args).0
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
    let cmd = sandbox.command_for(
        exe,
        ["--home".as_ref(), home.as_os_str(), "dashboard".as_ref()],
    );
    PtyChild::spawn(cmd, 120, 40)
}

/// Some Event Log in `home` holds `text`.
fn logs_say(home: &Path, text: &[u8]) -> bool {
    agent_tty_e2e::snapshot_tree(&home.join("sessions"))
        .iter()
        .any(|(p, bytes)| {
            p.ends_with("events.jsonl") && bytes.windows(text.len()).any(|w| w == text)
        })
}

/// `q` ends the dashboard with exit 0 and gives the terminal back as it was.
fn quit_cleanly(ui: &mut PtyChild) {
    ui.send(b"q");
    let status = ui.wait_exit(WAIT).expect("the dashboard quits on q");
    assert_eq!(status.code(), Some(0));
    // The last bytes it wrote may still be on their way through the PTY.
    ui.wait_for(WAIT, |s| !s.alternate_screen())
        .expect("the alternate screen was left");
    assert!(ui.terminal_restored(), "raw mode was turned off");
}

#[test]
fn browse_homes_switch_to_b_follow_its_output_and_quit_cleanly() {
    let sandbox = Sandbox::new();
    let (a, b) = (sandbox.home("a"), sandbox.home("b"));
    let go = sandbox.root().join("go");
    let id_a = create(&sandbox, &a, "alpha", "echo hello from A; exec sleep 300");
    let script_b = format!(
        "echo hello from B; while [ ! -e '{}' ]; do sleep 0.05; done; echo live line from B; exec sleep 300",
        go.display()
    );
    let id_b = create(&sandbox, &b, "beta", &script_b);
    agent_tty_e2e::eventually(WAIT, || {
        (logs_say(&a, b"hello") && logs_say(&b, b"hello")).then_some(())
    })
    .expect("both Sessions print their greeting");
    let before = state_files(&sandbox, &[&a, &b]);

    let mut ui = dashboard(&sandbox, &agent_tty(), &a);
    ui.expect_text(&id_a, WAIT);
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
    ui.expect_text(&id_b, WAIT);
    ui.expect_text("hello from B", WAIT);
    assert_eq!(
        state_files(&sandbox, &[&a, &b]),
        before,
        "entering a Home whose Sessions are alive changed a file"
    );
    std::fs::write(&go, "").unwrap();
    ui.expect_text("live line from B", WAIT);

    quit_cleanly(&mut ui);
}

/// Every entry under the Homes (directories too) with its modification
/// time, mode and, for files, its bytes: what "nothing was written" means.
fn tree_with_mtimes(homes: &[&Path]) -> BTreeMap<PathBuf, (u128, u32, Vec<u8>)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack: Vec<PathBuf> = homes.iter().map(|h| h.to_path_buf()).collect();
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let bytes = if meta.is_file() {
            std::fs::read(&p).unwrap_or_default()
        } else {
            Vec::new()
        };
        if meta.is_dir() {
            for e in std::fs::read_dir(&p).unwrap().flatten() {
                stack.push(e.path());
            }
        }
        out.insert(p, (mtime, meta.mode(), bytes));
    }
    out
}

/// Waits until the Homes stop changing (the Sessions printed their output
/// and went to sleep) and returns their tree.
fn quiet_tree(homes: &[&Path]) -> BTreeMap<PathBuf, (u128, u32, Vec<u8>)> {
    agent_tty_e2e::eventually(WAIT, || {
        let first = tree_with_mtimes(homes);
        std::thread::sleep(Duration::from_millis(300));
        (tree_with_mtimes(homes) == first).then_some(first)
    })
    .expect("the Homes settle")
}

#[test]
fn overview_history_picker_help_and_quit_write_nothing_to_any_home() {
    let sandbox = Sandbox::new();
    let (a, b) = (sandbox.home("a"), sandbox.home("b"));
    let id_alpha = create(
        &sandbox,
        &a,
        "alpha",
        "i=1; while [ $i -le 100 ]; do echo history line $i; i=$((i+1)); done; exec sleep 300",
    );
    let id_gamma = create(&sandbox, &a, "gamma", "echo hello gamma; exec sleep 300");
    let id_beta = create(&sandbox, &b, "beta", "echo hello from B; exec sleep 300");
    agent_tty_e2e::eventually(WAIT, || {
        (logs_say(&a, b"history line 100")
            && logs_say(&a, b"hello gamma")
            && logs_say(&b, b"hello from B"))
        .then_some(())
    })
    .expect("the Sessions print");
    let before = quiet_tree(&[&a, &b]);
    let registry_before = std::fs::read(sandbox.registry_file()).unwrap();

    let mut ui = dashboard(&sandbox, &agent_tty(), &a);
    ui.expect_text(&id_gamma, WAIT);
    ui.expect_text("hello gamma", WAIT);

    // The overview: both Sessions as tiles; Enter opens the other one.
    ui.send(b"z");
    ui.expect_text("z back", WAIT);
    ui.expect_text("alpha · running", WAIT);
    ui.expect_text("gamma · running", WAIT);
    ui.send(b"l\r");
    ui.expect_text("Live View · alpha", WAIT);
    ui.expect_text("history line 100", WAIT);
    ui.expect_text("following", WAIT);

    // History: PgUp pauses on an older page.
    ui.send(b"\x1b[5~");
    ui.expect_text("paused at line", WAIT);
    ui.expect_text("G live", WAIT);

    // The picker: filter to B, preview it, enter it.
    ui.send(b"H");
    ui.expect_text("Active Homes (2)", WAIT);
    ui.send(b"/homes/b");
    ui.expect_text("Active Homes (1)", WAIT);
    ui.expect_text("Sessions in …/homes/b", WAIT);
    ui.expect_text("beta", WAIT);
    ui.send(b"\r");
    ui.expect_text(&id_beta, WAIT);
    ui.expect_text("hello from B", WAIT);

    // Help, then quit from it.
    ui.send(b"?");
    ui.expect_text("close help", WAIT);
    quit_cleanly(&mut ui);

    assert_eq!(
        tree_with_mtimes(&[&a, &b]),
        before,
        "the dashboard wrote to a Home"
    );
    assert_eq!(
        std::fs::read(sandbox.registry_file()).unwrap(),
        registry_before,
        "the dashboard wrote to the Home Registry"
    );
    assert!(!id_alpha.is_empty());
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
    let stem = "agent_tty_plugin_sessions";
    std::fs::copy(plugin_lib(stem), lonely.join(format!("lib{stem}.so"))).unwrap();
    // The example plugin is never beside a binary; named on the plugin path.
    std::fs::copy(example_plugin(), lonely.join("hello.so")).unwrap();
    let home = sandbox.home("a");
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = sandbox.command_for(
        &exe,
        ["--home".as_ref(), home.as_os_str(), "dashboard".as_ref()],
    );
    cmd.env("AGENT_TTY_PLUGIN_PATH", lonely.join("hello.so"));
    let mut ui = PtyChild::spawn(cmd, 120, 40);
    ui.expect_text("E Hello", WAIT);
    ui.send(b"H");
    ui.expect_text("Home picker (dashboard-home-picker) not installed", WAIT);
    ui.send(b"E");
    ui.expect_text("Hello from the example plugin!", WAIT);
    ui.send(b"\x1b");
    ui.expect_text("E Hello", WAIT);
    ui.send(b"q");
    assert_eq!(ui.wait_exit(WAIT).and_then(|s| s.code()), Some(0));
}

/// The row of the Session list that shows `id`.
fn row_of(ui: &PtyChild, id: &str) -> String {
    ui.screen()
        .lines()
        .find(|l| l.contains(id))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_session_that_ends_while_selected_reads_ended_in_its_row_and_the_count() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("a");
    let id = agent_tty_e2e::bash_session(&sandbox, &home, &["--name", "ender"]);
    let mut ui = dashboard(&sandbox, &agent_tty(), &home);
    ui.expect_text("1 Active Session", WAIT);
    ui.wait_for(WAIT, |s| {
        s.contents().contains(&id) && s.contents().contains("running")
    })
    .expect("the row says running");

    sandbox
        .run_in(&home, &["run", &id, "echo bye; exit 7"])
        .expect_code(0);
    ui.expect_text("exited (7)", WAIT);
    // Not only the Live View: the list row and the count agree with it.
    ui.wait_for(WAIT, |s| {
        s.contents()
            .lines()
            .any(|l| l.contains(&id) && l.contains("exited (7)"))
            && s.contents().contains("0 Active Sessions")
    })
    .unwrap_or_else(|| panic!("the row or the count is stale:\n{}", ui.screen()));
    assert!(!row_of(&ui, &id).contains("running"), "{}", ui.screen());
    // Destroyed, then collected: the row follows, and never says running.
    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
    ui.wait_for(WAIT, |s| {
        s.contents()
            .lines()
            .any(|l| l.contains(&id) && l.contains("destroyed"))
    })
    .unwrap_or_else(|| panic!("the row missed the destroy:\n{}", ui.screen()));
    sandbox.run_in(&home, &["gc"]).expect_code(0);
    ui.expect_text("Event Log collected", WAIT);
    assert!(!row_of(&ui, &id).contains("running"), "{}", ui.screen());
    assert!(ui.screen().contains("0 Active Sessions"), "{}", ui.screen());
    quit_cleanly(&mut ui);
}
