//! The guard in front of `--regex`: 0.5's length limit and its refusal of
//! nested quantifiers, then the compile. Kept apart from the flags because
//! `wait --gone`/`--until-changed` (`observe`) and `batch` use it too.

use agent_tty_plugin_api::{ErrorCode, PluginError};
use regex::Regex;
use serde_json::json;

/// `--regex` is 1 to 200 characters (0.5's limit).
pub(super) const MAX_REGEX_CHARS: usize = 200;

/// `--regex`: 1..200 characters, no nested quantifiers, then compiled. No
/// flags, as in 0.5 (`^`/`$` match at the ends of the whole screen text).
pub(crate) fn compile_regex(pattern: &str) -> Result<Regex, PluginError> {
    let n = pattern.chars().count();
    if !(1..=MAX_REGEX_CHARS).contains(&n) {
        return Err(PluginError::new(
            ErrorCode::InvalidInput,
            format!("--regex must be 1 to {MAX_REGEX_CHARS} characters long, got {n}."),
        ));
    }
    // Kept for 0.5 parity only, in 0.5's words: the `regex` crate matches
    // in linear time, so a nested quantifier costs us nothing, but 0.5
    // refuses these patterns and a script may rely on the refusal.
    if has_nested_quantifier(pattern) {
        return Err(PluginError::new(
            ErrorCode::InvalidInput,
            "Regex pattern contains nested quantifiers which may cause catastrophic \
             backtracking. Simplify the pattern."
                .to_owned(),
        )
        .with_details(json!({ "regex": pattern })));
    }
    Regex::new(pattern).map_err(|e| {
        PluginError::new(
            ErrorCode::InvalidInput,
            format!("Invalid regex pattern: {pattern:?}: {e}"),
        )
        .with_details(json!({ "regex": pattern }))
    })
}

/// 0.5's heuristic against catastrophic patterns: a group that contains a
/// quantifier and is itself quantified (`(a+)+`, `(x*)*`, `(x?){2}`, also
/// through inner groups). `\` escapes the next character; `[...]` is skipped.
fn has_nested_quantifier(pattern: &str) -> bool {
    let chars: Vec<char> = pattern.chars().collect();
    // Per open group: whether it holds a quantifier.
    let mut groups: Vec<bool> = vec![false];
    // Whether the atom just before is a group, and if it holds a quantifier.
    let mut last_group: Option<bool> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let quantifier_len = match c {
            '*' | '+' => 1,
            '?' if i > 0 && chars[i - 1] == '(' => 0,
            '?' => 1,
            '{' => bounded_quantifier(&chars[i..]).unwrap_or(0),
            _ => 0,
        };
        if quantifier_len > 0 {
            if last_group == Some(true) {
                return true;
            }
            if let Some(top) = groups.last_mut() {
                *top = true;
            }
            last_group = None;
            i += quantifier_len;
            continue;
        }
        match c {
            '\\' => {
                i += 2;
                last_group = None;
                continue;
            }
            '[' => {
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    i += 1;
                }
                while i < chars.len() && chars[i] != ']' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                last_group = None;
            }
            '(' => {
                groups.push(false);
                last_group = None;
            }
            ')' => {
                let held = if groups.len() > 1 {
                    groups.pop().unwrap_or(false)
                } else {
                    false
                };
                if held {
                    if let Some(parent) = groups.last_mut() {
                        *parent = true;
                    }
                }
                last_group = Some(held);
            }
            _ => last_group = None,
        }
        i += 1;
    }
    false
}

/// The length of `{n}`, `{n,}` or `{n,m}` at the start of `chars`.
fn bounded_quantifier(chars: &[char]) -> Option<usize> {
    let close = chars.iter().position(|&c| c == '}')?;
    let inner: String = chars[1..close].iter().collect();
    let (min, max) = match inner.split_once(',') {
        Some((a, b)) => (a, Some(b)),
        None => (inner.as_str(), None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(min) && max.is_none_or(|m| m.is_empty() || digits(m))).then_some(close + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("(a+)+", true)]
    #[case("(x*)*", true)]
    #[case("(x?){2}", true)]
    #[case("((a+)b)*", true)]
    #[case("(?:a|b+)+", true)]
    #[case("(a|b)+", false)]
    #[case("a+b*c?", false)]
    #[case(r"\(a+\)+", false)]
    #[case("[(a+)]+", false)]
    #[case("(ab){2,3}", false)]
    #[case("(a{2}){3}", true)]
    #[case("answer-\\d+", false)]
    fn nested_quantifiers_are_caught(#[case] pattern: &str, #[case] nested: bool) {
        assert_eq!(has_nested_quantifier(pattern), nested, "{pattern}");
    }

    #[rstest]
    #[case("{3}", Some(3))]
    #[case("{2,}", Some(4))]
    #[case("{2,5}x", Some(5))]
    #[case("{}", None)]
    #[case("{,5}", None)]
    #[case("{a}", None)]
    #[case("{2", None)]
    fn bounded_quantifiers_are_measured(#[case] text: &str, #[case] len: Option<usize>) {
        let chars: Vec<char> = text.chars().collect();
        assert_eq!(bounded_quantifier(&chars), len, "{text}");
    }

    #[rstest]
    #[case("", "1 to 200 characters long, got 0")]
    #[case(&"x".repeat(MAX_REGEX_CHARS + 1), "1 to 200 characters long, got 201")]
    #[case("(a+)+", "nested quantifiers")]
    #[case("(unclosed", "Invalid regex pattern")]
    fn refused_patterns_say_why(#[case] pattern: &str, #[case] says: &str) {
        let err = compile_regex(pattern).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput, "{err}");
        assert!(err.message.contains(says), "{err}");
    }

    #[test]
    fn an_accepted_pattern_compiles_without_flags() {
        let longest = "x".repeat(MAX_REGEX_CHARS);
        assert!(compile_regex(&longest).is_ok());
        // No multi-line flag: `^` is the start of the whole screen text.
        let re = compile_regex("^two").unwrap();
        assert!(!re.is_match("one\ntwo"));
        assert!(re.is_match("two\none"));
    }
}
