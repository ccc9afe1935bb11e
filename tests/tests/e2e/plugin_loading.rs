//! A command opens only the plugin libraries it uses; the rest are known from
//! the plugin description cache (ADR 0010), which follows the files it
//! describes and is ignored when it cannot be trusted.
//!
//! Which libraries a process opened is observed from outside: glibc's
//! dynamic loader reports every file it maps under `LD_DEBUG=files`, and a
//! live Session host's mappings are in `/proc/<pid>/maps`.

use super::lists::shipped;
use agent_tty_e2e::{
    create_session, example_plugin, manifest_pid, plugin_lib, read_manifest, Run, Sandbox,
};
use rstest::rstest;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The agent-tty plugins (by name) whose libraries `run` opened, from the
/// loader's `LD_DEBUG=files` report on stderr.
fn opened_plugins(run: &Run) -> BTreeSet<String> {
    run.stderr
        .lines()
        .filter_map(|l| l.split("file=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter_map(|file| Path::new(file).file_name()?.to_str().map(str::to_owned))
        .filter_map(|name| {
            let stem = name.strip_prefix("libagent_tty_plugin_")?;
            Some(stem.strip_suffix(".so")?.replace('_', "-"))
        })
        .collect()
}

/// Runs with the dynamic loader's file report on.
fn traced(sandbox: &Sandbox, args: &[&str]) -> Run {
    sandbox
        .command(args)
        .env("LD_DEBUG", "files")
        .output()
        .expect("agent-tty runs")
        .into()
}

/// `None` (with a message) where the loader does not report (not glibc).
fn loader_reports(sandbox: &Sandbox) -> Option<()> {
    let all = traced(sandbox, &["plugins"]);
    if opened_plugins(&all).is_empty() {
        eprintln!("skipped: this system's dynamic loader does not honour LD_DEBUG=files");
        return None;
    }
    Some(())
}

/// A case's stand-in for "every plugin agent-tty ships" (the workspace's
/// list, [`shipped`]), so the table keeps no copy of it.
const EVERY_SHIPPED_PLUGIN: &[&str] = &["<every shipped plugin>"];

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[rstest]
#[case::version(&["--json", "version"], &[])]
#[case::help(&["--help"], &[])]
#[case::command_help(&["create", "--help"], &[])]
#[case::completions(&["completions", "bash"], &[])]
#[case::usage_error(&["--json", "list", "--bogus"], &[])]
#[case::list(&["--json", "list"], &["sessions"])]
#[case::inspect_unknown(&["--json", "inspect", "01JD3Z6X8K4M2N5P7Q9R1S3T5V"], &["sessions"])]
#[case::skills(&["skills", "list"], &["skills"])]
#[case::home_list(&["--json", "home", "list"], &["registry"])]
#[case::create(&["--json", "create", "--", "true"], &["sessions", "registry"])]
#[case::plugins(&["plugins"], EVERY_SHIPPED_PLUGIN)]
fn a_command_opens_only_the_plugins_it_uses(#[case] args: &[&str], #[case] expected: &[&str]) {
    let sandbox = Sandbox::new();
    if loader_reports(&sandbox).is_none() {
        return;
    }
    let run = traced(&sandbox, args);
    let expected = if expected == EVERY_SHIPPED_PLUGIN {
        shipped()
    } else {
        set(expected)
    };
    assert_eq!(
        opened_plugins(&run),
        expected,
        "`agent-tty {}` opened other plugins than it uses\nstdout:\n{}",
        args.join(" "),
        run.stdout
    );
}

#[test]
fn without_a_cache_every_plugin_is_described_and_the_cache_is_written() {
    let sandbox = Sandbox::new();
    if loader_reports(&sandbox).is_none() {
        return;
    }
    std::fs::remove_dir_all(sandbox.cache_dir()).unwrap();
    let cold = traced(&sandbox, &["--json", "version"]);
    cold.expect_code(0);
    assert_eq!(opened_plugins(&cold), shipped(), "{}", cold.stderr);
    let cache = sandbox.cache_dir().join("agent-tty").join("plugins.json");
    let mode = std::os::unix::fs::PermissionsExt::mode(&cache.metadata().unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let warm = traced(&sandbox, &["--json", "version"]);
    assert_eq!(
        warm.result(),
        cold.result(),
        "the cache changes nothing seen"
    );
    assert!(opened_plugins(&warm).is_empty());
}

#[test]
fn the_session_host_maps_only_the_sessions_plugin() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, _) = create_session(&sandbox, &home, &["--", "sleep", "300"]);
    let pid = manifest_pid(&read_manifest(&home.join("sessions").join(&id)), "hostPid");
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mapped: BTreeSet<&str> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|f| f.contains("libagent_tty_plugin_"))
        .collect();
    assert_eq!(
        mapped.len(),
        1,
        "the host of a Session maps one plugin: {mapped:?}"
    );
    assert!(mapped
        .iter()
        .all(|f| f.ends_with("libagent_tty_plugin_sessions.so")));
    sandbox.run_in(&home, &["destroy", &id]).result();
}

/// A private plugin directory holding one library under a plugin file name.
fn plugin_dir(sandbox: &Sandbox, library: &Path) -> (PathBuf, PathBuf) {
    let dir = sandbox.root().join("extra-plugins");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("libagent_tty_plugin_extra.so");
    std::fs::copy(library, &file).unwrap();
    (dir, file)
}

fn versions(sandbox: &Sandbox, dir: &Path) -> Vec<String> {
    let run: Run = sandbox
        .command(["--json", "version"])
        .env("AGENT_TTY_PLUGIN_PATH", dir)
        .output()
        .unwrap()
        .into();
    run.result()["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_replaced_plugin_file_is_described_again() {
    let sandbox = Sandbox::new();
    let (dir, file) = plugin_dir(&sandbox, &example_plugin());
    assert!(versions(&sandbox, &dir).contains(&"example-hello".to_owned()));
    assert!(versions(&sandbox, &dir).contains(&"example-hello".to_owned()));
    // Another plugin under the same file name: the cached description of
    // `example-hello` must not survive it.
    std::fs::remove_file(&file).unwrap();
    std::fs::copy(plugin_lib("fixture_tidy_plugin"), &file).unwrap();
    let now = versions(&sandbox, &dir);
    assert!(!now.contains(&"example-hello".to_owned()), "{now:?}");
    assert!(now.contains(&"tidy".to_owned()), "{now:?}");
}

/// Adds a command `forged` to the sessions plugin's cached description.
fn forge(cache: &Path) {
    let mut doc: Value = serde_json::from_slice(&std::fs::read(cache).unwrap()).unwrap();
    let sessions = doc["plugins"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["described"]["name"] == "sessions")
        .expect("sessions is cached");
    let commands = sessions["described"]["description"]["commands"]
        .as_array_mut()
        .unwrap();
    let mut forged = commands[0].clone();
    forged["path"] = serde_json::json!(["forged"]);
    commands.push(forged);
    std::fs::write(cache, serde_json::to_vec(&doc).unwrap()).unwrap();
}

#[rstest]
#[case::private(0o600, 0)]
#[case::world_writable(0o666, 2)]
#[case::group_writable(0o620, 2)]
fn a_cache_others_can_write_is_not_trusted(#[case] mode: u32, #[case] code: i32) {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    sandbox.run(["version"]).expect_code(0);
    let cache = sandbox.cache_dir().join("agent-tty").join("plugins.json");
    forge(&cache);
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(mode)).unwrap();
    // A trusted cache is what the command line is built from (so the forged
    // command exists); an untrusted one is ignored.
    sandbox.run(["forged", "--help"]).expect_code(code);
}

#[test]
fn a_malformed_or_unwritable_cache_changes_nothing() {
    let sandbox = Sandbox::new();
    let cache = sandbox.cache_dir().join("agent-tty").join("plugins.json");
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    std::fs::write(&cache, b"{\"format\": 3, \"plugins\": [tru").unwrap();
    let run = sandbox.run(["--json", "version"]);
    assert_eq!(run.result()["plugins"].as_array().unwrap().len(), 7);
    // Rewritten whole.
    let doc: Value = serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
    assert_eq!(doc["plugins"].as_array().unwrap().len(), 7);

    // XDG_CACHE_HOME a file: nothing can be cached, everything works.
    let blocker = sandbox.root().join("cache-is-a-file");
    std::fs::write(&blocker, b"").unwrap();
    let run: Run = sandbox
        .command(["--json", "list"])
        .env("XDG_CACHE_HOME", &blocker)
        .output()
        .unwrap()
        .into();
    run.expect_code(0);
    assert_eq!(std::fs::read(&blocker).unwrap(), b"");
}

/// `plugins` and `doctor` describe every library afresh, and say so when a
/// library's answer differs from the one cached for the same unchanged file
/// (a description that depends on something besides the library).
#[test]
fn plugins_and_doctor_report_a_description_that_changed_under_an_unchanged_file() {
    let sandbox = Sandbox::new();
    sandbox.run(["version"]).expect_code(0);
    let cache = sandbox.cache_dir().join("agent-tty").join("plugins.json");
    let drift = |run: &Run| -> Vec<(String, Value)> {
        run.result()["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| !p["descriptionDrift"].is_null())
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_owned(),
                    p["descriptionDrift"]["changed"].clone(),
                )
            })
            .collect()
    };

    forge(&cache);
    let report = sandbox.run(["plugins", "--json"]);
    report.expect_code(0);
    assert_eq!(
        drift(&report),
        [("sessions".to_owned(), Value::from("commands"))]
    );
    // Reporting refreshed the cache: the same answer again is no drift.
    assert_eq!(drift(&sandbox.run(["plugins", "--json"])), []);

    forge(&cache);
    let text = sandbox.run(["plugins"]);
    assert!(
        text.stdout.contains("described itself differently"),
        "{}",
        text.stdout
    );

    forge(&cache);
    let doctor = sandbox.run(["doctor", "--json"]);
    doctor.expect_code(1);
    let checks = doctor.result()["checks"]["environment"].clone();
    let check = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "plugin-description")
        .unwrap_or_else(|| panic!("no plugin-description check: {checks}"));
    assert_eq!(check["status"], "fail");
    assert!(check["message"].as_str().unwrap().contains("sessions"));
}
