//! `run --output`: what a command printed, read back from the Event Log
//! after `run` has seen it complete, as plain text and bounded.
//!
//! The `output` records between the run's `input_run` and its
//! `run_complete` hold the echo of the typed line, the command's own
//! output, and often the next prompt. The host removes the shell's marks
//! before logging, but cuts the logged output where they were and records
//! which `seq`s hold the command's own output
//! ([`run_exits`](agent_tty_core::run_exits)): from the command's start
//! (bash, zsh, fish) or else the end of its echoed lines, up to the shell's
//! next prompt. For a run without these (a completion line typed into
//! another shell, a program's prompt, a log of before) the echoed line's
//! end and the completion (`OSC 133;D` or the typed marker's `OSC 7770`,
//! in logs that still hold them) bound it. Escape sequences are removed and
//! a carriage return overwrites its line, as a terminal shows it. Longer
//! than the limit, the head and the tail are kept with a marker between
//! them saying how much was left out and where to read it.

use super::run::RunOutcome;
use super::target::Target;
use agent_tty_core::event_log::{EventBody, EventLogFollower};
use agent_tty_core::text::strip_escapes;
use agent_tty_plugin_api::{ArgSpec, ErrorCode, Invocation, PluginError};
use agent_tty_term::run_marker;
use serde_json::{json, Map, Value};

/// `--max-output-bytes`' default: 16 KiB.
pub(super) const DEFAULT_MAX_OUTPUT_BYTES: usize = 16 * 1024;

/// The raw output is read up to this much (beyond it only counted), so a
/// command that printed gigabytes costs bounded memory.
const MAX_RAW_BYTES: usize = 64 * 1024 * 1024;

/// `run --output`.
pub(super) fn output_arg() -> ArgSpec {
    ArgSpec::flag(
        "output",
        "Return what the command printed (escape sequences removed, bounded by --max-output-bytes)",
    )
}

/// `run --max-output-bytes N`.
pub(super) fn max_output_bytes_arg() -> ArgSpec {
    ArgSpec::option(
        "max-output-bytes",
        "N",
        "With --output: keep at most N bytes, the head and the tail (default 16384)",
    )
}

/// The limit asked for, when `--output` was given (checked before the
/// command is typed, so a bad value sends nothing).
pub(super) fn requested(inv: &Invocation) -> Result<Option<usize>, PluginError> {
    let given = inv.value("max-output-bytes");
    if !inv.flag("output") {
        if given.is_some() {
            return Err(PluginError::usage(
                "--max-output-bytes applies only with --output",
            ));
        }
        return Ok(None);
    }
    match given {
        None => Ok(Some(DEFAULT_MAX_OUTPUT_BYTES)),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if n >= 64 => Ok(Some(n)),
            _ => Err(PluginError::new(
                ErrorCode::InvalidInput,
                format!("--max-output-bytes must be a whole number of at least 64, got {v:?}"),
            )
            .with_details(json!({ "flag": "--max-output-bytes", "value": v }))),
        },
    }
}

/// The command's output, between its `input_run` (`from_seq`) and the
/// matching `run_complete`.
#[derive(Debug, PartialEq)]
pub(super) struct RunOutput {
    pub text: String,
    pub total_bytes: usize,
    pub truncated: bool,
    pub from_seq: u64,
    pub to_seq: Option<u64>,
}

impl RunOutput {
    /// Adds `output`, `outputTotalBytes`, `outputTruncated`,
    /// `outputFromSeq`, `outputToSeq` to a `run` result.
    pub fn add_to(&self, result: &mut Map<String, Value>) {
        result.insert("output".into(), json!(self.text));
        result.insert("outputTotalBytes".into(), json!(self.total_bytes));
        result.insert("outputTruncated".into(), json!(self.truncated));
        result.insert("outputFromSeq".into(), json!(self.from_seq));
        result.insert("outputToSeq".into(), json!(self.to_seq));
    }

    /// `run`'s human line, then the output (escaped: it is the program's).
    pub fn human(&self, line: &str) -> String {
        let mut out = format!("{line}\n");
        let lines: Vec<_> = self
            .text
            .split('\n')
            .map(agent_tty_core::text::escape)
            .collect();
        out.push_str(&lines.join("\n"));
        if self.truncated {
            out.push_str(&format!(
                "\n({} bytes in all; only the head and the tail are shown)",
                self.total_bytes
            ));
        }
        out
    }
}

/// Reads the run's output from the Event Log, from where it stood before
/// the run was sent, cut where the host recorded the command's output.
pub(super) fn read(
    target: &Target,
    input_run_seq: u64,
    run: &RunOutcome,
    max: usize,
) -> Result<RunOutput, PluginError> {
    let marker = run.marker.as_str();
    let (from, to) = (run.recorded.output_from_seq, run.recorded.output_to_seq);
    let mut raw = String::new();
    let mut command = String::new();
    let mut to_seq = None;
    let mut follower = EventLogFollower::starting_at(&target.event_log(), run.log_offset);
    follower.read_new(|event| {
        if event.seq < input_run_seq || to_seq.is_some() {
            return;
        }
        match event.body {
            EventBody::InputRun { command: c, .. } if event.seq == input_run_seq => command = c,
            EventBody::Output { data }
                if raw.len() < MAX_RAW_BYTES
                    && from.is_none_or(|f| event.seq >= f)
                    && to.is_none_or(|t| event.seq < t) =>
            {
                raw.push_str(&data)
            }
            EventBody::RunComplete {
                marker: m,
                input_run_seq: s,
                ..
            } if m == marker || s == Some(input_run_seq) => to_seq = Some(event.seq),
            _ => {}
        }
    })?;
    let part = match (from, to) {
        (Some(_), Some(_)) => raw.as_str(),
        (None, Some(_)) => after_echo(&raw, &command),
        _ => command_part(&raw, marker),
    };
    let text = plain(part);
    let total_bytes = text.len();
    let (text, truncated) = bounded(&text, max, &target.id, input_run_seq);
    Ok(RunOutput {
        text,
        total_bytes,
        truncated,
        from_seq: input_run_seq,
        to_seq,
    })
}

/// The part of the raw output the command printed (see the module doc).
fn command_part<'a>(raw: &'a str, marker: &str) -> &'a str {
    const STARTS: &str = "\x1b]133;C";
    const ENDS: &str = "\x1b]133;D";
    let typed_end = format!("\x1b]{};{marker}", run_marker::OSC_NUMBER);
    let (start, integrated) = match raw.find(STARTS) {
        // After the mark's own terminator.
        Some(i) => (
            raw[i..]
                .find(['\x07', '\\'])
                .map_or(raw.len(), |j| i + j + 1),
            true,
        ),
        // The typed line's echo ends at its newline.
        None => (raw.find('\n').map_or(raw.len(), |i| i + 1), false),
    };
    let rest = &raw[start..];
    let end = if integrated {
        rest.find(ENDS)
    } else {
        rest.find(&typed_end)
    };
    // The typed marker's line may also be cut short by the next prompt's
    // mark when integration arrived late: take whichever comes first.
    let end = [end, rest.find(ENDS), rest.find(&typed_end)]
        .into_iter()
        .flatten()
        .min();
    &rest[..end.unwrap_or(rest.len())]
}

/// The output after the terminal's echo of `command`'s lines, and the
/// continuation prompts a shell without a line editor (sh, dash) prints
/// while it reads them (`> `, once per further line).
fn after_echo<'a>(raw: &'a str, command: &str) -> &'a str {
    let lines = command.split('\n').count();
    let mut rest = raw;
    for _ in 0..lines {
        match rest.find('\n') {
            Some(i) => rest = &rest[i + 1..],
            None => return "",
        }
    }
    for _ in 1..lines {
        match rest.strip_prefix("> ") {
            Some(after) => rest = after,
            None => break,
        }
    }
    rest
}

/// Escape sequences removed, line ends normalised, and within a line a
/// carriage return overwriting what came before it (a progress bar ends as
/// its last state).
fn plain(raw: &str) -> String {
    let stripped = strip_escapes(raw);
    let mut out = String::with_capacity(stripped.len());
    let last = stripped.split('\n').count() - 1;
    for (i, line) in stripped.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        let shown = if i < last {
            line.rsplit('\r').find(|s| !s.is_empty()).unwrap_or("")
        } else {
            // An unfinished last line is where the next prompt goes: zsh
            // first fills it with blanks and returns (PROMPT_SP), which is
            // nothing the command printed.
            line.rsplit('\r')
                .find(|s| !s.trim().is_empty())
                .unwrap_or("")
                .trim_end()
        };
        out.extend(shown.chars().filter(|c| !c.is_control() || *c == '\t'));
    }
    out
}

/// At most `max` bytes: the head and the tail, with a marker line between
/// them saying how much is left out and how to read it.
fn bounded(text: &str, max: usize, session_id: &str, from_seq: u64) -> (String, bool) {
    if text.len() <= max {
        return (text.to_owned(), false);
    }
    let omitted_hint = |omitted: usize| {
        format!(
            "\n[… {omitted} bytes omitted; `agent-tty follow {session_id} --from-seq {from_seq} --json` \
             reads them …]\n",
        )
    };
    // The marker's own size comes out of the budget.
    let budget = max.saturating_sub(omitted_hint(text.len()).len());
    let head_end = floor_char_boundary(text, budget / 2);
    let tail_start = ceil_char_boundary(text, text.len() - (budget - budget / 2));
    let omitted = tail_start - head_end;
    let mut out = String::with_capacity(max);
    out.push_str(&text[..head_end]);
    out.push_str(&omitted_hint(omitted));
    out.push_str(&text[tail_start..]);
    (out, true)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_of_before_is_cut_at_its_marks() {
        let raw = "seq 1 3; printf '\\033]7770;%s\\007' mk1\r\n1\r\n2\r\n3\r\n\x1b]7770;mk1\x07bash-5.2# ";
        assert_eq!(plain(command_part(raw, "mk1")), "1\n2\n3\n");
        let raw = "seq 1 2\r\n\x1b]133;C\x07\x1b[1m1\x1b[0m\r\n2\r\n\x1b]133;D;0\x07bash$ ";
        assert_eq!(plain(command_part(raw, "mk2")), "1\n2\n");
    }

    /// What dash's Session logs before its next prompt (the host has cut
    /// the log before it): the echoed lines, `> ` for each further line,
    /// the output.
    #[rstest::rstest]
    #[case::one_line("echo hi", "echo hi\r\nhi\r\n", "hi\n")]
    #[case::three_lines(
        "for i in 1 2\ndo echo $i\ndone",
        "for i in 1 2\r\ndo echo $i\r\ndone\r\n> > 1\r\n2\r\n",
        "1\n2\n"
    )]
    #[case::no_output("true", "true\r\n", "")]
    fn a_shell_without_start_marks_loses_the_echo(
        #[case] command: &str,
        #[case] logged: &str,
        #[case] output: &str,
    ) {
        assert_eq!(plain(after_echo(logged, command)), output);
    }

    /// What zsh logs between its start and end marks: the output, then
    /// the blanks it fills an unfinished line with before its prompt.
    #[test]
    fn zshs_blanks_before_its_prompt_are_not_output() {
        let blanks = " ".repeat(80);
        assert_eq!(plain(&format!("hi\r\n{blanks}\r\r")), "hi\n");
        let mark = "\x1b[1m\x1b[7m%\x1b[27m\x1b[1m\x1b[0m";
        assert_eq!(plain(&format!("abc{mark}{}\r \r", &blanks[4..])), "abc%");
    }

    #[test]
    fn a_carriage_return_overwrites_its_line() {
        assert_eq!(plain("10%\r50%\r100%\r\ndone\n"), "100%\ndone\n");
    }

    #[test]
    fn long_output_keeps_head_and_tail() {
        let text: String = (1..=100_000).map(|n| format!("{n}\n")).collect();
        let (out, truncated) = bounded(&text, 1000, "s1", 7);
        assert!(truncated);
        assert!(out.len() <= 1000, "{}", out.len());
        assert!(out.starts_with("1\n2\n3\n"));
        assert!(out.ends_with("99999\n100000\n"));
        assert!(out.contains("bytes omitted; `agent-tty follow s1 --from-seq 7 --json`"));
        let (same, t) = bounded("short", 1000, "s1", 7);
        assert_eq!((same.as_str(), t), ("short", false));
    }
}
