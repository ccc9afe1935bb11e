//! The `case` tables bash and zsh share (both read the same syntax): which
//! subcommand a word names, what an option's value is, what a positional is.
//! Each sets `$REPLY` (and `$_agent_tty_words` for a list) or fails.

use super::{sh_quote, Node, Tree, Value};
use std::fmt::Write;

/// `_agent_tty_sub PATH WORD`: the subcommand WORD names under PATH (an
/// alias gives its command's name).
pub fn subcommand_case(nodes: &[&Node]) -> String {
    let mut s = String::from("_agent_tty_sub() {\n    case \"$1/$2\" in\n");
    for node in nodes {
        for child in &node.children {
            let name = child.name();
            let patterns: Vec<String> = std::iter::once(name)
                .chain(child.aliases.iter().map(String::as_str))
                .map(|w| sh_quote(&format!("{}/{w}", node.key())))
                .collect();
            let _ = writeln!(
                s,
                "        {}) REPLY={} ;;",
                patterns.join(" | "),
                sh_quote(name)
            );
        }
    }
    s.push_str("        *) return 1 ;;\n    esac\n}\n\n");
    s
}

/// `_agent_tty_value PATH OPTION`: what the option's value is; fails for a
/// flag. Global options match under every command.
pub fn value_case(tree: &Tree, nodes: &[&Node]) -> String {
    let mut s = String::from("_agent_tty_value() {\n    case \"$1/$2\" in\n");
    for node in nodes {
        for o in &node.options {
            if let Some(v) = &o.value {
                let patterns: Vec<String> = o
                    .spellings()
                    .iter()
                    .map(|sp| sh_quote(&format!("{}/{sp}", node.key())))
                    .collect();
                value_arm(&mut s, &patterns.join(" | "), v);
            }
        }
    }
    for o in &tree.globals {
        if let Some(v) = &o.value {
            let patterns: Vec<String> = o
                .spellings()
                .iter()
                .map(|sp| format!("*/{}", sh_quote(sp)))
                .collect();
            value_arm(&mut s, &patterns.join(" | "), v);
        }
    }
    s.push_str("        *) return 1 ;;\n    esac\n}\n\n");
    s
}

/// `_agent_tty_positional PATH N`: what the N-th positional (from 0) is; a
/// trailing last one matches every N from its own on.
pub fn positional_case(nodes: &[&Node]) -> String {
    let mut s = String::from("_agent_tty_positional() {\n    case \"$1/$2\" in\n");
    for node in nodes {
        let last = node.positionals.len().saturating_sub(1);
        for (i, v) in node.positionals.iter().enumerate() {
            let pattern = if node.trailing && i == last {
                format!("{}*", sh_quote(&format!("{}/", node.key())))
            } else {
                sh_quote(&format!("{}/{i}", node.key()))
            };
            value_arm(&mut s, &pattern, v);
        }
    }
    s.push_str("        *) return 1 ;;\n    esac\n}\n");
    s
}

fn value_arm(s: &mut String, pattern: &str, v: &Value) {
    let words = match v {
        Value::Choices(words) => format!(" _agent_tty_words={}", sh_quote(&words.join(" "))),
        _ => String::new(),
    };
    let _ = writeln!(s, "        {pattern}) REPLY={}{words} ;;", v.kind());
}
