//! Exactly agent-tty 0.5 where 0.5 is strict: its socket clients get
//! results with exactly its keys (checked by the harness's strict checker,
//! `agent_tty_e2e::rpc_schema05`, written from the contract), its scripts
//! get its keys and words on the command line, and its Sessions are ended
//! with its own `destroy` request.

use agent_tty_e2e::rpc_schema05::{call, check_response, request, socket_dir, socket_path};
use agent_tty_e2e::{
    bash_session, create_session, eventually, logged_events, process_alive, read_manifest, Run,
    Sandbox,
};
use rstest::rstest;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A 0.5 client of one Session's host: every answer is checked with the
/// strict checker before the test looks at it.
struct Client {
    socket: PathBuf,
    n: usize,
}

impl Client {
    fn new(home: &Path, id: &str) -> Client {
        Client {
            socket: socket_path(home, id),
            n: 0,
        }
    }

    /// `method` with `params`; the whole answer, checked.
    fn answer(&mut self, method: &str, params: Value) -> Value {
        self.n += 1;
        let id = format!("req-{}", self.n);
        let response = call(&self.socket, &id, method, params.clone());
        if let Err(problems) = check_response(&id, method, &params, &response) {
            panic!("a 0.5 client would reject this answer: {problems}");
        }
        response
    }

    /// `method` with `params`, which must succeed: its result.
    fn ok(&mut self, method: &str, params: Value) -> Value {
        let response = self.answer(method, params.clone());
        assert_eq!(response["ok"], true, "{method} {params}: {response:#}");
        response["result"].clone()
    }

    /// `method` with `params`, which must fail with `code`: the error.
    fn err(&mut self, method: &str, params: Value, code: &str) -> Value {
        let response = self.answer(method, params.clone());
        assert_eq!(response["ok"], false, "{method} {params}: {response:#}");
        assert_eq!(
            response["error"]["code"], code,
            "{method} {params}: {response:#}"
        );
        response["error"].clone()
    }
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

/// Every method of contract §7.3, with every parameter it takes (each
/// optional one present and absent, booleans both ways), against a live
/// Session of ours; each answer must pass a 0.5 client's strict checks.
#[test]
fn every_0_5_method_answers_our_host_in_0_5s_exact_shapes() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &["--cols", "80", "--rows", "24"]);
    let dir = home.join("sessions").join(&id);
    let mut c = Client::new(&home, &id);

    let inspect = c.ok("inspect", json!({}));
    assert_eq!(inspect["session"]["sessionId"], id.as_str());
    assert_eq!(inspect["rpcSocketPath"], c.socket.to_str().unwrap());

    // Input: type, paste, mark (empty and not), sendKeys (one, several).
    let typed = c.ok("type", json!({ "text": "echo one-$((1+1))" }));
    assert_eq!(
        logged_events(&dir)[typed["seq"].as_u64().unwrap() as usize]["type"],
        "input_text"
    );
    let keys_sent = c.ok("sendKeys", json!({ "keys": ["Enter"] }));
    assert_eq!(keys_sent["bytesWritten"], 1);
    c.ok("sendKeys", json!({ "keys": ["Ctrl+A", "Ctrl+U"] }));
    let pasted = c.ok("paste", json!({ "text": "pasted-text" }));
    let logged = &logged_events(&dir)[pasted["seq"].as_u64().unwrap() as usize];
    assert_eq!(logged["type"], "input_paste");
    assert_eq!(
        logged["payload"]["data"],
        "\u{1b}[200~pasted-text\u{1b}[201~"
    );
    c.ok("sendKeys", json!({ "keys": ["Ctrl+U"] }));
    for label in ["", "checkpoint"] {
        let m = c.ok("mark", json!({ "label": label }));
        let e = &logged_events(&dir)[m["seq"].as_u64().unwrap() as usize];
        assert_eq!(e["payload"], json!({ "label": label }));
    }

    // waitForRender: each condition alone, with afterSeq, timeoutMs and
    // rendererName, and one that times out.
    let after = typed["seq"].as_u64().unwrap();
    c.ok(
        "waitForRender",
        json!({ "text": "one-2", "timeoutMs": 10000 }),
    );
    c.ok(
        "waitForRender",
        json!({ "screenStableMs": 300, "timeoutMs": 10000 }),
    );
    let now = c.ok("snapshot", json!({}));
    let (row, col) = (now["cursorRow"].clone(), now["cursorCol"].clone());
    for params in [
        json!({ "text": "one-2" }),
        json!({ "text": "one-2", "afterSeq": after, "timeoutMs": 10000 }),
        json!({ "text": "one-2", "rendererName": "libghostty-vt" }),
        json!({ "text": "one-2", "rendererName": "ghostty-web" }),
        json!({ "regex": "one-[0-9]" }),
        json!({ "screenStableMs": 200, "timeoutMs": 10000 }),
        json!({ "cursorRow": row, "timeoutMs": 10000 }),
        json!({ "cursorCol": col, "timeoutMs": 10000 }),
        json!({ "cursorRow": row, "cursorCol": col, "text": "one-2" }),
    ] {
        let r = c.ok("waitForRender", params.clone());
        assert_eq!(r["matched"], true, "{params}: {r:#}");
    }
    let timed_out = c.ok(
        "waitForRender",
        json!({ "text": "never-there", "timeoutMs": 300 }),
    );
    assert_eq!(timed_out["matched"], false);
    assert_eq!(timed_out["timedOut"], true);

    // run: waited (default and with timeoutMs), no-wait (both ways of
    // saying it), and one that times out.
    let ran = c.ok("run", json!({ "command": "echo ran-$((6*7))" }));
    assert_eq!(ran["completed"], true, "{ran:#}");
    let ran = c.ok(
        "run",
        json!({ "command": "true", "noWait": false, "timeoutMs": 10000 }),
    );
    assert_eq!(ran["completed"], true, "{ran:#}");
    let started = c.ok("run", json!({ "command": "true", "noWait": true }));
    assert_eq!(keys(&started), ["accepted", "seq"]);
    let slow = c.ok("run", json!({ "command": "sleep 2", "timeoutMs": 200 }));
    assert_eq!(slow["timedOut"], true, "{slow:#}");
    c.ok(
        "waitForRender",
        json!({ "screenStableMs": 2500, "timeoutMs": 20000 }),
    );

    // wait: idle (with and without a limit), exit that times out.
    c.ok("wait", json!({ "idleMs": 100 }));
    c.ok("wait", json!({ "idleMs": 100, "timeoutMs": 10000 }));
    let not_yet = c.ok("wait", json!({ "exit": true, "timeoutMs": 200 }));
    assert_eq!(not_yet, json!({ "timedOut": true }));

    // resize and signal.
    assert_eq!(
        c.ok("resize", json!({ "cols": 100, "rows": 30 })),
        json!({ "cols": 100, "rows": 30 })
    );
    assert_eq!(c.ok("signal", json!({ "signal": "SIGINT" })), json!({}));

    // snapshot: both formats × scrollback × cells × rendererName.
    for format in [None, Some("structured"), Some("text")] {
        for scrollback in [None, Some(false), Some(true)] {
            for cells in [None, Some(false), Some(true)] {
                for renderer in [None, Some("libghostty-vt")] {
                    let mut p = json!({});
                    if let Some(f) = format {
                        p["format"] = json!(f);
                    }
                    if let Some(s) = scrollback {
                        p["includeScrollback"] = json!(s);
                    }
                    if let Some(x) = cells {
                        p["includeCells"] = json!(x);
                    }
                    if let Some(r) = renderer {
                        p["rendererName"] = json!(r);
                    }
                    let snap = c.ok("snapshot", p.clone());
                    assert_eq!(snap["sessionId"], id.as_str(), "{p}");
                    assert_eq!(snap["cols"], 100, "{p}");
                    if format != Some("text") {
                        assert_eq!(
                            snap.get("scrollbackLines").is_some(),
                            scrollback == Some(true),
                            "{p}"
                        );
                        assert_eq!(snap.get("cells").is_some(), cells == Some(true), "{p}");
                    }
                }
            }
        }
    }

    // screenshot: profile × showCursor × rendererName; the PNG is stored
    // where the result says, with the result's size and hash.
    for profile in [None, Some("reference-dark"), Some("reference-light")] {
        for cursor in [None, Some(false), Some(true)] {
            for renderer in [None, Some("ghostty-web")] {
                let mut p = json!({});
                if let Some(x) = profile {
                    p["profile"] = json!(x);
                }
                if let Some(x) = cursor {
                    p["showCursor"] = json!(x);
                }
                if let Some(x) = renderer {
                    p["rendererName"] = json!(x);
                }
                let shot = c.ok("screenshot", p.clone());
                let png = std::fs::read(shot["artifactPath"].as_str().unwrap()).unwrap();
                assert_eq!(&png[1..4], b"PNG", "{p}");
                assert_eq!(shot["pngSizeBytes"].as_u64(), Some(png.len() as u64), "{p}");
                assert_eq!(shot["profileName"], profile.unwrap_or("reference-dark"));
                assert_eq!(shot["cursorVisible"], cursor == Some(true), "{p}");
            }
        }
    }
    let listed: Value =
        serde_json::from_slice(&std::fs::read(dir.join("artifacts/manifest.json")).unwrap())
            .unwrap();
    assert!(listed["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["kind"] == "screenshot"));

    // 0.5's error rules, each answer still well-formed.
    c.err("teleport", json!({}), "RPC_ERROR");
    c.err("type", json!({ "text": "x", "bogus": 1 }), "RPC_ERROR");
    c.err("type", json!({ "text": "" }), "RPC_ERROR");
    c.err("sendKeys", json!({ "keys": ["Bogus"] }), "INVALID_KEYS");
    c.err("snapshot", json!({ "rendererName": "chrome" }), "RPC_ERROR");
    c.err("screenshot", json!({ "profile": "" }), "RPC_ERROR");
    c.err("screenshot", json!({ "profile": "nope" }), "INVALID_INPUT");
    c.err(
        "wait",
        json!({ "exit": true, "idleMs": 5 }),
        "INVALID_DURATION",
    );
    let garbage = request(&c.socket, "not json");
    assert_eq!(garbage["id"], "unknown");
    assert_eq!(garbage["error"]["code"], "RPC_ERROR");

    // destroy (force is accepted and ignored), then the Session ends
    // `destroyed`, its 0.5 socket gone.
    let destroyed = c.ok("destroy", json!({ "force": true }));
    assert_eq!(destroyed, json!({ "sessionId": id, "destroyed": true }));
    eventually(Duration::from_secs(10), || {
        (read_manifest(&dir)["status"] == "destroyed").then_some(())
    })
    .expect("the host records the Session destroyed");
    eventually(Duration::from_secs(10), || {
        (!c.socket.exists()).then_some(())
    })
    .expect("the 0.5 socket is removed");
}

/// `wait {exit}` answers the exit code once the command ends (an integer,
/// never null), in 0.5's shape; then input is `SESSION_NOT_RUNNING`.
#[test]
fn a_0_5_client_waits_for_the_exit_of_our_session() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, _) = create_session(&sandbox, &home, &["--", "sh", "-c", "sleep 1; exit 3"]);
    let mut c = Client::new(&home, &id);
    let waited = c.ok("wait", json!({ "exit": true, "timeoutMs": 20000 }));
    assert_eq!(waited, json!({ "timedOut": false, "exitCode": 3 }));
}

/// `paste` logs the bracketed text, as 0.5 does; every reader shows the
/// same as before (the screen, the recording leave input out).
#[test]
fn a_paste_is_logged_bracketed_and_read_as_before() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let dir = home.join("sessions").join(&id);
    let seq = sandbox
        .run_in(&home, &["paste", &id, "echo pasted-$((20+22))"])
        .expect_code(0)
        .result()["seq"]
        .as_u64()
        .unwrap();
    let e = &logged_events(&dir)[seq as usize];
    assert_eq!(e["type"], "input_paste");
    assert_eq!(
        e["payload"],
        json!({ "data": "\u{1b}[200~echo pasted-$((20+22))\u{1b}[201~" })
    );
    sandbox
        .run_in(&home, &["send-keys", &id, "Enter"])
        .expect_code(0);
    sandbox
        .run_in(
            &home,
            &["wait", &id, "--text", "pasted-42", "--timeout", "10000"],
        )
        .expect_code(0);
    let text = sandbox
        .run_in(&home, &["snapshot", &id, "--format", "text"])
        .expect_code(0)
        .result()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.contains("$ echo pasted-$((20+22))") || text.contains("# echo pasted-$((20+22))"),
        "{text}"
    );
    assert!(!text.contains("200~"), "{text}");
    let cast = dir.join("x.cast");
    sandbox
        .run_in(
            &home,
            &[
                "record",
                "export",
                &id,
                "--format",
                "asciicast",
                "--out",
                cast.to_str().unwrap(),
            ],
        )
        .expect_code(0);
    let cast = std::fs::read_to_string(cast).unwrap();
    assert!(!cast.contains("200~"), "input is not in a recording");
    assert!(cast.contains("pasted-42"));
}

/// The command-line results carry 0.5's keys and nothing the caller
/// already knows (§3): no `sessionId` echo, no `seq` where 0.5 has none;
/// extra keys only where §10 lists them (`screenshot`'s `missingGlyphs`).
#[test]
fn command_results_have_0_5s_keys() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &["--name", "n"]);
    let run = |args: &[&str]| sandbox.run_in(&home, args).expect_code(0).result();
    let created = run(&["create", "--name", "other", "--", "sh"]);
    assert_eq!(
        keys(&created),
        ["cols", "createdAt", "rows", "sessionId", "shell"]
    );
    assert_eq!(keys(&run(&["type", &id, "x"])), ["seq"]);
    assert_eq!(keys(&run(&["paste", &id, "x"])), ["seq"]);
    assert_eq!(keys(&run(&["mark", &id, "m"])), ["seq"]);
    assert_eq!(
        keys(&run(&["send-keys", &id, "Ctrl+U"])),
        ["accepted", "bytesWritten", "seq"]
    );
    assert_eq!(
        run(&["resize", &id, "--cols", "90", "--rows", "20"]),
        json!({ "cols": 90, "rows": 20 })
    );
    assert_eq!(
        run(&["signal", &id, "SIGINT"]),
        json!({ "signal": "SIGINT", "delivered": true })
    );
    for format in ["structured", "text"] {
        let snap = run(&["snapshot", &id, "--format", format]);
        let mut expected = vec![
            "capturedAtSeq",
            "cols",
            "cursorCol",
            "cursorRow",
            "format",
            "rows",
            "screenHash",
            "sessionId",
        ];
        expected.extend(if format == "text" {
            vec!["text"]
        } else {
            vec!["isAltScreen", "visibleLines"]
        });
        expected.sort_unstable();
        assert_eq!(keys(&snap), expected, "{format}");
    }
    let shot = run(&["screenshot", &id]);
    assert_eq!(
        keys(&shot),
        [
            "artifactPath",
            "capturedAtSeq",
            "cols",
            "cursorVisible",
            "missingGlyphs",
            "pixelHeight",
            "pixelWidth",
            "pngSizeBytes",
            "profileName",
            "renderProfileHash",
            "rendererBackend",
            "rows",
            "sessionId",
            "sha256"
        ]
    );
    assert_eq!(
        run(&["destroy", &id]),
        json!({ "sessionId": id, "destroyed": true })
    );
    let other = created["sessionId"].as_str().unwrap();
    sandbox.run_in(&home, &["destroy", other]).expect_code(0);
}

fn error_of(out: &Run) -> Value {
    out.json()["error"].clone()
}

/// 0.5's words and codes, where its scripts match them (§1–§4).
#[rstest]
#[case(&["--home", "rel", "list"], 2, "INVALID_INPUT", "--home must be an absolute path.")]
#[case(&["--log-level", "loud", "list"], 2, "INVALID_INPUT", "Log level must be one of debug, info, warn, or error.")]
#[case(&["--renderer", "chrome", "list"], 2, "INVALID_INPUT", "Renderer must be one of: ghostty-web, libghostty-vt.")]
#[case(&["--timeout-ms", "soon", "list"], 2, "INVALID_DURATION", "--timeout-ms must be a non-negative integer.")]
#[case(&["skills", "get", "nope"], 1, "SKILL_NOT_FOUND", "Skill not found.")]
#[case(&["snapshot", "S", "--format", "html"], 2, "INVALID_INPUT", "Snapshot format must be one of: structured, text.")]
#[case(&["teleport"], 2, "INVALID_INPUT", "unknown command 'teleport'")]
#[case(&["signal", "NOPE", "KILL"], 3, "SESSION_NOT_FOUND", "Session \"NOPE\" was not found.")]
#[case(&["type", "NOPE"], 2, "INVALID_INPUT", "Missing input text. Provide either a positional <text> argument or --file <path>. Usage: agent-tty type <session-id> [text] [--file <path>]")]
#[case(&["paste", "NOPE", ""], 2, "INVALID_INPUT", "Text must not be empty.")]
#[case(&["wait", "NOPE", "--regex", "(a+)+"], 3, "SESSION_NOT_FOUND", "Session \"NOPE\" was not found.")]
fn errors_in_0_5s_words(
    #[case] args: &[&str],
    #[case] exit: i32,
    #[case] code: &str,
    #[case] message: &str,
) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    std::fs::create_dir_all(home.join("sessions")).unwrap();
    let out = sandbox.run_in(&home, args);
    out.expect_code(exit);
    let error = error_of(&out);
    assert_eq!(error["code"], code, "{error:#}");
    assert_eq!(error["message"], message, "{error:#}");
}

/// `SESSION_NOT_FOUND` carries 0.5's details; `signal` looks the Session
/// up before it reads the signal's name; a destroyed Session is
/// `SESSION_ALREADY_DESTROYED` for input and `destroy`; the regex limit
/// names nested quantifiers.
#[test]
fn session_errors_in_0_5s_order_and_words() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let missing = sandbox.run_in(&home, &["signal", "01JD3Z6X8K4M2N5P7Q9R0NOPE0", "BOGUS"]);
    missing.expect_code(3);
    let error = error_of(&missing);
    assert_eq!(
        error["details"],
        json!({
            "sessionId": "01JD3Z6X8K4M2N5P7Q9R0NOPE0",
            "manifestPath": home.join("sessions/01JD3Z6X8K4M2N5P7Q9R0NOPE0/session.json"),
        })
    );

    let id = bash_session(&sandbox, &home, &[]);
    let nested = sandbox.run_in(&home, &["wait", &id, "--regex", "(a+)+"]);
    nested.expect_code(2);
    assert_eq!(
        error_of(&nested)["message"],
        "Regex pattern contains nested quantifiers which may cause catastrophic backtracking. \
         Simplify the pattern."
    );
    let bad_signal = sandbox.run_in(&home, &["signal", &id, "BOGUS"]);
    bad_signal.expect_code(2);
    assert_eq!(error_of(&bad_signal)["code"], "INVALID_SIGNAL");

    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
    for args in [
        vec!["type", id.as_str(), "x"],
        vec!["signal", id.as_str(), "SIGINT"],
        vec!["destroy", id.as_str()],
    ] {
        let out = sandbox.run_in(&home, &args);
        out.expect_code(4);
        let error = error_of(&out);
        assert_eq!(error["code"], "SESSION_ALREADY_DESTROYED", "{args:?}");
        assert_eq!(
            error["message"],
            format!("Session \"{id}\" is already destroyed.")
        );
    }

    // An ended (not destroyed) Session: 0.5's SESSION_NOT_RUNNING words.
    let (ended, dir) = create_session(&sandbox, &home, &["--", "sh", "-c", "exit 0"]);
    eventually(Duration::from_secs(10), || {
        (read_manifest(&dir)["status"] == "exited").then_some(())
    })
    .unwrap();
    let out = sandbox.run_in(&home, &["type", &ended, "x"]);
    out.expect_code(4);
    assert_eq!(
        error_of(&out)["message"],
        format!("Session \"{ended}\" is not running.")
    );
}

/// A host that died is recorded with 0.5's `failureReason`.
#[test]
fn a_dead_hosts_failure_reason_is_0_5s() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, dir) = create_session(&sandbox, &home, &["--", "sleep", "300"]);
    let host = read_manifest(&dir)["hostPid"].as_i64().unwrap() as i32;
    // SAFETY: kill(2) on the host this test started.
    unsafe { libc::kill(host, libc::SIGKILL) };
    eventually(Duration::from_secs(10), || {
        (!process_alive(host)).then_some(())
    })
    .expect("the host died");
    sandbox.run_in(&home, &["list", "--all"]).expect_code(0);
    let m = read_manifest(&dir);
    assert_eq!(m["status"], "failed", "{m:#}");
    assert_eq!(
        m["failureReason"],
        format!("host process died unexpectedly (pid: {host})")
    );
    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
}

/// Sessions see `PROMPT_EOL_MARK=""` (§7.1), unless `--env` sets it.
#[test]
fn sessions_get_an_empty_prompt_eol_mark() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let probe = r#"printf '[%s]\n' "${PROMPT_EOL_MARK-unset}"; sleep 30"#;
    let (plain, _) = create_session(&sandbox, &home, &["--", "sh", "-c", probe]);
    let (set, _) = create_session(
        &sandbox,
        &home,
        &["--env", "PROMPT_EOL_MARK=%", "--", "sh", "-c", probe],
    );
    sandbox
        .run_in(
            &home,
            &["wait", &plain, "--text", "[]", "--timeout", "10000"],
        )
        .expect_code(0);
    sandbox
        .run_in(
            &home,
            &["wait", &set, "--text", "[%]", "--timeout", "10000"],
        )
        .expect_code(0);
    for id in [plain, set] {
        sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
    }
}

/// `--log-level debug` writes 0.5-style debug lines on stderr (never on
/// stdout, so `--json` stays parseable); `info` writes none.
#[test]
fn debug_logging_goes_to_stderr() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let debug = sandbox.run_in(&home, &["--log-level", "debug", "list"]);
    debug.expect_code(0);
    debug.result();
    assert!(
        debug
            .stderr
            .lines()
            .any(|l| l.starts_with("[agent-tty] debug: running command {")),
        "{}",
        debug.stderr
    );
    let quiet = sandbox.run_in(&home, &["list"]);
    assert!(
        !quiet.stderr.contains("[agent-tty] debug:"),
        "{}",
        quiet.stderr
    );
}

/// `--timeout-ms` bounds the whole command (0.5 ignored it): a command
/// still running at the limit ends with `HOST_TIMEOUT` (exit 5) at once;
/// one that finishes in time is unaffected.
#[test]
fn timeout_ms_bounds_every_command() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    // `--timeout 0` waits forever: only --timeout-ms can end it.
    let out = sandbox.run_in(
        &home,
        &[
            "--timeout-ms",
            "500",
            "wait",
            &id,
            "--text",
            "never-there",
            "--timeout",
            "0",
        ],
    );
    out.expect_code(5);
    let error = error_of(&out);
    assert_eq!(error["code"], "HOST_TIMEOUT");
    assert_eq!(error["retryable"], true);
    assert_eq!(error["details"]["timeoutMs"], 500);
    let out = sandbox.run_in(&home, &["run", &id, "sleep 5", "--timeout-ms", "300"]);
    out.expect_code(5);
    assert_eq!(error_of(&out)["code"], "HOST_TIMEOUT");
    // In time: the ordinary answer.
    sandbox
        .run_in(&home, &["--timeout-ms", "60000", "run", &id, "true"])
        .expect_code(0);
    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
}

/// `snapshot --include-scrollback` keeps 10,000 lines, as 0.5.
#[test]
fn scrollback_holds_ten_thousand_lines() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &["--rows", "10"]);
    sandbox
        .run_in(&home, &["run", &id, "seq 1 12000", "--timeout", "60000"])
        .expect_code(0);
    let snap = sandbox
        .run_in(&home, &["snapshot", &id, "--include-scrollback"])
        .expect_code(0)
        .result();
    let lines = snap["scrollbackLines"].as_array().unwrap();
    assert_eq!(lines.len(), 10_000, "{}", lines.len());
    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
}

/// `destroy` of a live Session hosted by agent-tty 0.5 sends 0.5's own
/// `destroy` request over its socket. No fake: our host speaks 0.5's
/// protocol, and a Session without our sidecar is driven as 0.5's.
#[test]
fn destroy_ends_a_0_5_hosted_session_through_its_socket() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let dir = home.join("sessions").join(&id);
    std::fs::remove_file(dir.join("host.json")).unwrap();
    let host = read_manifest(&dir)["hostPid"].as_i64().unwrap() as i32;

    let out = sandbox.run_in(&home, &["destroy", &id]);
    out.expect_code(0);
    assert_eq!(out.result(), json!({ "sessionId": id, "destroyed": true }));
    eventually(Duration::from_secs(10), || {
        (!process_alive(host)).then_some(())
    })
    .expect("the host ended its Session and exited");
    let m = read_manifest(&dir);
    assert_eq!(m["status"], "destroyed", "{m:#}");
    let last = logged_events(&dir).pop().unwrap();
    assert_eq!(last["type"], "exit", "the host recorded the end itself");
    assert!(!socket_path(&home, &id).exists());
}

/// Where 0.5's `destroy` cannot be sent (its socket directory is open to
/// other users), `destroy` refuses: the manifest and the host are left as
/// they are, and the envelope says why.
#[test]
fn destroy_refuses_a_0_5_session_it_cannot_reach_and_changes_nothing() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let dir = home.join("sessions").join(&id);
    std::fs::remove_file(dir.join("host.json")).unwrap();
    let host = read_manifest(&dir)["hostPid"].as_i64().unwrap() as i32;
    let before = std::fs::read(dir.join("session.json")).unwrap();
    let open = std::fs::Permissions::from_mode(0o777);
    std::fs::set_permissions(socket_dir(&home), open).unwrap();

    let out = sandbox.run_in(&home, &["destroy", &id]);
    std::fs::set_permissions(socket_dir(&home), std::fs::Permissions::from_mode(0o700)).unwrap();
    out.expect_code(9);
    let error = error_of(&out);
    assert_eq!(error["code"], "PROTOCOL_ERROR", "{error:#}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("writable by other users"),
        "{error:#}"
    );
    assert_eq!(std::fs::read(dir.join("session.json")).unwrap(), before);
    assert!(process_alive(host));

    // Reachable again: destroyed through the socket.
    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
    eventually(Duration::from_secs(10), || {
        (!process_alive(host)).then_some(())
    })
    .expect("the host ended");
}

/// agent-tty 0.5 itself, when `AGENT_TTY_05` names its CLI (an executable:
/// the `agent-tty` 0.5 binary, or a wrapper running its `cli.js`), drives
/// a live Session of ours through its socket and reads an ended one from
/// its files: snapshot (structured and text), run, wait, type,
/// screenshot, record export. Every result must be one 0.5 itself
/// accepted (`ok: true`) with 0.5's shape. Skipped, saying so, when 0.5 is
/// not installed.
#[test]
fn agent_tty_0_5_drives_our_sessions() {
    let Some(cli) = std::env::var_os("AGENT_TTY_05").filter(|v| !v.is_empty()) else {
        eprintln!(
            "SKIPPED: AGENT_TTY_05 is not set; point it at an agent-tty 0.5 CLI \
             (e.g. AGENT_TTY_05=$(npm prefix -g)/bin/agent-tty) to run this test"
        );
        return;
    };
    let cli = PathBuf::from(cli);
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &["--cols", "80", "--rows", "24"]);
    let dir = home.join("sessions").join(&id);
    let with_05 = |args: &[&str]| -> Value {
        let mut all = vec!["--home", home.to_str().unwrap()];
        all.extend(args);
        all.push("--json");
        let out: Run = sandbox.command_for(&cli, &all).output().unwrap().into();
        let v = out.json();
        assert_eq!(
            v["ok"], true,
            "agent-tty 0.5 {args:?} failed: {v:#}\n{}",
            out.stderr
        );
        v["result"].clone()
    };
    let shaped = |method: &str, params: Value, result: &Value| {
        let response = json!({ "id": "cli", "ok": true, "result": result });
        if let Err(p) = check_response("cli", method, &params, &response) {
            panic!("0.5's result is not 0.5's shape: {p}");
        }
    };

    // Live: through our host's 0.5 socket.
    let typed = with_05(&["type", &id, "echo typed-$((40+2))"]);
    shaped("type", json!({}), &typed);
    with_05(&["send-keys", &id, "Enter"]);
    let waited = with_05(&["wait", &id, "--text", "typed-42", "--timeout", "10000"]);
    assert_eq!(waited["matched"], true, "{waited:#}");
    shaped("waitForRender", json!({}), &waited);
    let ran = with_05(&["run", &id, "echo ran-$((6*7))"]);
    assert_eq!(ran["completed"], true, "{ran:#}");
    shaped("run", json!({}), &ran);
    let structured = with_05(&["snapshot", &id, "--include-cells", "--include-scrollback"]);
    shaped("snapshot", json!({}), &structured);
    let text = with_05(&["snapshot", &id, "--format", "text"]);
    shaped("snapshot", json!({ "format": "text" }), &text);
    assert!(
        text["text"].as_str().unwrap().contains("ran-42"),
        "{text:#}"
    );
    // The same screen as our own snapshot says.
    let ours = sandbox
        .run_in(&home, &["snapshot", &id, "--format", "text"])
        .expect_code(0)
        .result();
    assert_eq!(text["screenHash"], ours["screenHash"]);
    let shot = with_05(&["screenshot", &id]);
    shaped("screenshot", json!({}), &shot);
    assert!(Path::new(shot["artifactPath"].as_str().unwrap()).is_file());
    let cast = with_05(&["record", "export", &id, "--format", "asciicast"]);
    assert_eq!(cast["format"], "asciicast");

    // Ended: 0.5 reads our Event Log and manifest with its strict readers.
    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
    assert_eq!(read_manifest(&dir)["status"], "destroyed");
    let text = with_05(&["snapshot", &id, "--format", "text"]);
    assert!(
        text["text"].as_str().unwrap().contains("ran-42"),
        "{text:#}"
    );
    let waited = with_05(&["wait", &id, "--text", "ran-42"]);
    assert_eq!(waited["matched"], true, "{waited:#}");
    let cast = with_05(&["record", "export", &id, "--format", "asciicast"]);
    let ours = sandbox
        .run_in(&home, &["record", "export", &id, "--format", "asciicast"])
        .expect_code(0)
        .result();
    assert_eq!(cast["capturedAtSeq"], ours["capturedAtSeq"]);
    assert_eq!(
        cast["metadata"]["outputEventCount"],
        ours["metadata"]["outputEventCount"]
    );
    let listed = with_05(&["list", "--all"]);
    assert_eq!(listed["sessions"][0]["sessionId"], id.as_str());
}

/// The skills have 0.5's names and `skills path` 0.5's layout
/// (`skill-data/<name>/SKILL.md`); what they say about exit codes is what
/// the commands do (a `run` that times out exits 0 with `timedOut: true`,
/// a `wait` that times out exits 11).
#[test]
fn skills_have_0_5s_names_and_layout_and_tell_the_truth_about_exits() {
    let sandbox = Sandbox::new();
    let list = sandbox
        .run(["skills", "list", "--json"])
        .expect_code(0)
        .result();
    let names: Vec<&str> = list["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["agent-tty", "dogfood-tui"]);
    for name in names {
        let path = sandbox
            .run(["skills", "path", name, "--json"])
            .expect_code(0)
            .result();
        let dir = PathBuf::from(path["path"].as_str().unwrap());
        assert!(dir.ends_with(Path::new("skill-data").join(name)), "{dir:?}");
        let text = std::fs::read_to_string(dir.join("SKILL.md")).unwrap();
        assert!(text.starts_with(&format!("---\nname: {name}\n")), "{text}");
    }
    let skill = sandbox.run(["skills", "get", "agent-tty"]).stdout;
    assert!(skill.contains("the exit status is **0**"), "run's timeout");
    assert!(skill.contains("and exits 11"), "wait's timeout");

    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let run = sandbox.run_in(&home, &["run", &id, "sleep 3", "--timeout", "200"]);
    run.expect_code(0);
    assert_eq!(run.result()["timedOut"], true);
    let wait = sandbox.run_in(
        &home,
        &["wait", &id, "--text", "never-there", "--timeout", "200"],
    );
    wait.expect_code(11);
    assert_eq!(wait.json()["result"]["timedOut"], true);
    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
}
