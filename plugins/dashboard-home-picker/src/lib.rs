//! The dashboard's Home picker: a pane listing the registered Homes, through
//! the same `registry.homes` capability (and so the same listing function and
//! scope) as `agent-tty home list`.
//!
//! The pane only reads. Listing Homes never reconciles a Session and never
//! writes a file; when a person chooses a Home the pane answers
//! [`PaneAction::SwitchHome`] and the dashboard enters it, which is the one
//! place a reconcile happens. The active/all toggle is the dashboard's own
//! scope: the pane reports a change with [`PaneAction::SetScope`].
//!
//! The picker logic lives in [`Picker`], a plain struct with pure key
//! handling and drawing; the plugin glue around it only loads Homes and
//! converts the drawing into a [`PaneFrame`].

mod picker;

pub use picker::{HomeRow, Picker};

use agent_tty_plugin_api::{
    export_plugin, CommandContext, Host, KeyEvent, Pane, PaneAction, PaneContext, PaneFrame,
    PaneSpec, Plugin, PluginDescription, PluginError,
};
use serde_json::json;
use std::time::SystemTime;

/// The plugin: one pane with the `home-picker` role, opened with `H`.
#[derive(Default)]
pub struct HomePickerPlugin;

impl Plugin for HomePickerPlugin {
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
        Ok(Box::new(PickerPane { picker }))
    }
}

/// Asks the registry plugin for the Homes in scope (read-only: the registry
/// scans manifests without reconciling).
fn list_homes(host: &Host, all: bool) -> Result<Vec<HomeRow>, String> {
    let value = host
        .capability(
            "registry.homes",
            json!({ "all": all }),
            &CommandContext::default(),
        )
        .map_err(|e| e.message)?;
    picker::parse_homes(value)
}

struct PickerPane {
    picker: Picker,
}

impl Pane for PickerPane {
    fn render(&mut self, _host: &Host, width: u16, height: u16) -> PaneFrame {
        PaneFrame::from_buffer(&self.picker.render(width, height, SystemTime::now()))
    }

    fn key(&mut self, host: &Host, key: &KeyEvent) -> PaneAction {
        let action = self.picker.key(key);
        if let PaneAction::SetScope { all } = action {
            self.picker.set_homes(list_homes(host, all));
        }
        action
    }
}

export_plugin!("dashboard-home-picker", HomePickerPlugin::default);
