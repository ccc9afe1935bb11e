//! Small wording helpers for human output, shared so every command counts
//! things the same way.

/// The plural suffix for a count: `""` for 1, `"s"` otherwise.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A count with its noun in the right number: `1 key`, `2 keys`, `0 Homes`.
pub fn counted(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", plural(n))
}

/// Makes untrusted text (Session names, commands, paths, anything read
/// from a file another program wrote) safe to print to a terminal: control
/// characters (C0, DEL, C1) and the invisible bidirectional overrides are
/// shown as escapes (`\n`, `\x1b`, `\u{202e}`), so nothing can recolour the terminal, move its cursor or break a table
/// row. Text that needs no escaping is returned borrowed, at no cost.
///
/// The one escaping helper for human output: every command's table and
/// message that shows such text calls it. JSON output needs none (serde
/// escapes control characters itself).
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    let needs = |c: char| c.is_control() || is_bidi_control(c);
    if !text.chars().any(needs) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() || is_bidi_control(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// [`escape`] for a path (shown lossily when it is not UTF-8).
pub fn escape_path(path: &std::path::Path) -> String {
    escape(&path.to_string_lossy()).into_owned()
}

/// Characters that reorder how the text around them is displayed.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// How a Session's status reads to a person, the one wording `list` and the
/// dashboard share: `running`, `exited (0)`, `exited (SIGKILL)`,
/// `running (foreign)` for a Session whose host is on another machine.
///
/// The parts are the manifest's (or `sessions.list`'s) own fields, so a
/// reader with either can use it.
pub fn status_wording(
    status: &str,
    exit_code: Option<i32>,
    exit_signal: Option<&str>,
    foreign: bool,
) -> String {
    if foreign {
        return format!("{status} (foreign)");
    }
    match (exit_code, exit_signal) {
        (Some(code), _) => format!("{status} ({code})"),
        (None, Some(signal)) => format!("{status} ({signal})"),
        (None, None) => status.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{counted, escape, status_wording};
    use rstest::rstest;

    #[rstest]
    #[case("plain name", "plain name")]
    #[case("red\x1b[31mtext", "red\\x1b[31mtext")]
    #[case("two\nlines", "two\\nlines")]
    #[case("back\\slash", "back\\slash")]
    #[case("c1\u{9b}31m", "c1\\u{9b}31m")]
    #[case("bidi\u{202e}txt", "bidi\\u{202e}txt")]
    #[case("ünïcødé ok", "ünïcødé ok")]
    fn escapes_what_a_terminal_would_obey(#[case] raw: &str, #[case] shown: &str) {
        assert_eq!(escape(raw), shown);
        assert!(!escape(raw).chars().any(char::is_control));
    }

    #[rstest]
    #[case(0, "key", "0 keys")]
    #[case(1, "key", "1 key")]
    #[case(2, "character", "2 characters")]
    #[case(1, "Session", "1 Session")]
    fn counts(#[case] n: usize, #[case] noun: &str, #[case] text: &str) {
        assert_eq!(counted(n, noun), text);
    }

    #[rstest]
    #[case("running", None, None, false, "running")]
    #[case("exited", Some(0), None, false, "exited (0)")]
    #[case("exited", None, Some("SIGKILL"), false, "exited (SIGKILL)")]
    #[case("running", None, None, true, "running (foreign)")]
    fn statuses_read_the_same_everywhere(
        #[case] status: &str,
        #[case] code: Option<i32>,
        #[case] signal: Option<&str>,
        #[case] foreign: bool,
        #[case] text: &str,
    ) {
        assert_eq!(status_wording(status, code, signal, foreign), text);
    }
}
