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

#[cfg(test)]
mod tests {
    use super::counted;
    use rstest::rstest;

    #[rstest]
    #[case(0, "key", "0 keys")]
    #[case(1, "key", "1 key")]
    #[case(2, "character", "2 characters")]
    #[case(1, "Session", "1 Session")]
    fn counts(#[case] n: usize, #[case] noun: &str, #[case] text: &str) {
        assert_eq!(counted(n, noun), text);
    }
}
