//! Remote Homes in the dashboard: a Home on another machine is named
//! `remote://MACHINE/abs/path` (`remote://MACHINE` for that machine's
//! default Home), so its Sessions' directories, `remote://MACHINE/abs/path
//! /sessions/ID`, name where they are and nothing here mistakes them for
//! local paths.
//!
//! The host provides the way there, a [`RemoteRunner`] that runs the
//! remote's agent-tty over the shared ssh connection and hands back its
//! output line by line. A followed remote Session is fed by a thread that
//! reads the Session's manifest (`inspect --json`) and then, when the remote
//! has the `follow` command (asked once per machine), its Event Log as it
//! grows (`follow --json --from-seq 0`): the same records the local Live View
//! reads from the file, replayed by the same emulator. A remote without
//! `follow` is polled with `snapshot --json` every [`SNAPSHOT_POLL`] instead
//! (text only: no colours, no history).
//!
//! Everything a remote sends is parsed as untrusted input: records that do
//! not parse are skipped, and the screen is drawn cell by cell like a local
//! one, so no byte of it reaches the terminal as an escape sequence.

use agent_tty_core::event_log::Event;
use agent_tty_core::manifest::Manifest;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The prefix of a remote Home's name.
pub const SCHEME: &str = "remote://";

/// How often a remote without `follow` is asked for its screen.
pub const SNAPSHOT_POLL: Duration = Duration::from_millis(250);

/// Runs the remote's agent-tty. Implemented by the host over ssh.
pub trait RemoteRunner: Send + Sync {
    /// Runs `agent-tty ARGS` on `machine` and calls `line` with each line
    /// of its standard output until it ends, `line` returns `false`, or
    /// `stop` is set (the command is then ended).
    fn stream(
        &self,
        machine: &str,
        args: &[String],
        stop: &AtomicBool,
        line: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), String>;
}

static RUNNER: OnceLock<Box<dyn RemoteRunner>> = OnceLock::new();

/// Installs the host's runner (once per process).
pub fn install(runner: Box<dyn RemoteRunner>) {
    let _ = RUNNER.set(runner);
}

/// A remote Home's name.
pub fn home_name(machine: &str, path: Option<&str>) -> String {
    format!("{SCHEME}{machine}{}", path.unwrap_or(""))
}

/// Splits a remote Home's name into the machine and the Home's path there
/// (`None`: its default Home). `None` for a local path.
pub fn split_home(home: &str) -> Option<(&str, Option<&str>)> {
    let rest = home.strip_prefix(SCHEME)?;
    Some(match rest.find('/') {
        Some(i) => (&rest[..i], Some(&rest[i..])),
        None => (rest, None),
    })
}

/// Splits a remote Session's directory into machine, Home path and id.
pub fn split_session_dir(dir: &Path) -> Option<(String, Option<String>, String)> {
    let text = dir.to_str()?;
    let (home, id) = text.rsplit_once("/sessions/")?;
    let (machine, path) = split_home(home)?;
    Some((machine.to_owned(), path.map(str::to_owned), id.to_owned()))
}

/// `--home PATH` when the Home is not the machine's default.
pub fn home_args(path: Option<&str>) -> Vec<String> {
    path.map(|p| vec!["--home".to_owned(), p.to_owned()])
        .unwrap_or_default()
}

/// Runs a command on a remote to its end and parses its envelope's result.
pub fn call(machine: &str, args: &[String]) -> Result<Value, String> {
    let runner = RUNNER
        .get()
        .ok_or("this dashboard cannot reach other machines")?;
    let mut out = Vec::new();
    let stop = AtomicBool::new(false);
    runner.stream(machine, args, &stop, &mut |l| {
        out.extend_from_slice(l);
        out.push(b'\n');
        true
    })?;
    let envelope: Value = serde_json::from_slice(&out)
        .map_err(|e| format!("{machine} answered without an envelope ({e})"))?;
    if envelope["ok"] == true {
        Ok(envelope["result"].clone())
    } else {
        Err(envelope["error"]["message"]
            .as_str()
            .unwrap_or("the remote command failed")
            .to_owned())
    }
}

/// What a feed thread hands the Live View.
#[derive(Debug)]
pub enum FeedItem {
    /// The Session's manifest: the replay starts at its creation size.
    Manifest(Box<Manifest>),
    /// One Event Log record.
    Event(Box<Event>),
    /// A polled screen (remotes without `follow`): its rows of text.
    Screen(Vec<String>),
    /// The stream ended (the Session ended, or the remote went away).
    Ended,
    /// Something failed; shown in the view.
    Error(String),
}

/// A followed remote Session: items arrive on `items`; dropping it stops
/// the thread and ends its remote command.
pub struct RemoteFeed {
    /// What arrived.
    pub items: Receiver<FeedItem>,
    stop: Arc<AtomicBool>,
}

impl Drop for RemoteFeed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Whether each machine's agent-tty has `follow` (asked once).
fn supports_follow(machine: &str) -> bool {
    static KNOWN: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    let known = KNOWN.get_or_init(Default::default);
    if let Some(&k) = known.lock().unwrap().get(machine) {
        return k;
    }
    let has = call(machine, &["--json".into(), "plugins".into()]).is_ok_and(|r| {
        r["plugins"].as_array().into_iter().flatten().any(|p| {
            p["commands"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c == "follow")
        })
    });
    known.lock().unwrap().insert(machine.to_owned(), has);
    has
}

/// Starts following the remote Session at `dir` (a [`split_session_dir`]
/// name).
pub fn follow(dir: &Path) -> Option<RemoteFeed> {
    let (machine, path, id) = split_session_dir(dir)?;
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || feed(&machine, path.as_deref(), &id, &flag, &tx));
    Some(RemoteFeed { items: rx, stop })
}

fn feed(machine: &str, path: Option<&str>, id: &str, stop: &AtomicBool, tx: &Sender<FeedItem>) {
    let Some(runner) = RUNNER.get() else {
        let _ = tx.send(FeedItem::Error(
            "this dashboard cannot reach other machines".into(),
        ));
        return;
    };
    let mut base = vec!["--json".to_owned()];
    base.extend(home_args(path));
    if supports_follow(machine) {
        let mut inspect = base.clone();
        inspect.extend(["inspect".into(), id.to_owned()]);
        match call(machine, &inspect).and_then(|r| {
            serde_json::from_value::<Manifest>(r["session"].clone())
                .map_err(|e| format!("{machine} sent a manifest this dashboard cannot read: {e}"))
        }) {
            Ok(m) => {
                let _ = tx.send(FeedItem::Manifest(Box::new(m)));
            }
            Err(e) => {
                let _ = tx.send(FeedItem::Error(e));
                return;
            }
        }
        let mut args = base;
        args.extend([
            "follow".into(),
            id.to_owned(),
            "--from-seq".into(),
            "0".into(),
        ]);
        let outcome = runner.stream(machine, &args, stop, &mut |line| {
            if let Ok(event) = serde_json::from_slice::<Event>(line) {
                return tx.send(FeedItem::Event(Box::new(event))).is_ok();
            }
            true
        });
        if let Err(e) = outcome {
            let _ = tx.send(FeedItem::Error(e));
        }
        let _ = tx.send(FeedItem::Ended);
        return;
    }
    let mut args = base;
    args.extend(["snapshot".into(), id.to_owned()]);
    let mut last_seq = None;
    while !stop.load(Ordering::SeqCst) {
        match call(machine, &args) {
            Ok(r) => {
                let seq = r["capturedAtSeq"].as_u64();
                if seq != last_seq {
                    last_seq = seq;
                    let rows = r["visibleLines"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|l| l["text"].as_str().unwrap_or("").to_owned())
                        .collect();
                    if tx.send(FeedItem::Screen(rows)).is_err() {
                        return;
                    }
                }
                if r["status"].as_str().is_some_and(|s| s != "running") {
                    let _ = tx.send(FeedItem::Ended);
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(FeedItem::Error(e));
            }
        }
        std::thread::sleep(SNAPSHOT_POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_back_into_their_parts() {
        assert_eq!(
            split_home("remote://box/srv/h"),
            Some(("box", Some("/srv/h")))
        );
        assert_eq!(split_home("remote://box"), Some(("box", None)));
        assert_eq!(split_home("/srv/h"), None);
        let dir = Path::new("remote://box/srv/h/sessions/01ABC");
        assert_eq!(
            split_session_dir(dir),
            Some(("box".into(), Some("/srv/h".into()), "01ABC".into()))
        );
        let dir = Path::new("remote://box/sessions/01ABC");
        assert_eq!(
            split_session_dir(dir),
            Some(("box".into(), None, "01ABC".into()))
        );
    }
}
