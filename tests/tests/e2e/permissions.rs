//! Side-effecting capabilities are gated by declared permissions.

use agent_tty_e2e::{dead_pid, plugin_lib, session_id, write_session, Run, Sandbox};

fn tidy(sandbox: &Sandbox, home: &std::path::Path, args: &[&str], declared: bool) -> Run {
    let mut all = vec!["--json", "--home", home.to_str().unwrap(), "tidy"];
    all.extend(args);
    let mut cmd = sandbox.command(all);
    // Two builds of one fixture: the library, not the environment, decides
    // what the plugin declares (its description is cached per file).
    let lib = if declared {
        "fixture_tidy_plugin"
    } else {
        "fixture_tidy_undeclared_plugin"
    };
    cmd.env("AGENT_TTY_PLUGIN_PATH", plugin_lib(lib));
    cmd.output().unwrap().into()
}

#[test]
fn an_undeclared_reconcile_is_refused_and_changes_nothing() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let dir = write_session(&home, &session_id(1), "running", Some(dead_pid()));
    let before = std::fs::read(dir.join("session.json")).unwrap();

    let run = tidy(&sandbox, &home, &[], false);
    run.expect_code(1);
    let error = &run.json()["error"];
    assert_eq!(error["code"], "PERMISSION_DENIED", "{}", run.stdout);
    assert_eq!(error["details"]["permission"], "sessions.reconcile");
    assert_eq!(std::fs::read(dir.join("session.json")).unwrap(), before);

    // The read-only listing needs no permission.
    tidy(&sandbox, &home, &["--dry"], false).expect_code(0);
}

#[test]
fn a_declared_reconcile_runs() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let dir = write_session(&home, &session_id(1), "running", Some(dead_pid()));
    let before = std::fs::read(dir.join("session.json")).unwrap();
    let run = tidy(&sandbox, &home, &[], true);
    run.expect_code(0);
    assert_ne!(
        std::fs::read(dir.join("session.json")).unwrap(),
        before,
        "reconciled"
    );
}

#[test]
fn plugins_json_shows_what_each_plugin_may_do() {
    let sandbox = Sandbox::new();
    let mut cmd = sandbox.command(["plugins", "--json"]);
    cmd.env("AGENT_TTY_PLUGIN_PATH", plugin_lib("fixture_tidy_plugin"));
    let run: Run = cmd.output().unwrap().into();
    let rows = run.result()["plugins"].as_array().unwrap().clone();
    let row = |name: &str| rows.iter().find(|r| r["name"] == name).unwrap().clone();
    assert_eq!(
        row("tidy")["permissions"],
        serde_json::json!(["sessions.reconcile"])
    );
    assert_eq!(row("registry")["permissions"], serde_json::json!([]));
    let effects = row("sessions")["effects"].clone();
    assert_eq!(effects[0]["capability"], "sessions.list");
    assert_eq!(effects[0]["whenArg"], "reconcile");
    assert_eq!(effects[0]["permission"], "sessions.reconcile");
}
