//! Golden wire shapes: every JSON message that crosses the plugin boundary.
//! A change here is a change of the plugin interface — it must be deliberate
//! (and may need `INTERFACE_VERSION` bumped), never an accident.

use agent_tty_plugin_api::wire::{HostRequest, PluginRequest, Response};
use agent_tty_plugin_api::{
    ArgSpec, CommandContext, CommandOutput, CommandSpec, ErrorCode, HomeChoice, HostEvent,
    Invocation, KeyCode, KeyEvent, PaneAction, PaneContext, PaneFrame, PaneLine, PluginError,
};
use rstest::rstest;
use serde_json::{json, Value};

fn context() -> CommandContext {
    CommandContext {
        home: Some(HomeChoice {
            path: "/h".into(),
            explicit: true,
        }),
        home_error: None,
        json: true,
        color: false,
        exe: "/bin/agent-tty".into(),
        ..Default::default()
    }
}

fn wire<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

#[rstest]
#[case::describe(wire(&PluginRequest::Describe), json!({"op": "describe"}))]
#[case::invoke(
    wire(&PluginRequest::Invoke { invocation: Invocation {
        command: vec!["home".into(), "list".into()],
        args: serde_json::from_value(json!({"all": true})).unwrap(),
        context: context(),
    }}),
    json!({"op": "invoke", "invocation": {"command": ["home", "list"], "args": {"all": true},
        "context": {"home": {"path": "/h", "explicit": true}, "json": true, "color": false,
                    "exe": "/bin/agent-tty"}}})
)]
#[case::event(
    wire(&PluginRequest::Event { event: HostEvent::SessionCreated { home: "/h".into(), session_id: "S".into() } }),
    json!({"op": "event", "event": {"type": "sessionCreated", "home": "/h", "sessionId": "S"}})
)]
#[case::pane_key(
    wire(&PluginRequest::PaneKey { instance: 7, key: KeyEvent::plain(KeyCode::Char('j')) }),
    json!({"op": "paneKey", "instance": 7, "key": {"code": {"key": "char", "char": "j"}, "ctrl": false, "alt": false}})
)]
#[case::pane_open(
    wire(&PluginRequest::PaneOpen { pane: "picker".into(), instance: 1,
        context: PaneContext { current_home: "/h".into(), scope_all: false } }),
    json!({"op": "paneOpen", "pane": "picker", "instance": 1, "context": {"currentHome": "/h", "scopeAll": false}})
)]
#[case::host_capability(
    wire(&HostRequest::Capability { name: "registry.homes".into(), args: json!({"all": false}), context: CommandContext::default() }),
    json!({"op": "capability", "name": "registry.homes", "args": {"all": false},
        "context": {"json": false, "color": false, "exe": ""}})
)]
#[case::ok(wire(&Response::from_result(Ok(json!(1)))), json!({"ok": true, "value": 1}))]
#[case::err(
    wire(&Response::from_result(Err(PluginError::new(ErrorCode::SessionNotFound, "gone")))),
    json!({"ok": false, "error": {"code": "SESSION_NOT_FOUND", "message": "gone"}})
)]
#[case::switch_home(wire(&PaneAction::SwitchHome { home: "/b".into() }), json!({"action": "switchHome", "home": "/b"}))]
#[case::frame(
    wire(&PaneFrame { lines: vec![PaneLine::raw("hi")], ..PaneFrame::default() }),
    json!({"lines": [{"spans": [{"text": "hi"}]}]})
)]
#[case::output(
    wire(&CommandOutput::new(json!({"x": 1}), "x")),
    json!({"result": {"x": 1}, "human": "x", "exitCode": 0})
)]
#[case::command_spec(
    wire(&CommandSpec::new(&["gc"], "Collect").arg(ArgSpec::option("older-than", "AGE", "Only older"))),
    json!({"path": ["gc"], "about": "Collect", "args": [{"name": "older-than", "kind": "option",
        "help": "Only older", "required": false, "valueName": "AGE"}], "aliases": [], "hidden": false})
)]
#[case::arg_completion(
    wire(&ArgSpec::session_id("The Session")),
    json!({"name": "id", "kind": "positional", "help": "The Session", "required": true,
        "valueName": "SESSION_ID", "hint": "sessionId"})
)]
#[case::arg_values(
    wire(&ArgSpec::option("format", "FORMAT", "Which").values(&["gif", "webm"])),
    json!({"name": "format", "kind": "option", "help": "Which", "required": false,
        "valueName": "FORMAT", "values": ["gif", "webm"]})
)]
#[case::describe_answer(
    wire(&agent_tty_plugin_api::Description {
        plugin: agent_tty_plugin_api::PluginDescription::default(),
        protocol: agent_tty_plugin_api::ProtocolSupport::current(),
        permissions: vec!["sessions.reconcile".into()],
        effects: vec![agent_tty_plugin_api::EffectSpec {
            capability: "sessions.list".into(),
            when_arg: Some("reconcile".into()),
            permission: "sessions.reconcile".into(),
            about: "rewrites manifests".into(),
        }],
    }),
    json!({"groups": [], "commands": [], "capabilities": [], "panes": [],
        "protocol": {"requests": ["describe", "invoke", "event", "capability", "paneOpen",
            "paneRender", "paneKey", "paneClose"], "events": ["sessionCreated"]},
        "permissions": ["sessions.reconcile"],
        "effects": [{"capability": "sessions.list", "whenArg": "reconcile",
            "permission": "sessions.reconcile", "about": "rewrites manifests"}]})
)]
#[case::unsupported_code(wire(&ErrorCode::Unsupported), json!("UNSUPPORTED"))]
#[case::permission_denied(wire(&ErrorCode::PermissionDenied), json!("PERMISSION_DENIED"))]
#[case::session_controlled(wire(&ErrorCode::SessionControlled), json!("SESSION_CONTROLLED"))]
#[case::mouse_not_enabled(wire(&ErrorCode::MouseNotEnabled), json!("MOUSE_NOT_ENABLED"))]
#[case::remote_unreachable(wire(&ErrorCode::RemoteUnreachable), json!("REMOTE_UNREACHABLE"))]
#[case::remote_version_mismatch(wire(&ErrorCode::RemoteVersionMismatch), json!("REMOTE_VERSION_MISMATCH"))]
fn wire_shapes_are_stable(#[case] actual: Value, #[case] expected: Value) {
    assert_eq!(actual, expected);
}

#[rstest]
#[case(ErrorCode::InternalError, 1, false)]
#[case(ErrorCode::InvalidSessionId, 2, false)]
#[case(ErrorCode::PluginNotInstalled, 2, false)]
#[case(ErrorCode::SessionNotFound, 3, false)]
#[case(ErrorCode::SessionAlreadyDestroyed, 4, false)]
#[case(ErrorCode::HostTimeout, 5, true)]
#[case(ErrorCode::HostUnreachable, 6, true)]
#[case(ErrorCode::ExportError, 7, false)]
#[case(ErrorCode::StorageWriteError, 8, false)]
#[case(ErrorCode::RpcError, 9, true)]
#[case(ErrorCode::ReplayError, 10, false)]
#[case(ErrorCode::WaitTimeout, 11, false)]
#[case(ErrorCode::SessionControlled, 12, true)]
#[case(ErrorCode::MouseNotEnabled, 13, false)]
#[case(ErrorCode::SkillNotFound, 1, false)]
#[case(ErrorCode::RemoteUnreachable, 14, true)]
#[case(ErrorCode::RemoteNotInstalled, 15, false)]
#[case(ErrorCode::RemoteVersionMismatch, 16, false)]
fn exit_codes_follow_the_contract(
    #[case] code: ErrorCode,
    #[case] exit: i32,
    #[case] retryable: bool,
) {
    assert_eq!((code.exit_code(), code.retryable()), (exit, retryable));
}

#[test]
fn a_malformed_response_is_a_protocol_error() {
    let err = Response::parse("{\"ok\": maybe}").unwrap_err();
    assert_eq!(err.code, ErrorCode::ProtocolError);
}

/// A value hint from a newer plugin reads as `Other` (offered as file
/// names), and a spec from before completion fields reads with none.
#[test]
fn completion_fields_are_additive() {
    let newer: ArgSpec = serde_json::from_value(json!({"name": "at", "kind": "option",
        "help": "", "hint": "timestamp"}))
    .unwrap();
    assert_eq!(newer.hint, Some(agent_tty_plugin_api::ValueHint::Other));
    let older: ArgSpec =
        serde_json::from_value(json!({"name": "at", "kind": "option", "help": ""})).unwrap();
    assert!(older.values.is_empty() && older.hint.is_none());
}
