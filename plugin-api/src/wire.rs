//! The JSON protocol spoken through the root module's single `call` entry.
//!
//! Host → plugin: [`PluginRequest`]. Plugin → host: [`HostRequest`]. Both are
//! answered with a [`Response`]. New request kinds may be added without
//! changing [`crate::INTERFACE_VERSION`]; a plugin answers an unknown kind with
//! an `INTERNAL_ERROR` naming it, and the host treats that as "not supported".

use crate::pane::{KeyEvent, PaneContext};
use crate::plugin::{CommandContext, Invocation};
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
}

/// A request from a plugin to the host.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
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
}

/// The answer to any request: a JSON value or a typed error.
///
/// Decoded in one pass through [`RawResponse`] (an untagged enum would buffer
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
