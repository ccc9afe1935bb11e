//! The dashboard's Home picker: a pane listing the registered Homes, through
//! the same `registry.homes` capability (and so the same listing function and
//! scope) as `agent-tty home list`.
//!
//! The pane only reads. Listing Homes never reconciles a Session and never
//! writes a file, and neither does the preview of the highlighted Home's
//! Sessions (`sessions.list` with `reconcile: false`, plus a `stat` of each
//! Event Log for its last activity). When a person chooses a Home the pane
//! answers [`PaneAction::SwitchHome`] and the dashboard enters it, which is
//! the one place a reconcile happens. The picker's active/all toggle is its
//! own: Esc returns to the dashboard with its scope unchanged.
//!
//! The picker logic lives in [`Picker`], a plain struct with pure key
//! handling and drawing; the plugin glue around it only loads Homes and
//! converts the drawing into a [`PaneFrame`].

mod picker;

pub use picker::{HomeRow, Picker, PreviewRow, SortBy};

use agent_tty_core::layout::SessionDir;
use agent_tty_core::manifest::Status;
use agent_tty_plugin_api::{
    export_plugin, CommandContext, Host, KeyEvent, Pane, PaneAction, PaneContext, PaneFrame,
    PaneSpec, Plugin, PluginDescription, PluginError,
};
use serde_json::{json, Value};
use std::path::Path;
use std::time::SystemTime;

/// The plugin: one pane with the `home-picker` role, opened with `H`.
#[derive(Default)]
pub struct HomePickerPlugin;

impl Plugin for HomePickerPlugin {
    /// None: the host need not open this plugin to announce anything.
    fn events(&self) -> Vec<String> {
        Vec::new()
    }

    fn describe(&self) -> PluginDescription {
        PluginDescription {
            panes: vec![PaneSpec {
                name: "home-picker".into(),
                title: "Homes".into(),
                key: Some('H'),
                role: Some("home-picker".into()),
            }],
            ..Default::default()
        }
    }

    fn open_pane(
        &self,
        host: &Host,
        _pane: &str,
        context: &PaneContext,
    ) -> Result<Box<dyn Pane>, PluginError> {
        let mut picker = Picker::new(&context.current_home, context.scope_all);
        picker.set_homes(list_homes(host, context.scope_all));
        load_preview(host, &mut picker);
        Ok(Box::new(PickerPane { picker }))
    }
}

/// Asks the registry plugin for the Homes in scope (read-only: the registry
/// scans manifests without reconciling).
fn list_homes(host: &Host, all: bool) -> Result<Vec<HomeRow>, String> {
    let value = host
        .capability(
            "registry.homes",
            // `remotes`: the host adds the named remotes' Homes, each with
            // its `machine` (a host that does not know it ignores it).
            json!({ "all": all, "remotes": true }),
            &CommandContext::default(),
        )
        .map_err(|e| e.message)?;
    picker::parse_homes(value)
}

/// Loads the highlighted Home's preview when it is not loaded yet.
fn load_preview(host: &Host, picker: &mut Picker) {
    if let Some(home) = picker.wants_preview() {
        let preview = preview_home(host, &home);
        picker.set_preview(&home, preview);
    }
}

/// The Sessions of a Home, without reconciling any of them.
fn preview_home(host: &Host, home: &str) -> Result<Vec<PreviewRow>, String> {
    let value = host
        .capability(
            "sessions.list",
            json!({ "home": home, "all": true, "reconcile": false }),
            &CommandContext::default(),
        )
        .map_err(|e| e.message)?;
    let Some(sessions) = value.get("sessions").and_then(Value::as_array) else {
        return Err("the sessions plugin answered with an unexpected listing".into());
    };
    Ok(sessions.iter().map(|s| preview_row(home, s)).collect())
}

fn preview_row(home: &str, s: &Value) -> PreviewRow {
    let text = |key: &str| s.get(key).and_then(Value::as_str).unwrap_or_default();
    let id = text("sessionId");
    let status = text("status");
    let exit_code = s
        .get("exitCode")
        .and_then(Value::as_i64)
        .and_then(|c| i32::try_from(c).ok());
    let exit_signal = s.get("exitSignal").and_then(Value::as_str);
    let foreign = s.get("foreign").and_then(Value::as_bool).unwrap_or(false);
    // The Event Log's last change is the Session's last activity; a
    // Session that never wrote one falls back to its manifest's.
    let log = agent_tty_core::home::session_dir(Path::new(home), id)
        .ok()
        .map(|d| SessionDir::new(&d).event_log());
    let last_activity = log
        .and_then(|l| std::fs::metadata(l).ok())
        .and_then(|m| m.modified().ok())
        .or_else(|| agent_tty_core::time::parse_iso(text("updatedAt")));
    let name = s.get("name").and_then(Value::as_str).unwrap_or(id);
    PreviewRow {
        name: printable(name),
        status: agent_tty_core::text::status_wording(status, exit_code, exit_signal, foreign),
        active: s
            .get("status")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Status>().ok())
            .is_some_and(Status::is_active),
        last_activity,
    }
}

/// Untrusted text (names, commands, paths, error messages) escaped for
/// the terminal by the one helper every command uses.
fn printable(text: &str) -> String {
    agent_tty_core::text::escape(text).into_owned()
}

struct PickerPane {
    picker: Picker,
}

impl Pane for PickerPane {
    fn render(&mut self, _host: &Host, width: u16, height: u16) -> PaneFrame {
        self.picker.frame(width, height, SystemTime::now())
    }

    fn key(&mut self, host: &Host, key: &KeyEvent) -> PaneAction {
        let all = self.picker.scope_all();
        let action = self.picker.key(key);
        if self.picker.scope_all() != all {
            self.picker
                .set_homes(list_homes(host, self.picker.scope_all()));
        }
        load_preview(host, &mut self.picker);
        action
    }
}

export_plugin!("dashboard-home-picker", HomePickerPlugin::default);
