//! End-to-end tests: the agent loop (`run`, `type`, `paste`, `send-keys`,
//! `wait`, `snapshot`, `resize`, `signal`) against real bash Sessions, and
//! `snapshot` of an Event Log written in agent-tty 0.5's format.

use agent_tty_e2e::{bash_session, logged_events, Sandbox};
use rstest::rstest;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn snapshot_text(sandbox: &Sandbox, home: &Path, id: &str) -> String {
    let snap = sandbox
        .run_in(home, &["snapshot", id, "--format", "text"])
        .expect_code(0)
        .result();
    // 0.5's text is every visible row; compare without the blank ones below.
    snap["text"]
        .as_str()
        .unwrap()
        .trim_end_matches('\n')
        .to_owned()
}

fn event_types(home: &Path, id: &str) -> Vec<String> {
    logged_events(&home.join("sessions").join(id))
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn run_then_wait_then_snapshot_shows_the_answer_and_never_the_marker() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);

    let run = sandbox
        .run_in(&home, &["run", &id, "echo answer-$((6*7))"])
        .expect_code(0)
        .result();
    assert_eq!(run["completed"], true);
    assert_eq!(run["timedOut"], false);
    let marker = run["marker"].as_str().unwrap().to_owned();

    let waited = sandbox
        .run_in(
            &home,
            &["wait", &id, "--text", "answer-42", "--timeout", "5000"],
        )
        .expect_code(0)
        .result();
    assert_eq!(waited["matched"], true);
    assert_eq!(waited["matchedText"], "answer-42");

    let text = snapshot_text(&sandbox, &home, &id);
    assert!(text.contains("answer-42"), "{text}");
    assert!(text.contains("echo answer-$((6*7))"), "{text}");
    assert!(!text.contains(&marker), "marker shown: {text}");
    assert!(!text.contains("7770"), "marker suffix shown: {text}");

    let structured = sandbox
        .run_in(&home, &["snapshot", &id, "--format", "structured"])
        .expect_code(0)
        .result();
    assert_eq!(
        (structured["cols"].as_u64(), structured["rows"].as_u64()),
        (Some(80), Some(24))
    );
    assert_eq!(structured["visibleLines"].as_array().unwrap().len(), 24);
    assert!(
        structured["cursorRow"].as_u64().unwrap() >= 2,
        "{structured:#}"
    );

    let types = event_types(&home, &id);
    assert!(types.contains(&"input_run".to_owned()), "{types:?}");
    assert!(types.contains(&"run_complete".to_owned()), "{types:?}");
}

#[test]
fn human_output_counts_in_the_right_number() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let human = |args: &[&str]| {
        let mut all = vec!["--home", home.to_str().unwrap()];
        all.extend(args);
        let run = sandbox.run(all);
        run.expect_code(0);
        run.stdout
    };
    let seq = |line: String| -> String {
        line.trim_end()
            .trim_end_matches(['.', ')'])
            .rsplit(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    let typed = human(&["type", &id, "x"]);
    assert_eq!(
        typed,
        format!("Typed text into session at seq {}.\n", seq(typed.clone()))
    );
    let pasted = human(&["paste", &id, "é"]);
    assert_eq!(
        pasted,
        format!("Pasted text into session at seq {}.\n", seq(pasted.clone()))
    );
    let sent = human(&["send-keys", &id, "Enter"]);
    assert_eq!(
        sent,
        format!("Sent 1 key (1 byte, seq {}).\n", seq(sent.clone()))
    );
    let sent = human(&["send-keys", &id, "Up", "Down"]);
    assert_eq!(
        sent,
        format!("Sent 2 keys (6 bytes, seq {}).\n", seq(sent.clone()))
    );
}

#[test]
fn an_unreachable_host_is_named_by_its_session_id() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let sidecar: Value = serde_json::from_str(
        &std::fs::read_to_string(home.join("sessions").join(&id).join("host.json")).unwrap(),
    )
    .unwrap();
    // The host runs, but nobody can reach it any more.
    std::fs::remove_file(sidecar["socket"].as_str().unwrap()).unwrap();
    let run = sandbox.run_in(&home, &["type", &id, "x"]);
    run.expect_code(6);
    let message = run.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(!message.contains("<id>"), "{message}");
    assert!(
        message.contains(&format!("agent-tty inspect {id}")),
        "{message}"
    );
}

#[test]
fn type_and_send_keys_enter_execute_a_command() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let typed = sandbox
        .run_in(&home, &["type", &id, "echo typed-$((40+2))"])
        .expect_code(0)
        .result();
    assert!(typed["seq"].is_u64(), "{typed:#}");
    sandbox
        .run_in(&home, &["send-keys", &id, "Enter"])
        .expect_code(0);
    sandbox
        .run_in(
            &home,
            &["wait", &id, "--text", "typed-42", "--timeout", "5000"],
        )
        .expect_code(0);
    let types = event_types(&home, &id);
    assert!(types.contains(&"input_text".to_owned()), "{types:?}");
    assert!(types.contains(&"input_keys".to_owned()), "{types:?}");
}

/// Pasted text cannot close its brackets early: what follows a pasted
/// `ESC [201~` stays pasted text instead of reaching the shell as
/// keystrokes (a paste of untrusted text would otherwise run commands).
#[test]
fn a_paste_cannot_break_out_of_its_brackets() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let injected = sandbox.root().join("INJECTED");
    let text = format!("echo one\x1b[201~\ntouch {}\n", injected.display());
    sandbox.run_in(&home, &["paste", &id, &text]).expect_code(0);
    // Throw the pasted line away, then prove the shell has read everything
    // before it: a command the paste let through would have run by now.
    sandbox
        .run_in(&home, &["send-keys", &id, "Ctrl+C"])
        .expect_code(0);
    sandbox
        .run_in(&home, &["run", &id, "echo after-the-paste"])
        .expect_code(0);
    assert!(!injected.exists(), "the paste ran a command");
    let pasted: Vec<String> = logged_events(&home.join("sessions").join(&id))
        .into_iter()
        .filter(|e| e["type"] == "input_paste")
        .map(|e| e["payload"]["data"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        pasted,
        [format!(
            "\x1b[200~echo one[201~\ntouch {}\n\x1b[201~",
            injected.display()
        )]
    );
}

#[test]
fn ctrl_c_interrupts_a_sleep() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    sandbox
        .run_in(&home, &["run", &id, "sleep 100", "--no-wait"])
        .expect_code(0);
    // Let bash start the sleep before interrupting it.
    sandbox
        .run_in(
            &home,
            &["wait", &id, "--idle-ms", "300", "--timeout", "5000"],
        )
        .expect_code(0);
    sandbox
        .run_in(&home, &["send-keys", &id, "Ctrl+C"])
        .expect_code(0);
    // Were the sleep still running, this command would sit unread behind it.
    let after = sandbox
        .run_in(
            &home,
            &["run", &id, "echo after-$((2+3))", "--timeout", "5000"],
        )
        .expect_code(0)
        .result();
    assert_eq!(after["completed"], true);
    assert!(snapshot_text(&sandbox, &home, &id).contains("after-5"));
}

#[test]
fn a_wait_that_times_out_is_a_success_envelope_with_exit_11() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let run = sandbox.run_in(&home, &["wait", &id, "--text", "never", "--timeout", "300"]);
    run.expect_code(11);
    let result = run.result();
    assert_eq!(result["timedOut"], true);
    assert_eq!(result["matched"], false);
    assert!(result["capturedAtSeq"].is_u64(), "{result:#}");

    // `run` follows 0.5: a timeout is a result, not a failure.
    let slow = sandbox.run_in(&home, &["run", &id, "sleep 2", "--timeout", "200"]);
    slow.expect_code(0);
    assert_eq!(slow.result()["timedOut"], true);
}

#[test]
fn an_unknown_key_exits_2_and_sends_nothing() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let run = sandbox.run_in(&home, &["send-keys", &id, "Enter", "NotAKey"]);
    run.expect_code(2);
    let error = &run.json()["error"];
    assert_eq!(error["code"], "INVALID_KEYS");
    assert!(error["message"].as_str().unwrap().contains("NotAKey"));
    assert!(!event_types(&home, &id).contains(&"input_keys".to_owned()));
}

#[rstest]
#[case(&["type", "ID", "hello"])]
#[case(&["paste", "ID", "hello"])]
#[case(&["send-keys", "ID", "Enter"])]
#[case(&["run", "ID", "true"])]
#[case(&["resize", "ID", "--cols", "100", "--rows", "30"])]
#[case(&["signal", "ID", "INT"])]
fn input_to_an_exited_session_exits_4(#[case] args: &[&str]) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let created = sandbox
        .run_in(&home, &["create", "--", "sh", "-c", "echo done"])
        .expect_code(0)
        .result();
    let id = created["sessionId"].as_str().unwrap();
    sandbox
        .run_in(&home, &["wait", id, "--exit", "--timeout", "5000"])
        .expect_code(0);
    agent_tty_e2e::eventually(std::time::Duration::from_secs(5), || {
        let m: Value = serde_json::from_str(
            &std::fs::read_to_string(home.join("sessions").join(id).join("session.json")).ok()?,
        )
        .ok()?;
        (m["status"] == "exited").then_some(())
    })
    .expect("the Session is marked exited");
    let args: Vec<&str> = args
        .iter()
        .map(|a| if *a == "ID" { id } else { a })
        .collect();
    let run = sandbox.run_in(&home, &args);
    run.expect_code(4);
    assert_eq!(run.json()["error"]["code"], "SESSION_NOT_RUNNING");
}

#[rstest]
#[case(&["snapshot", "01JD3Z6X8K4M2N5P7Q9R1S3T5V"], 3, "SESSION_NOT_FOUND")]
#[case(&["type", "../escape", "x"], 2, "INVALID_SESSION_ID")]
// 0.5's order: signal, resize and wait look for the Session before their
// other arguments.
#[case(&["signal", "01JD3Z6X8K4M2N5P7Q9R1S3T5V", "NOPE"], 3, "SESSION_NOT_FOUND")]
#[case(&["resize", "01JD3Z6X8K4M2N5P7Q9R1S3T5V", "--cols", "0", "--rows", "5"], 3, "SESSION_NOT_FOUND")]
#[case(&["wait", "01JD3Z6X8K4M2N5P7Q9R1S3T5V", "--text", "a", "--exit"], 3, "SESSION_NOT_FOUND")]
#[case(&["wait", "01JD3Z6X8K4M2N5P7Q9R1S3T5V", "--idle-ms", "soon"], 3, "SESSION_NOT_FOUND")]
fn bad_requests_get_the_contract_code(
    #[case] args: &[&str],
    #[case] exit: i32,
    #[case] code: &str,
) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    std::fs::create_dir_all(home.join("sessions")).unwrap();
    let run = sandbox.run_in(&home, args);
    run.expect_code(exit);
    assert_eq!(run.json()["error"]["code"], code);
}

#[test]
fn resize_and_signal_reach_the_session_and_are_logged() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    sandbox
        .run_in(&home, &["resize", &id, "--cols", "100", "--rows", "30"])
        .expect_code(0);
    let snap = sandbox
        .run_in(&home, &["snapshot", &id, "--format", "structured"])
        .expect_code(0)
        .result();
    assert_eq!(
        (snap["cols"].as_u64(), snap["rows"].as_u64()),
        (Some(100), Some(30))
    );
    let sent = sandbox
        .run_in(&home, &["signal", &id, "winch"])
        .expect_code(0)
        .result();
    assert_eq!(sent["signal"], "SIGWINCH");
    let types = event_types(&home, &id);
    assert!(types.contains(&"resize".to_owned()), "{types:?}");
    assert!(types.contains(&"signal".to_owned()), "{types:?}");
}

/// Runs `args` (after `--json --home <home>`) from a shell whose
/// `XDG_RUNTIME_DIR` differs from the one `create` ran in.
fn run_from_another_shell(sandbox: &Sandbox, home: &Path, args: &[&str]) -> agent_tty_e2e::Run {
    let elsewhere = sandbox.root().join("another-runtime");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let mut all = vec!["--json", "--home", home.to_str().unwrap()];
    all.extend(args);
    sandbox
        .command(all)
        .env("XDG_RUNTIME_DIR", &elsewhere)
        .output()
        .expect("agent-tty runs")
        .into()
}

#[test]
fn any_shell_of_the_user_drives_a_session_whatever_its_runtime_dir() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let sidecar: Value = serde_json::from_str(
        &std::fs::read_to_string(home.join("sessions").join(&id).join("host.json")).unwrap(),
    )
    .unwrap();
    let socket = PathBuf::from(sidecar["socket"].as_str().expect("the socket is recorded"));
    assert!(
        socket.starts_with(sandbox.root().join("runtime")),
        "{socket:?}"
    );

    let typed = run_from_another_shell(&sandbox, &home, &["type", &id, "echo from-"]);
    typed.expect_code(0);
    let ran = run_from_another_shell(&sandbox, &home, &["run", &id, "echo elsewhere"]);
    assert_eq!(ran.expect_code(0).result()["completed"], true);
    run_from_another_shell(&sandbox, &home, &["signal", &id, "WINCH"]).expect_code(0);
    assert!(snapshot_text(&sandbox, &home, &id).contains("from-echo elsewhere"));
}

/// An ended Session exactly as agent-tty 0.5 leaves it: no sidecar, no
/// `creationCols`, events with its field names, a marker echo from `run`.
fn write_05_session(home: &Path, id: &str) -> PathBuf {
    let dir = home.join("sessions").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = json!({
        "version": 1, "sessionId": id,
        "createdAt": "2026-11-20T10:00:00.000Z", "updatedAt": "2026-11-20T10:05:00.000Z",
        "status": "exited", "command": ["bash"], "cwd": "/tmp", "shell": "/bin/bash",
        "term": "xterm-256color", "cols": 80, "rows": 24,
        "hostPid": null, "childPid": null, "exitCode": 0, "exitSignal": null,
    });
    std::fs::write(
        dir.join("session.json"),
        serde_json::to_string_pretty(&manifest).unwrap(),
    )
    .unwrap();
    let marker = "M05run1";
    let events = [
        json!({"type": "output", "payload": {"data": "$ "}}),
        json!({"type": "input_run", "payload": {"command": "ls", "marker": marker, "noWait": false}}),
        json!({"type": "output", "payload": {"data": format!("ls; printf '\\033]7770;%s\\007' {marker}\r\n")}}),
        json!({"type": "output", "payload": {"data": "file-one  file-two\r\n"}}),
        json!({"type": "output", "payload": {"data": format!("\u{1b}]7770;{marker}\u{7}$ ")}}),
        json!({"type": "run_complete", "payload": {"marker": marker, "inputRunSeq": 1}}),
        json!({"type": "resize", "payload": {"cols": 40, "rows": 10}}),
        json!({"type": "input_text", "payload": {"data": "exit\r"}}),
        json!({"type": "output", "payload": {"data": "exit\r\nlast words\r\n"}}),
        json!({"type": "exit", "payload": {"exitCode": 0, "exitSignal": null}}),
    ];
    let mut log = String::new();
    for (seq, mut e) in events.into_iter().enumerate() {
        e["seq"] = json!(seq);
        e["ts"] = json!(format!("2026-11-20T10:00:0{}.000Z", seq % 10));
        log.push_str(&e.to_string());
        log.push('\n');
    }
    // agent-tty 0.5 may leave a torn last line behind.
    log.push_str(r#"{"seq":10,"ts":"2026-11-20T10:00:"#);
    std::fs::write(dir.join("events.jsonl"), log).unwrap();
    dir
}

#[test]
fn snapshot_of_an_ended_05_session_shows_its_last_screen() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("old");
    let id = "01JCZZ0000000000000000000A";
    write_05_session(&home, id);
    let text = snapshot_text(&sandbox, &home, id);
    assert_eq!(text, "$ ls\nfile-one  file-two\n$ exit\nlast words");
    let structured = sandbox
        .run_in(&home, &["snapshot", id, "--format", "structured"])
        .expect_code(0)
        .result();
    assert_eq!(
        (structured["cols"].as_u64(), structured["rows"].as_u64()),
        (Some(40), Some(10))
    );
    assert!(structured.get("status").is_none(), "0.5's keys only");
    let human = sandbox.run([
        "--home",
        home.to_str().unwrap(),
        "snapshot",
        id,
        "--format",
        "text",
    ]);
    human.expect_code(0);
    assert!(
        human.stdout.contains(&format!("Text:\n{text}")),
        "{}",
        human.stdout
    );
    // An ended Session is judged on its final screen, as 0.5's offline replay.
    let waited = sandbox.run_in(&home, &["wait", id, "--text", "never", "--timeout", "0"]);
    waited.expect_code(10);
    assert_eq!(waited.json()["error"]["code"], "REPLAY_ERROR");
}

/// A Session whose manifest and Event Log ask for a terminal far larger than
/// `create` or `resize` would accept, as a hostile or damaged Home might.
fn write_oversized_session(home: &Path, id: &str) {
    let dir = home.join("sessions").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = json!({
        "version": 1, "sessionId": id,
        "createdAt": "2026-11-20T10:00:00.000Z", "updatedAt": "2026-11-20T10:05:00.000Z",
        "status": "exited", "command": ["bash"], "cwd": "/tmp",
        "cols": 65535, "rows": 65535, "creationCols": 65535, "creationRows": 65535,
        "hostPid": null, "childPid": null, "exitCode": 0, "exitSignal": null,
    });
    std::fs::write(dir.join("session.json"), manifest.to_string()).unwrap();
    let events = [
        json!({"type": "output", "payload": {"data": "hello"}}),
        json!({"type": "resize", "payload": {"cols": 65535, "rows": 65535}}),
        json!({"type": "output", "payload": {"data": " world"}}),
        json!({"type": "exit", "payload": {"exitCode": 0, "exitSignal": null}}),
    ];
    let mut log = String::new();
    for (seq, mut e) in events.into_iter().enumerate() {
        e["seq"] = json!(seq);
        e["ts"] = json!("2026-11-20T10:00:00.000Z");
        log.push_str(&e.to_string());
        log.push('\n');
    }
    std::fs::write(dir.join("events.jsonl"), log).unwrap();
}

#[test]
fn an_oversized_terminal_in_a_log_is_read_at_the_largest_supported_size() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("hostile");
    let id = "01JCZZ0000000000000000000B";
    write_oversized_session(&home, id);
    let structured = sandbox
        .run_in(&home, &["snapshot", id, "--format", "structured"])
        .expect_code(0)
        .result();
    assert_eq!(
        (structured["cols"].as_u64(), structured["rows"].as_u64()),
        (Some(1000), Some(1000))
    );
    assert_eq!(snapshot_text(&sandbox, &home, id), "hello world");
    let waited = sandbox.run_in(&home, &["wait", id, "--text", "hello world"]);
    assert_eq!(waited.expect_code(0).result()["matched"], true);
}

#[rstest]
#[case::create_cols(&["create", "--cols", "1001", "--", "true"], "--cols")]
#[case::create_rows(&["create", "--rows", "65535", "--", "true"], "--rows")]
#[case::resize_cols(&["resize", "01JD3Z6X8K4M2N5P7Q9R1S3T5V", "--cols", "1001", "--rows", "5"], "--cols")]
#[case::resize_rows(&["resize", "01JD3Z6X8K4M2N5P7Q9R1S3T5V", "--cols", "5", "--rows", "4000"], "--rows")]
fn sizes_beyond_the_limit_are_invalid_dimensions_naming_it(
    #[case] args: &[&str],
    #[case] flag: &str,
) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    // resize looks for its Session first (0.5's order): one whose manifest
    // says running is enough, since the size is refused before any request.
    let target = args.get(1).copied().filter(|a| !a.starts_with('-'));
    if let Some(id) = target {
        agent_tty_e2e::write_session(&home, id, "running", None);
    }
    let run = sandbox.run_in(&home, args);
    run.expect_code(2);
    let error = &run.json()["error"];
    assert_eq!(error["code"], "INVALID_DIMENSIONS");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(flag) && message.contains("1000"),
        "{message}"
    );
    let sessions = std::fs::read_dir(home.join("sessions")).map_or(0, |rd| rd.count());
    assert_eq!(
        sessions,
        usize::from(target.is_some()),
        "no Session was created"
    );
}
