//! The plugin author's side: an ordinary Rust trait plus [`crate::export_plugin!`].

use crate::abi::HostCallbacks;
use crate::pane::{KeyEvent, PaneAction, PaneContext, PaneFrame};
use crate::wire::{HostEvent, HostRequest, PluginRequest, Response};
use crate::{ErrorCode, PluginError};
use abi_stable::std_types::{RStr, RString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

/// Everything a plugin offers, reported once at load.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginDescription {
    /// Command groups (e.g. `home`) this plugin introduces.
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
    /// Commands the host mounts into its CLI.
    #[serde(default)]
    pub commands: Vec<CommandSpec>,
    /// Capability names other plugins may call through the host.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Dashboard panes.
    #[serde(default)]
    pub panes: Vec<PaneSpec>,
}

/// A command group such as `home` (its subcommands are [`CommandSpec`]s).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupSpec {
    /// The word typed.
    pub name: String,
    /// One line of help.
    pub about: String,
}

/// One command: the words typed, help, and arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandSpec {
    /// The words typed, e.g. `["home", "list"]`. Also the envelope's `command`.
    pub path: Vec<String>,
    /// One line of help.
    pub about: String,
    /// Arguments in declaration order.
    #[serde(default)]
    pub args: Vec<ArgSpec>,
    /// Other names for the last word (e.g. `ls` for `list`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Hidden from help (internal entries such as `_host`).
    #[serde(default)]
    pub hidden: bool,
}

impl CommandSpec {
    /// A command with no arguments yet.
    pub fn new(path: &[&str], about: &str) -> Self {
        CommandSpec {
            path: path.iter().map(|s| s.to_string()).collect(),
            about: about.to_owned(),
            args: Vec::new(),
            aliases: Vec::new(),
            hidden: false,
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: ArgSpec) -> Self {
        self.args.push(arg);
        self
    }

    /// Adds an alias for the last word.
    pub fn alias(mut self, alias: &str) -> Self {
        self.aliases.push(alias.to_owned());
        self
    }

    /// Hides the command from help.
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }
}

/// How an argument is written on the command line, and what the plugin receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ArgKind {
    /// `--name`; arrives as a bool.
    Flag,
    /// `--name VALUE`; arrives as a string or null.
    Option,
    /// `--name VALUE` any number of times; arrives as an array of strings.
    Repeated,
    /// A positional value; arrives as a string or null.
    Positional,
    /// Everything after `--` (or the remaining positionals); an array of strings.
    Trailing,
}

/// One argument of a command.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArgSpec {
    /// The key in [`Invocation::args`] and, for options, the long flag.
    pub name: String,
    /// How it is written.
    pub kind: ArgKind,
    /// One line of help.
    pub help: String,
    /// Whether it must be given.
    #[serde(default)]
    pub required: bool,
    /// A one-letter short flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<char>,
    /// The placeholder shown in help, e.g. `PATH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_name: Option<String>,
}

impl ArgSpec {
    fn new(name: &str, kind: ArgKind, help: &str) -> Self {
        ArgSpec {
            name: name.to_owned(),
            kind,
            help: help.to_owned(),
            required: false,
            short: None,
            value_name: None,
        }
    }
    /// `--name`.
    pub fn flag(name: &str, help: &str) -> Self {
        Self::new(name, ArgKind::Flag, help)
    }
    /// `--name VALUE`.
    pub fn option(name: &str, value_name: &str, help: &str) -> Self {
        Self::new(name, ArgKind::Option, help).value_name(value_name)
    }
    /// `--name VALUE`, repeatable.
    pub fn repeated(name: &str, value_name: &str, help: &str) -> Self {
        Self::new(name, ArgKind::Repeated, help).value_name(value_name)
    }
    /// A required positional.
    pub fn positional(name: &str, help: &str) -> Self {
        let mut a = Self::new(name, ArgKind::Positional, help);
        a.required = true;
        a
    }
    /// The remaining words.
    pub fn trailing(name: &str, help: &str) -> Self {
        Self::new(name, ArgKind::Trailing, help)
    }
    /// Marks it required or optional.
    pub fn required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }
    /// Adds a short flag.
    pub fn short(mut self, c: char) -> Self {
        self.short = Some(c);
        self
    }
    /// Sets the help placeholder.
    pub fn value_name(mut self, v: &str) -> Self {
        self.value_name = Some(v.to_owned());
        self
    }
}

/// A dashboard pane a plugin provides.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaneSpec {
    /// Unique within the plugin.
    pub name: String,
    /// Shown in the pane's border and the footer.
    pub title: String,
    /// The dashboard key that opens it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<char>,
    /// A well-known role the dashboard looks for (e.g. `home-picker`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// The Home a command runs against, as the host resolved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HomeChoice {
    /// Canonical absolute path.
    pub path: String,
    /// Chosen by `--home` or `AGENT_TTY_HOME` (not the `~/.agent-tty` fallback).
    pub explicit: bool,
}

/// What the host tells every command and capability about its invocation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandContext {
    /// The resolved Home, when it could be resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<HomeChoice>,
    /// Why the Home could not be resolved (e.g. a relative `AGENT_TTY_HOME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_error: Option<String>,
    /// `--json` was given.
    #[serde(default)]
    pub json: bool,
    /// Colour is allowed (a terminal, and `NO_COLOR` unset).
    #[serde(default)]
    pub color: bool,
    /// The host executable, for plugins that spawn `agent-tty` sub-processes.
    #[serde(default)]
    pub exe: String,
    /// The resolved log level (`--log-level` > `AGENT_TTY_LOG_LEVEL` > the
    /// Home's `config.json` > `info`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    /// The render profile by default (global `--profile` >
    /// `AGENT_TTY_PROFILE` > config `defaultProfile`); none = the command's
    /// own default. A command's own `--profile` is the global one: the host
    /// mounts one `--profile` for both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The renderer asked for (`--renderer` > `AGENT_TTY_RENDERER` > config
    /// `defaultRenderer`); none = automatic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renderer: Option<String>,
    /// The Home config's `idleTimeoutMs` (`create`'s default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_ms: Option<u64>,
    /// The global `--timeout-ms`, validated (accepted for 0.5 compatibility).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl CommandContext {
    /// The Home, or the usage error explaining why there is none.
    pub fn home(&self) -> Result<&HomeChoice, PluginError> {
        match (&self.home, &self.home_error) {
            (Some(h), _) => Ok(h),
            (None, Some(e)) => Err(PluginError::new(ErrorCode::InvalidInput, e.clone())),
            (None, None) => Err(PluginError::usage(
                "no Home could be resolved: pass --home <absolute path> or set AGENT_TTY_HOME",
            )),
        }
    }
}

/// One command invocation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    /// The command's words, as in [`CommandSpec::path`].
    pub command: Vec<String>,
    /// Argument values by [`ArgSpec::name`].
    pub args: Map<String, Value>,
    /// The invocation's context.
    pub context: CommandContext,
}

impl Invocation {
    /// The command's words joined by spaces (the envelope's `command`).
    pub fn name(&self) -> String {
        self.command.join(" ")
    }
    /// A flag's value.
    pub fn flag(&self, name: &str) -> bool {
        self.args
            .get(name)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
    /// An option's or positional's value.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.args.get(name).and_then(Value::as_str)
    }
    /// A repeated option's or trailing argument's values.
    pub fn values(&self, name: &str) -> Vec<String> {
        match self.args.get(name) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }
}

/// A command's successful outcome.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandOutput {
    /// The envelope's `result`.
    pub result: Value,
    /// What to print for a person without `--json`; the host pretty-prints
    /// `result` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human: Option<String>,
    /// Events the host announces to every plugin after this command succeeded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<HostEvent>,
    /// Lines the host prints on stderr (e.g. "the Home Registry could not be updated").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// A non-zero exit status for a successful envelope (e.g. 11 for a wait
    /// that timed out).
    #[serde(default)]
    pub exit_code: i32,
}

impl CommandOutput {
    /// A result with human text.
    pub fn new(result: Value, human: impl Into<String>) -> Self {
        CommandOutput {
            result,
            human: Some(human.into()),
            ..Default::default()
        }
    }
}

/// The host, as a plugin sees it during a call.
pub struct Host {
    callbacks: Option<HostCallbacks>,
}

impl Host {
    /// A host with no services, for unit tests of a plugin without the host.
    pub fn detached() -> Self {
        Host { callbacks: None }
    }

    /// Calls a capability of whichever plugin provides it.
    pub fn capability(
        &self,
        name: &str,
        args: Value,
        context: &CommandContext,
    ) -> Result<Value, PluginError> {
        let Some(cb) = self.callbacks else {
            return Err(PluginError::new(
                ErrorCode::PluginNotInstalled,
                format!("no host is attached to provide capability {name}"),
            ));
        };
        let request = HostRequest::Capability {
            name: name.to_owned(),
            args,
            context: context.clone(),
        };
        let text =
            serde_json::to_string(&request).map_err(|e| PluginError::internal(e.to_string()))?;
        let answer = (cb.call)(RStr::from_str(&text));
        Response::parse(answer.as_str())
    }
}

/// A dashboard pane instance. The host owns the terminal; a pane only draws
/// into a frame and reacts to keys.
pub trait Pane: Send {
    /// Draws the pane at this size.
    fn render(&mut self, host: &Host, width: u16, height: u16) -> PaneFrame;
    /// Handles a key.
    fn key(&mut self, host: &Host, key: &KeyEvent) -> PaneAction;
}

/// What a plugin implements. Every method has a default so a plugin implements
/// only what it offers.
pub trait Plugin: Send + Sync + 'static {
    /// Commands, capabilities and panes. Called once at load.
    fn describe(&self) -> PluginDescription;

    /// Runs one of the plugin's commands.
    fn invoke(&self, host: &Host, invocation: &Invocation) -> Result<CommandOutput, PluginError> {
        let _ = host;
        Err(PluginError::internal(format!(
            "this plugin has no command `{}`",
            invocation.name()
        )))
    }

    /// Reacts to a host event. An error becomes a warning on stderr; it never
    /// fails the command that caused the event.
    fn on_event(&self, host: &Host, event: &HostEvent) -> Result<(), PluginError> {
        let _ = (host, event);
        Ok(())
    }

    /// Runs a declared capability.
    fn capability(
        &self,
        host: &Host,
        name: &str,
        args: &Value,
        context: &CommandContext,
    ) -> Result<Value, PluginError> {
        let _ = (host, args, context);
        Err(PluginError::internal(format!(
            "this plugin has no capability `{name}`"
        )))
    }

    /// Opens a declared pane.
    fn open_pane(
        &self,
        host: &Host,
        pane: &str,
        context: &PaneContext,
    ) -> Result<Box<dyn Pane>, PluginError> {
        let _ = (host, context);
        Err(PluginError::internal(format!(
            "this plugin has no pane `{pane}`"
        )))
    }
}

/// A plugin instance plus its open panes; what [`crate::export_plugin!`] keeps.
#[doc(hidden)]
pub struct PluginState<P> {
    plugin: P,
    panes: Mutex<HashMap<u64, Box<dyn Pane>>>,
}

impl<P: Plugin> PluginState<P> {
    #[doc(hidden)]
    pub fn new(plugin: P) -> Self {
        PluginState {
            plugin,
            panes: Mutex::new(HashMap::new()),
        }
    }

    fn handle(&self, host: &Host, request: PluginRequest) -> Result<Value, PluginError> {
        let to_value = |v: Result<Value, serde_json::Error>| {
            v.map_err(|e| PluginError::internal(format!("could not encode an answer: {e}")))
        };
        match request {
            PluginRequest::Describe => to_value(serde_json::to_value(self.plugin.describe())),
            PluginRequest::Invoke { invocation } => {
                let out = self.plugin.invoke(host, &invocation)?;
                to_value(serde_json::to_value(out))
            }
            PluginRequest::Event { event } => {
                self.plugin.on_event(host, &event)?;
                Ok(Value::Null)
            }
            PluginRequest::Capability {
                name,
                args,
                context,
            } => self.plugin.capability(host, &name, &args, &context),
            PluginRequest::PaneOpen {
                pane,
                instance,
                context,
            } => {
                let opened = self.plugin.open_pane(host, &pane, &context)?;
                self.panes_lock().insert(instance, opened);
                Ok(Value::Null)
            }
            PluginRequest::PaneRender {
                instance,
                width,
                height,
            } => {
                let mut panes = self.panes_lock();
                let pane = panes
                    .get_mut(&instance)
                    .ok_or_else(|| unknown_pane(instance))?;
                to_value(serde_json::to_value(pane.render(host, width, height)))
            }
            PluginRequest::PaneKey { instance, key } => {
                let mut panes = self.panes_lock();
                let pane = panes
                    .get_mut(&instance)
                    .ok_or_else(|| unknown_pane(instance))?;
                to_value(serde_json::to_value(pane.key(host, &key)))
            }
            PluginRequest::PaneClose { instance } => {
                self.panes_lock().remove(&instance);
                Ok(Value::Null)
            }
        }
    }

    fn panes_lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Box<dyn Pane>>> {
        // A pane that panicked poisons the lock; the panes themselves are still usable.
        self.panes.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn unknown_pane(instance: u64) -> PluginError {
    PluginError::internal(format!("no open pane instance {instance}"))
}

/// A [`PluginState`] with its plugin type erased, so the export macro can keep
/// it in a `static` without naming the type.
#[doc(hidden)]
pub trait ErasedPluginState: Send + Sync {
    #[doc(hidden)]
    fn handle_request(&self, host: &Host, request: PluginRequest) -> Result<Value, PluginError>;
}

impl<P: Plugin> ErasedPluginState for PluginState<P> {
    fn handle_request(&self, host: &Host, request: PluginRequest) -> Result<Value, PluginError> {
        self.handle(host, request)
    }
}

/// The body of every plugin's `call` entry: decode, run, encode, and turn a
/// panic into `INTERNAL_ERROR` so it never unwinds into the host.
#[doc(hidden)]
pub fn dispatch(
    state: &dyn ErasedPluginState,
    callbacks: HostCallbacks,
    request: RStr<'_>,
) -> RString {
    let host = Host {
        callbacks: Some(callbacks),
    };
    quiet_panics();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let request: PluginRequest = serde_json::from_str(request.as_str()).map_err(|e| {
            PluginError::new(
                ErrorCode::ProtocolError,
                format!("the plugin could not understand the host's request: {e}"),
            )
        })?;
        state.handle_request(&host, request)
    }));
    let result = outcome.unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        let at = PANIC_LOCATION.with(|l| l.borrow_mut().take());
        let message = match at {
            Some(at) => format!("the plugin panicked at {at}: {what}"),
            None => format!("the plugin panicked: {what}"),
        };
        Err(PluginError::internal(message))
    });
    RString::from(Response::from_result(result).to_json())
}

/// Replaces this library's panic hook (each plugin has its own copy of std)
/// with one that prints nothing: a panic is reported once, as the
/// `INTERNAL_ERROR` envelope, with its message and location.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            if let Some(loc) = info.location() {
                PANIC_LOCATION
                    .with(|l| *l.borrow_mut() = Some(format!("{}:{}", loc.file(), loc.line())));
            }
        }));
    });
}

thread_local! {
    static PANIC_LOCATION: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Exports a type implementing [`Plugin`] as this `cdylib`'s root module.
///
/// ```ignore
/// agent_tty_plugin_api::export_plugin!("hello", HelloPlugin::default);
/// ```
///
/// The first argument is the plugin's name; its version is the crate's
/// `CARGO_PKG_VERSION`; the second is a constructor called once, on first use.
#[macro_export]
macro_rules! export_plugin {
    ($name:expr, $ctor:expr) => {
        $crate::export_plugin!(@interface $crate::INTERFACE_VERSION, $name, $ctor);
    };
    // Hidden: lets tests build a plugin that claims another interface version.
    (@interface $iv:expr, $name:expr, $ctor:expr) => {
        const _: () = {
            use $crate::__private::abi_stable as __abi;
            use __abi::prefix_type::PrefixTypeTrait as _;

            fn __agent_tty_root_module() -> $crate::abi::PluginModuleRef {
                $crate::abi::PluginModule {
                    interface_version: $iv,
                    name: __abi::std_types::RStr::from_str($name),
                    version: __abi::std_types::RStr::from_str(env!("CARGO_PKG_VERSION")),
                    call: __agent_tty_call,
                }
                .leak_into_prefix()
            }

            extern "C" fn __agent_tty_call(
                host: $crate::abi::HostCallbacks,
                request: __abi::std_types::RStr<'_>,
            ) -> __abi::std_types::RString {
                static STATE: ::std::sync::OnceLock<
                    ::std::boxed::Box<dyn $crate::__private::ErasedPluginState>,
                > = ::std::sync::OnceLock::new();
                let state = STATE.get_or_init(|| {
                    ::std::boxed::Box::new($crate::__private::PluginState::new(($ctor)()))
                });
                $crate::__private::dispatch(state.as_ref(), host, request)
            }

            extern "C" fn __agent_tty_erased_module() -> __abi::library::RootModuleResult {
                __abi::library::__call_root_module_loader(__agent_tty_root_module)
            }

            // The symbol abi_stable's loader looks for; the name is abi_stable's
            // mangled ROOT_MODULE_LOADER_NAME (checked by a test in plugin-api).
            #[export_name = "_1as_0lib_1header_0root_bmodule_bloader"]
            pub static __AGENT_TTY_LIB_HEADER: __abi::library::LibHeader = unsafe {
                __abi::library::LibHeader::from_constructor::<$crate::abi::PluginModuleRef>(
                    __agent_tty_erased_module,
                    __abi::library::CheckTypeLayout::Yes,
                )
            };
        };
    };
}
