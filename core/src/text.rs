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
    use super::{counted, status_wording};
    use rstest::rstest;

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
