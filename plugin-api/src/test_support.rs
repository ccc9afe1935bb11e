//! Test a plugin in its own crate's tests, through the same JSON entry the
//! host calls (`feature = "test-support"`, as a dev-dependency):
//!
//! ```ignore
//! let mut h = PluginHarness::new(MyPlugin::default());
//! let out = h.invoke(&["greet"], json!({"name": "Ada"})).unwrap();
//! ```
//!
//! Every request is encoded to JSON, handled by the exact code
//! `export_plugin!` exports, and the answer decoded, so a description, output
//! or frame that would not survive the wire fails here too. Capabilities the
//! plugin calls on the host are answered by closures the test registers.

use crate::abi::HostCallbacks;
use crate::plugin::{dispatch, PluginState};
use crate::wire::{HostRequest, PluginRequest, Response};
use crate::{
    CommandContext, CommandOutput, Description, HomeChoice, Invocation, KeyEvent, PaneAction,
    PaneContext, PaneFrame, Plugin, PluginError,
};
use abi_stable::std_types::{RStr, RString};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;

type Capability = Box<dyn Fn(&Value) -> Result<Value, PluginError>>;

thread_local! {
    static CAPABILITIES: RefCell<HashMap<String, Capability>> = RefCell::new(HashMap::new());
}

extern "C" fn host_call(request: RStr<'_>) -> RString {
    let result = match serde_json::from_str::<HostRequest>(request.as_str()) {
        Ok(HostRequest::Capability { name, args, .. }) => {
            CAPABILITIES.with(|c| match c.borrow().get(&name) {
                Some(f) => f(&args),
                None => Err(PluginError::new(
                    crate::ErrorCode::PluginNotInstalled,
                    format!(
                        "no test capability `{name}` (register it with PluginHarness::capability)"
                    ),
                )),
            })
        }
        Ok(HostRequest::Unsupported) | Err(_) => Err(PluginError::new(
            crate::ErrorCode::Unsupported,
            "the test host does not know that request",
        )),
    };
    RString::from(Response::from_result(result).to_json())
}

/// A plugin loaded in-process, driven as the host drives it.
pub struct PluginHarness<P: Plugin> {
    state: PluginState<P>,
    context: CommandContext,
    next_instance: u64,
}

impl<P: Plugin> PluginHarness<P> {
    /// Wraps a plugin. Commands run with a context whose Home is `/tmp`; set
    /// another with [`PluginHarness::home`].
    pub fn new(plugin: P) -> Self {
        CAPABILITIES.with(|c| c.borrow_mut().clear());
        PluginHarness {
            state: PluginState::new(plugin),
            context: CommandContext {
                home: Some(HomeChoice {
                    path: "/tmp".into(),
                    explicit: true,
                }),
                json: true,
                ..Default::default()
            },
            next_instance: 1,
        }
    }

    /// Runs commands against this Home (an absolute path).
    pub fn home(mut self, path: &str) -> Self {
        self.context.home = Some(HomeChoice {
            path: path.to_owned(),
            explicit: true,
        });
        self
    }

    /// Answers the plugin's calls to capability `name` with `f`.
    pub fn capability(
        self,
        name: &str,
        f: impl Fn(&Value) -> Result<Value, PluginError> + 'static,
    ) -> Self {
        CAPABILITIES.with(|c| c.borrow_mut().insert(name.to_owned(), Box::new(f)));
        self
    }

    fn call(&self, request: &PluginRequest) -> Result<Value, PluginError> {
        let text = serde_json::to_string(request).expect("requests encode");
        let answer = dispatch(
            &self.state,
            HostCallbacks { call: host_call },
            RStr::from_str(&text),
        );
        Response::parse(answer.as_str())
    }

    fn decode<T: serde::de::DeserializeOwned>(v: Value) -> T {
        serde_json::from_value(v).expect("the plugin's answer decodes as the host would")
    }

    /// The plugin's description, as the host receives it (with what the SDK
    /// adds: its command table's entries, protocol support, permissions,
    /// effects). Panics with the reason the host would refuse the plugin
    /// for, e.g. a command declared twice; call it in a test to hear first.
    pub fn describe(&self) -> Description {
        self.try_describe()
            .unwrap_or_else(|e| panic!("the host would refuse this plugin: {}", e.message))
    }

    /// [`PluginHarness::describe`], with the refusal as an error.
    pub fn try_describe(&self) -> Result<Description, PluginError> {
        self.call(&PluginRequest::Describe).map(Self::decode)
    }

    /// Runs a command. `args` is an object keyed by argument name, with the
    /// JSON the host would pass (bools for flags, strings, arrays).
    pub fn invoke(&self, command: &[&str], args: Value) -> Result<CommandOutput, PluginError> {
        let invocation = Invocation {
            command: command.iter().map(|s| s.to_string()).collect(),
            args: match args {
                Value::Object(map) => map,
                Value::Null => Default::default(),
                other => panic!("args must be a JSON object, not {other}"),
            },
            context: self.context.clone(),
        };
        self.call(&PluginRequest::Invoke { invocation })
            .map(Self::decode)
    }

    /// Opens a pane and returns its instance handle.
    pub fn open_pane(&mut self, pane: &str, context: PaneContext) -> Result<u64, PluginError> {
        let instance = self.next_instance;
        self.next_instance += 1;
        self.call(&PluginRequest::PaneOpen {
            pane: pane.to_owned(),
            instance,
            context,
        })?;
        Ok(instance)
    }

    /// Draws an open pane.
    pub fn render(&self, instance: u64, width: u16, height: u16) -> Result<PaneFrame, PluginError> {
        self.call(&PluginRequest::PaneRender {
            instance,
            width,
            height,
        })
        .map(Self::decode)
    }

    /// Sends a key to an open pane.
    pub fn key(&self, instance: u64, key: KeyEvent) -> Result<PaneAction, PluginError> {
        self.call(&PluginRequest::PaneKey { instance, key })
            .map(Self::decode)
    }
}

/// A frame's text, one string per row (styles dropped), for assertions.
pub fn frame_text(frame: &PaneFrame) -> Vec<String> {
    frame
        .lines
        .iter()
        .map(|l| l.spans.iter().map(|s| s.text.as_str()).collect())
        .collect()
}
