//! Anything newer than this build degrades to "unsupported" instead of a
//! decode error: the wire can grow without stranding older peers.

use agent_tty_protocol::wire::{HostRequest, PluginRequest, Response};
use agent_tty_protocol::{
    Description, ErrorCode, HostEvent, KeyCode, KeyEvent, PaneAction, PaneStyle,
};
use rstest::rstest;
use serde_json::json;

#[test]
fn an_unknown_event_is_unsupported() {
    let e: HostEvent =
        serde_json::from_value(json!({"type": "sessionRenamed", "home": "/h"})).unwrap();
    assert_eq!(e, HostEvent::Unsupported);
    let r: PluginRequest =
        serde_json::from_value(json!({"op": "event", "event": {"type": "homeForgotten"}})).unwrap();
    assert!(matches!(
        r,
        PluginRequest::Event {
            event: HostEvent::Unsupported
        }
    ));
}

#[rstest]
#[case::plugin_request(json!({"op": "paneMouse", "instance": 1}))]
fn an_unknown_plugin_request_is_unsupported(#[case] wire: serde_json::Value) {
    let r: PluginRequest = serde_json::from_value(wire).unwrap();
    assert!(matches!(r, PluginRequest::Unsupported));
    assert_eq!(r.op(), "unsupported");
}

#[test]
fn an_unknown_host_request_is_unsupported() {
    let r: HostRequest = serde_json::from_value(json!({"op": "notify", "text": "hi"})).unwrap();
    assert!(matches!(r, HostRequest::Unsupported));
}

#[test]
fn an_unknown_error_code_keeps_the_message() {
    let text = r#"{"ok": false, "error": {"code": "QUOTA_EXCEEDED", "message": "too many Sessions", "details": {"max": 5}}}"#;
    let err = Response::parse(text).unwrap_err();
    assert_eq!(err.code, ErrorCode::Unrecognized);
    assert_eq!(err.message, "too many Sessions");
    assert_eq!(err.details["max"], 5);
    assert_eq!(err.code.exit_code(), 1);
}

#[test]
fn unknown_keys_actions_and_colours_degrade() {
    let k: KeyEvent = serde_json::from_value(json!({"code": {"key": "f13"}})).unwrap();
    assert_eq!(k.code, KeyCode::Unsupported);
    let a: PaneAction = serde_json::from_value(json!({"action": "openUrl", "url": "x"})).unwrap();
    assert_eq!(a, PaneAction::Unsupported);
    let s: PaneStyle =
        serde_json::from_value(json!({"fg": {"hsl": [1, 2, 3]}, "bg": "red", "bold": true}))
            .unwrap();
    assert_eq!(s.fg, None);
    assert_eq!(s.bg, Some(agent_tty_protocol::Color::Red));
    assert!(s.bold);
}

#[test]
fn a_description_without_negotiation_means_interface_release_1() {
    // What a plugin built before negotiation answers.
    let d: Description = serde_json::from_value(json!({
        "commands": [{"path": ["x"], "about": "x"}], "capabilities": [], "panes": []
    }))
    .unwrap();
    assert_eq!(d.commands[0].path, ["x"]);
    assert!(d.protocol.request("paneKey"));
    assert!(!d.protocol.request("paneMouse"));
    assert!(d.protocol.event("sessionCreated"));
    assert!(!d.protocol.event("homeForgotten"));
    assert!(d.permissions.is_empty());
}

#[test]
fn a_negotiated_description_is_taken_at_its_word() {
    let d: Description = serde_json::from_value(json!({
        "commands": [], "protocol": {"requests": ["describe", "invoke"], "events": []}
    }))
    .unwrap();
    assert!(d.protocol.request("invoke"));
    assert!(!d.protocol.request("paneKey"));
    // No events listed by a negotiating plugin: it wants none.
    assert!(!d.protocol.event("sessionCreated"));
}

#[test]
fn a_description_reads_back_as_written_and_skips_keys_it_does_not_know() {
    // Every key a description has on the wire, as one flat object.
    let wire = json!({
        "groups": [{"name": "home", "about": "Homes"}],
        "commands": [{
            "path": ["home", "list"], "about": "List Homes",
            "args": [{"name": "all", "kind": "flag", "help": "every Home", "required": false}],
            "aliases": ["ls"], "hidden": false
        }],
        "capabilities": ["registry.homes"],
        "panes": [],
        "protocol": {"requests": ["describe"], "events": ["homeForgotten"]},
        "permissions": ["sessions.reconcile"],
        "effects": [{
            "capability": "sessions.list", "whenArg": "reconcile",
            "permission": "sessions.reconcile", "about": "rewrites manifests"
        }]
    });
    let d: Description = serde_json::from_value(wire.clone()).unwrap();
    assert_eq!(serde_json::to_value(&d).unwrap(), wire);
    // A later interface's key is ignored, not refused.
    let mut later = wire.clone();
    later["layouts"] = json!([{"name": "grid"}]);
    let d: Description = serde_json::from_value(later).unwrap();
    assert_eq!(serde_json::to_value(&d).unwrap(), wire);
}
