//! The `--json` envelopes of `list`, `home list`, `gc` and `plugins`, pinned
//! by insta snapshots (tests/tests/e2e/snapshots/). What varies from run to
//! run is normalised first: the sandbox's path, timestamps, Session ids that
//! were generated, process ids, byte counts and plugin file paths. Review a change with
//! `cargo insta review` (or `INSTA_UPDATE=always`) and commit the `.snap`.

use agent_tty_e2e::{dead_pid, session_id, write_session, Sandbox};
use regex::Regex;
use serde_json::Value;

/// Replaces what differs between runs with stable placeholders.
fn normalise(value: Value, sandbox: &Sandbox) -> Value {
    let root = sandbox.root().to_str().unwrap().to_owned();
    let time = Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$").unwrap();
    let ulid = Regex::new(r"\b[0-9A-HJKMNP-TV-Z]{26}\b").unwrap();
    fn walk(v: Value, key: &str, f: &dyn Fn(&str, Value) -> Value) -> Value {
        match v {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| {
                        let v = walk(v, &k, f);
                        (k, v)
                    })
                    .collect(),
            ),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| walk(v, key, f)).collect())
            }
            other => f(key, other),
        }
    }
    let fixed: Vec<String> = (0..10).map(session_id).collect();
    walk(value, "", &|key, v| match v {
        Value::String(s) => {
            if time.is_match(&s) {
                return Value::String("<time>".into());
            }
            let s = s.replace(&root, "<sandbox>");
            let s = ulid
                .replace_all(&s, |c: &regex::Captures| {
                    if fixed.iter().any(|f| f == &c[0]) {
                        c[0].to_owned()
                    } else {
                        "<ulid>".to_owned()
                    }
                })
                .into_owned();
            Value::String(s)
        }
        Value::Number(_) if key.to_ascii_lowercase().ends_with("pid") => {
            Value::String("<pid>".into())
        }
        // A manifest's size depends on how many digits its host's pid had.
        Value::Number(n) if key.contains("Bytes") && n.as_u64() != Some(0) => {
            Value::String("<bytes>".into())
        }
        other => other,
    })
}

fn envelope(sandbox: &Sandbox, args: &[&str]) -> Value {
    let run = sandbox.run(args);
    normalise(run.json(), sandbox)
}

/// A Home with an exited Session and one whose host died while running.
fn fixture_home(sandbox: &Sandbox) -> std::path::PathBuf {
    let home = sandbox.home("h");
    write_session(&home, &session_id(1), "exited", None);
    write_session(&home, &session_id(2), "running", Some(dead_pid()));
    home
}

#[test]
fn list_envelope() {
    let sandbox = Sandbox::new();
    let home = fixture_home(&sandbox);
    let h = home.to_str().unwrap();
    insta::assert_json_snapshot!(
        "list_all",
        envelope(&sandbox, &["--json", "--home", h, "list", "--all"])
    );
    insta::assert_json_snapshot!(
        "list_active",
        envelope(&sandbox, &["--json", "--home", h, "list"])
    );
}

#[test]
fn home_list_envelope() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let h = home.to_str().unwrap();
    // A real Session registers its Home (the sandbox kills it at the end).
    sandbox
        .run(["--json", "--home", h, "create", "--", "sleep", "300"])
        .expect_code(0);
    insta::assert_json_snapshot!(
        "home_list_all",
        envelope(&sandbox, &["--json", "home", "list", "--all"])
    );
    insta::assert_json_snapshot!("home_list", envelope(&sandbox, &["--json", "home", "list"]));
}

#[test]
fn gc_envelope() {
    let sandbox = Sandbox::new();
    let home = fixture_home(&sandbox);
    let h = home.to_str().unwrap();
    insta::assert_json_snapshot!(
        "gc_dry_run",
        envelope(&sandbox, &["--json", "--home", h, "gc", "--dry-run"])
    );
    insta::assert_json_snapshot!("gc", envelope(&sandbox, &["--json", "--home", h, "gc"]));
}

#[test]
fn plugins_envelope() {
    let sandbox = Sandbox::new();
    let mut v = envelope(&sandbox, &["--json", "plugins"]);
    // Where the build put the libraries is not the envelope's shape.
    for row in v["result"]["plugins"].as_array_mut().unwrap() {
        row["path"] = "<plugin path>".into();
    }
    v["result"]["searchPath"] = "<search path>".into();
    insta::assert_json_snapshot!("plugins", v);
}
