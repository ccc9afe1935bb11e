//! The JSON protocol spoken through the root module's single `call` entry.
//!
//! Host → plugin: [`PluginRequest`]. Plugin → host: [`HostRequest`]. Both are
//! answered with a [`Response`]. New request kinds may be added without
//! changing [`crate::INTERFACE_VERSION`]:
//! - a peer built with this crate decodes a kind it does not know as
//!   `Unsupported` and answers [`crate::ErrorCode::Unsupported`];
//! - the host does not even send a request or event a plugin did not list in
//!   [`crate::Description::protocol`]; a plugin that lists nothing (built
//!   before negotiation existed) is sent only [`PluginRequest::BASELINE`] and
//!   [`HostEvent::BASELINE`], the set of interface release 1.

use crate::pane::{KeyEvent, PaneContext};
use crate::spec::{CommandContext, Invocation};
use crate::PluginError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A request from the host to a plugin.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
#[allow(missing_docs)]
pub enum PluginRequest {
    /// Answered with a [`crate::PluginDescription`].
    Describe,
    /// Run one of the plugin's commands; answered with a [`crate::CommandOutput`].
    Invoke { invocation: Invocation },
    /// A host event; answered with `null`.
    Event { event: HostEvent },
    /// Run a capability the plugin declared; answered with its JSON value.
    Capability {
        name: String,
        args: Value,
        context: CommandContext,
    },
    /// Open an instance of a pane the plugin declared; answered with `null`.
    PaneOpen {
        pane: String,
        instance: u64,
        context: PaneContext,
    },
    /// Draw a pane instance; answered with a [`crate::PaneFrame`].
    PaneRender {
        instance: u64,
        width: u16,
        height: u16,
    },
    /// Deliver a key to a pane instance; answered with a [`crate::PaneAction`].
    PaneKey { instance: u64, key: KeyEvent },
    /// Drop a pane instance; answered with `null`.
    PaneClose { instance: u64 },
    /// A request kind newer than this build; answered with `UNSUPPORTED`.
    #[serde(other)]
    Unsupported,
}

impl PluginRequest {
    /// The request kinds of interface release 1, which every plugin of
    /// interface 1 understands whether or not it says so.
    pub const BASELINE: &'static [&'static str] = &[
        "describe",
        "invoke",
        "event",
        "capability",
        "paneOpen",
        "paneRender",
        "paneKey",
        "paneClose",
    ];

    /// Every kind this build knows (what the SDK advertises for a plugin).
    pub const KNOWN: &'static [&'static str] = Self::BASELINE;

    /// The wire name of this request's kind (`op`).
    pub fn op(&self) -> &'static str {
        match self {
            PluginRequest::Describe => "describe",
            PluginRequest::Invoke { .. } => "invoke",
            PluginRequest::Event { .. } => "event",
            PluginRequest::Capability { .. } => "capability",
            PluginRequest::PaneOpen { .. } => "paneOpen",
            PluginRequest::PaneRender { .. } => "paneRender",
            PluginRequest::PaneKey { .. } => "paneKey",
            PluginRequest::PaneClose { .. } => "paneClose",
            PluginRequest::Unsupported => "unsupported",
        }
    }
}

/// A request from a plugin to the host.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
// One request per call, decoded and dropped at once: boxing the context to
// shrink the rare `Unsupported` variant would only change the public shape.
#[allow(clippy::large_enum_variant)]
pub enum HostRequest {
    /// Call a capability of whichever loaded plugin declared it.
    Capability {
        /// The capability name, e.g. `sessions.list`.
        name: String,
        /// Its JSON arguments.
        args: Value,
        /// The context to run it under.
        context: CommandContext,
    },
    /// A request kind newer than the host; answered with `UNSUPPORTED`.
    #[serde(other)]
    Unsupported,
}

/// Events the host delivers to every loaded plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum HostEvent {
    /// A Session was created in a Home (the Home's canonical path).
    #[serde(rename_all = "camelCase")]
    SessionCreated {
        /// Canonical Home path.
        home: String,
        /// The new Session's id.
        session_id: String,
    },
    /// An event newer than this build. The SDK answers it with `null` without
    /// calling the plugin, so a plugin never has to handle it.
    #[serde(other)]
    Unsupported,
}

impl HostEvent {
    /// The events of interface release 1 (sent to plugins that list none).
    pub const BASELINE: &'static [&'static str] = &["sessionCreated"];

    /// Every event this build knows (what the SDK advertises for a plugin).
    pub const KNOWN: &'static [&'static str] = Self::BASELINE;

    /// The wire name of this event's kind (`type`).
    pub fn kind(&self) -> &'static str {
        match self {
            HostEvent::SessionCreated { .. } => "sessionCreated",
            HostEvent::Unsupported => "unsupported",
        }
    }
}

/// The answer to any request: a JSON value or a typed error.
///
/// Decoded in one pass through `RawResponse` (an untagged enum would buffer
/// every answer and parse it twice; a `list` of 500 Sessions noticed).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged, try_from = "RawResponse")]
pub enum Response {
    /// Success.
    Ok {
        /// Always `true`.
        ok: True,
        /// The request's JSON value.
        value: Value,
    },
    /// Failure.
    Err {
        /// Always `false`.
        ok: False,
        /// What went wrong.
        error: PluginError,
    },
}

/// The shape a [`Response`] is read through: `ok` decides which field counts.
#[derive(Deserialize)]
struct RawResponse {
    ok: bool,
    #[serde(default)]
    value: Value,
    #[serde(default)]
    error: Option<PluginError>,
}

impl TryFrom<RawResponse> for Response {
    type Error = &'static str;
    fn try_from(raw: RawResponse) -> Result<Self, Self::Error> {
        match (raw.ok, raw.error) {
            (true, _) => Ok(Response::Ok {
                ok: True,
                value: raw.value,
            }),
            (false, Some(error)) => Ok(Response::Err { ok: False, error }),
            (false, None) => Err("a failed response carries no error"),
        }
    }
}

impl Response {
    /// Wraps a result.
    pub fn from_result(result: Result<Value, PluginError>) -> Self {
        match result {
            Ok(value) => Response::Ok { ok: True, value },
            Err(error) => Response::Err { ok: False, error },
        }
    }

    /// Unwraps into a result.
    pub fn into_result(self) -> Result<Value, PluginError> {
        match self {
            Response::Ok { value, .. } => Ok(value),
            Response::Err { error, .. } => Err(error),
        }
    }

    /// Serialises, never failing (a response is plain data).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            // A `json!` value of strings always serialises, and escapes `e`.
            serde_json::json!({
                "ok": false,
                "error": {
                    "code": "INTERNAL_ERROR",
                    "message": format!("could not encode a response: {e}"),
                },
            })
            .to_string()
        })
    }

    /// The text of a successful `invoke` answer: what [`Response::to_json`]
    /// writes for [`crate::CommandOutput::into_value`], written straight
    /// from the output (its result is neither copied nor, when it is
    /// already JSON text, parsed).
    pub fn command_answer(output: &crate::CommandOutput) -> String {
        #[derive(Serialize)]
        struct Answer<'a> {
            ok: True,
            value: &'a crate::CommandOutput,
        }
        serde_json::to_string(&Answer {
            ok: True,
            value: output,
        })
        .unwrap_or_else(|e| {
            Response::from_result(Err(PluginError::internal(format!(
                "could not encode an answer: {e}"
            ))))
            .to_json()
        })
    }

    /// Parses a response, turning garbage into a `PROTOCOL_ERROR`.
    pub fn parse(text: &str) -> Result<Value, PluginError> {
        serde_json::from_str::<Response>(text)
            .map_err(|e| {
                PluginError::new(
                    crate::ErrorCode::ProtocolError,
                    format!("a plugin answered with a malformed response: {e}"),
                )
            })?
            .into_result()
    }
}

/// A successful `invoke` answer as the host reads it to print it: `result`
/// left as the plugin wrote it, borrowed from the answer's text, so a
/// result of thousands of rows is not built into a [`Value`] tree only to
/// be printed again (`home list --all --json` over a thousand Homes, ADR
/// 0023). Everything else is read as [`crate::CommandOutput`] reads it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawCommandOutput<'a> {
    /// The envelope's `result`, as JSON text.
    #[serde(borrow)]
    pub result: &'a serde_json::value::RawValue,
    /// See [`crate::CommandOutput::human`].
    #[serde(default)]
    pub human: Option<String>,
    /// See [`crate::CommandOutput::events`].
    #[serde(default)]
    pub events: Vec<HostEvent>,
    /// See [`crate::CommandOutput::warnings`].
    #[serde(default)]
    pub warnings: Vec<String>,
    /// See [`crate::CommandOutput::exit_code`].
    #[serde(default)]
    pub exit_code: i32,
    /// See [`crate::CommandOutput::stdout_taken`].
    #[serde(default)]
    pub stdout_taken: bool,
}

impl<'a> RawCommandOutput<'a> {
    /// Reads a successful `invoke` [`Response`] (`{"ok": true, "value":
    /// {...}}`). `None` for anything else (a failure, a malformed answer):
    /// the caller then reads it with [`Response::parse`] and
    /// [`crate::CommandOutput::from_value`], which say what is wrong.
    pub fn parse(answer: &'a str) -> Option<RawCommandOutput<'a>> {
        #[derive(Deserialize)]
        struct Answer<'a> {
            ok: bool,
            #[serde(borrow)]
            value: Option<RawCommandOutput<'a>>,
            // Read as [`Response`] reads it, so an answer it refuses is
            // refused here too.
            #[serde(default)]
            #[allow(dead_code)]
            error: Option<PluginError>,
        }
        match serde_json::from_str::<Answer<'a>>(answer) {
            Ok(Answer {
                ok: true,
                value: Some(output),
                ..
            }) => Some(output),
            _ => None,
        }
    }
}

/// The literal `true` in a [`Response`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(try_from = "bool", into = "bool")]
pub struct True;
/// The literal `false` in a [`Response`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(try_from = "bool", into = "bool")]
pub struct False;

impl TryFrom<bool> for True {
    type Error = &'static str;
    fn try_from(b: bool) -> Result<Self, Self::Error> {
        b.then_some(True).ok_or("expected true")
    }
}
impl From<True> for bool {
    fn from(_: True) -> bool {
        true
    }
}
impl TryFrom<bool> for False {
    type Error = &'static str;
    fn try_from(b: bool) -> Result<Self, Self::Error> {
        (!b).then_some(False).ok_or("expected false")
    }
}
impl From<False> for bool {
    fn from(_: False) -> bool {
        false
    }
}
