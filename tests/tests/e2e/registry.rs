//! End-to-end tests: the Home Registry (`home list`, `home forget`, where the
//! registry lives, and how it survives bad files and concurrent writers).

use agent_tty_core::registry::HomeRegistry;
use agent_tty_core::time::parse_iso;
use agent_tty_e2e::{dead_pid, session_id, snapshot_tree, write_session, Run, Sandbox};
use rstest::rstest;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A Home under the sandbox holding Sessions in these statuses (hosts dead),
/// registered as last seen at `seen`. Returns its canonical path.
fn registered_home(sandbox: &Sandbox, name: &str, statuses: &[&str], seen: &str) -> PathBuf {
    let home = sandbox.home(name);
    std::fs::create_dir_all(home.join("sessions")).unwrap();
    let pid = dead_pid();
    for (n, status) in statuses.iter().enumerate() {
        write_session(&home, &session_id(n), status, Some(pid));
    }
    registry(sandbox)
        .register_at(&home, parse_iso(seen).unwrap())
        .unwrap();
    std::fs::canonicalize(home).unwrap()
}

fn registry(sandbox: &Sandbox) -> HomeRegistry {
    HomeRegistry::new(sandbox.registry_file())
}

fn paths(result: &Value, key: &str) -> Vec<String> {
    result[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["path"].as_str().unwrap().to_owned())
        .collect()
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn home_list_shows_active_homes_newest_first_and_all_widens_it() {
    let sandbox = Sandbox::new();
    let older = registered_home(
        &sandbox,
        "older",
        &["running", "exited"],
        "2026-11-20T00:00:00.000Z",
    );
    let done = registered_home(
        &sandbox,
        "done",
        &["exited", "failed"],
        "2026-11-22T00:00:00.000Z",
    );
    let newer = registered_home(&sandbox, "newer", &["exiting"], "2026-11-21T00:00:00.000Z");

    let active = sandbox.run(["--json", "home", "list"]);
    active.expect_code(0);
    let envelope = active.json();
    assert_eq!(envelope["command"], "home list");
    let result = active.result();
    assert_eq!(paths(&result, "homes"), [s(&newer), s(&older)]);
    let row = &result["homes"][1];
    assert_eq!(row["activeSessions"], 1);
    assert_eq!(row["totalSessions"], 2);
    assert_eq!(row["lastSeenAt"], "2026-11-20T00:00:00.000Z");
    // 0.5's rows, key for key (its scripts compare whole rows); the last
    // Event Log change is ours, so it comes only with `--verbose`.
    assert!(row.get("lastActivityAt").is_none(), "{row}");
    let verbose = sandbox
        .run(["--json", "home", "list", "--verbose"])
        .result();
    assert_eq!(
        verbose["homes"][1]["lastActivityAt"]
            .as_str()
            .map(|t| parse_iso(t).is_some()),
        Some(true)
    );

    let all = sandbox.run(["--json", "home", "list", "--all"]).result();
    assert_eq!(paths(&all, "homes"), [s(&done), s(&newer), s(&older)]);
    assert!(
        all.get("hidden").is_none(),
        "hidden appears only with --verbose"
    );
}

#[test]
fn hidden_homes_are_pruned_on_read_without_rewriting_the_registry_and_verbose_says_why() {
    let sandbox = Sandbox::new();
    let live = registered_home(&sandbox, "live", &["running"], "2026-11-20T00:00:00.000Z");
    let gone = registered_home(&sandbox, "gone", &["running"], "2026-11-21T00:00:00.000Z");
    std::fs::remove_dir_all(&gone).unwrap();
    let emptied = registered_home(&sandbox, "emptied", &[], "2026-11-22T00:00:00.000Z");
    let destroyed = registered_home(
        &sandbox,
        "destroyed",
        &["destroyed"],
        "2026-11-23T00:00:00.000Z",
    );
    let no_sessions_dir = registered_home(&sandbox, "bare", &[], "2026-11-24T00:00:00.000Z");
    std::fs::remove_dir(no_sessions_dir.join("sessions")).unwrap();
    let registry_before = std::fs::read(sandbox.registry_file()).unwrap();

    let result = sandbox
        .run(["--json", "home", "list", "--all", "--verbose"])
        .result();
    assert_eq!(paths(&result, "homes"), [s(&live)]);
    let hidden: Vec<(String, String)> = result["hidden"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["path"].as_str().unwrap().into(),
                h["reason"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        hidden,
        [
            (s(&no_sessions_dir), "sessions-missing".into()),
            (s(&destroyed), "only-destroyed".into()),
            (s(&emptied), "no-sessions".into()),
            (s(&gone), "directory-missing".into()),
        ]
    );
    assert_eq!(
        std::fs::read(sandbox.registry_file()).unwrap(),
        registry_before
    );

    let human = sandbox.run(["home", "list", "--all", "--verbose"]);
    human.expect_code(0);
    assert!(
        human.stdout.contains("the Home directory no longer exists"),
        "{}",
        human.stdout
    );
    assert!(human
        .stdout
        .contains("every Session in the Home was destroyed"));
}

#[test]
fn a_home_whose_host_was_killed_still_counts_active_and_listing_writes_nothing() {
    let sandbox = Sandbox::new();
    let home = registered_home(
        &sandbox,
        "killed",
        &["running", "destroying"],
        "2026-11-24T00:00:00.000Z",
    );
    let before = snapshot_tree(sandbox.root());
    let mtimes = |dir: &Path| -> Vec<std::time::SystemTime> {
        std::fs::read_dir(dir.join("sessions"))
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .path()
                    .join("session.json")
                    .metadata()
                    .unwrap()
                    .modified()
                    .unwrap()
            })
            .collect()
    };
    let mtimes_before = mtimes(&home);
    for args in [
        vec!["--json", "home", "list"],
        vec!["--json", "home", "list", "--all", "--verbose"],
        vec!["home", "list", "--all"],
    ] {
        let run = sandbox.run(&args);
        run.expect_code(0);
        if args[0] == "--json" {
            assert_eq!(run.result()["homes"][0]["activeSessions"], 2, "{args:?}");
        }
    }
    assert_eq!(
        snapshot_tree(sandbox.root()),
        before,
        "home list wrote a file"
    );
    assert_eq!(mtimes(&home), mtimes_before);
}

#[test]
fn human_output_is_a_table_of_homes_or_says_there_are_none() {
    let sandbox = Sandbox::new();
    let empty = sandbox.run(["home", "list"]);
    empty.expect_code(0);
    assert_eq!(
        empty.stdout,
        "No registered Homes. A Home is registered when a Session is created in it.\n"
    );
    let home = registered_home(&sandbox, "h", &["running"], "2026-11-24T00:00:00.000Z");
    let run = sandbox.run(["home", "list"]);
    let mut lines = run.stdout.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("Home "), "{header}");
    assert!(!header.contains("HOME"), "never reads like the OS $HOME");
    let row = lines.next().unwrap();
    assert!(row.starts_with(&s(&home)), "{row}");
    assert!(row.contains(" ago"), "{row}");
}

/// `cmd` runs with these changes to the sandbox's environment.
fn run_with_env(sandbox: &Sandbox, args: &[&str], env: &[(&str, Option<&Path>)]) -> Run {
    let mut cmd = sandbox.command(args);
    for (key, value) in env {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    cmd.output().unwrap().into()
}

#[rstest]
#[case::xdg_state_home(Some("state"), "state/agent-tty/homes.json")]
#[case::unset_falls_back(None, "user/.local/state/agent-tty/homes.json")]
#[case::relative_is_ignored(Some("relative/state"), "user/.local/state/agent-tty/homes.json")]
#[case::empty_is_ignored(Some(""), "user/.local/state/agent-tty/homes.json")]
fn the_registry_lives_in_xdg_state_home_and_ignores_agent_tty_home(
    #[case] xdg: Option<&str>,
    #[case] expected: &str,
) {
    let sandbox = Sandbox::new();
    let xdg_value = xdg.map(|x| {
        if x.is_empty() || !x.starts_with("state") {
            PathBuf::from(x)
        } else {
            sandbox.root().join(x)
        }
    });
    let file = sandbox.root().join(expected);
    let home = sandbox.home("h");
    std::fs::create_dir_all(&home).unwrap();
    write_session(&home, &session_id(0), "running", Some(dead_pid()));
    HomeRegistry::new(file.clone()).register(&home).unwrap();
    let other_home = sandbox.home("elsewhere");
    let run = run_with_env(
        &sandbox,
        &["--json", "home", "list"],
        &[
            ("XDG_STATE_HOME", xdg_value.as_deref()),
            ("AGENT_TTY_HOME", Some(&other_home)),
        ],
    );
    assert_eq!(
        paths(&run.result(), "homes"),
        [s(&std::fs::canonicalize(&home).unwrap())]
    );
    // Forgetting goes to the same file.
    let forget = run_with_env(
        &sandbox,
        &["--json", "home", "forget", &s(&home)],
        &[
            ("XDG_STATE_HOME", xdg_value.as_deref()),
            ("AGENT_TTY_HOME", Some(&other_home)),
        ],
    );
    assert_eq!(forget.result()["forgotten"], true);
    assert!(HomeRegistry::new(file).read().homes.is_empty());
    assert!(!other_home.exists(), "the registry never lives in a Home");
}

#[test]
fn forget_normalises_the_path_and_never_touches_the_home() {
    let sandbox = Sandbox::new();
    let home = registered_home(&sandbox, "keep", &["exited"], "2026-11-24T00:00:00.000Z");
    let other = registered_home(&sandbox, "other", &["exited"], "2026-11-23T00:00:00.000Z");
    let link = sandbox.root().join("link-to-keep");
    std::os::unix::fs::symlink(&home, &link).unwrap();
    let home_before = snapshot_tree(&home);

    // Relative to the working directory, through a symlink, with a trailing slash.
    let run: Run = sandbox
        .command(["--json", "home", "forget", "./link-to-keep/"])
        .current_dir(sandbox.root())
        .output()
        .unwrap()
        .into();
    let result = run.result();
    assert_eq!(result["path"], s(&home));
    assert_eq!(result["forgotten"], true);
    assert_eq!(snapshot_tree(&home), home_before);
    assert!(home.join("sessions").is_dir());
    let listed = sandbox.run(["--json", "home", "list", "--all"]).result();
    assert_eq!(paths(&listed, "homes"), [s(&other)]);

    let again = sandbox.run(["--json", "home", "forget", &s(&home)]);
    assert_eq!(again.result()["forgotten"], false);
    let human = sandbox.run(["home", "forget", &s(&home)]);
    assert!(
        human.stdout.contains("was not registered"),
        "{}",
        human.stdout
    );
}

#[test]
fn a_corrupt_registry_lists_nothing_with_a_warning_and_is_left_for_the_next_registration() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.registry_file().parent().unwrap()).unwrap();
    std::fs::write(sandbox.registry_file(), "{\"version\": 1, \"homes\": [").unwrap();
    let run = sandbox.run(["--json", "home", "list", "--all"]);
    run.expect_code(0);
    assert_eq!(run.result()["homes"], serde_json::json!([]));
    assert!(
        run.stderr.contains("warning:") && run.stderr.contains("not valid JSON"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(sandbox.registry_file()).unwrap(),
        b"{\"version\": 1, \"homes\": ["
    );
}

#[test]
fn a_registry_written_by_05_is_read_as_is() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("from-05");
    write_session(&home, &session_id(0), "exited", None);
    let home = std::fs::canonicalize(home).unwrap();
    let text = format!(
        "{{\n  \"version\": 1,\n  \"homes\": [\n    {{\n      \"path\": \"{}\",\n      \
         \"lastSeenAt\": \"2026-11-24T03:50:02.677Z\"\n    }},\n    {{\n      \"path\": \
         \"/tmp/agent-tty-05-gone\",\n      \"lastSeenAt\": \"2026-11-23T03:50:02.677Z\"\n    \
         }}\n  ]\n}}\n",
        home.display()
    );
    std::fs::create_dir_all(sandbox.registry_file().parent().unwrap()).unwrap();
    std::fs::write(sandbox.registry_file(), &text).unwrap();
    let result = sandbox.run(["--json", "home", "list", "--all"]).result();
    assert_eq!(paths(&result, "homes"), [s(&home)]);
    assert_eq!(result["homes"][0]["lastSeenAt"], "2026-11-24T03:50:02.677Z");
    // Forgetting the gone one rewrites the file in exactly 0.5's layout.
    sandbox
        .run(["--json", "home", "forget", "/tmp/agent-tty-05-gone"])
        .expect_code(0);
    let expected = format!(
        "{{\n  \"version\": 1,\n  \"homes\": [\n    {{\n      \"path\": \"{}\",\n      \
         \"lastSeenAt\": \"2026-11-24T03:50:02.677Z\"\n    }}\n  ]\n}}\n",
        home.display()
    );
    assert_eq!(
        std::fs::read_to_string(sandbox.registry_file()).unwrap(),
        expected
    );
}

/// `create --json --home <home> -- sleep 300`, as a `Command` (built outside
/// any thread: the sandbox itself is not shared between threads).
fn create_in(sandbox: &Sandbox, home: &Path) -> std::process::Command {
    sandbox.command(["--json", "--home", &s(home), "create", "--", "sleep", "300"])
}

#[test]
fn sixty_four_parallel_creates_in_new_homes_are_all_registered() {
    let sandbox = Sandbox::new();
    let homes: Vec<PathBuf> = (0..64).map(|i| sandbox.home(&format!("p{i}"))).collect();
    let mut commands: Vec<std::process::Command> =
        homes.iter().map(|h| create_in(&sandbox, h)).collect();
    let runs: Vec<Run> = std::thread::scope(|scope| {
        let workers: Vec<_> = commands
            .iter_mut()
            .map(|cmd| scope.spawn(move || Run::from(cmd.output().unwrap())))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    for run in &runs {
        run.expect_code(0);
        assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    }
    let mut got: Vec<String> = registry(&sandbox)
        .read()
        .homes
        .into_iter()
        .map(|h| h.path)
        .collect();
    got.sort();
    let mut want: Vec<String> = homes
        .iter()
        .map(|h| s(&std::fs::canonicalize(h).unwrap()))
        .collect();
    want.sort();
    assert_eq!(got, want);
    let listed = sandbox.run(["--json", "home", "list"]).result();
    assert_eq!(listed["homes"].as_array().unwrap().len(), 64);
}

#[test]
fn create_registers_its_home_in_the_registry_not_in_the_home() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("via-env");
    let run: Run = sandbox
        .command(["--json", "create", "--", "sleep", "300"])
        .env("AGENT_TTY_HOME", &home)
        .output()
        .unwrap()
        .into();
    run.expect_code(0);
    let home = std::fs::canonicalize(&home).unwrap();
    assert_eq!(
        registry(&sandbox)
            .read()
            .homes
            .iter()
            .map(|h| h.path.clone())
            .collect::<Vec<_>>(),
        [s(&home)]
    );
    assert!(!home.join("homes.json").exists());
    let listed = sandbox.run(["--json", "home", "list"]).result();
    assert_eq!(listed["homes"][0]["activeSessions"], 1);
}

#[test]
fn a_corrupt_registry_is_moved_aside_and_the_next_create_rebuilds_it() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.registry_file().parent().unwrap()).unwrap();
    std::fs::write(sandbox.registry_file(), "garbage{").unwrap();
    let home = sandbox.home("after-corruption");
    Run::from(create_in(&sandbox, &home).output().unwrap()).expect_code(0);
    let read = registry(&sandbox).read();
    assert!(read.problem.is_none());
    assert_eq!(read.homes.len(), 1);
    let aside: Vec<PathBuf> = std::fs::read_dir(sandbox.registry_file().parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| s(p).contains("homes.json.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(std::fs::read(&aside[0]).unwrap(), b"garbage{");
}

#[test]
fn a_registry_failure_never_fails_create() {
    let sandbox = Sandbox::new();
    // A directory where the registry file should be: it can be neither read nor replaced.
    std::fs::create_dir_all(sandbox.registry_file()).unwrap();
    let run = Run::from(create_in(&sandbox, &sandbox.home("h")).output().unwrap());
    run.expect_code(0);
    assert!(run.result()["sessionId"].is_string());
    assert!(
        run.stderr.contains("warning:") && run.stderr.contains("Home Registry"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_killed_host_counts_active_in_home_list_until_list_reconciles_it() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("killed");
    let created = Run::from(create_in(&sandbox, &home).output().unwrap()).result();
    let id = created["sessionId"].as_str().unwrap().to_owned();
    let dir = home.join("sessions").join(&id);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("session.json")).unwrap()).unwrap();
    let host = manifest["hostPid"].as_i64().unwrap() as i32;
    // SAFETY: kill(2) on the host this test created.
    unsafe { libc::kill(host, libc::SIGKILL) };
    agent_tty_e2e::eventually(std::time::Duration::from_secs(5), || {
        (!agent_tty_e2e::process_alive(host)).then_some(())
    })
    .expect("the host dies");

    let before = snapshot_tree(&home);
    let listed = sandbox.run(["--json", "home", "list"]).result();
    assert_eq!(listed["homes"][0]["activeSessions"], 1);
    assert_eq!(
        snapshot_tree(&home),
        before,
        "home list wrote into the Home"
    );

    let sessions = sandbox.run_in(&home, &["list", "--all"]).result();
    assert_eq!(sessions["sessions"][0]["status"], "failed");
    let listed = sandbox.run(["--json", "home", "list", "--all"]).result();
    assert_eq!(listed["homes"][0]["activeSessions"], 0);
    assert_eq!(
        sandbox.run(["--json", "home", "list"]).result()["homes"],
        serde_json::json!([])
    );
}

#[test]
fn forgetting_an_empty_path_is_a_usage_error_and_changes_nothing() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("kept");
    sandbox
        .run_in(&home, &["create", "--", "sleep", "60"])
        .expect_code(0);
    let before = std::fs::read(sandbox.registry_file()).unwrap();
    let run = sandbox.run(["--json", "home", "forget", ""]);
    run.expect_code(2);
    assert_eq!(run.json()["error"]["code"], "INVALID_INPUT");
    assert_eq!(std::fs::read(sandbox.registry_file()).unwrap(), before);
}
