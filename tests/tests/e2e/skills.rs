//! `skills list|get|path`, and the bundled `agent-tty` skill followed
//! literally: its `bash` code blocks, run as one script against a temp Home,
//! complete the create → run → wait → snapshot → destroy loop.

use agent_tty_e2e::{bin_dir, Sandbox};
use serde_json::Value;

#[test]
fn skills_are_listed_printed_and_installed() {
    let sandbox = Sandbox::new();
    let list = sandbox
        .run(["skills", "list", "--json"])
        .expect_code(0)
        .result();
    assert_eq!(list["skills"][0]["name"], "agent-tty");
    assert_eq!(list["skills"][0]["source"], "bundled");
    let human = sandbox.run(["skills", "list"]);
    assert!(
        human.stdout.starts_with("agent-tty  Drive real"),
        "{}",
        human.stdout
    );

    let get = sandbox.run(["skills", "get", "agent-tty"]);
    get.expect_code(0);
    assert!(get.stdout.starts_with("---\nname: agent-tty\n"));
    let got = sandbox
        .run(["skills", "get", "agent-tty", "--json"])
        .expect_code(0)
        .result();
    assert_eq!(got["content"].as_str().unwrap(), get.stdout);
    let file = std::path::PathBuf::from(got["path"].as_str().unwrap());
    assert!(file.starts_with(sandbox.root().join("data")), "{file:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), get.stdout);

    let path = sandbox.run(["skills", "path", "agent-tty"]);
    path.expect_code(0);
    assert_eq!(
        path.stdout.trim_end(),
        file.parent().unwrap().to_str().unwrap()
    );

    let missing = sandbox.run(["skills", "get", "nope", "--json"]);
    missing.expect_code(1);
    let error = &missing.json()["error"];
    assert_eq!(error["code"], "SKILL_NOT_FOUND");
    assert_eq!(error["details"]["name"], "nope");
}

/// The `bash` code blocks of a Markdown document, in order.
fn bash_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```bash") => current = Some(String::new()),
            (Some(_), l) if l.starts_with("```") => blocks.push(current.take().unwrap()),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn the_agent_tty_skill_followed_literally_completes_the_loop() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("skill");
    let skill = sandbox.run(["skills", "get", "agent-tty"]);
    skill.expect_code(0);
    let blocks = bash_blocks(&skill.stdout);
    assert!(!blocks.is_empty(), "the skill has runnable examples");
    let script = blocks.join("\n");
    for step in [
        "agent-tty create",
        "agent-tty run",
        "agent-tty wait",
        "agent-tty snapshot",
        "agent-tty destroy",
    ] {
        assert!(script.contains(step), "the loop has `{step}`");
    }
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out: agent_tty_e2e::Run = sandbox
        .isolate(&mut std::process::Command::new("bash"))
        .args(["-euo", "pipefail", "-c", &script])
        .env("PATH", path)
        .env("AGENT_TTY_HOME", &home)
        .output()
        .expect("bash runs")
        .into();
    out.expect_code(0);
    // The envelopes the script printed, in order: run, wait, snapshot, destroy.
    let envelopes: Vec<Value> = serde_json::Deserializer::from_str(
        out.stdout.split_once('\n').map_or("", |(_, rest)| rest),
    )
    .into_iter::<Value>()
    .collect::<Result<_, _>>()
    .unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    let commands: Vec<&str> = envelopes
        .iter()
        .map(|e| e["command"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        commands,
        ["run", "wait", "snapshot", "destroy"],
        "{}",
        out.stdout
    );
    assert!(envelopes.iter().all(|e| e["ok"] == true));
    assert_eq!(envelopes[0]["result"]["completed"], true);
    assert!(envelopes[2]["result"]["text"]
        .as_str()
        .unwrap()
        .contains("build-42"));
    // Nothing keeps running: the Session was destroyed.
    let list = sandbox.run_in(&home, &["list", "--all"]).result();
    assert_eq!(list["sessions"][0]["status"], "destroyed");
}

/// The `dogfood-tui` skill followed literally, against a small menu program
/// standing in for the user's TUI (`./my-tui` in the working directory, as
/// the skill names it): every step succeeds, the evidence is kept, and the
/// Session ends destroyed.
#[test]
fn the_dogfood_tui_skill_followed_literally_keeps_its_evidence() {
    let sandbox = Sandbox::new();
    let work = sandbox.root().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let home = work.join(".agent-tty");
    sandbox.track_home(&home);
    let tui = work.join("my-tui");
    std::fs::write(
        &tui,
        "#!/bin/bash\n\
         printf '\\033[?1049h\\033[H\\033[2JMain menu\\r\\n> Start\\r\\n  Settings\\r\\n'\n\
         while IFS= read -rsn1 k; do\n\
           case \"$k\" in\n\
             '') printf '\\033[2J\\033[HSettings\\r\\n' ;;\n\
             q) break ;;\n\
           esac\n\
         done\n\
         printf '\\033[?1049l'\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tui, std::fs::Permissions::from_mode(0o755)).unwrap();

    let skill = sandbox.run(["skills", "get", "dogfood-tui"]);
    skill.expect_code(0);
    let script = bash_blocks(&skill.stdout).join("\n");
    for step in [
        "--no-wait",
        "send-keys",
        "wait",
        "snapshot",
        "screenshot",
        "record export",
        "destroy",
    ] {
        assert!(script.contains(step), "the skill shows `{step}`");
    }
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out: agent_tty_e2e::Run = sandbox
        .isolate(&mut std::process::Command::new("bash"))
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(&work)
        .env("PATH", path)
        .output()
        .expect("bash runs")
        .into();
    out.expect_code(0);
    assert!(
        out.stdout.contains("\"command\": \"screenshot\""),
        "{}",
        out.stdout
    );
    assert!(work.join("dogfood.cast").is_file(), "the recording is kept");
    let list = sandbox.run_in(&home, &["list", "--all"]).result();
    assert_eq!(list["sessions"][0]["status"], "destroyed", "{list:#}");
}
