//! `--remote`: a command runs on another machine and its answer comes back.
//!
//! The host decides before loading any plugin (a forwarded command needs
//! none here), straight from the raw arguments, so arguments that are not
//! UTF-8 reach the remote byte for byte (there they meet the same check as
//! locally).
//!
//! With `--json` the remote runs with `--json` and its envelope is printed
//! exactly as it printed it, once it has been parsed as an envelope. Without
//! it the remote runs with `--no-color` and its text is escaped line by line
//! before it reaches this terminal: the remote is another machine, and what
//! it prints is untrusted. `screenshot` and `record export` with `--out`
//! write the artifact here (the remote writes it to a private temp directory
//! of its own, the bytes come back over the same connection, and the
//! directory is removed).

use super::ssh::{Finished, Ssh};
use super::target::Remote;
use crate::output::{self, OutputMode};
use agent_tty_core::text::escape;
use agent_tty_plugin_api::{ErrorCode, PluginError};
use serde_json::{json, Value};
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// `AGENT_TTY_REMOTE`: the remote every command runs on unless `--remote`
/// says otherwise.
pub const REMOTE_ENV: &str = "AGENT_TTY_REMOTE";

/// Commands that never leave this machine: they manage remotes, print
/// completions, or (the dashboard, the fleet's Home list) reach remotes
/// themselves. Checked against the host's commands and their aliases by
/// `commands_kept_local_are_host_commands_under_all_their_names`.
pub(crate) const LOCAL_ONLY: &[&str] = &["remote", "completions", "dashboard", "d"];

/// The arguments of one invocation, as the host received them.
pub struct Args<'a> {
    raw: &'a [OsString],
    /// Index just past the last argument before `--` (all when none).
    end: usize,
}

impl<'a> Args<'a> {
    /// Wraps `agent-tty`'s argv (program name included).
    pub fn new(raw: &'a [OsString]) -> Args<'a> {
        let end = raw
            .iter()
            .position(|a| a.as_bytes() == b"--")
            .unwrap_or(raw.len());
        Args { raw, end }
    }

    /// The value of option `name` (`--name V` or `--name=V`) before `--`,
    /// and the indexes it occupies.
    pub fn option(&self, name: &str) -> Option<(String, Vec<usize>)> {
        let long = format!("--{name}");
        let mut found = None;
        let mut i = 1;
        while i < self.end {
            let a = self.raw[i].as_bytes();
            if a == long.as_bytes() && i + 1 < self.end {
                let v = self.raw[i + 1].to_string_lossy().into_owned();
                found = Some((v, vec![i, i + 1]));
                i += 2;
                continue;
            }
            if let Some(v) = a.strip_prefix(format!("{long}=").as_bytes()) {
                found = Some((String::from_utf8_lossy(v).into_owned(), vec![i]));
            }
            i += 1;
        }
        found
    }

    /// Whether flag `name` appears before `--`.
    pub fn flag(&self, name: &str) -> bool {
        let long = format!("--{name}");
        self.raw[1..self.end]
            .iter()
            .any(|a| a.as_bytes() == long.as_bytes())
    }

    /// The command's words (global options and their values skipped).
    pub fn words(&self) -> Vec<String> {
        let lossy: Vec<String> = self
            .raw
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        crate::cli::leading_words(&lossy)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }
}

/// Where the remote came from: the source decides what `gc` does and
/// whether `--home` names a local Home.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Flag,
    Env,
    HomeConfig,
}

/// Runs the invocation on a remote when one is asked for; `None` when it
/// runs here.
pub fn forward(raw: &[OsString]) -> Option<i32> {
    let args = Args::new(raw);
    let words = args.words();
    if words
        .first()
        .is_none_or(|w| LOCAL_ONLY.contains(&w.as_str()))
    {
        return None;
    }
    // `home list --remotes` is the fleet view, built here.
    if words.len() >= 2 && words[0] == "home" && args.flag("remotes") {
        return None;
    }
    let json = args.flag("json");
    let mode = OutputMode {
        json,
        json_failures: json,
        no_color: args.flag("no-color"),
    };
    let command = words.join(" ");
    let flag = args.option("remote");
    let (spec, source, mut drop) = match flag {
        Some((v, idx)) => (v, Source::Flag, idx),
        None => match std::env::var(REMOTE_ENV).ok().filter(|v| !v.is_empty()) {
            Some(v) => (v, Source::Env, vec![]),
            None => (home_config_remote(&args)?, Source::HomeConfig, vec![]),
        },
    };
    // `gc` sweeps this machine unless `--remote` itself says otherwise.
    if words[0] == "gc" && source != Source::Flag {
        return None;
    }
    let remote = match super::resolve(&spec) {
        Ok(r) => r,
        Err(e) => return Some(output::failure(mode, &command, &e)),
    };
    // A Home whose config names the remote stands for that machine: its
    // local path means nothing there.
    if source == Source::HomeConfig {
        if let Some((_, idx)) = args.option("home") {
            drop.extend(idx);
        }
    }
    // One machine's Homes, in the fleet list's shape (rows name it).
    let help = args.flag("help") || raw[1..args.end].iter().any(|a| a == "-h");
    if words.len() >= 2 && words[0] == "home" && matches!(words[1].as_str(), "list" | "ls") && !help
    {
        let out = super::fleet::list(None, std::slice::from_ref(&remote), args.flag("all"));
        return Some(output::success(mode, &command, &out));
    }
    let mut forwarded: Vec<OsString> = Vec::new();
    if let Some(home) = &remote.spec.home {
        if source == Source::HomeConfig || args.option("home").is_none() {
            forwarded.extend([OsString::from("--home"), OsString::from(home)]);
        }
    }
    // The remote answers in JSON when asked to, else in plain text.
    let wanted = if mode.json { "json" } else { "no-color" };
    if !args.flag(wanted) {
        forwarded.push(OsString::from(format!("--{wanted}")));
    }
    forwarded.extend(
        raw.iter()
            .enumerate()
            .skip(1)
            .filter(|(i, _)| !drop.contains(i))
            .map(|(_, a)| a.clone()),
    );
    Some(match run(&remote, &command, mode, &args, forwarded) {
        Ok(code) => code,
        Err(e) => output::failure(mode, &command, &e),
    })
}

/// The `remote` key of the Home this invocation names (`--home`,
/// `AGENT_TTY_HOME`, else the default), if its config has one.
fn home_config_remote(args: &Args) -> Option<String> {
    let flag = args.option("home").map(|(v, _)| v);
    let env = std::env::var(agent_tty_core::home::HOME_ENV).ok();
    let os_home = std::env::var_os("HOME").map(PathBuf::from);
    let home =
        agent_tty_core::home::resolve_home(flag.as_deref(), env.as_deref(), os_home.as_deref())
            .ok()?;
    // A bad config is reported by the local run, which reads it again.
    agent_tty_core::config::read_trusted_home_config(Path::new(&home.path))
        .ok()?
        .remote
}

fn run(
    remote: &Remote,
    command: &str,
    mode: OutputMode,
    args: &Args,
    mut forwarded: Vec<OsString>,
) -> Result<i32, PluginError> {
    let ssh = Ssh::new(remote)?;
    if !ssh.is_warm() {
        // A new connection: check the release once, while the handshake
        // is paid for anyway.
        check_version(&ssh)?;
    }
    let words = args.words();
    let artifact = matches!(
        words.iter().map(String::as_str).collect::<Vec<_>>()[..],
        ["screenshot", ..] | ["record", "export", ..]
    );
    if artifact {
        if let Some((out, _)) = args.option("out") {
            return artifact_here(&ssh, command, mode, &mut forwarded, &out);
        }
    }
    if !mode.json || words.first().is_some_and(|w| w == "follow") {
        return stream(&ssh, mode, forwarded);
    }
    let done = ssh.run_agent_tty(forwarded.iter().map(|a| a.as_os_str()), Stdio::inherit())?;
    print_stderr(&done.stderr);
    match envelope(&done.stdout) {
        Some(_) => {
            output::print_stdout(&String::from_utf8_lossy(&done.stdout));
            Ok(done.status)
        }
        None => Err(unreadable(&ssh, &done)),
    }
}

/// Parses the remote's stdout as an envelope: one JSON object with an `ok`
/// boolean.
fn envelope(stdout: &[u8]) -> Option<Value> {
    let v: Value = serde_json::from_slice(stdout).ok()?;
    v.get("ok")?.as_bool()?;
    Some(v)
}

/// The error for an answer that is not an envelope: another release
/// (`REMOTE_VERSION_MISMATCH`) or, with the same release, `PROTOCOL_ERROR`.
fn unreadable(ssh: &Ssh, done: &Finished) -> PluginError {
    if let Err(e) = check_version(ssh) {
        return e;
    }
    let stderr = String::from_utf8_lossy(&done.stderr);
    let mut details = ssh.details(&stderr);
    details["status"] = json!(done.status);
    details["stdout"] = json!(String::from_utf8_lossy(&done.stdout));
    PluginError::new(
        ErrorCode::ProtocolError,
        format!(
            "{} answered without a JSON envelope (exit {}); its output is in details",
            ssh.remote.label, done.status
        ),
    )
    .with_details(details)
}

/// Asks the remote's agent-tty for its release and refuses another one.
pub fn check_version(ssh: &Ssh) -> Result<String, PluginError> {
    let done = ssh.run_agent_tty([OsStr::new("--version")], Stdio::null())?;
    let text = String::from_utf8_lossy(&done.stdout);
    let theirs = text
        .trim()
        .strip_prefix("agent-tty ")
        .map(str::to_owned)
        .unwrap_or_default();
    let ours = env!("CARGO_PKG_VERSION");
    if done.status == 0 && !theirs.is_empty() && compatible(ours, &theirs) {
        return Ok(theirs);
    }
    let mut details = ssh.details(&String::from_utf8_lossy(&done.stderr));
    details["localVersion"] = json!(ours);
    details["remoteVersion"] = json!(if theirs.is_empty() {
        text.trim().to_owned()
    } else {
        theirs.clone()
    });
    Err(PluginError::new(
        ErrorCode::RemoteVersionMismatch,
        format!(
            "{} runs agent-tty {:?}, this is {ours}; the two must share a release (major.minor). \
             Update it with `agent-tty remote install NAME`",
            ssh.remote.label,
            escape(if theirs.is_empty() {
                text.trim()
            } else {
                &theirs
            }),
        ),
    )
    .with_details(details))
}

/// Releases that understand each other: the same major and minor version.
pub fn compatible(ours: &str, theirs: &str) -> bool {
    let major_minor = |v: &str| {
        let mut it = v.split('.');
        (it.next().map(str::to_owned), it.next().map(str::to_owned))
    };
    let (a, b) = (major_minor(ours), major_minor(theirs));
    a.0.is_some() && a.1.is_some() && a == b
}

/// Prints the remote's stderr here, escaped.
fn print_stderr(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let mut err = std::io::stderr().lock();
    for line in text.lines() {
        let _ = writeln!(err, "{}", escape(line));
    }
}

/// Runs the command with its output streamed: escaped text lines without
/// `--json`, or (for `follow --json`) one checked JSON record per line.
fn stream(ssh: &Ssh, mode: OutputMode, forwarded: Vec<OsString>) -> Result<i32, PluginError> {
    let program = ssh.remote.spec.agent_tty.clone().unwrap_or_default();
    let all: Vec<&OsStr> = std::iter::once(OsStr::new(program.as_str()))
        .chain(forwarded.iter().map(|a| a.as_os_str()))
        .collect();
    let mut child = ssh.spawn(super::ssh::RUN_SCRIPT, all, Stdio::inherit())?;
    let mut err = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let mut bad_record = false;
    if let Some(out) = child.stdout.take() {
        let mut stdout = std::io::stdout().lock();
        for line in BufReader::new(out).split(b'\n') {
            let Ok(line) = line else { break };
            let text = String::from_utf8_lossy(&line);
            let shown = if mode.json {
                if serde_json::from_str::<Value>(&text).is_err() {
                    bad_record = true;
                    break;
                }
                text.into_owned()
            } else {
                escape(&text).into_owned()
            };
            if writeln!(stdout, "{shown}")
                .and_then(|()| stdout.flush())
                .is_err()
            {
                // Our reader went away: end the remote command too.
                let _ = child.kill();
                break;
            }
        }
    }
    if bad_record {
        let _ = child.kill();
    }
    let status = child.wait().map(|s| s.code().unwrap_or(-1)).unwrap_or(-1);
    let stderr = reader.join().unwrap_or_default();
    let done = ssh.check(Finished {
        status,
        stdout: Vec::new(),
        stderr,
    })?;
    if bad_record {
        return Err(PluginError::new(
            ErrorCode::ProtocolError,
            format!("{} sent a line that is not JSON", ssh.remote.label),
        )
        .with_details(ssh.details(&String::from_utf8_lossy(&done.stderr))));
    }
    print_stderr(&done.stderr);
    Ok(if done.status < 0 { 1 } else { done.status })
}

/// Makes the remote write the artifact into a private temp directory of its
/// own, copies it to `out` here, and removes the directory.
fn artifact_here(
    ssh: &Ssh,
    command: &str,
    mode: OutputMode,
    forwarded: &mut [OsString],
    out: &str,
) -> Result<i32, PluginError> {
    let local = std::path::absolute(out).map_err(|e| {
        PluginError::usage(format!("--out {out:?} is not a usable path: {e}"))
            .with_details(json!({ "out": out }))
    })?;
    let made = ssh.run(
        r#"d=$(mktemp -d "${TMPDIR:-/tmp}/agent-tty-remote.XXXXXXXX") && printf %s "$d""#,
        [],
        Stdio::null(),
    )?;
    let dir = String::from_utf8_lossy(&made.stdout).into_owned();
    if made.status != 0 || !dir.starts_with('/') || dir.chars().any(char::is_control) {
        return Err(PluginError::new(
            ErrorCode::StorageWriteError,
            format!(
                "{} could not make a temp directory for the artifact",
                ssh.remote.label
            ),
        )
        .with_details(ssh.details(&String::from_utf8_lossy(&made.stderr))));
    }
    let name = match local.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.bytes().all(|b| b.is_ascii_alphanumeric()) => format!("artifact.{ext}"),
        _ => "artifact".to_owned(),
    };
    let there = format!("{dir}/{name}");
    // `--out V` or `--out=V`: the value is rewritten in place.
    let mut i = 0;
    while i < forwarded.len() {
        if forwarded[i] == "--out" && i + 1 < forwarded.len() {
            forwarded[i + 1] = OsString::from(&there);
        } else if forwarded[i].as_bytes().starts_with(b"--out=") {
            forwarded[i] = OsString::from(format!("--out={there}"));
        }
        i += 1;
    }
    let outcome = (|| {
        let mut args: Vec<OsString> = forwarded.to_vec();
        if !mode.json {
            args.retain(|a| a != "--no-color");
            args.insert(0, OsString::from("--json"));
        }
        let done = ssh.run_agent_tty(args.iter().map(|a| a.as_os_str()), Stdio::null())?;
        print_stderr(&done.stderr);
        let Some(mut env) = envelope(&done.stdout) else {
            return Err(unreadable(ssh, &done));
        };
        if env["ok"] == true {
            fetch(ssh, &there, &local)?;
            replace_strings(&mut env["result"], &there, &local.to_string_lossy());
        }
        Ok((env, done.status))
    })();
    // The temp directory goes whatever happened.
    let _ = ssh.run(r#"rm -rf -- "$1""#, [OsStr::new(&dir)], Stdio::null());
    let (env, status) = outcome?;
    if mode.json {
        output::print_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&env).unwrap_or_default()
        ));
    } else if env["ok"] == true {
        output::print_stdout(&format!("{}\n", escape(&local.to_string_lossy())));
    } else {
        let mut e: PluginError =
            serde_json::from_value(env["error"].clone()).unwrap_or_else(|_| {
                PluginError::new(ErrorCode::ProtocolError, "malformed error envelope")
            });
        // The remote's words, shown on this terminal.
        e.message = escape(&e.message).into_owned();
        return Ok(output::failure(mode, command, &e));
    }
    Ok(status)
}

/// Copies the remote file `there` to `local` (atomically, mode 0644 as the
/// local commands write artifacts).
fn fetch(ssh: &Ssh, there: &str, local: &Path) -> Result<(), PluginError> {
    let done = ssh.run(r#"cat -- "$1""#, [OsStr::new(there)], Stdio::null())?;
    if done.status != 0 {
        return Err(PluginError::new(
            ErrorCode::ExportError,
            format!("could not copy the artifact back from {}", ssh.remote.label),
        )
        .with_details(ssh.details(&String::from_utf8_lossy(&done.stderr))));
    }
    agent_tty_core::fsutil::write_atomic(local, &done.stdout, 0o644).map_err(|e| {
        PluginError::new(
            ErrorCode::StorageWriteError,
            format!(
                "could not write {}: {e}",
                agent_tty_core::text::escape_path(local)
            ),
        )
        .with_details(json!({ "out": local }))
    })
}

/// Replaces every string equal to `from` (the remote path) with `to`.
fn replace_strings(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) if s == from => *s = to.to_owned(),
        Value::Array(items) => items.iter_mut().for_each(|i| replace_strings(i, from, to)),
        Value::Object(map) => map.values_mut().for_each(|i| replace_strings(i, from, to)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("0.1.0", "0.1.7", true)]
    #[case("0.1.0", "0.5.2", false)]
    #[case("1.2.0", "1.3.0", false)]
    #[case("0.1.0", "", false)]
    fn releases(#[case] a: &str, #[case] b: &str, #[case] ok: bool) {
        assert_eq!(compatible(a, b), ok);
    }

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn options_are_found_before_the_double_dash_only() {
        let raw = os(&[
            "agent-tty",
            "--remote",
            "box",
            "create",
            "--",
            "--remote",
            "x",
        ]);
        let args = Args::new(&raw);
        assert_eq!(args.option("remote"), Some(("box".into(), vec![1, 2])));
        let raw = os(&["agent-tty", "list", "--remote=me@box:22"]);
        assert_eq!(
            Args::new(&raw).option("remote"),
            Some(("me@box:22".into(), vec![2]))
        );
        let raw = os(&["agent-tty", "create", "--", "--json"]);
        assert!(!Args::new(&raw).flag("json"));
    }

    #[test]
    fn the_remote_path_in_a_result_becomes_the_local_one() {
        let mut v = json!({"path": "/tmp/d/artifact.png", "n": [ "/tmp/d/artifact.png" ]});
        replace_strings(&mut v, "/tmp/d/artifact.png", "/here/x.png");
        assert_eq!(v, json!({"path": "/here/x.png", "n": ["/here/x.png"]}));
    }
}
