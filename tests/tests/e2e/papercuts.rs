//! Papercuts a new user hit: messages that say what is really wrong, and a
//! `version` that needs no Home. (`gc`'s status when removals fail is in
//! `gc.rs`, `doctor` without plugins in `doctor.rs`, `inspect`'s uptime
//! in `names.rs`.)

use agent_tty_e2e::{session_id, write_session, Sandbox};

#[test]
fn create_with_a_directory_for_a_shell_says_it_is_a_directory() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let dir = sandbox.root().join("not-a-shell");
    std::fs::create_dir_all(&dir).unwrap();
    let run = sandbox.run_in(&home, &["create", "--shell", dir.to_str().unwrap()]);
    run.expect_code(2);
    let message = run.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("is a directory"), "{message}");
    let missing = sandbox.root().join("no-such-shell");
    let run = sandbox.run_in(&home, &["create", "--shell", missing.to_str().unwrap()]);
    run.expect_code(2);
    assert!(
        run.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{} does not exist", missing.display())),
        "{}",
        run.stdout
    );
}

#[test]
fn a_wait_timeout_too_large_to_hold_names_the_maximum() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = session_id(1);
    write_session(&home, &id, "exited", None);
    let run = sandbox.run_in(
        &home,
        &["wait", &id, "--exit", "--timeout", "99999999999999999999"],
    );
    run.expect_code(2);
    let error = run.json()["error"].clone();
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("too large") && message.contains("18446744073709551615"),
        "{message}"
    );
    assert!(!message.contains("non-negative integer"), "{message}");
    // Not a number at all is still that.
    let run = sandbox.run_in(&home, &["wait", &id, "--exit", "--timeout", "-5"]);
    run.expect_code(2);
    assert!(run.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("non-negative integer"));
}

#[test]
fn version_reads_no_home_so_a_broken_config_does_not_stop_it() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("config.json"), b"{ this is not json").unwrap();
    // The config really is refused where a Home is needed...
    let list = sandbox.run_in(&home, &["list"]);
    assert_ne!(list.code, 0, "{}", list.stdout);
    // ...but `version` never reads it.
    let version = sandbox.run_in(&home, &["version"]);
    let result = version.expect_code(0).result();
    assert!(result["cliVersion"].is_string(), "{result:#}");
    // Its flags are still checked as every command's.
    let bad = sandbox.run_in(&home, &["version", "--log-level", "loud"]);
    bad.expect_code(2);
    assert_eq!(bad.json()["error"]["code"], "INVALID_INPUT");
}
