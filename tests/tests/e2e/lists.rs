//! Lists that must be written in more than one place agree with their one
//! source. The plugins agent-tty ships are the workspace's `plugins/*`
//! members (the example plugin aside); the install script, the e2e
//! harness's build list, the plugins directory, and the host's own
//! well-known commands each hold a copy, and this test fails when a copy
//! disagrees. Likewise docs/ARCHITECTURE.md's table of which crate depends
//! on which, against the crates' manifests.

use agent_tty_e2e::{Sandbox, E2E_PACKAGES};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The plugin that shows how to write one; built for tests, never shipped.
const EXAMPLE: &str = "example-hello";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn workspace() -> toml::Table {
    let text = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    text.parse().unwrap()
}

/// The `plugins/NAME` entries of `[workspace] key`, as names.
fn plugin_members(key: &str) -> BTreeSet<String> {
    workspace()["workspace"][key]
        .as_array()
        .unwrap_or_else(|| panic!("[workspace] {key} is a list"))
        .iter()
        .filter_map(|m| m.as_str()?.strip_prefix("plugins/").map(str::to_owned))
        .collect()
}

/// The one source: the workspace's plugin members, the example left out.
/// Every e2e test that needs the shipped plugins asks here, so none keeps
/// a copy of its own.
pub(crate) fn shipped() -> BTreeSet<String> {
    let mut all = plugin_members("members");
    assert!(
        all.remove(EXAMPLE),
        "the example plugin is a workspace member"
    );
    all
}

fn set<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> BTreeSet<String> {
    items.into_iter().map(Into::into).collect()
}

#[test]
fn every_plugin_directory_is_a_workspace_member_built_by_default() {
    let dirs: BTreeSet<String> = std::fs::read_dir(repo().join("plugins"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    let mut members = shipped();
    members.insert(EXAMPLE.into());
    assert_eq!(dirs, members, "plugins/ and the workspace members differ");
    assert_eq!(
        plugin_members("default-members"),
        shipped(),
        "a plain `cargo build` must build every shipped plugin, and not the example"
    );
}

#[test]
fn the_install_script_installs_the_shipped_plugins() {
    let script = std::fs::read_to_string(repo().join("scripts/install.sh")).unwrap();
    let line = script
        .lines()
        .find_map(|l| l.strip_prefix("PRODUCT_PLUGINS=("))
        .and_then(|l| l.strip_suffix(')'))
        .expect("install.sh declares PRODUCT_PLUGINS=(...) on one line");
    assert_eq!(set(line.split_whitespace()), shipped());
}

#[test]
fn the_harness_builds_every_plugin() {
    let built = set(E2E_PACKAGES
        .iter()
        .filter_map(|p| p.strip_prefix("agent-tty-plugin-")));
    let mut want = shipped();
    want.insert(EXAMPLE.into());
    assert_eq!(
        built, want,
        "E2E_PACKAGES (tests/src/lib.rs) and the workspace differ"
    );
    // And every fixture plugin the workspace holds.
    for member in workspace()["workspace"]["members"].as_array().unwrap() {
        let member = member.as_str().unwrap();
        if member.starts_with("tests/fixtures/") {
            let (name, _) = internal_dependencies(member);
            assert!(
                E2E_PACKAGES.contains(&name.as_str()),
                "the fixture {name} ({member}) is not in E2E_PACKAGES"
            );
        }
    }
}

/// The host's well-known commands name only shipped plugins, and every
/// shipped plugin that has commands is named (`well_known.rs` checks the
/// words themselves against the plugins).
#[test]
fn the_hosts_well_known_plugins_are_the_shipped_ones() {
    let sandbox = Sandbox::new();
    let result = sandbox.run(["plugins", "--json"]).result();
    let named = set(result["wellKnown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["plugin"].as_str().unwrap()));
    assert_eq!(named, shipped_with_commands(&sandbox));
    let loaded: Vec<&serde_json::Value> = result["plugins"].as_array().unwrap().iter().collect();
    let loaded_names = set(loaded.iter().map(|p| p["name"].as_str().unwrap()));
    assert!(
        shipped().is_subset(&loaded_names),
        "a shipped plugin did not load beside the built host: {loaded_names:?}"
    );
}

/// Every member takes the workspace's lint policy (`[workspace.lints]` in
/// the root Cargo.toml), so the policy is written once: a member with no
/// `[lints]`, or with lints of its own, fails here.
#[test]
fn every_member_takes_the_workspace_lint_policy() {
    let policy = &workspace()["workspace"]["lints"];
    assert!(
        policy.get("rust").is_some() && policy.get("clippy").is_some(),
        "[workspace.lints] holds the rust and clippy policy"
    );
    for member in workspace()["workspace"]["members"].as_array().unwrap() {
        let member = member.as_str().unwrap();
        let text = std::fs::read_to_string(repo().join(member).join("Cargo.toml")).unwrap();
        let manifest: toml::Table = text.parse().unwrap();
        let lints = manifest.get("lints").and_then(|l| l.as_table());
        let inherits = lints.is_some_and(|l| {
            l.len() == 1 && l.get("workspace").and_then(toml::Value::as_bool) == Some(true)
        });
        assert!(
            inherits,
            "{member}/Cargo.toml: give it `[lints] workspace = true` and put any lint it \
             needs in [workspace.lints], got {lints:?}"
        );
    }
}

/// The shipped plugins that serve commands, as the plugins loaded beside
/// the built host describe themselves (`plugins --json`).
pub(crate) fn shipped_with_commands(sandbox: &Sandbox) -> BTreeSet<String> {
    let result = sandbox.run(["plugins", "--json"]).result();
    let shipped = shipped();
    set(result["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| shipped.contains(p["name"].as_str().unwrap()))
        .filter(|p| !p["commands"].as_array().unwrap().is_empty())
        .map(|p| p["name"].as_str().unwrap()))
}

/// The workspace crates `[dependencies]` of the member at `dir` names.
fn internal_dependencies(dir: &str) -> (String, BTreeSet<String>) {
    let text = std::fs::read_to_string(repo().join(dir).join("Cargo.toml")).unwrap();
    let manifest: toml::Table = text.parse().unwrap();
    let name = manifest["package"]["name"].as_str().unwrap().to_owned();
    let deps = manifest
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|d| {
            d.keys()
                .filter(|k| k.starts_with("agent-tty"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    (name, deps)
}

#[test]
fn the_architecture_doc_shows_each_crates_dependencies() {
    let doc = std::fs::read_to_string(repo().join("docs/ARCHITECTURE.md")).unwrap();
    let section = doc
        .split("### Which crate depends on which")
        .nth(1)
        .expect("docs/ARCHITECTURE.md has the section")
        .split("\n#")
        .next()
        .unwrap();
    let documented: std::collections::BTreeMap<String, BTreeSet<String>> = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells[1].split('`').nth(1).unwrap().to_owned();
            let deps = cells[2]
                .split(',')
                .filter_map(|d| d.trim().split('`').nth(1).map(str::to_owned))
                .collect();
            (name, deps)
        })
        .collect();
    let members = workspace()["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .filter(|m| !m.starts_with("tests") && !m.starts_with("bench/"))
        .collect::<Vec<_>>();
    let actual: std::collections::BTreeMap<String, BTreeSet<String>> =
        members.iter().map(|m| internal_dependencies(m)).collect();
    assert_eq!(
        documented, actual,
        "docs/ARCHITECTURE.md's dependency table is stale"
    );
}

/// The MCP server's tools name CLI commands and flags by hand: each
/// command is mounted, and each flag a tool passes is one of that
/// command's (taking a value exactly when the tool gives it one), as the
/// command's `--help` shows.
#[test]
fn every_mcp_tool_runs_a_real_command_with_real_flags() {
    use agent_tty_plugin_mcp::tools::{Arg, TOOLS};
    let sandbox = Sandbox::new();
    for tool in TOOLS {
        let mut args: Vec<&str> = tool.command.to_vec();
        args.push("--help");
        let help = sandbox.run(&args);
        assert_eq!(
            help.code,
            0,
            "the {} tool runs `{}`, which is not mounted: {}",
            tool.name,
            tool.command.join(" "),
            help.stderr
        );
        let lines: Vec<&str> = help.stdout.lines().map(str::trim_start).collect();
        for param in tool.params {
            let (flag, takes_value) = match param.arg {
                Arg::Option(f) | Arg::Repeated(f) => (f, true),
                Arg::Flag(f) => (f, false),
                Arg::Positional | Arg::Trailing => continue,
            };
            let long = format!("--{flag}");
            // The option's own line: `--name …` or `-n, --name …`.
            let line = lines
                .iter()
                .find(|l| {
                    let own = match l.split_once(", ") {
                        Some((short, rest)) if short.len() == 2 => rest,
                        _ => l,
                    };
                    own.split(' ').next() == Some(long.as_str())
                })
                .unwrap_or_else(|| {
                    panic!(
                        "the {} tool passes {long}, which `{}` does not take:\n{}",
                        tool.name,
                        tool.command.join(" "),
                        help.stdout
                    )
                });
            assert_eq!(
                line.contains(&format!("{long} <")),
                takes_value,
                "the {} tool's {long}: {line}",
                tool.name
            );
        }
    }
}

/// The files a real Session leaves in its directory and its Home are the
/// ones `core/src/layout.rs` declares (which `docs/FORMATS.md` describes),
/// each with its declared mode: a module that writes a file the layout does
/// not know fails here.
#[test]
fn a_real_session_directory_holds_only_what_the_layout_declares() {
    use agent_tty_core::layout::{self, Entry, Kind};
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    let home = sandbox.home("layout");
    let id = agent_tty_e2e::bash_session(&sandbox, &home, &[]);
    // What a Session's life writes: a run, a snapshot, a screenshot (an
    // artifact), then its end.
    sandbox
        .run_in(&home, &["run", &id, "echo layout-$((6*7))"])
        .expect_code(0);
    sandbox.run_in(&home, &["snapshot", &id]).expect_code(0);
    sandbox.run_in(&home, &["screenshot", &id]).expect_code(0);
    sandbox.run_in(&home, &["destroy", &id]).expect_code(0);
    let names = |dir: &Path| -> Vec<(String, std::fs::Metadata)> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| {
                let meta = std::fs::symlink_metadata(e.path()).unwrap();
                (e.file_name().into_string().unwrap(), meta)
            })
            .collect()
    };
    let check = |place: &str, entries: &[Entry], found: Vec<(String, std::fs::Metadata)>| {
        for (name, meta) in found {
            let entry = entries
                .iter()
                .find(|e| e.matches(&name))
                .unwrap_or_else(|| {
                    panic!("{place} holds {name}, which core/src/layout.rs does not declare")
                });
            let is_dir = entry.kind == Kind::Dir;
            assert_eq!(meta.is_dir(), is_dir, "{place}/{name}");
            if let Some(mode) = entry.mode {
                assert_eq!(
                    meta.permissions().mode() & 0o777,
                    mode,
                    "{place}/{name}: mode {:o}, declared {mode:o}",
                    meta.permissions().mode() & 0o777
                );
            }
        }
    };
    let dir = home.join(layout::home::SESSIONS.name).join(&id);
    let in_session = names(&dir);
    for wanted in [
        layout::session::MANIFEST,
        layout::session::EVENT_LOG,
        layout::session::ARTIFACTS,
    ] {
        assert!(
            in_session.iter().any(|(n, _)| *n == wanted.name),
            "{} missing: {in_session:?}",
            wanted.name
        );
    }
    check(
        "the Session directory",
        layout::session::ENTRIES,
        in_session,
    );
    check("the Home", layout::home::ENTRIES, names(&home));
    // `artifacts/` holds the artifacts (named by their ids) and the
    // entries the layout declares for it.
    let artifacts = dir.join(layout::session::ARTIFACTS.name);
    let declared: Vec<(String, std::fs::Metadata)> = names(&artifacts)
        .into_iter()
        .filter(|(n, _)| layout::artifacts::ENTRIES.iter().any(|e| e.matches(n)))
        .collect();
    assert!(
        declared
            .iter()
            .any(|(n, _)| n == layout::artifacts::MANIFEST.name),
        "{declared:?}"
    );
    check("artifacts/", layout::artifacts::ENTRIES, declared);
}
