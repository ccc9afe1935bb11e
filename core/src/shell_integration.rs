//! Shell integration: how a Session's host learns that a command typed by
//! `run` has finished, and with what exit status, without typing anything
//! extra.
//!
//! When a Session's command is an interactive shell we know (bash, zsh,
//! fish, or a POSIX `sh`/`dash`/`ash`), the host installs small hooks as the
//! shell starts, in the manner of the OSC 133 "semantic prompt" marks that
//! terminals such as kitty, WezTerm, Ghostty and VS Code use:
//!
//! - `ESC ] 133 ; C BEL` just before a command line runs (bash `PS0`, zsh
//!   `preexec`, fish `fish_preexec`; a POSIX shell has no such hook);
//! - `ESC ] 133 ; D ; <exit status> BEL` when the shell is back at its
//!   prompt (bash `PROMPT_COMMAND`, zsh `precmd`, fish `fish_prompt`, the
//!   start of a POSIX shell's `PS1`).
//!
//! The hooks are installed through the shell's own start-up mechanisms, and
//! always load the user's own start-up files first:
//!
//! | shell | how |
//! |---|---|
//! | bash | `PROMPT_COMMAND` and `PS0` in the environment; unless the shell is a login shell or was given `--norc`/`--rcfile`, also `--rcfile <ours>`, which sources `~/.bashrc` and then re-adds the hooks in case it replaced them |
//! | zsh | `ZDOTDIR=<ours>`, whose `.zshenv` restores the user's `ZDOTDIR`, sources their `.zshenv` and adds `precmd`/`preexec` hooks |
//! | fish | `--init-command 'source <ours>'` with `fish_prompt`/`fish_preexec`/`fish_postexec` handlers |
//! | sh, dash, ash | `ENV=<ours>`, which sources the user's `$ENV` and puts the mark in front of `PS1` (these shells expand `$?` in `PS1`) |
//!
//! The marks are OSC sequences with a number no emulator draws, so they never
//! appear on a screen; `run` then types only the command itself. Other
//! programs (python, a shell started with `-c`, an unknown shell) get no
//! integration and `run` falls back to the typed marker of
//! [`run_marker`](crate::run_marker).
//!
//! [`RunTracker`] turns the marks into "this `run` has finished with status
//! N"; [`parse_mark`] reads them out of an OSC sequence.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long after the shell starts its first prompt may take to show that
/// the integration works. Until then `run` waits for it; after that, a
/// shell that never sent a mark (its start-up files removed the hooks, or
/// the shell is not what its name says) gets the typed marker at once.
pub const CONFIRMATION_GRACE: Duration = Duration::from_secs(3);

/// A shell agent-tty can integrate with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// GNU bash.
    Bash,
    /// zsh.
    Zsh,
    /// fish.
    Fish,
    /// A POSIX shell reading `$ENV`: sh, dash, ash (busybox).
    Posix,
}

impl Shell {
    /// The shell named by a command's first word (its basename; a login
    /// shell's leading `-` is ignored).
    pub fn from_program(program: &str) -> Option<Shell> {
        let name = Path::new(program).file_name()?.to_str()?;
        match name.trim_start_matches('-') {
            "bash" => Some(Shell::Bash),
            "zsh" => Some(Shell::Zsh),
            "fish" => Some(Shell::Fish),
            "sh" | "dash" | "ash" => Some(Shell::Posix),
            _ => None,
        }
    }

    /// Whether the shell marks the start of each command (`133;C`). A POSIX
    /// shell has no hook before a command runs, only its prompt.
    pub fn marks_command_start(self) -> bool {
        !matches!(self, Shell::Posix)
    }

    /// The name used in file names and messages.
    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Posix => "sh",
        }
    }
}

/// How to start a Session's command so that its shell reports commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The shell integrated with.
    pub shell: Shell,
    /// The command line to run instead of the Session's own.
    pub command: Vec<String>,
    /// Environment variables to add. The Session's own `--env` values are
    /// applied after these, so a user's explicit setting wins.
    pub env: Vec<(String, String)>,
}

/// The mark bash prints before a command runs, as a `PS0` value.
const BASH_PS0: &str = "\\e]133;C\\a";
/// The `PROMPT_COMMAND` piece that reports the last command's status. It
/// also stops exporting the two variables, so programs the shell starts
/// (including another bash) do not inherit them.
const BASH_PROMPT_COMMAND: &str =
    "__agent_tty_status=$?; export -n PROMPT_COMMAND PS0 2>/dev/null; \
     builtin printf '\\033]133;D;%s\\007' \"$__agent_tty_status\"";

const BASH_RC: &str = r#"# agent-tty shell integration for bash (loaded with --rcfile).
# Sources your ~/.bashrc as bash would, then makes sure the hooks that tell
# agent-tty when a command finished are still in place. They print only
# OSC 133 marks, which terminals do not draw.
if [ -f ~/.bashrc ]; then . ~/.bashrc; fi
case "$PROMPT_COMMAND" in
  *'133;D;'*) ;;
  *) PROMPT_COMMAND="__agent_tty_status=\$?; builtin printf '\\033]133;D;%s\\007' \"\$__agent_tty_status\"${PROMPT_COMMAND:+; $PROMPT_COMMAND}" ;;
esac
case "$PS0" in
  *'133;C'*) ;;
  *) PS0='\e]133;C\a'"$PS0" ;;
esac
export -n PROMPT_COMMAND PS0 2>/dev/null
"#;

const ZSH_ENV: &str = r#"# agent-tty shell integration for zsh (found through ZDOTDIR).
# Puts your ZDOTDIR back, sources your .zshenv, and adds hooks that tell
# agent-tty when a command starts and finishes. They print only OSC 133
# marks, which terminals do not draw.
if [[ -n "${AGENT_TTY_USER_ZDOTDIR-}" ]]; then
  ZDOTDIR="$AGENT_TTY_USER_ZDOTDIR"
else
  unset ZDOTDIR
fi
unset AGENT_TTY_USER_ZDOTDIR
if [[ -f "${ZDOTDIR:-$HOME}/.zshenv" ]]; then
  builtin source "${ZDOTDIR:-$HOME}/.zshenv"
fi
if [[ -o interactive ]]; then
  __agent_tty_precmd() { builtin printf '\033]133;D;%s\007' "$?"; }
  __agent_tty_preexec() { builtin printf '\033]133;C\007'; }
  autoload -Uz add-zsh-hook
  add-zsh-hook precmd __agent_tty_precmd
  add-zsh-hook preexec __agent_tty_preexec
fi
"#;

const FISH_INIT: &str = r#"# agent-tty shell integration for fish (loaded with --init-command).
# Tells agent-tty when a command starts and finishes, with OSC 133 marks,
# which terminals do not draw.
function __agent_tty_preexec --on-event fish_preexec
    builtin printf '\e]133;C\a'
end
function __agent_tty_postexec --on-event fish_postexec
    set -g __agent_tty_status $status
end
function __agent_tty_prompt --on-event fish_prompt
    if set -q __agent_tty_status
        builtin printf '\e]133;D;%s\a' $__agent_tty_status
        set -e __agent_tty_status
    else
        builtin printf '\e]133;D\a'
    end
end
"#;

const POSIX_ENV: &str = r#"# agent-tty shell integration for sh/dash/ash (found through ENV).
# Sources your own $ENV, then puts a mark in front of PS1 that tells
# agent-tty the last command's exit status. It is an OSC 133 mark, which
# terminals do not draw.
if [ -n "${AGENT_TTY_USER_ENV-}" ]; then
  ENV="$AGENT_TTY_USER_ENV"
  unset AGENT_TTY_USER_ENV
  . "$ENV"
else
  unset ENV
fi
if [ -n "${BASH_VERSION-}" ]; then
  # bash as sh edits lines with readline, which must be told that the mark
  # takes no room on the screen.
  PS1="\[$(printf '\033]133;D;')\$?$(printf '\007')\]${PS1-\$ }"
else
  PS1="$(printf '\033]133;D;')\$?$(printf '\007')${PS1-\$ }"
fi
"#;

/// How a Session's command should be started to report its commands, or
/// `None` when it is not an interactive shell we know (then `run` uses the
/// typed marker). The scripts are written under `dir` (created 0700 if
/// needed); `env` is the environment the command would otherwise get, for
/// the user's own `ZDOTDIR`/`ENV`/`PS0`/`PROMPT_COMMAND`.
pub fn launch(
    command: &[String],
    env: &dyn Fn(&str) -> Option<String>,
    dir: &Path,
) -> std::io::Result<Option<Launch>> {
    let Some((program, args)) = command.split_first() else {
        return Ok(None);
    };
    let Some(shell) = Shell::from_program(program) else {
        return Ok(None);
    };
    let Some(options) = interactive_options(shell, args) else {
        return Ok(None);
    };
    crate::fsutil::create_dir_all_private(dir)?;
    let mut launch = Launch {
        shell,
        command: command.to_vec(),
        env: Vec::new(),
    };
    match shell {
        Shell::Bash => {
            let prompt_command = match env("PROMPT_COMMAND").filter(|p| !p.is_empty()) {
                Some(user) => format!("{BASH_PROMPT_COMMAND}; {user}"),
                None => BASH_PROMPT_COMMAND.to_owned(),
            };
            let ps0 = format!("{BASH_PS0}{}", env("PS0").unwrap_or_default());
            launch.env.push(("PROMPT_COMMAND".into(), prompt_command));
            launch.env.push(("PS0".into(), ps0));
            if !options.login && !options.no_rc && !options.posix {
                let rc = write_script(dir, "bash.rc", BASH_RC)?;
                launch.command.splice(
                    1..1,
                    ["--rcfile".to_owned(), rc.to_string_lossy().into_owned()],
                );
            }
        }
        Shell::Zsh => {
            let zdotdir = dir.join("zsh");
            crate::fsutil::create_dir_all_private(&zdotdir)?;
            write_script(&zdotdir, ".zshenv", ZSH_ENV)?;
            if let Some(user) = env("ZDOTDIR") {
                launch.env.push(("AGENT_TTY_USER_ZDOTDIR".into(), user));
            }
            launch
                .env
                .push(("ZDOTDIR".into(), zdotdir.to_string_lossy().into_owned()));
        }
        Shell::Fish => {
            let init = write_script(dir, "fish.fish", FISH_INIT)?;
            launch.command.splice(
                1..1,
                [
                    "--init-command".to_owned(),
                    format!("source {}", fish_quote(&init.to_string_lossy())),
                ],
            );
        }
        Shell::Posix => {
            let rc = write_script(dir, "posix.rc", POSIX_ENV)?;
            if let Some(user) = env("ENV").filter(|e| !e.is_empty()) {
                launch.env.push(("AGENT_TTY_USER_ENV".into(), user));
            }
            launch
                .env
                .push(("ENV".into(), rc.to_string_lossy().into_owned()));
        }
    }
    Ok(Some(launch))
}

/// What the shell's arguments say about how it starts.
#[derive(Debug, Default)]
struct Options {
    login: bool,
    no_rc: bool,
    posix: bool,
}

/// The options of a shell that will read commands from its terminal, or
/// `None` when it runs a `-c` string or a script instead.
fn interactive_options(shell: Shell, args: &[String]) -> Option<Options> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--" => return args.next().is_none().then_some(options),
            "--login" | "-l" => options.login = true,
            "--norc" | "--noprofile" if shell == Shell::Bash => {
                options.no_rc |= arg == "--norc";
            }
            "--rcfile" | "--init-file" if shell == Shell::Bash => {
                options.no_rc = true;
                args.next()?;
            }
            "--posix" => options.posix = true,
            "--command" | "-c" => return None,
            "--init-command" | "-C" if shell == Shell::Fish => {
                args.next()?;
            }
            "-o" | "+o" | "-O" | "+O" => {
                args.next()?;
            }
            long if long.starts_with("--") => {}
            short if short.starts_with('-') || short.starts_with('+') => {
                // A cluster such as `-il`; a `c` in it means a command string.
                if short[1..].contains('c') {
                    return None;
                }
                options.login |= short.starts_with('-') && short[1..].contains('l');
            }
            // A script to run.
            _ => return None,
        }
    }
    Some(options)
}

/// Writes a script atomically (a reader never sees half of it; mode 0666
/// less the umask, as a plain write gives) unless it already holds `text`,
/// and returns its path.
fn write_script(dir: &Path, name: &str, text: &str) -> std::io::Result<PathBuf> {
    let path = dir.join(name);
    if std::fs::read_to_string(&path).is_ok_and(|t| t == text) {
        return Ok(path);
    }
    crate::fsutil::write_atomic_unsynced(&path, text.as_bytes(), 0o666)?;
    Ok(path)
}

fn fish_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A shell integration mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// `133;C`: a command line starts running.
    CommandStart,
    /// `133;D[;status]`: the shell is back at its prompt; the status of the
    /// last command, when the shell said.
    CommandFinished(Option<i32>),
}

/// The mark carried by an OSC sequence's `;`-separated parameters, if any.
pub fn parse_mark(params: &[&[u8]]) -> Option<Mark> {
    match params {
        [b"133", b"C", ..] => Some(Mark::CommandStart),
        [b"133", b"D", rest @ ..] => Some(Mark::CommandFinished(
            rest.first()
                .and_then(|s| std::str::from_utf8(s).ok())
                .and_then(|s| s.trim().parse().ok()),
        )),
        _ => None,
    }
}

/// A `run` that has finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The run's marker.
    pub marker: String,
    /// The `seq` of its `input_run` event.
    pub input_run_seq: u64,
    /// Its exit status, when the shell reported one.
    pub exit_code: Option<i32>,
}

#[derive(Debug)]
struct Pending {
    marker: String,
    seq: u64,
    /// Prompts still to come that belong to earlier command lines.
    prompts_to_skip: u32,
    /// A `133;C` arrived for it.
    started: bool,
}

/// Follows a shell's marks and tells which `run` each one finishes.
///
/// The rule: a `run` finishes at the first prompt (`133;D`) after the shell
/// started running it (`133;C`). If the shell was already at its prompt when
/// the line was typed, the next prompt finishes it even without a `C` (a
/// blank or comment-only line runs nothing; a POSIX shell never sends `C`).
/// If the shell was busy, the prompt that ends the busy command is skipped
/// first.
#[derive(Debug)]
pub struct RunTracker {
    shell: Shell,
    /// Some mark has been seen: the integration works in this Session.
    confirmed: bool,
    /// When the shell was started.
    started: Instant,
    /// The last thing that happened was a prompt, with no line typed since.
    at_prompt: bool,
    pending: VecDeque<Pending>,
}

impl RunTracker {
    /// A tracker for a shell started through [`launch`].
    pub fn new(shell: Shell) -> Self {
        RunTracker {
            shell,
            confirmed: false,
            started: Instant::now(),
            at_prompt: false,
            pending: VecDeque::new(),
        }
    }

    /// Whether a mark has been seen, so the integration is known to work
    /// (the user's start-up files could have removed the hooks).
    pub fn confirmed(&self) -> bool {
        self.confirmed
    }

    /// Whether a mark may still come: not confirmed yet, but the shell
    /// started less than [`CONFIRMATION_GRACE`] ago.
    pub fn awaiting_confirmation(&self) -> bool {
        !self.confirmed && self.started.elapsed() < CONFIRMATION_GRACE
    }

    /// A `run` line was typed (call before writing it).
    pub fn run_typed(&mut self, marker: String, seq: u64) {
        let prompts_to_skip = u32::from(!self.at_prompt || !self.pending.is_empty());
        self.pending.push_back(Pending {
            marker,
            seq,
            prompts_to_skip,
            started: false,
        });
        self.at_prompt = false;
    }

    /// Other input that ends a line (Enter) was typed: the shell is no
    /// longer idle at its prompt.
    pub fn line_typed(&mut self) {
        self.at_prompt = false;
    }

    /// A mark arrived; returns the `run` it finished, if any.
    pub fn mark(&mut self, mark: Mark) -> Option<Finished> {
        self.confirmed = true;
        match mark {
            Mark::CommandStart => {
                self.at_prompt = false;
                if let Some(run) = self.pending.front_mut() {
                    if run.prompts_to_skip == 0 {
                        run.started = true;
                    }
                }
                None
            }
            Mark::CommandFinished(exit_code) => {
                self.at_prompt = true;
                let run = self.pending.front_mut()?;
                if !run.started && run.prompts_to_skip > 0 {
                    run.prompts_to_skip -= 1;
                    return None;
                }
                let run = self.pending.pop_front()?;
                Some(Finished {
                    marker: run.marker,
                    input_run_seq: run.seq,
                    exit_code,
                })
            }
        }
    }

    /// The shell integrated with.
    pub fn shell(&self) -> Shell {
        self.shell
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[rstest]
    #[case(&["bash"], Some(Shell::Bash))]
    #[case(&["/usr/bin/bash", "--norc", "--noprofile"], Some(Shell::Bash))]
    #[case(&["-bash"], Some(Shell::Bash))]
    #[case(&["bash", "-l"], Some(Shell::Bash))]
    #[case(&["bash", "-c", "echo"], None)]
    #[case(&["bash", "-lc", "echo"], None)]
    #[case(&["bash", "script.sh"], None)]
    #[case(&["bash", "-o", "vi"], Some(Shell::Bash))]
    #[case(&["zsh", "-i"], Some(Shell::Zsh))]
    #[case(&["fish"], Some(Shell::Fish))]
    #[case(&["fish", "--command", "ls"], None)]
    #[case(&["/bin/sh"], Some(Shell::Posix))]
    #[case(&["dash", "-i"], Some(Shell::Posix))]
    #[case(&["python3"], None)]
    #[case(&["tcsh"], None)]
    fn interactive_shells_are_integrated(#[case] command: &[&str], #[case] shell: Option<Shell>) {
        let dir = tempfile::tempdir().unwrap();
        let got = launch(&strings(command), &|_| None, dir.path()).unwrap();
        assert_eq!(got.map(|l| l.shell), shell);
    }

    #[test]
    fn bash_gets_an_rcfile_unless_it_would_not_read_one() {
        let dir = tempfile::tempdir().unwrap();
        let l = launch(&strings(&["bash"]), &|_| None, dir.path())
            .unwrap()
            .unwrap();
        assert_eq!(l.command[1], "--rcfile");
        assert!(std::fs::read_to_string(&l.command[2])
            .unwrap()
            .contains(". ~/.bashrc"));
        assert!(l.env.iter().any(|(k, _)| k == "PROMPT_COMMAND"));
        for no_rc in [
            &["bash", "--norc"][..],
            &["bash", "-l"],
            &["bash", "--rcfile", "x"],
        ] {
            let l = launch(&strings(no_rc), &|_| None, dir.path())
                .unwrap()
                .unwrap();
            assert_eq!(l.command, strings(no_rc), "{no_rc:?}");
        }
    }

    #[test]
    fn the_users_own_settings_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let env = |k: &str| match k {
            "PROMPT_COMMAND" => Some("history -a".to_owned()),
            "ZDOTDIR" => Some("/z".to_owned()),
            "ENV" => Some("/e".to_owned()),
            _ => None,
        };
        let get = |command: &[&str], key: &str| {
            let l = launch(&strings(command), &env, dir.path())
                .unwrap()
                .unwrap();
            l.env.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
        };
        assert!(get(&["bash"], "PROMPT_COMMAND")
            .unwrap()
            .ends_with("; history -a"));
        assert_eq!(get(&["zsh"], "AGENT_TTY_USER_ZDOTDIR").unwrap(), "/z");
        assert_eq!(get(&["sh"], "AGENT_TTY_USER_ENV").unwrap(), "/e");
    }

    #[rstest]
    #[case("133;C", Some(Mark::CommandStart))]
    #[case("133;D;7", Some(Mark::CommandFinished(Some(7))))]
    #[case("133;D", Some(Mark::CommandFinished(None)))]
    #[case("133;A", None)]
    #[case("0;title", None)]
    fn marks_are_parsed(#[case] osc: &str, #[case] mark: Option<Mark>) {
        let params: Vec<&[u8]> = osc.split(';').map(str::as_bytes).collect();
        assert_eq!(parse_mark(&params), mark);
    }

    fn finished(t: &mut RunTracker, mark: Mark) -> Option<(String, Option<i32>)> {
        t.mark(mark).map(|f| (f.marker, f.exit_code))
    }

    #[test]
    fn a_run_at_the_prompt_finishes_at_the_next_prompt_after_it_started() {
        let mut t = RunTracker::new(Shell::Bash);
        assert!(!t.confirmed());
        assert_eq!(finished(&mut t, Mark::CommandFinished(Some(0))), None);
        assert!(t.confirmed());
        t.run_typed("m1".into(), 4);
        assert_eq!(finished(&mut t, Mark::CommandStart), None);
        assert_eq!(
            finished(&mut t, Mark::CommandFinished(Some(7))),
            Some(("m1".into(), Some(7)))
        );
        // A comment-only line: no C, the prompt finishes it.
        t.run_typed("m2".into(), 6);
        assert_eq!(
            finished(&mut t, Mark::CommandFinished(Some(7))),
            Some(("m2".into(), Some(7)))
        );
    }

    #[test]
    fn a_run_typed_while_the_shell_is_busy_skips_the_busy_commands_prompt() {
        for shell in [Shell::Bash, Shell::Posix] {
            let mut t = RunTracker::new(shell);
            t.mark(Mark::CommandFinished(None));
            t.line_typed(); // `type 'sleep 5' + Enter`
            if shell.marks_command_start() {
                t.mark(Mark::CommandStart);
            }
            t.run_typed("m".into(), 9);
            assert_eq!(finished(&mut t, Mark::CommandFinished(Some(0))), None);
            if shell.marks_command_start() {
                t.mark(Mark::CommandStart);
            }
            assert_eq!(
                finished(&mut t, Mark::CommandFinished(Some(3))),
                Some(("m".into(), Some(3))),
                "{shell:?}"
            );
        }
    }

    #[test]
    fn a_busy_commands_start_does_not_count_as_the_runs() {
        let mut t = RunTracker::new(Shell::Bash);
        t.mark(Mark::CommandFinished(None));
        t.line_typed();
        t.run_typed("m".into(), 1);
        // The busy command started after the run was typed (it was typed
        // first, the shell just had not read it yet).
        t.mark(Mark::CommandStart);
        assert_eq!(finished(&mut t, Mark::CommandFinished(Some(1))), None);
        t.mark(Mark::CommandStart);
        assert_eq!(
            finished(&mut t, Mark::CommandFinished(Some(0))),
            Some(("m".into(), Some(0)))
        );
    }
}
