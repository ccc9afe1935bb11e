//! The plugin author's side: an ordinary Rust trait plus [`crate::export_plugin!`].

use crate::abi::HostCallbacks;
use crate::commands::{check_declared_once, no_such_capability, no_such_command, CommandTable};
use crate::wire::{HostEvent, HostRequest, PluginRequest, Response};
use crate::{
    CommandContext, CommandOutput, Description, EffectSpec, ErrorCode, Invocation, KeyEvent,
    PaneAction, PaneContext, PaneFrame, PluginDescription, PluginError,
};
use abi_stable::std_types::{RStr, RString};
use serde_json::Value;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, OnceLock};

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
///
/// Commands and capabilities belong in [`Plugin::commands`], each spec beside
/// its handler; the SDK derives what `describe` reports about them and
/// dispatches `invoke` and `capability` through that table. [`Plugin::describe`]
/// is left for what has no handler of its own: command groups and panes.
pub trait Plugin: Send + Sync + 'static {
    /// The plugin's commands and capabilities, each declared once with its
    /// handler (see [`CommandTable`]). Called once, when the plugin is first
    /// used; its specs, capability names and effects are added to what
    /// [`Plugin::describe`] and [`Plugin::effects`] report, and invocations
    /// and capability calls it names go to its handlers, before
    /// [`Plugin::invoke`] or [`Plugin::capability`] is asked.
    fn commands(&self) -> CommandTable {
        CommandTable::new()
    }

    /// Command groups and panes, plus any command or capability not in
    /// [`Plugin::commands`] (the SDK appends the table's). Called once at load.
    fn describe(&self) -> PluginDescription {
        PluginDescription::default()
    }

    /// The side-effecting capability calls this plugin makes, by permission
    /// name (e.g. `sessions.reconcile` to call `sessions.list` with
    /// `reconcile`). The host refuses a guarded call not declared here.
    fn permissions(&self) -> Vec<String> {
        Vec::new()
    }

    /// Which of this plugin's own capabilities have side effects, and the
    /// permission a calling plugin must declare for them.
    fn effects(&self) -> Vec<EffectSpec> {
        Vec::new()
    }

    /// Runs a command that is not in [`Plugin::commands`] (a plugin written
    /// before command tables; new plugins leave this alone).
    fn invoke(&self, host: &Host, invocation: &Invocation) -> Result<CommandOutput, PluginError> {
        let _ = host;
        Err(no_such_command(&invocation.command))
    }

    /// The host events [`Plugin::on_event`] reacts to, by their `type` names
    /// (e.g. `"sessionCreated"`). The host opens a plugin's library to
    /// deliver only the events it lists, so a plugin that ignores events
    /// should return an empty list: then `agent-tty create` never loads it.
    /// The default lists every event this SDK knows.
    fn events(&self) -> Vec<String> {
        HostEvent::KNOWN.iter().map(|e| e.to_string()).collect()
    }

    /// Reacts to a host event. An error becomes a warning on stderr; it never
    /// fails the command that caused the event.
    fn on_event(&self, host: &Host, event: &HostEvent) -> Result<(), PluginError> {
        let _ = (host, event);
        Ok(())
    }

    /// Runs a capability that is not in [`Plugin::commands`].
    fn capability(
        &self,
        host: &Host,
        name: &str,
        args: &Value,
        context: &CommandContext,
    ) -> Result<Value, PluginError> {
        let _ = (host, args, context);
        Err(no_such_capability(name))
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
    /// Built on the first request, inside the dispatch's panic guard (a
    /// panic while building it becomes `INTERNAL_ERROR`, not an abort).
    table: OnceLock<CommandTable>,
    panes: Mutex<HashMap<u64, Box<dyn Pane>>>,
}

impl<P: Plugin> PluginState<P> {
    #[doc(hidden)]
    pub fn new(plugin: P) -> Self {
        PluginState {
            plugin,
            table: OnceLock::new(),
            panes: Mutex::new(HashMap::new()),
        }
    }

    fn table(&self) -> &CommandTable {
        self.table.get_or_init(|| self.plugin.commands())
    }

    fn handle(&self, host: &Host, request: PluginRequest) -> Result<Answer, PluginError> {
        let to_value = |v: Result<Value, serde_json::Error>| {
            v.map_err(|e| PluginError::internal(format!("could not encode an answer: {e}")))
        };
        let value = match request {
            PluginRequest::Describe => to_value(serde_json::to_value(self.description()?)),
            PluginRequest::Invoke { invocation } => {
                let out = match self.table().find(&invocation.command) {
                    Some(command) => command.run(host, &invocation)?,
                    None => self.plugin.invoke(host, &invocation)?,
                };
                return Ok(Answer::Command(out));
            }
            // An event newer than this SDK never reaches the plugin.
            PluginRequest::Event {
                event: HostEvent::Unsupported,
            } => Ok(Value::Null),
            PluginRequest::Event { event } => {
                self.plugin.on_event(host, &event)?;
                Ok(Value::Null)
            }
            PluginRequest::Capability {
                name,
                args,
                context,
            } => match self.table().find_capability(&name) {
                Some(capability) => capability.call(host, &args, &context),
                None => self.plugin.capability(host, &name, &args, &context),
            },
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
            PluginRequest::Unsupported => Err(PluginError::new(
                ErrorCode::Unsupported,
                "this plugin does not support that request (it was built against an older \
                 agent-tty-plugin-api); rebuild it to use the newer feature",
            )),
        };
        value.map(Answer::Value)
    }

    /// What `describe` answers: the plugin's own description with its command
    /// table's entries appended, refused when a path or capability is
    /// declared twice (the host then refuses the plugin with this reason).
    fn description(&self) -> Result<Description, PluginError> {
        let table = self.table();
        let mut plugin = self.plugin.describe();
        plugin.commands.extend(table.specs().cloned());
        plugin
            .capabilities
            .extend(table.capability_names().map(str::to_owned));
        check_declared_once(
            plugin.commands.iter(),
            plugin.capabilities.iter().map(String::as_str),
        )?;
        let mut effects = self.plugin.effects();
        effects.extend(table.effects().cloned());
        Ok(Description {
            plugin,
            protocol: agent_tty_protocol::ProtocolSupport {
                events: self.plugin.events(),
                ..agent_tty_protocol::ProtocolSupport::current()
            },
            permissions: self.plugin.permissions(),
            effects,
        })
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
    fn handle_request(&self, host: &Host, request: PluginRequest) -> Result<Answer, PluginError>;
}

impl<P: Plugin> ErasedPluginState for PluginState<P> {
    fn handle_request(&self, host: &Host, request: PluginRequest) -> Result<Answer, PluginError> {
        self.handle(host, request)
    }
}

/// What a request is answered with: a command's output is written to the
/// wire as it is ([`Response::command_answer`]), so a result it already
/// holds as JSON text is never built into a [`Value`].
#[doc(hidden)]
pub enum Answer {
    /// A command's output.
    Command(CommandOutput),
    /// Any other request's value.
    Value(Value),
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
    RString::from(match result {
        Ok(Answer::Command(output)) => Response::command_answer(&output),
        Ok(Answer::Value(value)) => Response::from_result(Ok(value)).to_json(),
        Err(error) => Response::from_result(Err(error)).to_json(),
    })
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

#[cfg(test)]
mod tests {
    use crate::test_support::PluginHarness;
    use crate::{
        Capability, CommandOutput, CommandSpec, CommandTable, ErrorCode, GroupSpec, Host,
        Invocation, Plugin, PluginDescription, PluginError,
    };
    use serde_json::json;

    /// A plugin with a table and a hand-written `describe` for its group.
    struct Tabled {
        twice: bool,
    }

    fn list(_: &Host, _: &Invocation) -> Result<CommandOutput, PluginError> {
        Ok(CommandOutput::new(json!("list"), "list"))
    }

    fn show(_: &Host, inv: &Invocation) -> Result<CommandOutput, PluginError> {
        Ok(CommandOutput::new(
            json!({ "show": inv.value("id") }),
            "show",
        ))
    }

    impl Plugin for Tabled {
        fn commands(&self) -> CommandTable {
            let table = CommandTable::new()
                .command(CommandSpec::new(&["box", "list"], "List").alias("ls"), list)
                .command(CommandSpec::new(&["show"], "Show"), show)
                .capability(Capability::new("box.count", |_, _, _| Ok(json!(2))).effect(
                    None,
                    "box.write",
                    "writes",
                ));
            if self.twice {
                table.command(CommandSpec::new(&["box", "ls"], "Clash"), show)
            } else {
                table
            }
        }

        fn describe(&self) -> PluginDescription {
            PluginDescription {
                groups: vec![GroupSpec {
                    name: "box".into(),
                    about: "Boxes".into(),
                }],
                ..Default::default()
            }
        }
    }

    #[test]
    fn describe_reports_the_table_beside_the_hand_written_parts() {
        let d = PluginHarness::new(Tabled { twice: false }).describe();
        let paths: Vec<_> = d.commands.iter().map(|c| c.path.join(" ")).collect();
        assert_eq!(paths, ["box list", "show"]);
        assert_eq!(d.groups[0].name, "box");
        assert_eq!(d.capabilities, ["box.count"]);
        assert_eq!(d.effects[0].capability, "box.count");
        assert_eq!(d.effects[0].permission, "box.write");
    }

    #[test]
    fn invoke_goes_through_the_table() {
        let h = PluginHarness::new(Tabled { twice: false });
        let out = h.invoke(&["show"], json!({ "id": "7" })).unwrap();
        assert_eq!(out.result, json!({ "show": "7" }));
        assert_eq!(
            h.invoke(&["box", "list"], json!({})).unwrap().result,
            "list"
        );
        let err = h.invoke(&["box", "nope"], json!({})).unwrap_err();
        assert_eq!(err.code, ErrorCode::InternalError);
        assert_eq!(
            err.message,
            "this plugin has no command `box nope`: it is not in the plugin's command table"
        );
    }

    /// A table that panics while being built is an error answer, like any
    /// other panic in a plugin, never an abort of the host.
    #[test]
    fn a_panic_building_the_table_is_an_internal_error() {
        struct Broken;
        impl Plugin for Broken {
            fn commands(&self) -> CommandTable {
                panic!("no table today")
            }
        }
        let err = PluginHarness::new(Broken).try_describe().unwrap_err();
        assert_eq!(err.code, ErrorCode::InternalError);
        assert!(err.message.contains("no table today"), "{}", err.message);
    }

    #[test]
    fn a_plugin_declaring_a_path_twice_is_refused_at_describe() {
        let err = PluginHarness::new(Tabled { twice: true })
            .try_describe()
            .unwrap_err();
        assert!(err.message.contains("`box ls` twice"), "{}", err.message);
    }
}
