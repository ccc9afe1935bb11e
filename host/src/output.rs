//! The envelope, human output and exit codes: the one place results reach
//! stdout and errors reach the user.

use agent_tty_core::text::escape_lines;
use agent_tty_core::time::now_iso;
use agent_tty_plugin_api::wire::RawCommandOutput;
use agent_tty_plugin_api::{CommandOutput, PluginError};
use serde_json::{json, Value};
use std::io::Write;

/// How to print: JSON envelopes or text for people.
#[derive(Debug, Clone, Copy)]
pub struct OutputMode {
    /// `--json`: results (and failures) as JSON envelopes.
    pub json: bool,
    /// The word `--json` was typed before `--`, even as an option's value
    /// (`create --cols --json`): a failure is then an envelope all the same
    /// (contract §2.1: JSON mode for errors is the literal token), so a
    /// script that asked for JSON never gets a failure as text.
    pub json_failures: bool,
    /// `--no-color`: escape sequences are stripped from text output and the
    /// error line (JSON is never touched).
    pub no_color: bool,
}

/// Prints a success and returns the exit status.
pub fn success(mode: OutputMode, command: &str, output: &CommandOutput) -> i32 {
    print_success(
        mode,
        command,
        ResultJson::Parsed(&output.result),
        output.human.as_deref(),
        &output.warnings,
        (output.stdout_taken, output.exit_code),
    )
}

/// [`success`] for a plugin's answer read with [`RawCommandOutput::parse`]:
/// the `result` the plugin wrote is indented into the envelope as it is
/// copied, never parsed into a [`Value`] and printed again (ADR 0023).
/// The bytes are the same as [`success`]'s.
pub fn success_raw(mode: OutputMode, command: &str, output: &RawCommandOutput) -> i32 {
    print_success(
        mode,
        command,
        ResultJson::Raw(output.result.get()),
        output.human.as_deref(),
        &output.warnings,
        (output.stdout_taken, output.exit_code),
    )
}

/// A command's `result`: built, or as JSON text from a plugin's answer.
#[derive(Clone, Copy)]
enum ResultJson<'a> {
    Parsed(&'a Value),
    Raw(&'a str),
}

/// What [`success`] prints on stdout (or stderr when stdout is taken).
fn success_text(
    mode: OutputMode,
    command: &str,
    timestamp: &str,
    result: ResultJson,
    human: Option<&str>,
) -> String {
    if mode.json {
        return envelope(command, timestamp, result);
    }
    let text = match human {
        // An empty result is one empty line, as in 0.5.
        Some(h) if h.ends_with('\n') => h.to_owned(),
        Some(h) => format!("{h}\n"),
        None => {
            let mut text = String::new();
            pretty_result(&mut text, result);
            text.push('\n');
            text
        }
    };
    if mode.no_color {
        strip_escapes(&text)
    } else {
        text
    }
}

/// The `--json` success envelope, pretty-printed in its key order.
fn envelope(command: &str, timestamp: &str, result: ResultJson) -> String {
    match result {
        ResultJson::Raw(json) => {
            let mut text = String::with_capacity(json.len() * 2 + 128);
            text.push_str("{\n  \"ok\": true,\n  \"command\": ");
            text.push_str(&serde_json::to_string(command).unwrap_or_default());
            text.push_str(",\n  \"timestamp\": ");
            text.push_str(&serde_json::to_string(timestamp).unwrap_or_default());
            text.push_str(",\n  \"result\": ");
            if pretty_into(&mut text, json, 1).is_some() {
                text.push_str("\n}\n");
                return text;
            }
            envelope_of(command, timestamp, &parse_raw(json))
        }
        ResultJson::Parsed(value) => envelope_of(command, timestamp, value),
    }
}

/// Text [`pretty_into`] cannot vouch for, read the long way.
fn parse_raw(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or(Value::Null)
}

fn envelope_of(command: &str, timestamp: &str, result: &Value) -> String {
    // Serialised straight from the borrowed result, in the envelope's
    // key order: a `json!` envelope would deep-copy `result` first
    // (thousands of rows for `home list --all` over many Homes).
    #[derive(serde::Serialize)]
    struct Envelope<'a> {
        ok: bool,
        command: &'a str,
        timestamp: &'a str,
        result: &'a Value,
    }
    let envelope = Envelope {
        ok: true,
        command,
        timestamp,
        result,
    };
    let mut text = serde_json::to_string_pretty(&envelope).unwrap_or_default();
    text.push('\n');
    text
}

/// Appends `result` pretty-printed, as a value of its own (not nested).
fn pretty_result(out: &mut String, result: ResultJson) {
    let parsed;
    let value = match result {
        ResultJson::Raw(json) => {
            let mark = out.len();
            if pretty_into(out, json, 0).is_some() {
                return;
            }
            out.truncate(mark);
            parsed = parse_raw(json);
            &parsed
        }
        ResultJson::Parsed(value) => value,
    };
    out.push_str(&serde_json::to_string_pretty(value).unwrap_or_default());
}

/// Appends the JSON value `json` (valid JSON, as a plugin's answer holds
/// it) exactly as `serde_json::to_string_pretty` writes the value it
/// parses to, nested `depth` levels deep, without building that value: one
/// pass that copies every token and writes the line breaks and two-space
/// indents around them.
///
/// Exact because a plugin's answer is written by `serde_json` too (the
/// SDK's dispatch), whose compact and pretty printers escape strings and
/// write numbers the same way. `None` (with part of `out` written) at
/// anything that parsing and printing again would change: a string escape
/// `serde_json` does not write (`\u0041`, `\/`), or a number other than a
/// plain integer (`1.5e3`, `-0`, one too long for 64 bits). Keys are
/// unique in anything `serde_json` writes, so duplicates are not looked
/// for.
fn pretty_into(out: &mut String, json: &str, mut depth: usize) -> Option<()> {
    let b = json.as_bytes();
    let skip_space = |mut i: usize| {
        while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        i
    };
    let line = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    let mut i = skip_space(0);
    while let Some(&c) = b.get(i) {
        match c {
            b'{' | b'[' => {
                let close = if c == b'{' { b'}' } else { b']' };
                let next = skip_space(i + 1);
                out.push(c as char);
                if b.get(next) == Some(&close) {
                    out.push(close as char);
                    i = next + 1;
                } else {
                    depth += 1;
                    line(out, depth);
                    i += 1;
                }
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                line(out, depth);
                out.push(c as char);
                i += 1;
            }
            b',' => {
                out.push(',');
                line(out, depth);
                i += 1;
            }
            b':' => {
                out.push_str(": ");
                i += 1;
            }
            b'"' => {
                let end = string_end(b, i)?;
                out.push_str(&json[i..end]);
                i = end;
            }
            b't' | b'n' | b'f' => {
                let word = [&b"true"[..], b"null", b"false"]
                    .into_iter()
                    .find(|w| b[i..].starts_with(w))?;
                out.push_str(&json[i..i + word.len()]);
                i += word.len();
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                i += usize::from(c == b'-');
                let digits = i;
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                let digits = &b[digits..i];
                let plain = !digits.is_empty()
                    && digits.len() <= 18
                    && (digits[0] != b'0' || (digits.len() == 1 && c != b'-'))
                    && !matches!(b.get(i), Some(b'.' | b'e' | b'E'));
                if !plain {
                    return None;
                }
                out.push_str(&json[start..i]);
            }
            _ => return None,
        }
        i = skip_space(i);
    }
    Some(())
}

/// Where the string starting at `b[start]` (a `"`) ends, if every escape in
/// it is one `serde_json` writes: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`,
/// and `\u00xx` (lower-case) for the other control characters.
fn string_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        match *b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => match *b.get(i + 1)? {
                b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                b'u' => {
                    let hex = b.get(i + 2..i + 6)?;
                    let low = match hex[3] {
                        d @ b'0'..=b'9' => d - b'0',
                        d @ b'a'..=b'f' => d - b'a' + 10,
                        _ => return None,
                    };
                    let code = match hex[..3] {
                        [b'0', b'0', b'0'] => low,
                        [b'0', b'0', b'1'] => 16 + low,
                        _ => return None,
                    };
                    if matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                        return None;
                    }
                    i += 6;
                }
                _ => return None,
            },
            c if c < 0x20 => return None,
            _ => i += 1,
        }
    }
}

/// Prints a success (its text, then its warnings on stderr); returns its
/// exit status.
fn print_success(
    mode: OutputMode,
    command: &str,
    result: ResultJson,
    human: Option<&str>,
    warnings: &[String],
    (stdout_taken, exit_code): (bool, i32),
) -> i32 {
    let text = success_text(mode, command, &now_iso(), result, human);
    for warning in warnings {
        eprintln!("warning: {}", escape_lines(warning));
    }
    if stdout_taken {
        // stdout carries the command's product (`--out -`).
        eprint!("{text}");
    } else {
        print_stdout(&text);
    }
    exit_code
}

/// Prints a failure (JSON on stdout with `--json`, `CODE: message` on stderr
/// otherwise) and returns the exit status.
pub fn failure(mode: OutputMode, command: &str, error: &PluginError) -> i32 {
    if mode.json || mode.json_failures {
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
        eprintln!(
            "{}: {}",
            error.code,
            escape_lines(&strip_escapes(&error.message))
        );
    } else {
        // A message may quote what a hostile file holds (a manifest's
        // value, a config key): escaped, it cannot drive the terminal.
        eprintln!("{}: {}", error.code, escape_lines(&error.message));
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
    use super::*;
    use serde_json::json;

    fn json_mode() -> OutputMode {
        OutputMode {
            json: true,
            json_failures: true,
            no_color: false,
        }
    }

    /// Values whose compact text `pretty_into` indents itself, and values
    /// it leaves to the long way: the envelope is the same bytes either way.
    fn results() -> Vec<Value> {
        let controls: String = (0u8..0x20).map(char::from).collect();
        vec![
            json!(null),
            json!(true),
            json!(0),
            json!(-17),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1.5),
            json!(1e300),
            json!(-0.0),
            json!("plain"),
            json!({}),
            json!([]),
            json!({"a": {}, "b": [], "c": [[]], "d": [{}]}),
            json!({"homes": [{"path": "/h", "activeSessions": 1, "totalSessions": 5,
                "lastSeenAt": "2026-11-24T03:50:02.677Z"}]}),
            json!({"": "", "k\"ey": "a\\b/c", "ctl": controls, "wide": "文档 🎉 \u{7f}\u{202e}"}),
            json!([1, [2, [3, [4, []]]], {"x": [true, false, null]}]),
        ]
    }

    #[test]
    fn a_raw_result_prints_the_bytes_a_parsed_one_does() {
        for value in results() {
            let raw = serde_json::to_string(&value).unwrap();
            for mode in [
                json_mode(),
                OutputMode {
                    json: false,
                    json_failures: false,
                    no_color: false,
                },
            ] {
                assert_eq!(
                    success_text(mode, "home list", "T", ResultJson::Raw(&raw), None),
                    success_text(mode, "home list", "T", ResultJson::Parsed(&value), None),
                    "{raw}"
                );
            }
        }
    }

    #[test]
    fn text_that_printing_again_would_change_takes_the_long_way() {
        for raw in [
            r#"{"a":"\u0041"}"#,
            r#"["\/"]"#,
            r#"["\u000a"]"#,
            r#"["\u001F"]"#,
            "[1.0]",
            "[1e3]",
            "[-0]",
            "[123456789012345678901]",
            "{ \"spaced\" : [ 1 , 2 ] , \"e\" : { } }",
        ] {
            let value: Value = serde_json::from_str(raw).unwrap();
            assert_eq!(
                success_text(json_mode(), "c", "T", ResultJson::Raw(raw), None),
                success_text(json_mode(), "c", "T", ResultJson::Parsed(&value), None),
                "{raw}"
            );
        }
        // Escapes serde_json writes itself are copied as they are.
        let mut out = String::new();
        assert!(pretty_into(&mut out, r#"["\u001f\n\"\\"]"#, 0).is_some());
        assert!(pretty_into(&mut out, r#"["\u0041"]"#, 0).is_none());
        assert!(pretty_into(&mut out, "[1.5]", 0).is_none());
    }

    #[test]
    fn no_color_strips_csi_osc_and_two_byte_escapes() {
        assert_eq!(
            strip_escapes("\x1b[1;31mred\x1b[0m \x1b]8;;http://x\x07link\x1b]8;;\x1b\\ \x1b=ok"),
            "red link ok"
        );
    }
}
