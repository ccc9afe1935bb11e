//! The envelope, human output and exit codes: the one place results reach
//! stdout and errors reach the user.

use agent_tty_core::time::now_iso;
use agent_tty_plugin_api::{CommandOutput, PluginError};
use serde_json::json;
use std::io::Write;

/// How to print: JSON envelopes or text for people.
#[derive(Debug, Clone, Copy)]
pub struct OutputMode {
    pub json: bool,
    /// `--no-color`: escape sequences are stripped from text output and the
    /// error line (JSON is never touched).
    pub no_color: bool,
}

/// Prints a success and returns the exit status.
pub fn success(mode: OutputMode, command: &str, output: &CommandOutput) -> i32 {
    for warning in &output.warnings {
        eprintln!("warning: {warning}");
    }
    let text = if mode.json {
        // Serialised straight from the borrowed result, in the envelope's
        // key order: a `json!` envelope would deep-copy `result` first
        // (thousands of rows for `home list --all` over many Homes).
        #[derive(serde::Serialize)]
        struct Envelope<'a> {
            ok: bool,
            command: &'a str,
            timestamp: String,
            result: &'a serde_json::Value,
        }
        let envelope = Envelope {
            ok: true,
            command,
            timestamp: now_iso(),
            result: &output.result,
        };
        let mut text = serde_json::to_string_pretty(&envelope).unwrap_or_default();
        text.push('\n');
        text
    } else {
        match &output.human {
            // An empty result is one empty line, as in 0.5.
            Some(h) if h.ends_with('\n') => h.clone(),
            Some(h) => format!("{h}\n"),
            None => format!(
                "{}\n",
                serde_json::to_string_pretty(&output.result).unwrap_or_default()
            ),
        }
    };
    let text = if mode.no_color && !mode.json {
        strip_escapes(&text)
    } else {
        text
    };
    if output.stdout_taken {
        // stdout carries the command's product (`--out -`).
        eprint!("{text}");
    } else {
        print_stdout(&text);
    }
    output.exit_code
}

/// Prints a failure (JSON on stdout with `--json`, `CODE: message` on stderr
/// otherwise) and returns the exit status.
pub fn failure(mode: OutputMode, command: &str, error: &PluginError) -> i32 {
    if mode.json {
        let envelope = json!({
            "ok": false,
            "command": command,
            "timestamp": now_iso(),
            "error": {
                "code": error.code,
                "message": error.message,
                "retryable": error.code.retryable(),
                "details": if error.details.is_null() { json!({}) } else { error.details.clone() },
            },
        });
        print_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&envelope).unwrap_or_default()
        ));
    } else if mode.no_color {
        eprintln!("{}: {}", error.code, strip_escapes(&error.message));
    } else {
        eprintln!("{}: {}", error.code, error.message);
    }
    error.code.exit_code()
}

/// Writes to stdout; a closed pipe (`agent-tty list | head -1`) ends the
/// process quietly instead of panicking.
pub fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let written = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("agent-tty: could not write output: {e}");
        std::process::exit(1);
    }
}

/// Whether colour may be used on stdout: a terminal, and `NO_COLOR` unset.
pub fn color_allowed() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// Removes escape sequences (one implementation, in core: `run --output`
/// strips a command's output with it too).
pub use agent_tty_core::text::strip_escapes;

#[cfg(test)]
mod tests {
    use super::strip_escapes;

    #[test]
    fn no_color_strips_csi_osc_and_two_byte_escapes() {
        assert_eq!(
            strip_escapes("\x1b[1;31mred\x1b[0m \x1b]8;;http://x\x07link\x1b]8;;\x1b\\ \x1b=ok"),
            "red link ok"
        );
    }
}
