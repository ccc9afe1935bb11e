//! End-to-end tests of the plugin host and CLI contract.

use agent_tty_e2e::{agent_tty, example_plugin, plugin_lib, Sandbox};
use rstest::rstest;

use super::lists::shipped;

fn plugin_rows(sandbox: &Sandbox, extra_path: Option<&std::path::Path>) -> Vec<serde_json::Value> {
    let mut cmd = sandbox.command(["plugins", "--json"]);
    if let Some(p) = extra_path {
        cmd.env("AGENT_TTY_PLUGIN_PATH", p);
    }
    let run: agent_tty_e2e::Run = cmd.output().unwrap().into();
    run.expect_code(0);
    run.result()["plugins"].as_array().unwrap().clone()
}

#[test]
fn every_shipped_plugin_loads_side_by_side() {
    let sandbox = Sandbox::new();
    let rows = plugin_rows(&sandbox, Some(&example_plugin()));
    for name in shipped()
        .iter()
        .map(String::as_str)
        .chain(["example-hello"])
    {
        let row = rows
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing from {rows:#?}"));
        assert_eq!(row["status"], "loaded", "{row:#}");
        assert_eq!(row["interfaceVersion"], 1);
    }
    // Each library answered with its own description, not the first one's.
    let hello = rows.iter().find(|r| r["name"] == "example-hello").unwrap();
    assert_eq!(hello["commands"], serde_json::json!(["hello"]));
}

#[test]
fn the_host_mounts_a_plugin_it_has_never_heard_of() {
    let sandbox = Sandbox::new();
    let hello = |args: &[&str]| -> agent_tty_e2e::Run {
        let mut cmd = sandbox.command(args);
        cmd.env("AGENT_TTY_PLUGIN_PATH", example_plugin());
        cmd.output().unwrap().into()
    };
    let run = hello(&["--json", "hello", "Ada", "--shout"]);
    run.expect_code(0);
    assert_eq!(run.result()["greeting"], "HELLO, ADA!");
    let human = hello(&["hello"]);
    assert_eq!(human.stdout, "Hello, world!\n");
}

#[test]
fn the_example_plugin_is_not_shipped_to_users() {
    // Built beside the binary (the harness builds it), yet a normal run never
    // loads it: it is not in help, not in `plugins`, and `hello` is unknown.
    let sandbox = Sandbox::new();
    assert!(example_plugin().exists());
    let help = sandbox.run(["--help"]);
    help.expect_code(0);
    assert!(!help.stdout.contains("hello"), "{}", help.stdout);
    let rows = plugin_rows(&sandbox, None);
    assert!(
        rows.iter().all(|r| r["name"] != "example-hello"),
        "{rows:#?}"
    );
    assert_eq!(sandbox.run(["hello"]).code, 2);
}

#[test]
fn version_lists_host_and_plugins() {
    let sandbox = Sandbox::new();
    let result = sandbox.run(["version", "--json"]).result();
    assert_eq!(result["version"], env!("CARGO_PKG_VERSION"));
    let names: Vec<&str> = result["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in shipped() {
        assert!(names.contains(&name.as_str()), "{name} not in {names:?}");
    }
}

#[test]
fn a_truncated_library_is_refused_and_everything_else_keeps_working() {
    let sandbox = Sandbox::new();
    let dir = sandbox.root().join("plugins");
    std::fs::create_dir(&dir).unwrap();
    let whole = std::fs::read(example_plugin()).unwrap();
    let broken = dir.join("libagent_tty_plugin_broken.so");
    std::fs::write(&broken, &whole[..whole.len() / 4]).unwrap();

    let rows = plugin_rows(&sandbox, Some(&dir));
    let row = rows
        .iter()
        .find(|r| r["path"] == broken.to_str().unwrap())
        .expect("listed");
    assert_eq!(row["status"], "refused");
    let reason = row["reason"].as_str().unwrap();
    assert!(
        reason.contains("libagent_tty_plugin_broken.so") && reason.contains("truncated"),
        "{reason}"
    );

    let mut cmd = sandbox.command(["--json", "hello"]);
    cmd.env(
        "AGENT_TTY_PLUGIN_PATH",
        std::env::join_paths([dir.clone(), example_plugin()]).unwrap(),
    );
    let run: agent_tty_e2e::Run = cmd.output().unwrap().into();
    run.expect_code(0);
}

#[test]
fn a_plugin_built_against_another_interface_version_is_refused_naming_both() {
    let sandbox = Sandbox::new();
    let rows = plugin_rows(&sandbox, Some(&plugin_lib("fixture_future_plugin")));
    let row = rows.iter().find(|r| r["name"] == "future").expect("listed");
    assert_eq!(row["status"], "refused");
    assert_eq!(row["interfaceVersion"], 999);
    let reason = row["reason"].as_str().unwrap();
    assert!(
        reason.contains("999") && reason.contains("interface version 1"),
        "{reason}"
    );
    // Its command is not mounted.
    let mut cmd = sandbox.command(["from-the-future"]);
    cmd.env("AGENT_TTY_PLUGIN_PATH", plugin_lib("fixture_future_plugin"));
    assert_eq!(cmd.output().unwrap().status.code(), Some(2));
}

/// `plugins` and `version` for people: one table (`core::text::Table`),
/// loaded and refused plugins in the same columns, the refusal reason and
/// what a plugin may do under its name. Paths and the version are redacted.
#[test]
fn plugins_and_version_print_aligned_tables() {
    let sandbox = Sandbox::new();
    let bin = agent_tty().parent().unwrap().to_str().unwrap().to_owned();
    let human = |args: &[&str]| {
        let mut cmd = sandbox.command(args);
        cmd.env("AGENT_TTY_PLUGIN_PATH", plugin_lib("fixture_future_plugin"));
        let run: agent_tty_e2e::Run = cmd.output().unwrap().into();
        run.expect_code(0);
        assert!(
            run.stdout.lines().all(|l| l == l.trim_end()),
            "{:?}",
            run.stdout
        );
        // The version is redacted in a column with a placeholder as wide,
        // so the snapshot still shows the alignment.
        let version = env!("CARGO_PKG_VERSION");
        run.stdout
            .replace(&bin, "[bin]")
            .replace(&format!("agent-tty {version}\n"), "agent-tty [version]\n")
            .replace(
                &format!("  {version}"),
                &format!("  {}", "#".repeat(version.len())),
            )
    };
    insta::assert_snapshot!("plugins_human", human(&["plugins"]));
    insta::assert_snapshot!("version_human", human(&["version"]));
}

#[test]
fn a_panicking_plugin_yields_internal_error_and_the_host_prints_the_envelope() {
    let sandbox = Sandbox::new();
    let mut cmd = sandbox.command(["--json", "explode"]);
    cmd.env(
        "AGENT_TTY_PLUGIN_PATH",
        plugin_lib("fixture_panicky_plugin"),
    );
    let run: agent_tty_e2e::Run = cmd.output().unwrap().into();
    run.expect_code(1);
    let v = run.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["command"], "explode");
    assert_eq!(v["error"]["code"], "INTERNAL_ERROR");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("boom"),
        "{v:#}"
    );
}

#[test]
fn without_the_registry_plugin_home_list_is_a_clear_usage_error() {
    let sandbox = Sandbox::new();
    let lonely = sandbox.root().join("lonely");
    std::fs::create_dir(&lonely).unwrap();
    let exe = lonely.join("agent-tty");
    std::fs::copy(agent_tty(), &exe).unwrap();
    std::fs::copy(
        plugin_lib("agent_tty_plugin_sessions"),
        lonely.join("libagent_tty_plugin_sessions.so"),
    )
    .unwrap();

    let run: agent_tty_e2e::Run = sandbox
        .command_for(&exe, ["home", "list", "--json"])
        .output()
        .unwrap()
        .into();
    run.expect_code(2);
    let v = run.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["command"], "home list");
    assert_eq!(v["error"]["code"], "PLUGIN_NOT_INSTALLED");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("registry plugin is not installed"));

    let human: agent_tty_e2e::Run = sandbox.command_for(&exe, ["gc"]).output().unwrap().into();
    human.expect_code(2);
    assert!(
        human.stderr.contains("gc-sweeper plugin is not installed"),
        "{}",
        human.stderr
    );

    let plugins: agent_tty_e2e::Run = sandbox
        .command_for(&exe, ["plugins", "--json"])
        .output()
        .unwrap()
        .into();
    let rows = plugins.result()["plugins"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], "sessions");
}

#[rstest]
#[case::unknown_command(&["--json", "frobnicate"], "agent-tty", "unknown command 'frobnicate'")]
#[case::unknown_flag(&["--json", "version", "--frob"], "version", "unexpected argument '--frob'")]
#[case::unknown_flag_in_a_group(&["--json", "home", "list", "--bogus"], "home list", "see `agent-tty home list --help`")]
#[case::missing_argument(&["--json", "home", "forget"], "home forget", "not provided: <PATH>")]
#[case::missing_subcommand(&["--json", "home"], "home", "needs a subcommand: list, forget")]
#[case::no_command(&["--json"], "agent-tty", "no command given")]
fn usage_errors_give_a_json_envelope_and_exit_2(
    #[case] args: &[&str],
    #[case] command: &str,
    #[case] message: &str,
) {
    let sandbox = Sandbox::new();
    let run = sandbox.run(args);
    run.expect_code(2);
    let v = run.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["command"], command);
    assert_eq!(v["error"]["code"], "INVALID_INPUT");
    assert_eq!(v["error"]["retryable"], false);
    let text = v["error"]["message"].as_str().unwrap();
    assert!(text.contains(message), "{text:?} lacks {message:?}");
}

#[test]
fn a_library_that_is_not_a_plugin_is_refused_saying_so() {
    // Any shared library this test process has mapped will do (libc, say).
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let library = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.contains(".so"))
        .expect("the test process maps a shared library");
    let sandbox = Sandbox::new();
    let dir = sandbox.root().join("plugins");
    std::fs::create_dir(&dir).unwrap();
    let foreign = dir.join("libagent_tty_plugin_foreign.so");
    std::fs::copy(library, &foreign).unwrap();
    let rows = plugin_rows(&sandbox, Some(&dir));
    let row = rows
        .iter()
        .find(|r| r["path"] == foreign.to_str().unwrap())
        .expect("listed");
    assert_eq!(row["status"], "refused");
    let reason = row["reason"].as_str().unwrap();
    assert!(
        reason.contains("is not an agent-tty plugin") && reason.contains("export_plugin!"),
        "{reason}"
    );
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let sandbox = Sandbox::new();
    let mut child = sandbox
        .command(["plugins"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
