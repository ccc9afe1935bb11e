//! The control protocol on the wire, without I/O: the requests and answers
//! a Session's host and its clients exchange, the protocol version, the
//! capability names, and the rule for what a host answers a request it
//! does not know. `docs/SESSION-HOST-PROTOCOL.md` is the rule in prose,
//! ADR 0026 the decision.
//!
//! Hosts run for days across upgrades of the CLI, so both sides meet peers
//! of other versions. Protocol 1 (hosts before the hello) knew the eight
//! [`BASE_CAPABILITIES`]; every host answers those as protocol 1 did. A
//! client sends anything else only after a [`Hello`] listed it, and a host
//! answers a kind or field it does not know with `UNSUPPORTED` instead of
//! failing ([`decode_request`]).

use agent_tty_core::error::ErrorCode;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

/// The protocol this build speaks.
pub const PROTOCOL_VERSION: u32 = 2;

/// The protocol of hosts that predate the hello: what a client assumes when
/// a host answers the hello with [`is_pre_hello_refusal`].
pub const BASE_VERSION: u32 = 1;

/// Capability names: a request kind's `type`, or `<kind>.<field>` for an
/// optional field added to a kind after protocol 1.
pub mod capability {
    /// `ping`.
    pub const PING: &str = "ping";
    /// `text`, with its `secret` field.
    pub const TEXT: &str = "text";
    /// `paste`.
    pub const PASTE: &str = "paste";
    /// `keys`.
    pub const KEYS: &str = "keys";
    /// `run`.
    pub const RUN: &str = "run";
    /// `resize`.
    pub const RESIZE: &str = "resize";
    /// `signal`, with its `shell` field.
    pub const SIGNAL: &str = "signal";
    /// `mark`.
    pub const MARK: &str = "mark";
    /// `hello` (protocol 2).
    pub const HELLO: &str = "hello";
    /// `status` (protocol 2).
    pub const STATUS: &str = "status";
}

/// What every host answers, hosts of protocol 1 included: a client sends
/// these without a hello.
pub const BASE_CAPABILITIES: &[&str] = &[
    capability::PING,
    capability::TEXT,
    capability::PASTE,
    capability::KEYS,
    capability::RUN,
    capability::RESIZE,
    capability::SIGNAL,
    capability::MARK,
];

/// What a host of this build answers (its hello lists these).
pub const CAPABILITIES: &[&str] = &[
    capability::PING,
    capability::TEXT,
    capability::PASTE,
    capability::KEYS,
    capability::RUN,
    capability::RESIZE,
    capability::SIGNAL,
    capability::MARK,
    capability::HELLO,
    capability::STATUS,
];

/// The `data` of the `input_text` event logged for `type --secret`: the
/// record keeps 0.5's shape (`input_text {data}`) and says input was typed,
/// never what.
pub const REDACTED_INPUT: &str = "[redacted]";

/// One side's statement of what it speaks: sent by a client as a request,
/// answered by the host with its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hello {
    /// The protocol version it speaks.
    pub protocol: u32,
    /// What it supports (a host) or understands in answers (a client).
    pub capabilities: Vec<String>,
    /// Its agent-tty version, for people reading a log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_tty: Option<String>,
}

impl Hello {
    /// This build's hello.
    pub fn ours() -> Self {
        Hello {
            protocol: PROTOCOL_VERSION,
            capabilities: CAPABILITIES.iter().map(|c| (*c).to_owned()).collect(),
            agent_tty: Some(env!("CARGO_PKG_VERSION").to_owned()),
        }
    }

    /// What a host that predates the hello supports.
    pub fn pre_hello() -> Self {
        Hello {
            protocol: BASE_VERSION,
            capabilities: BASE_CAPABILITIES.iter().map(|c| (*c).to_owned()).collect(),
            agent_tty: None,
        }
    }

    /// Whether `capability` is listed.
    pub fn supports(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

/// A request to a Session's host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ControlRequest {
    /// What do you speak? Answered with the host's [`Hello`].
    Hello(Hello),
    /// Is the host there? Answered with `ok`.
    Ping,
    /// Literal text, written as is; logged as `input_text`.
    Text {
        /// The text.
        data: String,
        /// A password or the like (`type --secret`): written as is, logged
        /// as `input_text` with [`REDACTED_INPUT`] in place of the text.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        secret: bool,
    },
    /// A bracketed paste; logged as `input_paste`.
    Paste {
        /// The text.
        data: String,
    },
    /// Named keys (see `keys`); logged as `input_keys`. Invalid names are
    /// refused with `INVALID_KEYS` and nothing is written.
    Keys {
        /// Key names such as `Enter`, `Ctrl+C`.
        keys: Vec<String>,
    },
    /// Type a command into the shell with a hidden completion marker; logged
    /// as `input_run`, and `run_complete` is logged when the marker is seen.
    #[serde(rename_all = "camelCase")]
    Run {
        /// The command line.
        command: String,
        /// The unique completion marker.
        marker: String,
        /// Whether the caller will not wait.
        no_wait: bool,
    },
    /// Resize the PTY; logged as `resize`; the manifest's cols/rows follow.
    Resize {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// Send a signal to the terminal's foreground process group (the job
    /// running in the shell, or the shell itself at its prompt), or with
    /// `shell` to the Session's command alone; logged as `signal`.
    Signal {
        /// A name such as `SIGINT` or `INT`.
        signal: String,
        /// Signal the Session's command (the shell) rather than the
        /// foreground job.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        shell: bool,
    },
    /// Place a label in the Event Log (`marker`); nothing reaches the
    /// terminal. The label may be empty.
    Mark {
        /// The label.
        label: String,
    },
    /// What the host knows about its Session (protocol 2): answered with a
    /// [`HostStatus`].
    Status,
    /// A kind this build does not know (a newer client's): never sent,
    /// answered `UNSUPPORTED` ([`decode_request`]).
    #[serde(other)]
    Unknown,
}

impl ControlRequest {
    /// The capability a host needs to answer this request: its kind.
    pub fn capability(&self) -> &'static str {
        match self {
            ControlRequest::Hello(_) => capability::HELLO,
            ControlRequest::Ping => capability::PING,
            ControlRequest::Text { .. } => capability::TEXT,
            ControlRequest::Paste { .. } => capability::PASTE,
            ControlRequest::Keys { .. } => capability::KEYS,
            ControlRequest::Run { .. } => capability::RUN,
            ControlRequest::Resize { .. } => capability::RESIZE,
            ControlRequest::Signal { .. } => capability::SIGNAL,
            ControlRequest::Mark { .. } => capability::MARK,
            ControlRequest::Status => capability::STATUS,
            ControlRequest::Unknown => "unknown",
        }
    }

    /// Whether every host answers it (no hello needed).
    pub fn is_base(&self) -> bool {
        BASE_CAPABILITIES.contains(&self.capability())
    }
}

/// The fields each kind this build knows may carry (besides `type`).
fn known_fields(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "hello" => &["protocol", "capabilities", "agentTty"],
        "ping" | "status" => &[],
        "text" => &["data", "secret"],
        "paste" => &["data"],
        "keys" => &["keys"],
        "run" => &["command", "marker", "noWait"],
        "resize" => &["cols", "rows"],
        "signal" => &["signal", "shell"],
        "mark" => &["label"],
        _ => return None,
    })
}

/// The host's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlResponse {
    /// Whether the request was carried out.
    pub ok: bool,
    /// The `seq` of the event logged for it, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Why not, when `ok` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ControlError>,
    /// The host's hello, answering a hello.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hello: Option<Hello>,
    /// The host's status, answering `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<HostStatus>,
}

impl ControlResponse {
    /// Carried out; `seq` is the event it logged, if any.
    pub fn done(seq: Option<u64>) -> Self {
        ControlResponse {
            ok: true,
            seq,
            error: None,
            hello: None,
            status: None,
        }
    }

    /// Refused.
    pub fn refused(code: ErrorCode, message: impl Into<String>) -> Self {
        ControlResponse {
            ok: false,
            error: Some(ControlError {
                code,
                message: message.into(),
            }),
            ..ControlResponse::done(None)
        }
    }
}

/// A refusal from the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlError {
    /// A contract error code.
    pub code: ErrorCode,
    /// What happened.
    pub message: String,
}

impl From<ControlError> for ControlResponse {
    fn from(error: ControlError) -> Self {
        ControlResponse::refused(error.code, error.message)
    }
}

/// What a host knows about its Session that the Session's files do not say
/// (the answer to `status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostStatus {
    /// The host's process.
    pub host_pid: u32,
    /// The Session's command.
    pub child_pid: u32,
    /// Whether the command still runs.
    pub running: bool,
    /// How it ended, once it has: its exit status...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// ...or the signal that ended it (a decimal number, as the manifest
    /// records it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_signal: Option<String>,
    /// Bytes of input the program has not read yet.
    pub input_queued: usize,
    /// Waited `run`s not finished yet.
    pub runs_pending: usize,
}

/// The words a host of protocol 1 and of this build use for a request it
/// cannot decode; [`is_pre_hello_refusal`] looks for them.
const NOT_UNDERSTOOD: &str = "the Session's host could not understand the request";

/// Reads one request line as a host does: the request, or the refusal to
/// answer instead of carrying it out (sent as a [`ControlResponse`]).
///
/// - a kind this build does not know, or a field it does not know on a kind
///   it knows, is `UNSUPPORTED` naming it, and nothing is carried out (a
///   field is never ignored: dropping `secret` would log a password); the
///   hello alone takes any extra field, since it only tells what a side
///   supports;
/// - a line that is not a request (not JSON, a field missing or of the wrong
///   type) is `PROTOCOL_ERROR` "could not understand", as in protocol 1.
pub fn decode_request(line: &[u8]) -> Result<ControlRequest, ControlError> {
    let not_understood = |e: serde_json::Error| ControlError {
        code: ErrorCode::ProtocolError,
        message: format!("{NOT_UNDERSTOOD}: {e}"),
    };
    let Shape { kind, keys } = serde_json::from_slice(line).map_err(not_understood)?;
    let Some(fields) = known_fields(&kind) else {
        return Err(ControlError {
            code: ErrorCode::Unsupported,
            message: format!(
                "the Session's host (control protocol {PROTOCOL_VERSION}) does not support \
                 the {kind:?} request, which a newer agent-tty sends; restart the Session \
                 with the newer agent-tty to use it"
            ),
        });
    };
    // A hello changes nothing, and is how the two sides learn what the other
    // supports: a newer client's extra hello fields are ignored, never refused.
    let unknown: Vec<&str> = keys
        .iter()
        .map(String::as_str)
        .filter(|k| kind != capability::HELLO && !fields.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(ControlError {
            code: ErrorCode::Unsupported,
            message: format!(
                "the Session's host (control protocol {PROTOCOL_VERSION}) does not support \
                 the field {} of the {kind:?} request, which a newer agent-tty sends; \
                 nothing was done. Restart the Session with the newer agent-tty to use it",
                unknown.join(", ")
            ),
        });
    }
    serde_json::from_slice(line).map_err(not_understood)
}

/// A request's kind and the names of its fields, read in one pass that
/// skips the values (a paste can be 16 MiB).
struct Shape {
    kind: String,
    keys: Vec<String>,
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Shape;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a request object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Shape, A::Error> {
                let (mut kind, mut keys) = (None, Vec::new());
                while let Some(key) = map.next_key::<String>()? {
                    if key == "type" {
                        kind = Some(map.next_value::<String>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                        keys.push(key);
                    }
                }
                let kind = kind.ok_or_else(|| serde::de::Error::missing_field("type"))?;
                Ok(Shape { kind, keys })
            }
        }
        d.deserialize_map(Visit)
    }
}

/// Whether a refusal of a hello is the one a host of protocol 1 gives
/// (`PROTOCOL_ERROR`, "could not understand" the `hello` kind): such a host
/// speaks protocol 1 with the base capabilities ([`Hello::pre_hello`]). A
/// later host that could not read a hello says something else, and is not
/// taken for protocol 1.
pub fn is_pre_hello_refusal(error: &ControlError) -> bool {
    error.code == ErrorCode::ProtocolError
        && error.message.starts_with(NOT_UNDERSTOOD)
        && error.message.contains("unknown variant `hello`")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// This build's hello, with a version that does not change the golden
    /// files at every release.
    fn hello() -> Hello {
        Hello {
            agent_tty: Some("9.9.9".into()),
            ..Hello::ours()
        }
    }

    /// One request of each kind, every optional field set.
    fn every_request() -> Vec<(&'static str, ControlRequest)> {
        vec![
            ("hello", ControlRequest::Hello(hello())),
            ("ping", ControlRequest::Ping),
            (
                "text",
                ControlRequest::Text {
                    data: "echo hi\r".into(),
                    secret: false,
                },
            ),
            (
                "text_secret",
                ControlRequest::Text {
                    data: "hunter2\r".into(),
                    secret: true,
                },
            ),
            (
                "paste",
                ControlRequest::Paste {
                    data: "line 1\nline 2".into(),
                },
            ),
            (
                "keys",
                ControlRequest::Keys {
                    keys: vec!["Ctrl+C".into(), "Enter".into()],
                },
            ),
            (
                "run",
                ControlRequest::Run {
                    command: "make test".into(),
                    marker: "M01JD3Z6X8K".into(),
                    no_wait: false,
                },
            ),
            (
                "resize",
                ControlRequest::Resize {
                    cols: 120,
                    rows: 40,
                },
            ),
            (
                "signal",
                ControlRequest::Signal {
                    signal: "SIGINT".into(),
                    shell: false,
                },
            ),
            (
                "signal_shell",
                ControlRequest::Signal {
                    signal: "SIGTERM".into(),
                    shell: true,
                },
            ),
            (
                "mark",
                ControlRequest::Mark {
                    label: "before deploy".into(),
                },
            ),
            ("status", ControlRequest::Status),
        ]
    }

    fn line<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }

    #[test]
    fn every_request_kind_on_the_wire() {
        for (name, request) in every_request() {
            let wire = line(&request);
            insta::assert_snapshot!(format!("request_{name}"), wire);
            // What a host reads back is what was sent.
            assert_eq!(decode_request(wire.as_bytes()).unwrap(), request, "{name}");
        }
    }

    #[test]
    fn every_answer_kind_on_the_wire() {
        let answers = [
            ("done", ControlResponse::done(None)),
            ("done_seq", ControlResponse::done(Some(12))),
            (
                "hello",
                ControlResponse {
                    hello: Some(hello()),
                    ..ControlResponse::done(None)
                },
            ),
            (
                "status",
                ControlResponse {
                    status: Some(HostStatus {
                        host_pid: 4242,
                        child_pid: 4243,
                        running: false,
                        exit_code: Some(0),
                        exit_signal: Some("9".into()),
                        input_queued: 0,
                        runs_pending: 1,
                    }),
                    ..ControlResponse::done(None)
                },
            ),
            (
                "refused",
                ControlResponse::refused(ErrorCode::SessionNotRunning, "Session is not running."),
            ),
            (
                "unknown_kind",
                decode_request(br#"{"type":"frobnicate","level":3}"#)
                    .unwrap_err()
                    .into(),
            ),
            (
                "unknown_field",
                decode_request(br#"{"type":"text","data":"x","typingDelayMs":20}"#)
                    .unwrap_err()
                    .into(),
            ),
            (
                "not_understood",
                decode_request(br#"{"type":"resize","cols":"wide","rows":5}"#)
                    .unwrap_err()
                    .into(),
            ),
        ];
        for (name, answer) in answers {
            let wire = line(&answer);
            insta::assert_snapshot!(format!("answer_{name}"), wire);
            let back: ControlResponse = serde_json::from_str(&wire).unwrap();
            assert_eq!(back, answer, "{name}");
        }
    }

    #[test]
    fn each_kinds_known_fields_are_exactly_what_it_serialises() {
        // Every sample's fields are known to its kind, and the samples of a
        // kind (optional fields set and not) use every field it knows.
        let mut seen: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for (name, request) in every_request() {
            let value = serde_json::to_value(&request).unwrap();
            assert_eq!(value["type"], request.capability(), "{name}");
            let known = known_fields(request.capability()).unwrap();
            let fields = seen.entry(request.capability()).or_default();
            for key in value.as_object().unwrap().keys().filter(|k| *k != "type") {
                assert!(known.contains(&key.as_str()), "{name}: {key}");
                fields.push(key.clone());
            }
        }
        for (kind, mut fields) in seen {
            fields.sort_unstable();
            fields.dedup();
            let mut known = known_fields(kind).unwrap().to_vec();
            known.sort_unstable();
            assert_eq!(fields, known, "{kind}");
        }
    }

    #[test]
    fn this_builds_capabilities_are_the_base_and_what_it_added() {
        for base in BASE_CAPABILITIES {
            assert!(CAPABILITIES.contains(base), "{base}");
        }
        let kinds: Vec<&str> = every_request()
            .iter()
            .map(|(_, r)| r.capability())
            .collect();
        for capability in CAPABILITIES {
            assert!(kinds.contains(capability), "no request for {capability}");
        }
    }

    #[rstest]
    #[case::a_newer_kind(br#"{"type":"frobnicate"}"#.as_slice(), ErrorCode::Unsupported, "\"frobnicate\" request")]
    #[case::a_newer_field(br#"{"type":"signal","signal":"INT","group":7}"#.as_slice(), ErrorCode::Unsupported, "field group")]
    #[case::not_json(b"hello".as_slice(), ErrorCode::ProtocolError, "could not understand")]
    #[case::no_kind(br#"{"data":"x"}"#.as_slice(), ErrorCode::ProtocolError, "could not understand")]
    #[case::a_field_missing(br#"{"type":"text"}"#.as_slice(), ErrorCode::ProtocolError, "could not understand")]
    fn a_host_refuses_what_it_does_not_know_and_says_so(
        #[case] line: &[u8],
        #[case] code: ErrorCode,
        #[case] says: &str,
    ) {
        let error = decode_request(line).unwrap_err();
        assert_eq!(error.code, code, "{}", error.message);
        assert!(error.message.contains(says), "{}", error.message);
        if code == ErrorCode::Unsupported {
            assert!(
                error.message.contains("restart the Session")
                    || error.message.contains("Restart the Session"),
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn a_newer_hellos_extra_fields_are_ignored() {
        let line = br#"{"type":"hello","protocol":3,"capabilities":["ping"],"features":[1]}"#;
        let ControlRequest::Hello(hello) = decode_request(line).unwrap() else {
            panic!("not a hello");
        };
        assert_eq!(hello.protocol, 3);
    }

    #[test]
    fn an_unknown_kind_decodes_to_the_fallback_variant() {
        let request: ControlRequest = serde_json::from_str(r#"{"type":"frobnicate"}"#).unwrap();
        assert_eq!(request, ControlRequest::Unknown);
    }

    #[test]
    fn a_protocol_1_hosts_answer_to_the_hello_means_the_base_set() {
        // The answer a host of protocol 1 gives (tests/fixtures/session-host-v1).
        let v1 = r#"{"ok":false,"error":{"code":"PROTOCOL_ERROR","message":"the Session's host could not understand the request: unknown variant `hello`, expected one of `ping`, `text`, `paste`, `keys`, `run`, `resize`, `signal`, `mark` at line 1 column 15"}}"#;
        let answer: ControlResponse = serde_json::from_str(v1).unwrap();
        assert!(is_pre_hello_refusal(answer.error.as_ref().unwrap()));
        let other = ControlError {
            code: ErrorCode::ProtocolError,
            message: "the Session's host sent a malformed answer".into(),
        };
        assert!(!is_pre_hello_refusal(&other));
        let base = Hello::pre_hello();
        assert!(base.supports("text") && !base.supports("status"));
    }
}
