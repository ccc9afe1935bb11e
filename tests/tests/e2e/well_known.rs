//! The host's list of well-known commands (so a missing plugin gets
//! PLUGIN_NOT_INSTALLED instead of "unknown command") is tested against the
//! shipped plugins' own command specs, both ways.

use agent_tty_e2e::Sandbox;
use std::collections::BTreeMap;

#[test]
fn the_well_known_commands_are_exactly_the_shipped_plugins_commands() {
    let sandbox = Sandbox::new();
    let result = sandbox.run(["plugins", "--json"]).result();
    let well_known: BTreeMap<String, String> = result["wellKnown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["command"].as_str().unwrap().to_owned(),
                e["plugin"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // Every command word a shipped plugin offers is known, with its plugin.
    for row in result["plugins"].as_array().unwrap() {
        let plugin = row["name"].as_str().unwrap();
        for command in row["commands"].as_array().unwrap() {
            let word = command.as_str().unwrap().split(' ').next().unwrap();
            assert_eq!(
                well_known.get(word).map(String::as_str),
                Some(plugin),
                "`{word}` of the {plugin} plugin is missing from the host's WELL_KNOWN"
            );
        }
    }
    // A word is a group exactly when its plugin's commands sit under it.
    let commands: Vec<String> = result["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row["commands"].as_array().unwrap().clone())
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    for entry in result["wellKnown"].as_array().unwrap() {
        let word = entry["command"].as_str().unwrap();
        let group = commands.iter().any(|c| c.starts_with(&format!("{word} ")));
        assert_eq!(
            entry["group"].as_bool(),
            Some(group),
            "the host's GROUPS says `{word}` is{} a group",
            if group { " not" } else { "" }
        );
    }
    // The other names of a shipped plugin's commands, which `plugins --json`
    // does not show: its aliases and hidden commands, as the plugin described
    // itself (the description cache `plugins` just refreshed). Each is known,
    // with its plugin, so `ls` or `_host` without the sessions plugin is
    // PLUGIN_NOT_INSTALLED too.
    let cache = sandbox.cache_dir().join("agent-tty").join("plugins.json");
    let cache: serde_json::Value = serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
    let shipped = super::lists::shipped();
    let mut other_names = 0;
    for entry in cache["plugins"].as_array().unwrap() {
        let described = &entry["described"];
        let plugin = described["name"].as_str().unwrap();
        if !shipped.contains(plugin) {
            continue;
        }
        for command in described["description"]["commands"].as_array().unwrap() {
            let path = command["path"].as_array().unwrap();
            let mut names: Vec<&str> = Vec::new();
            if path.len() == 1 {
                names.extend(
                    command["aliases"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|a| a.as_str().unwrap()),
                );
            }
            if command["hidden"] == true {
                names.push(path[0].as_str().unwrap());
            }
            for word in names {
                other_names += 1;
                assert_eq!(
                    well_known.get(word).map(String::as_str),
                    Some(plugin),
                    "`{word}` (an alias or hidden command of the {plugin} plugin) is missing \
                     from the host's WELL_KNOWN"
                );
            }
        }
    }
    assert!(other_names >= 2, "ls and _host, at least: {cache:#}");
    // Every known word is a command (or alias, or hidden command) some loaded
    // plugin really mounts.
    for (word, plugin) in &well_known {
        let run = sandbox.run([word.as_str(), "--help"]);
        assert_eq!(
            run.code, 0,
            "WELL_KNOWN lists `{word}` ({plugin}) but no plugin mounts it: {}",
            run.stderr
        );
    }
}

#[test]
fn completions_cover_plugin_commands() {
    let sandbox = Sandbox::new();
    for shell in ["bash", "zsh", "fish"] {
        let run = sandbox.run(["completions", shell]);
        run.expect_code(0);
        for word in ["create", "home", "gc", "completions"] {
            assert!(
                run.stdout.contains(word),
                "{shell} completions lack `{word}`"
            );
        }
    }
    let bad = sandbox.run(["--json", "completions", "tcsh"]);
    bad.expect_code(2);
}
