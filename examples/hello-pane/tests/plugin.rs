//! The plugin's own tests, through plugin-api's test-support harness: every
//! call goes through the same JSON entry the host uses.

use agent_tty_plugin_api::test_support::{frame_text, PluginHarness};
use agent_tty_plugin_api::{ErrorCode, KeyCode, KeyEvent, PaneAction, PaneContext};
use agent_tty_plugin_hello_pane::HelloPane;
use serde_json::json;

#[test]
fn describes_one_command_and_one_pane() {
    let d = PluginHarness::new(HelloPane).describe();
    assert_eq!(d.commands[0].path, ["greet"]);
    assert_eq!(d.panes[0].key, Some('Y'));
    // The SDK advertised what it understands.
    assert!(d.protocol.requests.iter().any(|r| r == "paneKey"));
}

#[test]
fn greets_as_often_as_asked() {
    let h = PluginHarness::new(HelloPane);
    let out = h
        .invoke(&["greet"], json!({"name": "Ada", "times": "2"}))
        .unwrap();
    assert_eq!(
        out.result["greeting"],
        json!(["Greetings, Ada!", "Greetings, Ada!"])
    );
    assert_eq!(
        out.human.as_deref(),
        Some("Greetings, Ada!\nGreetings, Ada!")
    );
}

#[test]
fn a_bad_count_is_a_usage_error() {
    let h = PluginHarness::new(HelloPane);
    let err = h.invoke(&["greet"], json!({"times": "9"})).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert_eq!(err.code.exit_code(), 2);
}

#[test]
fn the_pane_counts_presses_and_closes_on_esc() {
    let mut h = PluginHarness::new(HelloPane);
    let ctx = PaneContext {
        current_home: "/h".into(),
        scope_all: false,
    };
    let pane = h.open_pane("greeter", ctx).unwrap();
    let key = |c| KeyEvent::plain(c);
    assert_eq!(
        h.key(pane, key(KeyCode::Char(' '))).unwrap(),
        PaneAction::None
    );
    let text = frame_text(&h.render(pane, 40, 5).unwrap());
    assert_eq!(text[1], "Home: /h");
    assert_eq!(text[2], "Space pressed 1 times; Esc closes");
    assert_eq!(h.key(pane, key(KeyCode::Esc)).unwrap(), PaneAction::Close);
}
