//! The `remote` commands: name machines, list and forget them, stop their
//! shared connections, and install this build on one.

use super::forward::check_version;
use super::ssh::{self, Ssh};
use super::store::{self, Remotes};
use super::target::{validate_name, NamedRemote, Remote, Target};
use crate::output::{self, OutputMode};
use crate::plugins::PluginSet;
use agent_tty_core::text::{escape, Align, Table};
use agent_tty_plugin_api::{CommandOutput, ErrorCode, PluginError};
use clap::{Arg, ArgMatches, Command};
use serde_json::json;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// The `remote` command group.
pub fn command() -> Command {
    let name = || Arg::new("name").value_name("NAME").required(true);
    Command::new("remote")
        .about("Name other machines to run commands on over ssh (--remote NAME)")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("add")
                .about(
                    "Name a machine: remote add NAME [user@]host[:port] [--home PATH] \
                     [--agent-tty PATH] (--home: the Home there)",
                )
                .arg(name().help("The name to use with --remote"))
                .arg(
                    Arg::new("target")
                        .value_name("[USER@]HOST[:PORT]")
                        .required(true)
                        .help("The machine (an ssh config alias works too)"),
                )
                .arg(
                    Arg::new("agent-tty")
                        .long("agent-tty")
                        .value_name("PATH")
                        .help("agent-tty's path there (default: its PATH, then ~/.local/bin)"),
                ),
        )
        .subcommand(
            Command::new("list")
                .visible_alias("ls")
                .about("List the named machines and whether a connection is open"),
        )
        .subcommand(
            Command::new("remove")
                .visible_alias("rm")
                .about("Forget a named machine (and close its connection)")
                .arg(name().help("The remote to forget")),
        )
        .subcommand(
            Command::new("stop")
                .about("Close shared ssh connections now (all of them without NAME)")
                .arg(
                    Arg::new("name")
                        .value_name("NAME")
                        .help("A named remote or [user@]host[:port]"),
                ),
        )
        .subcommand(
            Command::new("install")
                .about("Copy this agent-tty and its plugins to ~/.local on a machine")
                .arg(name().help("A named remote or [user@]host[:port]")),
        )
}

/// Runs a `remote` command.
pub fn run(set: &PluginSet, matches: &ArgMatches, mode: OutputMode) -> i32 {
    let Some((sub, m)) = matches.subcommand() else {
        return output::failure(
            mode,
            "remote",
            &PluginError::usage("`remote` needs a subcommand"),
        );
    };
    let name = format!("remote {sub}");
    let text = |id: &str| m.get_one::<String>(id).cloned();
    let outcome = match sub {
        "add" => add(
            &text("name").unwrap_or_default(),
            &text("target").unwrap_or_default(),
            text("home"),
            text("agent-tty"),
        ),
        "list" => list(),
        "remove" => remove(&text("name").unwrap_or_default()),
        "stop" => stop(text("name").as_deref()),
        "install" => install(set, &text("name").unwrap_or_default()),
        other => Err(PluginError::usage(format!(
            "unknown command `remote {other}`"
        ))),
    };
    match outcome {
        Ok(out) => output::success(mode, &name, &out),
        Err(e) => output::failure(mode, &name, &e),
    }
}

/// Holds the remotes file's lock (a sibling `remotes.json.lock`) while a
/// read-modify-write runs, so two `remote add`s never lose one.
fn locked<T>(work: impl FnOnce(&mut Remotes) -> Result<T, PluginError>) -> Result<T, PluginError> {
    let path = store::path()?;
    if let Some(dir) = path.parent() {
        let _ = agent_tty_core::fsutil::create_dir_all_private(dir);
    }
    let lock_path = path.with_extension("json.lock");
    let lock = agent_tty_core::fsutil::open_lock_file(&lock_path).map_err(|e| {
        PluginError::new(
            ErrorCode::StorageWriteError,
            format!("could not lock {}: {e}", lock_path.display()),
        )
    })?;
    let _held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| PluginError::internal(format!("could not lock the remotes file: {e}")))?;
    let mut remotes = store::load_from(&path)?;
    let out = work(&mut remotes)?;
    store::save_to(&path, &remotes)?;
    Ok(out)
}

fn add(
    name: &str,
    target: &str,
    home: Option<String>,
    agent_tty: Option<String>,
) -> Result<CommandOutput, PluginError> {
    validate_name(name)?;
    let target = Target::parse(target)?;
    for (what, v) in [("--home", &home), ("--agent-tty", &agent_tty)] {
        if let Some(v) = v {
            if v.is_empty() || v.chars().any(char::is_control) {
                return Err(PluginError::usage(format!(
                    "{what} must be a path without control characters (got {v:?})"
                )));
            }
        }
    }
    let remote = NamedRemote {
        name: name.to_owned(),
        target,
        home,
        agent_tty,
    };
    let row = row(&remote);
    locked(|remotes| {
        if remotes.get(name).is_some() {
            return Err(PluginError::usage(format!(
                "a remote called {name:?} exists already; `agent-tty remote remove {name}` first"
            ))
            .with_details(json!({ "name": name })));
        }
        remotes.remotes.push(remote.clone());
        Ok(())
    })?;
    let human = format!("Added remote {name} ({})\n", remote.target);
    Ok(CommandOutput::new(json!({ "remote": row }), human))
}

fn row(r: &NamedRemote) -> serde_json::Value {
    json!({
        "name": r.name,
        "target": r.target.to_string(),
        "home": r.home,
        "agentTty": r.agent_tty,
    })
}

fn as_remote(r: &NamedRemote) -> Remote {
    Remote {
        label: r.name.clone(),
        spec: r.clone(),
    }
}

fn list() -> Result<CommandOutput, PluginError> {
    let remotes = store::load()?;
    let mut rows = Vec::new();
    let mut table = Table::new([Align::Left, Align::Left, Align::Left, Align::Left]);
    if !remotes.remotes.is_empty() {
        table.row(["NAME", "TARGET", "HOME", "CONNECTION"]);
    }
    for r in &remotes.remotes {
        let connected = Ssh::new(&as_remote(r)).is_ok_and(|s| s.is_warm());
        let mut v = row(r);
        v["connected"] = json!(connected);
        rows.push(v);
        table.row([
            r.name.clone(),
            r.target.to_string(),
            escape(r.home.as_deref().unwrap_or("(default)")).into_owned(),
            if connected { "open" } else { "-" }.to_owned(),
        ]);
    }
    let human = if rows.is_empty() {
        "No remotes. Add one: agent-tty remote add NAME [user@]host[:port]\n".to_owned()
    } else {
        table.render()
    };
    Ok(CommandOutput::new(json!({ "remotes": rows }), human))
}

fn remove(name: &str) -> Result<CommandOutput, PluginError> {
    let removed = locked(|remotes| {
        let Some(i) = remotes.remotes.iter().position(|r| r.name == name) else {
            return Err(PluginError::usage(format!(
                "no remote is called {:?}; see `agent-tty remote list`",
                escape(name)
            ))
            .with_details(json!({ "name": name })));
        };
        Ok(remotes.remotes.remove(i))
    })?;
    let stopped = Ssh::new(&as_remote(&removed)).is_ok_and(|s| s.stop());
    Ok(CommandOutput::new(
        json!({ "removed": row(&removed), "connectionStopped": stopped }),
        format!("Removed remote {name}\n"),
    ))
}

fn stop(name: Option<&str>) -> Result<CommandOutput, PluginError> {
    let stopped = match name {
        Some(n) => usize::from(Ssh::new(&super::resolve(n)?)?.stop()),
        None => ssh::stop_all()?,
    };
    Ok(CommandOutput::new(
        json!({ "stopped": stopped }),
        format!(
            "Closed {}\n",
            agent_tty_core::text::counted(stopped, "connection")
        ),
    ))
}

/// The remote's `uname -sm` as Rust names it (`linux`, `x86_64`).
fn remote_platform(ssh: &Ssh) -> Result<(String, String), PluginError> {
    let done = ssh.run("uname -s; uname -m", [], Stdio::null())?;
    let text = String::from_utf8_lossy(&done.stdout).to_lowercase();
    let mut lines = text.lines().map(str::trim);
    let os = lines.next().unwrap_or_default().to_owned();
    let arch = match lines.next().unwrap_or_default() {
        "arm64" => "aarch64".to_owned(),
        "amd64" => "x86_64".to_owned(),
        other => other.to_owned(),
    };
    let os = if os == "darwin" {
        "macos".to_owned()
    } else {
        os
    };
    Ok((os, arch))
}

/// Copies `file` to `dir/name` on the remote (a temp name, then a rename,
/// so a running agent-tty there never sees half a file).
fn copy_file(ssh: &Ssh, file: &Path, dir: &str, name: &str) -> Result<(), PluginError> {
    let f = std::fs::File::open(file).map_err(|e| {
        PluginError::new(
            ErrorCode::StorageReadError,
            format!("could not read {}: {e}", file.display()),
        )
    })?;
    let script = r#"d=$1; case $d in "~/"*) d=$HOME/${d#"~/"};; esac
mkdir -p "$d" && cat > "$d/.$2.part" && chmod 755 "$d/.$2.part" && mv -f "$d/.$2.part" "$d/$2""#;
    let done = ssh.run(script, [OsStr::new(dir), OsStr::new(name)], Stdio::from(f))?;
    if done.status != 0 {
        return Err(PluginError::new(
            ErrorCode::StorageWriteError,
            format!("could not write {dir}/{name} on {}", ssh.remote.label),
        )
        .with_details(ssh.details(&String::from_utf8_lossy(&done.stderr))));
    }
    Ok(())
}

fn install(set: &PluginSet, name: &str) -> Result<CommandOutput, PluginError> {
    let remote = super::resolve(name)?;
    let ssh = Ssh::new(&remote)?;
    let (os, arch) = remote_platform(&ssh)?;
    let (our_os, our_arch) = (std::env::consts::OS, std::env::consts::ARCH);
    if os != our_os || arch != our_arch {
        return Err(PluginError::usage(format!(
            "{} is {os}/{arch} and this build is {our_os}/{our_arch}; build agent-tty for it \
             and copy it there (remote install only copies a matching build)",
            remote.label
        ))
        .with_details(json!({ "remote": remote.label, "os": os, "arch": arch })));
    }
    let exe = std::env::current_exe()
        .map_err(|e| PluginError::internal(format!("could not find this program: {e}")))?;
    let mut files: Vec<(PathBuf, &str, String)> =
        vec![(exe, "~/.local/bin", "agent-tty".to_owned())];
    for p in &set.loaded {
        if let Some(file) = p.path().file_name().and_then(|n| n.to_str()) {
            files.push((
                p.path().to_owned(),
                "~/.local/lib/agent-tty/plugins",
                file.to_owned(),
            ));
        }
    }
    let mut installed = Vec::new();
    for (file, dir, name) in &files {
        copy_file(&ssh, file, dir, name)?;
        installed.push(format!("{dir}/{name}"));
    }
    // What a `--remote` call will find there now (its PATH first, as ever).
    let version = check_version(&ssh)?;
    let mut human = format!(
        "Installed agent-tty {version} on {} ({} files):\n",
        remote.label,
        installed.len()
    );
    for f in &installed {
        human.push_str(&format!("  {f}\n"));
    }
    Ok(CommandOutput::new(
        json!({ "remote": remote.label, "installed": installed, "version": version, "os": os, "arch": arch }),
        human,
    ))
}
