//! The host's own reports: `version` (0.5's fields, then ours) and
//! `plugins` (every library found, loaded or refused, and why).

use super::VERSION;
use crate::output::OutputMode;
use crate::plugins::{self, PluginSet};
use agent_tty_core::text::{escape_path, Align, Table};
use agent_tty_plugin_api::{CommandOutput, INTERFACE_VERSION};
use serde_json::{json, Value};
use std::path::Path;

/// The protocol version agent-tty 0.5 reports; ours speaks the same
/// on-disk formats.
pub(super) const PROTOCOL_VERSION: &str = "0.1.0";

/// `version` (contract §3.17): 0.5's fields, then ours (`version`,
/// `interfaceVersion`, `plugins`) as a strict superset.
pub(super) fn version(set: &PluginSet, mode: OutputMode) -> CommandOutput {
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
pub(super) fn runtime_platform() -> (&'static str, &'static str) {
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
pub(super) const CAPABILITIES_05: [(&str, &[&str]); 6] = [
    ("snapshot", &["snapshot"]),
    ("wait", &["wait"]),
    ("screenshot", &["screenshot"]),
    ("record-export-asciicast", &["record", "export"]),
    ("record-export-webm", &["record", "export"]),
    ("dashboard", &[]),
];

/// [`CAPABILITIES_05`] as `version --json` and `doctor` report them.
pub(super) fn capabilities(set: &PluginSet) -> Vec<Value> {
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

pub(super) fn plugins_report(set: &PluginSet) -> CommandOutput {
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
            "path": p.path(),
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
        table.row(["loaded", &p.name, &p.version, &p.path().to_string_lossy()]);
        if !d.permissions.is_empty() {
            table.note(1, &format!("may: {}", d.permissions.join(", ")));
        }
        let drift = set.drifted.iter().find(|r| r.path == p.path());
        if let Some(drift) = drift {
            table.note(1, &drift.message());
        }
        // Only on a row whose plugin drifted (`plugins` reports describe
        // afresh; see `plugins::Drift`).
        if let (Some(d), Some(Value::Object(row))) = (drift, rows.last_mut()) {
            row.insert(
                "descriptionDrift".into(),
                json!({ "changed": d.changed, "message": d.message() }),
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
