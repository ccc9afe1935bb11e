//! End-to-end tests of `docs/SECURITY.md`: the attacks of a second local
//! user and the crashes it promises to survive, scripted against the real
//! binary. Tests that need a second user run as root (they give files to
//! uid 65534, `nobody`) and skip with a message otherwise.

use agent_tty_e2e::{
    as_nobody, create_session, dead_pid, eventually, is_root, manifest_pid, process_alive,
    read_manifest, write_session, Sandbox, NOBODY,
};
use rstest::rstest;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub(super) const PATIENCE: Duration = Duration::from_secs(10);

fn patch(dir: &Path, key: &str, value: Value) {
    let mut m = read_manifest(dir);
    m[key] = value;
    std::fs::write(
        dir.join("session.json"),
        serde_json::to_string_pretty(&m).unwrap() + "\n",
    )
    .unwrap();
}

pub(super) fn gone(pid: i32) -> bool {
    eventually(PATIENCE, || (!process_alive(pid)).then_some(())).is_some()
}

/// A `sleep` of our own that no Session owns: what an attacker would like
/// agent-tty to kill.
struct Bystander(std::process::Child);

impl Bystander {
    fn spawn() -> Self {
        Bystander(Command::new("sleep").arg("300").spawn().unwrap())
    }
    fn pid(&self) -> u32 {
        self.0.id()
    }
    fn alive(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }
}

impl Drop for Bystander {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_planted_lock_link_is_never_followed_by_a_plain_list() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let dir = write_session(
        &home,
        &agent_tty_e2e::session_id(1),
        "running",
        Some(dead_pid()),
    );
    let target = sandbox.root().join("created-through-the-link");
    std::os::unix::fs::symlink(&target, dir.join("session.json.lock")).unwrap();
    let run = sandbox.run_in(&home, &["list", "--all"]);
    assert!(
        !target.exists(),
        "list created a file through a planted link"
    );
    // The Session is not reconciled through the link either; the listing
    // says why it was skipped.
    assert_eq!(read_manifest(&dir)["status"], "running");
    assert!(
        run.stderr.contains("symlink") || run.stdout.contains("symlink"),
        "{run:?}"
    );
}

#[test]
fn destroy_never_signals_a_process_named_only_in_the_manifest() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, dir) = create_session(&sandbox, &home, &["--", "sleep", "300"]);
    let m = read_manifest(&dir);
    let (host, child) = (manifest_pid(&m, "hostPid"), manifest_pid(&m, "childPid"));
    let mut bystander = Bystander::spawn();
    patch(&dir, "childPid", bystander.pid().into());
    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
    assert!(
        bystander.alive(),
        "destroy signalled a process the manifest named"
    );
    assert!(gone(child), "the real command survived destroy");
    assert!(gone(host));
    assert_eq!(read_manifest(&dir)["status"], "destroyed");
}

#[test]
fn a_crafted_host_json_cannot_remove_another_sessions_socket() {
    let sandbox = Sandbox::new();
    let victim_home = sandbox.home("victim");
    let (id, dir) = create_session(&sandbox, &victim_home, &["--", "sleep", "300"]);
    let sidecar: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("host.json")).unwrap()).unwrap();
    let socket = PathBuf::from(sidecar["socket"].as_str().unwrap());
    assert!(socket.exists());
    // Another Home holding a Session with the same id, whose dead host
    // "recorded" the victim's socket.
    let crafted_home = sandbox.home("crafted");
    let crafted = write_session(&crafted_home, &id, "running", Some(dead_pid()));
    let mut forged = sidecar.clone();
    forged["host"]["pid"] = dead_pid().into();
    forged["child"] = Value::Null;
    std::fs::write(crafted.join("host.json"), forged.to_string()).unwrap();
    std::fs::set_permissions(crafted.join("host.json"), PermissionsExt::from_mode(0o600)).unwrap();
    let listed = sandbox.run_in(&crafted_home, &["list", "--all"]).result();
    assert_eq!(listed["sessions"][0]["status"], "failed");
    assert!(socket.exists(), "another Session's socket was removed");
    sandbox
        .run_in(&victim_home, &["type", &id, "still reachable"])
        .expect_code(0);
    sandbox
        .run_in(&victim_home, &["destroy", &id])
        .expect_code(0);
}

#[rstest]
#[case::term(libc::SIGTERM)]
#[case::hup(libc::SIGHUP)]
#[case::int(libc::SIGINT)]
#[case::quit(libc::SIGQUIT)]
fn a_signalled_host_ends_its_command_and_records_the_exit(#[case] signal: i32) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (_, dir) = create_session(&sandbox, &home, &["--", "sleep", "300"]);
    let m = read_manifest(&dir);
    let (host, child) = (manifest_pid(&m, "hostPid"), manifest_pid(&m, "childPid"));
    // SAFETY: kill(2) on the host this test just created.
    unsafe { libc::kill(host, signal) };
    let ended = eventually(PATIENCE, || {
        let m = read_manifest(&dir);
        (m["status"] == "exited").then_some(m)
    })
    .unwrap_or_else(|| panic!("no exit recorded: {:#}", read_manifest(&dir)));
    // Hung up as `destroy` does (recorded as 0.5 records it: the number).
    assert!(
        ended["exitSignal"] == "SIGHUP" || ended["exitSignal"] == "1",
        "ended as destroy would: {ended:#}"
    );
    assert!(
        ended["failureOrigin"].is_null(),
        "not a host death: {ended:#}"
    );
    let log = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let last: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "exit", "{log}");
    assert!(gone(child) && gone(host));
}

#[test]
fn a_host_whose_home_is_deleted_ends_itself_and_its_command() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (_, dir) = create_session(&sandbox, &home, &["--", "sleep", "300"]);
    let m = read_manifest(&dir);
    let (host, child) = (manifest_pid(&m, "hostPid"), manifest_pid(&m, "childPid"));
    std::fs::remove_dir_all(&home).unwrap();
    assert!(gone(child), "the command outlived its deleted Home");
    assert!(gone(host), "the host outlived its deleted Home");
}

#[test]
fn destroy_force_ends_background_jobs_in_other_process_groups() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let job_file = sandbox.root().join("job.pid");
    let script = format!(
        "python3 -c 'import os,time; os.setpgid(0,0); open(\"{}\",\"w\").write(str(os.getpid())); \
         time.sleep(300)' & wait",
        job_file.display()
    );
    let (id, _) = create_session(&sandbox, &home, &["--", "sh", "-c", &script]);
    let job: i32 = eventually(PATIENCE, || {
        std::fs::read_to_string(&job_file).ok()?.trim().parse().ok()
    })
    .expect("the background job started");
    sandbox
        .run_in(&home, &["destroy", "--force", &id])
        .expect_code(0);
    assert!(gone(job), "destroy --force left a background job running");
}

/// The processes of `_host` for Sessions in `home`.
fn hosts_of(home: &Path) -> Vec<(i32, String)> {
    let needle = home.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = raw
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.iter().any(|a| a == &needle) {
            if let Some(i) = args.iter().position(|a| a == "_host") {
                if let Some(id) = args.get(i + 1) {
                    found.push((pid, id.clone()));
                }
            }
        }
    }
    found
}

#[test]
fn killing_create_at_any_moment_never_leaves_an_unowned_host() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    std::fs::create_dir_all(home.join("sessions")).unwrap();
    for round in 0..16u64 {
        let mut create = sandbox
            .command([
                "--json",
                "--home",
                home.to_str().unwrap(),
                "create",
                "--",
                "sleep",
                "300",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The attack: SIGKILL at a different instant each round, from
        // before the host starts to after it is ready.
        std::thread::sleep(Duration::from_millis(round * 7));
        let _ = create.kill();
        let _ = create.wait();
        // Let a host that was started finish starting (or fail).
        std::thread::sleep(Duration::from_millis(100));
        sandbox.run_in(&home, &["gc"]).expect_code(0);
        for (host, id) in hosts_of(&home) {
            let dir = home.join("sessions").join(&id);
            assert!(
                dir.join("session.json").exists(),
                "round {round}: gc collected Session {id} while its host {host} runs"
            );
            let m = read_manifest(&dir);
            assert_eq!(
                m["status"], "running",
                "round {round}: host {host} runs: {m:#}"
            );
        }
    }
    // Every Session left is either owned by a running host or ended with
    // nothing running; end the running ones.
    for (_, id) in hosts_of(&home) {
        sandbox
            .run_in(&home, &["destroy", "--force", &id])
            .expect_code(0);
    }
    assert!(eventually(PATIENCE, || hosts_of(&home).is_empty().then_some(())).is_some());
}

#[test]
fn untrusted_text_is_escaped_in_human_output() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let evil = "evil\x1b[31mred\nsecond line\u{202e}";
    let (id, _) = create_session(
        &sandbox,
        &home,
        &[
            "--name",
            evil,
            "--",
            "sh",
            "-c",
            "sleep 300 # \x1b]0;title\x07",
        ],
    );
    for args in [vec!["list"], vec!["inspect", &id]] {
        let mut all = vec!["--home", home.to_str().unwrap()];
        all.extend(args.iter().copied());
        let run = sandbox.run(all);
        assert!(
            !run.stdout.contains('\x1b'),
            "raw escape in {args:?}: {:?}",
            run.stdout
        );
        assert!(!run.stdout.contains('\x07'), "raw BEL in {args:?}");
        assert!(
            !run.stdout.contains('\u{202e}'),
            "raw bidi override in {args:?}"
        );
        assert!(run.stdout.contains("\\x1b]0;title\\x07"), "{}", run.stdout);
    }
    // JSON keeps the exact text.
    let listed = sandbox.run_in(&home, &["list"]).result();
    assert_eq!(listed["sessions"][0]["name"], evil);
    sandbox
        .run_in(&home, &["destroy", "--force", &id])
        .expect_code(0);
}

/// What a hostile manifest holds reaches a terminal escaped, in the
/// messages that quote it (errors, warnings) as in the tables.
#[test]
fn manifest_values_quoted_in_errors_and_warnings_are_escaped() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, dir) = create_session(&sandbox, &home, &["--", "true"]);
    let manifest = dir.join("session.json");
    let exited = eventually(PATIENCE, || {
        let m = read_manifest(&dir);
        (m["status"] == "exited").then_some(m)
    })
    .expect("the Session exits");
    let rewrite = |key: &str, value: &str| {
        let mut m = exited.clone();
        m[key] = Value::from(value);
        std::fs::write(&manifest, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    };
    let raw = |text: &str| text.contains('\x1b') || text.contains('\x07');

    rewrite("exitSignal", "9\x1b]0;PWN\x07");
    let human = |args: &[&str]| {
        let mut all = vec!["--home", home.to_str().unwrap()];
        all.extend(args);
        sandbox.run(all)
    };
    let inspected = human(&["inspect", &id]);
    assert!(
        inspected.stdout.contains("\\x1b]0;PWN\\x07"),
        "{inspected:?}"
    );
    assert!(!raw(&inspected.stdout), "{inspected:?}");

    rewrite("status", "x\x1b]0;PWN\x07");
    for args in [vec!["inspect", id.as_str()], vec!["list"]] {
        let run = human(&args);
        assert!(run.stderr.contains("\\x1b]0;PWN"), "{args:?}: {run:?}");
        assert!(!raw(&run.stderr) && !raw(&run.stdout), "{args:?}: {run:?}");
    }
}

#[test]
fn a_deleted_tmp_home_recreated_by_another_user_is_refused() {
    if !is_root() {
        eprintln!("SKIP: needs root to act as a second user (uid {NOBODY})");
        return;
    }
    let sandbox = Sandbox::new();
    // A world-writable sticky directory like /tmp, inside the sandbox.
    std::fs::set_permissions(sandbox.root(), PermissionsExt::from_mode(0o755)).unwrap();
    let shared = sandbox.root().join("shared-tmp");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, PermissionsExt::from_mode(0o1777)).unwrap();
    let home = shared.join("home");
    sandbox.track_home(&home);
    let (id, _) = create_session(&sandbox, &home, &["--", "sleep", "300"]);
    sandbox
        .run_in(&home, &["destroy", "--force", &id])
        .expect_code(0);
    std::fs::remove_dir_all(&home).unwrap();

    // The other user re-creates it with a "running" Session whose dead host
    // names one of our processes as its command.
    let mut bystander = Bystander::spawn();
    let fake = agent_tty_e2e::session_id(7);
    as_nobody(&format!(
        "mkdir -p {h}/sessions/{fake} && chmod 755 {h} {h}/sessions {h}/sessions/{fake} && \
         printf '%s' '{{\"version\":1,\"sessionId\":\"{fake}\",\"createdAt\":\"2026-11-24T03:50:02.677Z\",\
         \"updatedAt\":\"2026-11-24T03:50:02.677Z\",\"status\":\"exited\",\"command\":[\"sleep\"],\
         \"cwd\":\"/\",\"cols\":80,\"rows\":24,\"hostPid\":{dead},\"childPid\":{victim}}}' \
         > {h}/sessions/{fake}/session.json",
        h = home.display(),
        dead = dead_pid(),
        victim = bystander.pid(),
    ));

    let list = sandbox.run_in(&home, &["list", "--all"]);
    assert_ne!(list.code, 0, "list used another user's Home: {list:?}");
    assert!(list.stdout.contains("belongs to another user"), "{list:?}");
    let homes = sandbox
        .run(["--json", "home", "list", "--all", "--verbose"])
        .result();
    let hidden = homes["hidden"].as_array().unwrap();
    assert!(
        hidden.iter().any(|h| h["reason"] == "untrusted"),
        "{homes:#}"
    );
    let gc = sandbox.run(["--json", "gc"]).result();
    assert_eq!(gc["removedSessionCount"], 0, "{gc:#}");
    assert!(
        home.join("sessions").join(&fake).exists(),
        "gc deleted in their Home"
    );
    assert!(bystander.alive());
    let still = sandbox
        .run(["--json", "home", "list", "--all", "--verbose"])
        .result();
    assert!(
        still.to_string().contains(home.to_str().unwrap()),
        "stays registered"
    );
    // Our create refuses to put a Session there.
    let refused = sandbox.run_in(&home, &["create", "--", "sleep", "1"]);
    assert_ne!(refused.code, 0);
}

/// A small tmpfs mounted for one test, unmounted when dropped.
pub(super) struct SmallDisk(PathBuf);

impl SmallDisk {
    /// Mounts a `size` tmpfs at `at`, or says why the test is skipped (not
    /// root, or no tmpfs here) and gives `None`.
    pub(super) fn mount(at: PathBuf, size: &str) -> Option<Self> {
        if !is_root() {
            eprintln!("SKIP: needs root to mount a small tmpfs");
            return None;
        }
        std::fs::create_dir_all(&at).unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(&at)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIP: could not mount a tmpfs here");
        }
        ok.then_some(SmallDisk(at))
    }

    /// A Home on a fresh 512 KiB disk under the sandbox (see [`SmallDisk::mount`]).
    pub(super) fn with_home(sandbox: &Sandbox) -> Option<(SmallDisk, PathBuf)> {
        let disk = SmallDisk::mount(sandbox.root().join("small"), "512k")?;
        let home = disk.0.join("home");
        sandbox.track_home(&home);
        Some((disk, home))
    }

    /// Fills the disk with one file; returns it (remove it to free space).
    pub(super) fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.0.join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![b'x'; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.write_all(b"x");
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_loses_no_event_silently_and_keeps_the_exit() {
    let sandbox = Sandbox::new();
    let Some((disk, home)) = SmallDisk::with_home(&sandbox) else {
        return;
    };
    let (id, dir) = create_session(
        &sandbox,
        &home,
        &[
            "--",
            "sh",
            "-c",
            "while :; do echo output-line-0123456789; sleep 0.02; done",
        ],
    );
    let host = manifest_pid(&read_manifest(&dir), "hostPid");
    let log = dir.join("events.jsonl");
    assert!(
        eventually(PATIENCE, || (std::fs::metadata(&log).ok()?.len() > 200)
            .then_some(()))
        .is_some()
    );

    // Full: `wait` says "storage full" instead of timing out.
    let filler = disk.fill();
    let waited = sandbox.run_in(
        &home,
        &["wait", &id, "--text", "never-printed", "--timeout", "30000"],
    );
    assert_eq!(waited.code, 8, "{waited:?}");
    assert_eq!(
        waited.json()["error"]["code"],
        "STORAGE_WRITE_ERROR",
        "{waited:?}"
    );
    assert!(waited.stdout.contains("storage full"), "{waited:?}");

    // Space again: a marker says how much output was lost, and every line
    // after the fault parses (nothing glued to a torn line).
    std::fs::remove_file(&filler).unwrap();
    let marker = eventually(PATIENCE, || {
        let text = std::fs::read_to_string(&log).ok()?;
        text.lines()
            .find(|l| l.contains("bytes of output were lost"))
            .map(str::to_owned)
    })
    .expect("a lost-output marker");
    assert!(marker.contains("\"type\":\"marker\""), "{marker}");
    let text = std::fs::read_to_string(&log).unwrap();
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "seq has a gap: {seqs:?}"
    );
    assert!(
        text.lines()
            .filter(|l| serde_json::from_str::<Value>(l).is_err())
            .count()
            <= 2
    );

    // Full again at exit: the host cannot rewrite the manifest, but the exit
    // it reserved room for is what list reports once there is space.
    let filler = disk.fill();
    // SAFETY: kill(2) on the host this test created.
    unsafe { libc::kill(host, libc::SIGTERM) };
    assert!(gone(host));
    std::fs::remove_file(&filler).unwrap();
    let listed = sandbox.run_in(&home, &["list", "--all"]).result();
    let row = &listed["sessions"][0];
    assert_eq!(row["status"], "exited", "{listed:#}");
    assert!(
        row.get("failureOrigin").is_none(),
        "reported as a host death: {listed:#}"
    );
}

#[test]
fn a_run_whose_output_fills_the_disk_fails_with_the_storage_error() {
    let sandbox = Sandbox::new();
    let Some((disk, home)) = SmallDisk::with_home(&sandbox) else {
        return;
    };
    let (id, dir) = create_session(&sandbox, &home, &["--", "sh"]);
    let host = manifest_pid(&read_manifest(&dir), "hostPid");
    let log = dir.join("events.jsonl");
    // Full but for a few pages: room for the `input_run` event, none for
    // the command's output or its completion.
    let filler = disk.fill();
    let left = std::fs::metadata(&filler).unwrap().len() - 16 * 1024;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len(left)
        .unwrap();
    let ran = sandbox.run_in(
        &home,
        &[
            "run",
            &id,
            "yes output-line-0123456789 | head -n 20000",
            "--timeout",
            "600000",
        ],
    );
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("\"type\":\"input_run\""),
        "the command was never typed: {ran:?}"
    );
    // The completion can never be logged: the storage error, not a wait
    // until the ten-minute limit.
    assert_eq!(ran.code, 8, "{ran:?}");
    assert_eq!(
        ran.json()["error"]["code"],
        "STORAGE_WRITE_ERROR",
        "{ran:?}"
    );
    assert!(ran.stdout.contains("storage full"), "{ran:?}");
    std::fs::remove_file(&filler).unwrap();
    // The disk is unmounted before the sandbox ends its Sessions: end the
    // host here.
    // SAFETY: kill(2) on the host this test created.
    unsafe { libc::kill(host, libc::SIGTERM) };
    assert!(gone(host));
}

#[test]
fn gc_refuses_up_front_when_the_registry_cannot_be_written() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let ended = write_session(&home, &agent_tty_e2e::session_id(1), "exited", None);
    // Register the Home, then put the state directory on a full disk.
    let (id, _) = create_session(&sandbox, &home, &["--", "true"]);
    let _ = id;
    let state = sandbox.state_dir().join("agent-tty");
    let saved = std::fs::read(state.join("homes.json")).unwrap();
    std::fs::remove_dir_all(&state).unwrap();
    let Some(disk) = SmallDisk::mount(state.clone(), "64k") else {
        return;
    };
    std::fs::write(state.join("homes.json"), &saved).unwrap();
    std::fs::set_permissions(&state, PermissionsExt::from_mode(0o700)).unwrap();
    let filler = disk.fill();
    let gc = sandbox.run(["--json", "gc"]);
    assert_eq!(gc.code, 8, "{gc:?}");
    assert!(
        ended.exists(),
        "gc deleted Sessions before finding the registry unwritable"
    );
    std::fs::remove_file(&filler).unwrap();
    let gc = sandbox.run(["--json", "gc"]).result();
    assert!(!ended.exists());
    assert!(gc["removedSessionCount"].as_u64().unwrap() >= 1, "{gc:#}");
}

#[test]
fn gc_killed_at_any_moment_leaves_nothing_half_removed_for_ever() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let ids: Vec<String> = (0..40).map(agent_tty_e2e::session_id).collect();
    for id in &ids {
        let dir = write_session(&home, id, "exited", None);
        std::fs::create_dir_all(dir.join("artifacts/deep/er")).unwrap();
        std::fs::write(dir.join("artifacts/deep/er/blob"), vec![b'x'; 4096]).unwrap();
    }
    for round in 0..10u64 {
        let mut gc = sandbox
            .command(["--json", "--home", home.to_str().unwrap(), "gc"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(round * 3));
        let _ = gc.kill();
        let _ = gc.wait();
        // Whatever is left is a whole Session or a tombstone: never a
        // directory without a manifest that looks like a Session.
        for entry in std::fs::read_dir(home.join("sessions")).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                name.starts_with(".tombstone-") || entry.path().join("session.json").exists(),
                "round {round}: {name} is half-removed"
            );
        }
    }
    let last = sandbox.run_in(&home, &["gc"]).result();
    assert_eq!(
        std::fs::read_dir(home.join("sessions")).unwrap().count(),
        0,
        "{last:#}"
    );
}

#[test]
fn a_host_killed_outright_is_found_dead_and_its_command_ended() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (_, dir) = create_session(&sandbox, &home, &["--", "sleep", "300"]);
    let m = read_manifest(&dir);
    let (host, child) = (manifest_pid(&m, "hostPid"), manifest_pid(&m, "childPid"));
    // SAFETY: kill(2) on the host this test created.
    unsafe { libc::kill(host, libc::SIGKILL) };
    assert!(gone(host));
    let listed = sandbox.run_in(&home, &["list", "--all"]).result();
    assert_eq!(listed["sessions"][0]["status"], "failed", "{listed:#}");
    assert_eq!(read_manifest(&dir)["failureOrigin"], "host-death");
    assert!(
        gone(child),
        "the orphaned command (pinned by host.json) was not ended"
    );
}
