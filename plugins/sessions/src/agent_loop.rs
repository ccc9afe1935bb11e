//! The agent loop: drive a Session and read its screen back.
//!
//! - `input`: `type`, `paste`, `send-keys`, `resize`, `signal` — one request
//!   each to the Session's host over its control socket.
//! - `run`: `run`, which types a command with a hidden completion marker and
//!   waits for the host to log `run_complete`.
//! - `wait`: `wait`, which follows the Event Log through a screen replay
//!   until a condition holds.
//! - `snapshot`: `snapshot`, an offline replay of the Event Log.
//!
//! Everything that reads (`wait`, `snapshot`, `run`'s completion) works from
//! the Event Log alone, never by asking the host, so it behaves the same for
//! live Sessions, ended ones and Homes written by agent-tty 0.5.

use agent_tty_plugin_api::{ArgSpec, CommandOutput, CommandSpec, Host, Invocation, PluginError};
use std::time::Duration;

pub(crate) mod batch;
mod follow;
mod input;
mod mark;
mod run;
pub(crate) mod snapshot;
pub mod source;
pub(crate) mod target;
pub(crate) mod wait;

/// Command descriptors.
pub fn specs() -> Vec<CommandSpec> {
    let id = || ArgSpec::positional("id", "The Session id").value_name("SESSION_ID");
    let file = || {
        ArgSpec::option(
            "file",
            "PATH",
            "Read the text from this regular file (≤ 10 MB) instead of the argument",
        )
    };
    let timeout = |default: &str| {
        ArgSpec::option(
            "timeout",
            "MS",
            &format!("Give up after MS milliseconds (0 waits forever; default {default})"),
        )
    };
    vec![
        CommandSpec::new(&["type"], "Type literal text into a Session")
            .arg(id())
            .arg(
                ArgSpec::positional("text", "The text, sent as is (no Enter added)")
                    .required(false),
            )
            .arg(file())
            .arg(ArgSpec::flag(
                "append-newline",
                "Append a newline (Enter) to the text",
            )),
        CommandSpec::new(&["paste"], "Paste text into a Session as a bracketed paste")
            .arg(id())
            .arg(ArgSpec::positional("text", "The text to paste").required(false))
            .arg(file()),
        CommandSpec::new(
            &["send-keys"],
            "Send named keys (Enter, Ctrl+C, Up, F5, ...)",
        )
        .arg(id())
        .arg(
            ArgSpec::trailing(
                "keys",
                "Keys such as Enter, Tab, Ctrl+C, Alt+x, Up, F1, or single characters",
            )
            .required(true)
            .value_name("KEY"),
        ),
        CommandSpec::new(
            &["run"],
            "Type a command into a Session's shell and wait until it finishes",
        )
        .arg(id())
        .arg(ArgSpec::positional("command", "The command line"))
        .arg(file())
        .arg(ArgSpec::flag("no-wait", "Return once the command is typed"))
        .arg(ArgSpec::option(
            "timeout",
            "MS",
            "Stop waiting after MS milliseconds, a positive number (default 30000); the command keeps running",
        )),
        CommandSpec::new(
            &["wait"],
            "Wait until a Session's screen or state meets every condition given",
        )
        .arg(id())
        .arg(ArgSpec::option(
            "text",
            "TEXT",
            "The screen shows this text (1-1000 characters)",
        ))
        .arg(ArgSpec::option(
            "regex",
            "REGEX",
            "The screen text matches this regular expression (1-200 characters, no flags)",
        ))
        .arg(ArgSpec::option(
            "screen-stable-ms",
            "MS",
            "The screen text unchanged for MS milliseconds",
        ))
        .arg(ArgSpec::option(
            "cursor-row",
            "N",
            "The cursor is on row N (0-based)",
        ))
        .arg(ArgSpec::option(
            "cursor-col",
            "N",
            "The cursor is in column N (0-based)",
        ))
        .arg(ArgSpec::option(
            "after-seq",
            "SEQ",
            "Only a screen that includes events after SEQ counts",
        ))
        .arg(ArgSpec::flag(
            "exit",
            "Legacy: the Session's command has ended",
        ))
        .arg(ArgSpec::option(
            "idle-ms",
            "MS",
            "Legacy: no output for MS milliseconds",
        ))
        .arg(timeout("600000")),
        CommandSpec::new(
            &["snapshot"],
            "Show a Session's screen, rebuilt from its Event Log",
        )
        .arg(id())
        .arg(ArgSpec::option(
            "format",
            "FORMAT",
            "structured (default) or text",
        ))
        .arg(ArgSpec::flag(
            "include-scrollback",
            "Include the lines scrolled off the top",
        ))
        .arg(ArgSpec::flag(
            "include-cells",
            "Include every cell's character, colours and attributes (structured only)",
        )),
        CommandSpec::new(
            &["mark"],
            "Place a labelled marker event in a Session's Event Log",
        )
        .arg(id())
        .arg(
            ArgSpec::positional("label", "The label (may be empty)")
                .required(true)
                .value_name("LABEL"),
        ),
        CommandSpec::new(
            &["batch"],
            "Run a JSON plan of type/paste/sendKeys/run/wait steps against a Session",
        )
        .arg(id())
        .arg(
            ArgSpec::positional(
                "steps",
                "The plan, a JSON array such as '[{\"run\":\"ls\"},{\"wait\":{\"text\":\"$\"}}]'",
            )
            .required(false),
        )
        .arg(ArgSpec::option(
            "file",
            "PATH",
            "Read the plan from this file (`-` reads standard input)",
        ))
        .arg(ArgSpec::flag(
            "keep-going",
            "Run every step even after one fails",
        )),
        CommandSpec::new(&["resize"], "Resize a Session's terminal")
            .arg(id())
            .arg(ArgSpec::option("cols", "COLS", "Columns").required(true))
            .arg(ArgSpec::option("rows", "ROWS", "Rows").required(true)),
        CommandSpec::new(
            &["signal"],
            "Send a signal (INT, TERM, HUP, KILL, ...) to the job in a Session's foreground",
        )
        .arg(id())
        .arg(ArgSpec::positional(
            "signal",
            "A signal name such as INT or SIGTERM, or a number",
        ))
        .arg(ArgSpec::flag(
            "shell",
            "Signal the Session's command (its shell) instead of the foreground job",
        )),
    ]
}

/// Runs a command of this module, or `None` when it is not one.
pub fn invoke(_host: &Host, inv: &Invocation) -> Option<Result<CommandOutput, PluginError>> {
    let outcome = match inv.name().as_str() {
        "type" => input::type_text(inv),
        "paste" => input::paste(inv),
        "send-keys" => input::send_keys(inv),
        "resize" => input::resize(inv),
        "signal" => input::signal(inv),
        "run" => run::run(inv),
        "wait" => wait::wait(inv),
        "snapshot" => snapshot::snapshot(inv),
        "mark" => mark::mark(inv),
        "batch" => batch::batch(inv),
        _ => return None,
    };
    Some(outcome)
}

/// How long `run` and `wait` wait when `--timeout` is not given.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How `run` and `wait` pace their looks at the Event Log: every millisecond
/// right after something happened (a trivial command completes within a few
/// ms, and a fixed 10 ms tick would add most of that again), backing off to
/// every 10 ms while nothing does, where polling costs next to nothing.
struct PollPace {
    next: Duration,
}

impl PollPace {
    const FIRST: Duration = Duration::from_millis(1);
    const SLOWEST: Duration = Duration::from_millis(10);

    fn new() -> Self {
        PollPace { next: Self::FIRST }
    }

    /// Something arrived: look again soon.
    fn activity(&mut self) {
        self.next = Self::FIRST;
    }

    /// Sleeps before the next look, a little longer each quiet time.
    fn sleep(&mut self) {
        std::thread::sleep(self.next);
        self.next = (self.next * 2).min(Self::SLOWEST);
    }
}
