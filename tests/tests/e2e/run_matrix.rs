//! The torture matrix of `run` (issue 19): every row in bash, zsh, fish and
//! dash, each row asserting what a person sees on the screen, the result
//! (`completed`, `exitCode`), and that agent-tty 0.5's strict Event Log
//! schema accepts every record. The rows of one shell share one Session (a
//! row leaves the shell at its prompt for the next), so the matrix costs
//! one shell start per shell.
//!
//! Where fish has no equivalent of a row's syntax (`( … )` subshells,
//! heredocs, `for …; do … done`), the row uses fish's own way of saying the
//! same thing.

use agent_tty_e2e::event_log_schema05::check_log;
use agent_tty_e2e::{create_session, eventually, required_under_ci, Sandbox};
use rstest::rstest;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(20);

/// What must never be on a screen or in the logged output: `run`'s
/// plumbing.
const PLUMBING: &[&str] = &["7770", "__AT_MARKER_", "$status\\'", "133;"];

/// One shell's Session and what the rows need.
struct Matrix {
    sandbox: Sandbox,
    home: PathBuf,
    id: String,
    shell: &'static str,
}

/// What a row must leave.
struct Expect<'a> {
    completed: bool,
    exit_code: Value,
    /// Consecutive screen lines: the first must end with it (after the
    /// prompt), the others must be equal to it.
    lines: &'a [&'a str],
}

impl Matrix {
    fn new(shell: &'static str, command: &[&str]) -> Self {
        let sandbox = Sandbox::new();
        let home = sandbox.home("h");
        let mut args = vec!["--cols", "80", "--rows", "24", "--"];
        args.extend(command);
        let (id, _) = create_session(&sandbox, &home, &args);
        Matrix {
            sandbox,
            home,
            id,
            shell,
        }
    }

    /// A Session of `shell` started plainly, or `None` (the test skips)
    /// when this machine does not have it.
    fn of(shell: &'static str) -> Option<Self> {
        installed(shell).then(|| Matrix::new(shell, &[shell]))
    }

    /// Ends the Session (every test does, so no shell outlives it).
    fn destroy(self) {
        self.sandbox
            .run_in(&self.home, &["destroy", &self.id])
            .expect_code(0);
    }

    fn fish(&self) -> bool {
        self.shell == "fish"
    }

    fn dir(&self) -> PathBuf {
        self.home.join("sessions").join(&self.id)
    }

    /// `run ID COMMAND EXTRA…` and its result.
    fn run(&self, command: &str, extra: &[&str]) -> Value {
        let mut args = vec!["run", &self.id, command];
        if !extra.contains(&"--timeout") {
            args.extend(["--timeout", "15000"]);
        }
        args.extend(extra);
        self.sandbox
            .run_in(&self.home, &args)
            .expect_code(0)
            .result()
    }

    /// The scrollback and the screen, one line per row, ends trimmed.
    fn transcript(&self) -> String {
        let snap = self
            .sandbox
            .run_in(
                &self.home,
                &[
                    "snapshot",
                    &self.id,
                    "--format",
                    "text",
                    "--include-scrollback",
                ],
            )
            .expect_code(0)
            .result();
        snap["text"].as_str().unwrap().to_owned()
    }

    /// Runs `command` as row `row` and checks what it left.
    fn row(&self, row: &str, command: &str, expect: Expect) {
        let result = self.run(command, &[]);
        self.check(row, &result, &expect);
    }

    fn check(&self, row: &str, result: &Value, expect: &Expect) {
        let what = format!("{} row {row:?}", self.shell);
        assert_eq!(result["completed"], expect.completed, "{what}: {result}");
        assert_eq!(result["exitCode"], expect.exit_code, "{what}: {result}");
        let text = self.transcript();
        assert_shows(&text, expect.lines, &what);
        for plumbing in PLUMBING {
            assert!(
                !text.contains(plumbing),
                "{what}: {plumbing:?} shown:\n{text}"
            );
        }
        self.check_log(&what);
    }

    /// Every record passes 0.5's schema; no plumbing in the logged output.
    fn check_log(&self, what: &str) {
        let log = std::fs::read_to_string(self.dir().join("events.jsonl")).unwrap();
        check_log(&log).unwrap_or_else(|e| panic!("{what}: 0.5 would reject the log: {e}"));
        for line in log.lines() {
            let record: Value = serde_json::from_str(line).unwrap();
            if record["type"] == "output" {
                let data = record["payload"]["data"].as_str().unwrap();
                assert!(
                    !data.contains("\x1b]7770;") && !data.contains("\x1b]133;"),
                    "{what}: plumbing logged: {data:?}"
                );
            }
        }
    }
}

/// `lines` appear consecutively in `text`: the first at the end of a line,
/// the others at the start of the lines after it. (Not as whole lines: a
/// shell that repainted its prompt over typed-ahead lines, as fish does,
/// can leave text further right on a row that output later starts, exactly
/// as a real terminal shows it.)
fn assert_shows(text: &str, lines: &[&str], what: &str) {
    let Some((first, rest)) = lines.split_first() else {
        return;
    };
    let all: Vec<&str> = text.lines().map(str::trim_end).collect();
    let found = (0..all.len()).any(|i| {
        all[i].ends_with(first)
            && rest
                .iter()
                .enumerate()
                .all(|(k, want)| all.get(i + 1 + k).is_some_and(|l| l.starts_with(want)))
    });
    assert!(found, "{what}: {lines:?} not on the screen:\n{text}");
}

fn installed(program: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    required_under_ci(program, found, "apt-get install zsh fish dash python3")
}

fn done(code: i64) -> Value {
    Value::from(code)
}

#[rstest]
#[case::bash("bash")]
#[case::zsh("zsh")]
#[case::fish("fish")]
#[case::dash("dash")]
fn every_row_completes_for_the_command_that_finished(#[case] shell: &'static str) {
    if !installed(shell) || !installed("python3") {
        return;
    }
    let m = Matrix::new(shell, &[shell]);
    let fish = m.fish();

    m.row(
        "plain",
        "echo plain-row",
        Expect {
            completed: true,
            exit_code: done(0),
            lines: &["echo plain-row", "plain-row"],
        },
    );

    // `--output` is what the command printed, as a terminal shows it: no
    // residue of a charset designation or a DCS string, and none of what
    // the shell adds after an unfinished last line (fish's `⏎`, zsh's
    // PROMPT_SP) and no line lost to it.
    let unfinished = r"printf 'out\033(B-put\033P1$r0m\033\\-end'";
    let result = m.run(unfinished, &["--output"]);
    m.check(
        "output without a final newline",
        &result,
        &Expect {
            completed: true,
            exit_code: done(0),
            lines: &[],
        },
    );
    assert_eq!(result["output"], "out-put-end", "{shell}: {result:#}");

    let subshell = if fish { "fish -c 'exit 7'" } else { "(exit 7)" };
    m.row(
        "exit 7 in a subshell",
        subshell,
        Expect {
            completed: true,
            exit_code: done(7),
            lines: &[subshell],
        },
    );

    let heredoc = if fish {
        "printf '%s\\n' heredoc-body | cat"
    } else {
        "cat <<EOF\nheredoc-body\nEOF"
    };
    m.row(
        "heredoc",
        heredoc,
        Expect {
            completed: true,
            exit_code: done(0),
            lines: &["heredoc-body"],
        },
    );

    let find = "find / -maxdepth 0 -exec echo found {} \\;";
    m.row(
        "find -exec \\;",
        find,
        Expect {
            completed: true,
            exit_code: done(0),
            lines: &[find, "found /"],
        },
    );

    // zsh runs `#` as a word unless INTERACTIVE_COMMENTS is set.
    let hash = if shell == "zsh" {
        "hash # comment"
    } else {
        "hash"
    };
    m.row(
        "trailing comment",
        "echo hash # comment",
        Expect {
            completed: true,
            exit_code: done(0),
            lines: &["echo hash # comment", hash],
        },
    );

    let three_lines = if fish {
        "for i in 1 2 3\necho line-$i\nend"
    } else {
        "for i in 1 2 3; do\necho line-$i\ndone"
    };
    m.row(
        "three lines",
        three_lines,
        Expect {
            completed: true,
            exit_code: done(0),
            lines: &["line-1", "line-2", "line-3"],
        },
    );

    // Commands on lines of their own: the run is all of them, with the
    // last one's status (not the first one's prompt). dash reads them one
    // prompt at a time, so its prompts are between their outputs.
    m.row(
        "several commands, a line each",
        "echo multi-a\nsleep 1\necho multi-b\nsh -c 'exit 4'",
        Expect {
            completed: true,
            exit_code: done(4),
            lines: if shell == "dash" {
                &["multi-a"]
            } else {
                &["multi-a", "multi-b"]
            },
        },
    );

    let long = format!("echo {}", "wrap-".repeat(20));
    let result = m.run(&long, &[]);
    m.check(
        "wraps past the margin",
        &result,
        &Expect {
            completed: true,
            exit_code: done(0),
            lines: &[],
        },
    );
    let flat = m.transcript().replace('\n', "");
    assert!(
        flat.matches(&"wrap-".repeat(20)).count() >= 2,
        "{shell}: the long command and its output:\n{flat}"
    );

    m.row(
        "background job",
        "sleep 1 &",
        Expect {
            completed: true,
            exit_code: done(0),
            lines: &["sleep 1 &"],
        },
    );

    // A command that reads a line, answered with `type`.
    let reader = {
        let mut cmd = m.sandbox.command([
            "--json",
            "--home",
            m.home.to_str().unwrap(),
            "run",
            &m.id,
            "read x; echo got-$x",
            "--timeout",
            "15000",
        ]);
        cmd.stdout(std::process::Stdio::piped()).spawn().unwrap()
    };
    let log = m.dir().join("events.jsonl");
    eventually(PATIENCE, || {
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("\"command\":\"read x; echo got-$x\"")
            .then_some(())
    })
    .expect("the run is typed");
    m.sandbox
        .run_in(&m.home, &["type", &m.id, "hello\r"])
        .expect_code(0);
    let out = reader.wait_with_output().unwrap();
    let result = serde_json::from_slice::<Value>(&out.stdout).unwrap()["result"].clone();
    m.check(
        "reads a line",
        &result,
        &Expect {
            completed: true,
            exit_code: done(0),
            lines: &["got-hello"],
        },
    );

    // A run that times out, then at once two more: each completes for its
    // own command, with its own status.
    let slow = m.run("sleep 2", &["--timeout", "300"]);
    assert_eq!(
        (&slow["completed"], &slow["timedOut"]),
        (&Value::Bool(false), &Value::Bool(true)),
        "{shell}: {slow}"
    );
    m.row(
        "after a timeout",
        "echo after-1",
        Expect {
            completed: true,
            exit_code: done(0),
            lines: &["after-1"],
        },
    );
    m.row(
        "after a timeout, again",
        "false",
        Expect {
            completed: true,
            exit_code: done(1),
            lines: &["false"],
        },
    );

    let typed = m.run("sleep 1", &["--no-wait"]);
    assert_eq!(typed["accepted"], true, "{shell}: {typed}");
    m.row(
        "after --no-wait",
        "echo nowait-after",
        Expect {
            completed: true,
            exit_code: done(0),
            lines: &["nowait-after"],
        },
    );

    // An inner shell: it completes once the inner shell waits at its
    // prompt; runs inside it report their status; after `exit`, runs in
    // the outer shell are integrated again.
    m.row(
        "inner bash",
        "bash --norc",
        Expect {
            completed: true,
            exit_code: Value::Null,
            lines: &["bash --norc"],
        },
    );
    m.row(
        "run in the inner bash",
        "echo in-nested; false",
        Expect {
            completed: true,
            exit_code: done(1),
            lines: &["echo in-nested; false", "in-nested"],
        },
    );
    let exited = m.run("exit", &[]);
    assert_eq!(exited["completed"], true, "{shell}: {exited}");
    // fish repaints its prompt when the inner shell's completion line hands
    // the terminal back, and can draw its next prompt over the output's row
    // (a known gap, ADR 0012): there the output must only start its row.
    m.row(
        "run after the inner bash",
        "echo outside",
        Expect {
            completed: true,
            exit_code: done(0),
            lines: if fish {
                &["echo outside"]
            } else {
                &["echo outside", "outside"]
            },
        },
    );
    if fish {
        let text = m.transcript();
        assert!(
            text.lines().any(|l| l.starts_with("outside")),
            "fish: the output of the run after the inner bash:\n{text}"
        );
    }

    // A REPL: nothing but the line is typed; a run completes when its
    // prompt is back.
    m.row(
        "python3 -q",
        "python3 -q",
        Expect {
            completed: true,
            exit_code: Value::Null,
            lines: &["python3 -q", ">>>"],
        },
    );
    m.row(
        "in python3",
        "print(6*7)",
        Expect {
            completed: true,
            exit_code: Value::Null,
            lines: &[">>> print(6*7)", "42", ">>>"],
        },
    );
    let quit = m.run("exit()", &[]);
    assert_eq!(quit["completed"], true, "{shell}: {quit}");
    let text = m.transcript();
    assert!(
        !text.contains("Error"),
        "{shell}: python complained:\n{text}"
    );
    m.row(
        "after python3",
        "echo back",
        Expect {
            completed: true,
            exit_code: done(0),
            lines: &["echo back", "back"],
        },
    );

    // Forged shell-integration marks (BEL- and ST-terminated, and one with
    // a guessed key) in a file a command prints, and then exits 7: the run
    // reports 7, not the forged 0 (issue 26).
    let forgery = m.sandbox.root().join("forged-marks");
    std::fs::write(
        &forgery,
        "\x1b]133;D;0\x07\x1b]133;C\x07\x1b]133;D;0\x1b\\\x1b]133;D;0;k=guess\x07\x1b]7770;0.0\x07",
    )
    .unwrap();
    let forged = m.run(
        &format!("sh -c 'cat {}; sleep 0.5; exit 7'", forgery.display()),
        &[],
    );
    assert_eq!(forged["completed"], true, "{shell}: {forged}");
    assert_eq!(forged["exitCode"], 7, "{shell}: {forged}");
    assert!(forged["durationMs"].as_u64().unwrap() >= 500, "{forged}");

    // The exit statuses are kept beside the log.
    assert!(m.dir().join("run-exits.jsonl").is_file());
    m.destroy();
}

/// A shell the host cannot integrate with (started through `sh -c`): the
/// completion line typed after each command carries its status, and is
/// never seen.
#[test]
fn a_shell_started_through_sh_c_completes_through_the_completion_line() {
    let m = Matrix::new("bash", &["sh", "-c", "exec bash --norc -i"]);
    m.row(
        "plain",
        "echo plain-row",
        Expect {
            completed: true,
            exit_code: done(0),
            lines: &["echo plain-row", "plain-row"],
        },
    );
    m.row(
        "exit 7 in a subshell",
        "(exit 7)",
        Expect {
            completed: true,
            exit_code: done(7),
            lines: &["(exit 7)"],
        },
    );
    m.row(
        "heredoc",
        "cat <<EOF\nheredoc-body\nEOF",
        Expect {
            completed: true,
            exit_code: done(0),
            lines: &["> EOF", "heredoc-body"],
        },
    );
    m.row(
        "find -exec \\;",
        "find / -maxdepth 0 -exec echo found {} \\;",
        Expect {
            completed: true,
            exit_code: done(0),
            lines: &["find / -maxdepth 0 -exec echo found {} \\;", "found /"],
        },
    );
    m.row(
        "trailing comment",
        "echo hash # comment",
        Expect {
            completed: true,
            exit_code: done(0),
            lines: &["echo hash # comment", "hash"],
        },
    );
    m.row(
        "background job",
        "sleep 1 &",
        Expect {
            completed: true,
            exit_code: done(0),
            lines: &[],
        },
    );
    m.destroy();
}

/// The integrated shell replaces itself with a shell of the same kind
/// (`exec bash`): the PID stays, the hooks are gone. The `exec` run
/// completes when the new shell waits for input (no status: nothing
/// reported one), and every later run through the completion line, with its
/// own status, never seen on the screen or in the log.
#[rstest]
#[case::bash("bash")]
#[case::zsh("zsh")]
#[case::fish("fish")]
#[case::dash("dash")]
fn runs_complete_after_the_shell_replaced_itself(#[case] shell: &'static str) {
    let Some(m) = Matrix::of(shell) else {
        return;
    };
    m.row(
        "before",
        "echo before-exec",
        Expect {
            completed: true,
            exit_code: done(0),
            lines: &["echo before-exec", "before-exec"],
        },
    );
    let exec = format!("exec {shell}");
    m.row(
        "exec",
        &exec,
        Expect {
            completed: true,
            exit_code: Value::Null,
            lines: &[&exec],
        },
    );
    m.row(
        "after exec",
        "echo after-exec; false",
        Expect {
            completed: true,
            exit_code: done(1),
            lines: &["after-exec"],
        },
    );
    let seven = if m.fish() {
        "fish -c 'exit 7'"
    } else {
        "sh -c 'exit 7'"
    };
    m.row(
        "status after exec",
        seven,
        Expect {
            completed: true,
            exit_code: done(7),
            lines: &[],
        },
    );
    m.destroy();
}

/// fish refuses a line with a syntax error and keeps it in its editor. The
/// refused run completes at once with fish's status for such a line (123),
/// and the next run starts on an empty line: it runs alone, with its own
/// status (it was appended to the refused line, which fish refused again).
#[test]
fn fish_completes_a_refused_line_and_clears_it_for_the_next_run() {
    if !installed("fish") {
        return;
    }
    let m = Matrix::new("fish", &["fish"]);
    m.row(
        "refused",
        "echo )",
        Expect {
            completed: true,
            exit_code: done(123),
            lines: &[],
        },
    );
    let typed = m.run("echo nowait-ran", &["--no-wait"]);
    assert_eq!(typed["accepted"], true, "{typed}");
    m.row(
        "after the refused line",
        "echo after-refused",
        Expect {
            completed: true,
            exit_code: done(0),
            lines: &["echo after-refused", "after-refused"],
        },
    );
    let text = m.transcript();
    assert!(
        text.lines().any(|l| l.starts_with("nowait-ran")),
        "the --no-wait run after the refused line:\n{text}"
    );
    let script = "begin\necho two )\nend";
    m.row(
        "refused, several lines",
        script,
        Expect {
            completed: true,
            exit_code: done(123),
            lines: &[],
        },
    );
    m.row(
        "after the refused lines",
        "sh -c 'exit 5'",
        Expect {
            completed: true,
            exit_code: done(5),
            lines: &["sh -c 'exit 5'"],
        },
    );
    // Text typed into the editor otherwise is someone's: it stays, and the
    // run goes after it, as in every other shell.
    m.sandbox
        .run_in(&m.home, &["type", &m.id, "echo typed-by-user "])
        .expect_code(0);
    let result = m.run("echo world", &["--output"]);
    assert_eq!(result["exitCode"], done(0), "{result}");
    assert_eq!(result["output"], "typed-by-user echo world\n", "{result}");
    m.destroy();
}

/// A run left at a continuation prompt (an unclosed quote) times out, and so
/// does one typed into it; Ctrl+C then cancels both, with the terminal's
/// typed-ahead input. Later runs, even of the same command, complete with
/// their own status, never with a cancelled run's line or prompt.
#[rstest]
#[case::bash("bash")]
#[case::zsh("zsh")]
#[case::fish("fish")]
#[case::dash("dash")]
fn runs_after_a_cancelled_continuation_report_their_own_status(#[case] shell: &'static str) {
    let Some(m) = Matrix::of(shell) else {
        return;
    };
    let timed_out = |r: &Value| {
        assert_eq!(
            (&r["completed"], &r["timedOut"]),
            (&Value::Bool(false), &Value::Bool(true)),
            "{shell}: {r}"
        )
    };
    let open = m.run("echo \"unclosed", &["--timeout", "500"]);
    timed_out(&open);
    let thrown_away = m.run("sh -c 'exit 3'", &["--timeout", "500"]);
    timed_out(&thrown_away);
    m.sandbox
        .run_in(&m.home, &["send-keys", &m.id, "Ctrl+C"])
        .expect_code(0);
    // The prompt Ctrl+C brings ends the line the shell was reading. (Keys
    // typed before the shell has handled the interrupt may be thrown away
    // with the line, as a person's would.)
    let complete = format!(
        "\"type\":\"run_complete\",\"payload\":{{\"marker\":{}",
        open["marker"]
    );
    eventually(PATIENCE, || {
        std::fs::read_to_string(m.dir().join("events.jsonl"))
            .unwrap()
            .contains(&complete)
            .then_some(())
    })
    .unwrap_or_else(|| panic!("{shell}: the cancelled run did not end"));
    for (row, code) in [
        ("after the cancel", 3),
        ("another", 4),
        ("the first again", 3),
    ] {
        let command = format!("sh -c 'exit {code}'");
        m.row(
            row,
            &command,
            Expect {
                completed: true,
                exit_code: done(code),
                lines: &[],
            },
        );
    }
    // A program that waits with all input read (a REPL) completes runs
    // waiting in it; never the one the interrupt threw away, which did not run.
    if installed("python3") {
        let repl = m.run("python3 -q", &[]);
        assert_eq!(repl["completed"], true, "{shell}: {repl}");
        let quit = m.run("exit()", &[]);
        assert_eq!(quit["completed"], true, "{shell}: {quit}");
    }
    let never = format!(
        "\"type\":\"run_complete\",\"payload\":{{\"marker\":{}",
        thrown_away["marker"]
    );
    let log = std::fs::read_to_string(m.dir().join("events.jsonl")).unwrap();
    assert!(
        !log.contains(&never),
        "{shell}: the thrown-away run completed"
    );
    m.destroy();
}

/// A run typed ahead while the REPL a previous run started is still starting
/// (so before its prompt, and maybe before the shell has even read the line
/// that starts it) goes to the REPL, and completes when the REPL waits for
/// input again, without a status.
#[rstest]
#[case::bash("bash")]
#[case::zsh("zsh")]
#[case::fish("fish")]
#[case::dash("dash")]
fn a_run_typed_ahead_into_a_starting_repl_completes(#[case] shell: &'static str) {
    if !installed(shell) || !installed("python3") {
        return;
    }
    let m = Matrix::new(shell, &[shell]);
    let typed = m.run("python3 -q", &["--no-wait"]);
    assert_eq!(typed["accepted"], true, "{shell}: {typed}");
    m.row(
        "typed ahead into python3",
        "print(6*7)",
        Expect {
            completed: true,
            exit_code: Value::Null,
            lines: &["42", ">>>"],
        },
    );
    m.row(
        "in python3",
        "print(7*7)",
        Expect {
            completed: true,
            exit_code: Value::Null,
            lines: &[">>> print(7*7)", "49", ">>>"],
        },
    );
    let quit = m.run("exit()", &[]);
    assert_eq!(quit["completed"], true, "{shell}: {quit}");
    m.row(
        "after python3",
        "sh -c 'exit 3'",
        Expect {
            completed: true,
            exit_code: done(3),
            lines: &[],
        },
    );
    m.destroy();
}

/// `run ID --file PATH` with no command: the file's command is typed.
#[test]
fn run_takes_its_command_from_a_file() {
    let m = Matrix::new("bash", &["bash", "--norc", "--noprofile"]);
    let file = m.sandbox.root().join("cmd.txt");
    std::fs::write(&file, "echo from-$((6*7))\n").unwrap();
    let ran = m
        .sandbox
        .run_in(
            &m.home,
            &[
                "run",
                &m.id,
                "--file",
                file.to_str().unwrap(),
                "--timeout",
                "15000",
            ],
        )
        .expect_code(0)
        .result();
    assert_eq!(ran["completed"], true, "{ran}");
    assert_eq!(ran["exitCode"], 0, "{ran}");
    assert_shows(
        &m.transcript(),
        &["echo from-$((6*7))", "from-42"],
        "--file",
    );
    // Both, or neither: 0.5's errors.
    let both = m.sandbox.run_in(
        &m.home,
        &["run", &m.id, "true", "--file", file.to_str().unwrap()],
    );
    both.expect_code(2);
    assert!(
        both.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mutually exclusive"),
        "{}",
        both.json()
    );
    let neither = m.sandbox.run_in(&m.home, &["run", &m.id]);
    neither.expect_code(2);
    assert!(
        neither.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Missing input text"),
        "{}",
        neither.json()
    );
    m.destroy();
}

/// `inspect` lists the runs typed and not finished; a timed-out run stays
/// there until its command finishes.
#[test]
fn inspect_shows_pending_runs() {
    let m = Matrix::new("bash", &["bash", "--norc", "--noprofile"]);
    let slow = m.run("sleep 1.5", &["--timeout", "100"]);
    assert_eq!(slow["timedOut"], true, "{slow}");
    let inspect = |m: &Matrix| {
        m.sandbox
            .run_in(&m.home, &["inspect", &m.id])
            .expect_code(0)
            .result()["derived"]["pendingRuns"]
            .clone()
    };
    let pending = inspect(&m);
    assert_eq!(pending[0]["command"], "sleep 1.5", "{pending}");
    assert_eq!(pending[0]["marker"], slow["marker"], "{pending}");
    assert_eq!(pending[0]["seq"], slow["seq"], "{pending}");
    let human = m
        .sandbox
        .run(["--home", m.home.to_str().unwrap(), "inspect", &m.id]);
    assert!(human.stdout.contains("Pending Runs: 1"), "{}", human.stdout);
    // The next run completes after it, and both are done.
    let next = m.run("true", &[]);
    assert_eq!(next["completed"], true, "{next}");
    assert_eq!(inspect(&m), serde_json::json!([]));
    m.destroy();
}

/// A Session or a command ended by a signal says so: `wait --exit` gives
/// `exitSignal` (as the manifest has it) and says "killed", and `run` gives
/// the signal a shell reports as 128 + N. (The dashboard and the Home
/// picker word it `killed (SIGKILL)` through `text::status_wording`.)
#[test]
fn an_end_by_a_signal_never_reads_as_a_clean_exit() {
    let m = Matrix::new("bash", &["bash", "--norc", "--noprofile"]);
    let killed = m.run("sh -c 'kill -KILL $$'", &[]);
    assert_eq!(killed["exitCode"], 137, "{killed}");
    assert_eq!(killed["exitSignal"], "9", "{killed}");
    m.sandbox
        .run_in(&m.home, &["signal", &m.id, "KILL", "--shell"])
        .expect_code(0);
    let ended = m
        .sandbox
        .run_in(&m.home, &["wait", &m.id, "--exit", "--timeout", "10000"])
        .expect_code(0)
        .result();
    assert_eq!(ended["exitSignal"], "9", "{ended}");
    let human = m
        .sandbox
        .run(["--home", m.home.to_str().unwrap(), "wait", &m.id, "--exit"]);
    assert_eq!(human.stdout.trim(), "Process was killed by SIGKILL.");
}

/// A run typed while a command is busy is read by the shell only after its
/// prompt hooks, however slow (zsh's `vcs_info`, bash's `PROMPT_COMMAND`):
/// the shell back at its prompt but still in a hook (quiet, in the
/// foreground, not reading) has not read the line yet, so the run waits for
/// its own marks and their exit status.
#[rstest]
#[case::bash("bash", "PROMPT_COMMAND+='; : $(sleep 0.7)'")]
#[case::zsh(
    "zsh",
    "__slow() { : $(sleep 0.7) }; autoload -Uz add-zsh-hook; add-zsh-hook precmd __slow"
)]
fn a_line_typed_ahead_waits_for_slow_prompt_hooks(
    #[case] shell: &'static str,
    #[case] slow_hook: &str,
) {
    let Some(m) = Matrix::of(shell) else {
        return;
    };
    let hooked = m.run(slow_hook, &[]);
    assert_eq!(hooked["completed"], true, "{shell}: {hooked}");
    // The run completed at its end mark, before the (now slow) hook: wait
    // for the line editor to be back (it turns bracketed paste on), so the
    // busy command below is read at a prompt.
    let log = m.dir().join("events.jsonl");
    let marker = hooked["marker"].as_str().unwrap().to_owned();
    eventually(PATIENCE, || {
        let text = std::fs::read_to_string(&log).unwrap();
        let done = text.find(&format!(
            "\"type\":\"run_complete\",\"payload\":{{\"marker\":\"{marker}\""
        ))?;
        text[done..].contains("[?2004h").then_some(())
    })
    .expect("the prompt is back after the hook");
    let typed = m.run("sleep 1", &["--no-wait"]);
    assert_eq!(typed["accepted"], true, "{shell}: {typed}");
    m.row(
        "typed ahead of a slow prompt hook",
        "echo ahead-of-hook; false",
        Expect {
            completed: true,
            exit_code: done(1),
            lines: &["ahead-of-hook"],
        },
    );
}

/// A line longer than a terminal with line editing on keeps (dash reads
/// whole lines) is refused, not cut silently; a line editor takes it.
#[test]
fn a_line_the_terminal_would_cut_is_refused() {
    if !installed("dash") {
        return;
    }
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let long = format!("echo {} | wc -c", "x".repeat(5000));
    let (dash, dir) = create_session(&sandbox, &home, &["--", "dash"]);
    let refused = sandbox.run_in(&home, &["run", &dash, &long]);
    refused.expect_code(2);
    assert_eq!(
        refused.json()["error"]["code"],
        "INVALID_INPUT",
        "{refused:?}"
    );
    assert!(
        !std::fs::read_to_string(dir.join("events.jsonl"))
            .unwrap()
            .contains("input_run"),
        "a refused run was logged"
    );
    let (bash, _) = create_session(&sandbox, &home, &["--", "bash"]);
    let taken = sandbox
        .run_in(&home, &["run", &bash, &long, "--output"])
        .expect_code(0)
        .result();
    assert_eq!(taken["output"], "5001\n", "{taken:#}");
}
