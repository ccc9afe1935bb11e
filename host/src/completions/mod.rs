//! `agent-tty completions bash|zsh|fish`: shell completion scripts generated
//! from the same command tree as `--help` (the host's own commands and every
//! loaded plugin's command table), so plugin commands complete too.
//! `scripts/install.sh` writes them where each shell looks.
//!
//! The scripts are ours rather than clap_complete's: its bash script mangles
//! the hyphen in `agent-tty` two ways (so nothing past the first word ever
//! completed), its zsh and fish scripts offer hidden commands, and it has no
//! way to offer a Session id. Each script is a small fixed walker (which
//! command the words name, whether the cursor is at an option's value, which
//! positional it is at) plus tables generated from [`Tree`]: a command's
//! subcommands, options, and what each value is ([`Value`]: the values an
//! argument declares, Session ids from `agent-tty list --json`, paths).
//!
//! Kept apart from the command line (`host/src/cli/`): it mounts [`spec`]
//! with the other built-ins, builds the [`Tree`], and hands the parsed shell
//! to [`output`].

mod bash;
mod fish;
mod posix;
mod zsh;

use agent_tty_plugin_api::{ArgSpec, CommandOutput, CommandSpec, PluginError, ValueHint};
use clap::Command;
use serde_json::json;

/// The shells we generate for.
pub const SHELLS: [&str; 3] = ["bash", "zsh", "fish"];

/// The `completions` command, mounted like a plugin command.
pub fn spec() -> CommandSpec {
    CommandSpec::new(
        &["completions"],
        "Print a shell completion script (bash, zsh or fish), plugin commands included",
    )
    .arg(ArgSpec::positional("shell", "The shell to complete for").values(&SHELLS))
}

/// Generates the script for the parsed shell from the command tree.
pub fn output(tree: &Tree, shell: Option<&String>) -> Result<CommandOutput, PluginError> {
    let name = shell.map(String::as_str).unwrap_or_default();
    let script = match name {
        "bash" => bash::script(tree),
        "zsh" => zsh::script(tree),
        "fish" => fish::script(tree),
        other => {
            return Err(PluginError::usage(format!(
                "no completions for `{other}`; choose one of {}",
                SHELLS.join(", ")
            )))
        }
    };
    Ok(CommandOutput {
        result: json!({ "shell": name, "script": script }),
        human: Some(script),
        ..Default::default()
    })
}

/// What a shell offers for a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// One of these words.
    Choices(Vec<String>),
    /// A Session id of the Home the command line names (or the default one).
    SessionId,
    /// A directory.
    Directory,
    /// A program name.
    Command,
    /// File names (the shell's usual answer).
    Files,
}

impl Value {
    /// What the command table declares for an argument.
    fn of_spec(arg: &ArgSpec) -> Value {
        let choices: Vec<String> = arg
            .values
            .iter()
            .filter(|v| plain_word(v))
            .cloned()
            .collect();
        if !choices.is_empty() {
            return Value::Choices(choices);
        }
        match arg.hint {
            Some(ValueHint::SessionId) => Value::SessionId,
            Some(ValueHint::Directory) => Value::Directory,
            Some(ValueHint::Command) => Value::Command,
            Some(ValueHint::Path | ValueHint::Other) | None => Value::Files,
        }
    }

    /// What a clap argument without a spec declares (its value parser's
    /// possible values, its value hint).
    fn of_clap(arg: &clap::Arg) -> Value {
        let choices: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set() && plain_word(v.get_name()))
            .map(|v| v.get_name().to_owned())
            .collect();
        if !choices.is_empty() {
            return Value::Choices(choices);
        }
        match arg.get_value_hint() {
            clap::ValueHint::DirPath => Value::Directory,
            clap::ValueHint::CommandName => Value::Command,
            _ => Value::Files,
        }
    }

    /// The word the generated scripts switch on (`choices` carries its words
    /// separately).
    fn kind(&self) -> &'static str {
        match self {
            Value::Choices(_) => "choices",
            Value::SessionId => "session",
            Value::Directory => "dir",
            Value::Command => "command",
            Value::Files => "files",
        }
    }
}

/// An option as typed: `--long` and perhaps `-s`.
#[derive(Debug, Clone)]
pub struct Opt {
    pub long: Option<String>,
    pub short: Option<char>,
    pub help: String,
    /// What its value is; `None` for a flag.
    pub value: Option<Value>,
}

impl Opt {
    /// Every spelling (`--long`, `-s`).
    fn spellings(&self) -> Vec<String> {
        let mut all: Vec<String> = self.long.iter().map(|l| format!("--{l}")).collect();
        all.extend(self.short.map(|s| format!("-{s}")));
        all
    }
}

/// One command (or group) of the tree, hidden ones left out.
#[derive(Debug, Clone)]
pub struct Node {
    /// The words from the root, e.g. `["record", "export"]`.
    pub path: Vec<String>,
    pub about: String,
    /// Other names the last word may be typed as.
    pub aliases: Vec<String>,
    pub options: Vec<Opt>,
    /// What each positional is, in order.
    pub positionals: Vec<Value>,
    /// Whether the last positional takes any number of words.
    pub trailing: bool,
    pub children: Vec<Node>,
}

impl Node {
    /// The last word (empty for the root).
    fn name(&self) -> &str {
        self.path.last().map_or("", String::as_str)
    }

    /// The words joined by spaces, the key the scripts' tables use.
    fn key(&self) -> String {
        self.path.join(" ")
    }

    /// This node and every node under it, depth first.
    pub fn walk(&self) -> Vec<&Node> {
        let mut all = vec![self];
        for c in &self.children {
            all.extend(c.walk());
        }
        all
    }
}

/// The whole command line as the scripts see it: the commands, and the
/// global options every command takes.
#[derive(Debug, Clone)]
pub struct Tree {
    pub root: Node,
    pub globals: Vec<Opt>,
}

impl Tree {
    /// Reads the tree from the built command line. `spec_arg(path, id)` is
    /// the command table's declaration of an argument (global options
    /// included), which says what its value is; an argument without one
    /// (`remote`'s) says it through clap.
    pub fn new(cli: &Command, spec_arg: &dyn Fn(&[String], &str) -> Option<ArgSpec>) -> Tree {
        let mut globals: Vec<Opt> = cli
            .get_arguments()
            .filter(|a| {
                a.is_global_set() && !a.is_hide_set() && a.get_long().is_none_or(plain_word)
            })
            .map(|a| opt(a, spec_arg(&[], a.get_id().as_str())))
            .collect();
        globals.push(Opt {
            long: Some("help".into()),
            short: Some('h'),
            help: "Print help".into(),
            value: None,
        });
        let mut root = node(cli, Vec::new(), spec_arg);
        root.options.push(Opt {
            long: Some("version".into()),
            short: Some('V'),
            help: "Print version".into(),
            value: None,
        });
        Tree { root, globals }
    }
}

fn node(
    cmd: &Command,
    path: Vec<String>,
    spec_arg: &dyn Fn(&[String], &str) -> Option<ArgSpec>,
) -> Node {
    let mut options = Vec::new();
    let mut positionals = Vec::new();
    let mut trailing = false;
    for a in cmd.get_arguments() {
        if a.is_global_set() || a.is_hide_set() {
            continue;
        }
        let declared = spec_arg(&path, a.get_id().as_str());
        if a.is_positional() {
            positionals.push(
                declared
                    .as_ref()
                    .map_or_else(|| Value::of_clap(a), Value::of_spec),
            );
            trailing = a.get_num_args().is_some_and(|n| n.max_values() > 1);
        } else if a.get_long().is_none_or(plain_word) {
            options.push(opt(a, declared));
        }
    }
    // A trailing command line (`create -- CMD ARGS…`): a program first,
    // then its arguments, offered as file names.
    if trailing && positionals.last() == Some(&Value::Command) {
        positionals.push(Value::Files);
    }
    let children = cmd
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && plain_word(c.get_name()))
        .map(|c| {
            let mut p = path.clone();
            p.push(c.get_name().to_owned());
            node(c, p, spec_arg)
        })
        .collect();
    Node {
        about: one_line(cmd.get_about().map(|a| a.to_string()).unwrap_or_default()),
        aliases: cmd
            .get_visible_aliases()
            .filter(|a| plain_word(a))
            .map(str::to_owned)
            .collect(),
        path,
        options,
        positionals,
        trailing,
        children,
    }
}

fn opt(a: &clap::Arg, declared: Option<ArgSpec>) -> Opt {
    let takes_value = a.get_action().takes_values();
    Opt {
        long: a.get_long().map(str::to_owned),
        short: a.get_short().filter(char::is_ascii_alphanumeric),
        help: one_line(a.get_help().map(|h| h.to_string()).unwrap_or_default()),
        value: takes_value.then(|| {
            declared
                .as_ref()
                .map_or_else(|| Value::of_clap(a), Value::of_spec)
        }),
    }
}

/// Whether a command word, option name or value can go into the scripts'
/// tables as it is: the shells' `case` patterns and word lists treat `*`,
/// `?`, `[`, `$`, quotes and spaces specially (bash expands `compgen -W`'s
/// words, command substitution included), and no agent-tty command needs
/// them. A plugin command named otherwise still runs; it is only not
/// completed.
fn plain_word(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Help text as one line of printable characters: a description goes into
/// a shell word and is drawn in the user's terminal.
fn one_line(text: String) -> String {
    let line = text.lines().next().unwrap_or_default();
    line.chars().filter(|c| !c.is_control()).collect()
}

/// `text` as one single-quoted word for bash and zsh.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Arg;

    /// A small command line: a hidden command, a group, a command whose
    /// `--format` and `id` the "command table" declares, and one whose
    /// `--level` only clap declares.
    fn tree() -> Tree {
        let cli = Command::new("agent-tty")
            .arg(Arg::new("home").long("home").global(true))
            .arg(
                Arg::new("json")
                    .long("json")
                    .global(true)
                    .action(clap::ArgAction::SetTrue),
            )
            .subcommand(Command::new("_host").hide(true))
            .subcommand(
                Command::new("record").subcommand(
                    Command::new("export")
                        .visible_alias("x")
                        .arg(Arg::new("id"))
                        .arg(Arg::new("format").long("format").num_args(1)),
                ),
            )
            .subcommand(
                Command::new("tune").arg(
                    Arg::new("level")
                        .long("level")
                        .value_parser(["low", "high"]),
                ),
            );
        let spec_arg = |path: &[String], id: &str| -> Option<ArgSpec> {
            match (path.join(" ").as_str(), id) {
                ("", "home") => {
                    Some(ArgSpec::option("home", "PATH", "").hint(ValueHint::Directory))
                }
                ("record export", "id") => Some(ArgSpec::session_id("The Session")),
                ("record export", "format") => {
                    Some(ArgSpec::option("format", "F", "").values(&["gif", "webm", "bad word"]))
                }
                _ => None,
            }
        };
        Tree::new(&cli, &spec_arg)
    }

    #[test]
    fn hidden_commands_are_left_out_and_values_come_from_the_table_then_clap() {
        let tree = tree();
        let names: Vec<String> = tree.root.walk().iter().map(|n| n.key()).collect();
        assert_eq!(names, ["", "record", "record export", "tune"]);
        let export = tree.root.walk()[2].clone();
        assert_eq!(export.aliases, ["x"]);
        assert_eq!(export.positionals, [Value::SessionId]);
        // A value that is not a plain word is left out rather than split.
        assert_eq!(
            export.options[0].value,
            Some(Value::Choices(vec!["gif".into(), "webm".into()]))
        );
        let tune = tree.root.walk()[3].clone();
        assert_eq!(
            tune.options[0].value,
            Some(Value::Choices(vec!["low".into(), "high".into()]))
        );
        let home = &tree.globals[0];
        assert_eq!(
            (home.long.as_deref(), &home.value),
            (Some("home"), &Some(Value::Directory))
        );
        assert_eq!(tree.globals[1].value, None, "--json is a flag");
    }

    #[test]
    fn no_script_names_a_hidden_command() {
        let tree = tree();
        for script in [bash::script(&tree), zsh::script(&tree), fish::script(&tree)] {
            assert!(!script.contains("_host"), "{script}");
            assert!(script.contains("record export"), "{script}");
        }
    }

    /// A plugin's names reach a shell that expands words: anything but a
    /// plain word is left out of every script.
    #[test]
    fn names_a_shell_would_expand_are_left_out() {
        let cli = Command::new("agent-tty").subcommand(
            Command::new("ok")
                .arg(clap::Arg::new("x").long("$(touch pwned)").num_args(1))
                .arg(clap::Arg::new("y").long("fine").short('!').num_args(1)),
        );
        let tree = Tree::new(&cli, &|_, _| None);
        let ok = &tree.root.children[0];
        assert_eq!(ok.options.len(), 1);
        assert_eq!(
            (ok.options[0].long.as_deref(), ok.options[0].short),
            (Some("fine"), None)
        );
        for script in [bash::script(&tree), zsh::script(&tree), fish::script(&tree)] {
            assert!(
                !script.contains("pwned") && !script.contains("-!"),
                "{script}"
            );
        }
    }

    #[test]
    fn help_text_is_one_printable_line() {
        assert_eq!(one_line("a\x1b[31mred\nsecond".into()), "a[31mred");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
    }
}
