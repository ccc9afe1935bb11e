//! `doctor`: checks grouped as environment / plugins / terminal, exit 1 with
//! a successful envelope when one fails, and nothing left behind.

use agent_tty_e2e::{snapshot_tree, Sandbox};
use rstest::rstest;
use serde_json::Value;

fn statuses(result: &Value) -> Vec<(String, String)> {
    result["checks"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|g| g.as_array().unwrap().clone())
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_healthy_machine_passes_and_doctor_leaves_nothing_behind() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let before = snapshot_tree(sandbox.root());
    let out = sandbox.run_in(&home, &["doctor"]);
    out.expect_code(0);
    let result = out.result();
    assert_eq!(result["ok"], true);
    let groups: Vec<&String> = result["checks"].as_object().unwrap().keys().collect();
    assert_eq!(groups, ["environment", "plugins", "terminal"]);
    let names: Vec<String> = statuses(&result).into_iter().map(|(n, _)| n).collect();
    for name in [
        "home-writable",
        "state-dir-writable",
        "registry-lock",
        "pty-spawn",
        "socket-viable",
        "plugins-loaded",
        "terminal-engine",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} missing: {names:?}");
    }
    assert!(
        statuses(&result).iter().all(|(_, s)| s != "fail"),
        "{result:#}"
    );
    assert_eq!(
        snapshot_tree(sandbox.root()),
        before,
        "doctor changed files"
    );
    assert!(!home.exists(), "doctor created the Home");

    let human = sandbox.run(["--home", home.to_str().unwrap(), "doctor"]);
    human.expect_code(0);
    let lines: Vec<&str> = human.stdout.lines().collect();
    assert_eq!(lines[0], "Environment:");
    assert!(
        lines.iter().any(|l| l.starts_with("  ✓ pty: ")),
        "{}",
        human.stdout
    );
    assert!(lines.contains(&"Plugins:") && lines.contains(&"Terminal:"));
    assert!(lines.contains(&""), "blank line between groups");
}

#[derive(Debug, Clone, Copy)]
enum Breakage {
    /// A plugin library that cannot be loaded.
    RefusedPlugin,
    /// The state directory lies under a regular file.
    StateDirUnderAFile,
}

#[rstest]
#[case(Breakage::RefusedPlugin, "plugin-refused")]
#[case(Breakage::StateDirUnderAFile, "state-dir-writable")]
fn a_failing_check_exits_1_with_a_successful_envelope(
    #[case] breakage: Breakage,
    #[case] failing: &str,
) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let mut cmd = sandbox.command(["--json", "--home", home.to_str().unwrap(), "doctor"]);
    match breakage {
        Breakage::RefusedPlugin => {
            let dir = sandbox.root().join("plugins");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("libagent_tty_plugin_broken.so"), b"not a library").unwrap();
            cmd.env("AGENT_TTY_PLUGIN_PATH", &dir);
        }
        Breakage::StateDirUnderAFile => {
            let file = sandbox.root().join("a-file");
            std::fs::write(&file, "").unwrap();
            cmd.env("XDG_STATE_HOME", file.join("state"));
        }
    }
    let out: agent_tty_e2e::Run = cmd.output().unwrap().into();
    out.expect_code(1);
    let envelope = out.json();
    assert_eq!(envelope["ok"], true);
    assert_eq!(envelope["result"]["ok"], false);
    let failed: Vec<String> = statuses(&envelope["result"])
        .into_iter()
        .filter(|(_, s)| s == "fail")
        .map(|(n, _)| n)
        .collect();
    assert_eq!(failed, [failing], "{envelope:#}");
}
