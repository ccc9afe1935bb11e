//! End-to-end tests: gc across the default Home and every registered Home.

use agent_tty_core::registry::HomeRegistry;
use agent_tty_e2e::{
    dead_pid, process_alive, session_id, snapshot_tree, write_session, Run, Sandbox,
};
use rstest::rstest;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// A process standing in for a live host or command; killed on drop.
struct Live(Child);

impl Live {
    fn spawn() -> Self {
        Live(
            Command::new("sleep")
                .arg("300")
                .spawn()
                .expect("sleep runs"),
        )
    }
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sets manifest fields of a Session written by [`write_session`].
fn patch(session: &Path, fields: Value) {
    let path = session.join("session.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for (k, v) in fields.as_object().unwrap() {
        m[k] = v.clone();
    }
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap() + "\n").unwrap();
}

/// Creates a Home with `sessions/` and registers it. Returns its canonical path.
fn home(sandbox: &Sandbox, name: &str) -> PathBuf {
    let home = sandbox.home(name);
    std::fs::create_dir_all(home.join("sessions")).unwrap();
    let home = std::fs::canonicalize(home).unwrap();
    HomeRegistry::new(sandbox.registry_file())
        .register(&home)
        .unwrap();
    home
}

fn registered(sandbox: &Sandbox) -> Vec<String> {
    let mut paths: Vec<String> = HomeRegistry::new(sandbox.registry_file())
        .read()
        .homes
        .into_iter()
        .map(|h| h.path)
        .collect();
    paths.sort();
    paths
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn gc(sandbox: &Sandbox, extra: &[&str]) -> Value {
    let mut args = vec!["--json", "gc"];
    args.extend(extra);
    let run = sandbox.run(&args);
    run.expect_code(0);
    run.result()
}

fn home_row<'a>(result: &'a Value, home: &Path) -> &'a Value {
    result["homes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["home"] == s(home))
        .unwrap_or_else(|| panic!("{} not in {result:#}", home.display()))
}

fn ids(row: &Value, key: &str) -> Vec<String> {
    row[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v["sessionId"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// The machine of the PRD's gc tests: Homes that are dead, emptied, live.
struct Machine {
    sandbox: Sandbox,
    /// exited + running-with-dead-host: everything goes, then deregistered.
    finished: PathBuf,
    /// Registered, directory deleted.
    gone: PathBuf,
    /// Registered, `sessions/` empty.
    emptied: PathBuf,
    /// A running Session whose host is alive, and an exited one.
    live: PathBuf,
    host: Live,
}

fn machine() -> Machine {
    let sandbox = Sandbox::new();
    let finished = home(&sandbox, "finished");
    write_session(&finished, &session_id(0), "exited", None);
    write_session(&finished, &session_id(1), "running", Some(dead_pid()));
    let gone = home(&sandbox, "gone");
    std::fs::remove_dir_all(&gone).unwrap();
    let emptied = home(&sandbox, "emptied");
    let live = home(&sandbox, "live");
    let host = Live::spawn();
    write_session(&live, &session_id(0), "running", Some(host.pid()));
    write_session(&live, &session_id(1), "exited", None);
    Machine {
        sandbox,
        finished,
        gone,
        emptied,
        live,
        host,
    }
}

#[test]
fn plain_gc_sweeps_every_registered_home_and_prunes_dead_and_emptied_ones() {
    let m = machine();
    let default_home = m.sandbox.default_home();
    write_session(&default_home, &session_id(7), "failed", None);

    let result = gc(&m.sandbox, &[]);
    assert_eq!(result["dryRun"], false);
    let finished = home_row(&result, &m.finished);
    assert_eq!(
        ids(finished, "removedSessions"),
        [session_id(0), session_id(1)]
    );
    assert_eq!(finished["deregistered"], true);
    assert!(finished["totalBytesFreed"].as_u64().unwrap() > 0);
    let gone = home_row(&result, &m.gone);
    assert_eq!(
        (gone["existed"].clone(), gone["deregistered"].clone()),
        (false.into(), true.into())
    );
    assert_eq!(home_row(&result, &m.emptied)["deregistered"], true);
    let live = home_row(&result, &m.live);
    assert_eq!(ids(live, "removedSessions"), [session_id(1)]);
    assert_eq!(ids(live, "skippedSessions"), [session_id(0)]);
    assert_eq!(live["deregistered"], false);
    let default_row = &result["homes"][0];
    assert_eq!(
        default_row["home"],
        s(&std::fs::canonicalize(&default_home).unwrap())
    );
    assert_eq!(ids(default_row, "removedSessions"), [session_id(7)]);
    assert_eq!(result["removedSessionCount"], 4);

    let mut deregistered: Vec<String> = result["deregisteredHomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    deregistered.sort();
    let mut expected = vec![s(&m.finished), s(&m.gone), s(&m.emptied)];
    expected.sort();
    assert_eq!(deregistered, expected);
    assert_eq!(registered(&m.sandbox), [s(&m.live)]);

    // Only Session directories and registry entries went: no Home directory.
    for home in [&m.finished, &m.emptied, &m.live] {
        assert!(
            home.join("sessions").is_dir(),
            "{} lost its sessions/",
            home.display()
        );
    }
    assert!(m.live.join("sessions").join(session_id(0)).is_dir());
    assert!(process_alive(m.host.pid() as i32));
}

#[rstest]
#[case::flag(true)]
#[case::environment(false)]
fn an_explicit_home_scopes_gc_to_it_and_leaves_the_registry_alone(#[case] flag: bool) {
    let m = machine();
    let registry_before = std::fs::read(m.sandbox.registry_file()).unwrap();
    let others_before = snapshot_tree(&m.live);
    let run: Run = if flag {
        m.sandbox.run(["--json", "--home", &s(&m.finished), "gc"])
    } else {
        m.sandbox
            .command(["--json", "gc"])
            .env("AGENT_TTY_HOME", &m.finished)
            .output()
            .unwrap()
            .into()
    };
    let result = run.result();
    let homes = result["homes"].as_array().unwrap();
    assert_eq!(homes.len(), 1, "{result:#}");
    assert_eq!(homes[0]["home"], s(&m.finished));
    assert_eq!(ids(&homes[0], "removedSessions").len(), 2);
    assert_eq!(homes[0]["deregistered"], false);
    assert_eq!(result["deregisteredHomes"], serde_json::json!([]));
    assert_eq!(
        std::fs::read(m.sandbox.registry_file()).unwrap(),
        registry_before
    );
    assert_eq!(snapshot_tree(&m.live), others_before);
    assert!(m.finished.join("sessions").is_dir());
}

#[test]
fn a_dry_run_changes_nothing_and_reports_exactly_what_a_real_run_does() {
    let m = machine();
    // A dead host whose command still runs: a real reconcile would kill it.
    let orphan = Live::spawn();
    let stale = write_session(&m.live, &session_id(2), "running", Some(dead_pid()));
    patch(&stale, serde_json::json!({ "childPid": orphan.pid() }));
    let before = snapshot_tree(m.sandbox.root());

    let dry = gc(&m.sandbox, &["--dry-run"]);
    assert_eq!(dry["dryRun"], true);
    assert_eq!(
        snapshot_tree(m.sandbox.root()),
        before,
        "a dry run wrote or removed a file"
    );
    assert!(
        process_alive(orphan.pid() as i32),
        "a dry run signalled a process"
    );
    assert!(process_alive(m.host.pid() as i32));
    let human = m.sandbox.run(["gc", "--dry-run"]);
    assert!(human.stdout.contains("Would remove"), "{}", human.stdout);
    assert_eq!(snapshot_tree(m.sandbox.root()), before);

    let real = gc(&m.sandbox, &[]);
    let strip = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("dryRun");
        v
    };
    assert_eq!(strip(&dry), strip(&real));
    // A PID in a manifest is never kill authority (docs/SECURITY.md): with
    // no sidecar pinning it, the real run marks the Session and leaves the
    // process alone too.
    assert!(
        process_alive(orphan.pid() as i32),
        "a process named only by a manifest was signalled"
    );
}

#[test]
fn stale_only_collects_only_sessions_this_run_found_dead() {
    let sandbox = Sandbox::new();
    let h = home(&sandbox, "h");
    write_session(&h, &session_id(0), "exited", None);
    write_session(&h, &session_id(1), "running", Some(dead_pid()));
    let result = gc(&sandbox, &["--stale-only"]);
    let row = home_row(&result, &h);
    assert_eq!(ids(row, "removedSessions"), [session_id(1)]);
    assert_eq!(ids(row, "skippedSessions"), [session_id(0)]);
    assert!(row["skippedSessions"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("--stale-only"));
    assert_eq!(row["deregistered"], false);
}

#[test]
fn older_than_collects_only_sessions_last_updated_long_enough_ago() {
    let sandbox = Sandbox::new();
    let h = home(&sandbox, "h");
    let old = write_session(&h, &session_id(0), "exited", None);
    patch(
        &old,
        serde_json::json!({ "updatedAt": "2020-01-01T00:00:00.000Z" }),
    );
    let recent = write_session(&h, &session_id(1), "exited", None);
    patch(
        &recent,
        serde_json::json!({ "updatedAt": agent_tty_core::time::now_iso() }),
    );
    let result = gc(&sandbox, &["--older-than", "7d"]);
    let row = home_row(&result, &h);
    assert_eq!(ids(row, "removedSessions"), [session_id(0)]);
    assert_eq!(ids(row, "skippedSessions"), [session_id(1)]);
}

#[rstest]
#[case::dry_run(true)]
#[case::real_run(false)]
fn a_session_found_dead_is_as_old_as_its_last_record_not_this_reconcile(#[case] dry_run: bool) {
    let sandbox = Sandbox::new();
    let h = home(&sandbox, "h");
    let silent_for_years = write_session(&h, &session_id(0), "running", Some(dead_pid()));
    patch(
        &silent_for_years,
        serde_json::json!({ "updatedAt": "2020-01-01T00:00:00.000Z" }),
    );
    let just_died = write_session(&h, &session_id(1), "running", Some(dead_pid()));
    patch(
        &just_died,
        serde_json::json!({ "updatedAt": agent_tty_core::time::now_iso() }),
    );
    let mut args = vec!["--stale-only", "--older-than", "1d"];
    if dry_run {
        args.push("--dry-run");
    }
    let result = gc(&sandbox, &args);
    let row = home_row(&result, &h);
    assert_eq!(ids(row, "removedSessions"), [session_id(0)]);
    assert_eq!(ids(row, "skippedSessions"), [session_id(1)]);
}

#[rstest]
#[case("7")]
#[case("0d")]
#[case("1w")]
#[case("-3h")]
fn a_bad_duration_is_invalid_duration_and_changes_nothing(#[case] value: &str) {
    let m = machine();
    let before = snapshot_tree(m.sandbox.root());
    let run = m
        .sandbox
        .run(["--json", "gc", &format!("--older-than={value}")]);
    run.expect_code(2);
    assert_eq!(run.json()["error"]["code"], "INVALID_DURATION");
    assert_eq!(snapshot_tree(m.sandbox.root()), before);
}

#[test]
fn a_symlink_in_sessions_is_skipped_and_what_it_points_to_is_untouched() {
    let sandbox = Sandbox::new();
    let h = home(&sandbox, "h");
    // A directory of precious files that even looks like an ended Session.
    let precious = sandbox.root().join("precious");
    write_session(&precious, &session_id(0), "exited", None);
    std::fs::write(precious.join("thesis.tex"), "years of work").unwrap();
    let target = precious.join("sessions").join(session_id(0));
    std::os::unix::fs::symlink(&target, h.join("sessions").join(session_id(1))).unwrap();
    std::os::unix::fs::symlink(&precious, h.join("sessions").join("precious-link")).unwrap();
    // And a real ended Session holding a symlink to the precious files.
    let real = write_session(&h, &session_id(2), "exited", None);
    std::os::unix::fs::symlink(&precious, real.join("artifacts")).unwrap();
    let before = snapshot_tree(&precious);

    let result = gc(&sandbox, &[]);
    let row = home_row(&result, &h);
    assert_eq!(ids(row, "removedSessions"), [session_id(2)]);
    let skipped = row["skippedSessions"].as_array().unwrap();
    assert_eq!(skipped.len(), 2, "{row:#}");
    assert!(skipped
        .iter()
        .all(|k| k["reason"].as_str().unwrap().contains("symlink")));
    assert_eq!(snapshot_tree(&precious), before);
    assert!(std::fs::symlink_metadata(h.join("sessions").join(session_id(1))).is_ok());
    // The symlinks are still in sessions/, so the Home stays registered.
    assert_eq!(row["deregistered"], false);
}

/// A Session directory 200 levels deep (gc used to stop at 32) is removed
/// whole; the symlink at its bottom is unlinked, what it points to kept.
#[test]
fn a_session_with_a_very_deep_tree_is_removed_whole() {
    let sandbox = Sandbox::new();
    let h = home(&sandbox, "h");
    let precious = sandbox.root().join("precious");
    std::fs::create_dir_all(&precious).unwrap();
    std::fs::write(precious.join("thesis.tex"), "years of work").unwrap();
    let dir = write_session(&h, &session_id(1), "exited", None);
    let mut deepest = dir.join("artifacts");
    for level in 0..200 {
        deepest.push(level.to_string());
    }
    std::fs::create_dir_all(&deepest).unwrap();
    std::fs::write(deepest.join("f"), "x").unwrap();
    std::os::unix::fs::symlink(&precious, deepest.join("link")).unwrap();

    let result = gc(&sandbox, &["--home", &s(&h)]);
    let row = home_row(&result, &h);
    assert_eq!(ids(row, "removedSessions"), [session_id(1)], "{row:#}");
    assert!(!dir.exists());
    let leftovers: Vec<_> = std::fs::read_dir(h.join("sessions")).unwrap().collect();
    assert!(leftovers.is_empty(), "no tombstone left: {leftovers:?}");
    assert_eq!(
        std::fs::read_to_string(precious.join("thesis.tex")).unwrap(),
        "years of work"
    );
}

#[test]
fn the_human_summary_has_a_block_per_home_with_activity_or_nothing_to_collect() {
    let sandbox = Sandbox::new();
    let quiet = sandbox.run(["gc"]);
    quiet.expect_code(0);
    assert_eq!(quiet.stdout, "Nothing to collect.\n");
    assert!(
        quiet.stderr.is_empty(),
        "no progress when stderr is not a terminal"
    );
    let h = home(&sandbox, "h");
    write_session(&h, &session_id(0), "exited", None);
    let run = sandbox.run(["gc"]);
    assert!(
        run.stdout
            .starts_with(&format!("Home {}\n  Removed 1 Session (", h.display())),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("Deregistered this Home from the Home Registry"));
}

/// 20 rounds of `gc` racing a `create` in the same previously-emptied Home.
/// `create` makes its Session directory before it registers the Home, and gc
/// re-checks under the registry lock, so whoever wins, the Home holding the
/// new Session ends up registered.
#[test]
fn gc_racing_a_create_in_an_emptied_home_never_loses_the_home() {
    let sandbox = Sandbox::new();
    let h = home(&sandbox, "contested");
    for round in 0..20 {
        sandbox.kill_all();
        for entry in std::fs::read_dir(h.join("sessions")).unwrap() {
            std::fs::remove_dir_all(entry.unwrap().path()).unwrap();
        }
        HomeRegistry::new(sandbox.registry_file())
            .register(&h)
            .unwrap();
        let barrier = std::sync::Barrier::new(2);
        let mut gc = sandbox.command(["--json", "gc"]);
        let mut create =
            sandbox.command(["--json", "--home", &s(&h), "create", "--", "sleep", "300"]);
        let created = std::thread::scope(|scope| {
            scope.spawn(|| {
                barrier.wait();
                Run::from(gc.output().unwrap()).expect_code(0);
            });
            let creator = scope.spawn(|| {
                barrier.wait();
                // Vary who wins: sometimes let gc get going first.
                std::thread::sleep(std::time::Duration::from_millis((round % 5) * 3));
                Run::from(create.output().unwrap()).result()
            });
            creator.join().unwrap()
        });
        let id = created["sessionId"].as_str().unwrap();
        assert!(h.join("sessions").join(id).is_dir(), "round {round}");
        assert_eq!(
            registered(&sandbox),
            [s(&h)],
            "round {round}: the Home was lost"
        );
    }
}

/// The worst moment for the race above, made certain: gc has swept the
/// emptied Home and waits for the registry lock while a Session is created
/// and the Home registered. gc's decision, taken after it gets the lock,
/// must see the new Session and keep the Home.
#[test]
fn a_session_created_while_gc_waits_for_the_registry_lock_keeps_its_home() {
    let sandbox = Sandbox::new();
    let h = home(&sandbox, "contested");
    let host = Live::spawn();
    let registry = HomeRegistry::new(sandbox.registry_file());
    let mut gc = sandbox.command(["--json", "gc"]);
    let gc = registry
        .update(|homes| {
            let child = gc
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("gc starts");
            // Not a guess at how long gc takes: wait until gc has opened the
            // registry's lock file, which it does only to take the lock we
            // hold (it then polls for it until we let go).
            let pid = child.id();
            let lock_file = HomeRegistry::new(sandbox.registry_file()).lock_file();
            agent_tty_e2e::eventually(std::time::Duration::from_secs(30), || {
                agent_tty_e2e::has_open(pid, &lock_file).then_some(())
            })
            .expect("gc reaches the registry lock");
            write_session(&h, &session_id(0), "running", Some(host.pid()));
            homes[0].last_seen_at = agent_tty_core::time::now_iso();
            Ok(child)
        })
        .unwrap();
    let result = Run::from(gc.wait_with_output().unwrap()).result();
    let row = home_row(&result, &h);
    assert_eq!(row["removedSessions"], serde_json::json!([]));
    assert_eq!(row["deregistered"], false, "{result:#}");
    assert_eq!(registered(&sandbox), [s(&h)]);
}

#[test]
fn progress_goes_to_stderr_only_when_it_is_a_terminal() {
    use std::io::Read;
    let sandbox = Sandbox::new();
    for i in 0..30 {
        let h = home(&sandbox, &format!("h{i}"));
        write_session(&h, &session_id(0), "exited", None);
    }
    let pty = nix::pty::openpty(None, None).expect("a pty");
    let output = sandbox
        .command(["--json", "gc", "--dry-run"])
        .stderr(std::process::Stdio::from(pty.slave))
        .output()
        .unwrap();
    let mut master = std::fs::File::from(pty.master);
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    // The child has exited and the slave is closed: read what it left.
    while let Ok(n) = master.read(&mut chunk) {
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&chunk[..n]);
    }
    let seen = String::from_utf8_lossy(&seen);
    assert!(seen.contains("gc: swept 31/31 Homes"), "{seen:?}");
    let run = Run::from(output);
    assert_eq!(
        run.result()["removedSessionCount"],
        30,
        "stdout is the JSON result only"
    );
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Makes a directory impossible to rename or delete, even for root
/// (`chattr +i`), until dropped.
struct Immutable(PathBuf);

impl Immutable {
    fn set(dir: &Path) -> Option<Self> {
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Immutable(dir.to_owned()))
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

#[test]
fn gc_whose_every_removal_failed_exits_with_the_storage_error_status() {
    let sandbox = Sandbox::new();
    let h = home(&sandbox, "h");
    let dir = write_session(&h, &session_id(1), "exited", None);
    let _guard = if running_as_root() {
        match Immutable::set(&dir) {
            Some(guard) => Some(guard),
            None => {
                eprintln!("SKIPPED: chattr +i is not supported here, and root ignores modes");
                return;
            }
        }
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(h.join("sessions"), std::fs::Permissions::from_mode(0o500))
            .unwrap();
        None
    };
    let run = sandbox.run(["--json", "--home", &s(&h), "gc"]);
    // The report is whole (a successful envelope), the status is not 0.
    run.expect_code(8);
    let result = run.result();
    assert!(
        home_row(&result, &h)["removed"]
            .as_array()
            .is_none_or(|r| r.is_empty()),
        "{result:#}"
    );
    assert!(
        dir.join("session.json").exists(),
        "the Session is still there"
    );
    assert!(
        run.stderr.contains("1 Session could not be removed"),
        "{}",
        run.stderr
    );
    if !running_as_root() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(h.join("sessions"), std::fs::Permissions::from_mode(0o700))
            .unwrap();
    }
}
