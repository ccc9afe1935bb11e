//! Terminal sizes given on the command line: `create --cols/--rows` and
//! `resize --cols/--rows` accept exactly the same numbers and refuse the rest
//! with the same `INVALID_DIMENSIONS` error.

use agent_tty_plugin_api::{ErrorCode, PluginError};
use serde_json::json;

/// The size given to `--<flag>`: a whole number from 1 to 65535 (a PTY's size
/// is a `u16`, and a zero-sized terminal cannot show anything).
pub(crate) fn parse_dimension(flag: &str, given: &str) -> Result<u16, PluginError> {
    match given.trim().parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(PluginError::new(
            ErrorCode::InvalidDimensions,
            format!("--{flag} must be a whole number from 1 to 65535, not {given:?}"),
        )
        .with_details(json!({ flag: given }))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("1", 1)]
    #[case(" 80 ", 80)]
    #[case("65535", 65535)]
    fn sizes_in_range_are_taken(#[case] given: &str, #[case] expected: u16) {
        assert_eq!(parse_dimension("cols", given).unwrap(), expected);
    }

    #[rstest]
    #[case("0")]
    #[case("65536")]
    #[case("-1")]
    #[case("tall")]
    #[case("")]
    fn other_sizes_are_invalid_dimensions(#[case] given: &str) {
        let err = parse_dimension("rows", given).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidDimensions);
        assert_eq!(err.details["rows"], given);
    }
}
