//! The command line: global flags, built-in commands, and every plugin
//! command mounted from the plugins' descriptions. [`run`] takes one
//! invocation from argv to exit status; its jobs live beside it:
//! [`command_line`] builds clap's tree from the command table, [`argv`]
//! reads what clap cannot yet parse and words its usage errors, [`context`](mod@context)
//! resolves the Home, log level, profile and renderer as 0.5 does, and
//! [`reports`] answers `version` and `plugins`.

mod argv;
mod command_line;
mod context;
mod reports;

pub(crate) use argv::leading_words;

use crate::output::{self, OutputMode};
use crate::plugins;
use agent_tty_plugin_api::wire::{PluginRequest, RawCommandOutput, Response};
use agent_tty_plugin_api::{CommandContext, CommandOutput, ErrorCode, Invocation, PluginError};
use argv::{typed_command, usage_failure, wants_flag};
use command_line::{build_cli, collect_args, command_path, completion_tree, leaf_group};
use context::context;
use reports::{plugins_report, version};
use serde_json::json;
use std::ffi::OsString;
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
    // Until argv is parsed (and for every failure after), JSON is the
    // literal word `--json` before `--`.
    let typed_json = wants_flag(&lossy, "--json");
    let mode = OutputMode {
        json: typed_json,
        json_failures: typed_json,
        no_color: wants_flag(&lossy, "--no-color"),
    };
    // `plugins` and `doctor` report on every library first-hand; everything
    // else trusts the description cache for unchanged files.
    let set = plugins::init(match leading_words(&lossy).first() {
        Some(&"plugins" | &"doctor") => plugins::Describe::Afresh,
        _ => plugins::Describe::Cached,
    });
    let mut cli = build_cli(set);
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
    // The tree is never cloned (a clone and its drop were ~9 % of every
    // command's start-up instructions, ADR 0023): the rare paths that need
    // it again (a usage error, no command, completions) build it anew. Nor
    // is it freed: one process runs one command, and freeing the tree's
    // thousands of small allocations was another ~12 %.
    let parsed = cli.try_get_matches_from_mut(&args);
    std::mem::forget(cli);
    let matches = match parsed {
        Ok(m) => m,
        Err(e) => return usage_failure(mode, &build_cli(set), &args, e),
    };
    let mode = OutputMode {
        json: matches.get_flag("json"),
        json_failures: typed_json,
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
        if mode.json || mode.json_failures {
            let err = PluginError::usage("no command given; see `agent-tty --help`");
            return output::failure(mode, "agent-tty", &err);
        }
        eprint!("{}", build_cli(set).render_help());
        return 2;
    };
    let name = path.join(" ");
    match path.first().map(String::as_str) {
        Some("version") => return output::success(mode, &name, &version(set, mode)),
        Some("plugins") => return output::success(mode, &name, &plugins_report(set)),
        Some("completions") => {
            let tree = completion_tree(set, &build_cli(set));
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
            let capabilities = reports::capabilities(set);
            let out = crate::doctor::run(set, &context, leaf.get_flag("verbose"), capabilities);
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
    let answer = match within(limit, mode, &name, || plugin.call_text(&request)) {
        Ok(answer) => answer,
        Err(e) => return output::failure(mode, &name, &e),
    };
    let remotes = path == ["home", "list"] && leaf.get_flag("remotes");
    // The usual way: the result printed as the plugin wrote it, never
    // parsed into a tree (ADR 0023). A failure, a malformed answer or a
    // fleet listing (which merges the rows) is read in full below.
    if let Some(mut out) = RawCommandOutput::parse(answer.as_str()).filter(|_| !remotes) {
        for event in &out.events {
            out.warnings.extend(set.announce(event));
        }
        return output::success_raw(mode, &name, &out);
    }
    let outcome = Response::parse(answer.as_str()).and_then(|v| {
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
            if remotes {
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

#[cfg(test)]
mod tests {
    use super::command_line::{built_ins, HELP_SECTIONS};
    use super::reports::CAPABILITIES_05;
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

    /// `--remote` leaves some host commands here; the list names them
    /// by hand, so each entry must be a host command, and every name the
    /// dashboard answers to must be on it.
    #[test]
    fn commands_kept_local_are_host_commands_under_all_their_names() {
        use crate::remote::forward::LOCAL_ONLY;
        let specs = built_ins();
        let host_words: Vec<&str> = specs
            .iter()
            .flat_map(|s| {
                std::iter::once(s.path[0].as_str()).chain(s.aliases.iter().map(String::as_str))
            })
            .chain(["remote"])
            .collect();
        for word in LOCAL_ONLY {
            assert!(
                host_words.contains(word),
                "LOCAL_ONLY names `{word}`, no host command"
            );
        }
        for spec in specs
            .iter()
            .filter(|s| LOCAL_ONLY.contains(&s.path[0].as_str()))
        {
            for alias in &spec.aliases {
                assert!(
                    LOCAL_ONLY.contains(&alias.as_str()),
                    "`{alias}` ({}) is missing from LOCAL_ONLY",
                    spec.path[0]
                );
            }
        }
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
}
