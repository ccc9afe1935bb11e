//! End-to-end tests of `docs/SECURITY.md`, second round, items 5 and 6:
//! one input never costs unbounded memory or leaves the host deaf, and a
//! Session can always be stopped and seen, full disk or stopped host
//! included (ADR 0015). The full-disk tests mount a small tmpfs, so they
//! run as root and skip with a message otherwise.

use super::capture::{fixture_home, FIXTURE_ID};
use super::security::{gone, SmallDisk, PATIENCE};
use agent_tty_core::event_log::{last_event, EventBody};
use agent_tty_core::layout::SessionDir;
use agent_tty_e2e::{
    agent_tty, create_session, eventually, manifest_pid, process_alive, read_manifest, Run, Sandbox,
};
use rstest::rstest;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::process::Command;

/// Runs `agent-tty --json --home <home> args` under python's `resource`, so
/// the peak memory of that one command (in KiB) can be read.
fn run_measured(sandbox: &Sandbox, home: &Path, args: &[&str]) -> (Run, u64) {
    let script = "import resource, subprocess, sys\n\
                  p = subprocess.run(sys.argv[1:], capture_output=True)\n\
                  sys.stdout.buffer.write(p.stdout)\n\
                  sys.stderr.buffer.write(p.stderr)\n\
                  sys.stderr.write('\\nmaxrss=%d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n\
                  sys.exit(p.returncode)";
    let mut cmd = Command::new("python3");
    sandbox
        .isolate(&mut cmd)
        .args(["-c", script])
        .arg(agent_tty())
        .args(["--json", "--home"])
        .arg(home)
        .args(args);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let (stderr, rss) = stderr.rsplit_once("\nmaxrss=").expect("python reported");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: stderr.to_owned(),
    };
    (run, rss.trim().parse().unwrap())
}

/// Appends to `log` one line of `size` bytes that is not an event, without
/// writing them: a hole reads as zeros, so it costs no disk.
fn append_sparse_line(log: &Path, size: u64) {
    let mut f = std::fs::OpenOptions::new().write(true).open(log).unwrap();
    let end = f.seek(SeekFrom::End(0)).unwrap();
    f.seek(SeekFrom::Start(end + size)).unwrap();
    f.write_all(b"\n").unwrap();
}

/// Waits until `screen` text shows `text`.
fn screen_shows(sandbox: &Sandbox, home: &Path, id: &str, text: &str) -> bool {
    eventually(PATIENCE, || {
        let shot = sandbox.run_in(home, &["snapshot", id, "--format", "text"]);
        shot.stdout.contains(text).then_some(())
    })
    .is_some()
}

#[test]
fn a_huge_event_log_line_is_skipped_with_a_warning_and_never_held_in_memory() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, dir) = create_session(&sandbox, &home, &["--", "cat"]);
    sandbox
        .run_in(&home, &["type", &id, "before\r"])
        .expect_code(0);
    assert!(screen_shows(&sandbox, &home, &id, "before"));
    // A line far longer than any reader may hold, written by someone else.
    const HUGE: u64 = 200 * 1024 * 1024;
    let log = dir.join("events.jsonl");
    append_sparse_line(&log, HUGE);
    sandbox
        .run_in(&home, &["type", &id, "after\r"])
        .expect_code(0);
    // Logged (read from the end, never through the huge line); the first
    // reader after it is the one that meets the line.
    let logged = eventually(PATIENCE, || match last_event(&log).ok()??.body {
        EventBody::Output { data } if data.contains("after") => Some(()),
        _ => None,
    });
    assert!(
        logged.is_some(),
        "the output after the huge line was not logged"
    );

    let (shot, rss_kib) = run_measured(&sandbox, &home, &["snapshot", &id]);
    assert_eq!(shot.code, 0, "{shot:?}");
    let lines = shot.json()["result"]["visibleLines"].to_string();
    assert!(
        lines.contains("before") && lines.contains("after"),
        "{lines}"
    );
    assert!(
        shot.stderr.contains("longer than") && shot.stderr.contains("skipped"),
        "no warning about the skipped line: {shot:?}"
    );
    assert!(
        rss_kib * 1024 < HUGE / 2,
        "snapshot held the huge line: peak {rss_kib} KiB"
    );

    let out = sandbox.root().join("rec.cast");
    let (export, rss_kib) = run_measured(
        &sandbox,
        &home,
        &[
            "record",
            "export",
            &id,
            "--format",
            "asciicast",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(export.code, 0, "{export:?}");
    let cast = std::fs::read_to_string(&out).unwrap();
    assert!(cast.contains("before") && cast.contains("after"));
    assert!(
        rss_kib * 1024 < HUGE / 2,
        "record export held the huge line: peak {rss_kib} KiB"
    );
}

/// A GIF of a 1000×1000 Session (about 153 Mpx a frame, ~1.2 GB to draw)
/// is refused before anything is drawn, saying what to change; nothing is
/// written. The same Session as asciicast is fine.
#[test]
fn a_gif_of_a_screen_beyond_the_pixel_limit_is_refused_before_drawing() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, dir) = create_session(
        &sandbox,
        &home,
        &[
            "--cols",
            "1000",
            "--rows",
            "1000",
            "--",
            "sh",
            "-c",
            "echo big; exec sleep 300",
        ],
    );
    let (export, rss_kib) = run_measured(
        &sandbox,
        &home,
        &["record", "export", &id, "--format", "gif"],
    );
    sandbox.run_in(&home, &["destroy", "--force", &id]);
    assert_eq!(export.code, 2, "{export:?}");
    let error = &export.json()["error"];
    assert_eq!(error["code"], "INVALID_INPUT", "{error:#}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("Record export request is invalid: a 1000×1000 screen")
            && message.contains("more than the 16 million a GIF frame may have")
            && message.contains("--font-size"),
        "{message}"
    );
    assert_eq!(error["details"]["maxPixels"], 16 << 20);
    assert!(rss_kib < 100 << 10, "peak {rss_kib} KiB");
    let artifacts = SessionDir::new(&dir).artifacts();
    let written: Vec<_> = std::fs::read_dir(&artifacts)
        .map(|rd| rd.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(written.is_empty(), "{written:?}");
}

#[test]
fn an_asciicast_export_streams_and_never_holds_the_output_in_memory() {
    let sandbox = Sandbox::new();
    // The fixture Session's log, then ~200 MiB more output in 64 KiB events
    // (what a busy program writes): a temp dir, removed when `_tmp` drops.
    let (_tmp, home) = fixture_home();
    let dir = home.join("sessions").join(FIXTURE_ID);
    const PIECE: usize = 64 * 1024;
    const EVENTS: u64 = 3200;
    let piece = "0123456789abcdef".repeat(PIECE / 16 - 1) + "line end\\r\\n\\u001b[0m";
    {
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join("events.jsonl"))
            .unwrap();
        let mut log = std::io::BufWriter::new(log);
        for i in 0..EVENTS {
            writeln!(
                log,
                r#"{{"seq":{},"ts":"2026-11-30T15:45:{:02}.{:03}Z","type":"output","payload":{{"data":"{piece}"}}}}"#,
                25 + i,
                i / 1000,
                i % 1000,
            )
            .unwrap();
        }
        log.flush().unwrap();
    }
    let (export, rss_kib) = run_measured(
        &sandbox,
        &home,
        &["record", "export", FIXTURE_ID, "--format", "asciicast"],
    );
    assert_eq!(export.code, 0, "{export:?}");
    let r = &export.json()["result"];
    let path = Path::new(r["artifactPath"].as_str().unwrap());
    let size = std::fs::metadata(path).unwrap().len();
    assert_eq!(r["bytes"].as_u64(), Some(size));
    assert!(size > EVENTS * PIECE as u64, "only {size} bytes written");
    assert!(r["metadata"]["outputEventCount"].as_u64().unwrap() > EVENTS);
    eprintln!("record export of {size} bytes: peak RSS {rss_kib} KiB");
    assert!(
        rss_kib < 64 * 1024,
        "record export held its {size}-byte output: peak {rss_kib} KiB"
    );
}

/// The threads of a process.
fn threads(pid: i32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

#[test]
fn a_program_that_never_reads_its_input_leaves_the_host_answering() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    // `sleep` never reads: the terminal's input buffer fills at once, and
    // the rest of a large `type` waits in the host for ever.
    let (id, dir) = create_session(&sandbox, &home, &["--", "sleep", "300"]);
    let host = manifest_pid(&read_manifest(&dir), "hostPid");
    let big = sandbox.root().join("big.txt");
    // Lines a terminal with line editing on can hold (a longer one is
    // refused, `a_line_the_terminal_would_cut_is_refused`).
    std::fs::write(&big, format!("{}\n", "x".repeat(99)).repeat(99_000)).unwrap();
    let big = big.to_str().unwrap();
    sandbox
        .run_in(&home, &["type", &id, "--file", big])
        .expect_code(0);
    // Other requests are answered meanwhile, input included (it is queued
    // behind the first, in order).
    sandbox
        .run_in(&home, &["type", &id, "--file", big])
        .expect_code(0);
    sandbox
        .run_in(&home, &["type", &id, "small"])
        .expect_code(0);
    sandbox
        .run_in(&home, &["resize", &id, "--cols", "100", "--rows", "30"])
        .expect_code(0);
    let inspected = sandbox.run_in(&home, &["inspect", &id]);
    assert_eq!(inspected.code, 0, "{inspected:?}");
    assert!(
        !inspected.stderr.contains("did not answer"),
        "{inspected:?}"
    );

    // Silent clients hold no thread of the host and block nobody.
    let before = threads(host);
    let sidecar: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("host.json")).unwrap()).unwrap();
    let path = sidecar["socket"]
        .as_str()
        .expect("the sidecar names the socket");
    let silent: Vec<std::os::unix::net::UnixStream> = (0..20)
        .map(|_| std::os::unix::net::UnixStream::connect(path).unwrap())
        .collect();
    sandbox
        .run_in(&home, &["type", &id, "still"])
        .expect_code(0);
    assert!(
        threads(host) < before + 5,
        "a thread per connection: {} threads for 20 silent clients (from {before})",
        threads(host)
    );
    drop(silent);
    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
    assert!(gone(host));
}

/// CPU time (user + system, in clock ticks) a process has used.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime); `rest` starts at field 3.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn a_host_out_of_descriptors_rests_instead_of_spinning_and_recovers() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, dir) = create_session(&sandbox, &home, &["--", "sleep", "300"]);
    let host = manifest_pid(&read_manifest(&dir), "hostPid");
    let sidecar: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("host.json")).unwrap()).unwrap();
    let path = sidecar["socket"].as_str().unwrap().to_owned();
    // Lower the host's descriptor limit to what it has open, plus a few.
    let open = std::fs::read_dir(format!("/proc/{host}/fd"))
        .unwrap()
        .count() as u64;
    let limit = libc::rlimit {
        rlim_cur: open + 4,
        rlim_max: open + 4,
    };
    // SAFETY: prlimit on a process of ours, with a valid struct.
    let rc = unsafe { libc::prlimit(host, libc::RLIMIT_NOFILE, &limit, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
    // More silent clients than it has descriptors left.
    let held: Vec<std::os::unix::net::UnixStream> = (0..12)
        .map(|_| std::os::unix::net::UnixStream::connect(&path).unwrap())
        .collect();
    let ticks = cpu_ticks(host);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let used = cpu_ticks(host) - ticks;
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    assert!(
        used < per_second / 4,
        "the host spun at its descriptor limit: {used} of {per_second} ticks in a second"
    );
    // Once the clients give up, it answers again.
    drop(held);
    let answered = eventually(PATIENCE, || {
        (sandbox.run_in(&home, &["type", &id, "x"]).code == 0).then_some(())
    });
    assert!(answered.is_some(), "the host never recovered");
    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
}

/// The reserve only serves to record a Session's end: once that is
/// recorded (the command exited, or `destroy`) it is given back to the disk.
#[rstest]
#[case::command_exits(&["sh", "-c", "sleep 0.3"], None)]
#[case::destroyed(&["sleep", "300"], Some("destroy"))]
fn an_ended_session_keeps_no_reserved_space(#[case] command: &[&str], #[case] then: Option<&str>) {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let args: Vec<&str> = std::iter::once("--")
        .chain(command.iter().copied())
        .collect();
    let (id, dir) = create_session(&sandbox, &home, &args);
    let reserve = SessionDir::new(&dir).reserved_space();
    assert!(reserve.exists(), "a live Session keeps its reserve");
    if let Some(verb) = then {
        sandbox.run_in(&home, &[verb, &id]).expect_code(0);
    }
    // The host gives it back just after it records the exit.
    let released = eventually(PATIENCE, || {
        let status = read_manifest(&dir)["status"].as_str()?.to_owned();
        (["exited", "destroyed"].contains(&status.as_str()) && !reserve.exists()).then_some(())
    });
    assert!(
        released.is_some(),
        "reserve there: {}; {:#}",
        reserve.exists(),
        read_manifest(&dir)
    );
}

#[rstest]
#[case::destroy(&["destroy", "{id}"])]
#[case::destroy_force(&["destroy", "--force", "{id}"])]
#[case::signal_kill(&["signal", "{id}", "KILL"])]
fn a_full_disk_never_keeps_a_session_alive(#[case] args: &[&str]) {
    let sandbox = Sandbox::new();
    let Some((disk, home)) = SmallDisk::with_home(&sandbox) else {
        return;
    };
    let (id, dir) = create_session(&sandbox, &home, &["--", "sh", "-c", "exec sleep 300"]);
    let m = read_manifest(&dir);
    let (host, child) = (manifest_pid(&m, "hostPid"), manifest_pid(&m, "childPid"));
    let filler = disk.fill();
    let args: Vec<&str> = args
        .iter()
        .map(|a| if *a == "{id}" { id.as_str() } else { a })
        .collect();
    let ran = sandbox.run_in(&home, &args);
    assert_eq!(ran.code, 0, "{ran:?}");
    assert!(gone(child), "the command still runs");
    assert!(gone(host), "the host still runs");
    // With space again, the Session is listed as ended.
    std::fs::remove_file(&filler).unwrap();
    let listed = sandbox.run_in(&home, &["list", "--all"]).result();
    let status = listed["sessions"][0]["status"].as_str().unwrap().to_owned();
    assert!(
        ["destroyed", "exited", "failed"].contains(&status.as_str()),
        "{listed:#}"
    );
}

/// `record export` on a full disk fails as 0.5's does (`EXPORT_ERROR`,
/// exit 7, 0.5's message and detail keys), its `cause` saying the disk is
/// full and what to do, and leaves no partial recording behind, into the
/// artifacts or at `--out`.
#[rstest]
#[case::artifacts(false)]
#[case::out(true)]
fn record_export_on_a_full_disk_says_the_disk_is_full_and_leaves_nothing(#[case] to_out: bool) {
    let sandbox = Sandbox::new();
    let Some((disk, home)) = SmallDisk::with_home(&sandbox) else {
        return;
    };
    let (id, dir) = create_session(
        &sandbox,
        &home,
        &["--", "sh", "-c", "echo exported-line; exec sleep 300"],
    );
    sandbox
        .run_in(&home, &["wait", &id, "--text", "exported-line"])
        .expect_code(0);
    let artifacts = SessionDir::new(&dir).artifacts();
    let listed = |d: &Path| -> Vec<String> {
        std::fs::read_dir(d)
            .map(|rd| {
                rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let out = home.parent().unwrap().join("out");
    std::fs::create_dir(&out).unwrap();
    let before = listed(&artifacts);
    let filler = disk.fill();
    let target = out.join("rec.cast");
    let mut args = vec!["record", "export", &id, "--format", "asciicast"];
    let target_arg = target.to_string_lossy().into_owned();
    if to_out {
        args.extend(["--out", &target_arg]);
    }
    let exported = sandbox.run_in(&home, &args);
    std::fs::remove_file(&filler).unwrap();
    sandbox.run_in(&home, &["destroy", "--force", &id]);

    exported.expect_code(7);
    let json = exported.json();
    assert_eq!(json["ok"], false, "{json:#}");
    assert_eq!(json["command"], "record export");
    assert_eq!(json["error"]["code"], "EXPORT_ERROR", "{json:#}");
    assert_eq!(
        json["error"]["message"],
        format!("Failed to export session \"{id}\" as asciicast."),
    );
    let mut keys: Vec<&str> = json["error"]["details"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let expected: &[&str] = if to_out {
        &["cause", "format", "out", "sessionId"]
    } else {
        &["cause", "format", "sessionId"]
    };
    assert_eq!(keys, expected, "{json:#}");
    let cause = json["error"]["details"]["cause"].as_str().unwrap();
    assert!(cause.contains("the disk is full"), "{cause}");
    assert!(cause.contains("free some space"), "{cause}");
    assert_eq!(listed(&artifacts), before, "a partial recording was left");
    assert!(listed(&out).is_empty(), "{:?}", listed(&out));
}

#[test]
fn list_keeps_a_session_it_cannot_update_on_a_full_disk() {
    let sandbox = Sandbox::new();
    let Some((disk, home)) = SmallDisk::with_home(&sandbox) else {
        return;
    };
    let (id, dir) = create_session(&sandbox, &home, &["--", "sleep", "300"]);
    let m = read_manifest(&dir);
    let (host, child) = (manifest_pid(&m, "hostPid"), manifest_pid(&m, "childPid"));
    // A host killed outright: the next list must record its death, and
    // cannot while the disk is full.
    // SAFETY: kill(2) on processes this test created.
    unsafe { libc::kill(host, libc::SIGKILL) };
    assert!(gone(host));
    let filler = disk.fill();
    let listed = sandbox.run_in(&home, &["list", "--all"]);
    assert_eq!(listed.code, 0, "{listed:?}");
    let rows = listed.result()["sessions"].clone();
    assert_eq!(rows[0]["sessionId"], id.as_str(), "left out: {listed:?}");
    assert_eq!(rows[0]["status"], "failed", "{listed:?}");
    assert!(listed.stderr.contains("could not be"), "{listed:?}");
    std::fs::remove_file(&filler).unwrap();
    let listed = sandbox.run_in(&home, &["list", "--all"]);
    assert!(!listed.stderr.contains("could not be"), "{listed:?}");
    assert_eq!(read_manifest(&dir)["status"], "failed");
    if process_alive(child) {
        // SAFETY: as above.
        unsafe { libc::kill(child, libc::SIGKILL) };
    }
}

#[test]
fn a_plain_destroy_kills_a_foreground_job_that_ignores_hup_and_term() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, _) = create_session(&sandbox, &home, &["--", "bash", "--norc", "-i"]);
    let pid_file = sandbox.root().join("job.pid");
    let job = format!(
        "python3 -c 'import os,signal,time; signal.signal(signal.SIGHUP, signal.SIG_IGN); \
         signal.signal(signal.SIGTERM, signal.SIG_IGN); \
         open(\"{}\",\"w\").write(str(os.getpid())); time.sleep(300)'\r",
        pid_file.display()
    );
    sandbox.run_in(&home, &["type", &id, &job]).expect_code(0);
    let job: i32 = eventually(PATIENCE, || {
        std::fs::read_to_string(&pid_file).ok()?.trim().parse().ok()
    })
    .expect("the foreground job started");
    let destroyed = sandbox.run_in(&home, &["destroy", &id]);
    assert_eq!(destroyed.code, 0, "{destroyed:?}");
    assert!(gone(job), "a plain destroy left the foreground job running");
    assert!(
        destroyed.result().get("survivors").is_none(),
        "no survivors, no key"
    );
}

#[test]
fn a_plain_destroy_names_the_processes_that_outlived_it() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let pid_file = sandbox.root().join("job.pid");
    // A background job in a group of its own that ignores the hang-up.
    let script = format!(
        "python3 -c 'import os,signal,time; os.setpgid(0,0); \
         signal.signal(signal.SIGHUP, signal.SIG_IGN); \
         open(\"{}\",\"w\").write(str(os.getpid())); time.sleep(300)' & exec sleep 300",
        pid_file.display()
    );
    let (id, _) = create_session(&sandbox, &home, &["--", "sh", "-c", &script]);
    let job: i32 = eventually(PATIENCE, || {
        std::fs::read_to_string(&pid_file).ok()?.trim().parse().ok()
    })
    .expect("the background job started");
    let destroyed = sandbox.run_in(&home, &["destroy", &id]);
    assert_eq!(destroyed.code, 0, "{destroyed:?}");
    assert_eq!(destroyed.result()["survivors"], serde_json::json!([job]));
    assert!(destroyed.stderr.contains("outlived"), "{destroyed:?}");
    assert!(process_alive(job));
    // SAFETY: kill(2) on a process this test created.
    unsafe { libc::kill(job, libc::SIGKILL) };
}

#[test]
fn gc_collects_an_old_session_directory_without_a_manifest_and_deregisters_the_home() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, _) = create_session(&sandbox, &home, &["--", "true"]);
    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
    // What a killed create leaves: a Session directory and no manifest.
    let husk = home.join("sessions").join("01JD3Z6X8K4M2N5P7Q9R1S3T5V");
    std::fs::create_dir(&husk).unwrap();
    std::fs::write(husk.join("events.jsonl"), b"").unwrap();
    let young = sandbox.run(["--json", "gc"]);
    assert_eq!(young.code, 0, "{young:?}");
    assert!(husk.is_dir(), "a fresh directory was collected");
    // Untouched for an hour: a husk.
    let touched = Command::new("touch")
        .args(["-d", "1 hour ago"])
        .arg(husk.join("events.jsonl"))
        .arg(&husk)
        .status()
        .unwrap();
    assert!(touched.success());
    let swept = sandbox.run(["--json", "gc"]);
    assert_eq!(swept.code, 0, "{swept:?}");
    assert!(!husk.exists(), "the husk was left: {swept:?}");
    let homes = sandbox.run(["--json", "home", "list"]).result();
    assert!(
        !homes.to_string().contains(home.to_str().unwrap()),
        "the Home stayed registered: {homes:#}"
    );
}

#[test]
fn inspect_answers_from_the_files_when_the_host_is_stopped() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, dir) = create_session(&sandbox, &home, &["--", "sleep", "300"]);
    let host = manifest_pid(&read_manifest(&dir), "hostPid");
    // SAFETY: kill(2) on the host this test created.
    unsafe { libc::kill(host, libc::SIGSTOP) };
    let inspected = sandbox.run_in(&home, &["inspect", &id]);
    // SAFETY: as above.
    unsafe { libc::kill(host, libc::SIGCONT) };
    assert_eq!(inspected.code, 0, "{inspected:?}");
    let result = inspected.result();
    assert_eq!(result["session"]["sessionId"], id.as_str());
    assert_eq!(result["usedOfflineReplay"], true);
    assert!(inspected.stderr.contains("did not answer"), "{inspected:?}");
    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
}
