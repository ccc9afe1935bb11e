//! A strict checker of agent-tty 0.5's Event Log record schema, written from
//! the contract's field list (docs/CONTRACT.md, "Event Log"): what 0.5's
//! readers accept, and nothing more. 0.5 validates every record and payload
//! strictly (one unknown key makes `snapshot` and `record export` fail for
//! the whole log), so every log our Sessions write must pass this.
//!
//! - a record is `{"seq","ts","type","payload"}`, those keys in that order;
//! - `seq` counts from 0 by 1; `ts` is ISO-8601 UTC with milliseconds;
//! - each type's payload has exactly its keys, of their types:
//!
//! | type | payload |
//! |---|---|
//! | output, input_text, input_paste | `{data: string}` |
//! | input_keys | `{keys: [string]}` |
//! | input_run | `{command: string, marker?: string, noWait: bool}`, marker iff waited |
//! | run_complete | `{marker: string, inputRunSeq?: int ≥ 0}` |
//! | resize | `{cols: int > 0, rows: int > 0}` |
//! | signal | `{signal: string}` |
//! | exit | `{exitCode: int or null, exitSignal: string or null}` |
//! | marker | `{label: string}` |

use serde_json::{Map, Value};

/// Checks one record (one line, without its newline) that should have
/// `seq`; the error says what 0.5 would reject.
pub fn check_record(line: &str, seq: u64) -> Result<(), String> {
    let record: Map<String, Value> =
        serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}: {line}"))?;
    let keys: Vec<&str> = record.keys().map(String::as_str).collect();
    if keys != ["seq", "ts", "type", "payload"] {
        return Err(format!(
            "record keys {keys:?}, not [seq, ts, type, payload]: {line}"
        ));
    }
    if record["seq"].as_u64() != Some(seq) {
        return Err(format!("seq {} where {seq} was due: {line}", record["seq"]));
    }
    let ts = record["ts"].as_str().unwrap_or_default();
    if !is_iso_millis(ts) {
        return Err(format!(
            "ts {:?} is not ISO-8601 UTC with milliseconds",
            record["ts"]
        ));
    }
    let kind = record["type"]
        .as_str()
        .ok_or_else(|| format!("type is not a string: {line}"))?;
    let payload = record["payload"]
        .as_object()
        .ok_or_else(|| format!("payload is not an object: {line}"))?;
    check_payload(kind, payload).map_err(|why| format!("{kind}: {why}: {line}"))
}

/// Checks a whole Event Log's text: every line a record, `seq` from 0 with
/// no gap.
pub fn check_log(text: &str) -> Result<(), String> {
    for (seq, line) in text.lines().enumerate() {
        check_record(line, seq as u64)?;
    }
    Ok(())
}

/// What a payload key must hold.
#[derive(Clone, Copy)]
enum Kind {
    String,
    Bool,
    Strings,
    Count,
    Positive,
    IntOrNull,
    StringOrNull,
}

fn check_payload(kind: &str, payload: &Map<String, Value>) -> Result<(), String> {
    use Kind::*;
    // (key, kind, required)
    let fields: &[(&str, Kind, bool)] = match kind {
        "output" | "input_text" | "input_paste" => &[("data", String, true)],
        "input_keys" => &[("keys", Strings, true)],
        "input_run" => &[
            ("command", String, true),
            ("marker", String, false),
            ("noWait", Bool, true),
        ],
        "run_complete" => &[("marker", String, true), ("inputRunSeq", Count, false)],
        "resize" => &[("cols", Positive, true), ("rows", Positive, true)],
        "signal" => &[("signal", String, true)],
        "exit" => &[
            ("exitCode", IntOrNull, true),
            ("exitSignal", StringOrNull, true),
        ],
        "marker" => &[("label", String, true)],
        other => return Err(format!("unknown type {other:?}")),
    };
    for key in payload.keys() {
        if !fields.iter().any(|(k, _, _)| k == key) {
            return Err(format!("unknown key {key:?}"));
        }
    }
    for &(key, want, required) in fields {
        let Some(value) = payload.get(key) else {
            if required {
                return Err(format!("missing {key:?}"));
            }
            continue;
        };
        let ok = match want {
            String => value.is_string(),
            Bool => value.is_boolean(),
            Strings => value
                .as_array()
                .is_some_and(|a| a.iter().all(Value::is_string)),
            Count => value.is_u64(),
            Positive => value.as_u64().is_some_and(|n| n > 0),
            IntOrNull => value.is_null() || value.is_i64(),
            StringOrNull => value.is_null() || value.is_string(),
        };
        if !ok {
            return Err(format!("{key:?} has the wrong type: {value}"));
        }
    }
    if kind == "input_run" {
        let waited = payload.get("noWait") == Some(&Value::Bool(false));
        if waited != payload.contains_key("marker") {
            return Err("marker must be given exactly when the run is waited".into());
        }
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn is_iso_millis(ts: &str) -> bool {
    let b = ts.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    b.len() == 24
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && digits(20..23)
        && b[23] == b'Z'
}

#[cfg(test)]
mod tests {
    use super::*;

    const TS: &str = "2026-11-30T15:44:10.191Z";

    fn rec(kind: &str, payload: &str) -> String {
        format!(r#"{{"seq":0,"ts":"{TS}","type":"{kind}","payload":{payload}}}"#)
    }

    #[test]
    fn records_0_5_writes_pass() {
        for (kind, payload) in [
            ("output", r#"{"data":"x"}"#),
            ("input_keys", r#"{"keys":["Enter"]}"#),
            (
                "input_run",
                r#"{"command":"ls","marker":"__AT_MARKER_00c49bad32d54a7b9821feb4185f35e9__","noWait":false}"#,
            ),
            ("input_run", r#"{"command":"ls","noWait":true}"#),
            ("run_complete", r#"{"marker":"m","inputRunSeq":1}"#),
            ("run_complete", r#"{"marker":"m"}"#),
            ("resize", r#"{"cols":100,"rows":30}"#),
            ("exit", r#"{"exitCode":0,"exitSignal":"1"}"#),
            ("exit", r#"{"exitCode":null,"exitSignal":null}"#),
            ("marker", r#"{"label":""}"#),
        ] {
            check_record(&rec(kind, payload), 0).unwrap();
        }
    }

    #[test]
    fn anything_else_is_rejected() {
        for (kind, payload) in [
            (
                "run_complete",
                r#"{"marker":"m","inputRunSeq":1,"exitCode":0}"#,
            ),
            ("input_run", r#"{"command":"ls","noWait":false}"#),
            (
                "input_run",
                r#"{"command":"ls","marker":"m","noWait":true}"#,
            ),
            ("output", r#"{"data":1}"#),
            ("resize", r#"{"cols":0,"rows":30}"#),
            ("exit", r#"{"exitCode":0}"#),
            ("bell", r#"{}"#),
        ] {
            assert!(
                check_record(&rec(kind, payload), 0).is_err(),
                "{kind} {payload}"
            );
        }
        let reordered =
            format!(r#"{{"ts":"{TS}","seq":0,"type":"output","payload":{{"data":""}}}}"#);
        assert!(check_record(&reordered, 0).is_err());
        assert!(check_record(&rec("output", r#"{"data":""}"#), 1).is_err());
        let bad_ts = rec("output", r#"{"data":""}"#).replace(TS, "2026-11-30T15:44:10Z");
        assert!(check_record(&bad_ts, 0).is_err());
    }

    #[test]
    fn the_logs_0_5_wrote_pass() {
        let homes = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/agent-tty-0.5");
        let mut checked = 0;
        for home in ["driven/home", "sample-home"] {
            for session in std::fs::read_dir(homes.join(home).join("sessions")).unwrap() {
                let log = session.unwrap().path().join("events.jsonl");
                check_log(&std::fs::read_to_string(&log).unwrap())
                    .unwrap_or_else(|e| panic!("{}: {e}", log.display()));
                checked += 1;
            }
        }
        assert!(checked >= 4, "{checked}");
    }
}
