//! `CommandOutput::into_value`/`from_value` move a big result across the
//! wire without copying it, and say exactly what serde's derived
//! conversions say.

use agent_tty_protocol::wire::Response;
use agent_tty_protocol::{CommandOutput, HostEvent};
use rstest::rstest;
use serde_json::{json, Value};

fn full() -> CommandOutput {
    CommandOutput {
        result: json!({"homes": [{"path": "/h", "activeSessions": 1}], "z": null}),
        result_json: None,
        human: Some("Home  Active\n".into()),
        events: vec![HostEvent::SessionCreated {
            home: "/h".into(),
            session_id: "01JD3Z6X8K4M2N5P7Q9R1S3T5V".into(),
        }],
        warnings: vec!["careful".into()],
        exit_code: 11,
        stdout_taken: true,
    }
}

#[rstest]
#[case::everything(full())]
#[case::defaults(CommandOutput::default())]
#[case::result_only(CommandOutput { result: json!([1, "two"]), ..Default::default() })]
#[case::result_as_text(CommandOutput {
    exit_code: 3,
    ..CommandOutput::default().with_result_json(
        serde_json::value::to_raw_value(&json!({"homes": [{"path": "/h"}], "n": [1, 2.5]})).unwrap(),
    )
})]
fn into_value_is_to_value(#[case] output: CommandOutput) {
    let expected = serde_json::to_value(&output).unwrap();
    let answer = Response::command_answer(&output);
    let moved = output.into_value().unwrap();
    assert_eq!(moved, expected);
    // Same text on the wire, key order included.
    assert_eq!(moved.to_string(), expected.to_string());
    // And the answer written straight from the output is the answer of
    // its value, byte for byte.
    assert_eq!(answer, Response::from_result(Ok(moved)).to_json());
}

#[rstest]
#[case::everything(serde_json::to_value(full()).unwrap())]
#[case::no_result(json!({"human": "x"}))]
#[case::human_not_text(json!({"result": 1, "human": 5}))]
#[case::not_an_object(json!([1]))]
#[case::unknown_key(json!({"result": {"a": 1}, "future": true}))]
fn from_value_is_serdes(#[case] value: Value) {
    let expected = serde_json::from_value::<CommandOutput>(value.clone());
    let moved = CommandOutput::from_value(value);
    match (moved, expected) {
        (Ok(m), Ok(e)) => {
            assert_eq!(m.result, e.result);
            assert_eq!(m.human, e.human);
            assert_eq!(m.warnings, e.warnings);
            assert_eq!(m.exit_code, e.exit_code);
            assert_eq!(
                serde_json::to_value(&m.events).unwrap(),
                serde_json::to_value(&e.events).unwrap()
            );
        }
        (Err(m), Err(e)) => assert_eq!(m.to_string(), e.to_string()),
        (m, e) => panic!("moved {m:?} but serde {e:?}"),
    }
}

#[test]
fn warnings_go_into_an_object_result_only_when_there_are_some() {
    let out = full().with_warnings_in_result();
    assert_eq!(out.result["warnings"], json!(["careful"]));
    assert_eq!(out.warnings, ["careful"], "still printed on stderr");
    let quiet = CommandOutput::new(json!({"a": 1}), "").with_warnings_in_result();
    assert_eq!(quiet.result, json!({"a": 1}));
    let mut list = CommandOutput::new(json!([1]), "");
    list.warnings.push("x".into());
    assert_eq!(list.with_warnings_in_result().result, json!([1]));
    // A result written as text gets them too; without any it stays text.
    let text = || serde_json::value::to_raw_value(&json!({"a": 1})).unwrap();
    let mut written = CommandOutput::default().with_result_json(text());
    assert!(written
        .clone()
        .with_warnings_in_result()
        .result_json
        .is_some());
    written.warnings.push("careful".into());
    let warned = written.with_warnings_in_result().into_value().unwrap();
    assert_eq!(warned["result"], json!({"a": 1, "warnings": ["careful"]}));
}
