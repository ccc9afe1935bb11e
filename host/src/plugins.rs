//! The loaded plugin set: loading, routing commands and capabilities, and
//! announcing host events.

use crate::discovery;
use crate::loader::{self, KnownPlugin, RefusedPlugin};
use crate::plugin_cache::{Described, PluginCache};
use agent_tty_plugin_api::wire::{HostRequest, PluginRequest, Response};
use agent_tty_plugin_api::{CommandContext, CommandSpec, ErrorCode, HostEvent, PluginError};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Every library found: the ones in use and the ones refused.
pub struct PluginSet {
    pub loaded: Vec<KnownPlugin>,
    pub refused: Vec<RefusedPlugin>,
    pub search_path: Vec<PathBuf>,
    /// Libraries described afresh whose answer differs from the one cached
    /// for the same unchanged file (only with [`Describe::Afresh`]).
    pub drifted: Vec<Drift>,
}

/// A plugin whose description changed while its file did not: it depends
/// on something besides the library (the environment, a file, the time),
/// so other commands, which trust the cache, may see a stale one.
pub struct Drift {
    pub path: PathBuf,
    pub name: String,
    /// What differs, e.g. `permissions, commands`.
    pub changed: String,
}

impl Drift {
    /// One sentence for `plugins` and `doctor`.
    pub fn message(&self) -> String {
        format!(
            "the {} plugin ({}) described itself differently than when it was cached, though \
             its file is unchanged ({} differ): its description depends on something besides \
             the library, so commands may see a stale one; its author should make `describe` \
             depend on the library alone (docs/PLUGINS.md)",
            self.name,
            agent_tty_core::text::escape_path(&self.path),
            self.changed
        )
    }
}

static PLUGINS: OnceLock<PluginSet> = OnceLock::new();

/// The commands that ship with agent-tty's own plugins, so a missing plugin
/// gets "the X plugin is not installed" rather than "unknown command".
///
/// Kept honest by `tests/tests/e2e/well_known.rs`: every command word (and
/// alias) of every shipped plugin is listed here with its plugin, and every
/// entry here is a command of the plugin it names. `agent-tty plugins --json`
/// shows the list (`wellKnown`) so the test reads the real one.
const WELL_KNOWN: &[(&str, &str)] = &[
    ("create", "sessions"),
    ("list", "sessions"),
    ("ls", "sessions"),
    ("inspect", "sessions"),
    ("destroy", "sessions"),
    ("type", "sessions"),
    ("paste", "sessions"),
    ("send-keys", "sessions"),
    ("run", "sessions"),
    ("wait", "sessions"),
    ("snapshot", "sessions"),
    ("mark", "sessions"),
    ("batch", "sessions"),
    ("resize", "sessions"),
    ("signal", "sessions"),
    ("follow", "sessions"),
    ("click", "sessions"),
    ("scroll", "sessions"),
    ("attach", "sessions"),
    ("_host", "sessions"),
    ("home", "registry"),
    ("gc", "gc-sweeper"),
    ("screenshot", "capture"),
    ("record", "capture"),
    ("skills", "skills"),
    ("mcp", "mcp"),
];

/// Which of those words are command groups (`home list`, `record export`).
/// Checked with [`WELL_KNOWN`] by `tests/tests/e2e/well_known.rs`.
const GROUPS: &[&str] = &["home", "record", "skills"];

/// The well-known command words, their plugins, and whether each is a
/// group, for `plugins --json` (where the e2e tests read them).
pub fn well_known() -> serde_json::Value {
    WELL_KNOWN
        .iter()
        .map(|(word, plugin)| {
            serde_json::json!({ "command": word, "plugin": plugin, "group": GROUPS.contains(word) })
        })
        .collect()
}

/// agent-tty's own command plugins, in [`WELL_KNOWN`]'s order, each with
/// the commands it serves (hidden ones and aliases left out), for
/// `doctor`'s report of what is missing.
pub fn well_known_plugins() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut plugins: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for &(word, plugin) in WELL_KNOWN {
        if word.starts_with('_') || word == "ls" {
            continue;
        }
        match plugins.iter_mut().find(|(p, _)| *p == plugin) {
            Some((_, words)) => words.push(word),
            None => plugins.push((plugin, vec![word])),
        }
    }
    plugins
}

/// How [`init`] learns what each plugin offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Describe {
    /// From the plugin description cache where the file is unchanged; only
    /// new or changed libraries are opened now, the rest when first called.
    Cached,
    /// Open and describe every library now, and refresh the cache
    /// (`agent-tty plugins` and `doctor`, whose reports must be first-hand).
    Afresh,
}

/// Finds every plugin on the search path and installs the handler through
/// which plugins reach each other. A library is opened only when something
/// is sent to it (or when it must be described), so a command pays for the
/// plugins it uses, not for every plugin installed.
pub fn init(how: Describe) -> &'static PluginSet {
    PLUGINS.get_or_init(|| {
        loader::set_host_handler(handle_host_request);
        let search_path = discovery::search_path();
        let discovery::Found {
            candidates,
            refused: untrusted,
        } = discovery::candidates(&search_path);
        let mut cache = PluginCache::open();
        let mut drifted = Vec::new();
        let mut loaded: Vec<KnownPlugin> = Vec::new();
        let mut refused: Vec<RefusedPlugin> = untrusted
            .into_iter()
            .map(|r| RefusedPlugin {
                path: r.path,
                name: None,
                version: None,
                interface_version: None,
                reason: r.reason,
            })
            .collect();
        for found in &candidates {
            let (path, identity) = (&found.path, &found.identity);
            let before = cache.lookup(path, *identity).cloned();
            let outcome = match (how, before) {
                (Describe::Cached, Some(d)) => Ok(loader::described(
                    found,
                    d.name,
                    d.version,
                    d.interface_version,
                    d.description,
                )),
                (_, before) => {
                    let outcome = loader::load(found);
                    // Only what a library said of itself is cached; a refusal
                    // may depend on the environment and is retried next time.
                    if let Ok(plugin) = &outcome {
                        let fresh = Described {
                            name: plugin.name.clone(),
                            version: plugin.version.clone(),
                            interface_version: plugin.interface_version,
                            description: plugin.description.clone(),
                        };
                        if let Some(changed) = before.and_then(|b| b.drift(&fresh)) {
                            drifted.push(Drift {
                                path: path.clone(),
                                name: plugin.name.clone(),
                                changed,
                            });
                        }
                        cache.record(path, *identity, fresh);
                    }
                    outcome
                }
            };
            match outcome {
                Ok(plugin) => match loaded.iter().find(|p| p.name == plugin.name) {
                    Some(first) => refused.push(plugin.refusal(format!(
                        "{} is another copy of the {} plugin; the first one found, {}, is in use",
                        path.display(),
                        plugin.name,
                        first.path().display()
                    ))),
                    None => loaded.push(plugin),
                },
                Err(r) => refused.push(r),
            }
        }
        let found: Vec<PathBuf> = candidates.into_iter().map(|c| c.path).collect();
        cache.save(&found);
        PluginSet {
            loaded,
            refused,
            search_path,
            drifted,
        }
    })
}

impl PluginSet {
    /// The plugin and spec that own a command path.
    pub fn command(&self, path: &[String]) -> Option<(&KnownPlugin, &CommandSpec)> {
        self.loaded.iter().find_map(|p| {
            p.description
                .commands
                .iter()
                .find(|c| c.path == path)
                .map(|c| (p, c))
        })
    }

    /// A loaded plugin by name.
    pub fn by_name(&self, name: &str) -> Option<&KnownPlugin> {
        self.loaded.iter().find(|p| p.name == name)
    }

    /// If the typed words start with a command of one of agent-tty's own
    /// plugins that is not loaded, the command's name (e.g. `home list`) and
    /// the error to show instead of "unknown command".
    pub fn missing_plugin_for(&self, words: &[&str]) -> Option<(String, PluginError)> {
        let first = *words.first()?;
        let (_, plugin) = WELL_KNOWN.iter().find(|(w, _)| *w == first)?;
        if self.by_name(plugin).is_some() {
            return None;
        }
        let name = match words.get(1) {
            Some(sub) if GROUPS.contains(&first) => format!("{first} {sub}"),
            _ => first.to_owned(),
        };
        let err = match self
            .refused
            .iter()
            .find(|r| r.name.as_deref() == Some(plugin))
        {
            // It is there but could not be used: say why, not "install it".
            Some(r) => PluginError::new(
                ErrorCode::PluginNotInstalled,
                format!(
                    "the {plugin} plugin was refused, so `{name}` is unavailable: {}",
                    r.reason
                ),
            )
            .with_details(serde_json::json!({ "plugin": plugin, "path": r.path })),
            None => not_installed(plugin, &format!("`{name}`")),
        };
        Some((name, err))
    }

    /// Calls a capability of whichever plugin declares it, on the host's own
    /// behalf (e.g. the dashboard): the host may call anything.
    pub fn capability(
        &self,
        name: &str,
        args: Value,
        context: &CommandContext,
    ) -> Result<Value, PluginError> {
        self.capability_for(Caller::Host, name, args, context)
    }

    /// Calls a capability for `caller`. A call with a side effect that the
    /// provider guards by a permission (its `effects`) is refused with
    /// `PERMISSION_DENIED` unless the calling plugin declared that permission.
    pub fn capability_for(
        &self,
        caller: Caller<'_>,
        name: &str,
        args: Value,
        context: &CommandContext,
    ) -> Result<Value, PluginError> {
        if name == HOST_PLUGINS_CAPABILITY {
            return Ok(self.report());
        }
        // Other machines' Homes and Sessions (the dashboard and its picker).
        if let Some(answer) = crate::remote::dashboard::intercept(name, &args, |args| {
            self.capability_for(caller, name, args, context)
        }) {
            return answer;
        }
        let provider = self
            .loaded
            .iter()
            .find(|p| p.description.capabilities.iter().any(|c| c == name))
            .ok_or_else(|| {
                let owner = name.split('.').next().unwrap_or(name);
                not_installed(owner, &format!("capability {name}"))
            })?;
        if let Caller::Plugin(who) = caller {
            let declared: &[String] = who
                .and_then(|n| self.by_name(n))
                .map_or(&[], |p| &p.description.permissions);
            for effect in &provider.description.effects {
                if effect.applies(name, &args) && !declared.contains(&effect.permission) {
                    return Err(PluginError::new(
                        ErrorCode::PermissionDenied,
                        format!(
                            "the {} plugin called {name}{} without declaring the `{}` \
                             permission ({}); a plugin lists the side effects it uses in \
                             its description's `permissions`",
                            who.unwrap_or("(unidentified)"),
                            effect
                                .when_arg
                                .as_ref()
                                .map(|a| format!(" with {a}"))
                                .unwrap_or_default(),
                            effect.permission,
                            effect.about
                        ),
                    )
                    .with_details(serde_json::json!({
                        "plugin": who,
                        "capability": name,
                        "permission": effect.permission,
                    })));
                }
            }
        }
        provider.call(&PluginRequest::Capability {
            name: name.to_owned(),
            args,
            context: context.clone(),
        })
    }

    /// Delivers an event to every plugin; failures come back as warnings,
    /// because an event never fails the command that caused it.
    pub fn announce(&self, event: &HostEvent) -> Vec<String> {
        self.loaded
            .iter()
            // Only to plugins that understand this kind of event (negotiated
            // in `describe`), so an older plugin never warns on a newer one.
            .filter(|p| p.description.protocol.event(event.kind()))
            .filter_map(|p| {
                p.call(&PluginRequest::Event {
                    event: event.clone(),
                })
                .err()
                .map(|e| {
                    format!(
                        "the {} plugin could not handle an event: {}",
                        p.name, e.message
                    )
                })
            })
            .collect()
    }
}

/// The host's own capability: which plugin libraries were loaded and which
/// were refused, and why (`doctor` reports them).
pub const HOST_PLUGINS_CAPABILITY: &str = "host.plugins";

impl PluginSet {
    /// `{loaded: [{name, version, path}], refused: [{path, name?, version?,
    /// reason}], searchPath: [..]}`.
    pub fn report(&self) -> Value {
        serde_json::json!({
            "loaded": self.loaded.iter().map(|p| serde_json::json!({
                "name": p.name, "version": p.version, "path": p.path(),
            })).collect::<Vec<_>>(),
            "refused": self.refused.iter().map(|r| serde_json::json!({
                "path": r.path, "name": r.name, "version": r.version, "reason": r.reason,
            })).collect::<Vec<_>>(),
            "searchPath": self.search_path,
        })
    }
}

/// "the X plugin is not installed" (exit 2).
pub fn not_installed(plugin: &str, what: &str) -> PluginError {
    PluginError::new(
        ErrorCode::PluginNotInstalled,
        format!(
            "the {plugin} plugin is not installed, so {what} is unavailable; put \
             {}{}{} beside agent-tty or on AGENT_TTY_PLUGIN_PATH (see `agent-tty plugins`)",
            discovery::PLUGIN_PREFIX,
            plugin.replace('-', "_"),
            discovery::PLUGIN_SUFFIX
        ),
    )
    .with_details(serde_json::json!({ "plugin": plugin }))
}

/// Who asks for a capability.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// The host itself (the dashboard, a command of the host's own).
    Host,
    /// A plugin, by name when the loader could tell which.
    Plugin(Option<&'a str>),
}

fn handle_host_request(caller: Option<&str>, text: &str) -> String {
    let result = match serde_json::from_str::<HostRequest>(text) {
        Ok(HostRequest::Capability {
            name,
            args,
            context,
        }) => match PLUGINS.get() {
            Some(set) => set.capability_for(Caller::Plugin(caller), &name, args, &context),
            // Only while `init` describes the plugins.
            None => Err(PluginError::new(
                ErrorCode::Unsupported,
                "a plugin cannot call the host while it is being described",
            )),
        },
        Ok(HostRequest::Unsupported) => Err(PluginError::new(
            ErrorCode::Unsupported,
            "this agent-tty does not support that request; the plugin is newer than the \
             host (upgrade agent-tty)",
        )),
        Err(e) => Err(PluginError::new(
            ErrorCode::ProtocolError,
            format!("the host could not understand a plugin's request: {e}"),
        )),
    };
    Response::from_result(result).to_json()
}
