//! The command line: global flags, built-in commands, and every plugin
//! command mounted from the plugins' descriptions.

use crate::output::{self, OutputMode};
use crate::plugins::{self, PluginSet};
use agent_tty_core::text::{escape_path, Align, Table};
use agent_tty_plugin_api::wire::PluginRequest;
use agent_tty_plugin_api::{
    ArgKind, ArgSpec, CommandContext, CommandOutput, CommandSpec, ErrorCode, Invocation,
    PluginError, ValueHint, INTERFACE_VERSION,
};
use clap::{Arg, ArgAction, ArgMatches, Command};
use serde_json::{json, Map, Value};
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs one invocation and returns the exit status.
///
/// Arguments arrive as OS strings: one that is not valid UTF-8 is refused
/// with `INVALID_INPUT` (every argument is text or a path that crosses the
/// plugin boundary as JSON text), never a panic.
pub fn run(os_args: Vec<OsString>) -> i32 {
    // `--remote`: the command runs on another machine; nothing is loaded here.
    if let Some(code) = crate::remote::forward(&os_args) {
        return code;
    }
    let lossy: Vec<String> = os_args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mode = OutputMode {
        json: wants_flag(&lossy, "--json"),
        no_color: wants_flag(&lossy, "--no-color"),
    };
    // `plugins` and `doctor` report on every library first-hand; everything
    // else trusts the description cache for unchanged files.
    let set = plugins::init(match leading_words(&lossy).first() {
        Some(&"plugins" | &"doctor") => plugins::Describe::Afresh,
        _ => plugins::Describe::Cached,
    });
    let cli = build_cli(set);
    if let Some(index) = os_args.iter().position(|a| a.to_str().is_none()) {
        let typed = typed_command(&cli, &lossy);
        let command = if typed.is_empty() {
            "agent-tty".to_owned()
        } else {
            typed.join(" ")
        };
        let err = PluginError::new(
            ErrorCode::InvalidInput,
            format!(
                "Argument {index} is not valid UTF-8 text ({:?}); agent-tty takes text, ids \
                 and paths as UTF-8",
                os_args[index]
            ),
        )
        .with_details(json!({ "argIndex": index, "lossy": lossy[index] }));
        return output::failure(mode, &command, &err);
    }
    let args = lossy;
    if let Some((words, err)) = set.missing_plugin_for(&leading_words(&args)) {
        return output::failure(mode, &words, &err);
    }
    let matches = match cli.clone().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) => return usage_failure(mode, &cli, &args, e),
    };
    let mode = OutputMode {
        json: matches.get_flag("json"),
        no_color: matches.get_flag("no-color"),
    };
    // What needs no Home never reads one: a Home with a broken
    // `config.json` must not stop `version` (its flags are still checked).
    let needs_home = !matches!(
        matches.subcommand_name(),
        Some("version" | "plugins" | "completions")
    );
    let context = match context(&matches, mode, needs_home) {
        Ok(c) => c,
        Err(e) => return output::failure(mode, "agent-tty", &e),
    };
    debug_log(
        &context,
        "context resolved",
        &json!({
            "home": context.home.as_ref().map(|h| &h.path),
            "logLevel": context.log_level,
            "profile": context.profile,
            "renderer": context.renderer,
            "timeoutMs": context.timeout_ms,
        }),
    );
    let Some((path, leaf)) = command_path(&matches) else {
        if mode.json {
            let err = PluginError::usage("no command given; see `agent-tty --help`");
            return output::failure(mode, "agent-tty", &err);
        }
        eprint!("{}", cli.clone().render_help());
        return 2;
    };
    let name = path.join(" ");
    match path.first().map(String::as_str) {
        Some("version") => return output::success(mode, &name, &version(set, mode)),
        Some("plugins") => return output::success(mode, &name, &plugins_report(set)),
        Some("completions") => {
            let tree = completion_tree(set, &cli);
            return match crate::completions::output(&tree, leaf.get_one::<String>("shell")) {
                Ok(out) => output::success(mode, &name, &out),
                Err(e) => output::failure(mode, &name, &e),
            };
        }
        _ => {}
    }
    match path.first().map(String::as_str) {
        Some("dashboard") => return crate::dashboard::run(set, &context, leaf, mode),
        Some("doctor") => {
            let out = crate::doctor::run(set, &context, leaf.get_flag("verbose"));
            return output::success(mode, &name, &out);
        }
        Some("remote") => return crate::remote::command::run(set, leaf_group(&matches), mode),
        _ => {}
    }
    let Some((plugin, spec)) = set.command(&path) else {
        return output::failure(
            mode,
            &name,
            &PluginError::usage(format!("unknown command `{name}`; see `agent-tty --help`")),
        );
    };
    debug_log(
        &context,
        "running command",
        &json!({ "command": name, "plugin": plugin.name }),
    );
    // A Session's host lives as long as its Session, whatever started it.
    let limit = context
        .timeout_ms
        .filter(|_| path != ["_host"])
        .map(Duration::from_millis);
    let invocation = Invocation {
        command: path.clone(),
        args: collect_args(spec, leaf),
        context,
    };
    let request = PluginRequest::Invoke { invocation };
    let outcome = within(limit, mode, &name, || plugin.call(&request)).and_then(|v| {
        CommandOutput::from_value(v).map_err(|e| {
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
            if path == ["home", "list"] && leaf.get_flag("remotes") {
                return crate::remote::fleet::with_local(mode, &name, out, leaf.get_flag("all"));
            }
            output::success(mode, &name, &out)
        }
        Err(e) => output::failure(mode, &name, &e),
    }
}

/// Runs `call`, bounded by `--timeout-ms` (contract §1.1: 0.5 validated
/// the flag and ignored it; ours bounds the whole command). When the limit
/// passes first, the `HOST_TIMEOUT` envelope is printed and the process
/// exits (5) at once: the command's work is abandoned mid-way, as a killed
/// 0.5 CLI would leave it (Sessions keep running; their hosts are separate
/// processes).
fn within<T: Send>(
    limit: Option<Duration>,
    mode: OutputMode,
    name: &str,
    call: impl FnOnce() -> T + Send,
) -> T {
    let Some(limit) = limit else {
        return call();
    };
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel();
        scope.spawn(move || {
            let _ = tx.send(call());
        });
        match rx.recv_timeout(limit) {
            Ok(answer) => answer,
            Err(_) => {
                let err = PluginError::new(
                    ErrorCode::HostTimeout,
                    format!(
                        "`agent-tty {name}` did not finish within --timeout-ms {} ms",
                        limit.as_millis()
                    ),
                )
                .with_details(json!({ "command": name, "timeoutMs": limit.as_millis() as u64 }));
                std::process::exit(output::failure(mode, name, &err));
            }
        }
    })
}

/// With `--log-level debug` (or `AGENT_TTY_LOG_LEVEL`, or the Home's
/// `logLevel`), one line on stderr in 0.5's form: `[agent-tty] debug:
/// <message> <json details>`. Never on stdout, so `--json` stays parseable.
fn debug_log(context: &CommandContext, message: &str, details: &serde_json::Value) {
    if context.log_level.as_deref() == Some("debug") {
        eprintln!("[agent-tty] debug: {message} {details}");
    }
}

/// The commands the host runs itself (besides `remote`, which clap
/// declares), mounted like plugin commands: one declaration gives their
/// help, their parsing and their completion.
fn built_ins() -> Vec<CommandSpec> {
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
fn globals() -> Vec<ArgSpec> {
    use agent_tty_core::config::{LOG_LEVELS, RENDERERS};
    let profiles: Vec<&str> = agent_tty_core::profile::PROFILES
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
fn global_arg(spec: &ArgSpec) -> Arg {
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
fn completion_tree(set: &PluginSet, cli: &Command) -> crate::completions::Tree {
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

/// Whether `flag` appears before `--` (decides the error format before the
/// real parse, which may be what fails).
fn wants_flag(args: &[String], flag: &str) -> bool {
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
const HELP_SECTIONS: &[(&str, &[&str])] = &[
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
fn grouped_commands(root: &Command) -> String {
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
fn mount(parent: Command, spec: &CommandSpec, rest: &[String], globals: &[ArgSpec]) -> Command {
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

fn leaf_command(spec: &CommandSpec, word: &str, globals: &[ArgSpec]) -> Command {
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
fn leaf_group(matches: &ArgMatches) -> &ArgMatches {
    matches.subcommand().map_or(matches, |(_, m)| m)
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

/// Resolves the invocation's context as 0.5 does, in its order: Home →
/// the Home's `config.json` → log level → profile → renderer, then
/// `--timeout-ms`. A failure here is the envelope's `"agent-tty"` command.
///
/// A Home that cannot be found at all (no `$HOME`, nothing explicit) is not
/// an error here: commands that need no Home (`version`, `plugins`) still
/// run, and the others report it through [`CommandContext::home`]. Those
/// commands do not read the Home's `config.json` either (`read_config`
/// false): a broken one is the Home's problem, not theirs.
fn context(
    matches: &ArgMatches,
    mode: OutputMode,
    read_config: bool,
) -> Result<CommandContext, PluginError> {
    use agent_tty_core::config::{read_trusted_home_config, LOG_LEVELS, RENDERERS};
    let text = |name: &str| matches.get_one::<String>(name).map(String::as_str);
    let env = |name: &str| std::env::var(name).ok();
    let flag = text("home");
    let env_value = env(agent_tty_core::home::HOME_ENV);
    let os_home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let explicit = flag.is_some() || env_value.is_some();
    let (home, home_error) =
        match agent_tty_core::home::resolve_home(flag, env_value.as_deref(), os_home.as_deref()) {
            Ok(h) => (Some(h), None),
            Err(e) if explicit => return Err(e.into()),
            Err(e) => (None, Some(e.to_string())),
        };
    let config = match &home {
        Some(h) if read_config => read_trusted_home_config(Path::new(&h.path))?,
        _ => Default::default(),
    };
    let log_level = text("log-level")
        .map(str::to_owned)
        .or_else(|| env("AGENT_TTY_LOG_LEVEL"))
        .or(config.log_level)
        .unwrap_or_else(|| "info".to_owned());
    if !LOG_LEVELS.contains(&log_level.as_str()) {
        return Err(PluginError::new(
            ErrorCode::InvalidInput,
            "Log level must be one of debug, info, warn, or error.",
        )
        .with_details(json!({ "logLevel": log_level })));
    }
    let profile = text("profile")
        .map(str::to_owned)
        .or_else(|| env("AGENT_TTY_PROFILE"))
        .or(config.default_profile);
    let renderer = text("renderer")
        .map(str::to_owned)
        .or_else(|| env("AGENT_TTY_RENDERER"))
        .or(config.default_renderer);
    if let Some(r) = renderer.as_deref().filter(|r| !RENDERERS.contains(r)) {
        return Err(PluginError::new(
            ErrorCode::InvalidInput,
            "Renderer must be one of: ghostty-web, libghostty-vt.",
        )
        .with_details(json!({ "renderer": r })));
    }
    let timeout_ms = match text("timeout-ms") {
        None => None,
        Some(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => {
            Some(t.parse::<u64>().unwrap_or(u64::MAX))
        }
        Some(t) => {
            return Err(PluginError::new(
                ErrorCode::InvalidDuration,
                "--timeout-ms must be a non-negative integer.",
            )
            .with_details(json!({ "value": t })))
        }
    };
    Ok(CommandContext {
        home,
        home_error,
        json: mode.json,
        color: !mode.no_color && output::color_allowed(),
        exe: std::env::current_exe()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
        log_level: Some(log_level),
        profile,
        renderer,
        idle_timeout_ms: config.idle_timeout_ms,
        timeout_ms,
    })
}

/// The protocol version agent-tty 0.5 reports; ours speaks the same
/// on-disk formats.
const PROTOCOL_VERSION: &str = "0.1.0";

/// `version` (contract §3.17): 0.5's fields, then ours (`version`,
/// `interfaceVersion`, `plugins`) as a strict superset.
fn version(set: &PluginSet, mode: OutputMode) -> CommandOutput {
    let plugins: Vec<Value> = set
        .loaded
        .iter()
        .map(|p| json!({ "name": p.name, "version": p.version }))
        .collect();
    let (platform, arch) = runtime_platform();
    let mut result = json!({
        "cliVersion": VERSION,
        "protocolVersion": PROTOCOL_VERSION,
        "rendererBackends": agent_tty_core::config::RENDERERS,
        "runtime": { "node": "none (native)", "platform": platform, "arch": arch },
    });
    if mode.json {
        result["capabilities"] = Value::Array(capabilities(set));
    }
    result["version"] = json!(VERSION);
    result["interfaceVersion"] = json!(INTERFACE_VERSION);
    result["plugins"] = json!(plugins);
    let mut human = format!(
        "agent-tty {VERSION}\nprotocol {PROTOCOL_VERSION}\nruntime native ({platform}/{arch})\n\
         plugin interface {INTERFACE_VERSION}\n"
    );
    let mut loaded = Table::new([Align::Left, Align::Left]).indent("  ");
    for p in &set.loaded {
        loaded.row([p.name.as_str(), p.version.as_str()]);
    }
    human.push_str(&loaded.render());
    CommandOutput::new(result, human)
}

/// Node's names for the platform and CPU (`linux`/`darwin`, `x64`/`arm64`).
fn runtime_platform() -> (&'static str, &'static str) {
    let platform = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        "x86" => "ia32",
        other => other,
    };
    (platform, arch)
}

/// 0.5's six capabilities, in its order, each available when the command
/// serving it is mounted (an empty path: the host's own). Written as 0.5
/// lists them; `capabilities_name_shipped_commands` checks the paths.
const CAPABILITIES_05: [(&str, &[&str]); 6] = [
    ("snapshot", &["snapshot"]),
    ("wait", &["wait"]),
    ("screenshot", &["screenshot"]),
    ("record-export-asciicast", &["record", "export"]),
    ("record-export-webm", &["record", "export"]),
    ("dashboard", &[]),
];

/// [`CAPABILITIES_05`] as `version --json` reports them.
fn capabilities(set: &PluginSet) -> Vec<Value> {
    CAPABILITIES_05
        .iter()
        .map(|(name, path)| {
            let path: Vec<String> = path.iter().map(|w| w.to_string()).collect();
            if path.is_empty() || set.command(&path).is_some() {
                json!({ "name": name, "status": "available" })
            } else {
                json!({
                    "name": name,
                    "status": "unavailable",
                    "reason": format!("no plugin provides `{}`", path.join(" ")),
                })
            }
        })
        .collect()
}

fn plugins_report(set: &PluginSet) -> CommandOutput {
    let mut rows: Vec<Value> = Vec::new();
    // Status, name, version, path; under a row, what the plugin may do or
    // why it was refused, aligned with its name.
    let mut table = Table::new([Align::Left, Align::Left, Align::Left, Align::Left]);
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
        table.row(["loaded", &p.name, &p.version, &p.path.to_string_lossy()]);
        if !d.permissions.is_empty() {
            table.note(1, &format!("may: {}", d.permissions.join(", ")));
        }
        let drift = set.drifted.iter().find(|r| r.path == p.path);
        if let Some(drift) = drift {
            table.note(1, &drift.message());
        }
        if let Some(Value::Object(row)) = rows.last_mut() {
            row.insert(
                "descriptionDrift".into(),
                drift.map_or(
                    Value::Null,
                    |d| json!({ "changed": d.changed, "message": d.message() }),
                ),
            );
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
        table.row([
            "refused",
            r.name.as_deref().unwrap_or("?"),
            r.version.as_deref().unwrap_or("?"),
            &r.path.to_string_lossy(),
        ]);
        table.note(1, &r.reason);
    }
    let mut human = table.render();
    if rows.is_empty() {
        human.push_str("No plugins found. Searched:\n");
        for p in &set.search_path {
            human.push_str(&format!("  {}\n", escape_path(p)));
        }
    }
    let search_path: Vec<&Path> = set.search_path.iter().map(|p| p.as_path()).collect();
    CommandOutput::new(
        json!({ "plugins": rows, "searchPath": search_path, "wellKnown": plugins::well_known() }),
        human,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::well_known_plugins;

    /// The commands agent-tty ships: its built-ins, `remote`, and the
    /// well-known words of its plugins (which `well_known.rs` checks
    /// against the plugins themselves).
    fn shipped_words() -> Vec<String> {
        let mut words: Vec<String> = built_ins().iter().map(|s| s.path[0].clone()).collect();
        words.push("remote".into());
        for (_, plugin_words) in well_known_plugins() {
            words.extend(plugin_words.iter().map(|w| w.to_string()));
        }
        words
    }

    #[test]
    fn help_sections_name_every_shipped_command() {
        let shipped = shipped_words();
        let listed: Vec<&str> = HELP_SECTIONS
            .iter()
            .flat_map(|(_, names)| names.iter().copied())
            .collect();
        for word in &shipped {
            assert!(
                listed.contains(&word.as_str()),
                "`{word}` is in no help section: add it to HELP_SECTIONS"
            );
        }
        for word in &listed {
            assert!(
                shipped.iter().any(|w| w == word),
                "HELP_SECTIONS lists `{word}`, which agent-tty does not ship"
            );
        }
        let mut unique = listed.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), listed.len(), "a command in two help sections");
    }

    #[test]
    fn capabilities_name_shipped_commands() {
        let shipped = shipped_words();
        for (name, path) in CAPABILITIES_05 {
            if let Some(word) = path.first() {
                assert!(
                    shipped.iter().any(|w| w == word),
                    "capability {name} names `{word}`, which agent-tty does not ship"
                );
            }
        }
    }

    #[test]
    fn leading_words_skip_every_global_option_that_takes_a_value() {
        for g in globals().iter().filter(|g| g.kind != ArgKind::Flag) {
            let args: Vec<String> = ["agent-tty", &format!("--{}", g.name), "x", "home", "list"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            assert_eq!(leading_words(&args), ["home", "list"], "--{}", g.name);
        }
        let args: Vec<String> = ["agent-tty", "--json", "list", "--", "x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(leading_words(&args), ["list"]);
    }

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
}
