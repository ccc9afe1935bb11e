//! The out-of-tree example plugin (examples/hello-pane), installed the way its
//! docs say, into the user's plugin directory, adds its command and its pane.

use agent_tty_e2e::pty::PtyChild;
use agent_tty_e2e::{out_of_tree_example, Sandbox};
use std::time::Duration;

fn install(sandbox: &Sandbox) {
    let dir = sandbox.root().join("data/agent-tty/plugins");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        out_of_tree_example(),
        dir.join("libagent_tty_plugin_hello_pane.so"),
    )
    .unwrap();
}

#[test]
fn the_out_of_tree_example_installs_and_adds_its_command() {
    let sandbox = Sandbox::new();
    install(&sandbox);
    let run = sandbox.run(["--json", "greet", "Ada", "--times", "2"]);
    run.expect_code(0);
    assert_eq!(
        run.result()["greeting"],
        serde_json::json!(["Greetings, Ada!", "Greetings, Ada!"])
    );
    let bad = sandbox.run(["--json", "greet", "--times", "9"]);
    bad.expect_code(2);
    let help = sandbox.run(["--help"]);
    assert!(help.stdout.contains("greet"), "{}", help.stdout);
}

#[test]
fn the_out_of_tree_example_adds_its_pane_to_the_dashboard() {
    let sandbox = Sandbox::new();
    install(&sandbox);
    let home = sandbox.home("a");
    std::fs::create_dir_all(&home).unwrap();
    let cmd = sandbox.command(["--home".as_ref(), home.as_os_str(), "dashboard".as_ref()]);
    let mut ui = PtyChild::spawn(cmd, 120, 40);
    let wait = Duration::from_secs(20);
    // The main view is up (the footer may be too narrow to list every pane).
    ui.expect_text("Live View", wait);
    ui.send(b"Y");
    ui.expect_text("Greetings from an out-of-tree plugin!", wait);
    ui.send(b" ");
    ui.expect_text("Space pressed 1 times", wait);
    ui.send(b"\x1b");
    // Closed: wait for the pane to go, so `q` is not read as Alt+q.
    ui.wait_for(wait, |s| !s.contents().contains("Greetings from"))
        .expect("Esc closes the pane");
    ui.send(b"q");
    assert_eq!(ui.wait_exit(wait).and_then(|s| s.code()), Some(0));
}
