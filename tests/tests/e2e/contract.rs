//! End-to-end tests of the agent-tty 0.5 contract (docs/CONTRACT.md): argument
//! parsing, global flags and context errors, the Home's `config.json`, error
//! codes and check order, and every result shape of `create list inspect
//! destroy type paste send-keys resize wait snapshot version run signal
//! screenshot record export`, pinned by insta
//! snapshots in `snapshots/contract__*.snap` that read side by side with the
//! contract. Homes recorded by 0.5 itself (`tests/fixtures/agent-tty-0.5`)
//! are listed, inspected, snapshotted and waited on, and their recorded
//! `--json` outputs are compared field for field.

use agent_tty_e2e::{agent_tty, bash_session, dead_pid, write_session, Run, Sandbox};
use rstest::rstest;
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

const ID: &str = "01JD3Z6X8K4M2N5P7Q9R1S3T5V";

/// insta settings shared by every shape: snapshots beside this file, ids,
/// times, pids, paths and counters that vary by run redacted.
macro_rules! assert_shape {
    ($name:expr, $value:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_json_snapshot!(concat!("contract__", $name), $value, {
                ".timestamp" => "[timestamp]",
                ".**.sessionId" => "[session-id]",
                ".**.createdAt" => "[time]",
                ".**.updatedAt" => "[time]",
                ".**.hostPid" => "[pid]",
                ".**.childPid" => "[pid]",
                ".**.pid" => "[pid]",
                ".**.cwd" => "[path]",
                ".**.rpcSocketPath" => "[path]",
                ".**.uptime" => "[ms]",
                ".**.seq" => "[seq]",
                ".**.capturedAtSeq" => "[seq]",
                ".**.lastEventSeq" => "[seq]",
                ".**.eventCount" => "[count]",
                ".**.eventLogBytes" => "[bytes]",
                ".**.cliVersion" => "[version]",
                ".result.version" => "[version]",
                ".**.plugins" => "[plugins]",
            });
        });
    };
}

fn home_arg(home: &Path) -> &str {
    home.to_str().unwrap()
}

/// A Session running `cat` behind a fixed first line, so its screen is the
/// same on every run.
fn cat_session(sandbox: &Sandbox, home: &Path) -> (Run, String) {
    let created = sandbox.run_in(
        home,
        &[
            "create",
            "--name",
            "shapes",
            "--cols",
            "40",
            "--rows",
            "6",
            "--env",
            "SHAPE=1",
            "--",
            "sh",
            "-c",
            "printf 'ready\\n'; exec cat",
        ],
    );
    created.expect_code(0);
    let id = created.result()["sessionId"].as_str().unwrap().to_owned();
    sandbox
        .run_in(
            home,
            &["wait", &id, "--text", "ready", "--timeout", "10000"],
        )
        .expect_code(0);
    (created, id)
}

#[test]
fn every_result_shape_matches_the_contract() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("shapes");
    let (created, id) = cat_session(&sandbox, &home);
    assert_shape!("create", created.json());
    assert_shape!(
        "list",
        sandbox.run_in(&home, &["list"]).expect_code(0).json()
    );
    assert_shape!(
        "inspect_live",
        sandbox
            .run_in(&home, &["inspect", &id])
            .expect_code(0)
            .json()
    );
    assert_shape!(
        "type",
        sandbox
            .run_in(&home, &["type", &id, "hello"])
            .expect_code(0)
            .json()
    );
    let keys = sandbox.run_in(&home, &["send-keys", &id, "Enter"]);
    assert_shape!("send_keys", keys.expect_code(0).json());
    let after = keys.result()["seq"].as_u64().unwrap().to_string();
    assert_shape!(
        "wait_text",
        sandbox
            .run_in(
                &home,
                &[
                    "wait",
                    &id,
                    "--regex",
                    "hello\nhel+o",
                    "--after-seq",
                    &after,
                    "--timeout",
                    "10000"
                ],
            )
            .expect_code(0)
            .json()
    );
    assert_shape!(
        "wait_cursor_and_stable",
        sandbox
            .run_in(
                &home,
                &[
                    "wait",
                    &id,
                    "--cursor-row",
                    "3",
                    "--cursor-col",
                    "0",
                    "--screen-stable-ms",
                    "100",
                    "--timeout",
                    "10000",
                ],
            )
            .expect_code(0)
            .json()
    );
    assert_shape!(
        "paste",
        sandbox
            .run_in(&home, &["paste", &id, "pasted"])
            .expect_code(0)
            .json()
    );
    sandbox
        .run_in(&home, &["send-keys", &id, "Enter"])
        .expect_code(0);
    sandbox
        .run_in(
            &home,
            &["wait", &id, "--text", "pasted", "--timeout", "10000"],
        )
        .expect_code(0);
    assert_shape!(
        "resize",
        sandbox
            .run_in(&home, &["resize", &id, "--cols", "30", "--rows", "8"])
            .expect_code(0)
            .json()
    );
    let timed_out = sandbox.run_in(&home, &["wait", &id, "--text", "never", "--timeout", "100"]);
    assert_shape!("wait_timeout", timed_out.expect_code(11).json());
    let legacy = sandbox.run_in(&home, &["wait", &id, "--exit", "--timeout", "100"]);
    assert_shape!("wait_exit_timeout", legacy.expect_code(11).json());
    // The screen settles (resize is logged after the paste's echo).
    sandbox
        .run_in(
            &home,
            &[
                "wait",
                &id,
                "--screen-stable-ms",
                "200",
                "--timeout",
                "10000",
            ],
        )
        .expect_code(0);
    assert_shape!(
        "snapshot_structured_cells",
        sandbox
            .run_in(
                &home,
                &["snapshot", &id, "--include-cells", "--include-scrollback"]
            )
            .expect_code(0)
            .json()
    );
    assert_shape!(
        "snapshot_text",
        sandbox
            .run_in(&home, &["snapshot", &id, "--format", "text"])
            .expect_code(0)
            .json()
    );
    assert_shape!(
        "destroy",
        sandbox
            .run_in(&home, &["destroy", &id])
            .expect_code(0)
            .json()
    );
    assert_shape!(
        "inspect_ended",
        sandbox
            .run_in(&home, &["inspect", &id])
            .expect_code(0)
            .json()
    );
    assert_shape!(
        "wait_exit_ended",
        sandbox
            .run_in(&home, &["wait", &id, "--exit"])
            .expect_code(0)
            .json()
    );
    assert_shape!(
        "list_all",
        sandbox
            .run_in(&home, &["ls", "--all"])
            .expect_code(0)
            .json()
    );
    assert_shape!(
        "version",
        sandbox.run(["version", "--json"]).expect_code(0).json()
    );
    // Reading never writes an artifact into the Session (0.5 did).
    assert!(!home.join("sessions").join(&id).join("artifacts").exists());
}

#[test]
fn human_lines_are_0_5s() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("human");
    let (_, id) = cat_session(&sandbox, &home);
    let h = home_arg(&home);
    let human = |args: &[&str]| {
        let mut all = vec!["--home", h];
        all.extend(args);
        let run = sandbox.run(all);
        run.expect_code(0);
        run.stdout
    };
    // 0.5's line, then (ours) the name the Session was created with.
    assert_eq!(
        human(&["list"]),
        format!("{id}  running  sh -c printf 'ready\\n'; exec cat  (shapes)\n")
    );
    assert!(human(&["resize", &id, "--cols", "40", "--rows", "6"])
        .starts_with("Resized session to 40x6."));
    let snap = human(&["snapshot", &id]);
    assert!(
        snap.starts_with(&format!("Session ID: {id}\nCaptured At Seq: ")),
        "{snap}"
    );
    assert!(snap.contains("Format: structured\nSize: 40x6\nCursor: row 1, col 0\nAlt Screen: no\nVisible Lines (6):\n  [0] ready\n  [1] \n"), "{snap}");
    let waited = human(&["wait", &id, "--text", "ready"]);
    assert!(
        waited.starts_with("Matched: ready\nCursor: row 1, col 0\ncapturedAtSeq: "),
        "{waited}"
    );
    let inspected = human(&["inspect", &id]);
    assert!(
        inspected
            .lines()
            .any(|l| l.starts_with("Renderer: ") && l.ends_with(" (live-host, healthy)")),
        "{inspected}"
    );
    for line in [
        format!("Session ID: {id}"),
        "Name: shapes".into(),
        "Status: running".into(),
        "Size: 40x6".into(),
        "Renderer: alacritty_terminal (live-host, healthy)".into(),
        "Artifacts: 0 total (none), health: no-artifacts".into(),
    ] {
        assert!(
            inspected.lines().any(|l| l == line),
            "{line:?} in\n{inspected}"
        );
    }
    assert_eq!(
        human(&["destroy", &id]),
        format!("Session destroyed: {id}\n")
    );
    let ended = human(&["wait", &id, "--exit"]);
    // 0.5 says "Process exited with code 0." of a Session its SIGHUP
    // ended; ours names the signal.
    assert!(
        ended.starts_with("Process exited")
            || ended.starts_with("Process was killed by SIG")
            || ended.starts_with("Wait condition met."),
        "{ended}"
    );
}

// ----- argument parsing ---------------------------------------------------

#[test]
fn options_are_recognised_anywhere_before_double_dash() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("argv");
    let (_, id) = cat_session(&sandbox, &home);
    let h = home_arg(&home);
    // `--json` after variadic keys is ours, not a key.
    let sent = sandbox.run([
        "--home",
        h,
        "send-keys",
        &id,
        "Down",
        "Down",
        "Enter",
        "--json",
    ]);
    sent.expect_code(0);
    assert_eq!(sent.result()["accepted"], json!(["Down", "Down", "Enter"]));
    // `--home` after the keys, human output.
    let sent = sandbox.run(["send-keys", &id, "Enter", "--home", h]);
    sent.expect_code(0);
    assert!(
        sent.stdout.starts_with("Sent 1 key (1 byte, seq "),
        "{}",
        sent.stdout
    );
    // After `--` every word is text.
    let typed = sandbox.run(["--home", h, "--json", "type", &id, "--", "--json"]);
    typed.expect_code(0);
    sandbox
        .run_in(&home, &["wait", &id, "--text", "--json"])
        .expect_code(0);
    // `create --name x sleep 100 --json`: `--json` is agent-tty's.
    let created = sandbox.run([
        "--home", h, "create", "--name", "x", "sleep", "100", "--json",
    ]);
    created.expect_code(0);
    let new_id = created.result()["sessionId"].as_str().unwrap().to_owned();
    let inspected = sandbox.run_in(&home, &["inspect", &new_id]).result();
    assert_eq!(inspected["session"]["command"], json!(["sleep", "100"]));
    assert_eq!(inspected["session"]["name"], "x");
    // Global flags after the subcommand.
    let listed = sandbox.run([
        "list",
        "--home",
        h,
        "--log-level",
        "debug",
        "--no-color",
        "--json",
    ]);
    assert_eq!(
        listed.expect_code(0).result()["sessions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[rstest]
#[case::unknown_option(&["create", "/bin/sh", "-c", "x"], "create")]
#[case::missing_rows(&["resize", ID, "--cols", "5"], "resize")]
#[case::unknown_command(&["bogus"], "agent-tty")]
#[case::missing_keys(&["send-keys", ID], "send-keys")]
fn usage_errors_are_an_envelope_with_json_and_exit_2(#[case] args: &[&str], #[case] command: &str) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("usage");
    let run = sandbox.run_in(&home, args);
    run.expect_code(2);
    let v = run.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["command"], command);
    assert_eq!(v["error"]["code"], "INVALID_INPUT");
    assert_eq!(v["error"]["retryable"], false);
    // Without --json: text on stderr, nothing on stdout.
    let mut plain: Vec<&str> = vec!["--home", home_arg(&home)];
    plain.extend(args);
    let run = sandbox.run(plain);
    run.expect_code(2);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(!run.stderr.is_empty());
}

/// `--json` taken as an option's value (an option's value is the next word,
/// as in 0.5) still makes a failure an envelope: JSON mode for errors is the
/// typed word (contract §2.1). Never text for a script that asked for JSON.
#[rstest]
#[case::cols(&["create", "--cols", "--json"], "create", "INVALID_DIMENSIONS", 2)]
#[case::home(&["--home", "--json", "list"], "list", "INVALID_INPUT", 2)]
#[case::text(&["wait", ID, "--text", "--json"], "wait", "SESSION_NOT_FOUND", 3)]
fn a_failure_is_an_envelope_when_json_was_typed_as_an_options_value(
    #[case] args: &[&str],
    #[case] command: &str,
    #[case] code: &str,
    #[case] status: i32,
) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("typed");
    let mut all: Vec<&str> = vec!["--home", home_arg(&home)];
    if args[0] == "--home" {
        all.clear();
    }
    all.extend(args);
    let run = sandbox.run(all);
    run.expect_code(status);
    let v = run.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["command"], command);
    assert_eq!(v["error"]["code"], code, "{v:#}");
    assert!(v["error"]["message"].as_str().is_some());
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[rstest]
#[case::log_level(&["--log-level", "loud", "list"], "INVALID_INPUT", "Log level must be one of debug, info, warn, or error.")]
#[case::log_level_after(&["list", "--log-level", "loud"], "INVALID_INPUT", "Log level must be one of")]
#[case::renderer(&["--renderer", "nope", "list"], "INVALID_INPUT", "Renderer must be one of: ghostty-web, libghostty-vt.")]
#[case::timeout_ms(&["--timeout-ms=-1", "list"], "INVALID_DURATION", "--timeout-ms must be a non-negative integer.")]
#[case::timeout_ms_word(&["list", "--timeout-ms", "soon"], "INVALID_DURATION", "--timeout-ms must be a non-negative integer.")]
#[case::relative_home(&["--home", "rel/home", "list"], "INVALID_INPUT", "--home must be an absolute path.")]
#[case::empty_home(&["--home", "", "list"], "INVALID_INPUT", "--home must not be empty.")]
fn context_errors_use_the_agent_tty_command(
    #[case] args: &[&str],
    #[case] code: &str,
    #[case] says: &str,
) {
    let sandbox = Sandbox::new();
    let mut all = vec!["--json"];
    all.extend(args);
    let run = sandbox.run(all);
    run.expect_code(2);
    let v = run.json();
    assert_eq!(v["command"], "agent-tty");
    assert_eq!(v["error"]["code"], code);
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.starts_with(says), "{message}");
}

#[test]
fn relative_agent_tty_home_is_refused_before_any_command() {
    let sandbox = Sandbox::new();
    let run: Run = sandbox
        .command(["list", "--json"])
        .env("AGENT_TTY_HOME", "relative")
        .output()
        .unwrap()
        .into();
    run.expect_code(2);
    let v = run.json();
    assert_eq!(v["command"], "agent-tty");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("AGENT_TTY_HOME must be an absolute path."));
    assert_eq!(v["error"]["details"]["source"], "env");
}

#[test]
fn every_global_flag_is_accepted_with_a_valid_value() {
    let sandbox = Sandbox::new();
    let run = sandbox.run([
        "--profile",
        "reference-light",
        "--renderer",
        "libghostty-vt",
        "--log-level",
        "warn",
        "--timeout-ms",
        "5000",
        "--no-color",
        "version",
        "--json",
    ]);
    run.expect_code(0);
    let r = run.result();
    assert_eq!(r["protocolVersion"], "0.1.0");
    let caps: Vec<&str> = r["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        caps,
        [
            "snapshot",
            "wait",
            "screenshot",
            "record-export-asciicast",
            "record-export-webm",
            "dashboard"
        ]
    );
    // Human `version` has no capabilities and 0.5's first two lines.
    let human = sandbox.run(["version"]);
    assert!(human.stdout.starts_with("agent-tty "), "{}", human.stdout);
    assert!(human
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("protocol 0.1.0"));
}

#[rstest]
#[case::type_text(&["type", "ID", "\u{FFFD}"], "type")]
#[case::home(&["--home", "/tmp/\u{FFFD}", "list"], "list")]
fn non_utf8_arguments_are_invalid_input_never_a_panic(
    #[case] args: &[&str],
    #[case] command: &str,
) {
    let sandbox = Sandbox::new();
    // U+FFFD in the table stands for the byte 0xFF.
    let os: Vec<std::ffi::OsString> = std::iter::once(OsStr::new("--json").to_owned())
        .chain(args.iter().map(|a| {
            let bytes: Vec<u8> = a
                .replace('\u{FFFD}', "\u{1}")
                .bytes()
                .map(|b| if b == 1 { 0xff } else { b })
                .collect();
            OsStr::from_bytes(&bytes).to_owned()
        }))
        .collect();
    let run = sandbox.run(os);
    run.expect_code(2);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["command"], command);
    assert_eq!(v["error"]["code"], "INVALID_INPUT");
}

#[rstest]
#[case::inspect(&["inspect", "../x"])]
#[case::destroy(&["destroy", ".."])]
#[case::type_text(&["type", "a/b", "x"])]
#[case::paste(&["paste", "a\\b", "x"])]
#[case::send_keys(&["send-keys", "a/b", "Enter"])]
#[case::resize(&["resize", "a/b", "--cols", "1", "--rows", "1"])]
#[case::wait(&["wait", "a/b", "--text", "x"])]
#[case::snapshot(&["snapshot", "../x"])]
fn a_bad_session_id_is_invalid_session_id_on_every_command(#[case] args: &[&str]) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("ids");
    let run = sandbox.run_in(&home, args);
    run.expect_code(2);
    assert_eq!(run.json()["error"]["code"], "INVALID_SESSION_ID");
}

#[test]
fn help_groups_commands_as_0_5_does() {
    let sandbox = Sandbox::new();
    let help = sandbox.run(["--help"]);
    help.expect_code(0);
    let out = &help.stdout;
    assert!(out.starts_with("MANDATORY FOR CODING AGENTS"), "{out}");
    let at = |s: &str| out.find(s).unwrap_or_else(|| panic!("{s:?} in\n{out}"));
    assert!(at("Lifecycle commands:") < at("Input commands:"));
    assert!(at("Input commands:") < at("Observation commands:"));
    assert!(at("Observation commands:") < at("Live view commands:"));
    assert!(at("Live view commands:") < at("Environment commands:"));
    assert!(at("  create ") < at("Input commands:"));
    assert!(at("  dashboard (d)") > at("Live view commands:"));
    // No command: help on stderr, exit 2.
    let bare = sandbox.run(Vec::<&str>::new());
    bare.expect_code(2);
    assert!(bare.stdout.is_empty());
    assert!(bare.stderr.contains("Lifecycle commands:"));
    // `d` is the dashboard (which needs a terminal).
    let d = sandbox.run(["d", "--json"]);
    d.expect_code(2);
    assert_eq!(d.json()["command"], "dashboard");
}

// ----- config.json --------------------------------------------------------

#[rstest]
#[case::not_json("{", None)]
#[case::bad_level(r#"{"logLevel": "loud"}"#, Some("logLevel"))]
#[case::unknown_key(r#"{"colour": "red"}"#, Some("colour"))]
#[case::negative_idle(r#"{"idleTimeoutMs": -5}"#, Some("idleTimeoutMs"))]
fn an_invalid_config_is_invalid_input_naming_file_and_key(
    #[case] text: &str,
    #[case] key: Option<&str>,
) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("configured");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("config.json"), text).unwrap();
    let run = sandbox.run_in(&home, &["list"]);
    run.expect_code(2);
    let v = run.json();
    assert_eq!(v["command"], "agent-tty");
    assert_eq!(v["error"]["code"], "INVALID_INPUT");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&*home.join("config.json").to_string_lossy()),
        "{message}"
    );
    if let Some(key) = key {
        assert!(message.contains(key), "{message}");
        assert_eq!(v["error"]["details"]["key"], key);
    }
}

#[test]
fn config_defaults_apply_and_flags_win() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("configured");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("config.json"),
        r#"{"logLevel":"warn","defaultProfile":"reference-light","defaultRenderer":"ghostty-web","idleTimeoutMs":600000,"defaultCols":100}"#,
    )
    .unwrap();
    let created = sandbox.run_in(&home, &["create", "--", "sleep", "300"]);
    let r = created.expect_code(0).result();
    assert_eq!(r["idleTimeoutMs"], 600000);
    let id = r["sessionId"].as_str().unwrap();
    let m = sandbox.run_in(&home, &["inspect", id]).result()["session"].clone();
    assert_eq!(m["idleTimeoutMs"], 600000);
    // The flag wins; 0 disables it and leaves it out of the manifest.
    let created = sandbox.run_in(
        &home,
        &["create", "--idle-timeout-ms", "0", "--", "sleep", "300"],
    );
    let r = created.expect_code(0).result();
    assert!(r.get("idleTimeoutMs").is_none(), "{r:#}");
    let bad = sandbox.run_in(&home, &["create", "--idle-timeout-ms", "-1", "--", "true"]);
    bad.expect_code(2);
    // An invalid log level from the environment still loses to the flag.
    let run: Run = sandbox
        .command([
            "--json",
            "--home",
            home_arg(&home),
            "--log-level",
            "info",
            "list",
        ])
        .env("AGENT_TTY_LOG_LEVEL", "loud")
        .output()
        .unwrap()
        .into();
    run.expect_code(0);
}

// ----- create -------------------------------------------------------------

#[rstest]
#[case::env(&["create", "--env", "NOEQUALS", "--cols", "0", "--", "true"], 2, "INVALID_INPUT", "--env must use KEY=VALUE format, got: NOEQUALS")]
#[case::idle(&["create", "--idle-timeout-ms", "soon", "--cols", "0", "--", "true"], 2, "INVALID_INPUT", "--idle-timeout-ms")]
#[case::name(&["create", "--name", "  ", "--cols", "0", "--", "true"], 2, "INVALID_INPUT", "--name must not be empty")]
#[case::cols(&["create", "--cols", "0", "--cwd", "/no/such", "--", "true"], 2, "INVALID_DIMENSIONS", "--cols")]
#[case::cwd(&["create", "--cwd", "/no/such", "--shell", "/no/shell", "--", "true"], 8, "STORAGE_READ_ERROR", "Working directory does not exist or is not accessible: /no/such")]
#[case::shell(&["create", "--shell", "/no/shell", "--", "true"], 2, "INVALID_INPUT", "Shell path does not exist")]
#[case::command_wins(&["create", "--shell", "/bin/sh", "--command", "/no/shell", "--", "true"], 2, "INVALID_INPUT", "--command /no/shell")]
fn create_checks_in_0_5s_order_and_leaves_nothing(
    #[case] args: &[&str],
    #[case] exit: i32,
    #[case] code: &str,
    #[case] says: &str,
) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("create");
    let run = sandbox.run_in(&home, args);
    run.expect_code(exit);
    let e = &run.json()["error"];
    assert_eq!(e["code"], code);
    assert!(e["message"].as_str().unwrap().contains(says), "{e:#}");
    let left = std::fs::read_dir(home.join("sessions")).map_or(0, |d| d.count());
    assert_eq!(left, 0, "no Session folder is left behind");
}

// ----- type / paste --file ------------------------------------------------

#[test]
fn type_and_paste_take_a_file_and_type_appends_a_newline() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("files");
    let (_, id) = cat_session(&sandbox, &home);
    let file = sandbox.root().join("input.txt");
    std::fs::write(&file, "from-a-file").unwrap();
    sandbox
        .run_in(
            &home,
            &[
                "type",
                &id,
                "--file",
                file.to_str().unwrap(),
                "--append-newline",
            ],
        )
        .expect_code(0);
    // cat echoes the line back once Enter arrives: the newline was typed.
    sandbox
        .run_in(
            &home,
            &[
                "wait",
                &id,
                "--regex",
                "from-a-file\nfrom-a-file",
                "--timeout",
                "10000",
            ],
        )
        .expect_code(0);
    let pasted = sandbox.run_in(&home, &["paste", &id, "--file", file.to_str().unwrap()]);
    assert!(pasted.expect_code(0).result()["seq"].is_u64());
    let log =
        std::fs::read_to_string(home.join("sessions").join(&id).join("events.jsonl")).unwrap();
    assert!(
        log.contains(r#""type":"input_text","payload":{"data":"from-a-file\n"}"#),
        "{log}"
    );
}

#[rstest]
#[case::both(&["type", ID, "x", "--file", "FILE"], "mutually exclusive")]
#[case::neither(&["type", ID], "Missing input text.")]
#[case::empty_text(&["paste", ID, ""], "Text must not be empty.")]
#[case::missing(&["type", ID, "--file", "/no/such/file"], "was not found.")]
#[case::directory(&["paste", ID, "--file", "/"], "must be a regular file.")]
#[case::symlink(&["type", ID, "--file", "LINK"], "must be a regular file.")]
#[case::empty_file(&["type", ID, "--file", "EMPTY"], "must not be empty.")]
#[case::too_big(&["type", ID, "--file", "BIG"], "exceeds the 10 MB limit")]
fn input_source_checks_come_before_the_session(#[case] args: &[&str], #[case] says: &str) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("files");
    let dir = sandbox.root();
    std::fs::write(dir.join("file"), "x").unwrap();
    std::fs::write(dir.join("empty"), "").unwrap();
    std::os::unix::fs::symlink(dir.join("file"), dir.join("link")).unwrap();
    std::fs::File::create(dir.join("big"))
        .unwrap()
        .set_len(10_000_001)
        .unwrap();
    let args: Vec<String> = args
        .iter()
        .map(|a| match *a {
            "FILE" => dir.join("file").display().to_string(),
            "LINK" => dir.join("link").display().to_string(),
            "EMPTY" => dir.join("empty").display().to_string(),
            "BIG" => dir.join("big").display().to_string(),
            other => other.to_owned(),
        })
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // The Session does not exist: the input is refused first anyway.
    let run = sandbox.run_in(&home, &args);
    run.expect_code(2);
    let e = &run.json()["error"];
    assert_eq!(e["code"], "INVALID_INPUT");
    assert!(e["message"].as_str().unwrap().contains(says), "{e:#}");
}

// ----- wait / resize / send-keys order ------------------------------------

#[rstest]
#[case::mixed(&["wait", ID, "--text", "a", "--exit"], 2, "INVALID_INPUT")]
#[case::text_and_regex(&["wait", ID, "--text", "a", "--regex", "b"], 2, "INVALID_INPUT")]
#[case::stable_zero(&["wait", ID, "--screen-stable-ms", "0"], 2, "INVALID_DURATION")]
#[case::row(&["wait", ID, "--cursor-row", "x"], 2, "INVALID_INPUT")]
#[case::after_seq_alone(&["wait", ID, "--after-seq", "1"], 2, "INVALID_INPUT")]
#[case::timeout(&["wait", ID, "--text", "a", "--timeout", "-5"], 2, "INVALID_DURATION")]
#[case::nested(&["wait", ID, "--regex", "(a+)+"], 2, "INVALID_INPUT")]
#[case::bad_regex(&["wait", ID, "--regex", "(open"], 2, "INVALID_INPUT")]
#[case::no_condition(&["wait", ID], 2, "INVALID_DURATION")]
#[case::idle_on_ended(&["wait", "ENDED", "--idle-ms", "10"], 4, "SESSION_NOT_RUNNING")]
#[case::text_on_ended(&["wait", "ENDED", "--text", "never"], 10, "REPLAY_ERROR")]
#[case::resize_dims(&["resize", ID, "--cols", "0", "--rows", "5"], 2, "INVALID_DIMENSIONS")]
#[case::resize_ended_first(&["resize", "ENDED", "--cols", "0", "--rows", "5"], 4, "SESSION_NOT_RUNNING")]
#[case::keys_ended_first(&["send-keys", "ENDED", "Bogus"], 4, "SESSION_NOT_RUNNING")]
#[case::destroy_twice(&["destroy", "DESTROYED"], 4, "SESSION_ALREADY_DESTROYED")]
#[case::missing(&["wait", "01JD3Z6X8K4M2N5P7Q9R1S3T00", "--regex", "(a+)+"], 3, "SESSION_NOT_FOUND")]
fn checks_run_in_0_5s_order(#[case] args: &[&str], #[case] exit: i32, #[case] code: &str) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("order");
    write_session(&home, ID, "running", None);
    let ended = "01JD3Z6X8K4M2N5P7Q9R1S3T01";
    write_session(&home, ended, "exited", None);
    let destroyed = "01JD3Z6X8K4M2N5P7Q9R1S3T02";
    write_session(&home, destroyed, "destroyed", None);
    let args: Vec<&str> = args
        .iter()
        .map(|a| match *a {
            "ENDED" => ended,
            "DESTROYED" => destroyed,
            other => other,
        })
        .collect();
    let run = sandbox.run_in(&home, &args);
    run.expect_code(exit);
    assert_eq!(run.json()["error"]["code"], code, "{}", run.stdout);
}

#[test]
fn wait_on_an_ended_session_answers_from_its_final_screen() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("ended");
    let ended = "01JD3Z6X8K4M2N5P7Q9R1S3T01";
    write_session(&home, ended, "exited", None);
    let run = sandbox.run_in(&home, &["wait", ended, "--text", "hi", "--cursor-row", "1"]);
    let r = run.expect_code(0).result();
    assert_eq!(r["matched"], true);
    assert_eq!(r["matchedText"], "hi");
    // 0.5's keys only, offline or not.
    assert!(r.get("usedOfflineReplay").is_none(), "{r:#}");
    // 0.5: a stability condition answered offline reads as unmatched.
    let run = sandbox.run_in(
        &home,
        &["wait", ended, "--text", "hi", "--screen-stable-ms", "50"],
    );
    assert_eq!(run.expect_code(0).result()["matched"], false);
    // --after-seq beyond the log can never hold.
    let run = sandbox.run_in(&home, &["wait", ended, "--text", "hi", "--after-seq", "0"]);
    run.expect_code(10);
}

// ----- Homes recorded by agent-tty 0.5 ------------------------------------

/// Homes and `--json` outputs recorded by agent-tty 0.5.0 itself (a copy of
/// the team's `shared/fixtures/agent-tty-0.5`, see its README.md).
fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/agent-tty-0.5")
}

/// Copies a tree with owner-writable modes (the Session commands write).
fn copy_tree(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
}

/// A copy of a 0.5 Home, outside the sandbox's `homes/` so its recorded
/// (long-gone) pids are never signalled when the sandbox is dropped.
fn fixture_home(sandbox: &Sandbox, name: &str) -> Option<PathBuf> {
    let from = fixtures().join(name);
    assert!(
        from.is_dir(),
        "{} is part of the repository",
        from.display()
    );
    let to = sandbox.root().join("fixtures").join(name.replace('/', "-"));
    copy_tree(&from, &to);
    Some(to)
}

fn recorded(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join("driven").join(name)).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["result"].clone()
}

const DRIVEN: &str = "01M8PJ1DE3T96EGQAZHTXVB5QJ";

#[test]
fn a_05_home_lists_and_inspects_as_0_5_recorded() {
    let sandbox = Sandbox::new();
    let Some(home) = fixture_home(&sandbox, "driven/home") else {
        return;
    };
    let listed = sandbox
        .run_in(&home, &["list", "--all"])
        .expect_code(0)
        .result();
    let mut ours: Vec<Value> = listed["sessions"].as_array().unwrap().clone();
    let mut theirs: Vec<Value> = recorded("list-all-final.json")["sessions"]
        .as_array()
        .unwrap()
        .clone();
    let key = |v: &Value| v["sessionId"].as_str().unwrap().to_owned();
    ours.sort_by_key(key);
    theirs.sort_by_key(key);
    assert_eq!(ours.len(), theirs.len());
    for (o, t) in ours.iter().zip(&theirs) {
        for (field, value) in t.as_object().unwrap() {
            assert_eq!(&o[field], value, "list field {field} of {}", key(t));
        }
    }
    let inspected = sandbox
        .run_in(&home, &["inspect", DRIVEN])
        .expect_code(0)
        .result();
    let session: Value = serde_json::from_str(
        &std::fs::read_to_string(home.join("sessions").join(DRIVEN).join("session.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(inspected["session"], session);
    // Artifacts as 0.5 counted them (its recording went to --out elsewhere).
    assert_eq!(
        inspected["artifacts"],
        recorded("inspect-after-signal.json")["artifacts"]
    );
    assert_eq!(inspected["terminationCategory"], "destroyed");
    assert_eq!(inspected["usedOfflineReplay"], false);
    assert_eq!(inspected["rendererRuntime"]["mode"], "offline-replay");
    assert_eq!(
        inspected["rendererRuntime"]["reason"],
        "session-not-running"
    );
    let lines =
        std::fs::read_to_string(home.join("sessions").join(DRIVEN).join("events.jsonl")).unwrap();
    let count = lines.lines().filter(|l| !l.trim().is_empty()).count() as u64;
    assert_eq!(inspected["eventCount"], count);
    assert_eq!(inspected["lastEventSeq"], count - 1);
}

#[test]
fn home_list_rows_have_exactly_the_keys_0_5_recorded() {
    let sandbox = Sandbox::new();
    // A Home registers itself with its first `create`, as in 0.5 (the
    // sandbox kills the Session at the end).
    let home = sandbox.home("listed");
    sandbox
        .run_in(&home, &["create", "--", "sleep", "300"])
        .expect_code(0);
    let ours = sandbox
        .run(["--json", "home", "list", "--all"])
        .expect_code(0)
        .json();
    let theirs: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("driven").join("home-list-all.json")).unwrap(),
    )
    .unwrap();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&ours), keys(&theirs));
    assert_eq!(keys(&ours["result"]), keys(&theirs["result"]));
    assert_eq!(
        keys(&ours["result"]["homes"][0]),
        keys(&theirs["result"]["homes"][0])
    );
}

/// The driven Session's log cut back to the moment 0.5 took its snapshot
/// and wait (seq 21), so the screens must be identical.
fn driven_at_seq_21(sandbox: &Sandbox) -> Option<PathBuf> {
    let home = fixture_home(sandbox, "driven/home")?;
    let log = home.join("sessions").join(DRIVEN).join("events.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let kept: String = text.lines().take(22).map(|l| format!("{l}\n")).collect();
    std::fs::write(&log, kept).unwrap();
    Some(home)
}

#[test]
fn a_05_sessions_snapshots_and_wait_match_what_0_5_recorded() {
    let sandbox = Sandbox::new();
    let Some(home) = driven_at_seq_21(&sandbox) else {
        return;
    };
    let snapshot_dir = home.join("sessions").join(DRIVEN).join("artifacts");
    let before = agent_tty_e2e::snapshot_tree(&snapshot_dir);
    let structured = sandbox
        .run_in(&home, &["snapshot", DRIVEN, "--include-cells"])
        .expect_code(0)
        .result();
    let theirs = recorded("snapshot-structured.json");
    for (field, value) in theirs.as_object().unwrap() {
        assert_eq!(&structured[field], value, "snapshot field {field}");
    }
    let text = sandbox
        .run_in(&home, &["snapshot", DRIVEN, "--format", "text"])
        .expect_code(0)
        .result();
    for (field, value) in recorded("snapshot-text.json").as_object().unwrap() {
        assert_eq!(&text[field], value, "text snapshot field {field}");
    }
    let waited = sandbox
        .run_in(&home, &["wait", DRIVEN, "--text", "40"])
        .expect_code(0)
        .result();
    for (field, value) in recorded("wait.json").as_object().unwrap() {
        assert_eq!(&waited[field], value, "wait field {field}");
    }
    assert_eq!(
        agent_tty_e2e::snapshot_tree(&snapshot_dir),
        before,
        "reading wrote nothing"
    );
}

#[test]
fn the_05_sample_home_lists_inspects_and_snapshots() {
    let sandbox = Sandbox::new();
    let Some(home) = fixture_home(&sandbox, "sample-home") else {
        return;
    };
    let running = "01M85V5AM4TYXK11Q23ZPWM2GQ";
    // Its recorded pids are long gone on this machine; make sure of it.
    let path = home.join("sessions").join(running).join("session.json");
    let mut m: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    m["hostPid"] = json!(dead_pid());
    m["childPid"] = json!(dead_pid());
    std::fs::write(&path, m.to_string()).unwrap();
    let all = sandbox
        .run_in(&home, &["ls", "--all"])
        .expect_code(0)
        .result();
    let statuses: Vec<(String, String)> = all["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["sessionId"].as_str().unwrap().into(),
                s["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    assert!(statuses.contains(&(running.into(), "failed".into())));
    for (id, _) in &statuses {
        let i = sandbox
            .run_in(&home, &["inspect", id])
            .expect_code(0)
            .result();
        assert_eq!(&i["session"]["sessionId"], &json!(id));
        let s = sandbox
            .run_in(&home, &["snapshot", id])
            .expect_code(0)
            .result();
        assert_eq!(s["visibleLines"].as_array().unwrap().len(), 24);
    }
    let inspected = sandbox.run_in(&home, &["inspect", running]).result();
    assert_eq!(inspected["terminationCategory"], "host-death");
    assert_eq!(inspected["eventCount"], 0);
    assert!(inspected.get("lastEventSeq").is_none());
    let exited = sandbox
        .run_in(&home, &["inspect", "01M85V5CXWA3AY4ZWQ46V170NN"])
        .result();
    assert_eq!(exited["terminationCategory"], "nonzero-exit");
}

// ----- 0.5's README quickstart and TUI example, unchanged -----------------

/// A tiny menu in bash: arrows move, Enter picks.
const MENU: &str = r#"items=(apple banana cherry); sel=0
draw() { printf '\033[H\033[2J'; for i in 0 1 2; do if [ $i = $sel ]; then printf '> %s\n' "${items[$i]}"; else printf '  %s\n' "${items[$i]}"; fi; done; }
draw
while IFS= read -rsn1 k; do
  if [ "$k" = $'\033' ]; then read -rsn2 k; [ "$k" = '[B' ] && sel=$(( (sel+1)%3 )); [ "$k" = '[A' ] && sel=$(( (sel+2)%3 )); draw
  elif [ -z "$k" ]; then printf 'picked %s\n' "${items[$sel]}"; break; fi
done"#;

#[test]
fn the_05_readme_quickstart_and_tui_example_run_unchanged() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("readme");
    let bin = agent_tty();
    let menu = sandbox.root().join("menu.sh");
    std::fs::write(&menu, MENU).unwrap();
    let script = format!(
        r#"set -euo pipefail
json() {{ python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }}
export AGENT_TTY_HOME="{home}"
# Quickstart
SID=$(agent-tty create --json | json '["result"]["sessionId"]')
agent-tty run "$SID" 'echo hello from agent-tty' --json > /dev/null
agent-tty wait "$SID" --text 'hello from agent-tty' --json > /dev/null
agent-tty snapshot "$SID" --format text --json | json '["result"]["text"]' | grep 'hello from agent-tty' > /dev/null
agent-tty destroy "$SID" --json > /dev/null
# TUI example
SID=$(agent-tty create --cols 80 --rows 24 --json -- bash --norc --noprofile | json '["result"]["sessionId"]')
agent-tty run "$SID" 'bash {menu}' --no-wait --json > /dev/null
agent-tty wait "$SID" --screen-stable-ms 500 --json > /dev/null
agent-tty wait "$SID" --text '> apple' --json > /dev/null
agent-tty send-keys "$SID" Down Down Enter --json | json '["result"]["accepted"]'
agent-tty wait "$SID" --text 'picked cherry' --timeout 10000 --json > /dev/null
agent-tty snapshot "$SID" --format text --json | json '["result"]["text"]'
agent-tty destroy "$SID" --json > /dev/null
"#,
        home = home.display(),
        menu = menu.display(),
    );
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out: Run = sandbox
        .isolate(&mut std::process::Command::new("bash"))
        .arg("-c")
        .arg(&script)
        .env("PATH", path)
        .output()
        .unwrap()
        .into();
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert!(
        out.stdout.contains("['Down', 'Down', 'Enter']"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("picked cherry"), "{}", out.stdout);
}

#[test]
fn the_session_sees_the_resolved_home_and_log_level() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("env");
    let created = sandbox.run_in(
        &home,
        &[
            "--log-level",
            "warn",
            "create",
            "--",
            "sh",
            "-c",
            "echo \"home=$AGENT_TTY_HOME level=$AGENT_TTY_LOG_LEVEL\"; exec sleep 300",
        ],
    );
    let id = created.expect_code(0).result()["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let expected = format!("home={} level=warn", home.display());
    sandbox
        .run_in(
            &home,
            &["wait", &id, "--text", &expected, "--timeout", "10000"],
        )
        .expect_code(0);
}

/// Replaces the values of `keys` (at any depth) that vary from run to run
/// (durations, hashes of screens that hold a prompt, sizes, paths) with a
/// placeholder, so the shape and the stable values stay pinned.
fn redact(value: &mut Value, keys: &[&str]) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if keys.contains(&key.as_str()) {
                    *v = json!(format!("[{key}]"));
                } else {
                    redact(v, keys);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact(v, keys)),
        _ => {}
    }
}

/// `run` (waited, `--no-wait`, timed out), `signal`, `screenshot` and
/// `record export`: contract §3.7, §3.11, §3.14 and §6, pinned like the rest.
#[test]
fn run_signal_and_capture_shapes_match_the_contract() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("agent");
    let id = bash_session(&sandbox, &home, &["--cols", "40", "--rows", "8"]);
    let varying = [
        "durationMs",
        "marker",
        "sha256",
        "bytes",
        "pngSizeBytes",
        "artifactPath",
        "title",
        "outputEventCount",
        "timestamp",
    ];
    let shape = |args: &[&str], code: i32| {
        let mut json = sandbox.run_in(&home, args).expect_code(code).json();
        redact(&mut json, &varying);
        json
    };
    assert_shape!(
        "run_completed_exit_7",
        shape(&["run", &id, "sh -c 'exit 7'", "--timeout", "20000"], 0)
    );
    assert_shape!(
        "run_no_wait",
        shape(&["run", &id, "sleep 30", "--no-wait"], 0)
    );
    assert_shape!("signal", shape(&["signal", &id, "SIGINT"], 0));
    assert_shape!(
        "run_timed_out",
        shape(&["run", &id, "sleep 5", "--timeout", "300"], 0)
    );
    sandbox
        .run_in(&home, &["destroy", &id, "--force"])
        .expect_code(0);
    assert_shape!("screenshot_ended", shape(&["screenshot", &id], 0));
    assert_shape!(
        "record_export_asciicast",
        shape(&["record", "export", &id, "--format", "asciicast"], 0)
    );
}

/// gc on a Home agent-tty 0.5 made: a dry run writes nothing; a real run
/// reconciles the `running` Session whose host is gone (as `failed`, without
/// signalling anything: a 0.5 Session has no pinned identity) and removes it
/// with the ended ones, leaving the Home itself.
#[test]
fn gc_collects_a_05_home() {
    let sandbox = Sandbox::new();
    let Some(home) = fixture_home(&sandbox, "sample-home") else {
        return;
    };
    // The recorded host pid may be a live process on this machine: point it
    // at one that surely is not, so the outcome does not depend on the box.
    let running = home
        .join("sessions")
        .join("01M85V5AM4TYXK11Q23ZPWM2GQ")
        .join("session.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&running).unwrap()).unwrap();
    manifest["hostPid"] = json!(dead_pid());
    manifest["childPid"] = json!(dead_pid());
    std::fs::write(&running, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    let before = agent_tty_e2e::snapshot_tree(&home);

    let dry = sandbox
        .run_in(&home, &["gc", "--dry-run"])
        .expect_code(0)
        .result();
    assert_eq!(dry["dryRun"], true);
    assert_eq!(dry["removedSessionCount"], 3, "{dry:#}");
    assert_eq!(
        agent_tty_e2e::snapshot_tree(&home),
        before,
        "a dry run wrote"
    );

    let done = sandbox.run_in(&home, &["gc"]).expect_code(0).result();
    assert_eq!(done["removedSessionCount"], 3, "{done:#}");
    let row = &done["homes"][0];
    assert_eq!(row["existed"], true);
    let mut removed: Vec<&str> = row["removedSessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    removed.sort();
    assert_eq!(
        removed,
        [
            "01M85V5AM4TYXK11Q23ZPWM2GQ",
            "01M85V5CXWA3AY4ZWQ46V170NN",
            "01M85V5FBTQN26EPCPGDNXY8SH"
        ]
    );
    assert!(home.join("sessions").is_dir(), "gc never removes a Home");
    let left = std::fs::read_dir(home.join("sessions")).unwrap().count();
    assert_eq!(left, 0);
}
