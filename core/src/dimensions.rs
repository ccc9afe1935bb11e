//! Terminal sizes: `create --cols/--rows` and `resize --cols/--rows` accept
//! exactly the same numbers and refuse the rest with the same
//! `INVALID_DIMENSIONS` error, and the Session's host applies the same limits
//! to a `resize` request that reaches its socket some other way.
//!
//! The limits are core's [`MAX_COLS`] × [`MAX_ROWS`]: every reader of a
//! Session's screen replays it through an emulator that allocates every cell
//! up front, so a size is a memory budget (see [`MAX_COLS`] for the numbers).

use crate::error::{ErrorCode, PluginError};
use crate::screen::{MAX_COLS, MAX_ROWS};
use serde_json::json;

/// One of a terminal's two dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// Columns (`--cols`).
    Cols,
    /// Rows (`--rows`).
    Rows,
}

impl Dimension {
    /// The flag that gives it, without dashes.
    pub fn flag(self) -> &'static str {
        match self {
            Dimension::Cols => "cols",
            Dimension::Rows => "rows",
        }
    }

    /// The largest size supported.
    fn max(self) -> u16 {
        match self {
            Dimension::Cols => MAX_COLS,
            Dimension::Rows => MAX_ROWS,
        }
    }

    /// `INVALID_DIMENSIONS` for `given`, naming the range.
    fn invalid(self, given: &str) -> PluginError {
        let (flag, max) = (self.flag(), self.max());
        PluginError::new(
            ErrorCode::InvalidDimensions,
            format!(
                "--{flag} must be a whole number from 1 to {max} (the largest terminal \
                 agent-tty supports), not {given:?}"
            ),
        )
        .with_details(json!({ flag: given, "max": max }))
    }
}

/// The size given to `--cols`/`--rows`: a whole number from 1 (a zero-sized
/// terminal cannot show anything) to the dimension's maximum.
pub fn parse_dimension(dimension: Dimension, given: &str) -> Result<u16, PluginError> {
    match given.trim().parse::<u16>() {
        Ok(n) if (1..=dimension.max()).contains(&n) => Ok(n),
        _ => Err(dimension.invalid(given)),
    }
}

/// Checks a size that arrived as numbers (a `resize` request on the control
/// socket) against the same limits.
pub fn check_size(cols: u16, rows: u16) -> Result<(), PluginError> {
    parse_dimension(Dimension::Cols, &cols.to_string())?;
    parse_dimension(Dimension::Rows, &rows.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("1", 1)]
    #[case(" 80 ", 80)]
    #[case("1000", 1000)]
    fn sizes_in_range_are_taken(#[case] given: &str, #[case] expected: u16) {
        assert_eq!(parse_dimension(Dimension::Cols, given).unwrap(), expected);
        assert_eq!(parse_dimension(Dimension::Rows, given).unwrap(), expected);
    }

    #[rstest]
    #[case("0")]
    #[case("1001")]
    #[case("65535")]
    #[case("65536")]
    #[case("-1")]
    #[case("tall")]
    #[case("")]
    fn other_sizes_are_invalid_dimensions_naming_the_limit(#[case] given: &str) {
        let err = parse_dimension(Dimension::Rows, given).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidDimensions);
        assert_eq!(err.details["rows"], given);
        assert_eq!(err.details["max"], MAX_ROWS);
        assert!(err.message.contains("from 1 to 1000"), "{}", err.message);
    }

    #[test]
    fn numeric_sizes_get_the_same_limits() {
        assert!(check_size(MAX_COLS, MAX_ROWS).is_ok());
        let err = check_size(MAX_COLS + 1, 24).unwrap_err();
        assert_eq!(err.details["cols"], "1001");
        assert_eq!(check_size(80, 0).unwrap_err().details["rows"], "0");
    }
}
