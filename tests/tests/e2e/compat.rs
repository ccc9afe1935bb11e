//! Compatibility across interface releases: a plugin built against the frozen
//! plugin-api of interface release 1 (tests/fixtures/compat-v1) loads and runs
//! under today's host, beside today's plugins.

use agent_tty_e2e::{bin_dir, example_plugin, plugin_lib, Run, Sandbox};

fn with_compat(sandbox: &Sandbox, args: &[&str]) -> Run {
    let mut cmd = sandbox.command(args);
    cmd.env(
        "AGENT_TTY_PLUGIN_PATH",
        plugin_lib("fixture_compat_v1_plugin"),
    );
    cmd.output().unwrap().into()
}

#[test]
fn a_plugin_built_against_interface_release_1_loads_and_runs() {
    let sandbox = Sandbox::new();
    let rows = with_compat(&sandbox, &["plugins", "--json"]).result()["plugins"].clone();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "compat-v1")
        .unwrap_or_else(|| panic!("compat-v1 not listed: {rows:#}"));
    assert_eq!(row["status"], "loaded", "{row:#}");
    assert_eq!(row["interfaceVersion"], 1);

    let run = with_compat(&sandbox, &["--json", "compat-v1", "hi"]);
    run.expect_code(0);
    assert_eq!(run.result()["echo"], "hi");
    let human = with_compat(&sandbox, &["compat-v1"]);
    assert_eq!(human.stdout, "compat-v1 says v1\n");
}

#[test]
fn an_old_plugin_calls_todays_capabilities_and_sees_todays_events() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let home_arg = home.to_str().unwrap();
    // A command of today's sessions plugin announces sessionCreated to every
    // plugin, the old one included: it must not turn into a warning.
    let created = with_compat(
        &sandbox,
        &["--json", "--home", home_arg, "create", "--", "sleep", "300"],
    );
    created.expect_code(0);
    assert_eq!(
        created.stderr, "",
        "an old plugin warned on a new host's event"
    );
    let run = with_compat(
        &sandbox,
        &[
            "--json",
            "--home",
            home_arg,
            "compat-v1",
            "--count-sessions",
        ],
    );
    run.expect_code(0);
    assert_eq!(run.result()["sessions"], 1);
}

/// Today's plugins under a host of interface release 1 (the frozen loader,
/// which knows fewer requests and none of today's description fields).
#[test]
fn todays_plugins_run_under_a_host_of_interface_release_1() {
    let old_host = |library: &std::path::Path, command: &[&str]| -> Run {
        std::process::Command::new(bin_dir().join("compat-v1-host"))
            .arg(library)
            .args(command)
            .output()
            .expect("the old host runs")
            .into()
    };
    let run = old_host(&example_plugin(), &["hello"]);
    run.expect_code(0);
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["name"], "example-hello");
    assert_eq!(lines[0]["description"]["commands"][0]["path"][0], "hello");
    assert_eq!(
        lines[1]["result"]["greeting"], "Hello, world!",
        "{}",
        run.stdout
    );

    // A product plugin describes itself to the old host too.
    let sessions = old_host(&plugin_lib("agent_tty_plugin_sessions"), &[]);
    sessions.expect_code(0);
    assert!(
        sessions.stdout.contains("\"create\""),
        "{}",
        sessions.stdout
    );
}
