//! clap's tree, built from the command table: the global options and the
//! host's own commands (declared as specs, like a plugin's), every loaded
//! plugin's commands mounted at their paths, the help's sections, and the
//! way back from clap's matches to the plugin's arguments.

use super::VERSION;
use crate::plugins::PluginSet;
use agent_tty_core::text::{Align, Table};
use agent_tty_plugin_api::{ArgKind, ArgSpec, CommandSpec, ValueHint};
use clap::{Arg, ArgAction, ArgMatches, Command};
use serde_json::{Map, Value};

/// The commands the host runs itself (besides `remote`, which clap
/// declares), mounted like plugin commands: one declaration gives their
/// help, their parsing and their completion.
pub(super) fn built_ins() -> Vec<CommandSpec> {
    vec![
        CommandSpec::new(&["version"], "Show the host's and plugins' versions"),
        CommandSpec::new(
            &["plugins"],
            "List the plugin libraries found, loaded and refused",
        ),
        crate::completions::spec(),
        CommandSpec::new(
            &["doctor"],
            "Check that this machine can run Sessions (plugins, PTY, sockets, Home, registry, \
             engine)",
        )
        .arg(ArgSpec::flag(
            "verbose",
            "Also show how long each check took",
        )),
        CommandSpec::new(
            &["dashboard"],
            "Open the read-only Session Dashboard (needs a terminal)",
        )
        .alias("d")
        .arg(
            ArgSpec::option(
                "session",
                "ID",
                "Select this Session at start (its id, the start of it, or its name)",
            )
            .hint(ValueHint::SessionId),
        )
        .arg(ArgSpec::flag(
            "all",
            "Start with all Sessions, not only the Active ones",
        )),
    ]
}

/// The global options, in help order. Every command takes them; a plugin
/// command declaring one of these names gets the global one.
pub(super) fn globals() -> Vec<ArgSpec> {
    use agent_tty_core::config::{LOG_LEVELS, RENDERERS};
    let profiles: Vec<&str> = agent_tty_term::profile::PROFILES
        .iter()
        .map(|p| p.name)
        .collect();
    vec![
        ArgSpec::option(
            "home",
            "PATH",
            "The Home to use (absolute path); default $AGENT_TTY_HOME, else ~/.agent-tty",
        )
        .hint(ValueHint::Directory),
        ArgSpec::option(
            "remote",
            "NAME|[USER@]HOST[:PORT]",
            "Run the command on another machine over ssh (a named remote or a target); \
             default $AGENT_TTY_REMOTE, else the Home config's `remote`",
        ),
        ArgSpec::flag("json", "Print the JSON envelope instead of text"),
        ArgSpec::option(
            "renderer",
            "NAME",
            "Renderer name (ghostty-web or libghostty-vt; accepted for 0.5 compatibility)",
        )
        .values(RENDERERS),
        ArgSpec::option(
            "profile",
            "NAME",
            "Render profile for screenshot and record export (default reference-dark)",
        )
        .values(&profiles),
        ArgSpec::option(
            "log-level",
            "LEVEL",
            "debug, info, warn or error (default $AGENT_TTY_LOG_LEVEL, config, info)",
        )
        .values(LOG_LEVELS),
        ArgSpec::flag(
            "no-color",
            "Strip colour and other escape sequences from text output",
        ),
        ArgSpec::option(
            "timeout-ms",
            "MS",
            "Accepted and validated for 0.5 compatibility; commands take --timeout",
        ),
    ]
}

/// A global option as clap mounts it: a plain `--name VALUE` (the value may
/// not start with `-`, unlike a command's own options).
pub(super) fn global_arg(spec: &ArgSpec) -> Arg {
    let arg = Arg::new(spec.name.clone())
        .long(spec.name.clone())
        .help(spec.help.clone())
        .global(true)
        .help_heading("Global options");
    match spec.kind {
        ArgKind::Flag => arg.action(ArgAction::SetTrue),
        _ => arg.value_name(spec.value_name.clone().unwrap_or_default()),
    }
}

/// The completion scripts' view of the command line: clap's tree, with
/// what each value is taken from the command table.
pub(super) fn completion_tree(set: &PluginSet, cli: &Command) -> crate::completions::Tree {
    let globals = globals();
    let built_ins = built_ins();
    let spec_arg = |path: &[String], id: &str| -> Option<ArgSpec> {
        if let Some(g) = globals.iter().find(|g| g.name == id) {
            return Some(g.clone());
        }
        let spec = built_ins
            .iter()
            .find(|s| s.path == path)
            .or_else(|| set.command(path).map(|(_, spec)| spec))?;
        spec.args.iter().find(|a| a.name == id).cloned()
    };
    crate::completions::Tree::new(cli, &spec_arg)
}

pub(super) fn build_cli(set: &PluginSet) -> Command {
    let mut root = Command::new("agent-tty")
        .version(VERSION)
        .about("Real, long-lived PTY terminal sessions for AI coding agents and people.")
        .subcommand_required(false)
        .disable_version_flag(false)
        .args_override_self(true);
    let globals = globals();
    for g in &globals {
        root = root.arg(global_arg(g));
    }
    let built_ins = built_ins();
    for spec in &built_ins {
        root = mount(root, spec, &spec.path, &globals);
    }
    root = root.subcommand(crate::remote::command::command());
    // The skills are served by the skills plugin: only point at them when
    // it is there to serve them.
    if set.by_name("skills").is_some() {
        root = root
            .before_help(
                "MANDATORY FOR CODING AGENTS: read the `agent-tty` skill first \
                 (`agent-tty skills get agent-tty`); it teaches the create → run → wait → \
                 snapshot → destroy loop and the error codes.",
            )
            .after_help(
                "Skills: `agent-tty skills list` shows the bundled skills; \
                 `agent-tty skills get <name>` prints one.",
            );
    }
    for plugin in &set.loaded {
        for group in &plugin.description.groups {
            if root.find_subcommand(&group.name).is_none() {
                root = root.subcommand(
                    Command::new(group.name.clone())
                        .about(group.about.clone())
                        .subcommand_required(true)
                        .arg_required_else_help(true),
                );
            }
        }
        for spec in &plugin.description.commands {
            // The host's own commands win (an older sessions plugin still
            // declares `doctor`, which the host now runs itself).
            if spec
                .path
                .first()
                .is_some_and(|word| built_ins.iter().any(|b| b.path[0] == *word))
            {
                continue;
            }
            root = mount(root, spec, &spec.path, &globals);
        }
    }
    let grouped = grouped_commands(&root);
    root.help_template(format!(
        "{{before-help}}{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{grouped}\nOptions:\n{{options}}{{after-help}}"
    ))
    .disable_help_subcommand(true)
}

/// The help's sections and the commands in each, in order. Every command
/// agent-tty ships is in one (`help_sections_name_every_shipped_command`).
pub(super) const HELP_SECTIONS: &[(&str, &[&str])] = &[
    ("Lifecycle", &["create", "list", "inspect", "destroy", "gc"]),
    (
        "Input",
        &[
            "type",
            "paste",
            "send-keys",
            "run",
            "batch",
            "mark",
            "signal",
            "resize",
            "click",
            "scroll",
        ],
    ),
    (
        "Observation",
        &["wait", "snapshot", "follow", "screenshot", "record"],
    ),
    ("Live view", &["dashboard", "attach"]),
    (
        "Environment",
        &[
            "version",
            "doctor",
            "skills",
            "home",
            "remote",
            "plugins",
            "mcp",
            "completions",
        ],
    ),
];

/// The help's command sections, in 0.5's grouping (lifecycle, input,
/// observation, live view, environment) instead of plugin load order;
/// commands of other plugins follow under "Plugins".
pub(super) fn grouped_commands(root: &Command) -> String {
    let visible: Vec<&Command> = root
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .collect();
    let others: Vec<&Command> = visible
        .iter()
        .copied()
        .filter(|c| {
            !HELP_SECTIONS
                .iter()
                .any(|(_, names)| names.contains(&c.get_name()))
        })
        .collect();
    let sections = HELP_SECTIONS
        .iter()
        .map(|(title, names)| {
            let members = names
                .iter()
                .filter_map(|n| visible.iter().copied().find(|c| c.get_name() == *n))
                .collect::<Vec<_>>();
            (format!("{title} commands:"), members)
        })
        .chain([("Plugin commands:".to_owned(), others)]);
    // One table, so every section's descriptions start in the same column.
    let mut table = Table::new([Align::Left, Align::Left]).indent("  ");
    for (title, members) in sections.filter(|(_, m)| !m.is_empty()) {
        if !table.is_empty() {
            table.heading("");
        }
        table.heading(&title);
        for c in members {
            let aliases: Vec<&str> = c.get_visible_aliases().collect();
            let label = if aliases.is_empty() {
                c.get_name().to_owned()
            } else {
                format!("{} ({})", c.get_name(), aliases.join(", "))
            };
            let about = c.get_about().map(|a| a.to_string()).unwrap_or_default();
            table.row([label, about]);
        }
    }
    table.render()
}

/// Mounts a command at its path, creating intermediate groups as needed.
pub(super) fn mount(
    parent: Command,
    spec: &CommandSpec,
    rest: &[String],
    globals: &[ArgSpec],
) -> Command {
    let Some((word, tail)) = rest.split_first() else {
        return parent;
    };
    if tail.is_empty() {
        return parent.subcommand(leaf_command(spec, word, globals));
    }
    let mut parent = parent;
    if parent.find_subcommand(word).is_none() {
        parent = parent.subcommand(
            Command::new(word.clone())
                .subcommand_required(true)
                .args_override_self(true),
        );
    }
    parent.mut_subcommand(word, |group| mount(group, spec, tail, globals))
}

pub(super) fn leaf_command(spec: &CommandSpec, word: &str, globals: &[ArgSpec]) -> Command {
    let mut cmd = Command::new(word.to_owned())
        .about(spec.about.clone())
        .hide(spec.hidden)
        .args_override_self(true)
        .visible_aliases(spec.aliases.clone());
    for a in &spec.args {
        // A command's own `--profile` (or `--json`, …) is the global one:
        // clap mounts each name once, and the value reaches the plugin
        // under the same name either way.
        if globals.iter().any(|g| g.name == a.name) {
            continue;
        }
        let mut arg = Arg::new(a.name.clone()).help(a.help.clone());
        if let Some(v) = &a.value_name {
            arg = arg.value_name(v.clone());
        }
        arg = match a.kind {
            ArgKind::Flag => arg.long(a.name.clone()).action(ArgAction::SetTrue),
            // An option's value is the next word whatever it looks like
            // (`--timeout -5` is a bad timeout, `--text --json` waits for
            // the text "--json"), as in 0.5.
            ArgKind::Option => arg
                .long(a.name.clone())
                .num_args(1)
                .allow_hyphen_values(true)
                .required(a.required),
            ArgKind::Repeated => arg.long(a.name.clone()).action(ArgAction::Append),
            ArgKind::Positional => arg.required(a.required).allow_hyphen_values(false),
            // Options are recognised anywhere before `--` (as in 0.5), so
            // `send-keys ID Down Enter --json` and `create --name x sleep 9
            // --json` keep `--json` for agent-tty; after `--` every word is
            // the command's (`create -- sh -c 'echo hi'`).
            ArgKind::Trailing => arg
                .num_args(if a.required { 1.. } else { 0.. })
                .allow_hyphen_values(false)
                .required(a.required),
        };
        if let Some(s) = a.short {
            arg = arg.short(s);
        }
        cmd = cmd.arg(arg);
    }
    if spec.path == ["home", "list"] {
        cmd = crate::remote::fleet::with_remotes_flag(cmd);
    }
    cmd
}

/// The matches of the first-level command (`remote`'s, for `remote add`).
pub(super) fn leaf_group(matches: &ArgMatches) -> &ArgMatches {
    matches.subcommand().map_or(matches, |(_, m)| m)
}

/// The words of the chosen command and its matches.
pub(super) fn command_path(matches: &ArgMatches) -> Option<(Vec<String>, &ArgMatches)> {
    let mut path = Vec::new();
    let mut current = matches;
    while let Some((name, sub)) = current.subcommand() {
        path.push(name.to_owned());
        current = sub;
    }
    (!path.is_empty()).then_some((path, current))
}

pub(super) fn collect_args(spec: &CommandSpec, m: &ArgMatches) -> Map<String, Value> {
    let mut out = Map::new();
    for a in &spec.args {
        let v = match a.kind {
            ArgKind::Flag => Value::Bool(m.get_flag(&a.name)),
            ArgKind::Option | ArgKind::Positional => m
                .get_one::<String>(&a.name)
                .map(|s| Value::String(s.clone()))
                .unwrap_or(Value::Null),
            ArgKind::Repeated | ArgKind::Trailing => Value::Array(
                m.get_many::<String>(&a.name)
                    .map(|vals| vals.map(|s| Value::String(s.clone())).collect())
                    .unwrap_or_default(),
            ),
        };
        out.insert(a.name.clone(), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap's tree and the spec lists say the same: each global option is
    /// mounted once, global, and takes a value exactly when its spec says so.
    #[test]
    fn globals_are_mounted_as_declared() {
        let cli = {
            let mut root = Command::new("agent-tty");
            for g in &globals() {
                root = root.arg(global_arg(g));
            }
            root
        };
        for g in globals() {
            let arg = cli
                .get_arguments()
                .find(|a| a.get_id() == g.name.as_str())
                .unwrap_or_else(|| panic!("--{} not mounted", g.name));
            assert!(arg.is_global_set());
            assert_eq!(
                arg.get_action().takes_values(),
                g.kind != ArgKind::Flag,
                "--{}",
                g.name
            );
        }
    }

    /// `spec` mounted alone under a root with the global options, parsed
    /// from `args`; the plugin's arguments as the plugin receives them.
    fn received(spec: &CommandSpec, args: &[&str]) -> Map<String, Value> {
        let globals = globals();
        let mut root = Command::new("agent-tty");
        for g in &globals {
            root = root.arg(global_arg(g));
        }
        let root = mount(root, spec, &spec.path, &globals);
        let matches = root
            .try_get_matches_from(std::iter::once("agent-tty").chain(args.iter().copied()))
            .unwrap();
        let (_, leaf) = command_path(&matches).unwrap();
        collect_args(spec, leaf)
    }

    #[test]
    fn each_kind_of_argument_arrives_as_declared() {
        let spec = CommandSpec::new(&["group", "do"], "")
            .arg(ArgSpec::positional("id", ""))
            .arg(ArgSpec::flag("all", ""))
            .arg(ArgSpec::option("text", "T", ""))
            .arg(ArgSpec::repeated("tag", "T", ""))
            .arg(ArgSpec::option("profile", "P", ""))
            .arg(ArgSpec::trailing("rest", ""));
        let got = received(
            &spec,
            &[
                "group",
                "do",
                "x",
                "--text",
                "--json",
                "--tag",
                "a",
                "--tag",
                "b",
                "--profile",
                "p",
                "--",
                "sh",
                "--all",
            ],
        );
        assert_eq!(
            Value::Object(got),
            serde_json::json!({
                "id": "x",
                "all": false,
                // An option's value is the next word, whatever it looks like.
                "text": "--json",
                "tag": ["a", "b"],
                // A command's `--profile` is the global one.
                "profile": "p",
                "rest": ["sh", "--all"],
            })
        );
    }

    #[test]
    fn built_in_commands_are_mounted_from_their_specs() {
        let set = PluginSet {
            loaded: Vec::new(),
            refused: Vec::new(),
            search_path: Vec::new(),
            drifted: Vec::new(),
        };
        let cli = build_cli(&set);
        for spec in built_ins() {
            let cmd = cli.find_subcommand(&spec.path[0]).unwrap();
            assert_eq!(cmd.get_about().map(|a| a.to_string()), Some(spec.about));
        }
        assert!(cli.find_subcommand("d").is_some(), "the dashboard's alias");
        assert!(cli.find_subcommand("remote").is_some());
    }
}
