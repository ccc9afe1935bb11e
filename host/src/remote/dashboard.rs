//! The dashboard's way to other machines: the [`RemoteRunner`] it follows
//! remote Sessions through, the listing of a remote Home, and which Home
//! `--remote NAME dashboard` opens on.

use super::ssh::{Ssh, STREAM_SCRIPT};
use super::target::Remote;
use agent_tty_dashboard::remote::{home_args, home_name, split_home, RemoteRunner};
use agent_tty_plugin_api::{ErrorCode, PluginError};
use serde_json::Value;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Runs the remote's agent-tty over the shared connection for the
/// dashboard, resolving each machine's name once.
#[derive(Default)]
pub struct Runner {
    remotes: Mutex<HashMap<String, Remote>>,
}

impl Runner {
    fn remote(&self, machine: &str) -> Result<Remote, String> {
        let mut known = self.remotes.lock().unwrap();
        if let Some(r) = known.get(machine) {
            return Ok(r.clone());
        }
        let r = super::resolve(machine).map_err(|e| e.message)?;
        known.insert(machine.to_owned(), r.clone());
        Ok(r)
    }
}

impl RemoteRunner for Runner {
    fn stream(
        &self,
        machine: &str,
        args: &[String],
        stop: &AtomicBool,
        line: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), String> {
        let remote = self.remote(machine)?;
        let ssh = Ssh::new(&remote).map_err(|e| e.message)?;
        let program = remote.spec.agent_tty.clone().unwrap_or_default();
        let mut all: Vec<&OsStr> = vec![OsStr::new(program.as_str())];
        all.extend(args.iter().map(OsStr::new));
        // Standard input stays open while we read: closing it (or our ssh
        // going away) ends the command on the remote (STREAM_SCRIPT).
        let mut child = ssh
            .spawn(STREAM_SCRIPT, all, Stdio::piped())
            .map_err(|e| e.message)?;
        let stdout = child.stdout.take().expect("piped");
        let stdin = child.stdin.take();
        let stderr = child.stderr.take();
        // The reader blocks; a watcher ends the command when asked to stop.
        let pid = child.id();
        let finished = AtomicBool::new(false);
        std::thread::scope(|scope| {
            // Drained, so a chatty remote never blocks on a full pipe.
            if let Some(mut err) = stderr {
                scope.spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
            }
            scope.spawn(|| {
                while !finished.load(Ordering::SeqCst) {
                    if stop.load(Ordering::SeqCst) {
                        // SAFETY: kill(2) on our own ssh child, which is
                        // reaped only after this thread has ended.
                        unsafe {
                            libc::kill(pid as i32, libc::SIGTERM);
                        }
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
            for l in BufReader::new(stdout).split(b'\n') {
                let Ok(l) = l else { break };
                if !line(&l) {
                    // SAFETY: as above; not reaped yet.
                    unsafe {
                        libc::kill(pid as i32, libc::SIGTERM);
                    }
                    break;
                }
            }
            finished.store(true, Ordering::SeqCst);
        });
        drop(stdin);
        let status = child.wait();
        match status {
            Ok(s) if s.code() == Some(255) => Err(format!("{machine} is unreachable over ssh")),
            Ok(s) if s.code() == Some(127) => Err(format!(
                "{machine} has no agent-tty (`agent-tty remote install {machine}`)"
            )),
            _ => Ok(()),
        }
    }
}

/// The Home `--remote NAME dashboard` (or `AGENT_TTY_REMOTE`, or the local
/// Home's config key `remote`) opens on, `remote://NAME[/path]`; `None`
/// without a remote. Installs the runner the dashboard reaches every remote
/// through.
pub fn home_for(
    flag: Option<&str>,
    local_home: Option<&std::path::Path>,
) -> Option<Result<String, PluginError>> {
    agent_tty_dashboard::remote::install(Box::new(Runner::default()));
    let env = std::env::var(super::forward::REMOTE_ENV).ok();
    let config = local_home
        .and_then(|h| agent_tty_core::config::read_trusted_home_config(h).ok())
        .and_then(|c| c.remote);
    let spec = flag
        .or(env.as_deref().filter(|v| !v.is_empty()))
        .or(config.as_deref())?;
    Some(super::resolve(spec).map(|remote| home_name(&remote.label, remote.spec.home.as_deref())))
}

/// Answers the capability calls that reach other machines, `None` for the
/// rest: `sessions.list` of a remote Home, and `registry.homes` with
/// `remotes: true` (this machine's Homes, from `local`, plus every named
/// remote's, each row with its `machine`, a remote row's `path` being its
/// `remote://` name).
pub fn intercept(
    name: &str,
    args: &Value,
    local: impl FnOnce(Value) -> Result<Value, PluginError>,
) -> Option<Result<Value, PluginError>> {
    match name {
        "sessions.list" => list_sessions(args),
        "registry.homes" if args["remotes"] == true => {
            let mut plain = args.clone();
            if let Some(map) = plain.as_object_mut() {
                map.remove("remotes");
            }
            Some(local(plain).and_then(|mine| fleet_homes(mine, args["all"] == true)))
        }
        _ => None,
    }
}

fn fleet_homes(local: Value, all: bool) -> Result<Value, PluginError> {
    let remotes: Vec<Remote> = super::store::load()?
        .remotes
        .into_iter()
        .map(|r| Remote {
            label: r.name.clone(),
            spec: r,
        })
        .collect();
    let mut listed = super::fleet::result(Some(local), &remotes, all);
    for row in listed["homes"].as_array_mut().into_iter().flatten() {
        let machine = row["machine"].as_str().unwrap_or_default().to_owned();
        if machine != super::target::LOCAL_MACHINE {
            let path = row["path"].as_str().unwrap_or_default().to_owned();
            row["path"] = Value::from(home_name(&machine, Some(&path)));
        }
    }
    Ok(listed)
}

/// `sessions.list` for a remote Home (`None` for a local one): the remote's
/// `list --json` result, which has the same shape.
fn list_sessions(args: &Value) -> Option<Result<Value, PluginError>> {
    let home = args["home"].as_str()?;
    let (machine, path) = split_home(home)?;
    let mut cmd = vec!["--json".to_owned()];
    cmd.extend(home_args(path));
    cmd.push("list".to_owned());
    if args["all"] == true {
        cmd.push("--all".to_owned());
    }
    Some(
        agent_tty_dashboard::remote::call(machine, &cmd)
            .map_err(|e| PluginError::new(ErrorCode::RemoteUnreachable, e)),
    )
}
