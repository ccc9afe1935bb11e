//! Signal names as people type them and as the Event Log records them.
//!
//! A signal reaches a Session twice: `agent-tty signal <id> INT` checks the
//! name before it contacts the Session (so a typo is `INVALID_SIGNAL`, exit 2,
//! and nothing is sent), and the Session's host reads it again from the
//! control request before it appends the `signal` event and delivers it. Both
//! must accept exactly the same spellings, so both call [`parse`]. When the
//! command ends by a signal, [`name_of`] gives the name the manifest and the
//! `exit` event record.

use crate::error::{Error, Result};
use agent_tty_protocol::ErrorCode;
use nix::sys::signal::Signal;
use std::str::FromStr;

/// The signal named by `given`: `INT`, `int`, `SIGINT`, `sigint` or a number
/// such as `2`, with surrounding blanks ignored. Anything else is
/// `INVALID_SIGNAL`, with a message listing the names people usually want.
///
/// [`Signal::as_str`] gives the canonical `SIG…` spelling to show and record.
pub fn parse(given: &str) -> Result<Signal> {
    let upper = given.trim().to_ascii_uppercase();
    let parsed = match upper.parse::<i32>() {
        Ok(number) => Signal::try_from(number).ok(),
        Err(_) if upper.starts_with("SIG") => Signal::from_str(&upper).ok(),
        Err(_) => Signal::from_str(&format!("SIG{upper}")).ok(),
    };
    parsed.ok_or_else(|| {
        // 0.5's words (contract §3.11), although ours takes any signal name
        // (with or without SIG, any case) or number: scripts match them.
        Error::invalid(
            ErrorCode::InvalidSignal,
            "Signal must be one of: SIGTERM, SIGINT, SIGKILL, SIGHUP, SIGUSR1, SIGUSR2.",
        )
    })
}

/// The name of a signal as a manifest records it (`exitSignal`, a decimal
/// string such as `"9"`): `SIGKILL`; anything else is shown as it is.
pub fn name_of_recorded(signal: &str) -> String {
    signal
        .parse::<i32>()
        .map(name_of)
        .unwrap_or_else(|_| signal.to_owned())
}

/// The canonical name of signal `number`: `SIGTERM` for 15, and `SIG<n>` for
/// a number this system does not name, so an exit by an unusual signal is
/// still recorded rather than lost.
pub fn name_of(number: i32) -> String {
    Signal::try_from(number)
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|_| format!("SIG{number}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("INT", "SIGINT")]
    #[case("int", "SIGINT")]
    #[case("sigint", "SIGINT")]
    #[case("SIGINT", "SIGINT")]
    #[case("SIGTERM", "SIGTERM")]
    #[case("TERM", "SIGTERM")]
    #[case("hup", "SIGHUP")]
    #[case("Kill", "SIGKILL")]
    #[case("QUIT", "SIGQUIT")]
    #[case("usr1", "SIGUSR1")]
    #[case("USR2", "SIGUSR2")]
    #[case("winch", "SIGWINCH")]
    #[case("9", "SIGKILL")]
    #[case(" term ", "SIGTERM")]
    fn signal_names_are_canonical(#[case] given: &str, #[case] expected: &str) {
        assert_eq!(parse(given).unwrap().as_str(), expected);
    }

    #[rstest]
    #[case("NOPE")]
    #[case("SIGNOPE")]
    #[case("")]
    #[case("SIG")]
    #[case("999")]
    fn unknown_signals_are_invalid(#[case] given: &str) {
        assert_eq!(parse(given).unwrap_err().code(), ErrorCode::InvalidSignal);
    }

    #[rstest]
    #[case(15, "SIGTERM")]
    #[case(9, "SIGKILL")]
    #[case(999, "SIG999")]
    fn numbers_are_named(#[case] number: i32, #[case] expected: &str) {
        assert_eq!(name_of(number), expected);
    }
}
