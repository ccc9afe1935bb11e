//! End-to-end tests: what the Session's host does as a terminal — answering
//! terminal questions read by real programs, `run` completing through shell
//! integration without leaving anything on the screen a person would not
//! see, and `signal` reaching the foreground job.

use agent_tty_e2e::{create_session, eventually, required_under_ci, Sandbox};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(20);

fn create(sandbox: &Sandbox, home: &Path, command: &[&str]) -> String {
    let mut args = vec!["--cols", "80", "--rows", "24", "--"];
    args.extend(command);
    create_session(sandbox, home, &args).0
}

fn bash(sandbox: &Sandbox, home: &Path) -> String {
    create(sandbox, home, &["bash", "--norc", "--noprofile"])
}

fn run(sandbox: &Sandbox, home: &Path, id: &str, command: &str) -> Value {
    sandbox
        .run_in(home, &["run", id, command, "--timeout", "15000"])
        .expect_code(0)
        .result()
}

fn wait_text(sandbox: &Sandbox, home: &Path, id: &str, text: &str) {
    let waited = sandbox
        .run_in(home, &["wait", id, "--text", text, "--timeout", "15000"])
        .result();
    assert_eq!(
        waited["matched"], true,
        "{text:?} never appeared: {waited:#}"
    );
}

/// The scrollback and the screen, one line per row.
fn transcript(sandbox: &Sandbox, home: &Path, id: &str) -> String {
    let snap = sandbox
        .run_in(
            home,
            &["snapshot", id, "--format", "text", "--include-scrollback"],
        )
        .expect_code(0)
        .result();
    snap["text"].as_str().unwrap().to_owned()
}

fn event_log(home: &Path, id: &str) -> PathBuf {
    home.join("sessions").join(id).join("events.jsonl")
}

/// All `output` text logged after `seq`.
fn output_after(home: &Path, id: &str, seq: u64) -> String {
    std::fs::read_to_string(event_log(home, id))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["seq"].as_u64().is_some_and(|s| s > seq) && e["type"] == "output")
        .map(|e| e["payload"]["data"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_real_program_reads_the_answers_to_its_terminal_questions() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let script = sandbox.root().join("ask.py");
    // Puts the terminal in raw mode, asks, and prints each answer escaped.
    std::fs::write(
        &script,
        r#"import os, sys, termios, tty, select
fd = sys.stdin.fileno()
saved = termios.tcgetattr(fd)
tty.setraw(fd)
def ask(name, query, end):
    os.write(1, query)
    got = b""
    while not got.endswith(end):
        r, _, _ = select.select([fd], [], [], 5)
        if not r:
            break
        got += os.read(fd, 1)
    return name + "=" + repr(got)
os.write(1, b"\x1b[5;10H")
answers = [
    ask("cpr", b"\x1b[6n", b"R"),
    ask("da1", b"\x1b[c", b"c"),
    ask("dsr", b"\x1b[5n", b"n"),
    ask("osc11", b"\x1b]11;?\x1b\\", b"\x1b\\"),
]
termios.tcsetattr(fd, termios.TCSADRAIN, saved)
print("\r\n" + "\n".join(answers) + "\ndone")
"#,
    )
    .unwrap();
    let id = create(&sandbox, &home, &["python3", script.to_str().unwrap()]);
    wait_text(&sandbox, &home, &id, "done");
    let text = transcript(&sandbox, &home, &id);
    for expected in [
        r"cpr=b'\x1b[5;10R'",
        r"da1=b'\x1b[?62;22c'",
        r"dsr=b'\x1b[0n'",
        r"osc11=b'\x1b]11;rgb:1e1e/1e1e/2e2e\x1b\\'",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    // The answers went to the program only, never into the Event Log.
    // (The program prints them escaped; the raw answer never appears.)
    let logged = output_after(&home, &id, 0);
    assert!(!logged.contains("\x1b]11;rgb:") && !logged.contains("\x1b[5;10R"));
}

#[test]
fn bash_reads_a_cursor_position_report_without_waiting() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash(&sandbox, &home);
    let done = run(
        &sandbox,
        &home,
        &id,
        r#"printf '\e[6n'; read -rs -t 5 -d R pos; echo "row-col=${pos#*[}""#,
    );
    assert_eq!(done["completed"], true);
    assert!(done["durationMs"].as_u64().unwrap() < 4000, "{done}");
    let text = transcript(&sandbox, &home, &id);
    assert!(text.contains("row-col=2;1"), "{text}");

    // After a resize the answer describes the new screen.
    sandbox
        .run_in(&home, &["resize", &id, "--cols", "100", "--rows", "30"])
        .expect_code(0);
    run(
        &sandbox,
        &home,
        &id,
        r#"printf '\e[999;999H\e[6n'; read -rs -t 5 -d R pos; echo; echo "corner=${pos#*[}""#,
    );
    let text = transcript(&sandbox, &home, &id);
    assert!(text.contains("corner=30;100"), "{text}");
}

#[test]
fn run_reports_exit_status_and_completes_background_and_commented_commands() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    for shell in [&["bash", "--norc", "--noprofile"][..], &["bash"], &["sh"]] {
        let id = create(&sandbox, &home, shell);
        let failed = run(&sandbox, &home, &id, r#"sh -c "exit 7""#);
        assert_eq!(failed["completed"], true, "{shell:?}");
        assert_eq!(failed["exitCode"], 7, "{shell:?}");
        for command in ["sleep 1 &", "echo hash #", "true"] {
            let done = run(&sandbox, &home, &id, command);
            assert_eq!(done["completed"], true, "{command} in {shell:?}");
            assert_eq!(done["exitCode"], 0, "{command} in {shell:?}");
        }
        let keys = |r: &Value| {
            let mut k: Vec<_> = r.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(
            keys(&failed),
            [
                "accepted",
                "completed",
                "durationMs",
                "exitCode",
                "exitSignal",
                "marker",
                "seq",
                "timedOut"
            ]
        );
        let typed = sandbox
            .run_in(&home, &["run", &id, "true", "--no-wait"])
            .expect_code(0)
            .result();
        assert_eq!(keys(&typed), ["accepted", "seq"]);
    }
}

#[test]
fn run_types_nothing_but_the_command() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash(&sandbox, &home);
    let prompt = transcript(&sandbox, &home, &id);
    let prompt = prompt.lines().next().unwrap().to_owned();
    run(&sandbox, &home, &id, "echo before-ro");
    run(&sandbox, &home, &id, "echo after-ro");
    let text = transcript(&sandbox, &home, &id);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..5],
        [
            format!("{prompt} echo before-ro").as_str(),
            "before-ro",
            format!("{prompt} echo after-ro").as_str(),
            "after-ro",
            prompt.trim_end(),
        ],
        "{text}"
    );
}

/// A person types `command` and Enter, and waits for the prompt (`prompt`,
/// printed after the command's line has ended).
fn person_runs(sandbox: &Sandbox, home: &Path, id: &str, command: &str, prompt: &str) {
    let typed = sandbox
        .run_in(home, &["type", id, &format!("{command}\r")])
        .expect_code(0)
        .result();
    let seq = typed["seq"].as_u64().unwrap();
    eventually(PATIENCE, || {
        let out = output_after(home, id, seq);
        out.find("\r\n")
            .is_some_and(|end| out[end..].ends_with(prompt))
            .then_some(())
    })
    .expect("the prompt comes back");
}

#[test]
fn commands_of_every_length_leave_what_a_person_typing_them_would() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let by_run = bash(&sandbox, &home);
    let by_person = bash(&sandbox, &home);
    let prompt = format!("{} ", transcript(&sandbox, &home, &by_person).trim_end());
    for n in 1..=200usize {
        let command = match n {
            1 => ":".to_owned(),
            2..=5 => format!("#{}", "x".repeat(n - 1)),
            _ => format!("echo {}", "ab-".repeat(70)[..n - 5].to_owned()),
        };
        let done = run(&sandbox, &home, &by_run, &command);
        assert_eq!(done["completed"], true, "length {n}");
        person_runs(&sandbox, &home, &by_person, &command, &prompt);
    }
    let (ran, typed) = (
        transcript(&sandbox, &home, &by_run),
        transcript(&sandbox, &home, &by_person),
    );
    if ran != typed {
        let first = ran
            .lines()
            .zip(typed.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "run left a different screen from line {first}:\nrun:    {:?}\nperson: {:?}",
            ran.lines().nth(first),
            typed.lines().nth(first)
        );
    }
}

#[test]
fn signal_reaches_the_foreground_job_not_the_shell() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash(&sandbox, &home);
    // A job that says it is up only once it leads the foreground group.
    let job = |name: &str| format!("sh -c 'echo {name}-up; exec sleep 300'");
    // INT ends a foreground sleep.
    sandbox
        .run_in(&home, &["run", &id, &job("first"), "--no-wait"])
        .expect_code(0);
    wait_text(&sandbox, &home, &id, "first-up\n");
    let sent = sandbox
        .run_in(&home, &["signal", &id, "INT"])
        .expect_code(0)
        .result();
    assert_eq!(sent["signal"], "SIGINT");
    assert_eq!(sent["delivered"], true);
    let after = run(&sandbox, &home, &id, "echo after-int");
    assert_eq!(after["completed"], true);

    // USR1 would kill bash; with a job in the foreground it goes to the job.
    sandbox
        .run_in(&home, &["run", &id, &job("second"), "--no-wait"])
        .expect_code(0);
    wait_text(&sandbox, &home, &id, "second-up\n");
    sandbox
        .run_in(&home, &["signal", &id, "SIGUSR1"])
        .expect_code(0);
    let alive = run(&sandbox, &home, &id, "echo still-here");
    assert_eq!(alive["completed"], true);
    assert_eq!(
        sandbox.run_in(&home, &["inspect", &id]).result()["session"]["status"],
        "running"
    );

    // --shell addresses the shell itself.
    sandbox
        .run_in(&home, &["signal", &id, "HUP", "--shell"])
        .expect_code(0);
    let ended = sandbox
        .run_in(&home, &["wait", &id, "--exit", "--timeout", "10000"])
        .result();
    assert_eq!(ended["timedOut"], false, "{ended}");
}

#[test]
fn a_shell_without_integration_still_completes_through_the_completion_line() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    // Started through `env`, the shell is not recognised: no integration.
    let id = create(&sandbox, &home, &["env", "bash", "--norc", "--noprofile"]);
    let done = run(&sandbox, &home, &id, "echo fallback-$((1+1))");
    assert_eq!(done["completed"], true);
    // The completion line typed after the command carries its status.
    assert_eq!(done["exitCode"], 0);
    let text = transcript(&sandbox, &home, &id);
    assert!(text.contains("fallback-2"), "{text}");
    assert!(!text.contains("7770"), "{text}");
}

/// Whether `program` is on PATH; under CI it must be (`.ci/run` installs
/// it), elsewhere a missing one skips the test with a message.
fn installed(program: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    required_under_ci(program, found, "apt-get install zsh fish")
}

#[test]
fn zsh_and_fish_report_exit_status_through_their_integration() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    for shell in ["zsh", "fish"] {
        if !installed(shell) {
            continue;
        }
        let id = create(&sandbox, &home, &[shell]);
        let failed = run(&sandbox, &home, &id, r#"sh -c "exit 7""#);
        assert_eq!(failed["exitCode"], 7, "{shell}");
        let done = run(&sandbox, &home, &id, "echo integrated");
        assert_eq!(done["exitCode"], 0, "{shell}");
        let text = transcript(&sandbox, &home, &id);
        assert!(!text.contains("7770"), "{shell}: {text}");
    }
}
