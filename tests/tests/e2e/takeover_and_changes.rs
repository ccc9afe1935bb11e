//! End-to-end tests of issue 23's features: the MCP server driven by the
//! official MCP client SDK, `attach` in a real terminal (tmux), the waits
//! and snapshots of what changed, `follow`, `run --output`, and the mouse.

use agent_tty_e2e::{agent_tty, bash_session, create_session, eventually, required_under_ci};
use agent_tty_e2e::{logged_events, Run, Sandbox};
use serde_json::Value;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn events(home: &Path, id: &str) -> Vec<Value> {
    logged_events(&home.join("sessions").join(id))
}

// ---- MCP ----------------------------------------------------------------

#[test]
fn an_mcp_client_drives_the_agent_loop_and_gets_error_codes() {
    let found = Command::new("python3")
        .args(["-c", "import mcp"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !required_under_ci("the MCP Python SDK", found, "pip install mcp") {
        return;
    }
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let mut cmd = Command::new("python3");
    sandbox.isolate(&mut cmd);
    let out: Run = cmd
        .arg(fixture("mcp-client/agent_loop.py"))
        .arg(agent_tty())
        .arg("--home")
        .arg(&home)
        .output()
        .expect("python3 runs")
        .into();
    out.expect_code(0);
    let report: Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("report is not JSON ({e}):\n{}\n{}", out.stdout, out.stderr));

    // Every shipped command the issue names is a tool; `mcp` itself is not.
    let tools: Vec<&str> = report["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for tool in [
        "create",
        "list",
        "run",
        "type",
        "paste",
        "send_keys",
        "wait",
        "snapshot",
        "screenshot",
        "record_export",
        "resize",
        "signal",
        "destroy",
        "click",
        "scroll",
    ] {
        assert!(tools.contains(&tool), "{tool} missing from {tools:?}");
    }
    assert!(!tools.contains(&"mcp"));
    assert_eq!(
        report["createSchema"]["properties"]["command"]["type"],
        "array"
    );

    // The answers are the CLI's envelopes.
    assert_eq!(report["createIsError"], false);
    assert_eq!(report["create"]["ok"], true);
    assert_eq!(report["create"]["command"], "create");
    let id = report["create"]["result"]["sessionId"].as_str().unwrap();
    assert!(home.join("sessions").join(id).is_dir(), "created in --home");
    let run = &report["run"]["result"];
    assert_eq!(run["completed"], true, "{run:#}");
    assert_eq!(run["exitCode"], 0);
    assert_eq!(run["output"], "mcp-42\n", "the run tool returns the output");
    assert_eq!(report["wait"]["result"]["matched"], true);
    assert!(report["snapshot"]["result"]["text"]
        .as_str()
        .unwrap()
        .contains("mcp-42"));
    assert_eq!(report["destroy"]["ok"], true);
    // screenshot answers with the PNG itself as image content too.
    assert_eq!(
        report["screenshot"]["ok"], true,
        "{:#}",
        report["screenshot"]
    );
    assert_eq!(report["screenshotImages"], serde_json::json!(["image/png"]));

    // A tool's words are values, never flags (`type` "--help -1").
    assert_eq!(
        report["typeFlagLike"]["ok"], true,
        "{:#}",
        report["typeFlagLike"]
    );
    assert_eq!(report["typeFlagLikeSeen"]["result"]["matched"], true);

    // Errors are tool errors carrying the envelope and its code.
    assert_eq!(report["badIdIsError"], true);
    assert_eq!(report["badId"]["ok"], false);
    assert_eq!(report["badId"]["error"]["code"], "SESSION_NOT_FOUND");
    assert_eq!(report["badParamsIsError"], true);
    assert_eq!(report["badParams"]["error"]["code"], "INVALID_INPUT");
}

#[test]
fn mcp_lists_only_the_tools_of_installed_plugins() {
    let found = Command::new("python3")
        .args(["-c", "import mcp"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !required_under_ci("the MCP Python SDK", found, "pip install mcp") {
        return;
    }
    let sandbox = Sandbox::new();
    // A plugin directory with only the sessions and mcp plugins in it.
    let plugins = sandbox.root().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    for stem in ["agent_tty_plugin_sessions", "agent_tty_plugin_mcp"] {
        let lib = agent_tty_e2e::plugin_lib(stem);
        std::fs::copy(&lib, plugins.join(lib.file_name().unwrap())).unwrap();
    }
    // A copy of the binary elsewhere, so the plugins beside the built one
    // are not found.
    let bin = sandbox.root().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(agent_tty(), bin.join("agent-tty")).unwrap();
    let mut cmd = Command::new("python3");
    sandbox.isolate(&mut cmd);
    let out: Run = cmd
        .env("AGENT_TTY_PLUGIN_PATH", &plugins)
        .arg(fixture("mcp-client/agent_loop.py"))
        .arg(bin.join("agent-tty"))
        .arg("--list-only")
        .output()
        .expect("python3 runs")
        .into();
    out.expect_code(0);
    let report: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let tools: Vec<&str> = report["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        tools.contains(&"run") && tools.contains(&"snapshot"),
        "{tools:?}"
    );
    for absent in ["screenshot", "record_export"] {
        assert!(
            !tools.contains(&absent),
            "{absent} listed without the capture plugin: {tools:?}"
        );
    }
}

/// A client speaking raw JSON-RPC over the server's stdin and stdout: a
/// line that is not JSON gets `-32700` and JSON that is no request object
/// gets `-32600`, both with `"id": null` (JSON-RPC 2.0 §5.1), and the
/// server goes on answering.
#[test]
fn mcp_answers_a_line_that_is_not_a_message_with_a_json_rpc_error() {
    use std::io::{BufRead, BufReader, Write};
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let mut server = sandbox
        .command([OsStr::new("--home"), home.as_os_str(), OsStr::new("mcp")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("agent-tty mcp starts");
    let mut to_server = server.stdin.take().unwrap();
    let mut from_server = BufReader::new(server.stdout.take().unwrap());
    let mut send = |line: &str| writeln!(to_server, "{line}").unwrap();
    let mut answers: Vec<Value> = Vec::new();
    let mut answer_to = |id: i64, answers: &mut Vec<Value>| loop {
        let mut line = String::new();
        assert_ne!(
            from_server.read_line(&mut line).unwrap(),
            0,
            "server ended: {answers:?}"
        );
        let answer: Value = serde_json::from_str(&line).expect("every line is JSON");
        answers.push(answer.clone());
        if answer["id"] == id {
            return answer;
        }
    };
    send(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#,
    );
    assert!(answer_to(1, &mut answers)["result"].is_object());
    send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    send(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list""#);
    send("42");
    send(r#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#);
    // Still serving after both.
    assert_eq!(answer_to(3, &mut answers)["result"], serde_json::json!({}));
    drop(to_server);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut from_server, &mut rest).unwrap();
    answers.extend(
        rest.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()),
    );
    assert!(server.wait().unwrap().success());

    let errors: Vec<&Value> = answers
        .iter()
        .filter(|a| a.get("error").is_some())
        .collect();
    let codes: Vec<&Value> = errors.iter().map(|a| &a["error"]["code"]).collect();
    assert_eq!(codes, [-32700, -32600], "{answers:#?}");
    for error in errors {
        assert_eq!(error["jsonrpc"], "2.0");
        assert!(error.get("id").is_some_and(Value::is_null), "{error}");
    }
}

// ---- attach ---------------------------------------------------------------

/// A tmux server of the test's own, killed when dropped.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn available() -> bool {
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S").arg(&self.socket).arg("-f").arg("/dev/null");
        cmd
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("tmux runs");
        assert!(out.status.success(), "tmux {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "t"])
    }

    fn wait_for(&self, text: &str) -> String {
        eventually(Duration::from_secs(10), || {
            let screen = self.screen();
            screen.contains(text).then_some(screen)
        })
        .unwrap_or_else(|| panic!("{text:?} never shown in tmux:\n{}", self.screen()))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

#[test]
fn a_person_attaches_types_and_detaches_while_agents_are_refused() {
    if !required_under_ci("tmux", Tmux::available(), "apt-get install tmux") {
        return;
    }
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &["--cols", "80", "--rows", "24"]);
    sandbox
        .run_in(
            &home,
            &["wait", &id, "--text", "bash-", "--timeout", "10000"],
        )
        .expect_code(0);
    let tmux = Tmux {
        socket: sandbox.root().join("tmux.sock"),
    };
    // The person's terminal: 100x30, running attach, then a shell prompt
    // that shows how attach ended.
    let env = sandbox_env(&sandbox);
    let script = format!(
        "env {env} {} --home '{}' attach {id}; echo ATTACH-EXIT=$?; sleep 60",
        agent_tty().display(),
        home.display()
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-x",
        "100",
        "-y",
        "30",
        "-s",
        "t",
        &script,
    ]);
    // The Session's screen is drawn, and it takes the terminal's size.
    tmux.wait_for("bash-");
    let attached_size = eventually(Duration::from_secs(10), || {
        let m = sandbox.run_in(&home, &["inspect", &id]).result();
        (m["session"]["cols"] == 100 && m["session"]["rows"] == 30).then_some(m)
    })
    .expect("the attached terminal's size is applied");
    assert!(
        attached_size["control"]["holder"].is_string(),
        "inspect shows who controls: {attached_size:#}"
    );
    assert!(attached_size["control"]["since"].is_string());
    let listed = sandbox.run_in(&home, &["list"]).result();
    assert!(
        listed["sessions"][0]["control"]["holder"].is_string(),
        "{listed:#}"
    );

    // The Session follows the terminal when it is resized.
    tmux.run(&["resize-window", "-t", "t", "-x", "90", "-y", "20"]);
    eventually(Duration::from_secs(10), || {
        let m = sandbox.run_in(&home, &["inspect", &id]).result();
        (m["session"]["cols"] == 90 && m["session"]["rows"] == 20).then_some(())
    })
    .expect("a resized terminal resizes the attached Session");

    // The person types a command and sees its output.
    tmux.run(&[
        "send-keys",
        "-t",
        "t",
        "echo typed-by-$((20+3))-person",
        "Enter",
    ]);
    tmux.wait_for("typed-by-23-person");
    sandbox
        .run_in(
            &home,
            &[
                "wait",
                &id,
                "--text",
                "typed-by-23-person",
                "--timeout",
                "10000",
            ],
        )
        .expect_code(0);

    // An agent is refused, nothing sent; --force gets through.
    let before = events(&home, &id).len();
    let refused = sandbox.run_in(&home, &["type", &id, "agent-text"]);
    refused.expect_code(12);
    let envelope = refused.json();
    assert_eq!(envelope["error"]["code"], "SESSION_CONTROLLED");
    assert_eq!(envelope["error"]["retryable"], true);
    for args in [
        vec!["paste", id.as_str(), "p"],
        vec!["send-keys", id.as_str(), "Enter"],
        vec!["run", id.as_str(), "true"],
        vec!["batch", id.as_str(), r#"[{"type":"x"}]"#],
    ] {
        sandbox.run_in(&home, &args).expect_code(12);
    }
    assert_eq!(
        events(&home, &id).len(),
        before,
        "refused input logs nothing"
    );
    // Watchers keep working.
    sandbox.run_in(&home, &["snapshot", &id]).expect_code(0);

    // `wait --released` returns when the person detaches with Ctrl+\.
    let waiter = sandbox
        .command([
            "--json",
            "--home",
            home.to_str().unwrap(),
            "wait",
            &id,
            "--released",
            "--timeout",
            "20000",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    tmux.run(&["send-keys", "-t", "t", "C-\\"]);
    let released: Run = waiter.wait_with_output().unwrap().into();
    released.expect_code(0);
    assert_eq!(released.result()["released"], true);

    // The terminal is restored: attach ended cleanly, its shell screen is
    // back (the alternate screen left), and the Session has its size back.
    let screen = tmux.wait_for("ATTACH-EXIT=0");
    assert!(screen.contains("Detached from Session"), "{screen}");
    assert!(
        !screen.contains("typed-by-23-person"),
        "the main screen is back: {screen}"
    );
    let m = sandbox.run_in(&home, &["inspect", &id]).result();
    assert_eq!(
        (m["session"]["cols"].as_u64(), m["session"]["rows"].as_u64()),
        (Some(80), Some(24))
    );
    assert_eq!(m["control"], Value::Null);
    sandbox.run_in(&home, &["type", &id, "ok"]).expect_code(0);
}

/// `env K='V' ...` of the sandbox's environment, for a command tmux runs.
fn sandbox_env(sandbox: &Sandbox) -> String {
    let mut env = String::new();
    for (key, value) in sandbox.command(["x"]).get_envs() {
        if let Some(value) = value {
            env.push_str(&format!(
                "{}='{}' ",
                key.to_string_lossy(),
                value.to_string_lossy()
            ));
        }
    }
    env
}

#[test]
fn the_dashboard_attaches_to_the_selected_session_after_asking() {
    if !required_under_ci("tmux", Tmux::available(), "apt-get install tmux") {
        return;
    }
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    sandbox
        .run_in(
            &home,
            &["wait", &id, "--text", "bash-", "--timeout", "10000"],
        )
        .expect_code(0);
    let tmux = Tmux {
        socket: sandbox.root().join("tmux.sock"),
    };
    let script = format!(
        "env {} {} --home '{}' dashboard; echo DASH-EXIT=$?; sleep 60",
        sandbox_env(&sandbox),
        agent_tty().display(),
        home.display()
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-x",
        "120",
        "-y",
        "30",
        "-s",
        "t",
        &script,
    ]);
    // The footer lists `A` from the start; the Session is selected only
    // once the first listing is in (later on a loaded machine).
    tmux.wait_for(&id);
    tmux.wait_for("A attach");
    tmux.run(&["send-keys", "-t", "t", "A"]);
    tmux.wait_for("Attach to");
    tmux.run(&["send-keys", "-t", "t", "y"]);
    // attach has the terminal: the Session's screen without the dashboard.
    let attached = eventually(Duration::from_secs(10), || {
        let screen = tmux.screen();
        (!screen.contains("Live View") && screen.contains("bash-")).then_some(screen)
    })
    .unwrap_or_else(|| panic!("attach never drew the Session:\n{}", tmux.screen()));
    assert!(!attached.contains("q quit"), "{attached}");
    tmux.run(&[
        "send-keys",
        "-t",
        "t",
        "echo via-dashboard-$((1+1))",
        "Enter",
    ]);
    tmux.wait_for("via-dashboard-2");
    let controlled = sandbox.run_in(&home, &["inspect", &id]).result();
    assert!(
        controlled["control"]["holder"].is_string(),
        "{controlled:#}"
    );
    tmux.run(&["send-keys", "-t", "t", "C-\\"]);
    tmux.wait_for("Detached; back in the dashboard.");
    assert_eq!(
        sandbox.run_in(&home, &["inspect", &id]).result()["control"],
        Value::Null
    );
    tmux.run(&["send-keys", "-t", "t", "q"]);
    tmux.wait_for("DASH-EXIT=0");
}

#[test]
fn attach_without_a_terminal_is_refused_and_takes_no_control() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let run = sandbox.run_in(&home, &["attach", &id]);
    run.expect_code(2);
    assert!(run.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("terminal"));
    // A detach key must send one byte (Up sends three).
    let run = sandbox.run_in(&home, &["attach", &id, "--detach-key", "Up"]);
    run.expect_code(2);
    assert_eq!(run.json()["error"]["code"], "INVALID_KEYS");
    sandbox.run_in(&home, &["type", &id, "x"]).expect_code(0);
    let waited = sandbox.run_in(&home, &["wait", &id, "--released", "--timeout", "1000"]);
    waited.expect_code(0);
    assert_eq!(waited.result()["wasControlled"], false);
}

// ---- observing what changed ----------------------------------------------

#[test]
fn wait_gone_returns_when_a_spinner_stops() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, _) = create_session(
        &sandbox,
        &home,
        &[
            "--",
            "sh",
            "-c",
            "i=0; while [ $i -lt 6 ]; do printf 'working%s\\r' $i; i=$((i+1)); sleep 0.2; done; printf 'finished   \\n'; sleep 30",
        ],
    );
    sandbox
        .run_in(
            &home,
            &["wait", &id, "--text", "working", "--timeout", "10000"],
        )
        .expect_code(0);
    let gone = sandbox
        .run_in(
            &home,
            &["wait", &id, "--gone", "working", "--timeout", "10000"],
        )
        .expect_code(0)
        .result();
    assert_eq!(gone["matched"], true);
    assert_eq!(gone["condition"], "gone");
    let snap = sandbox
        .run_in(&home, &["snapshot", &id, "--format", "text"])
        .result();
    assert!(snap["text"].as_str().unwrap().contains("finished"));
    // A regex that never leaves times out with exit 11.
    let stays = sandbox.run_in(
        &home,
        &["wait", &id, "--gone-regex", "fin.shed", "--timeout", "300"],
    );
    stays.expect_code(11);
    assert_eq!(stays.result()["timedOut"], true);
}

#[test]
fn wait_changed_after_type_and_snapshot_since_seq_shows_one_row() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    sandbox
        .run_in(
            &home,
            &["wait", &id, "--text", "bash-", "--timeout", "10000"],
        )
        .expect_code(0);
    let snap = sandbox.run_in(&home, &["snapshot", &id]).result();
    let hash = snap["screenHash"].as_str().unwrap().to_owned();
    let seq = snap["capturedAtSeq"].as_u64().unwrap().to_string();

    // Unchanged: times out.
    sandbox
        .run_in(
            &home,
            &[
                "wait",
                &id,
                "--changed",
                "--from-hash",
                &hash,
                "--timeout",
                "300",
            ],
        )
        .expect_code(11);
    sandbox.run_in(&home, &["type", &id, "zz"]).expect_code(0);
    for baseline in [
        ["--from-hash", hash.as_str()],
        ["--after-seq", seq.as_str()],
    ] {
        let changed = sandbox
            .run_in(
                &home,
                &[
                    "wait",
                    &id,
                    "--changed",
                    baseline[0],
                    baseline[1],
                    "--timeout",
                    "10000",
                ],
            )
            .expect_code(0)
            .result();
        assert_eq!(changed["matched"], true);
        assert_ne!(changed["screenHash"], changed["baselineHash"]);
    }

    // One line of output after a point: exactly one changed row.
    let (id, _) = create_session(
        &sandbox,
        &home,
        &[
            "--",
            "sh",
            "-c",
            "echo first; read x; echo second-line; sleep 30",
        ],
    );
    sandbox
        .run_in(
            &home,
            &["wait", &id, "--text", "first", "--timeout", "10000"],
        )
        .expect_code(0);
    let seq = sandbox.run_in(&home, &["snapshot", &id]).result()["capturedAtSeq"]
        .as_u64()
        .unwrap()
        .to_string();
    // The typed newline echoes nothing visible beyond moving the cursor.
    sandbox
        .run_in(&home, &["send-keys", &id, "Enter"])
        .expect_code(0);
    sandbox
        .run_in(
            &home,
            &["wait", &id, "--text", "second-line", "--timeout", "10000"],
        )
        .expect_code(0);
    let since = sandbox
        .run_in(&home, &["snapshot", &id, "--since-seq", &seq])
        .expect_code(0)
        .result();
    assert_eq!(
        since["changedLines"],
        serde_json::json!([{ "row": 2, "text": "second-line" }]),
        "{since:#}"
    );
    let full = sandbox.run_in(&home, &["snapshot", &id]).result();
    assert_eq!(since["screenHash"], full["screenHash"]);
    assert_eq!(since["cursorRow"], full["cursorRow"]);
    let by_hash = sandbox
        .run_in(
            &home,
            &[
                "snapshot",
                &id,
                "--since-hash",
                full["screenHash"].as_str().unwrap(),
            ],
        )
        .result();
    assert_eq!(by_hash["changedLines"], serde_json::json!([]));
    let unknown = sandbox.run_in(&home, &["snapshot", &id, "--since-hash", &"0".repeat(64)]);
    unknown.expect_code(2);
}

#[test]
fn follow_json_streams_every_record_until_the_session_exits() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, _) = create_session(
        &sandbox,
        &home,
        &[
            "--",
            "sh",
            "-c",
            "sleep 0.3; echo alpha; sleep 0.3; echo beta; exit 3",
        ],
    );
    let out: Run = sandbox
        .command([
            "--json",
            "--home",
            home.to_str().unwrap(),
            "follow",
            &id,
            "--from-seq",
            "0",
        ])
        .output()
        .unwrap()
        .into();
    out.expect_code(0);
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect();
    let end = lines.last().unwrap();
    assert_eq!(end["type"], "end");
    assert_eq!(end["exitCode"], 3);
    let records = &lines[..lines.len() - 1];
    assert_eq!(
        records,
        events(&home, &id).as_slice(),
        "one object per record, as logged"
    );
    let output: String = records
        .iter()
        .filter(|r| r["type"] == "output")
        .map(|r| r["payload"]["data"].as_str().unwrap())
        .collect();
    assert!(
        output.contains("alpha") && output.contains("beta"),
        "{output:?}"
    );

    let screen: Run = sandbox
        .command([
            "--json",
            "--home",
            home.to_str().unwrap(),
            "follow",
            &id,
            "--screen",
            "--from-seq",
            "0",
        ])
        .output()
        .unwrap()
        .into();
    let frames: Vec<Value> = screen
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(frames.iter().any(|f| f["changedLines"]
        .as_array()
        .is_some_and(|rows| rows.iter().any(|r| r["text"] == "beta"))));
}

#[test]
fn follow_screen_from_a_seq_starts_with_the_screen_just_before_it() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, _) = create_session(
        &sandbox,
        &home,
        &["--", "sh", "-c", "echo one; sleep 0.3; echo two; sleep 0.3"],
    );
    let ended = eventually(Duration::from_secs(20), || {
        events(&home, &id)
            .iter()
            .any(|e| e["type"] == "exit")
            .then_some(())
    });
    assert!(ended.is_some(), "the Session never exited");
    let two = events(&home, &id)
        .iter()
        .find(|e| e["type"] == "output" && e["payload"]["data"].as_str().unwrap().contains("two"))
        .map(|e| e["seq"].as_u64().unwrap())
        .expect("two was printed");
    let frames = |extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "--json",
            "--home",
            home.to_str().unwrap(),
            "follow",
            &id,
            "--screen",
        ];
        args.extend_from_slice(extra);
        let run: Run = sandbox.command(args).output().unwrap().into();
        run.expect_code(0);
        run.stdout
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|f| f["type"] != "end")
            .map(|f| f["changedLines"].to_string())
            .collect()
    };
    let seq = two.to_string();
    let from = frames(&["--from-seq", &seq]);
    assert!(
        from[0].contains("one") && !from[0].contains("two"),
        "{from:#?}"
    );
    assert!(from[1..].iter().any(|f| f.contains("two")), "{from:#?}");
    // Without --from-seq, the first frame is the screen as it is now.
    let now = frames(&[]);
    assert!(now[0].contains("one") && now[0].contains("two"), "{now:#?}");
}

// ---- run --output -----------------------------------------------------------

#[test]
fn run_output_keeps_head_and_tail_of_a_long_output() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let run = sandbox
        .run_in(
            &home,
            &["run", &id, "seq 1 100000", "--output", "--timeout", "60000"],
        )
        .expect_code(0)
        .result();
    assert_eq!(run["completed"], true);
    // "1\n" .. "100000\n"
    let total: usize = (1..=100_000).map(|n: u32| n.to_string().len() + 1).sum();
    assert_eq!(run["outputTotalBytes"], total);
    assert_eq!(run["outputTruncated"], true);
    let output = run["output"].as_str().unwrap();
    assert!(output.len() <= 16 * 1024, "{}", output.len());
    assert!(output.starts_with("1\n2\n3\n"), "{:?}", &output[..20]);
    assert!(output.ends_with("99999\n100000\n"));
    assert!(output.contains("bytes omitted"));
    assert!(run["outputToSeq"].as_u64() > run["outputFromSeq"].as_u64());

    let small = sandbox
        .run_in(
            &home,
            &[
                "run",
                &id,
                "printf '\\033[31mred\\033[0m\\n'",
                "--output",
                "--max-output-bytes",
                "64",
            ],
        )
        .result();
    assert_eq!(small["output"], "red\n");
    assert_eq!(small["outputTruncated"], false);
    sandbox
        .run_in(&home, &["run", &id, "true", "--max-output-bytes", "100"])
        .expect_code(2);
}

/// `run --output` is what the command printed: not its echoed lines, not a
/// line editor's continuation prompts, not the next prompt. The host logs
/// the output cut where the shell's marks were and records which `seq`s
/// are the command's own (`run-exits.jsonl`).
#[rstest::rstest]
#[case::dash_one_line("dash", "echo hi", "hi\n")]
#[case::dash_three_lines("dash", "for i in 1 2 3\ndo echo $i\ndone", "1\n2\n3\n")]
#[case::zsh_one_line("zsh", "echo hi", "hi\n")]
#[case::zsh_three_lines("zsh", "for i in 1 2 3\ndo echo $i\ndone", "1\n2\n3\n")]
#[case::bash_three_lines("bash", "for i in 1 2 3\ndo echo $i\ndone", "1\n2\n3\n")]
#[case::bash_nothing("bash", "true", "")]
fn run_output_is_the_commands_own_output(
    #[case] shell: &str,
    #[case] command: &str,
    #[case] printed: &str,
) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {shell}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !required_under_ci(shell, found, "apt-get install zsh dash") {
        return;
    }
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, _) = create_session(&sandbox, &home, &["--", shell, "-i"]);
    let run = sandbox
        .run_in(
            &home,
            &["run", &id, command, "--output", "--timeout", "15000"],
        )
        .expect_code(0)
        .result();
    assert_eq!(run["completed"], true, "{run}");
    assert_eq!(run["output"], printed, "{shell}: {run}");
}

// ---- the mouse --------------------------------------------------------------

const MOUSE_PROGRAM: &str = r#"
import os, sys, tty
tty.setraw(0)
if len(sys.argv) > 1:
    sys.stdout.write("\x1b[?1000h\x1b[?1006h")
sys.stdout.write("READY\r\n"); sys.stdout.flush()
while True:
    data = os.read(0, 256)
    sys.stdout.write("GOT " + data.hex() + "\r\n"); sys.stdout.flush()
"#;

#[test]
fn click_reaches_a_program_in_its_mouse_encoding_and_no_other() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let script = sandbox.root().join("mouse.py");
    std::fs::write(&script, MOUSE_PROGRAM).unwrap();
    let script = script.to_str().unwrap();
    let (mouse, _) = create_session(&sandbox, &home, &["--", "python3", script, "sgr"]);
    let (plain, _) = create_session(&sandbox, &home, &["--", "python3", script]);
    for id in [&mouse, &plain] {
        sandbox
            .run_in(
                &home,
                &["wait", id, "--text", "READY", "--timeout", "10000"],
            )
            .expect_code(0);
    }

    let clicked = sandbox
        .run_in(&home, &["click", &mouse, "4", "9"])
        .expect_code(0)
        .result();
    assert_eq!(clicked["mouseEncoding"], "sgr");
    // ESC [ < 0 ; 10 ; 5 M, then the release (m).
    let want = hex("\x1b[<0;10;5M\x1b[<0;10;5m");
    sandbox
        .run_in(
            &home,
            &[
                "wait",
                &mouse,
                "--text",
                &format!("GOT {want}"),
                "--timeout",
                "10000",
            ],
        )
        .expect_code(0);
    sandbox
        .run_in(&home, &["scroll", &mouse, "down", "2", "--at", "1,2"])
        .expect_code(0);
    let wheel = hex("\x1b[<65;3;2M");
    sandbox
        .run_in(
            &home,
            &["wait", &mouse, "--text", &wheel, "--timeout", "10000"],
        )
        .expect_code(0);

    let before = events(&home, &plain).len();
    let refused = sandbox.run_in(&home, &["click", &plain, "1", "1"]);
    refused.expect_code(13);
    assert_eq!(refused.json()["error"]["code"], "MOUSE_NOT_ENABLED");
    assert_eq!(events(&home, &plain).len(), before, "nothing sent");
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}
