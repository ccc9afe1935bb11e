//! Shell integration: how a Session's host learns that a command typed by
//! `run` has finished, and with what exit status, without typing anything
//! but the command.
//!
//! When a Session's command is an interactive shell we know (bash, zsh,
//! fish, or a POSIX `sh`/`dash`/`ash`), the host installs small hooks as the
//! shell starts, in the manner of the OSC 133 "semantic prompt" marks that
//! terminals such as kitty, WezTerm, Ghostty and VS Code use:
//!
//! - `ESC ] 133 ; C ; k=<key> ; l=<line> BEL` just before a command line
//!   runs (bash `PS0`, zsh `preexec`, fish `fish_preexec`; a POSIX shell has
//!   no such hook). `<line>` is the start of the line the shell read (up to
//!   200 characters of its first line, every byte outside printable ASCII
//!   and every `;` made `?`), so the host knows *which* line runs;
//! - `ESC ] 133 ; D ; <exit status> ; k=<key> BEL` when the shell is back at
//!   its prompt (bash `PROMPT_COMMAND`, zsh `precmd`, the start of a POSIX
//!   shell's `PS1`; fish `fish_postexec`, before it marks an unfinished last
//!   line with `⏎`, or `fish_prompt` when no command ran).
//!
//! `<key>` is the Session's secret: 128 random bits the host generates, found
//! only in the hook files it writes (0600, in a 0700 directory of the
//! private runtime directory, one per Session). Marks without it are
//! ignored, so output that merely contains `ESC]133;D;0` (a file a command
//! prints) can never end a `run` or give it an exit status
//! (docs/SECURITY.md).
//!
//! The hooks are installed through the shell's own start-up mechanisms, and
//! always load the user's own start-up files first:
//!
//! | shell | how |
//! |---|---|
//! | bash | `--rcfile <ours>`, which sources `~/.bashrc` and then our hooks file; when bash reads no rc file (a login shell, `--norc`, `--rcfile`, `--posix`), `PROMPT_COMMAND` in the environment sources the hooks file at the first prompt. The hooks un-export `PROMPT_COMMAND` and `PS0`, so programs the shell starts do not inherit them |
//! | zsh | `ZDOTDIR=<ours>`, whose `.zshenv` restores the user's `ZDOTDIR`, sources their `.zshenv` and adds `precmd`/`preexec` hooks |
//! | fish | `--init-command 'source <ours>'` with `fish_prompt`/`fish_preexec`/`fish_postexec` handlers |
//! | sh, dash, ash | `ENV=<ours>`, which restores and sources the user's `$ENV` and puts the mark in front of `PS1` (these shells expand `$?` in `PS1`) |
//!
//! The marks are OSC sequences with a number no emulator draws, so they never
//! appear on a screen; the host also removes them from the output it logs.
//!
//! [`RunTracker`] turns the marks into "this `run` has finished with status
//! N"; [`parse_mark`] reads them out of an OSC sequence.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long after the shell starts its first prompt may take to show that
/// the integration works. Until then `run` waits for it; after that, a
/// shell that never sent a mark (its start-up files removed the hooks, or
/// the shell is not what its name says) is treated as a shell without
/// integration.
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

/// Whether a program reads command lines the way a shell does, and so runs
/// the completion line `run` types after a command when it is in the
/// foreground instead of the Session's integrated shell: shells, and
/// programs that start one here (`nix-shell`, `script`, `tmux`…). Matched
/// against the foreground process's name (`/proc/<pid>/comm`, a login
/// shell's `-` removed).
///
/// A program that takes the terminal to a shell somewhere else (`ssh`,
/// `docker`…) is one only while it relays keys, with line editing off:
/// `reads_keys` says whether it is (the PTY's `ICANON` is clear). In
/// canonical mode it is asking something itself (a password, a host key),
/// and a completion line would be typed as the answer. `su`, `sudo`,
/// `doas` and `runuser` are never one: they are in the foreground only
/// while they ask for a password, and the shell they start is its own
/// foreground program.
pub fn reads_shell_commands(program: &str, reads_keys: bool) -> bool {
    let program = program.trim_start_matches('-');
    is_shell_or_local_way_to_one(program) || (reads_keys && relays_to_a_shell(program))
}

/// Whether a shell's command line (`argv`) has it run a script or a `-c`
/// string rather than read commands from its terminal: such a shell in the
/// foreground is a command that runs (a `#!/usr/bin/env bash` script, as
/// pyenv's `python3` is, shows as `bash` while it starts the program),
/// and a completion line typed then would be read by the program it starts.
/// `false` for a program that is not a shell we know.
pub fn runs_a_script(argv: &[String]) -> bool {
    let Some((program, args)) = argv.split_first() else {
        return false;
    };
    Shell::from_program(program).is_some_and(|shell| interactive_options(shell, args).is_none())
}

/// Whether a program starts a shell as another user (`su`, `sudo`, `doas`,
/// `runuser`): in the foreground itself only while it asks for a password.
pub fn switches_user(program: &str) -> bool {
    matches!(
        program.trim_start_matches('-'),
        "su" | "sudo" | "doas" | "runuser"
    )
}

/// Programs that relay the terminal to a shell elsewhere, and ask for
/// passwords or confirmations themselves on the way.
fn relays_to_a_shell(program: &str) -> bool {
    matches!(
        program,
        "ssh" | "mosh-client" | "docker" | "podman" | "kubectl"
    )
}

fn is_shell_or_local_way_to_one(program: &str) -> bool {
    matches!(
        program,
        "bash"
            | "zsh"
            | "fish"
            | "sh"
            | "dash"
            | "ash"
            | "ksh"
            | "ksh93"
            | "mksh"
            | "pdksh"
            | "oksh"
            | "loksh"
            | "yash"
            | "posh"
            | "busybox"
            | "tcsh"
            | "csh"
            | "nix-shell"
            | "nix"
            | "lxc"
            | "lxc-attach"
            | "machinectl"
            | "systemd-run"
            | "chroot"
            | "toolbox"
            | "distrobox"
            | "distrobox-enter"
            | "vagrant"
            | "script"
            | "tmux"
            | "screen"
    )
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
    /// The secret every mark of this Session carries.
    pub key: String,
}

/// Where the key goes in the hook scripts.
const KEY: &str = "@KEY@";

/// What bash runs first when it reads no rc file of ours: the hooks file,
/// at the first prompt (the comment tells the hooks it was this).
const BASH_BOOTSTRAP: &str = "# agent-tty bootstrap";

const BASH_RC: &str = r#"# agent-tty shell integration for bash (loaded with --rcfile).
# Sources your ~/.bashrc as bash would, then the hooks that tell agent-tty
# when a command starts and finishes.
if [ -f ~/.bashrc ]; then . ~/.bashrc; fi
. @HOOKS@
"#;

const BASH_HOOKS: &str = r#"# agent-tty shell integration for bash. The hooks print only OSC 133
# marks, which terminals do not draw.
__agent_tty_s=$?
__agent_tty_d() {
  local s=$?
  builtin printf '\033]133;D;%s;k=@KEY@\007' "$s"
  return $s
}
__agent_tty_c() {
  local LC_ALL=C l
  l=$(HISTTIMEFORMAT= builtin fc -ln -0 2>/dev/null)
  l=${l%%$'\n'*}
  # fc indents what it lists ("\t "): without this the line reads as
  # unknown, and an unknown line is taken for the earliest pending run.
  l=${l#"${l%%[![:blank:]]*}"}
  l=${l:0:200}
  builtin printf '\033]133;C;k=@KEY@;l=%s\007' "${l//[^ -:<-~]/?}"
}
case "${PROMPT_COMMAND-}" in
  *__agent_tty_d*) ;;
  *'# agent-tty bootstrap'*)
    PROMPT_COMMAND="__agent_tty_d${AGENT_TTY_USER_PROMPT_COMMAND:+; $AGENT_TTY_USER_PROMPT_COMMAND}"
    # Started by the bootstrap at the first prompt: that prompt's mark.
    (exit $__agent_tty_s); __agent_tty_d ;;
  *) PROMPT_COMMAND="__agent_tty_d${PROMPT_COMMAND:+; $PROMPT_COMMAND}" ;;
esac
case "${PS0-}" in
  *__agent_tty_c*) ;;
  *) PS0='$(__agent_tty_c)'"${PS0-}" ;;
esac
unset AGENT_TTY_USER_PROMPT_COMMAND __agent_tty_s
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
  __agent_tty_precmd() { builtin printf '\033]133;D;%s;k=@KEY@\007' "$?"; }
  __agent_tty_preexec() {
    local LC_ALL=C l=${1%%$'\n'*}
    l=${l[1,200]}
    builtin printf '\033]133;C;k=@KEY@;l=%s\007' "${l//[^ -:<-~]/?}"
  }
  autoload -Uz add-zsh-hook
  add-zsh-hook precmd __agent_tty_precmd
  add-zsh-hook preexec __agent_tty_preexec
fi
"#;

const FISH_INIT: &str = r#"# agent-tty shell integration for fish (loaded with --init-command).
# Tells agent-tty when a command starts and finishes, with OSC 133 marks,
# which terminals do not draw.
function __agent_tty_preexec --on-event fish_preexec
    set -l l (string split -m1 \n -- "$argv[1]")
    set l (string sub -l 200 -- "$l[1]")
    builtin printf '\e]133;C;k=@KEY@;l=%s\a' (string replace -ra '[^ -:<-~]' '?' -- "$l")
end
# The command's end is marked as soon as it ends, before fish marks an
# unfinished last line with its `⏎` and draws the prompt: what the command
# printed stops here. A prompt no command preceded (an empty line) is
# marked when it is drawn.
function __agent_tty_postexec --on-event fish_postexec
    builtin printf '\e]133;D;%s;k=@KEY@\a' $status
    set -g __agent_tty_ended
end
# A line fish refuses (a syntax error) runs nothing and brings no new
# prompt: it is marked as started and ended at once, with the status fish's
# own `eval` gives such a line, and then as kept in the editor (`133;R`,
# ours, with its number of lines), where the next run would be appended.
function __agent_tty_posterror --on-event fish_posterror
    set -l lines (string split \n -- "$argv[1]")
    set -l l (string sub -l 200 -- "$lines[1]")
    builtin printf '\e]133;C;k=@KEY@;l=%s\a\e]133;D;123;k=@KEY@\a\e]133;R;%d;k=@KEY@\a' (string replace -ra '[^ -:<-~]' '?' -- "$l") (count $lines)
end
# Ctrl+C clears the line being edited, without a new prompt: the line
# (a run left at a continuation prompt) ended, having run nothing.
function __agent_tty_cancel --on-event fish_cancel
    builtin printf '\e]133;D;;k=@KEY@\a'
end
function __agent_tty_prompt --on-event fish_prompt
    if set -q __agent_tty_ended
        set -e __agent_tty_ended
    else
        builtin printf '\e]133;D;;k=@KEY@\a'
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
  PS1="\[$(printf '\033]133;D;')\$?;k=@KEY@$(printf '\007')\]${PS1-\$ }"
  PS2="\[$(printf '\033]133;P;k=@KEY@\007')\]${PS2-> }"
else
  PS1="$(printf '\033]133;D;')\$?;k=@KEY@$(printf '\007')${PS1-\$ }"
  # Each line read at the continuation prompt is marked too, so a run of
  # several lines is known to end only after its last one.
  PS2="$(printf '\033]133;P;k=@KEY@\007')${PS2-> }"
fi
"#;

/// How a Session's command should be started to report its commands, or
/// `None` when it is not an interactive shell we know. The scripts, with
/// the Session's `key` in them, are written under `dir` (created 0700 if
/// needed; the files 0600): it must be the Session's own directory in the
/// private runtime directory. `env` is the environment the command would
/// otherwise get, for the user's own `ZDOTDIR`/`ENV`/`PROMPT_COMMAND`.
pub fn launch(
    command: &[String],
    env: &dyn Fn(&str) -> Option<String>,
    dir: &Path,
    key: &str,
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
    agent_tty_core::fsutil::create_dir_all_private(dir)?;
    let mut launch = Launch {
        shell,
        command: command.to_vec(),
        env: Vec::new(),
        key: key.to_owned(),
    };
    let script = |text: &str| text.replace(KEY, key);
    match shell {
        Shell::Bash => {
            let hooks = write_script(dir, "bash.hooks", &script(BASH_HOOKS))?;
            let hooks = sh_quote(&hooks.to_string_lossy());
            if !options.login && !options.no_rc && !options.posix {
                let rc = write_script(dir, "bash.rc", &BASH_RC.replace("@HOOKS@", &hooks))?;
                launch.command.splice(
                    1..1,
                    ["--rcfile".to_owned(), rc.to_string_lossy().into_owned()],
                );
            } else {
                if let Some(user) = env("PROMPT_COMMAND").filter(|p| !p.is_empty()) {
                    launch
                        .env
                        .push(("AGENT_TTY_USER_PROMPT_COMMAND".into(), user));
                }
                launch.env.push((
                    "PROMPT_COMMAND".into(),
                    format!(". {hooks} {BASH_BOOTSTRAP}"),
                ));
            }
        }
        Shell::Zsh => {
            let zdotdir = dir.join("zsh");
            agent_tty_core::fsutil::create_dir_all_private(&zdotdir)?;
            write_script(&zdotdir, ".zshenv", &script(ZSH_ENV))?;
            if let Some(user) = env("ZDOTDIR") {
                launch.env.push(("AGENT_TTY_USER_ZDOTDIR".into(), user));
            }
            launch
                .env
                .push(("ZDOTDIR".into(), zdotdir.to_string_lossy().into_owned()));
        }
        Shell::Fish => {
            let init = write_script(dir, "fish.fish", &script(FISH_INIT))?;
            launch.command.splice(
                1..1,
                [
                    "--init-command".to_owned(),
                    format!("source {}", fish_quote(&init.to_string_lossy())),
                ],
            );
        }
        Shell::Posix => {
            let rc = write_script(dir, "posix.rc", &script(POSIX_ENV))?;
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

/// Writes a script atomically (a reader never sees half of it), readable by
/// its owner only: it holds the Session's key. Returns its path.
fn write_script(dir: &Path, name: &str, text: &str) -> std::io::Result<PathBuf> {
    let path = dir.join(name);
    agent_tty_core::fsutil::write_atomic_unsynced(&path, text.as_bytes(), 0o600)?;
    Ok(path)
}

/// `s` quoted for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn fish_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// What a shell integration mark says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkKind {
    /// `133;C`: a command line starts running; the start of the line the
    /// shell read, when the hook said.
    CommandStart(Option<String>),
    /// `133;D[;status]`: the shell is back at its prompt; the status of the
    /// last command, when the shell said.
    CommandFinished(Option<i32>),
    /// `133;P` (ours): a POSIX shell's continuation prompt, the line it read
    /// did not end a command.
    Continuation,
    /// `133;R;<lines>` (ours): fish refused the line it read (a syntax
    /// error) and keeps its `<lines>` lines in its editor.
    Refused(usize),
}

/// A shell integration mark and the key it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// What it says.
    pub kind: MarkKind,
    /// Its `k=` parameter: the Session's key, if it is genuine.
    pub key: Option<String>,
}

/// The mark carried by an OSC sequence's `;`-separated parameters, if any.
pub fn parse_mark(params: &[&[u8]]) -> Option<Mark> {
    let text = |s: &[u8]| String::from_utf8_lossy(s).into_owned();
    let named =
        |rest: &[&[u8]], name: &[u8]| rest.iter().find_map(|p| p.strip_prefix(name)).map(&text);
    let (kind, rest) = match params {
        [b"133", b"C", rest @ ..] => (MarkKind::CommandStart(named(rest, b"l=")), rest),
        [b"133", b"D", rest @ ..] => {
            let status = rest
                .first()
                .filter(|s| !s.starts_with(b"k="))
                .and_then(|s| std::str::from_utf8(s).ok())
                .and_then(|s| s.trim().parse().ok());
            (MarkKind::CommandFinished(status), rest)
        }
        [b"133", b"P", rest @ ..] => (MarkKind::Continuation, rest),
        [b"133", b"R", lines, rest @ ..] => {
            let lines = std::str::from_utf8(lines).ok()?.trim().parse().ok()?;
            (MarkKind::Refused(lines), rest)
        }
        _ => return None,
    };
    Some(Mark {
        kind,
        key: named(rest, b"k="),
    })
}

/// Where a mark starts.
const MARK_START: &str = "\x1b]133;";

/// The longest mark held back waiting for its end: the hooks' are under 300
/// bytes; a longer unterminated `OSC 133` is not one of ours.
const MAX_MARK: usize = 1024;

/// [`strip_marks`] across reads: a mark cut by the end of one read is held
/// back until its end comes, so neither half reaches the Event Log with
/// the key in it.
#[derive(Debug, Default)]
pub struct MarkStripper {
    held: String,
}

impl MarkStripper {
    /// `data` without the genuine marks, and without an unfinished mark at
    /// its end (held for the next call).
    pub fn strip<'a>(&mut self, data: &'a str, key: &str) -> std::borrow::Cow<'a, str> {
        if self.held.is_empty() && unfinished_mark(data).is_none() {
            return strip_marks(data, key);
        }
        let mut text = std::mem::take(&mut self.held);
        text.push_str(data);
        if let Some(at) = unfinished_mark(&text) {
            self.held = text.split_off(at);
        }
        std::borrow::Cow::Owned(strip_marks(&text, key).into_owned())
    }

    /// Whether a piece is held back.
    pub fn holds(&self) -> bool {
        !self.held.is_empty()
    }

    /// What is held, when its end is not coming (no more output for a
    /// while, or the end of the stream): from the key on, it is dropped.
    pub fn flush(&mut self) -> String {
        let mut held = std::mem::take(&mut self.held);
        if let Some(at) = held.find(";k=") {
            held.truncate(at);
        }
        held
    }
}

/// Where the mark left unfinished at the end of `text` starts (or a piece
/// that may become the start of one), if there is one to hold back.
fn unfinished_mark(text: &str) -> Option<usize> {
    if let Some(at) = text.rfind(MARK_START) {
        let body = &text[at + 1..];
        let ended = match body.find(['\x07', '\x1b']) {
            Some(end) => body[end..].starts_with('\x07') || body.len() > end + 1,
            None => false,
        };
        if !ended {
            return (text.len() - at <= MAX_MARK).then_some(at);
        }
    }
    (1..MARK_START.len())
        .rev()
        .find(|&n| text.ends_with(&MARK_START[..n]))
        .map(|n| text.len() - n)
}

/// Removes the genuine marks (those carrying `key`) from output about to be
/// logged: they are plumbing, and the key must not reach the Event Log.
/// Output read in pieces goes through a [`MarkStripper`], which holds back
/// a mark cut in two.
pub fn strip_marks<'a>(data: &'a str, key: &str) -> std::borrow::Cow<'a, str> {
    if key.is_empty() || !data.contains("\x1b]133;") {
        return std::borrow::Cow::Borrowed(data);
    }
    let signature = format!("k={key}");
    let mut out = String::with_capacity(data.len());
    let mut rest = data;
    while let Some(at) = rest.find("\x1b]133;") {
        let body = &rest[at..];
        let Some(end) = body[1..].find(['\x07', '\x1b']).map(|e| e + 1) else {
            break;
        };
        let terminator = if body[end..].starts_with('\x07') {
            1
        } else {
            2
        };
        let sequence = &body[..end];
        out.push_str(&rest[..at]);
        if sequence.split(';').any(|p| p == signature) && body[end..].len() >= terminator {
            rest = &body[end + terminator..];
        } else {
            out.push_str(&body[..1]);
            rest = &body[1..];
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// How a command line is recognised in a `133;C` mark: the start of its
/// first line, without leading blanks, up to the first character a hook
/// replaces (anything outside printable ASCII, `;`, and `?` itself, which
/// is what the hooks replace with), at most 32 characters, trailing blanks
/// removed. Applied both to what `run` typed and to what the shell reports.
pub fn line_identity(line: &str) -> String {
    let first = line.trim_start().split('\n').next().unwrap_or("");
    let kept: String = first
        .chars()
        .take_while(|c| (' '..='~').contains(c) && !matches!(c, ';' | '?'))
        .take(32)
        .collect();
    kept.trim_end().to_owned()
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

/// A `run` the shell has not started yet.
#[derive(Debug, Clone)]
struct Pending {
    marker: String,
    seq: u64,
    /// [`line_identity`] of its command.
    identity: String,
    /// Its command has more than one line (bash's history joins them).
    multiline: bool,
    /// How many of its lines a POSIX shell has still to read: each one it
    /// reads ends at a prompt, a continuation prompt or the next command's,
    /// and only the prompt after the last line ends the run.
    lines_left: usize,
    /// The shell was idle at its prompt with nothing ahead of it when it was
    /// typed: the next prompt ends it even without a `133;C` (a blank or
    /// comment-only line runs nothing and so has no start mark).
    typed_idle: bool,
    /// Typed before an interrupt ([`RunTracker::interrupted`]): unless it
    /// is what runs, the shell will never read it.
    cancelled: bool,
}

/// A line the shell will read, in the order typed.
#[derive(Debug, Clone)]
enum Queued {
    Run(Pending),
    /// A line typed by someone else (`type`, `run --no-wait`), for a shell
    /// without start marks, whose prompts must be counted; `true` once
    /// typed before an interrupt.
    Other(bool),
}

impl Queued {
    fn cancelled(&self) -> bool {
        match self {
            Queued::Run(p) => p.cancelled,
            Queued::Other(cancelled) => *cancelled,
        }
    }
}

/// What the shell is running: between its `133;C` and its next prompt.
#[derive(Debug, Clone)]
enum Current {
    Run(Pending),
    Other,
}

/// Follows a shell's marks and tells which `run` each one finishes.
///
/// Runs are matched to the command line the shell actually read, not to a
/// position in a queue:
///
/// - A shell with start marks (bash, zsh, fish) says which line it starts
///   ([`line_identity`]); the earliest pending run with that line is the
///   one running, and the next prompt ends it. Pending runs typed before it
///   were read by something else (a program reading the terminal, a
///   heredoc) and will not be started by the shell; they are dropped here
///   (the host may still complete them another way). A line that matches no
///   run is someone else's, and its prompt ends nothing.
/// - A POSIX shell has no start mark: every line it reads at its prompt
///   ends in exactly one prompt, so runs and the other lines typed at an
///   idle prompt are counted in order, strictly. A run typed while the
///   shell is busy with a command nobody counted first waits for that
///   command's prompt.
///
/// A run that timed out stays pending and completes late when its own line
/// finishes; it never takes another run's completion.
#[derive(Debug)]
pub struct RunTracker {
    shell: Shell,
    key: String,
    /// Some mark has been seen: the integration works in this Session.
    confirmed: bool,
    /// When the shell was started.
    started: Instant,
    /// The last thing that happened was a prompt, with no line typed since.
    at_prompt: bool,
    queue: VecDeque<Queued>,
    current: Option<Current>,
    /// Lines fish keeps in its editor from a line it refused
    /// ([`MarkKind::Refused`]); 0 once a line starts or a prompt comes.
    refused_lines: usize,
    /// Runs typed before an interrupt that the shell will never start,
    /// dropped at the prompt after it, for [`RunTracker::take_dropped`].
    dropped: Vec<String>,
}

impl RunTracker {
    /// A tracker for a shell started through [`launch`] with `key`.
    pub fn new(shell: Shell, key: String) -> Self {
        RunTracker {
            shell,
            key,
            confirmed: false,
            started: Instant::now(),
            at_prompt: false,
            queue: VecDeque::new(),
            current: None,
            refused_lines: 0,
            dropped: Vec::new(),
        }
    }

    /// How many lines of a line fish refused its editor still holds: the
    /// next run must clear them first, or it is appended to them.
    pub fn refused_lines(&self) -> usize {
        self.refused_lines
    }

    /// The runs dropped since the last call: typed before an interrupt, they
    /// will never run, so nothing may complete them.
    pub fn take_dropped(&mut self) -> Vec<String> {
        std::mem::take(&mut self.dropped)
    }

    /// The Session's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether a genuine mark has been seen, so the integration is known to
    /// work (the user's start-up files could have removed the hooks).
    pub fn confirmed(&self) -> bool {
        self.confirmed
    }

    /// Whether a mark may still come: not confirmed yet, but the shell
    /// started less than [`CONFIRMATION_GRACE`] ago.
    pub fn awaiting_confirmation(&self) -> bool {
        !self.confirmed && self.started.elapsed() < CONFIRMATION_GRACE
    }

    /// Whether the shell sits at its prompt with nothing typed since.
    pub fn at_prompt(&self) -> bool {
        self.at_prompt && self.current.is_none()
    }

    /// A `run` line was typed (call before writing it). `foreground_busy`:
    /// the terminal's foreground is not the shell (a command runs).
    pub fn run_typed(&mut self, marker: String, seq: u64, command: &str, foreground_busy: bool) {
        let busy = foreground_busy || !self.at_prompt() || !self.queue.is_empty();
        if self.shell == Shell::Posix && busy && self.queue.is_empty() {
            // The busy command's own prompt comes first.
            self.queue.push_back(Queued::Other(false));
        }
        self.queue.push_back(Queued::Run(Pending {
            marker,
            seq,
            identity: line_identity(command),
            multiline: command.trim_end().contains('\n'),
            lines_left: command.trim_end_matches(['\n', '\r']).split('\n').count(),
            typed_idle: !busy,
            cancelled: false,
        }));
        self.at_prompt = false;
    }

    /// The run `marker`'s lines went as one bracketed paste: the shell
    /// reads them as one input, at one prompt.
    pub fn pasted(&mut self, marker: &str) {
        for q in &mut self.queue {
            if let Queued::Run(p) = q {
                if p.marker == marker {
                    p.lines_left = 1;
                }
            }
        }
    }

    /// Other input that ends a line (Enter) was typed. `to_shell`: the
    /// shell is in the foreground, so it reads the line.
    pub fn line_typed(&mut self, to_shell: bool) {
        if self.shell == Shell::Posix && to_shell && self.at_prompt() && self.queue.is_empty() {
            self.queue.push_back(Queued::Other(false));
        }
        self.at_prompt = false;
    }

    /// The terminal's interrupt (or quit, or suspend) character was typed
    /// with its signals on: the terminal throws away the input not read yet
    /// and the shell the line it edits, so no line typed before it that the
    /// shell has not started will run. Those are dropped at the next prompt
    /// (the one the interrupt brings; the first of them still ends there,
    /// as the line the shell was reading), and are never matched to a line
    /// the shell starts meanwhile.
    pub fn interrupted(&mut self) {
        for q in &mut self.queue {
            match q {
                Queued::Run(p) => p.cancelled = true,
                Queued::Other(cancelled) => *cancelled = true,
            }
        }
    }

    /// The run finished some other way (or is given up): forget it.
    pub fn forget(&mut self, marker: &str) {
        self.queue
            .retain(|q| !matches!(q, Queued::Run(p) if p.marker == marker));
        if matches!(&self.current, Some(Current::Run(p)) if p.marker == marker) {
            self.current = Some(Current::Other);
        }
    }

    /// Whether `marker` is a run the shell has started and not finished. A
    /// shell without start marks runs the first line counted once it has
    /// left its prompt.
    pub fn is_running(&self, marker: &str) -> bool {
        if !self.shell.marks_command_start() {
            return !self.at_prompt
                && matches!(self.queue.front(), Some(Queued::Run(p)) if p.marker == marker);
        }
        matches!(&self.current, Some(Current::Run(p)) if p.marker == marker)
    }

    /// A mark arrived; returns the `run` it finished, if any. Marks without
    /// the Session's key are ignored.
    pub fn mark(&mut self, mark: Mark) -> Option<Finished> {
        if mark.key.as_deref() != Some(self.key.as_str()) {
            return None;
        }
        self.confirmed = true;
        if !matches!(mark.kind, MarkKind::Refused(_)) {
            self.refused_lines = 0;
        }
        match mark.kind {
            MarkKind::Refused(lines) => {
                self.refused_lines = lines;
                None
            }
            MarkKind::CommandStart(line) => {
                self.at_prompt = false;
                // A start with no prompt since the last one is the next
                // command of the same input (bash marks each command of a
                // pasted script): what runs is still what ran.
                if self.current.is_none() {
                    self.current = Some(self.start(line.as_deref()));
                }
                None
            }
            MarkKind::Continuation => {
                self.at_prompt = false;
                if let Some(Queued::Run(run)) = self.queue.front_mut() {
                    run.lines_left = run.lines_left.saturating_sub(1);
                }
                None
            }
            MarkKind::CommandFinished(exit_code) => {
                let finished = self.prompt(exit_code);
                if self.at_prompt {
                    let dropped = &mut self.dropped;
                    self.queue.retain(|q| match q {
                        Queued::Run(p) if p.cancelled => {
                            dropped.push(p.marker.clone());
                            false
                        }
                        q => !q.cancelled(),
                    });
                }
                finished
            }
        }
    }

    /// The shell is back at a prompt (or a POSIX shell at the prompt for a
    /// run's next line): the run that finished, if any.
    fn prompt(&mut self, exit_code: Option<i32>) -> Option<Finished> {
        self.at_prompt = true;
        if self.shell == Shell::Posix && self.current.is_none() {
            // Not the prompt after the run's last line yet: one of
            // its lines ended a command, the next is being read.
            if let Some(Queued::Run(run)) = self.queue.front_mut() {
                if run.lines_left > 1 && !run.cancelled {
                    run.lines_left -= 1;
                    self.at_prompt = false;
                    return None;
                }
            }
        }
        let run = match self.current.take() {
            Some(Current::Run(run)) => run,
            Some(Current::Other) => return None,
            None => match self.queue.front() {
                Some(Queued::Run(run)) if run.typed_idle || self.shell == Shell::Posix => {
                    let Some(Queued::Run(run)) = self.queue.pop_front() else {
                        unreachable!("just looked")
                    };
                    run
                }
                Some(Queued::Other(_)) if self.shell == Shell::Posix => {
                    self.queue.pop_front();
                    return None;
                }
                _ => return None,
            },
        };
        Some(Finished {
            marker: run.marker,
            input_run_seq: run.seq,
            exit_code,
        })
    }

    /// The shell started running `line`: which pending run that is.
    fn start(&mut self, line: Option<&str>) -> Current {
        let identity = line.map(line_identity).filter(|i| !i.is_empty());
        let found = self.queue.iter().position(|q| match (q, &identity) {
            (Queued::Run(p), _) if p.cancelled => false,
            (Queued::Run(p), Some(said)) => {
                *said == p.identity || (p.multiline && said.starts_with(&p.identity))
            }
            // The shell did not say (bash with its history off): the
            // earliest run.
            (Queued::Run(_), None) => true,
            (Queued::Other(_), _) => false,
        });
        // A run typed at an idle prompt with nothing ahead of it is the
        // line the shell reads next, even when the shell reports another
        // (bash's history skips lines matching `HISTIGNORE`, or starting
        // with a space under `HISTCONTROL=ignorespace`).
        let found = found.or_else(|| {
            matches!(self.queue.front(), Some(Queued::Run(p)) if p.typed_idle && !p.cancelled)
                .then_some(0)
        });
        match found {
            Some(at) => {
                let Some(Queued::Run(run)) = self.queue.drain(..=at).next_back() else {
                    unreachable!("position found a run")
                };
                Current::Run(run)
            }
            None => Current::Other,
        }
    }

    /// Markers of the runs the shell has not finished, oldest first.
    #[cfg(test)]
    pub fn pending(&self) -> Vec<String> {
        let running = match &self.current {
            Some(Current::Run(p)) => Some(p.marker.clone()),
            _ => None,
        };
        running
            .into_iter()
            .chain(self.queue.iter().filter_map(|q| match q {
                Queued::Run(p) => Some(p.marker.clone()),
                Queued::Other(_) => None,
            }))
            .collect()
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

    /// bash's start mark names the line it read exactly as `run` typed it
    /// (regression: `fc -ln` indents its output, and an indented line was
    /// reported as unknown, so a `run --no-wait` line started the next run).
    #[test]
    fn bash_reports_the_line_it_read_without_fc_s_indent() {
        let hooks = BASH_HOOKS.replace("@KEY@", "k1");
        // `history -s` replaces its own line in the list; with history
        // off from then on, the list ends with the line as bash read it.
        let script = format!(
            "{hooks}\nset -o history\nhistory -s 'echo  hi; x'; set +o history\n__agent_tty_c\n"
        );
        let out = std::process::Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &script])
            .output()
            .expect("bash runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let said = text
            .split(";l=")
            .nth(1)
            .expect("a start mark with the line")
            .trim_end_matches('\x07');
        assert_eq!(line_identity(said), "echo  hi");
        assert_eq!(line_identity(said), line_identity("echo  hi; x"));
    }

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
        let got = launch(&strings(command), &|_| None, dir.path(), "K").unwrap();
        assert_eq!(got.map(|l| l.shell), shell);
    }

    #[test]
    fn bash_gets_an_rcfile_unless_it_would_not_read_one() {
        let dir = tempfile::tempdir().unwrap();
        let l = launch(&strings(&["bash"]), &|_| None, dir.path(), "K")
            .unwrap()
            .unwrap();
        assert_eq!(l.command[1], "--rcfile");
        assert!(std::fs::read_to_string(&l.command[2])
            .unwrap()
            .contains(". ~/.bashrc"));
        // The key is in files only the user can read, never in the
        // environment.
        assert!(l.env.iter().all(|(_, v)| !v.contains('K')), "{:?}", l.env);
        let hooks = dir.path().join("bash.hooks");
        assert!(std::fs::read_to_string(&hooks).unwrap().contains("k=K"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&hooks).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
        for no_rc in [
            &["bash", "--norc"][..],
            &["bash", "-l"],
            &["bash", "--rcfile", "x"],
        ] {
            let l = launch(&strings(no_rc), &|_| None, dir.path(), "K")
                .unwrap()
                .unwrap();
            assert_eq!(l.command, strings(no_rc), "{no_rc:?}");
            assert!(l
                .env
                .iter()
                .any(|(k, v)| k == "PROMPT_COMMAND" && v.contains("bash.hooks")));
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
            let l = launch(&strings(command), &env, dir.path(), "K")
                .unwrap()
                .unwrap();
            l.env.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
        };
        assert_eq!(
            get(&["bash", "--norc"], "AGENT_TTY_USER_PROMPT_COMMAND").unwrap(),
            "history -a"
        );
        assert_eq!(get(&["zsh"], "AGENT_TTY_USER_ZDOTDIR").unwrap(), "/z");
        assert_eq!(get(&["sh"], "AGENT_TTY_USER_ENV").unwrap(), "/e");
    }

    fn mark(osc: &str) -> Option<Mark> {
        let params: Vec<&[u8]> = osc.split(';').map(str::as_bytes).collect();
        parse_mark(&params)
    }

    #[rstest]
    #[case("133;C;k=K;l=ls -l", Some(MarkKind::CommandStart(Some("ls -l".into()))), Some("K"))]
    #[case("133;D;7;k=K", Some(MarkKind::CommandFinished(Some(7))), Some("K"))]
    #[case("133;D;;k=K", Some(MarkKind::CommandFinished(None)), Some("K"))]
    #[case("133;D;0", Some(MarkKind::CommandFinished(Some(0))), None)]
    #[case("133;R;2;k=K", Some(MarkKind::Refused(2)), Some("K"))]
    #[case("133;R;many;k=K", None, None)]
    #[case("133;A", None, None)]
    #[case("0;title", None, None)]
    fn marks_are_parsed(
        #[case] osc: &str,
        #[case] kind: Option<MarkKind>,
        #[case] key: Option<&str>,
    ) {
        let got = mark(osc);
        assert_eq!(got.as_ref().map(|m| m.kind.clone()), kind);
        assert_eq!(got.and_then(|m| m.key), key.map(str::to_owned));
    }

    #[test]
    fn a_mark_cut_anywhere_never_logs_its_key() {
        let text = "a\x1b]133;D;0;k=KEY\x07b\x1b]133;C;k=KEY;l=x\x1b\\c\x1b]133;D;0\x07d";
        let want = "abc\x1b]133;D;0\x07d";
        for i in 0..=text.len() {
            for j in i..=text.len() {
                let mut stripper = MarkStripper::default();
                let mut logged = String::new();
                for piece in [&text[..i], &text[i..j], &text[j..]] {
                    let out = stripper.strip(piece, "KEY");
                    assert!(!out.contains("KEY"), "cut at {i}, {j}: {out:?}");
                    logged.push_str(&out);
                }
                logged.push_str(&stripper.flush());
                assert_eq!(logged, want, "cut at {i}, {j}");
            }
        }
    }

    #[test]
    fn a_held_piece_is_flushed_without_its_key() {
        let mut stripper = MarkStripper::default();
        assert_eq!(stripper.strip("out\x1b]13", "KEY"), "out");
        assert!(stripper.holds());
        assert_eq!(stripper.flush(), "\x1b]13");
        assert_eq!(stripper.strip("x\x1b]133;D;0;k=KE", "KEY"), "x");
        assert_eq!(stripper.flush(), "\x1b]133;D;0");
        assert!(!stripper.holds());
        // Not one of ours: an unterminated OSC 133 beyond the bound.
        let long = format!("\x1b]133;{}", "y".repeat(MAX_MARK));
        assert_eq!(stripper.strip(&long, "KEY"), long);
    }

    #[rstest]
    #[case::a_shell("bash", false, true)]
    #[case::a_login_shell("-zsh", false, true)]
    #[case::a_shell_reading_keys("fish", true, true)]
    #[case::ssh_asking_a_question("ssh", false, false)]
    #[case::ssh_relaying("ssh", true, true)]
    #[case::docker_relaying("docker", true, true)]
    #[case::kubectl_asking("kubectl", false, false)]
    #[case::su_asking_a_password("su", false, false)]
    #[case::sudo_asking_a_password("sudo", false, false)]
    #[case::sudo_even_reading_keys("sudo", true, false)]
    #[case::doas("doas", false, false)]
    #[case::runuser("runuser", true, false)]
    #[case::a_repl("python3", true, false)]
    fn what_reads_shell_commands(
        #[case] program: &str,
        #[case] reads_keys: bool,
        #[case] reads: bool,
    ) {
        assert_eq!(reads_shell_commands(program, reads_keys), reads);
    }

    #[test]
    fn genuine_marks_are_removed_from_logged_output_and_forged_ones_kept() {
        let text = "a\x1b]133;D;0;k=KEY\x07b\x1b]133;D;0\x07c\x1b]133;C;k=KEY;l=x\x1b\\d";
        assert_eq!(strip_marks(text, "KEY"), "ab\x1b]133;D;0\x07cd");
        assert_eq!(strip_marks("plain", "KEY"), "plain");
    }

    #[rstest]
    #[case("  ls -l  ", "ls -l")]
    #[case("for i in 1 2; do\n echo $i\ndone", "for i in 1 2")]
    #[case("echo ?é", "echo")]
    #[case(&"x".repeat(50), &"x".repeat(32))]
    fn lines_are_identified_by_their_start(#[case] line: &str, #[case] identity: &str) {
        assert_eq!(line_identity(line), identity);
    }

    const K: &str = "K";

    fn start(line: &str) -> Mark {
        Mark {
            kind: MarkKind::CommandStart(Some(line.into())),
            key: Some(K.into()),
        }
    }

    fn end(status: i32) -> Mark {
        Mark {
            kind: MarkKind::CommandFinished(Some(status)),
            key: Some(K.into()),
        }
    }

    fn finished(t: &mut RunTracker, mark: Mark) -> Option<(String, Option<i32>)> {
        t.mark(mark).map(|f| (f.marker, f.exit_code))
    }

    fn done(marker: &str, status: i32) -> Option<(String, Option<i32>)> {
        Some((marker.into(), Some(status)))
    }

    fn ready(shell: Shell) -> RunTracker {
        let mut t = RunTracker::new(shell, K.into());
        assert!(!t.confirmed());
        assert_eq!(finished(&mut t, end(0)), None);
        assert!(t.confirmed());
        t
    }

    #[test]
    fn a_run_finishes_at_the_prompt_after_its_own_line_started() {
        let mut t = ready(Shell::Bash);
        t.run_typed("m1".into(), 4, "sh -c 'exit 7'", false);
        assert_eq!(finished(&mut t, start("sh -c 'exit 7'")), None);
        assert_eq!(finished(&mut t, end(7)), done("m1", 7));
        // A comment-only line: no C, the prompt finishes it.
        t.run_typed("m2".into(), 6, "# note", false);
        assert_eq!(finished(&mut t, end(0)), done("m2", 0));
    }

    /// bash marks the start of each command of a pasted script, and
    /// prompts once, after the last: the run is the whole script.
    #[test]
    fn every_command_of_a_pasted_script_belongs_to_its_run() {
        let mut t = ready(Shell::Bash);
        let script = "echo a\nsleep 1\nsh -c 'exit 4'";
        t.run_typed("m".into(), 3, script, false);
        for line in ["echo a", "sleep 1", "sh -c 'exit 4'"] {
            assert_eq!(finished(&mut t, start(line)), None);
            assert!(t.is_running("m"));
        }
        assert_eq!(finished(&mut t, end(4)), done("m", 4));
    }

    /// A POSIX shell reads a script a line at a time: each line ends at a
    /// prompt (the next command's, or a continuation prompt), and only the
    /// prompt after the last line ends the run.
    #[test]
    fn a_posix_shell_ends_a_script_at_the_prompt_after_its_last_line() {
        let mut t = ready(Shell::Posix);
        let cont = Mark {
            kind: MarkKind::Continuation,
            key: Some(K.into()),
        };
        t.run_typed(
            "m".into(),
            3,
            "echo a\nfor i in 1; do\necho $i\ndone\nexit_4",
            false,
        );
        assert_eq!(finished(&mut t, end(0)), None, "after `echo a`");
        assert_eq!(finished(&mut t, cont.clone()), None, "inside the loop");
        assert_eq!(finished(&mut t, cont), None, "inside the loop");
        assert_eq!(finished(&mut t, end(0)), None, "after the loop");
        assert_eq!(finished(&mut t, end(4)), done("m", 4));
        // A script that went as one paste is read at one prompt.
        t.run_typed("p".into(), 9, "echo a\necho b", false);
        t.pasted("p");
        assert_eq!(finished(&mut t, end(0)), done("p", 0));
    }

    #[rstest]
    #[case(&["bash"], false)]
    #[case(&["-bash"], false)]
    #[case(&["bash", "--norc", "-i"], false)]
    #[case(&["/usr/bin/bash", "/root/.pyenv/shims/python3", "-q"], true)]
    #[case(&["sh", "-c", "exec bash"], true)]
    #[case(&["python3", "script.py"], false)]
    fn a_shell_running_a_script_is_told_from_one_reading_commands(
        #[case] argv: &[&str],
        #[case] script: bool,
    ) {
        let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
        assert_eq!(runs_a_script(&argv), script, "{argv:?}");
    }

    #[test]
    fn marks_without_the_key_are_ignored() {
        let mut t = ready(Shell::Bash);
        t.run_typed("m".into(), 1, "cat forged", false);
        t.mark(start("cat forged"));
        let forged = |key: Option<&str>| Mark {
            kind: MarkKind::CommandFinished(Some(0)),
            key: key.map(str::to_owned),
        };
        assert_eq!(finished(&mut t, forged(None)), None);
        assert_eq!(finished(&mut t, forged(Some("guess"))), None);
        assert_eq!(finished(&mut t, end(7)), done("m", 7));
    }

    /// The fault of the first design: a run typed after one that timed out
    /// must complete at its own prompt, not one later (or never).
    #[rstest]
    #[case(Shell::Bash)]
    #[case(Shell::Posix)]
    fn a_timed_out_run_never_takes_a_later_runs_completion(#[case] shell: Shell) {
        let mut t = ready(shell);
        let c = |t: &mut RunTracker, line: &str| {
            if shell.marks_command_start() {
                t.mark(start(line));
            }
        };
        t.run_typed("slow".into(), 1, "sleep 3", false);
        c(&mut t, "sleep 3");
        // `slow` timed out; two more runs are typed while it still runs.
        t.run_typed("after".into(), 3, "echo after", true);
        t.run_typed("later".into(), 5, "false", true);
        assert_eq!(finished(&mut t, end(0)), done("slow", 0));
        c(&mut t, "echo after");
        assert_eq!(finished(&mut t, end(0)), done("after", 0));
        c(&mut t, "false");
        assert_eq!(finished(&mut t, end(1)), done("later", 1));
        assert!(t.pending().is_empty());
    }

    /// Runs left at a continuation prompt are thrown away by Ctrl+C: the
    /// prompt it brings ends the first (the line being read), the others
    /// are never matched, not even to a later run of the same command.
    #[rstest]
    #[case(Shell::Bash)]
    #[case(Shell::Posix)]
    fn runs_typed_before_an_interrupt_never_take_a_later_runs_completion(#[case] shell: Shell) {
        let mut t = ready(shell);
        let cont = Mark {
            kind: MarkKind::Continuation,
            key: Some(K.into()),
        };
        t.run_typed("open".into(), 1, "echo \"unclosed", false);
        t.mark(cont.clone());
        t.run_typed("into".into(), 3, "false", true);
        t.mark(cont);
        t.interrupted();
        // Typed before the interrupt's prompt came, but after the interrupt.
        t.run_typed("new".into(), 6, "false", true);
        assert!(t.take_dropped().is_empty());
        assert_eq!(finished(&mut t, end(130)), done("open", 130));
        // The one that never ran is handed back once, for the host to forget.
        assert_eq!(t.take_dropped(), ["into"]);
        assert!(t.take_dropped().is_empty());
        if shell.marks_command_start() {
            t.mark(start("false"));
        }
        assert_eq!(finished(&mut t, end(1)), done("new", 1));
        assert!(t.pending().is_empty());
    }

    /// fish says how many lines of a refused line it keeps; any other mark
    /// says its editor was emptied.
    #[test]
    fn fish_refused_lines_are_known_until_the_editor_is_emptied() {
        let mut t = ready(Shell::Fish);
        assert_eq!(t.refused_lines(), 0);
        t.run_typed("bad".into(), 1, "begin\necho )\nend", false);
        t.mark(start("begin"));
        assert_eq!(finished(&mut t, end(123)), done("bad", 123));
        t.mark(mark(&format!("133;R;3;k={K}")).unwrap());
        assert_eq!(t.refused_lines(), 3);
        t.mark(start("echo next"));
        assert_eq!(t.refused_lines(), 0);
        t.mark(mark(&format!("133;R;1;k={K}")).unwrap());
        // Ctrl+C (`fish_cancel`) empties the editor too.
        t.mark(end(0));
        assert_eq!(t.refused_lines(), 0);
        // A refusal mark without the Session's key changes nothing.
        t.mark(mark("133;R;2;k=forged").unwrap());
        assert_eq!(t.refused_lines(), 0);
    }

    #[rstest]
    #[case(Shell::Bash)]
    #[case(Shell::Posix)]
    fn a_run_typed_behind_someone_elses_command_waits_for_that_commands_prompt(
        #[case] shell: Shell,
    ) {
        let mut t = ready(shell);
        // `run --no-wait 'sleep 2'` or `type 'sleep 2\r'`.
        t.line_typed(true);
        if shell.marks_command_start() {
            t.mark(start("sleep 2"));
        }
        t.run_typed("m".into(), 9, "echo x", true);
        assert_eq!(finished(&mut t, end(0)), None);
        if shell.marks_command_start() {
            t.mark(start("echo x"));
        }
        assert_eq!(finished(&mut t, end(3)), done("m", 3));
    }

    #[test]
    fn a_run_whose_line_a_program_read_is_skipped_for_the_next_one() {
        let mut t = ready(Shell::Zsh);
        t.run_typed("swallowed".into(), 1, "print(6*7)", true);
        t.run_typed("next".into(), 2, "echo next", true);
        // The REPL read the first line and exited; the shell reads the next.
        t.mark(end(0));
        assert_eq!(t.pending(), ["swallowed", "next"]);
        t.mark(start("echo next"));
        assert_eq!(t.pending(), ["next"]);
        assert_eq!(finished(&mut t, end(0)), done("next", 0));
    }

    #[test]
    fn someone_elses_line_finishes_no_run() {
        let mut t = ready(Shell::Fish);
        // `type 'echo theirs\r'`, then a run typed while it is read.
        t.line_typed(true);
        t.run_typed("m".into(), 1, "echo mine", false);
        t.mark(start("echo theirs"));
        assert_eq!(finished(&mut t, end(0)), None);
        t.mark(start("echo mine"));
        assert_eq!(finished(&mut t, end(0)), done("m", 0));
    }

    #[test]
    fn a_run_at_an_idle_prompt_is_the_line_read_whatever_history_says() {
        let mut t = ready(Shell::Bash);
        t.run_typed("m".into(), 1, "ls", false);
        // HISTIGNORE=ls: bash's history still shows the line before.
        t.mark(start("echo earlier"));
        assert_eq!(finished(&mut t, end(0)), done("m", 0));
    }

    #[test]
    fn bash_joins_multi_line_commands_in_its_history() {
        let mut t = ready(Shell::Bash);
        t.run_typed("m".into(), 1, "for i in 1 2; do\n echo $i\ndone", false);
        t.mark(start("\t for i in 1 2? do  echo $i? done"));
        assert_eq!(finished(&mut t, end(0)), done("m", 0));
    }
}
