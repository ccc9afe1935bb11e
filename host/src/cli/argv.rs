//! argv before and around clap: which words name the command (to choose
//! how plugins are described, and to name the command in an error before
//! clap has parsed anything), and clap's errors worded as 0.5 words them.

use super::command_line::globals;
use crate::output::{self, OutputMode};
use agent_tty_plugin_api::{ArgKind, PluginError};
use clap::Command;
use serde_json::json;

/// Whether `flag` appears before `--` (decides the error format before the
/// real parse, which may be what fails).
pub(super) fn wants_flag(args: &[String], flag: &str) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == flag)
}

/// The words before the first flag-free argument list, global flags skipped:
/// `["home", "list"]` for `agent-tty --home /h --json home list --all`.
pub(crate) fn leading_words(args: &[String]) -> Vec<&str> {
    // The global options that take a value, so their value is skipped
    // (`--profile lifecycle list` names `list`, not `lifecycle`).
    let value_options: Vec<String> = globals()
        .iter()
        .filter(|g| g.kind != ArgKind::Flag)
        .map(|g| format!("--{}", g.name))
        .collect();
    let mut words = Vec::new();
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            option if value_options.iter().any(|o| o == option) => {
                it.next();
            }
            "--" => break,
            s if s.starts_with('-') => {}
            s => words.push(s),
        }
    }
    words
}

/// The words that name commands in `cli`, e.g. `home list` for
/// `agent-tty --json home list --bogus`, so errors name what was typed.
pub(super) fn typed_command(cli: &Command, args: &[String]) -> Vec<String> {
    let mut path = Vec::new();
    let mut current = cli;
    for word in leading_words(args) {
        match current.find_subcommand(word) {
            Some(sub) => {
                path.push(sub.get_name().to_owned());
                current = sub;
            }
            None => break,
        }
    }
    path
}

pub(super) fn usage_failure(
    mode: OutputMode,
    cli: &Command,
    args: &[String],
    e: clap::Error,
) -> i32 {
    use clap::error::ErrorKind;
    let path = typed_command(cli, args);
    let command = if path.is_empty() {
        "agent-tty".to_owned()
    } else {
        path.join(" ")
    };
    let help = if path.is_empty() {
        "agent-tty --help".to_owned()
    } else {
        format!("agent-tty {command} --help")
    };
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            output::print_stdout(&e.render().to_string());
            0
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand if !mode.json => {
            eprint!("{}", e.render());
            2
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let group = path
                .iter()
                .fold(cli, |c, w| c.find_subcommand(w).unwrap_or(c));
            let choices: Vec<&str> = group
                .get_subcommands()
                .filter(|c| !c.is_hide_set())
                .map(|c| c.get_name())
                .collect();
            let err = PluginError::usage(format!(
                "`agent-tty {command}` needs a subcommand: {}; see `{help}`",
                choices.join(", ")
            ));
            output::failure(mode, &command, &err)
        }
        // commander's words, as 0.5 prints them: `error: unknown command 'X'`.
        ErrorKind::InvalidSubcommand => {
            let typed = match e.get(clap::error::ContextKind::InvalidSubcommand) {
                Some(clap::error::ContextValue::String(s)) => s.clone(),
                _ => String::new(),
            };
            let message = format!("unknown command '{typed}'");
            if mode.json {
                let err = PluginError::usage(message)
                    .with_details(json!({ "usage": e.render().to_string() }));
                output::failure(mode, &command, &err)
            } else {
                eprintln!("error: {message}\n(`{help}` lists the commands)");
                2
            }
        }
        _ if mode.json => {
            let text = e.render().to_string();
            let err = PluginError::usage(format!("{}; see `{help}`", clap_message(&text)))
                .with_details(json!({ "usage": text }));
            output::failure(mode, &command, &err)
        }
        _ => {
            eprint!("{}", e.render());
            2
        }
    }
}

/// clap's error as one line: everything before its usage block, e.g.
/// "the following required arguments were not provided: &lt;ID&gt;".
pub(super) fn clap_message(rendered: &str) -> String {
    let message = rendered
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let message = message.trim_start_matches("error: ");
    if message.is_empty() {
        "invalid usage".to_owned()
    } else {
        message.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn leading_words_skip_every_global_option_that_takes_a_value() {
        for g in super::super::command_line::globals()
            .iter()
            .filter(|g| g.kind != ArgKind::Flag)
        {
            let args = strings(&["agent-tty", &format!("--{}", g.name), "x", "home", "list"]);
            assert_eq!(leading_words(&args), ["home", "list"], "--{}", g.name);
        }
        let args = strings(&["agent-tty", "--json", "list", "--", "x"]);
        assert_eq!(leading_words(&args), ["list"]);
    }

    #[test]
    fn a_flag_counts_only_before_the_double_dash() {
        let args = strings(&["agent-tty", "create", "--", "sh", "--json"]);
        assert!(!wants_flag(&args, "--json"));
        let args = strings(&["agent-tty", "create", "--json", "--", "sh"]);
        assert!(wants_flag(&args, "--json"));
    }

    #[test]
    fn clap_errors_become_one_line() {
        let rendered = "error: the following required arguments were not provided:\n  \
                        <id>\n\nUsage: agent-tty destroy <id>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            clap_message(rendered),
            "the following required arguments were not provided: <id>"
        );
        assert_eq!(clap_message("Usage: x\n"), "invalid usage");
    }
}
