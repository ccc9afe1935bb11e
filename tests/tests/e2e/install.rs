//! `scripts/install.sh`, run as a user would into a temporary prefix, with the
//! files the harness built (`--from`), then the installed binary driven.

use agent_tty_e2e::{bin_dir, ensure_built, Run, Sandbox};
use std::path::{Path, PathBuf};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install.sh")
}

fn install(sandbox: &Sandbox, prefix: &Path, extra: &[&str]) -> Run {
    ensure_built();
    let out = std::process::Command::new("bash")
        .arg(script())
        .arg("--prefix")
        .arg(prefix)
        .arg("--from")
        .arg(bin_dir())
        .args(extra)
        .env("HOME", sandbox.user_dir())
        .env_remove("AGENT_TTY_PLUGIN_PATH")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("bash runs");
    out.into()
}

fn installed(sandbox: &Sandbox, prefix: &Path, args: &[&str]) -> Run {
    sandbox
        .command_for(&prefix.join("bin/agent-tty"), args)
        .output()
        .unwrap()
        .into()
}

fn loaded_plugins(sandbox: &Sandbox, prefix: &Path) -> Vec<String> {
    let run = installed(sandbox, prefix, &["plugins", "--json"]);
    run.expect_code(0);
    let mut names: Vec<String> = run.result()["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "loaded")
        .map(|p| {
            let path = p["path"].as_str().unwrap();
            assert!(
                path.starts_with(prefix.to_str().unwrap()),
                "{path} not from the prefix"
            );
            p["name"].as_str().unwrap().to_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn install_puts_the_host_and_the_four_product_plugins_where_the_host_finds_them() {
    let sandbox = Sandbox::new();
    let prefix = sandbox.root().join("prefix");
    install(&sandbox, &prefix, &[]).expect_code(0);
    assert_eq!(
        loaded_plugins(&sandbox, &prefix),
        [
            "dashboard-home-picker",
            "gc-sweeper",
            "registry",
            "sessions"
        ]
    );
    // The example plugin is documentation, never installed.
    let libs: Vec<String> = std::fs::read_dir(prefix.join("lib/agent-tty/plugins"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(libs.iter().all(|l| !l.contains("hello")), "{libs:?}");
    let help = installed(&sandbox, &prefix, &["--help"]);
    assert!(!help.stdout.contains("hello"), "{}", help.stdout);
}

#[test]
fn without_the_registry_features_home_list_is_not_installed_and_sessions_still_work() {
    let sandbox = Sandbox::new();
    let prefix = sandbox.root().join("prefix");
    install(
        &sandbox,
        &prefix,
        &["--without", "registry,gc-sweeper,dashboard-home-picker"],
    )
    .expect_code(0);
    assert_eq!(loaded_plugins(&sandbox, &prefix), ["sessions"]);

    let run = installed(&sandbox, &prefix, &["--json", "home", "list"]);
    run.expect_code(2);
    assert_eq!(
        run.json()["error"]["code"],
        "PLUGIN_NOT_INSTALLED",
        "{}",
        run.stdout
    );

    let home = sandbox.home("h");
    let home_arg = home.to_str().unwrap();
    let created = installed(
        &sandbox,
        &prefix,
        &["--json", "--home", home_arg, "create", "--", "sleep", "300"],
    );
    let id = created.expect_code(0).result()["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = installed(&sandbox, &prefix, &["--json", "--home", home_arg, "list"]);
    assert!(listed.expect_code(0).stdout.contains(&id));
    installed(
        &sandbox,
        &prefix,
        &["--json", "--home", home_arg, "destroy", &id],
    )
    .expect_code(0);

    // Added later: install again without --without.
    install(&sandbox, &prefix, &[]).expect_code(0);
    installed(&sandbox, &prefix, &["--json", "home", "list"]).expect_code(0);
    // And left out again: the earlier copy is removed.
    install(&sandbox, &prefix, &["--without", "registry"]).expect_code(0);
    installed(&sandbox, &prefix, &["--json", "home", "list"]).expect_code(2);
}

#[test]
fn an_unknown_plugin_name_is_refused_before_anything_is_installed() {
    let sandbox = Sandbox::new();
    let prefix = sandbox.root().join("prefix");
    let run = install(&sandbox, &prefix, &["--without", "registy"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("unknown plugin 'registy'"),
        "{}",
        run.stderr
    );
    assert!(!prefix.exists());
}
