//! End-to-end tests of `mark`, `batch` and the host's idle timeout against
//! real bash Sessions.

use agent_tty_e2e::{bash_session, eventually, logged_events, Sandbox};
use rstest::rstest;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

fn events(home: &Path, id: &str) -> Vec<Value> {
    logged_events(&home.join("sessions").join(id))
}

/// How many records a Session's Event Log holds that a batch would add:
/// every one but `output` (bash's prompt may still be arriving).
fn sent_records(home: &Path, id: &str) -> usize {
    events(home, id)
        .iter()
        .filter(|e| e["type"] != "output")
        .count()
}

#[test]
fn mark_logs_a_marker_event_and_returns_its_seq() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    for label in ["", "phase 2"] {
        let result = sandbox
            .run_in(&home, &["mark", &id, label])
            .expect_code(0)
            .result();
        let seq = result["seq"].as_u64().unwrap() as usize;
        assert_eq!(result, json!({ "seq": seq }));
        let event = &events(&home, &id)[seq];
        assert_eq!(event["type"], "marker");
        assert_eq!(event["payload"], json!({ "label": label }));
    }
    let human = sandbox.run(["--home", home.to_str().unwrap(), "mark", &id, "x"]);
    human.expect_code(0);
    assert!(
        human.stdout.starts_with("Marker set at seq ") && human.stdout.ends_with(".\n"),
        "{}",
        human.stdout
    );
    // Not a Session: SESSION_NOT_FOUND, exit 3.
    let missing = sandbox.run_in(&home, &["mark", "01JD3Z6X8K4M2N5P7Q9R1S3T5V", "x"]);
    missing.expect_code(3);
    assert_eq!(missing.json()["error"]["code"], "SESSION_NOT_FOUND");
}

#[test]
fn a_batch_drives_the_loop_and_reports_every_step() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let plan = json!([
        {"run": "echo first-$((1+1))"},
        {"wait": {"text": "first-2"}},
        {"type": "echo typed-$((2+3))"},
        {"sendKeys": ["Enter"]},
        {"wait": {"regex": "typed-\\d", "timeout": 5000}},
        {"paste": "x"},
        {"run": "true", "noWait": true},
    ])
    .to_string();
    let out = sandbox.run_in(&home, &["batch", &id, &plan]);
    out.expect_code(0);
    let result = out.result();
    assert_eq!(result["completedCount"], 7);
    assert_eq!(result["failedIndices"], json!([]));
    let steps = result["steps"].as_array().unwrap();
    let kinds: Vec<&str> = steps.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["run", "wait", "type", "sendKeys", "wait", "paste", "run"]
    );
    assert_eq!(steps[0]["runOutcome"], "completed");
    assert_eq!(steps[0]["completed"], true);
    // The wait's baseline is the run's input_run seq.
    assert_eq!(steps[1]["waitBaseline"], steps[0]["seq"]);
    assert_eq!(steps[1]["matchedText"], "first-2");
    assert_eq!(steps[4]["waitBaseline"], steps[3]["seq"]);
    assert_eq!(steps[4]["matchedText"], "typed-5");
    assert_eq!(steps[4]["screenHash"].as_str().unwrap().len(), 64);
    assert_eq!(steps[6]["runOutcome"], "started");
    assert_eq!(steps[6]["noWait"], true);
    let log = events(&home, &id);
    for s in steps.iter().filter(|s| s["seq"].is_u64()) {
        let event = &log[s["seq"].as_u64().unwrap() as usize];
        let expected = match s["kind"].as_str().unwrap() {
            "type" => "input_text",
            "paste" => "input_paste",
            "sendKeys" => "input_keys",
            _ => "input_run",
        };
        assert_eq!(event["type"], expected, "{s}");
    }
}

#[test]
fn a_failed_step_stops_the_batch_unless_keep_going() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let plan = json!([
        {"wait": {"text": "never-shown", "timeout": 200}},
        {"run": "true", "noWait": true},
        {"type": "x"},
    ])
    .to_string();

    let fail_fast = sandbox.run_in(&home, &["batch", &id, &plan]);
    fail_fast.expect_code(11);
    let result = fail_fast.result();
    let steps = result["steps"].as_array().unwrap();
    assert_eq!(steps[0]["status"], "failed");
    assert_eq!(steps[0]["error"]["code"], "WAIT_TIMEOUT");
    assert_eq!(
        steps[0]["error"]["message"],
        "Render wait at step 0 timed out before its condition was met."
    );
    assert_eq!(
        steps[1],
        json!({"index": 1, "durationMs": 0, "kind": "run", "status": "not-run", "noWait": true})
    );
    assert_eq!(steps[2]["status"], "not-run");
    assert_eq!(result["failedIndices"], json!([0]));

    let keep_going = sandbox.run_in(&home, &["batch", &id, &plan, "--keep-going"]);
    keep_going.expect_code(1);
    let result = keep_going.result();
    assert_eq!(result["completedCount"], 2);
    assert_eq!(result["steps"][2]["status"], "completed");

    let human = sandbox.run(["--home", home.to_str().unwrap(), "batch", &id, &plan]);
    human.expect_code(11);
    let lines: Vec<&str> = human.stdout.lines().collect();
    assert!(
        lines[0].starts_with("[0] wait failed (WAIT_TIMEOUT) ("),
        "{}",
        human.stdout
    );
    assert_eq!(lines[1], "[1] run not-run (0ms)");
    assert_eq!(lines[3], "0/3 steps completed");
    assert_eq!(
        lines[4],
        "failed at step 0: WAIT_TIMEOUT: Render wait at step 0 timed out before its condition was met."
    );
}

#[rstest]
#[case::not_json("[", "Batch steps must be valid JSON.")]
#[case::empty("[]", "Batch must contain at least one step.")]
#[case::two_verbs(
    r#"[{"type":"a","run":"b"}]"#,
    "Batch step 0 must have exactly one of type|paste|sendKeys|run|wait; found type, run"
)]
#[case::bad_step(r#"[{"type":"a"},{"run":""}]"#, "Batch step 1 is invalid")]
fn an_invalid_plan_sends_nothing(#[case] plan: &str, #[case] message: &str) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    // Only what the batch itself would log counts: bash's prompt may still
    // be arriving as `output` events while the batch is refused.
    let sent = || sent_records(&home, &id);
    let before = sent();
    let out = sandbox.run_in(&home, &["batch", &id, plan]);
    out.expect_code(2);
    assert_eq!(out.json()["error"]["code"], "INVALID_INPUT");
    assert_eq!(out.json()["error"]["message"], message);
    assert_eq!(sent(), before);
    // The plan is checked before the Session: a bad plan for a missing
    // Session is still the plan's error.
    let missing = sandbox.run_in(&home, &["batch", "01JD3Z6X8K4M2N5P7Q9R1S3T5V", plan]);
    assert_eq!(missing.json()["error"]["message"], message);
}

/// A plan of 200,000 tiny steps (which took 695 MB to run) is refused
/// before anything is sent, naming the limit; 10,000 steps is the most.
#[test]
fn a_plan_beyond_the_step_limit_is_refused_naming_it() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let sent = || sent_records(&home, &id);
    let before = sent();
    let file = sandbox.root().join("plan.json");
    std::fs::write(
        &file,
        format!("[{}]", vec![r#"{"type":"a"}"#; 200_000].join(",")),
    )
    .unwrap();
    let out = sandbox.run_in(&home, &["batch", &id, "--file", file.to_str().unwrap()]);
    out.expect_code(2);
    let error = &out.json()["error"];
    assert_eq!(error["code"], "INVALID_INPUT");
    assert_eq!(
        error["message"],
        "Batch has 200000 steps; a batch runs at most 10000: split the plan into several batches."
    );
    assert_eq!(error["details"]["maxSteps"], 10_000);
    assert_eq!(sent(), before);
}

#[test]
fn steps_come_from_a_file_or_standard_input() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let file = sandbox.root().join("plan.json");
    std::fs::write(&file, r#"[{"type":"from-file"}]"#).unwrap();
    let out = sandbox.run_in(&home, &["batch", &id, "--file", file.to_str().unwrap()]);
    assert_eq!(out.result()["completedCount"], 1);

    let mut cmd = sandbox.command([
        "--json",
        "--home",
        home.to_str().unwrap(),
        "batch",
        &id,
        "--file",
        "-",
    ]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"[{"mark":"x"}]"#)
        .unwrap();
    let out: agent_tty_e2e::Run = child.wait_with_output().unwrap().into();
    out.expect_code(2);
    assert!(out.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("found none"));

    let both = sandbox.run_in(
        &home,
        &["batch", &id, "[]", "--file", file.to_str().unwrap()],
    );
    both.expect_code(2);
    assert_eq!(
        both.json()["error"]["message"],
        "Positional [steps] argument and --file are mutually exclusive. Usage: agent-tty batch <session-id> [steps] [--file <path>]"
    );
}

#[rstest]
#[case::sigint(libc::SIGINT, 130)]
#[case::sigterm(libc::SIGTERM, 143)]
fn an_interrupted_batch_still_prints_its_envelope(#[case] signal: i32, #[case] code: i32) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let plan = json!([
        {"type": "interrupt-me"},
        {"type": "step-1"},
        {"wait": {"text": "never-shown", "timeout": 0}},
        {"type": "x"},
    ])
    .to_string();
    let child = sandbox
        .command([
            "--json",
            "--home",
            home.to_str().unwrap(),
            "batch",
            &id,
            &plan,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Hook: step 1's input in the Event Log means the batch saw step 0
    // complete (steps run in order) and its signal handler is installed;
    // step 1 is finishing or step 2 (a wait with no limit) is in flight or
    // next. Step 0's own input would not do: the host logs it before the
    // batch has its answer, so the signal could land mid-step.
    eventually(Duration::from_secs(10), || {
        events(&home, &id)
            .iter()
            .any(|e| e["payload"]["data"] == "step-1")
            .then_some(())
    })
    .expect("steps 0 and 1 ran");
    // SAFETY: kill(2) on the child we just spawned.
    unsafe { libc::kill(child.id() as i32, signal) };
    let out: agent_tty_e2e::Run = child.wait_with_output().unwrap().into();
    out.expect_code(code);
    let result = out.result();
    let statuses: Vec<&str> = result["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses[0], "completed");
    assert!(
        statuses[1] == "completed" || statuses[1] == "interrupted",
        "{statuses:?}"
    );
    assert!(
        statuses[2] == "interrupted" || statuses[2] == "not-run",
        "{statuses:?}"
    );
    assert_eq!(statuses[3], "not-run");
}

#[test]
fn an_idle_session_ends_with_sighup_and_its_log_says_why() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &["--idle-timeout-ms", "300"]);
    let manifest = home.join("sessions").join(&id).join("session.json");
    let m: Value = eventually(Duration::from_secs(15), || {
        let m: Value = serde_json::from_slice(&std::fs::read(&manifest).ok()?).ok()?;
        (m["status"] == "exited").then_some(m)
    })
    .expect("the idle Session ended");
    assert_eq!(m["idleTimeoutMs"], 300);
    assert_eq!(m["exitSignal"], "1");
    let log = events(&home, &id);
    let marker = log
        .iter()
        .find(|e| e["type"] == "marker")
        .expect("a marker says why");
    assert_eq!(
        marker["payload"]["label"],
        "idle-timeout: no activity for 300 ms"
    );
    assert_eq!(log.last().unwrap()["type"], "exit");
}
