//! A strict checker of agent-tty 0.5's socket protocol (contract §7.3),
//! written from the contract, not from our code: what a 0.5 client accepts
//! from a host. Every object is closed (an unknown key is an error, as 0.5's
//! client rejects it with `RPC result failed validation`), every key has
//! its type, and optional keys may be absent but never `null` unless the
//! contract says so.
//!
//! [`check_response`] checks one answer line: the envelope (`{id, ok:
//! true, result}` or `{id, ok: false, error: {code, message}}`) and, on
//! success, the method's result. [`socket_path`] and [`request`] are a
//! 0.5 client's side of the wire, also written from the contract (the
//! socket location is computed here, not by calling our code).

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn hex(bytes: &[u8], n: usize) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..n]
        .to_owned()
}

/// `/tmp/agent-tty/<8 hex of sha256(home)>`: a Home's 0.5 socket directory.
pub fn socket_dir(home: &Path) -> PathBuf {
    Path::new("/tmp/agent-tty").join(hex(home.as_os_str().as_encoded_bytes(), 8))
}

/// `<socket_dir>/<12 hex of sha256(id)>`: where 0.5 reaches a Session's host.
pub fn socket_path(home: &Path, id: &str) -> PathBuf {
    socket_dir(home).join(hex(id.as_bytes(), 12))
}

/// Sends one raw request line on its own connection, as 0.5's client does,
/// and returns the answer line parsed (20 s at most).
pub fn request(socket: &Path, line: &str) -> Value {
    let mut s = UnixStream::connect(socket).expect("the host listens at 0.5's location");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(line.as_bytes()).unwrap();
    s.write_all(b"\n").unwrap();
    let mut answer = String::new();
    BufReader::new(&s).read_line(&mut answer).unwrap();
    serde_json::from_str(&answer).unwrap_or_else(|_| panic!("not JSON: {answer:?}"))
}

/// `{id, method, params}` as one request.
pub fn call(socket: &Path, id: &str, method: &str, params: Value) -> Value {
    request(
        socket,
        &json!({ "id": id, "method": method, "params": params }).to_string(),
    )
}

/// The type of one value.
#[derive(Clone, Copy)]
pub enum Ty {
    /// Any string.
    Str,
    /// A string of at least one character.
    NonEmpty,
    /// `true` or `false`.
    Bool,
    /// The literal `true`.
    True,
    /// The literal `false`.
    False,
    /// The number 1 (a manifest's `version`).
    One,
    /// An integer (any sign).
    Int,
    /// An integer ≥ 0.
    NonNegInt,
    /// An integer ≥ 1.
    PosInt,
    /// 64 lowercase hex digits.
    Sha256,
    /// An ISO-8601 UTC time with milliseconds (`2026-11-24T03:50:02.677Z`).
    Iso,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// `null` or the inner type.
    Nullable(&'static Ty),
    /// An array of the inner type.
    Array(&'static Ty),
    /// An object with string values only (`env`).
    StringMap,
    /// A closed object.
    Object(&'static [Field]),
}

/// One key of a closed object.
pub struct Field {
    /// The key.
    pub key: &'static str,
    /// Whether it must be there.
    pub required: bool,
    /// Its value's type.
    pub ty: Ty,
}

const fn req(key: &'static str, ty: Ty) -> Field {
    Field {
        key,
        required: true,
        ty,
    }
}

const fn opt(key: &'static str, ty: Ty) -> Field {
    Field {
        key,
        required: false,
        ty,
    }
}

/// A Session manifest (compat `session.json`), as `inspect` carries it.
pub const SESSION: &[Field] = &[
    req("version", Ty::One),
    req("sessionId", Ty::Str),
    req("createdAt", Ty::Iso),
    req("updatedAt", Ty::Iso),
    req(
        "status",
        Ty::OneOf(&[
            "running",
            "exiting",
            "exited",
            "failed",
            "destroying",
            "destroyed",
        ]),
    ),
    opt("failureReason", Ty::NonEmpty),
    opt(
        "failureOrigin",
        Ty::OneOf(&[
            "host-death",
            "renderer-failure",
            "storage-corruption",
            "unknown",
        ]),
    ),
    req("command", Ty::Array(&Ty::Str)),
    req("cwd", Ty::Str),
    opt("name", Ty::NonEmpty),
    opt("env", Ty::StringMap),
    opt("shell", Ty::NonEmpty),
    opt("term", Ty::NonEmpty),
    req("cols", Ty::PosInt),
    req("rows", Ty::PosInt),
    opt("creationCols", Ty::PosInt),
    opt("creationRows", Ty::PosInt),
    opt("idleTimeoutMs", Ty::NonNegInt),
    req("hostPid", Ty::Nullable(&Ty::PosInt)),
    req("childPid", Ty::Nullable(&Ty::PosInt)),
    req("exitCode", Ty::Nullable(&Ty::Int)),
    req("exitSignal", Ty::Nullable(&Ty::Str)),
];

const LINE: Ty = Ty::Object(&[req("row", Ty::NonNegInt), req("text", Ty::Str)]);
const CELL: Ty = Ty::Object(&[
    req("char", Ty::Str),
    opt("fg", Ty::Str),
    opt("bg", Ty::Str),
    opt("bold", Ty::Bool),
    opt("italic", Ty::Bool),
    opt("underline", Ty::Bool),
    opt("strikethrough", Ty::Bool),
]);
const CELL_LINE: Ty = Ty::Object(&[
    req("lineNumber", Ty::NonNegInt),
    req("cells", Ty::Array(&CELL)),
]);

const INSPECT: &[Field] = &[
    req("session", Ty::Object(SESSION)),
    opt("cliVersion", Ty::NonEmpty),
    opt("rpcSocketPath", Ty::NonEmpty),
    opt("rendererBackend", Ty::NonEmpty),
    opt("rendererProfile", Ty::NonEmpty),
    opt("rendererBooted", Ty::Bool),
    opt("rendererBootInFlight", Ty::Bool),
];
const SEQ: &[Field] = &[req("seq", Ty::NonNegInt)];
const SEND_KEYS: &[Field] = &[
    req("accepted", Ty::Array(&Ty::NonEmpty)),
    req("bytesWritten", Ty::NonNegInt),
    req("seq", Ty::NonNegInt),
];
const RESIZE: &[Field] = &[req("cols", Ty::PosInt), req("rows", Ty::PosInt)];
const EMPTY: &[Field] = &[];
const RUN: &[Field] = &[
    req("accepted", Ty::True),
    opt("completed", Ty::Bool),
    opt("timedOut", Ty::Bool),
    req("seq", Ty::NonNegInt),
    opt("durationMs", Ty::NonNegInt),
    opt("marker", Ty::Str),
];
const WAIT: &[Field] = &[opt("exitCode", Ty::Int), req("timedOut", Ty::Bool)];
const WAIT_FOR_RENDER: &[Field] = &[
    req("matched", Ty::Bool),
    req("timedOut", Ty::Bool),
    opt("matchedText", Ty::Str),
    opt("cursorRow", Ty::NonNegInt),
    opt("cursorCol", Ty::NonNegInt),
    req("capturedAtSeq", Ty::NonNegInt),
    opt("screenHash", Ty::Sha256),
];
const SNAPSHOT_STRUCTURED: &[Field] = &[
    req("format", Ty::OneOf(&["structured"])),
    req("sessionId", Ty::NonEmpty),
    req("capturedAtSeq", Ty::NonNegInt),
    req("cols", Ty::PosInt),
    req("rows", Ty::PosInt),
    req("cursorRow", Ty::NonNegInt),
    req("cursorCol", Ty::NonNegInt),
    req("isAltScreen", Ty::Bool),
    req("visibleLines", Ty::Array(&LINE)),
    opt("scrollbackLines", Ty::Array(&LINE)),
    opt("cells", Ty::Array(&CELL_LINE)),
    opt("screenHash", Ty::Sha256),
];
const SNAPSHOT_TEXT: &[Field] = &[
    req("format", Ty::OneOf(&["text"])),
    req("sessionId", Ty::NonEmpty),
    req("capturedAtSeq", Ty::NonNegInt),
    req("cols", Ty::PosInt),
    req("rows", Ty::PosInt),
    req("cursorRow", Ty::NonNegInt),
    req("cursorCol", Ty::NonNegInt),
    req("text", Ty::Str),
    opt("screenHash", Ty::Sha256),
];
const SCREENSHOT: &[Field] = &[
    req("sessionId", Ty::NonEmpty),
    req("capturedAtSeq", Ty::NonNegInt),
    req("profileName", Ty::NonEmpty),
    req("cols", Ty::PosInt),
    req("rows", Ty::PosInt),
    req("artifactPath", Ty::NonEmpty),
    req("pngSizeBytes", Ty::PosInt),
    opt("cursorVisible", Ty::Bool),
    opt("rendererBackend", Ty::Str),
    opt("pixelWidth", Ty::PosInt),
    opt("pixelHeight", Ty::PosInt),
    opt("sha256", Ty::Sha256),
    opt("renderProfileHash", Ty::Sha256),
];
const DESTROY: &[Field] = &[req("sessionId", Ty::NonEmpty), req("destroyed", Ty::True)];

const SUCCESS: &[Field] = &[
    req("id", Ty::NonEmpty),
    req("ok", Ty::True),
    req("result", Ty::Object(EMPTY)),
];
const FAILURE: &[Field] = &[
    req("id", Ty::NonEmpty),
    req("ok", Ty::False),
    req(
        "error",
        Ty::Object(&[req("code", Ty::NonEmpty), req("message", Ty::NonEmpty)]),
    ),
];

/// The result shape of `method`, or `None` for a method 0.5 does not have.
/// `snapshot` depends on the `format` asked for.
pub fn result_shape(method: &str, params: &Value) -> Option<&'static [Field]> {
    Some(match method {
        "inspect" => INSPECT,
        "type" | "paste" | "mark" => SEQ,
        "sendKeys" => SEND_KEYS,
        "resize" => RESIZE,
        "signal" => EMPTY,
        "run" => RUN,
        "wait" => WAIT,
        "waitForRender" => WAIT_FOR_RENDER,
        "snapshot" if params["format"] == "text" => SNAPSHOT_TEXT,
        "snapshot" => SNAPSHOT_STRUCTURED,
        "screenshot" => SCREENSHOT,
        "destroy" => DESTROY,
        _ => return None,
    })
}

/// Checks one answer to a request `{id, method, params}`: `Ok` when a 0.5
/// client would accept it, else every problem found, each with its path.
pub fn check_response(
    id: &str,
    method: &str,
    params: &Value,
    response: &Value,
) -> Result<(), String> {
    let mut problems = Vec::new();
    let envelope = if response["ok"] == true {
        SUCCESS
    } else {
        FAILURE
    };
    match response.as_object() {
        None => problems.push(format!("the response is not an object: {response}")),
        Some(o) => {
            for f in envelope {
                match o.get(f.key) {
                    None => problems.push(format!("missing key `{}`", f.key)),
                    // The result is checked by method below.
                    Some(_) if f.key == "result" => {}
                    Some(v) => check(&f.ty, v, f.key, &mut problems),
                }
            }
            for k in o.keys() {
                if !envelope.iter().any(|f| f.key == k) {
                    problems.push(format!("unknown key `{k}`"));
                }
            }
        }
    }
    if response["id"] != id {
        problems.push(format!(
            "id {} does not echo the request's {id:?}",
            response["id"]
        ));
    }
    if response["ok"] == true {
        match result_shape(method, params) {
            Some(shape) => check(
                &Ty::Object(shape),
                &response["result"],
                "result",
                &mut problems,
            ),
            None => problems.push(format!("`{method}` is not a 0.5 method, yet it succeeded")),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{method} {params}: {}\n{response:#}",
            problems.join("; ")
        ))
    }
}

/// Checks `value` against `ty` at `path`, adding each problem found.
pub fn check(ty: &Ty, value: &Value, path: &str, problems: &mut Vec<String>) {
    let mut bad = |what: &str| problems.push(format!("{path}: expected {what}, got {value}"));
    match ty {
        Ty::Str => {
            if !value.is_string() {
                bad("a string");
            }
        }
        Ty::NonEmpty => {
            if value.as_str().is_none_or(str::is_empty) {
                bad("a non-empty string");
            }
        }
        Ty::Bool => {
            if !value.is_boolean() {
                bad("a boolean");
            }
        }
        Ty::True => {
            if *value != Value::Bool(true) {
                bad("true");
            }
        }
        Ty::Int => {
            if value.as_i64().is_none() {
                bad("an integer");
            }
        }
        Ty::NonNegInt => {
            if value.as_u64().is_none() {
                bad("an integer >= 0");
            }
        }
        Ty::PosInt => {
            if value.as_u64().is_none_or(|n| n == 0) {
                bad("an integer >= 1");
            }
        }
        Ty::Sha256 => {
            let ok = value.as_str().is_some_and(|s| {
                s.len() == 64
                    && s.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            });
            if !ok {
                bad("64 lowercase hex digits");
            }
        }
        Ty::Iso => {
            let ok = value.as_str().is_some_and(is_iso_ms);
            if !ok {
                bad("an ISO-8601 UTC time with milliseconds");
            }
        }
        Ty::False => {
            if *value != Value::Bool(false) {
                bad("false");
            }
        }
        Ty::One => {
            if value.as_u64() != Some(1) {
                bad("1");
            }
        }
        Ty::OneOf(words) => {
            if !value.as_str().is_some_and(|s| words.contains(&s)) {
                bad(&format!("one of {words:?}"));
            }
        }
        Ty::Nullable(inner) => {
            if !value.is_null() {
                check(inner, value, path, problems);
            }
        }
        Ty::Array(inner) => match value.as_array() {
            None => bad("an array"),
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    check(inner, item, &format!("{path}[{i}]"), problems);
                }
            }
        },
        Ty::StringMap => match value.as_object() {
            Some(m) if m.iter().all(|(k, v)| !k.is_empty() && v.is_string()) => {}
            _ => bad("an object of strings"),
        },
        Ty::Object(fields) => match value.as_object() {
            None => bad("an object"),
            Some(o) => check_object(fields, o, path, problems),
        },
    }
}

fn check_object(fields: &[Field], o: &Map<String, Value>, path: &str, problems: &mut Vec<String>) {
    for f in fields {
        match o.get(f.key) {
            None if f.required => problems.push(format!("{path}: missing key `{}`", f.key)),
            None => {}
            Some(v) => check(&f.ty, v, &format!("{path}.{}", f.key), problems),
        }
    }
    for k in o.keys() {
        if !fields.iter().any(|f| f.key == k) {
            problems.push(format!("{path}: unknown key `{k}`"));
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn is_iso_ms(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_wrong_types_are_rejected() {
        let ok = json!({ "id": "a", "ok": true, "result": { "seq": 3 } });
        assert_eq!(check_response("a", "type", &json!({}), &ok), Ok(()));
        let extra = json!({ "id": "a", "ok": true, "result": { "seq": 3, "sessionId": "X" } });
        assert!(check_response("a", "type", &json!({}), &extra)
            .unwrap_err()
            .contains("unknown key `sessionId`"));
        let null_code =
            json!({ "id": "a", "ok": true, "result": { "timedOut": false, "exitCode": null } });
        assert!(check_response("a", "wait", &json!({}), &null_code).is_err());
        let text = json!({ "id": "a", "ok": true, "result": {
            "format": "text", "sessionId": "S", "capturedAtSeq": 0, "cols": 80, "rows": 24,
            "cursorRow": 0, "cursorCol": 0, "text": "", "status": "running" } });
        assert!(
            check_response("a", "snapshot", &json!({ "format": "text" }), &text)
                .unwrap_err()
                .contains("unknown key `status`")
        );
        let error =
            json!({ "id": "a", "ok": false, "error": { "code": "RPC_ERROR", "message": "m" } });
        assert_eq!(check_response("a", "nope", &json!({}), &error), Ok(()));
        let wrong_id =
            json!({ "id": "b", "ok": false, "error": { "code": "RPC_ERROR", "message": "m" } });
        assert!(check_response("a", "nope", &json!({}), &wrong_id).is_err());
    }

    #[test]
    fn manifests_are_checked_closed() {
        let mut problems = Vec::new();
        let m = json!({
            "version": 1, "sessionId": "S", "createdAt": "2026-11-24T03:50:02.677Z",
            "updatedAt": "2026-11-24T03:50:02.677Z", "status": "running", "command": ["sh"],
            "cwd": "/", "cols": 80, "rows": 24, "hostPid": 1, "childPid": null,
            "exitCode": null, "exitSignal": null });
        check(&Ty::Object(SESSION), &m, "session", &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let mut extra = m.clone();
        extra["startTime"] = json!(1);
        check(&Ty::Object(SESSION), &extra, "session", &mut problems);
        assert_eq!(problems, ["session: unknown key `startTime`"]);
    }
}
