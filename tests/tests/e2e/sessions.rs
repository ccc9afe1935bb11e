//! End-to-end tests: the Session core (`create`, `list`, `inspect`,
//! `destroy`, the PTY host, reconcile and liveness), tried as a new user
//! would, with real PTYs and processes in temp Homes.

use agent_tty_core::event_log::{read_all, EventBody};
use agent_tty_e2e::{
    create_session, dead_pid, eventually, manifest_pid, process_alive, read_manifest,
    snapshot_tree, Run, Sandbox,
};
use agent_tty_runtime::control::{self, ControlRequest};
use rstest::rstest;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(10);

/// `create --json` in `home`; returns the id and the Session directory.
fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn wait_for_status(dir: &Path, status: &str) -> Value {
    eventually(PATIENCE, || {
        let m = read_manifest(dir);
        (m["status"] == status).then_some(m)
    })
    .unwrap_or_else(|| panic!("status never became {status}: {:#}", read_manifest(dir)))
}

fn listed(run: &Run) -> Vec<Value> {
    run.result()["sessions"].as_array().unwrap().clone()
}

fn socket_of(sandbox: &Sandbox, home: &Path, id: &str) -> PathBuf {
    let dir = sandbox.root().join("runtime").join("agent-tty");
    std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{id}-"))
        })
        .unwrap_or_else(|| panic!("no socket for {id} (home {})", home.display()))
}

/// Processes whose process group is `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = s[s.rfind(')')? + 1..].to_owned();
                    rest.split_whitespace().nth(2)?.parse::<i32>().ok()
                })
                == Some(pgid)
        })
        .filter(|&pid| process_alive(pid))
        .collect()
}

#[test]
fn create_writes_the_05_layout_with_private_modes_and_list_shows_it_running() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, dir) = create_session(&sandbox, &home, &["--", "sleep", "300"]);

    assert_eq!(id.len(), 26);
    assert!(
        id.chars()
            .all(|c| c.is_ascii_digit() || ("A"..="Z").contains(&c.to_string().as_str()))
            && !id.contains(['I', 'L', 'O', 'U']),
        "{id} is not a ULID"
    );
    let m = read_manifest(&dir);
    let mut keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = vec![
        "version",
        "sessionId",
        "createdAt",
        "updatedAt",
        "status",
        "command",
        "cwd",
        "shell",
        "term",
        "cols",
        "rows",
        "creationCols",
        "creationRows",
        "hostPid",
        "childPid",
        "exitCode",
        "exitSignal",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(m["command"], json!(["sleep", "300"]));
    assert_eq!(
        (m["cols"].clone(), m["rows"].clone()),
        (json!(80), json!(24))
    );
    assert_eq!(m["term"], "xterm-256color");
    assert!(
        process_alive(manifest_pid(&m, "hostPid")) && process_alive(manifest_pid(&m, "childPid"))
    );

    assert_eq!(mode(&home), 0o700, "a Home the tool creates is private");
    assert_eq!(mode(&dir), 0o700);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    assert_eq!(mode(&socket_of(&sandbox, &home, &id)), 0o600);

    let sessions = listed(&sandbox.run_in(&home, &["list"]));
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["sessionId"], id.as_str());
    assert_eq!(sessions[0]["status"], "running");
    assert_eq!(sessions[0]["pid"], m["childPid"]);
}

#[test]
fn create_returns_the_contract_result_and_prints_only_the_id() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let r = sandbox
        .run_in(
            &home,
            &[
                "create", "--name", "build", "--cols", "100", "--rows", "30", "--", "sleep", "300",
            ],
        )
        .result();
    let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["sessionId", "createdAt", "cols", "rows", "shell"]);
    assert_eq!(
        (r["cols"].clone(), r["rows"].clone()),
        (json!(100), json!(30))
    );
    assert_eq!(r["shell"], "/bin/sh");

    let human = sandbox.run([
        "--home",
        home.to_str().unwrap(),
        "create",
        "--",
        "sleep",
        "300",
    ]);
    human.expect_code(0);
    // 0.5's line: `Session created: <id>`.
    let id = human
        .stdout
        .trim_end_matches('\n')
        .strip_prefix("Session created: ")
        .unwrap_or_else(|| panic!("{:?}", human.stdout));
    assert_eq!(id.len(), 26, "{:?}", human.stdout);
    assert!(human.stderr.is_empty(), "{}", human.stderr);
}

#[test]
fn a_default_session_runs_the_shell_with_term_cwd_and_env() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let cwd = sandbox.root().join("work");
    std::fs::create_dir(&cwd).unwrap();
    let (id, dir) = create_session(
        &sandbox,
        &home,
        &[
            "--cwd",
            cwd.to_str().unwrap(),
            "--env",
            "GREETING=hello there",
            "--term",
            "vt100",
        ],
    );
    assert_eq!(read_manifest(&dir)["command"], json!(["/bin/sh"]));
    let socket = socket_of(&sandbox, &home, &id);
    let request = ControlRequest::Text {
        data: "echo \"$TERM:$GREETING:$(pwd)\"; exit 0\r".into(),
        secret: false,
    };
    control::send(&socket, &request, PATIENCE).unwrap();
    wait_for_status(&dir, "exited");
    let output: String = read_all(&dir.join("events.jsonl"))
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.body {
            EventBody::Output { data } => Some(data),
            _ => None,
        })
        .collect();
    let canonical = std::fs::canonicalize(&cwd).unwrap();
    assert!(
        output.contains(&format!("vt100:hello there:{}", canonical.display())),
        "{output:?}"
    );
}

#[test]
fn an_exiting_command_records_its_output_then_its_exit() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (_, dir) = create_session(&sandbox, &home, &["--", "sh", "-c", "echo hi; exit 3"]);
    let m = wait_for_status(&dir, "exited");
    assert_eq!(m["exitCode"], 3);
    assert_eq!(m["exitSignal"], Value::Null);
    assert_eq!(
        (m["hostPid"].clone(), m["childPid"].clone()),
        (Value::Null, Value::Null)
    );

    let events = read_all(&dir.join("events.jsonl")).unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (0..events.len() as u64).collect::<Vec<_>>());
    let hi = events
        .iter()
        .position(|e| matches!(&e.body, EventBody::Output { data } if data.contains("hi")))
        .expect("an output event with hi");
    let exit = events
        .iter()
        .position(|e| {
            matches!(
                e.body,
                EventBody::Exit {
                    exit_code: Some(3),
                    ..
                }
            )
        })
        .expect("an exit event");
    assert!(hi < exit);
    assert_eq!(exit, events.len() - 1);
    assert!(
        !socket_path_exists(&sandbox),
        "the host removes its socket when done"
    );
    let sessions = listed(&sandbox.run_in(&home, &["list", "--all"]));
    assert_eq!(sessions[0]["status"], "exited");
    assert_eq!(read_manifest(&dir)["exitCode"], 3);
    assert!(listed(&sandbox.run_in(&home, &["list"])).is_empty());
}

fn socket_path_exists(sandbox: &Sandbox) -> bool {
    std::fs::read_dir(sandbox.root().join("runtime").join("agent-tty"))
        .map(|rd| rd.count() > 0)
        .unwrap_or(false)
}

#[test]
fn a_signalled_command_records_the_signal_number_as_0_5_does() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, dir) = create_session(&sandbox, &home, &["--", "sleep", "300"]);
    let socket = socket_of(&sandbox, &home, &id);
    let answer = control::send(
        &socket,
        &ControlRequest::Signal {
            shell: false,
            signal: "TERM".into(),
        },
        PATIENCE,
    )
    .unwrap();
    let m = wait_for_status(&dir, "exited");
    // Contract §7.1: the signal's number as a decimal string, exit code 0.
    assert_eq!(m["exitSignal"], "15");
    assert_eq!(m["exitCode"], 0);
    let events = read_all(&dir.join("events.jsonl")).unwrap();
    assert_eq!(
        events[answer.seq.unwrap() as usize].body,
        EventBody::Signal {
            signal: "SIGTERM".into()
        }
    );
}

#[rstest]
#[case::plain(&["sleep", "300"])]
#[case::ignoring_hangups(&["sh", "-c", "trap '' HUP; sleep 300"])]
fn killing_the_host_fails_the_session_and_ends_its_command(#[case] command: &[&str]) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let mut args = vec!["--"];
    args.extend(command);
    let (id, dir) = create_session(&sandbox, &home, &args);
    let m = read_manifest(&dir);
    let (host, child) = (manifest_pid(&m, "hostPid"), manifest_pid(&m, "childPid"));
    assert!(socket_path_exists(&sandbox));
    // SAFETY: kill(2) on the host this test created.
    unsafe { libc::kill(host, libc::SIGKILL) };
    eventually(PATIENCE, || (!process_alive(host)).then_some(())).expect("the host dies");
    assert!(
        socket_path_exists(&sandbox),
        "a killed host cannot clean up"
    );

    let sessions = listed(&sandbox.run_in(&home, &["list", "--all"]));
    assert!(
        !socket_path_exists(&sandbox),
        "reconcile removes the dead host's socket"
    );
    let s = sessions
        .iter()
        .find(|s| s["sessionId"] == id.as_str())
        .unwrap();
    assert_eq!(s["status"], "failed");
    assert_eq!(read_manifest(&dir)["failureOrigin"], "host-death");
    assert_eq!(s["pid"], Value::Null);
    eventually(PATIENCE, || group_members(child).is_empty().then_some(()))
        .expect("the command's process group is gone");
    let m = read_manifest(&dir);
    assert_eq!(
        (m["hostPid"].clone(), m["childPid"].clone()),
        (Value::Null, Value::Null)
    );
    assert!(m["failureReason"].as_str().is_some());
}

#[rstest]
#[case::graceful(false, &["sh", "-c", "sleep 301 & sleep 302"])]
#[case::stubborn(false, &["sh", "-c", "trap '' HUP TERM; sleep 303 & sleep 304"])]
#[case::forced(true, &["sh", "-c", "sleep 305 & sleep 306"])]
fn destroy_ends_the_process_group_and_a_second_destroy_exits_4(
    #[case] force: bool,
    #[case] command: &[&str],
) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let mut args = vec!["--"];
    args.extend(command);
    let (id, dir) = create_session(&sandbox, &home, &args);
    let child = manifest_pid(&read_manifest(&dir), "childPid");
    eventually(PATIENCE, || (group_members(child).len() >= 2).then_some(()))
        .expect("the command and its background job run");

    let mut destroy = vec!["destroy", id.as_str()];
    if force {
        destroy.push("--force");
    }
    let r = sandbox.run_in(&home, &destroy).expect_code(0).result();
    assert_eq!(r, serde_json::json!({ "sessionId": id, "destroyed": true }));
    assert!(group_members(child).is_empty(), "the process group is gone");
    let m = read_manifest(&dir);
    assert_eq!(m["status"], "destroyed");
    assert_eq!(
        (m["hostPid"].clone(), m["childPid"].clone()),
        (Value::Null, Value::Null)
    );

    let again = sandbox.run_in(&home, &destroy);
    again.expect_code(4);
    assert_eq!(again.json()["error"]["code"], "SESSION_ALREADY_DESTROYED");
}

#[test]
fn destroy_works_when_the_host_is_already_dead() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, dir) = create_session(
        &sandbox,
        &home,
        &["--", "sh", "-c", "trap '' HUP; sleep 300"],
    );
    let m = read_manifest(&dir);
    let (host, child) = (manifest_pid(&m, "hostPid"), manifest_pid(&m, "childPid"));
    // SAFETY: kill(2) on the host this test created.
    unsafe { libc::kill(host, libc::SIGKILL) };
    eventually(PATIENCE, || (!process_alive(host)).then_some(())).expect("the host dies");
    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
    assert_eq!(read_manifest(&dir)["status"], "destroyed");
    assert!(group_members(child).is_empty());
    assert!(
        !socket_path_exists(&sandbox),
        "the dead host's socket is removed"
    );
}

#[test]
fn an_ended_session_can_be_destroyed_and_unknown_ids_exit_3() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, dir) = create_session(&sandbox, &home, &["--", "true"]);
    wait_for_status(&dir, "exited");
    let r = sandbox
        .run_in(&home, &["destroy", &id])
        .expect_code(0)
        .result();
    assert_eq!(r, serde_json::json!({ "sessionId": id, "destroyed": true }));
    assert_eq!(
        read_manifest(&dir)["exitCode"],
        0,
        "the exit stays recorded"
    );

    for cmd in ["destroy", "inspect"] {
        let r = sandbox.run_in(&home, &[cmd, "01JD3Z6X8K4M2N5P7Q9R1S3T5V"]);
        r.expect_code(3);
        assert_eq!(r.json()["error"]["code"], "SESSION_NOT_FOUND");
    }
}

#[test]
fn the_session_survives_the_terminal_that_created_it() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (master, slave) = agent_tty_runtime::pty::open(80, 24).unwrap();
    // A "terminal" running a shell that creates a Session and then lingers,
    // like a user's interactive shell.
    let script = format!(
        "{} --json --home {} create -- sleep 300; sleep 300",
        agent_tty_e2e::agent_tty().display(),
        home.display()
    );
    let template = sandbox.command(["unused"]);
    let mut shell = Command::new("sh");
    for (key, value) in template.get_envs() {
        match value {
            Some(v) => shell.env(key, v),
            None => shell.env_remove(key),
        };
    }
    shell.args(["-c", &script]);
    agent_tty_runtime::pty::attach(&mut shell, slave).unwrap();
    let terminal_shell = KillGroupOnDrop(shell.spawn().unwrap());
    drop(shell);
    let dir = eventually(PATIENCE, || {
        let sessions = home.join("sessions");
        let entry = std::fs::read_dir(sessions)
            .ok()?
            .filter_map(|e| e.ok())
            .next()?;
        let m: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.path().join("session.json")).ok()?)
                .ok()?;
        m["childPid"].as_i64().map(|_| entry.path())
    })
    .expect("the Session is created from inside the terminal");

    // Close the terminal: hang up its master and kill its session.
    drop(master);
    drop(terminal_shell);
    // No fixed wait: the hang-up's SIGHUP was sent when the master closed, and
    // a pending signal is acted on before a process next runs user code. So a
    // host that answers a request made after the hang-up did not die of it.
    let id = dir.file_name().unwrap().to_str().unwrap().to_owned();
    sandbox.run_in(&home, &["type", &id, "x"]).expect_code(0);

    let m = read_manifest(&dir);
    assert_eq!(m["status"], "running");
    assert!(
        process_alive(manifest_pid(&m, "hostPid")) && process_alive(manifest_pid(&m, "childPid"))
    );
    let sessions = listed(&sandbox.run_in(&home, &["list"]));
    assert_eq!(sessions[0]["status"], "running");
}

/// A process group leader killed with its whole group when dropped, so a
/// failing assertion cannot leave it running.
struct KillGroupOnDrop(Child);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the process group this test started.
        unsafe { libc::kill(-(self.0.id() as i32), libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

/// Writes a Session as agent-tty 0.5 would (no sidecar).
fn write_05_session(home: &Path, id: &str, manifest: Value) -> PathBuf {
    let dir = home.join("sessions").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("session.json"),
        serde_json::to_string_pretty(&manifest).unwrap() + "\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("events.jsonl"),
        concat!(
            r#"{"seq":0,"ts":"2026-11-24T03:50:02.700Z","type":"output","payload":{"data":"$ "}}"#,
            "\n",
            r#"{"seq":1,"ts":"2026-11-24T03:50:03.100Z","type":"input_text","payload":{"data":"ls"}}"#,
            "\n",
            r#"{"seq":2,"ts":"2026-11-24T03:50:03.2"#
        ),
    )
    .unwrap();
    dir
}

fn manifest_05(
    id: &str,
    created: &str,
    status: &str,
    host: Option<u32>,
    child: Option<u32>,
) -> Value {
    json!({
        "version": 1,
        "sessionId": id,
        "createdAt": created,
        "updatedAt": created,
        "status": status,
        "command": ["bash", "-l"],
        "cwd": "/tmp",
        "name": format!("from-0.5-{status}"),
        "shell": "/bin/bash",
        "term": "xterm-256color",
        "env": {"LANG": "C.UTF-8"},
        "cols": 120,
        "rows": 40,
        "creationCols": 80,
        "creationRows": 24,
        "idleTimeoutMs": 0,
        "hostPid": host,
        "childPid": child,
        "exitCode": if status == "exited" { json!(0) } else { Value::Null },
        "exitSignal": null,
    })
}

#[test]
fn a_home_written_by_agent_tty_05_is_listed_reconciled_and_inspected() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("old");
    // A "host" that is alive (judged by PID alone) and an orphaned command
    // whose host died.
    let mut live_host = Command::new("sleep").arg("300").spawn().unwrap();
    let mut orphan = Command::new("sleep").arg("300").spawn().unwrap();
    let ids = [
        "01JD3Z6X8K4M2N5P7Q9R000001",
        "01JD3Z6X8K4M2N5P7Q9R000002",
        "01JD3Z6X8K4M2N5P7Q9R000003",
    ];
    write_05_session(
        &home,
        ids[0],
        manifest_05(ids[0], "2026-11-24T03:50:01.000Z", "exited", None, None),
    );
    let alive = write_05_session(
        &home,
        ids[1],
        manifest_05(
            ids[1],
            "2026-11-24T03:50:02.000Z",
            "running",
            Some(live_host.id()),
            None,
        ),
    );
    let dead = write_05_session(
        &home,
        ids[2],
        manifest_05(
            ids[2],
            "2026-11-24T03:50:03.000Z",
            "running",
            Some(dead_pid()),
            Some(orphan.id()),
        ),
    );

    let active = listed(&sandbox.run_in(&home, &["list"]));
    assert_eq!(active.len(), 1, "{active:#?}");
    assert_eq!(active[0]["sessionId"], ids[1]);
    assert_eq!(active[0]["name"], "from-0.5-running");

    let all = listed(&sandbox.run_in(&home, &["ls", "--all"]));
    let order: Vec<&str> = all
        .iter()
        .map(|s| s["sessionId"].as_str().unwrap())
        .collect();
    assert_eq!(order, [ids[2], ids[1], ids[0]], "newest first");
    assert_eq!(all[0]["status"], "failed");
    let session = |id: &str| sandbox.run_in(&home, &["inspect", id]).result()["session"].clone();
    assert_eq!(session(ids[2])["failureOrigin"], "host-death");
    assert_eq!(session(ids[0])["exitCode"], 0);
    // Marked, never signalled: a 0.5 Session has no sidecar pinning its
    // processes, and a PID in a manifest is never kill authority.
    assert!(
        orphan.try_wait().unwrap().is_none(),
        "a process named only by a 0.5 manifest was signalled"
    );
    orphan.kill().unwrap();
    orphan.wait().unwrap();
    assert!(
        live_host.try_wait().unwrap().is_none(),
        "a live host is left alone"
    );

    // The reconciled manifest keeps every 0.5 key and adds only the failure.
    let m = read_manifest(&dead);
    assert_eq!(m["env"], json!({"LANG": "C.UTF-8"}));
    assert_eq!(m["idleTimeoutMs"], 0);
    assert!(!dead.join("host.json").exists(), "no sidecar is invented");
    assert_eq!(read_manifest(&alive)["status"], "running");

    let inspected = sandbox.run_in(&home, &["inspect", ids[1]]).result();
    assert_eq!(inspected["session"]["sessionId"], ids[1]);
    assert_eq!(
        inspected["eventCount"], 2,
        "a torn last line is not counted"
    );
    assert!(inspected["eventLogBytes"].as_u64().unwrap() > 0);
    let d = &inspected["derived"];
    assert_eq!(d["active"], true);
    assert_eq!(d["commandable"], true);
    assert_eq!(d["collectable"], false);
    assert_eq!(d["hostAlive"], true);
    assert_eq!(d["foreign"], false);
    live_host.kill().unwrap();
    live_host.wait().unwrap();
}

#[test]
fn sessions_recorded_by_another_machine_are_foreign_and_left_alone() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("shared");
    let id = "01JD3Z6X8K4M2N5P7Q9R000009";
    let dir = write_05_session(
        &home,
        id,
        manifest_05(
            id,
            "2026-11-24T03:50:02.000Z",
            "running",
            Some(dead_pid()),
            None,
        ),
    );
    std::fs::write(
        dir.join("host.json"),
        r#"{"version":1,"machineId":"some-other-machine","host":{"pid":4242,"startTime":1}}"#,
    )
    .unwrap();
    let before = snapshot_tree(&home);
    let sessions = listed(&sandbox.run_in(&home, &["list"]));
    assert_eq!(sessions[0]["status"], "running");
    let d = sandbox.run_in(&home, &["inspect", id]).result()["derived"].clone();
    assert_eq!(
        (d["foreign"].clone(), d["hostAlive"].clone()),
        (json!(true), Value::Null)
    );
    assert_eq!(snapshot_tree(&home), before, "nothing was written");
    let refused = sandbox.run_in(&home, &["destroy", id]);
    refused.expect_code(2);
    assert_eq!(read_manifest(&dir)["status"], "running");
}

#[rstest]
#[case(&["type", "ID", "hello"])]
#[case(&["paste", "ID", "hello"])]
#[case(&["send-keys", "ID", "Enter"])]
#[case(&["run", "ID", "true"])]
#[case(&["resize", "ID", "--cols", "100", "--rows", "30"])]
#[case(&["signal", "ID", "INT"])]
#[case(&["destroy", "ID"])]
fn a_foreign_session_takes_no_input_or_control_from_here(#[case] args: &[&str]) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("shared");
    let id = "01JD3Z6X8K4M2N5P7Q9R00000A";
    let dir = write_05_session(
        &home,
        id,
        manifest_05(
            id,
            "2026-11-24T03:50:02.000Z",
            "running",
            Some(dead_pid()),
            None,
        ),
    );
    std::fs::write(
        dir.join("host.json"),
        r#"{"version":1,"machineId":"some-other-machine","host":{"pid":4242,"startTime":1}}"#,
    )
    .unwrap();
    // `destroy` takes the manifest lock before it looks, which may create
    // the (empty) lock file; nothing else may change.
    let written = || {
        let mut tree = snapshot_tree(&home);
        tree.retain(|path, _| path.extension().is_none_or(|e| e != "lock"));
        tree
    };
    let before = written();
    let args: Vec<&str> = args
        .iter()
        .map(|a| if *a == "ID" { id } else { a })
        .collect();
    let refused = sandbox.run_in(&home, &args);
    refused.expect_code(2);
    let error = &refused.json()["error"];
    assert_eq!(error["code"], "INVALID_INPUT");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("another machine") && message.contains("some-other-machine"),
        "{message}"
    );
    assert_eq!(written(), before, "nothing was written");
}

#[test]
fn the_control_socket_logs_input_and_control_before_answering() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, dir) = create_session(&sandbox, &home, &["--", "sh"]);
    let socket = socket_of(&sandbox, &home, &id);
    let send = |r: ControlRequest| control::send(&socket, &r, PATIENCE);

    assert_eq!(send(ControlRequest::Ping).unwrap().seq, None);
    let run = send(ControlRequest::Run {
        command: "echo answer-$((6*7))".into(),
        marker: "atmE2E1".into(),
        no_wait: false,
    })
    .unwrap()
    .seq
    .unwrap();
    let log = dir.join("events.jsonl");
    let complete = eventually(PATIENCE, || {
        read_all(&log).unwrap().into_iter().find(
            |e| matches!(&e.body, EventBody::RunComplete { marker, .. } if marker == "atmE2E1"),
        )
    })
    .expect("run_complete is logged");
    assert_eq!(
        complete.body,
        EventBody::RunComplete {
            marker: "atmE2E1".into(),
            input_run_seq: Some(run),
            exit_code: None,
        }
    );
    // The exit status is kept beside the log, not in it (0.5's schema).
    assert_eq!(agent_tty_core::run_exits::lookup(&dir, "atmE2E1"), Some(0));
    let output: String = read_all(&log)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.body {
            EventBody::Output { data } => Some(data),
            _ => None,
        })
        .collect();
    assert!(output.contains("answer-42"));

    let resized = send(ControlRequest::Resize {
        cols: 132,
        rows: 43,
    })
    .unwrap()
    .seq
    .unwrap();
    let m = read_manifest(&dir);
    assert_eq!(
        (m["cols"].clone(), m["rows"].clone()),
        (json!(132), json!(43))
    );
    assert_eq!(
        (m["creationCols"].clone(), m["creationRows"].clone()),
        (json!(80), json!(24))
    );
    let events = read_all(&log).unwrap();
    assert_eq!(
        events[resized as usize].body,
        EventBody::Resize {
            cols: 132,
            rows: 43
        }
    );

    for (request, code) in [
        (
            ControlRequest::Keys {
                keys: vec!["NotAKey".into()],
            },
            "INVALID_KEYS",
        ),
        (
            ControlRequest::Signal {
                shell: false,
                signal: "SIGNOPE".into(),
            },
            "INVALID_SIGNAL",
        ),
        (
            ControlRequest::Resize { cols: 0, rows: 10 },
            "INVALID_DIMENSIONS",
        ),
    ] {
        let before = read_all(&log).unwrap().len();
        let err = send(request).unwrap_err();
        assert_eq!(err.code().to_string(), code);
        assert_eq!(
            read_all(&log).unwrap().len(),
            before,
            "nothing logged for {code}"
        );
    }

    let paste = send(ControlRequest::Paste {
        data: "pasted".into(),
    })
    .unwrap()
    .seq
    .unwrap();
    assert_eq!(
        read_all(&log).unwrap()[paste as usize].body,
        EventBody::InputPaste {
            data: "\x1b[200~pasted\x1b[201~".into()
        }
    );
    // sh has no bracketed paste: erase the line (the terminal's kill
    // character) before typing.
    send(ControlRequest::Keys {
        keys: vec!["Ctrl+U".into()],
    })
    .unwrap();
    let text = send(ControlRequest::Text {
        data: "exit 5".into(),
        secret: false,
    })
    .unwrap()
    .seq
    .unwrap();
    let keys = send(ControlRequest::Keys {
        keys: vec!["Enter".into()],
    })
    .unwrap()
    .seq
    .unwrap();
    assert!(paste < text && text < keys);
    let m = wait_for_status(&dir, "exited");
    assert_eq!(m["exitCode"], 5);
}

#[rstest]
#[case::zero_cols(&["create", "--cols", "0"], "INVALID_DIMENSIONS", 2)]
#[case::word_rows(&["create", "--rows", "tall"], "INVALID_DIMENSIONS", 2)]
#[case::huge_cols(&["create", "--cols", "70000"], "INVALID_DIMENSIONS", 2)]
#[case::bad_env(&["create", "--env", "NOEQUALS"], "INVALID_INPUT", 2)]
#[case::slash_id(&["inspect", "a/b"], "INVALID_SESSION_ID", 2)]
#[case::backslash_id(&["destroy", "a\\b"], "INVALID_SESSION_ID", 2)]
#[case::dotdot_id(&["inspect", ".."], "INVALID_SESSION_ID", 2)]
fn bad_input_gets_the_right_code(#[case] args: &[&str], #[case] code: &str, #[case] exit: i32) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let r = sandbox.run_in(&home, args);
    r.expect_code(exit);
    assert_eq!(r.json()["error"]["code"], code);
    assert!(leftovers(&home).is_empty(), "{:?}", leftovers(&home));
}

#[rstest]
#[case::cwd("--cwd", "/no/such/dir", 8, "STORAGE_READ_ERROR")]
#[case::shell("--shell", "/no/such/shell", 2, "INVALID_INPUT")]
#[case::command("--command", "/no/such/shell", 2, "INVALID_INPUT")]
fn a_missing_path_is_named_in_the_error(
    #[case] flag: &str,
    #[case] path: &str,
    #[case] exit: i32,
    #[case] code: &str,
) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let r = sandbox.run_in(&home, &["create", flag, path]);
    r.expect_code(exit);
    assert_eq!(r.json()["error"]["code"], code);
    assert!(leftovers(&home).is_empty(), "{:?}", leftovers(&home));
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains(path), "{message}");
}

#[test]
fn an_unwritable_home_is_a_storage_write_error_and_nothing_is_left() {
    let sandbox = Sandbox::new();
    // A Home beneath a regular file cannot be created, even by root.
    let blocker = sandbox.root().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let home = blocker.join("home");
    let r = sandbox.run_in(&home, &["create", "--", "sleep", "300"]);
    r.expect_code(8);
    assert_eq!(r.json()["error"]["code"], "STORAGE_WRITE_ERROR");
}

#[test]
fn a_command_that_cannot_start_leaves_nothing_behind() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let r = sandbox.run_in(&home, &["create", "--", "/no/such/program", "arg"]);
    r.expect_code(2);
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("/no/such/program"), "{message}");
    assert!(leftovers(&home).is_empty(), "{:?}", leftovers(&home));
    assert!(!socket_path_exists(&sandbox));
}

/// Session directories in a Home.
fn leftovers(home: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(home.join("sessions"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

#[test]
fn list_without_sessions_says_so_and_inspect_reports_derived_facts() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let r = sandbox.run(["--home", home.to_str().unwrap(), "list"]);
    r.expect_code(0);
    assert_eq!(r.stdout, "\n", "0.5 prints one empty line");

    let (id, dir) = create_session(&sandbox, &home, &["--name", "web", "--", "sleep", "300"]);
    let table = sandbox.run(["--home", home.to_str().unwrap(), "list"]);
    assert_eq!(table.stdout, format!("{id}  running  sleep 300  (web)\n"));
    let inspected = sandbox.run_in(&home, &["inspect", &id]).result();
    let d = inspected["derived"].clone();
    assert_eq!(d["hostAlive"], true);
    assert_eq!(d["active"], true);
    assert_eq!(inspected["eventCount"], 0);
    assert_eq!(inspected["usedOfflineReplay"], false);
    assert_eq!(inspected["rendererRuntime"]["mode"], "live-host");
    assert!(
        inspected["host"]["rpcSocketPath"].is_string(),
        "{inspected:#}"
    );
    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
    let d = sandbox.run_in(&home, &["inspect", &id]).result()["derived"].clone();
    assert_eq!(
        (d["terminal"].clone(), d["collectable"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(d["hostAlive"], false);
    let _ = dir;
}

#[test]
fn listing_while_sessions_are_being_created_never_fails_them() {
    // A Session being created has no PIDs until its host is ready; a
    // concurrent `list` must wait for it rather than reconcile it as dead.
    let sandbox = Sandbox::new();
    let home = sandbox.home("busy");
    let done = std::sync::atomic::AtomicBool::new(false);
    let mut lister = sandbox.command(["--json", "--home", home.to_str().unwrap(), "list"]);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                lister.output().unwrap();
            }
        });
        // Stops the lister even when a create fails and unwinds.
        let _stop = StopOnDrop(&done);
        for _ in 0..5 {
            create_session(&sandbox, &home, &["--", "sleep", "300"]);
        }
    });
    let all = listed(&sandbox.run_in(&home, &["list", "--all"]));
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|s| s["status"] == "running"), "{all:#?}");
}

struct StopOnDrop<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
