//! `doctor`: 0.5's result shape (checks grouped as environment / renderer,
//! and the capabilities), exit 1 with a successful envelope when one fails,
//! and nothing left behind.

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
    // 0.5's keys, which its scripts read whole.
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&result), ["ok", "checks", "capabilities"]);
    assert_eq!(keys(&result["checks"]), ["environment", "renderer"]);
    let version = sandbox.run(["--json", "version"]).result();
    assert_eq!(result["capabilities"], version["capabilities"]);
    let names: Vec<String> = statuses(&result).into_iter().map(|(n, _)| n).collect();
    for name in [
        "home-writable",
        "state-dir-writable",
        "registry-lock",
        "pty-spawn",
        "socket-viable",
        "plugins-loaded",
        "terminal-engine",
        "fallback-fonts",
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
    assert!(lines.contains(&"Renderer:"), "{}", human.stdout);
    assert!(lines.contains(&""), "blank line between groups");
    // The text names every check exactly as the JSON does.
    for (name, _) in statuses(&result) {
        assert!(
            lines.iter().any(|l| l.starts_with(&format!("  ✓ {name}: "))
                || l.starts_with(&format!("  ○ {name}: "))),
            "{name} not in the text:\n{}",
            human.stdout
        );
    }
}

/// A copy of the binary beside only the plugins named.
fn lonely_binary(sandbox: &Sandbox, plugins: &[&str]) -> std::path::PathBuf {
    let lonely = sandbox.root().join("lonely");
    std::fs::create_dir(&lonely).unwrap();
    let exe = lonely.join("agent-tty");
    std::fs::copy(agent_tty_e2e::agent_tty(), &exe).unwrap();
    for stem in plugins {
        let lib = format!("lib{stem}.so");
        std::fs::copy(agent_tty_e2e::plugin_lib(stem), lonely.join(lib)).unwrap();
    }
    exe
}

#[test]
fn with_no_plugins_doctor_says_which_are_missing_and_help_points_at_no_skill() {
    let sandbox = Sandbox::new();
    let exe = lonely_binary(&sandbox, &[]);
    let run: agent_tty_e2e::Run = sandbox
        .command_for(&exe, ["--json", "doctor"])
        .output()
        .unwrap()
        .into();
    run.expect_code(1);
    let result = run.result();
    assert_eq!(result["ok"], false);
    let checks = statuses(&result);
    assert!(
        checks.contains(&("sessions-plugin".into(), "fail".into()))
            && checks.contains(&("plugins-loaded".into(), "fail".into())),
        "{result:#}"
    );
    let missing: Vec<&str> = result["checks"]["environment"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "plugin-missing")
        .map(|c| c["message"].as_str().unwrap())
        .collect();
    // Every shipped plugin that serves commands is named (as the plugins
    // describe themselves beside a host that has them all).
    let with_commands = super::lists::shipped_with_commands(&Sandbox::new());
    assert!(with_commands.contains("sessions"), "{with_commands:?}");
    for plugin in &with_commands {
        assert!(
            missing
                .iter()
                .any(|m| m.contains(&format!("the {plugin} plugin is not installed"))),
            "{plugin}: {missing:?}"
        );
    }

    let help: agent_tty_e2e::Run = sandbox
        .command_for(&exe, ["--help"])
        .output()
        .unwrap()
        .into();
    help.expect_code(0);
    assert!(!help.stdout.contains("skill"), "{}", help.stdout);
    assert!(help.stdout.contains("doctor"), "{}", help.stdout);
}

#[test]
fn help_points_at_the_skills_when_the_skills_plugin_serves_them() {
    let sandbox = Sandbox::new();
    let help = sandbox.run(["--help"]);
    help.expect_code(0);
    assert!(
        help.stdout.contains("agent-tty skills get agent-tty"),
        "{}",
        help.stdout
    );
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
