//! `gc`'s options, checked before anything on disk is touched.

use agent_tty_plugin_api::{ErrorCode, Invocation, PluginError};
use std::time::{Duration, SystemTime};

/// What one gc run may collect.
#[derive(Debug, Clone)]
pub struct Options {
    /// Report what would happen; change nothing at all.
    pub dry_run: bool,
    /// Only Sessions this run found dead (and reconciled).
    pub stale_only: bool,
    /// Only Sessions whose manifest was last updated at least this long ago.
    pub older_than: Option<Duration>,
    /// The run's clock, read once so every Home is judged against one "now".
    pub now: SystemTime,
}

impl Options {
    /// Reads the options of a `gc` invocation.
    pub fn from_invocation(inv: &Invocation) -> Result<Self, PluginError> {
        Ok(Options {
            dry_run: inv.flag("dry-run"),
            stale_only: inv.flag("stale-only"),
            older_than: inv.value("older-than").map(parse_duration).transpose()?,
            now: SystemTime::now(),
        })
    }
}

/// Parses `N(m|h|d)` with N a positive whole number, e.g. `30m`, `12h`, `7d`.
pub fn parse_duration(text: &str) -> Result<Duration, PluginError> {
    let invalid = || {
        PluginError::new(
            ErrorCode::InvalidDuration,
            format!(
                "--older-than takes a positive whole number followed by m, h or d \
                 (minutes, hours, days), e.g. 30m, 12h or 7d; got {text:?}"
            ),
        )
        .with_details(serde_json::json!({ "value": text }))
    };
    let unit = match text.chars().last() {
        Some('m') => 60,
        Some('h') => 3600,
        Some('d') => 86_400,
        _ => return Err(invalid()),
    };
    let digits = &text[..text.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match digits.parse::<u64>() {
        Ok(n) if n > 0 => n
            .checked_mul(unit)
            .map(Duration::from_secs)
            .ok_or_else(invalid),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("30m", 1800)]
    #[case("12h", 43_200)]
    #[case("7d", 604_800)]
    #[case("1m", 60)]
    fn durations(#[case] text: &str, #[case] secs: u64) {
        assert_eq!(parse_duration(text).unwrap(), Duration::from_secs(secs));
    }

    #[rstest]
    #[case("0d")]
    #[case("7")]
    #[case("d")]
    #[case("-1h")]
    #[case("1.5h")]
    #[case("7w")]
    #[case("")]
    #[case("99999999999999999999d")]
    #[case("7 d")]
    fn invalid_durations(#[case] text: &str) {
        let err = parse_duration(text).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidDuration);
        assert_eq!(err.code.exit_code(), 2);
    }
}
