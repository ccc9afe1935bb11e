//! The invocation's context, resolved as 0.5 resolves it (CONTRACT.md
//! §1.2): the Home, its `config.json`, the log level, the profile, the
//! renderer, `--timeout-ms`.

use crate::output::{self, OutputMode};
use agent_tty_plugin_api::{CommandContext, ErrorCode, PluginError};
use clap::ArgMatches;
use serde_json::json;
use std::path::Path;

/// Resolves the invocation's context as 0.5 does, in its order: Home →
/// the Home's `config.json` → log level → profile → renderer, then
/// `--timeout-ms`. A failure here is the envelope's `"agent-tty"` command.
///
/// A Home that cannot be found at all (no `$HOME`, nothing explicit) is not
/// an error here: commands that need no Home (`version`, `plugins`) still
/// run, and the others report it through [`CommandContext::home`]. Those
/// commands do not read the Home's `config.json` either (`read_config`
/// false): a broken one is the Home's problem, not theirs.
pub(super) fn context(
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
            // Only the message: whoever needs a Home reports it under its
            // own code.
            Err(e) => (None, Some(PluginError::from(e).message)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::command_line::{global_arg, globals};
    use clap::Command;
    use rstest::rstest;

    /// The global options parsed from `args` (after the program name).
    fn matches(args: &[&str]) -> ArgMatches {
        let mut cli = Command::new("agent-tty");
        for g in &globals() {
            cli = cli.arg(global_arg(g));
        }
        cli.try_get_matches_from(std::iter::once("agent-tty").chain(args.iter().copied()))
            .unwrap()
    }

    fn resolve(args: &[&str]) -> Result<CommandContext, PluginError> {
        let home = tempfile::tempdir().unwrap();
        let mut all = vec!["--home", home.path().to_str().unwrap()];
        all.extend(args);
        let mode = OutputMode {
            json: true,
            json_failures: true,
            no_color: true,
        };
        context(&matches(&all), mode, false)
    }

    #[rstest]
    #[case::log_level(&["--log-level", "loud"], ErrorCode::InvalidInput, "Log level must be one of")]
    #[case::renderer(&["--renderer", "x"], ErrorCode::InvalidInput, "Renderer must be one of")]
    #[case::timeout(&["--timeout-ms", "1.5"], ErrorCode::InvalidDuration, "--timeout-ms must be")]
    #[case::empty_timeout(&["--timeout-ms", ""], ErrorCode::InvalidDuration, "--timeout-ms must be")]
    fn bad_values_are_refused_with_0_5s_words(
        #[case] args: &[&str],
        #[case] code: ErrorCode,
        #[case] message: &str,
    ) {
        let err = resolve(args).unwrap_err();
        assert_eq!(err.code, code);
        assert!(err.message.starts_with(message), "{}", err.message);
    }

    #[test]
    fn flags_win_and_a_huge_timeout_saturates() {
        let c = resolve(&[
            "--log-level",
            "debug",
            "--profile",
            "reference-light",
            "--renderer",
            "ghostty-web",
            "--timeout-ms",
            "99999999999999999999999",
        ])
        .unwrap();
        assert_eq!(c.log_level.as_deref(), Some("debug"));
        assert_eq!(c.profile.as_deref(), Some("reference-light"));
        assert_eq!(c.renderer.as_deref(), Some("ghostty-web"));
        assert_eq!(c.timeout_ms, Some(u64::MAX));
        assert!(c.home.unwrap().explicit);
    }
}
