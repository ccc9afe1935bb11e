//! Shell completion, tried the way a person uses it: the script
//! `agent-tty completions SHELL` prints is loaded into a real bash, zsh and
//! fish on a PTY, and TAB is pressed. Each shell must complete a
//! subcommand, a flag, a declared value, a global option's value and a
//! Session id, and must not offer the hidden `_host` command.

use agent_tty_e2e::pty::PtyChild;
use agent_tty_e2e::{bin_dir, create_session, required_under_ci, Sandbox};
use rstest::rstest;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// Starts `shell` on a PTY with the script loaded, its prompt `$ `, and the
/// sandbox's environment with the built `agent-tty` first on `PATH`.
fn shell_with_completions(sandbox: &Sandbox, shell: &str) -> PtyChild {
    let script = sandbox.run(["completions", shell]);
    script.expect_code(0);
    let dir = sandbox.root().join("completions");
    std::fs::create_dir_all(&dir).unwrap();
    // zsh loads it the way install.sh installs it: `_agent-tty` on $fpath.
    let file = dir.join(if shell == "zsh" {
        "_agent-tty"
    } else {
        "agent-tty.sh"
    });
    std::fs::write(&file, &script.stdout).unwrap();
    let (program, args, setup): (&str, &[&str], String) = match shell {
        "bash" => (
            "bash",
            &["--norc", "--noprofile", "-i"],
            format!("PS1='$ '; source '{}'\n", file.display()),
        ),
        "zsh" => (
            "zsh",
            &["-f", "-i"],
            format!(
                "PROMPT='$ '; fpath=('{}' $fpath); autoload -Uz compinit; compinit -u -D\n",
                dir.display()
            ),
        ),
        _ => (
            "fish",
            &["--no-config", "-i"],
            format!(
                "function fish_prompt; echo -n '$ '; end; set -g fish_greeting; source '{}'\n",
                file.display()
            ),
        ),
    };
    let mut cmd = Command::new(program);
    sandbox.isolate(&mut cmd).args(args);
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin_dir()];
    dirs.extend(std::env::split_paths(&path));
    cmd.env("PATH", std::env::join_paths(dirs).unwrap());
    let mut child = PtyChild::spawn(cmd, 200, 50);
    child.send(setup.as_bytes());
    // The setup line ran once the prompt is back after a marker command.
    child.send(b"echo READY''READY\n");
    child.expect_text("READYREADY", WAIT);
    wait_for_empty_prompt(&child);
    child
}

/// Waits until the shell shows an empty prompt with the cursor after it:
/// keys typed before that are echoed by the terminal, not by the line
/// editor, and a later redraw can overwrite them.
fn wait_for_empty_prompt(shell: &PtyChild) {
    shell
        .wait_for(WAIT, |s| {
            let (_, col) = s.cursor_position();
            let contents = s.contents();
            let last = contents.lines().rev().find(|l| !l.trim().is_empty());
            col == 2 && last.is_some_and(|l| l.trim_end() == "$")
        })
        .unwrap_or_else(|| panic!("no empty prompt; the screen:\n{}", shell.screen()));
}

/// Types `keys` (TAB included), waits for the line to read `want`, then
/// clears the line (Ctrl+U) for the next try.
fn completes(shell: &mut PtyChild, keys: &str, want: &str) {
    shell.send(keys.as_bytes());
    shell.expect_text(&format!("$ {want}"), WAIT);
    shell.send(b"\x15");
    wait_for_empty_prompt(shell);
}

fn installed(shell: &str) -> bool {
    let found = Command::new(shell)
        .arg("-c")
        .arg("true")
        .status()
        .is_ok_and(|s| s.success());
    required_under_ci(shell, found, &format!("apt-get install {shell}"))
}

#[rstest]
fn tab_completes_commands_flags_values_and_session_ids(
    #[values("bash", "zsh", "fish")] shell: &str,
) {
    if !installed(shell) {
        return;
    }
    let sandbox = Sandbox::new();
    let (id, _) = create_session(&sandbox, &sandbox.default_home(), &["--", "sleep", "60"]);
    let mut sh = shell_with_completions(&sandbox, shell);

    // A subcommand, and one of a group.
    completes(&mut sh, "agent-tty reco\t", "agent-tty record ");
    completes(&mut sh, "agent-tty record ex\t", "agent-tty record export ");
    // A command's flag, then the values the command table declares for it.
    completes(
        &mut sh,
        "agent-tty record export --form\t",
        "agent-tty record export --format ",
    );
    completes(
        &mut sh,
        "agent-tty record export --format w\t",
        "agent-tty record export --format webm ",
    );
    // … also written `--option=value`.
    completes(
        &mut sh,
        "agent-tty record export --format=w\t",
        "agent-tty record export --format=webm ",
    );
    completes(
        &mut sh,
        "agent-tty snapshot --format t\t",
        "agent-tty snapshot --format text ",
    );
    // A global option's values, before and after the command.
    completes(
        &mut sh,
        "agent-tty --log-level wa\t",
        "agent-tty --log-level warn ",
    );
    completes(
        &mut sh,
        "agent-tty list --log-level de\t",
        "agent-tty list --log-level debug ",
    );
    // A Session id, from `agent-tty list --json` of the default Home, as a
    // positional and as an option's value.
    completes(
        &mut sh,
        "agent-tty inspect \t",
        &format!("agent-tty inspect {id} "),
    );
    completes(
        &mut sh,
        "agent-tty dashboard --session \t",
        &format!("agent-tty dashboard --session {id} "),
    );
    // A command line to run: a program first, then file names.
    completes(
        &mut sh,
        "agent-tty create -- whoam\t",
        "agent-tty create -- whoami ",
    );
    let notes = sandbox.root().join("notes-for-tab.txt");
    std::fs::write(&notes, "").unwrap();
    let typed = notes.display().to_string();
    completes(
        &mut sh,
        &format!("agent-tty create -- cat {}\t", &typed[..typed.len() - 8]),
        &format!("agent-tty create -- cat {typed} "),
    );
    // The hidden `_host` is never offered: TAB changes nothing, and the
    // characters typed after it land right after `_h`.
    completes(&mut sh, "agent-tty _hos\tZZ", "agent-tty _hosZZ");
}

/// A path passed to `--home` picks the Home whose Session ids complete.
#[rstest]
fn session_ids_come_from_the_home_the_line_names(#[values("bash", "zsh", "fish")] shell: &str) {
    if !installed(shell) {
        return;
    }
    let sandbox = Sandbox::new();
    let other: &Path = &sandbox.home("other");
    let (id, _) = create_session(&sandbox, other, &["--", "sleep", "60"]);
    let mut sh = shell_with_completions(&sandbox, shell);
    completes(
        &mut sh,
        &format!("agent-tty --home {} destroy \t", other.display()),
        &format!("agent-tty --home {} destroy {id} ", other.display()),
    );
    completes(
        &mut sh,
        &format!("agent-tty destroy --home={} \t", other.display()),
        &format!("agent-tty destroy --home={} {id} ", other.display()),
    );
}
