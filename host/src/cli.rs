//! The command line: global flags, built-in commands, and every plugin
//! command mounted from the plugins' descriptions.

use crate::output::{self, OutputMode};
use crate::plugins::{self, PluginSet};
use agent_tty_plugin_api::wire::PluginRequest;
use agent_tty_plugin_api::{
    ArgKind, CommandContext, CommandOutput, CommandSpec, ErrorCode, Invocation, PluginError,
    INTERFACE_VERSION,
};
use clap::{Arg, ArgAction, ArgMatches, Command};
use serde_json::{json, Map, Value};
use std::path::Path;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs one invocation and returns the exit status.
pub fn run(args: Vec<String>) -> i32 {
    let mode = OutputMode {
        json: wants_json(&args),
    };
    let set = plugins::load();
    if let Some((words, err)) = set.missing_plugin_for(&leading_words(&args)) {
        return output::failure(mode, &words, &err);
    }
    let cli = build_cli(set);
    let matches = match cli.clone().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) => return usage_failure(mode, &cli, &args, e),
    };
    let mode = OutputMode {
        json: matches.get_flag("json"),
    };
    let context = context(&matches, mode);
    let Some((path, leaf)) = command_path(&matches) else {
        if mode.json {
            let err = PluginError::usage("no command given; see `agent-tty --help`");
            return output::failure(mode, "agent-tty", &err);
        }
        output::print_stdout(&cli.clone().render_help().to_string());
        return 2;
    };
    let name = path.join(" ");
    match path.first().map(String::as_str) {
        Some("version") => return output::success(mode, &name, &version(set)),
        Some("plugins") => return output::success(mode, &name, &plugins_report(set)),
        Some("dashboard") => return crate::dashboard::run(set, &context, leaf, mode),
        _ => {}
    }
    let Some((plugin, spec)) = set.command(&path) else {
        return output::failure(
            mode,
            &name,
            &PluginError::usage(format!("unknown command `{name}`; see `agent-tty --help`")),
        );
    };
    let invocation = Invocation {
        command: path.clone(),
        args: collect_args(spec, leaf),
        context,
    };
    let outcome = plugin
        .call(&PluginRequest::Invoke { invocation })
        .and_then(|v| {
            serde_json::from_value::<CommandOutput>(v).map_err(|e| {
                PluginError::new(
                    ErrorCode::ProtocolError,
                    format!(
                        "the {} plugin answered `{name}` with a malformed result: {e}",
                        plugin.name
                    ),
                )
            })
        });
    match outcome {
        Ok(mut out) => {
            for event in &out.events {
                out.warnings.extend(set.announce(event));
            }
            output::success(mode, &name, &out)
        }
        Err(e) => output::failure(mode, &name, &e),
    }
}

fn wants_json(args: &[String]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

/// The words before the first flag-free argument list, global flags skipped:
/// `["home", "list"]` for `agent-tty --home /h --json home list --all`.
fn leading_words(args: &[String]) -> Vec<&str> {
    let mut words = Vec::new();
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--home" => {
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
fn typed_command(cli: &Command, args: &[String]) -> Vec<String> {
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

fn usage_failure(mode: OutputMode, cli: &Command, args: &[String], e: clap::Error) -> i32 {
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
/// "the following required arguments were not provided: <ID>".
fn clap_message(rendered: &str) -> String {
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

fn build_cli(set: &PluginSet) -> Command {
    let mut root = Command::new("agent-tty")
        .version(VERSION)
        .about("Real, long-lived PTY terminal sessions for AI coding agents and people.")
        .subcommand_required(false)
        .disable_version_flag(false)
        .arg(
            Arg::new("home")
                .long("home")
                .value_name("PATH")
                .global(true)
                .help(
                    "The Home to use (absolute path); default $AGENT_TTY_HOME, else ~/.agent-tty",
                ),
        )
        .arg(
            Arg::new("json")
                .long("json")
                .action(ArgAction::SetTrue)
                .global(true)
                .help("Print the JSON envelope instead of text"),
        )
        .subcommand(Command::new("version").about("Show the host's and plugins' versions"))
        .subcommand(
            Command::new("plugins").about("List the plugin libraries found, loaded and refused"),
        )
        .subcommand(
            Command::new("dashboard")
                .about("Open the read-only Session Dashboard (needs a terminal)")
                .arg(
                    Arg::new("session")
                        .long("session")
                        .value_name("ID")
                        .help("Select this Session at start"),
                ),
        );
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
            root = mount(root, spec, &spec.path);
        }
    }
    root
}

/// Mounts a command at its path, creating intermediate groups as needed.
fn mount(parent: Command, spec: &CommandSpec, rest: &[String]) -> Command {
    let Some((word, tail)) = rest.split_first() else {
        return parent;
    };
    if tail.is_empty() {
        return parent.subcommand(leaf_command(spec, word));
    }
    let mut parent = parent;
    if parent.find_subcommand(word).is_none() {
        parent = parent.subcommand(Command::new(word.clone()).subcommand_required(true));
    }
    parent.mut_subcommand(word, |group| mount(group, spec, tail))
}

fn leaf_command(spec: &CommandSpec, word: &str) -> Command {
    let mut cmd = Command::new(word.to_owned())
        .about(spec.about.clone())
        .hide(spec.hidden)
        .visible_aliases(spec.aliases.clone());
    for a in &spec.args {
        let mut arg = Arg::new(a.name.clone()).help(a.help.clone());
        if let Some(v) = &a.value_name {
            arg = arg.value_name(v.clone());
        }
        arg = match a.kind {
            ArgKind::Flag => arg.long(a.name.clone()).action(ArgAction::SetTrue),
            ArgKind::Option => arg.long(a.name.clone()).num_args(1).required(a.required),
            ArgKind::Repeated => arg.long(a.name.clone()).action(ArgAction::Append),
            ArgKind::Positional => arg.required(a.required).allow_hyphen_values(false),
            ArgKind::Trailing => arg
                .num_args(0..)
                .trailing_var_arg(true)
                .allow_hyphen_values(true)
                .required(a.required),
        };
        if let Some(s) = a.short {
            arg = arg.short(s);
        }
        cmd = cmd.arg(arg);
    }
    cmd
}

/// The words of the chosen command and its matches.
fn command_path(matches: &ArgMatches) -> Option<(Vec<String>, &ArgMatches)> {
    let mut path = Vec::new();
    let mut current = matches;
    while let Some((name, sub)) = current.subcommand() {
        path.push(name.to_owned());
        current = sub;
    }
    (!path.is_empty()).then_some((path, current))
}

fn collect_args(spec: &CommandSpec, m: &ArgMatches) -> Map<String, Value> {
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

fn context(matches: &ArgMatches, mode: OutputMode) -> CommandContext {
    let flag = matches.get_one::<String>("home").map(String::as_str);
    let env_value = std::env::var(agent_tty_core::home::HOME_ENV).ok();
    let os_home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let (home, home_error) =
        match agent_tty_core::home::resolve_home(flag, env_value.as_deref(), os_home.as_deref()) {
            Ok(h) => (Some(h), None),
            Err(e) => (None, Some(e.to_string())),
        };
    CommandContext {
        home,
        home_error,
        json: mode.json,
        color: output::color_allowed(),
        exe: std::env::current_exe()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}

fn version(set: &PluginSet) -> CommandOutput {
    let plugins: Vec<Value> = set
        .loaded
        .iter()
        .map(|p| json!({ "name": p.name, "version": p.version }))
        .collect();
    let mut human = format!("agent-tty {VERSION} (plugin interface {INTERFACE_VERSION})\n");
    for p in &set.loaded {
        human.push_str(&format!("  {:<24} {}\n", p.name, p.version));
    }
    CommandOutput::new(
        json!({ "version": VERSION, "interfaceVersion": INTERFACE_VERSION, "plugins": plugins }),
        human,
    )
}

fn plugins_report(set: &PluginSet) -> CommandOutput {
    let mut rows: Vec<Value> = Vec::new();
    let mut human = String::new();
    for p in &set.loaded {
        let d = &p.description;
        rows.push(json!({
            "name": p.name,
            "version": p.version,
            "interfaceVersion": p.interface_version,
            "path": p.path,
            "status": "loaded",
            "commands": d.commands.iter().filter(|c| !c.hidden).map(|c| c.path.join(" ")).collect::<Vec<_>>(),
            "capabilities": d.capabilities,
            "panes": d.panes.iter().map(|p| &p.name).collect::<Vec<_>>(),
            // What this plugin may do (side effects it declared it calls) and
            // which of its own capability calls are guarded.
            "permissions": d.permissions,
            "effects": d.effects,
            "protocol": d.protocol,
        }));
        human.push_str(&format!(
            "loaded   {:<24} {:<8} {}\n",
            p.name,
            p.version,
            p.path.display()
        ));
        if !d.permissions.is_empty() {
            human.push_str(&format!("         may: {}\n", d.permissions.join(", ")));
        }
    }
    for r in &set.refused {
        rows.push(json!({
            "name": r.name,
            "version": r.version,
            "interfaceVersion": r.interface_version,
            "path": r.path,
            "status": "refused",
            "reason": r.reason,
        }));
        human.push_str(&format!(
            "refused  {:<24} {:<8} {}\n         {}\n",
            r.name.as_deref().unwrap_or("?"),
            r.version.as_deref().unwrap_or("?"),
            r.path.display(),
            r.reason
        ));
    }
    if rows.is_empty() {
        human.push_str("No plugins found. Searched:\n");
        for p in &set.search_path {
            human.push_str(&format!("  {}\n", p.display()));
        }
    }
    let search_path: Vec<&Path> = set.search_path.iter().map(|p| p.as_path()).collect();
    CommandOutput::new(json!({ "plugins": rows, "searchPath": search_path }), human)
}
