//! The Session host's control protocol across versions
//! (docs/SESSION-HOST-PROTOCOL.md, ADR 0026), with real builds on both
//! sides:
//! - today's CLI and client drive a host of protocol 1, the frozen build in
//!   tests/fixtures/session-host-v1 (a real PTY, a real bash);
//! - the frozen protocol 1 client drives a Session today's host runs;
//! - today's host answers a newer client's request kinds and fields with
//!   `UNSUPPORTED`, without doing anything.

use agent_tty_e2e::{
    bash_session, bin_dir, eventually, logged_events, read_manifest, session_id, Sandbox,
};
use agent_tty_runtime::control::{self, ControlRequest, HostClient, PROTOCOL_VERSION};
use agent_tty_runtime::liveness::{self, ProcessIdentity, Sidecar};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(10);

/// What bash without rc files shows as its prompt (`\s-\v\$ `), for root
/// and others alike.
const PROMPT: &str = "bash-";

/// The events that are not output: what requests logged (output of
/// earlier input may still arrive while a test looks).
fn requests_logged(dir: &Path) -> usize {
    logged_events(dir)
        .iter()
        .filter(|e| e["type"] != "output")
        .count()
}

/// All the terminal output logged so far.
fn output(dir: &Path) -> String {
    logged_events(dir)
        .iter()
        .filter(|e| e["type"] == "output")
        .filter_map(|e| e["payload"]["data"].as_str().map(str::to_owned))
        .collect()
}

/// Waits until the logged output contains `text` (in a line of its own
/// making, not the echo of the command that prints it).
fn wait_for_output(dir: &Path, text: &str) {
    eventually(PATIENCE, || output(dir).contains(text).then_some(()))
        .unwrap_or_else(|| panic!("{text:?} never appeared in:\n{}", output(dir)));
}

/// A Session run by the frozen protocol 1 host, laid out in `home` as a
/// host of that time left it: the manifest with its PIDs, the sidecar with
/// its socket, the host lock held by the host itself.
struct OldHost {
    id: String,
    dir: PathBuf,
    socket: PathBuf,
    process: Child,
}

impl OldHost {
    fn start(sandbox: &Sandbox, home: &Path) -> OldHost {
        let id = session_id(1);
        let dir = home.join("sessions").join(&id);
        std::fs::create_dir_all(&dir).unwrap();
        let sockets = sandbox.root().join("runtime").join("agent-tty");
        std::fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(&sockets)
            .unwrap();
        let socket = sockets.join(format!("{id}-00000001.sock"));
        let mut process = sandbox
            .isolate(&mut Command::new(bin_dir().join("session-host-v1")))
            .args(["--socket".as_ref(), socket.as_os_str()])
            .args(["--session-dir".as_ref(), dir.as_os_str()])
            .args(["--cols", "80", "--rows", "24", "--"])
            .args(["bash", "--norc", "--noprofile"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the protocol 1 host starts");
        let mut ready = String::new();
        BufReader::new(process.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        let ready: Value = serde_json::from_str(&ready).expect("the host says it is ready");
        let (host_pid, child_pid) = (
            ready["hostPid"].as_u64().unwrap() as u32,
            ready["childPid"].as_u64().unwrap() as u32,
        );
        let manifest = json!({
            "version": 1,
            "sessionId": id,
            "createdAt": "2026-11-24T03:50:02.677Z",
            "updatedAt": "2026-11-24T03:50:02.677Z",
            "status": "running",
            "command": ["bash", "--norc", "--noprofile"],
            "cwd": "/tmp",
            "cols": 80,
            "rows": 24,
            "hostPid": host_pid,
            "childPid": child_pid,
            "exitCode": null,
            "exitSignal": null,
        });
        std::fs::write(
            dir.join("session.json"),
            format!("{}\n", serde_json::to_string_pretty(&manifest).unwrap()),
        )
        .unwrap();
        let sidecar = Sidecar::new(
            ProcessIdentity::of(host_pid).unwrap(),
            ProcessIdentity::of(child_pid),
        )
        .with_socket(socket.clone());
        liveness::write_sidecar(&dir, &sidecar).unwrap();
        // The shell's first prompt: it reads its input from now on.
        wait_for_output(&dir, PROMPT);
        OldHost {
            id,
            dir,
            socket,
            process,
        }
    }
}

impl Drop for OldHost {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[test]
fn todays_cli_drives_a_host_of_protocol_1() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let mut old = OldHost::start(&sandbox, &home);
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.insert(1, &old.id);
        sandbox.run_in(&home, &all)
    };

    // `inspect` says hello: the old host's "could not understand" is the
    // answer of a live host of protocol 1.
    let inspected = cli(&["inspect"]).expect_code(0).result();
    assert_eq!(inspected["host"]["rpcSocketPath"], json!(old.socket));
    assert_eq!(inspected["session"]["status"], "running", "{inspected:#}");

    // Input, as every base request: sent as protocol 1 had it.
    cli(&["type", "echo typed-$((40+2))"]).expect_code(0);
    cli(&["send-keys", "Enter"]).expect_code(0);
    wait_for_output(&old.dir, "typed-42\r\n");
    cli(&["resize", "--cols", "100", "--rows", "30"]).expect_code(0);
    cli(&["type", "stty size\r"]).expect_code(0);
    wait_for_output(&old.dir, "30 100\r\n");
    let marked = cli(&["mark", "halfway"]).expect_code(0).result();
    let seq = marked["seq"].as_u64().expect("mark answers its seq");
    assert_eq!(
        logged_events(&old.dir)[seq as usize],
        json!({"seq": seq, "ts": logged_events(&old.dir)[seq as usize]["ts"], "type": "marker", "payload": {"label": "halfway"}})
    );
    cli(&["paste", "echo pasted-$((1+1))"]).expect_code(0);
    cli(&["send-keys", "Enter"]).expect_code(0);
    wait_for_output(&old.dir, "pasted-2\r\n");
    cli(&["run", "--no-wait", "sleep 300"]).expect_code(0);
    wait_for_output(&old.dir, "sleep 300\r\n");
    cli(&["signal", "INT"]).expect_code(0);
    let logged = |kind: &str| logged_events(&old.dir).iter().any(|e| e["type"] == kind);
    assert!(logged("signal"));

    // A request protocol 1 lacks is not sent: the client says what to do.
    let client = HostClient::new(&old.id, &old.socket, PATIENCE);
    let hello = client.hello().unwrap();
    assert_eq!(hello.protocol, 1);
    assert!(hello.supports("text") && !hello.supports("status"));
    let before = requests_logged(&old.dir);
    let err = client.status().unwrap_err();
    assert_eq!(err.code().to_string(), "UNSUPPORTED", "{err}");
    let message = err.to_string();
    assert!(
        message.contains("control protocol 1") && message.contains("restart the Session"),
        "{message}"
    );
    assert!(message.contains(&old.id), "{message}");
    assert_eq!(requests_logged(&old.dir), before, "nothing was logged");

    // The end: the shell killed, the old host records it and ends.
    cli(&["signal", "--shell", "KILL"]).expect_code(0);
    let status = old.process.wait().unwrap();
    assert!(status.success());
    let end = logged_events(&old.dir).pop().unwrap();
    assert_eq!(end["type"], "exit");
    assert_eq!(end["payload"]["exitSignal"], "9");
}

/// One request through the frozen protocol 1 client: its exit status and
/// the answer line as it printed it.
fn v1_client(socket: &Path, request: Value) -> (i32, Value) {
    let out = Command::new(bin_dir().join("session-client-v1"))
        .arg(socket)
        .arg(request.to_string())
        .output()
        .expect("the protocol 1 client runs");
    if out.stdout.is_empty() {
        // No answer: the host could not be reached (exit 3).
        return (out.status.code().unwrap_or(-1), Value::Null);
    }
    let answer = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not an answer ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), answer)
}

#[test]
fn a_protocol_1_client_drives_todays_host() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let dir = home.join("sessions").join(&id);
    let socket = liveness::read_sidecar(&dir).unwrap().socket.unwrap();
    let send = |request: Value| v1_client(&socket, request);
    wait_for_output(&dir, PROMPT);

    // Exactly protocol 1's answers: `ok` and `seq`, nothing else.
    assert_eq!(send(json!({"type": "ping"})), (0, json!({"ok": true})));
    let (code, typed) = send(json!({"type": "text", "data": "echo typed-$((40+2))\r"}));
    assert_eq!(code, 0, "{typed}");
    let seq = typed["seq"].as_u64().unwrap();
    assert_eq!(typed, json!({"ok": true, "seq": seq}));
    assert_eq!(logged_events(&dir)[seq as usize]["type"], "input_text");
    wait_for_output(&dir, "typed-42\r\n");

    let (code, resized) = send(json!({"type": "resize", "cols": 100, "rows": 30}));
    assert_eq!(code, 0, "{resized}");
    let m = read_manifest(&dir);
    assert_eq!(
        (m["cols"].clone(), m["rows"].clone()),
        (json!(100), json!(30))
    );
    send(
        json!({"type": "keys", "keys": ["s", "t", "t", "y", "Space", "s", "i", "z", "e", "Enter"]}),
    );
    wait_for_output(&dir, "30 100\r\n");

    let (_, secret) = send(json!({"type": "text", "data": "not-in-the-log", "secret": true}));
    let seq = secret["seq"].as_u64().unwrap();
    assert_eq!(
        logged_events(&dir)[seq as usize]["payload"]["data"],
        "[redacted]"
    );
    send(json!({"type": "keys", "keys": ["Ctrl+U"]}));

    let (_, marked) = send(json!({"type": "mark", "label": "halfway"}));
    let seq = marked["seq"].as_u64().unwrap();
    assert_eq!(
        logged_events(&dir)[seq as usize]["payload"]["label"],
        "halfway"
    );
    send(json!({"type": "paste", "data": "echo pasted-$((1+1))"}));
    send(json!({"type": "keys", "keys": ["Enter"]}));
    wait_for_output(&dir, "pasted-2\r\n");

    let (code, ran) =
        send(json!({"type": "run", "command": "sleep 300", "marker": "v1run", "noWait": true}));
    assert_eq!(code, 0, "{ran}");
    wait_for_output(&dir, "sleep 300\r\n");
    let (code, _) = send(json!({"type": "signal", "signal": "INT"}));
    assert_eq!(code, 0);

    // Refusals keep protocol 1's codes, and do nothing.
    let before = requests_logged(&dir);
    let (code, refused) = send(json!({"type": "keys", "keys": ["NotAKey"]}));
    assert_eq!(code, 1);
    assert_eq!(refused["error"]["code"], "INVALID_KEYS", "{refused}");
    let (_, refused) = send(json!({"type": "resize", "cols": 0, "rows": 5}));
    assert_eq!(refused["error"]["code"], "INVALID_DIMENSIONS", "{refused}");
    assert_eq!(requests_logged(&dir), before, "nothing was logged");

    let (code, killed) = send(json!({"type": "signal", "signal": "KILL", "shell": true}));
    assert_eq!(code, 0, "{killed}");
    eventually(PATIENCE, || {
        (read_manifest(&dir)["status"] == "exited").then_some(())
    })
    .expect("the Session ends");
    let (code, refused) = send(json!({"type": "ping"}));
    assert_eq!((code, refused), (3, Value::Null), "the host is gone");
}

/// One raw line to a host, its answer line parsed.
fn raw(socket: &Path, line: &str) -> Value {
    let mut stream = UnixStream::connect(socket).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(format!("{line}\n").as_bytes()).unwrap();
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer).unwrap();
    serde_json::from_str(&answer).unwrap()
}

#[test]
fn todays_host_says_hello_and_refuses_what_a_newer_client_adds() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let dir = home.join("sessions").join(&id);
    let socket =
        control::session_socket(&home, &id, liveness::read_sidecar(&dir).as_ref()).unwrap();
    wait_for_output(&dir, PROMPT);

    let client = HostClient::new(&id, &socket, PATIENCE);
    let hello = client.hello().unwrap();
    assert_eq!(hello.protocol, PROTOCOL_VERSION);
    assert!(hello.supports("status") && hello.supports("text"));
    let status = client.status().unwrap();
    let m = read_manifest(&dir);
    assert_eq!(json!(status.child_pid), m["childPid"]);
    assert_eq!(json!(status.host_pid), m["hostPid"]);
    assert!(status.running);

    let before = requests_logged(&dir);
    let kind = raw(&socket, r#"{"type":"frobnicate","level":3}"#);
    assert_eq!(kind["error"]["code"], "UNSUPPORTED", "{kind}");
    assert!(kind["error"]["message"]
        .as_str()
        .unwrap()
        .contains("frobnicate"));
    let field = raw(
        &socket,
        r#"{"type":"text","data":"rm -rf x\r","typingDelayMs":20}"#,
    );
    assert_eq!(field["error"]["code"], "UNSUPPORTED", "{field}");
    assert!(field["error"]["message"]
        .as_str()
        .unwrap()
        .contains("typingDelayMs"));
    let broken = raw(&socket, r#"{"type":"resize","cols":"wide","rows":5}"#);
    assert_eq!(broken["error"]["code"], "PROTOCOL_ERROR", "{broken}");
    assert_eq!(requests_logged(&dir), before, "nothing was logged or typed");

    // `status` says what only the host knows: a waited `run` is pending
    // until the command it typed ends, here once the test makes a file.
    let go = sandbox.root().join("go");
    let ran = client
        .send(&ControlRequest::Run {
            command: format!("until [ -e '{}' ]; do sleep 0.05; done", go.display()),
            marker: "statusrun".into(),
            no_wait: false,
        })
        .unwrap();
    assert!(ran.seq.is_some(), "{ran:?}");
    assert_eq!(client.status().unwrap().runs_pending, 1);
    std::fs::write(&go, "").unwrap();
    eventually(PATIENCE, || {
        (client.status().unwrap().runs_pending == 0).then_some(())
    })
    .unwrap_or_else(|| panic!("the run never ended: {:#?}", logged_events(&dir)));
    assert!(logged_events(&dir)
        .iter()
        .any(|e| e["type"] == "run_complete" && e["payload"]["marker"] == "statusrun"));

    // A request sent through the client that the host lacks never leaves
    // it; base requests are sent as they are.
    assert_eq!(
        client.send(&ControlRequest::Ping).unwrap().seq,
        None,
        "ping needs no hello"
    );
}
