//! Interop with agent-tty 0.5's host protocol (contract §7.2, §7.3), both
//! ways, with real sockets:
//! - a 0.5-protocol client written here from the contract (raw JSON lines)
//!   drives a Session our host runs;
//! - our CLI drives a small host written here from the contract, standing in
//!   for a 0.5 host (a Session with no sidecar of ours).
//!
//! The socket location is computed by the harness from the contract's words
//! (`/tmp/agent-tty/<8 hex of sha256(home)>/<12 hex of sha256(id)>`), not by
//! calling our code.

use agent_tty_e2e::rpc_schema05::{call, request, socket_dir, socket_path};
use agent_tty_e2e::{
    bash_session, create_session, eventually, logged_events, write_session, Sandbox,
};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One raw request line, as 0.5's client sends it.
fn rpc(socket: &Path, line: &str) -> Value {
    request(socket, line)
}

#[test]
fn a_0_5_protocol_client_drives_our_host() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let dir = home.join("sessions").join(&id);
    let socket = socket_path(&home, &id);
    let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&socket_dir(&home)), 0o700);
    assert_eq!(mode(&socket), 0o600);

    let inspect = call(&socket, "a", "inspect", json!({}));
    assert_eq!(inspect["id"], "a");
    assert_eq!(inspect["ok"], true);
    assert_eq!(inspect["result"]["session"]["sessionId"], id.as_str());
    assert_eq!(inspect["result"]["session"]["status"], "running");
    assert_eq!(inspect["result"]["rpcSocketPath"], socket.to_str().unwrap());

    let typed = call(
        &socket,
        "b",
        "type",
        json!({ "text": "echo typed-$((40+2))" }),
    );
    let seq = typed["result"]["seq"].as_u64().expect("{typed}");
    assert_eq!(logged_events(&dir)[seq as usize]["type"], "input_text");
    let keys = call(&socket, "c", "sendKeys", json!({ "keys": ["Enter"] }));
    assert_eq!(keys["result"]["accepted"], json!(["Enter"]));
    assert_eq!(keys["result"]["bytesWritten"], 1);
    let waited = call(
        &socket,
        "d",
        "waitForRender",
        json!({ "text": "typed-42", "afterSeq": seq, "timeoutMs": 10000 }),
    );
    assert_eq!(waited["result"]["matched"], true, "{waited}");
    assert_eq!(waited["result"]["matchedText"], "typed-42");
    assert_eq!(waited["result"]["screenHash"].as_str().unwrap().len(), 64);

    let run = call(
        &socket,
        "e",
        "run",
        json!({ "command": "echo ran-$((6*7))" }),
    );
    assert_eq!(run["result"]["accepted"], true);
    assert_eq!(run["result"]["completed"], true, "{run}");
    assert_eq!(run["result"]["timedOut"], false);
    let no_wait = call(
        &socket,
        "f",
        "run",
        json!({ "command": "true", "noWait": true }),
    );
    assert_eq!(
        no_wait["result"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["accepted", "seq"]
    );
    let mark = call(&socket, "g", "mark", json!({ "label": "" }));
    let mark_seq = mark["result"]["seq"].as_u64().unwrap() as usize;
    assert_eq!(
        logged_events(&dir)[mark_seq]["payload"],
        json!({ "label": "" })
    );
    let snap = call(&socket, "h", "snapshot", json!({ "format": "text" }));
    assert!(snap["result"]["text"].as_str().unwrap().contains("ran-42"));
    let resized = call(&socket, "i", "resize", json!({ "cols": 100, "rows": 30 }));
    assert_eq!(resized["result"], json!({ "cols": 100, "rows": 30 }));

    // 0.5's error rules.
    let bad_key = call(&socket, "j", "sendKeys", json!({ "keys": ["Bogus"] }));
    assert_eq!(bad_key["ok"], false);
    assert_eq!(bad_key["error"]["code"], "INVALID_KEYS");
    let unknown = call(&socket, "k", "teleport", json!({}));
    assert_eq!(unknown["error"]["code"], "RPC_ERROR");
    assert_eq!(unknown["error"]["message"], "Unsupported method: teleport");
    let extra = call(&socket, "l", "type", json!({ "text": "x", "bogus": 1 }));
    assert_eq!(extra["error"]["code"], "RPC_ERROR");
    let garbage = rpc(&socket, "not json");
    assert_eq!(garbage["id"], "unknown");
    assert_eq!(garbage["error"]["code"], "RPC_ERROR");
    let wait_both = call(&socket, "m", "wait", json!({ "exit": true, "idleMs": 5 }));
    assert_eq!(wait_both["error"]["code"], "INVALID_DURATION");

    let destroyed = call(&socket, "n", "destroy", json!({}));
    assert_eq!(
        destroyed["result"],
        json!({ "sessionId": id, "destroyed": true })
    );
    let m: Value = eventually(Duration::from_secs(10), || {
        let m: Value =
            serde_json::from_slice(&std::fs::read(dir.join("session.json")).ok()?).ok()?;
        (m["status"] == "destroyed").then_some(m)
    })
    .expect("destroyed");
    assert_eq!(m["exitSignal"], "1");
    assert!(!socket.exists());
}

#[test]
fn our_host_does_not_listen_where_others_could_reach_it() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    // Someone made the Home's 0.5 socket directory open to everyone.
    std::fs::DirBuilder::new()
        .recursive(true)
        .create(socket_dir(&home))
        .unwrap();
    std::fs::set_permissions(socket_dir(&home), std::fs::Permissions::from_mode(0o777)).unwrap();
    let id = bash_session(&sandbox, &home, &[]);
    let sidecar: Value = serde_json::from_slice(
        &std::fs::read(home.join("sessions").join(&id).join("host.json")).unwrap(),
    )
    .unwrap();
    assert!(
        sidecar["legacySocketRefused"]
            .as_str()
            .unwrap()
            .contains("writable by other users"),
        "{sidecar}"
    );
    assert!(!socket_path(&home, &id).exists());
    // Everything else works.
    sandbox.run_in(&home, &["type", &id, "x"]).expect_code(0);
    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
    let _ = std::fs::remove_dir(socket_dir(&home));
}

/// A host speaking 0.5's protocol, written from the contract: answers every
/// request it gets with canned 0.5 result shapes and records it.
struct FakeHost {
    requests: Arc<Mutex<Vec<Value>>>,
    socket: PathBuf,
    /// Stands in for the host process: alive, so the Session is not reconciled.
    process: std::process::Child,
}

impl FakeHost {
    fn start(sandbox: &Sandbox, home: &Path, id: &str) -> FakeHost {
        let process = std::process::Command::new("sleep")
            .arg("300")
            .spawn()
            .unwrap();
        let dir = write_session(home, id, "running", Some(process.id()));
        assert!(!dir.join("host.json").exists());
        let _ = sandbox;
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true).mode(0o700);
        builder.create(socket_dir(home)).unwrap();
        let socket = socket_path(home, id);
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket).unwrap();
        let manifest = dir.join("session.json");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            let mut seq = 1u64;
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let mut line = String::new();
                BufReader::new(&stream).read_line(&mut line).unwrap();
                let req: Value = serde_json::from_str(&line).unwrap();
                seen.lock().unwrap().push(req.clone());
                seq += 1;
                let p = &req["params"];
                let result = match req["method"].as_str().unwrap() {
                    "type" | "paste" | "mark" => json!({ "seq": seq }),
                    "sendKeys" => json!({ "accepted": p["keys"], "bytesWritten": 1, "seq": seq }),
                    "resize" => json!({ "cols": p["cols"], "rows": p["rows"] }),
                    "signal" => json!({}),
                    "run" if p["noWait"] == true => json!({ "accepted": true, "seq": seq }),
                    "run" => json!({
                        "accepted": true, "completed": true, "timedOut": false, "seq": seq,
                        "durationMs": 3, "marker": "__AT_MARKER_0123456789abcdef0123456789abcdef__",
                    }),
                    "inspect" => json!({
                        "session": serde_json::from_slice::<Value>(&std::fs::read(&manifest).unwrap()).unwrap(),
                        "cliVersion": "0.5.0", "rpcSocketPath": "x", "rendererBackend": "libghostty-vt",
                        "rendererBooted": true, "rendererBootInFlight": false,
                    }),
                    other => {
                        let answer = json!({ "id": req["id"], "ok": false,
                            "error": { "code": "RPC_ERROR", "message": format!("Unsupported method: {other}") } });
                        (&stream)
                            .write_all(format!("{answer}\n").as_bytes())
                            .unwrap();
                        continue;
                    }
                };
                let answer = json!({ "id": req["id"], "ok": true, "result": result });
                (&stream)
                    .write_all(format!("{answer}\n").as_bytes())
                    .unwrap();
            }
        });
        FakeHost {
            requests,
            socket,
            process,
        }
    }

    fn last(&self) -> Value {
        self.requests.lock().unwrap().last().cloned().unwrap()
    }
}

impl Drop for FakeHost {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_file(&self.socket);
        if let Some(dir) = self.socket.parent() {
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
            let _ = std::fs::remove_dir(dir);
        }
    }
}

#[test]
fn our_cli_drives_a_host_speaking_0_5s_protocol() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = "01JD3Z6X8K4M2N5P7Q9R0FAKE5";
    let host = FakeHost::start(&sandbox, &home, id);

    let typed = sandbox
        .run_in(&home, &["type", id, "hello"])
        .expect_code(0)
        .result();
    assert!(typed["seq"].is_u64(), "{typed}");
    let req = host.last();
    assert_eq!(req["method"], "type");
    assert_eq!(req["params"], json!({ "text": "hello" }));
    assert!(req["id"].as_str().is_some_and(|s| !s.is_empty()));

    // inspect asks the 0.5 host with 0.5's own request.
    let inspected = sandbox
        .run_in(&home, &["inspect", id])
        .expect_code(0)
        .result();
    assert_eq!(host.last()["method"], "inspect");
    assert_eq!(inspected["usedOfflineReplay"], false, "{inspected:#}");
    assert_eq!(inspected["rendererRuntime"]["mode"], "live-host");
    assert!(
        inspected["host"]["rpcSocketPath"].is_string(),
        "{inspected:#}"
    );

    sandbox.run_in(&home, &["paste", id, "p"]).expect_code(0);
    assert_eq!(host.last()["params"], json!({ "text": "p" }));
    sandbox
        .run_in(&home, &["send-keys", id, "Down", "Enter"])
        .expect_code(0);
    assert_eq!(host.last()["params"], json!({ "keys": ["Down", "Enter"] }));
    let mark = sandbox
        .run_in(&home, &["mark", id, "m1"])
        .expect_code(0)
        .result();
    assert_eq!(host.last()["params"], json!({ "label": "m1" }));
    assert!(mark["seq"].is_u64());
    sandbox
        .run_in(&home, &["resize", id, "--cols", "90", "--rows", "20"])
        .expect_code(0);
    assert_eq!(host.last()["params"], json!({ "cols": 90, "rows": 20 }));
    sandbox
        .run_in(&home, &["signal", id, "SIGINT"])
        .expect_code(0);
    assert_eq!(host.last()["params"], json!({ "signal": "SIGINT" }));

    let run = sandbox
        .run_in(&home, &["run", id, "ls"])
        .expect_code(0)
        .result();
    assert_eq!(run["completed"], true, "{run}");
    assert_eq!(host.last()["params"]["command"], "ls");
    assert_eq!(host.last()["params"]["noWait"], false);
    assert!(host.last()["params"]["timeoutMs"].is_u64());
    sandbox
        .run_in(&home, &["run", id, "ls", "--no-wait"])
        .expect_code(0);
    assert_eq!(
        host.last()["params"],
        json!({ "command": "ls", "noWait": true })
    );

    let inspected = sandbox
        .run_in(&home, &["inspect", id])
        .expect_code(0)
        .result();
    assert_eq!(inspected["host"]["cliVersion"], "0.5.0", "{inspected:#}");
    assert_eq!(inspected["usedOfflineReplay"], false);
    assert_eq!(host.last()["method"], "inspect");

    let batch = sandbox
        .run_in(&home, &["batch", id, r#"[{"type":"a"},{"run":"b"}]"#])
        .expect_code(0)
        .result();
    assert_eq!(batch["completedCount"], 2, "{batch}");
    assert_eq!(batch["steps"][1]["runOutcome"], "completed");
}

#[test]
fn a_0_5_session_that_cannot_be_driven_says_why_and_is_not_retryable() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = "01JD3Z6X8K4M2N5P7Q9R0FAKE6";
    let host = FakeHost::start(&sandbox, &home, id);
    std::fs::set_permissions(socket_dir(&home), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = sandbox.run_in(&home, &["type", id, "hello"]);
    out.expect_code(9);
    let error = &out.json()["error"];
    assert_eq!(error["code"], "PROTOCOL_ERROR");
    assert_eq!(error["retryable"], false);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("writable by other users"),
        "{error}"
    );
    assert!(host.requests.lock().unwrap().is_empty());

    // No listener at all while the host process lives: the same.
    std::fs::set_permissions(socket_dir(&home), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::remove_file(&host.socket).unwrap();
    let out = sandbox.run_in(&home, &["type", id, "hello"]);
    out.expect_code(9);
    assert_eq!(out.json()["error"]["retryable"], false);
}

#[test]
fn a_killed_hosts_0_5_socket_is_removed_by_reconcile() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, _) = create_session(&sandbox, &home, &["--", "sleep", "300"]);
    let socket = socket_path(&home, &id);
    assert!(socket.exists());
    let m: Value = serde_json::from_slice(
        &std::fs::read(home.join("sessions").join(&id).join("session.json")).unwrap(),
    )
    .unwrap();
    let host = m["hostPid"].as_i64().unwrap() as i32;
    // SAFETY: kill(2) on the host this test started.
    unsafe { libc::kill(host, libc::SIGKILL) };
    eventually(Duration::from_secs(10), || {
        (!agent_tty_e2e::process_alive(host)).then_some(())
    })
    .expect("the host died");
    sandbox.run_in(&home, &["list", "--all"]).expect_code(0);
    assert!(
        !socket.exists(),
        "the dead host's 0.5 socket was left behind"
    );
    assert!(!socket_dir(&home).exists());
}
