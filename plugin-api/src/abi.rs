//! The FFI-level root module. Plugin authors use [`crate::export_plugin!`]
//! instead of these types; they are public so the macro can name them.

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    sabi_types::VersionStrings,
    std_types::{RStr, RString},
    StableAbi,
};

/// What the host lends a plugin for the duration of one call: a way back into
/// the host ("call capability X of whichever plugin provides it").
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct HostCallbacks {
    /// Takes a JSON [`crate::wire::HostRequest`] and returns a JSON
    /// [`crate::wire::Response`].
    pub call: extern "C" fn(request: RStr<'_>) -> RString,
}

/// The root module every plugin exports. Frozen: grow the JSON protocol, not
/// this struct.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
#[sabi(missing_field(panic))]
pub struct PluginModule {
    /// [`crate::INTERFACE_VERSION`] as the plugin saw it when it was built.
    pub interface_version: u32,
    /// The plugin's short name, e.g. `registry`. The first plugin of a name wins.
    pub name: RStr<'static>,
    /// The plugin's own version.
    pub version: RStr<'static>,
    /// Handles one JSON [`crate::wire::PluginRequest`], returning a JSON
    /// [`crate::wire::Response`]. Never unwinds: panics become `INTERNAL_ERROR`.
    #[sabi(last_prefix_field)]
    pub call: extern "C" fn(host: HostCallbacks, request: RStr<'_>) -> RString,
}

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "agent_tty_plugin";
    const NAME: &'static str = "agent_tty_plugin";
    // Frozen, whatever the crate versions: abi_stable refuses a library whose
    // root-module version is not compatible with the loader's (for 0.x, a
    // different minor). Compatibility is INTERFACE_VERSION's job.
    const VERSION_STRINGS: VersionStrings = VersionStrings::new(ABI_VERSION);
}

/// The version abi_stable checks on the root module at load: frozen at
/// `0.1.0` (see [`PluginModuleRef`]'s `RootModule` impl). Not the crate's
/// version and not the interface's; [`crate::INTERFACE_VERSION`] is the one
/// that decides compatibility.
pub const ABI_VERSION: &str = "0.1.0";
