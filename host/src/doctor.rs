//! `doctor`: can this machine run Sessions? (contract §3.18, adapted: no
//! Node, no browser, but plugins, a PTY, sockets, a Home, the Home Registry
//! and the terminal engine and fonts that draw screenshots).
//!
//! The result is 0.5's shape, `{ok, checks: {environment, renderer},
//! capabilities}`, since 0.5's scripts read it whole; the checks in each
//! group are ours. The host runs it, not a plugin, because the first thing
//! it must be able to say is which plugins are missing: with none installed
//! it still answers. The host checks the plugins itself (the end of
//! `environment`); the checks that need the sessions plugin come from its
//! `sessions.doctor` capability when it is loaded (its `environment` and
//! `terminal` groups: the latter is our `renderer`). `result.ok` is false
//! when any check fails, and the command then exits 1 with a *successful*
//! envelope, as 0.5's does. Check names are the same in the text and in
//! `--json`.

use crate::plugins::{not_installed, well_known_plugins, PluginSet};
use agent_tty_plugin_api::{CommandContext, CommandOutput};
use serde_json::{json, Map, Value};

/// The sessions plugin's capability serving its checks.
const SESSIONS_DOCTOR: &str = "sessions.doctor";

/// One check as reported: `{name, status, message, durationMs}`.
fn check(name: &str, status: &str, message: impl Into<String>) -> Value {
    json!({ "name": name, "status": status, "message": message.into(), "durationMs": 0 })
}

/// Runs `doctor`; `capabilities` are `version --json`'s, as 0.5 lists them
/// in both.
pub fn run(
    set: &PluginSet,
    context: &CommandContext,
    verbose: bool,
    capabilities: Vec<Value>,
) -> CommandOutput {
    let (environment, renderer) = if set.by_name("sessions").is_some() {
        match set.capability(SESSIONS_DOCTOR, json!({}), context) {
            Ok(groups) => (groups["environment"].clone(), groups["terminal"].clone()),
            Err(e) => (
                json!([check(
                    "sessions-checks",
                    "fail",
                    format!(
                        "the sessions plugin could not run its checks: {}",
                        e.message
                    )
                )]),
                json!([]),
            ),
        }
    } else {
        let missing = not_installed("sessions", "creating and driving Sessions");
        (
            json!([check("sessions-plugin", "fail", missing.message)]),
            json!([check(
                "terminal-engine",
                "skip",
                "not checked: the engine is in the sessions plugin"
            )]),
        )
    };
    let mut environment = environment.as_array().cloned().unwrap_or_default();
    environment.extend(plugin_checks(set));
    let groups = [
        ("environment", "Environment", Value::Array(environment)),
        ("renderer", "Renderer", renderer),
    ];
    let failed = |checks: &Value| {
        checks
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["status"] == "fail")
    };
    let ok = !groups.iter().any(|(_, _, checks)| failed(checks));
    let mut human = Vec::new();
    for (_, title, checks) in &groups {
        if !human.is_empty() {
            human.push(String::new());
        }
        human.push(format!("{title}:"));
        for c in checks.as_array().into_iter().flatten() {
            let mark = match c["status"].as_str() {
                Some("pass") => "✓",
                Some("fail") => "✗",
                _ => "○",
            };
            let timing = if verbose {
                format!(" ({} ms)", c["durationMs"])
            } else {
                String::new()
            };
            human.push(format!(
                "  {mark} {}: {}{timing}",
                c["name"].as_str().unwrap_or_default(),
                c["message"].as_str().unwrap_or_default()
            ));
        }
    }
    let checks: Map<String, Value> = groups
        .into_iter()
        .map(|(key, _, checks)| (key.to_owned(), checks))
        .collect();
    CommandOutput {
        result: json!({ "ok": ok, "checks": checks, "capabilities": capabilities }),
        human: Some(human.join("\n")),
        exit_code: if ok { 0 } else { 1 },
        ..Default::default()
    }
}

/// What was loaded, which of agent-tty's own plugins are missing (a
/// failure only for `sessions`, without which nothing runs), and what was
/// refused and why.
fn plugin_checks(set: &PluginSet) -> Vec<Value> {
    let loaded: Vec<String> = set
        .loaded
        .iter()
        .map(|p| format!("{} {}", p.name, p.version))
        .collect();
    let mut checks = vec![check(
        "plugins-loaded",
        if loaded.is_empty() { "fail" } else { "pass" },
        if loaded.is_empty() {
            "no plugins found (see `agent-tty plugins` for where they are looked for)".to_owned()
        } else {
            format!("{} plugin(s): {}", loaded.len(), loaded.join(", "))
        },
    )];
    for (plugin, words) in well_known_plugins() {
        let refused = set
            .refused
            .iter()
            .any(|r| r.name.as_deref() == Some(plugin));
        if set.by_name(plugin).is_some() || refused {
            continue;
        }
        let commands = words
            .iter()
            .map(|w| format!("`{w}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let missing = not_installed(plugin, &commands);
        checks.push(check(
            "plugin-missing",
            if plugin == "sessions" { "fail" } else { "skip" },
            missing.message,
        ));
    }
    for d in &set.drifted {
        checks.push(check("plugin-description", "fail", d.message()));
    }
    for r in &set.refused {
        let name = r
            .name
            .clone()
            .unwrap_or_else(|| r.path.to_string_lossy().into_owned());
        checks.push(check(
            "plugin-refused",
            "fail",
            format!("{name}: {}", r.reason),
        ));
    }
    checks
}
