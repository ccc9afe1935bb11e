//! What the dashboard needs from the host: capability calls and pane calls.
//!
//! The dashboard never loads plugins itself. The host binary implements
//! [`DashboardHost`] over its loaded plugin set; tests implement it with a
//! fake, so the whole app can be driven without a single library on disk.

use agent_tty_plugin_api::{KeyEvent, PaneAction, PaneContext, PaneFrame, PaneSpec, PluginError};
use serde_json::Value;

/// The pane role the dashboard opens with `H`.
pub const HOME_PICKER_ROLE: &str = "home-picker";

/// The plugin that ships the Home picker, named in the "not installed" hint.
pub const HOME_PICKER_PLUGIN: &str = "dashboard-home-picker";

/// A pane some loaded plugin declared. Two are the same pane when the same
/// plugin declared the same pane name.
#[derive(Debug, Clone)]
pub struct PaneInfo {
    /// The plugin that provides it.
    pub plugin: String,
    /// What the plugin declared.
    pub spec: PaneSpec,
}

impl PartialEq for PaneInfo {
    fn eq(&self, other: &Self) -> bool {
        self.plugin == other.plugin && self.spec.name == other.spec.name
    }
}

impl PaneInfo {
    /// Whether this pane is the Home picker.
    pub fn is_home_picker(&self) -> bool {
        self.spec.role.as_deref() == Some(HOME_PICKER_ROLE)
    }
}

/// The host's services, as the dashboard uses them. Called from worker
/// threads, never from the thread that draws, hence `Sync`.
pub trait DashboardHost: Sync {
    /// Calls a capability (`sessions.list`, `registry.homes`, …) of whichever
    /// plugin declares it.
    fn capability(&self, name: &str, args: Value) -> Result<Value, PluginError>;
    /// Every pane the loaded plugins declare.
    fn panes(&self) -> Vec<PaneInfo>;
    /// Opens an instance of a pane.
    fn pane_open(
        &self,
        pane: &PaneInfo,
        instance: u64,
        context: &PaneContext,
    ) -> Result<(), PluginError>;
    /// Draws a pane instance at this size.
    fn pane_render(
        &self,
        pane: &PaneInfo,
        instance: u64,
        width: u16,
        height: u16,
    ) -> Result<PaneFrame, PluginError>;
    /// Delivers a key to a pane instance.
    fn pane_key(
        &self,
        pane: &PaneInfo,
        instance: u64,
        key: &KeyEvent,
    ) -> Result<PaneAction, PluginError>;
    /// Drops a pane instance. Failures are ignored: the pane is gone from
    /// the dashboard either way.
    fn pane_close(&self, pane: &PaneInfo, instance: u64);
    /// Hands the terminal to `agent-tty attach` for a Session of `home`
    /// until the person detaches, then takes it back (the dashboard redraws
    /// everything afterwards). `Err` says why it could not. Hosts that own
    /// no terminal keep the default.
    fn attach(&self, _home: &str, _session_id: &str) -> Result<(), String> {
        Err("attaching is not available here".into())
    }
}
