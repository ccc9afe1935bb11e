//! Names people can use: a Session is named by its id, a unique prefix of
//! it, or its `--name`, wherever an id is accepted; an ambiguous one lists
//! the candidates; an id that lives in another registered Home says which.

use agent_tty_core::registry::HomeRegistry;
use agent_tty_e2e::{session_id, write_session, Sandbox};
use serde_json::Value;
use std::path::Path;

/// An ended Session written in `home`, named `name`.
fn named(home: &Path, id: &str, name: &str) {
    let dir = write_session(home, id, "exited", None);
    let path = dir.join("session.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    m["name"] = name.into();
    m["exitCode"] = 0.into();
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap() + "\n").unwrap();
}

#[test]
fn a_unique_prefix_or_a_name_works_wherever_an_id_does() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (build, tests) = ("01JD3Z6X8K4M2N5P7Q9RAAAAAA", "01JD3Z6X8K4M2N5P7Q9RBBBBBB");
    named(&home, build, "build");
    named(&home, tests, "tests");

    for given in [build, "01JD3Z6X8K4M2N5P7Q9RA", "build"] {
        for command in [
            vec!["inspect", given],
            vec!["snapshot", given],
            vec!["wait", given, "--text", "hi"],
            vec!["record", "export", given, "--format", "asciicast"],
        ] {
            let result = sandbox.run_in(&home, &command).expect_code(0).result();
            let id = result["sessionId"]
                .as_str()
                .or_else(|| result["session"]["sessionId"].as_str());
            // `wait` has no sessionId; every other result names the full id.
            if command[0] != "wait" {
                assert_eq!(id, Some(build), "{command:?}: {result:#}");
            }
        }
    }

    // Ambiguous: both ids start so; the error lists both, with names.
    let run = sandbox.run_in(&home, &["inspect", "01JD3Z6X"]);
    run.expect_code(2);
    let error = run.json()["error"].clone();
    assert_eq!(error["code"], "INVALID_INPUT");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{build} (build)"))
            && message.contains(&format!("{tests} (tests)")),
        "{message}"
    );
    assert_eq!(error["details"]["candidates"].as_array().unwrap().len(), 2);

    // Path tricks are refused before any lookup, as before.
    let run = sandbox.run_in(&home, &["inspect", "../h"]);
    run.expect_code(2);
    assert_eq!(run.json()["error"]["code"], "INVALID_SESSION_ID");
    let run = sandbox.run_in(&home, &["snapshot", "nope"]);
    run.expect_code(3);
    assert_eq!(run.json()["error"]["code"], "SESSION_NOT_FOUND");
}

#[test]
fn list_and_inspect_show_the_name_and_inspect_a_human_uptime() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = session_id(7);
    named(&home, &id, "build");
    let list = sandbox.run(["--home", home.to_str().unwrap(), "list", "--all"]);
    list.expect_code(0);
    let line = list.stdout.lines().find(|l| l.contains(&id)).unwrap();
    assert!(line.ends_with("  (build)"), "{line:?}");
    assert_eq!(line.split_whitespace().next(), Some(id.as_str()));

    let inspect = sandbox.run(["--home", home.to_str().unwrap(), "inspect", "build"]);
    inspect.expect_code(0);
    let lines: Vec<&str> = inspect.stdout.lines().collect();
    assert_eq!(lines[0], format!("Session ID: {id}"));
    assert_eq!(lines[1], "Name: build");
    let uptime = lines.iter().find(|l| l.starts_with("Uptime: ")).unwrap();
    // createdAt == updatedAt: an ended Session that lived 0 s.
    assert_eq!(*uptime, "Uptime: 0s");
}

#[test]
fn an_id_from_another_registered_home_gets_a_hint_naming_it() {
    let sandbox = Sandbox::new();
    let (here, there) = (sandbox.home("here"), sandbox.home("there"));
    std::fs::create_dir_all(here.join("sessions")).unwrap();
    let id = session_id(3);
    write_session(&there, &id, "exited", None);
    let there = std::fs::canonicalize(&there).unwrap();
    HomeRegistry::new(sandbox.registry_file())
        .register(&there)
        .unwrap();

    let run = sandbox.run_in(&here, &["snapshot", &id]);
    run.expect_code(3);
    let error = run.json()["error"].clone();
    assert_eq!(error["code"], "SESSION_NOT_FOUND");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("--home {}", there.display())),
        "{message}"
    );
    assert_eq!(error["details"]["otherHome"], there.to_str().unwrap());
    // The same command with that Home works.
    sandbox.run_in(&there, &["snapshot", &id]).expect_code(0);
}
