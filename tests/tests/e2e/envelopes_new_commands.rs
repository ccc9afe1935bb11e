//! The JSON envelopes of `mark`, `batch`, `skills` and `doctor`, pinned with
//! insta so a reviewer can read them side by side with the contract (§3.9,
//! §4, §5, §3.18). Values that change per run (timestamps, durations, seqs,
//! ids, hashes, paths, check messages) are redacted; keys and their order
//! are not.

use agent_tty_e2e::{bash_session, Sandbox};
use insta::assert_json_snapshot;
use serde_json::json;

#[test]
fn mark_envelope() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let out = sandbox.run_in(&home, &["mark", &id, ""]);
    out.expect_code(0);
    assert_json_snapshot!(out.json(), { ".timestamp" => "[timestamp]", ".result.seq" => "[seq]" });
}

#[test]
fn batch_envelopes() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &[]);
    let redactions = |name: &str, code: i32, plan: serde_json::Value, extra: &[&str]| {
        let plan = plan.to_string();
        let mut args = vec!["batch", &id, &plan];
        args.extend_from_slice(extra);
        let out = sandbox.run_in(&home, &args);
        out.expect_code(code);
        assert_json_snapshot!(name, out.json(), {
            ".timestamp" => "[timestamp]",
            ".result.steps[].durationMs" => "[ms]",
            ".result.steps[].seq" => "[seq]",
            ".result.steps[].waitBaseline" => "[seq]",
            ".result.steps[].capturedAtSeq" => "[seq]",
            ".result.steps[].screenHash" => "[sha256]",
        });
    };
    redactions(
        "batch_completed",
        0,
        json!([
            {"type": "echo one"}, {"sendKeys": ["Enter"]},
            {"run": "echo two-$((1+1))"}, {"wait": {"text": "two-2", "timeout": 10000}},
            {"paste": "x"}, {"run": "true", "noWait": true},
        ]),
        &[],
    );
    redactions(
        "batch_fail_fast",
        11,
        json!([{"wait": {"text": "never-shown", "timeout": 100}}, {"type": "x"}, {"run": "ls"}]),
        &[],
    );
    redactions(
        "batch_keep_going",
        1,
        json!([{"wait": {"regex": "never-\\d", "timeout": 100}}, {"type": "x"}]),
        &["--keep-going"],
    );
    let bad = sandbox.run_in(&home, &["batch", &id, r#"[{"type":"a","bogus":1}]"#]);
    bad.expect_code(2);
    assert_json_snapshot!("batch_invalid_step", bad.json(), { ".timestamp" => "[timestamp]" });
}

#[test]
fn skills_envelopes() {
    let sandbox = Sandbox::new();
    let list = sandbox.run(["skills", "list", "--json"]);
    list.expect_code(0);
    assert_json_snapshot!("skills_list", list.json(), { ".timestamp" => "[timestamp]" });
    let path = sandbox.run(["skills", "path", "agent-tty", "--json"]);
    path.expect_code(0);
    assert_json_snapshot!("skills_path", path.json(), {
        ".timestamp" => "[timestamp]", ".result.path" => "[data]/agent-tty/skill-data/agent-tty",
    });
    let missing = sandbox.run(["skills", "get", "nope", "--json"]);
    missing.expect_code(1);
    assert_json_snapshot!("skills_not_found", missing.json(), { ".timestamp" => "[timestamp]" });
}

#[test]
fn doctor_envelope() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let out = sandbox.run_in(&home, &["doctor"]);
    out.expect_code(0);
    let mut envelope = out.json();
    // Whether 0.5 clients can reach Sessions depends on who owns this
    // machine's /tmp/agent-tty (pass, or skip with the reason).
    for check in envelope["result"]["checks"]["environment"]
        .as_array_mut()
        .unwrap()
    {
        if check["name"] == "legacy-socket" {
            check["status"] = json!("[pass or skip]");
        }
    }
    assert_json_snapshot!(envelope, {
        ".timestamp" => "[timestamp]",
        ".result.checks.*[].durationMs" => "[ms]",
        ".result.checks.*[].message" => "[message]",
    });
}
