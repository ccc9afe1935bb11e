//! Nothing is skipped silently: a damaged Event Log is read as far as it
//! can be and every reader says what it skipped (in the result's `warnings`
//! and on stderr); a corrupt Home Registry says so in `home list --json`'s
//! result; `batch` words its plan errors by step and escapes what it
//! prints.

use agent_tty_e2e::{create_session, session_id, write_session, Sandbox};
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// An ended Session whose Event Log has a garbage line and then jumps from
/// seq 0 to seq 3: two events are missing.
fn damaged_session(home: &Path) -> String {
    let id = session_id(1);
    let dir = write_session(home, &id, "exited", None);
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("events.jsonl"))
        .unwrap();
    log.write_all(b"this is not an event\n").unwrap();
    log.write_all(
        b"{\"seq\":3,\"ts\":\"2026-11-24T03:50:03.000Z\",\"type\":\"output\",\"payload\":{\"data\":\"there\\r\\n\"}}\n",
    )
    .unwrap();
    id
}

/// The one warning of a result, checked to say what was skipped.
fn the_warning(result: &Value) -> String {
    let warnings = result["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("no warnings in {result:#}"));
    assert_eq!(warnings.len(), 1, "{result:#}");
    let warning = warnings[0].as_str().unwrap().to_owned();
    for said in [
        "is damaged",
        "skipped 1 malformed line",
        "2 events missing",
        "seq 1",
    ] {
        assert!(warning.contains(said), "{said:?} not in {warning:?}");
    }
    warning
}

#[test]
fn a_damaged_event_log_is_read_past_and_every_reader_says_what_it_skipped() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = damaged_session(&home);

    let snapshot = sandbox.run_in(&home, &["snapshot", &id, "--format", "text"]);
    let result = snapshot.expect_code(0).result();
    the_warning(&result);
    let text = result["text"].as_str().unwrap();
    assert!(text.contains("hi") && text.contains("there"), "{text:?}");
    assert!(
        snapshot.stderr.contains("warning: the Event Log"),
        "{}",
        snapshot.stderr
    );
    // A person sees it too.
    let human = sandbox.run(["--home", home.to_str().unwrap(), "snapshot", &id]);
    human.expect_code(0);
    assert!(human.stderr.contains("is damaged"), "{}", human.stderr);

    let wait = sandbox.run_in(&home, &["wait", &id, "--text", "there"]);
    let result = wait.expect_code(0).result();
    assert_eq!(result["matched"], true);
    the_warning(&result);

    let export = sandbox.run_in(&home, &["record", "export", &id, "--format", "asciicast"]);
    let result = export.expect_code(0).result();
    the_warning(&result);
    assert_eq!(result["capturedAtSeq"], 3);

    let inspect = sandbox.run_in(&home, &["inspect", &id]);
    let result = inspect.expect_code(0).result();
    // Real events only: the garbage line is not one, the missing ones are not there.
    assert_eq!(result["eventCount"], 2, "{result:#}");
    assert_eq!(result["lastEventSeq"], 3, "{result:#}");
    the_warning(&result);
}

#[test]
fn an_intact_event_log_gives_no_warnings_key() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = session_id(2);
    write_session(&home, &id, "exited", None);
    let run = sandbox.run_in(&home, &["snapshot", &id]);
    let result = run.expect_code(0).result();
    assert!(result.get("warnings").is_none(), "{result:#}");
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let inspect = sandbox.run_in(&home, &["inspect", &id]).result();
    assert_eq!(inspect["eventCount"], 1);
}

#[test]
fn a_corrupt_home_registry_is_reported_in_home_lists_result() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.registry_file().parent().unwrap()).unwrap();
    std::fs::write(sandbox.registry_file(), b"{ not json").unwrap();
    let run = sandbox.run(["--json", "home", "list"]);
    let result = run.expect_code(0).result();
    assert_eq!(result["homes"], serde_json::json!([]));
    let warning = result["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.contains("Home Registry") && warning.contains("reads as empty"),
        "{result:#}"
    );
    assert!(run.stderr.contains("Home Registry"), "{}", run.stderr);
}

#[test]
fn batch_plan_errors_name_their_step_and_its_report_escapes_screen_text() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    // A right-to-left override on screen: printed raw, it would reorder
    // the terminal's line.
    let (id, _) = create_session(
        &sandbox,
        &home,
        &[
            "--",
            "sh",
            "-c",
            "printf 'x\\342\\200\\256y\\n'; exec sleep 300",
        ],
    );
    let bad = sandbox.run_in(
        &home,
        &["batch", &id, r#"[{"type":"a"},{"wait":{"text":""}}]"#],
    );
    bad.expect_code(2);
    let error = bad.json()["error"].clone();
    assert_eq!(error["code"], "INVALID_INPUT");
    assert_eq!(error["details"]["stepIndex"], 1, "{error:#}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("Batch step 1: \"text\""),
        "{error:#}"
    );

    let human = sandbox.run([
        "--home",
        home.to_str().unwrap(),
        "batch",
        &id,
        r#"[{"wait":{"regex":"x.y","timeout":10000}}]"#,
    ]);
    human.expect_code(0);
    assert!(
        human.stdout.contains(r#"matched "x\u{202e}y""#),
        "{}",
        human.stdout
    );
    assert!(!human.stdout.contains('\u{202e}'), "{}", human.stdout);
}
