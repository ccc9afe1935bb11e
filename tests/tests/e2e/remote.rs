//! End-to-end tests: `--remote`, through a real OpenSSH server. "The remote"
//! is this machine reached through a throwaway `sshd` on a loopback port,
//! with its own `HOME` (see `agent_tty_e2e::sshd`). Skipped with an install
//! hint where sshd is missing, failing under `CI=true`.

use agent_tty_e2e::sshd::{self, Sshd};
use agent_tty_e2e::{agent_tty, Run, Sandbox};
use serde_json::Value;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

/// A local sandbox, an sshd, and the remote side's directories.
struct Fleet {
    sandbox: Sandbox,
    sshd: Sshd,
    remote_root: PathBuf,
}

impl Fleet {
    fn new() -> Option<Fleet> {
        if !sshd::available() {
            return None;
        }
        let sandbox = Sandbox::new();
        let remote_root = sandbox.root().join("remote");
        let sshd = Sshd::start(&remote_root);
        // The remote's Sessions are cleaned up with the sandbox's.
        sandbox.track_home(&remote_root.join("user").join(".agent-tty"));
        Some(Fleet {
            sandbox,
            sshd,
            remote_root,
        })
    }

    /// The remote's default Home.
    fn remote_home(&self) -> PathBuf {
        self.remote_root.join("user").join(".agent-tty")
    }

    fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.sandbox.command(args);
        cmd.env("AGENT_TTY_SSH", self.sshd.ssh_command())
            .env_remove("AGENT_TTY_REMOTE");
        cmd
    }

    fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command(args).output().expect("agent-tty runs").into()
    }

    /// `remote add NAME <this sshd> [extra…]`.
    fn add(&self, name: &str, extra: &[&str]) {
        let target = self.sshd.target();
        let mut args = vec!["--json", "remote", "add", name, &target];
        args.extend(extra);
        self.run(&args).expect_code(0);
    }

    /// The built agent-tty, as the remote's `--agent-tty`.
    fn add_with_binary(&self, name: &str) {
        let exe = agent_tty();
        self.add(name, &["--agent-tty", exe.to_str().unwrap()]);
    }

    /// ssh processes still running for this test (a master, a client):
    /// every one names the sandbox's control socket directory on its command
    /// line (a master renames itself `ssh: <socket> [mux]`).
    fn ssh_processes(&self) -> Vec<u32> {
        let dir = self.sandbox.root().join("runtime/agent-tty/ssh");
        let key = dir.as_os_str().as_bytes();
        let mut pids = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            if cmdline.windows(key.len()).any(|w| w == key) {
                pids.push(pid);
            }
        }
        pids
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = self.run(["remote", "stop"]);
        // A test that failed half-way may leave a client: end it.
        for pid in self.ssh_processes() {
            // SAFETY: kill(2) on an ssh process started for this test.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
    }
}

fn sh_script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn the_agent_loop_runs_on_the_remote_and_the_screenshot_lands_here() {
    let Some(fleet) = Fleet::new() else { return };
    fleet.add_with_binary("box");
    let created = fleet
        .run([
            "--json",
            "--remote",
            "box",
            "create",
            "--name",
            "far",
            "--cols",
            "60",
            "--rows",
            "10",
            "--",
            "bash",
            "--norc",
            "--noprofile",
        ])
        .result();
    let id = created["sessionId"].as_str().unwrap().to_owned();
    // The Session lives in the remote's Home, not in the local one.
    assert!(fleet.remote_home().join("sessions").join(&id).is_dir());
    assert!(!fleet
        .sandbox
        .default_home()
        .join("sessions")
        .join(&id)
        .exists());

    let ran = fleet
        .run([
            "--json",
            "--remote",
            "box",
            "run",
            &id,
            "echo remote-$((6*7))",
            "--timeout",
            "10000",
        ])
        .result();
    assert_eq!(ran["exitCode"], 0, "{ran:#}");
    fleet
        .run([
            "--json",
            "--remote",
            "box",
            "wait",
            &id,
            "--text",
            "remote-42",
            "--timeout",
            "10000",
        ])
        .expect_code(0);
    let snap = fleet
        .run(["--json", "--remote", "box", "snapshot", &id])
        .result();
    assert!(snap.to_string().contains("remote-42"), "{snap:#}");

    // The human form, escaped, with the same content.
    let text = fleet.run(["--remote", "box", "snapshot", &id]);
    text.expect_code(0);
    assert!(text.stdout.contains("remote-42"), "{}", text.stdout);

    let png = fleet.sandbox.root().join("shot.png");
    let shot = fleet
        .run([
            OsStr::new("--json"),
            OsStr::new("--remote"),
            OsStr::new("box"),
            OsStr::new("screenshot"),
            OsStr::new(&id),
            OsStr::new("--out"),
            png.as_os_str(),
        ])
        .result();
    let bytes = std::fs::read(&png).expect("the PNG is written here");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(
        shot.to_string().contains(png.to_str().unwrap()),
        "the result names the local path: {shot:#}"
    );
    // The remote's temp directory for it is gone.
    let leftovers: Vec<_> = std::fs::read_dir("/tmp")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("agent-tty-remote.")
                && std::fs::read_dir(e.path()).is_ok_and(|mut d| {
                    d.any(|f| {
                        f.is_ok_and(|f| {
                            f.path()
                                .metadata()
                                .is_ok_and(|m| m.len() == bytes.len() as u64)
                        })
                    })
                })
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    fleet
        .run(["--json", "--remote", "box", "destroy", &id])
        .expect_code(0);
    let listed = fleet
        .run(["--json", "--remote", "box", "list", "--all"])
        .result();
    let status = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sessionId"] == id.as_str())
        .map(|s| s["status"].clone());
    assert_eq!(status, Some(Value::from("destroyed")), "{listed:#}");

    // `remote stop` ends the shared connection at once: no ssh is left.
    assert!(
        !fleet.ssh_processes().is_empty(),
        "a shared connection is up"
    );
    let stopped = fleet.run(["--json", "remote", "stop", "box"]).result();
    assert_eq!(stopped["stopped"], 1);
    assert!(
        agent_tty_e2e::eventually(WAIT, || fleet.ssh_processes().is_empty().then_some(()))
            .is_some(),
        "ssh processes left: {:?}",
        fleet.ssh_processes()
    );
}

#[test]
fn every_argument_reaches_the_remote_byte_for_byte() {
    let Some(fleet) = Fleet::new() else { return };
    let dump = fleet.sshd.dir().join("args.bin");
    // Stands in for agent-tty: answers the release check, then writes its
    // arguments NUL-terminated and prints an envelope.
    let fake = sh_script(
        &fleet.sshd.dir(),
        "fake-agent-tty",
        &format!(
            "if [ \"$1\" = --version ]; then echo 'agent-tty {}'; exit 0; fi\n\
             for a do printf '%s\\0' \"$a\"; done > '{}'\n\
             echo '{{\"ok\":true,\"command\":\"x\",\"result\":{{}}}}'",
            env!("CARGO_PKG_VERSION"),
            dump.display()
        ),
    );
    fleet.add("fake", &["--agent-tty", fake.to_str().unwrap()]);
    let hostile: Vec<OsString> = [
        &b"two words"[..],
        b"it's \"quoted\"",
        b"$(touch /tmp/agent-tty-pwned) `id`",
        b"a; rm -rf ~ && b || c &",
        b"line one\nline two\n",
        b"\\ \\\\ %s %b \\0",
        b"\xff\xfe not utf-8 \x80",
        b"*?[a]{b,c}~!#|<>",
        b"",
        b"\t\x1b[31m",
    ]
    .iter()
    .map(|a| OsString::from_vec(a.to_vec()))
    .collect();
    let mut args: Vec<OsString> = ["--json", "--remote", "fake", "run", "01ABC", "--"]
        .iter()
        .map(OsString::from)
        .collect();
    args.extend(hostile.iter().cloned());
    fleet.run(&args).expect_code(0);
    let got = std::fs::read(&dump).expect("the fake ran");
    let got: Vec<&[u8]> = got.split(|&b| b == 0).collect();
    let mut want: Vec<&[u8]> = vec![b"--json", b"run", b"01ABC", b"--"];
    want.extend(hostile.iter().map(|a| a.as_bytes()));
    assert_eq!(&got[..got.len() - 1], &want[..]);
    assert!(!Path::new("/tmp/agent-tty-pwned").exists());
}

#[test]
fn the_remote_errors_have_their_codes_and_ssh_s_message() {
    let Some(mut fleet) = Fleet::new() else {
        return;
    };
    // No agent-tty on the remote's PATH or in its ~/.local/bin.
    fleet.add("bare", &[]);
    let run = fleet.run(["--json", "--remote", "bare", "list"]);
    run.expect_code(15);
    assert_eq!(run.json()["error"]["code"], "REMOTE_NOT_INSTALLED");

    // Another release answers the check.
    let old = sh_script(&fleet.sshd.dir(), "old", "echo 'agent-tty 0.5.2'");
    fleet.add("old", &["--agent-tty", old.to_str().unwrap()]);
    let run = fleet.run(["--json", "--remote", "old", "list"]);
    run.expect_code(16);
    let e = &run.json()["error"];
    assert_eq!(e["code"], "REMOTE_VERSION_MISMATCH");
    assert_eq!(e["details"]["remoteVersion"], "0.5.2");

    // The server is stopped: ssh's own words come back in details.
    fleet.add_with_binary("box");
    fleet
        .run(["--json", "--remote", "box", "list"])
        .expect_code(0);
    fleet.run(["remote", "stop"]).expect_code(0);
    fleet.sshd.stop();
    let run = fleet.run(["--json", "--remote", "box", "list"]);
    run.expect_code(14);
    let e = &run.json()["error"];
    assert_eq!(e["code"], "REMOTE_UNREACHABLE");
    assert_eq!(e["retryable"], true);
    assert!(
        e["details"]["ssh"]
            .as_str()
            .unwrap()
            .contains("Connection refused"),
        "{e:#}"
    );
    // Without --json: one line on stderr, the same exit status.
    let run = fleet.run(["--remote", "box", "list"]);
    run.expect_code(14);
    assert!(
        run.stderr.starts_with("REMOTE_UNREACHABLE: "),
        "{}",
        run.stderr
    );

    // A target that could turn into an ssh option is refused before ssh runs.
    let run = fleet.run(["--json", "--remote", "-oProxyCommand=touch /tmp/x", "list"]);
    run.expect_code(2);
}

#[test]
fn what_the_remote_prints_is_escaped_for_people_and_checked_for_scripts() {
    let Some(fleet) = Fleet::new() else { return };
    let liar = sh_script(
        &fleet.sshd.dir(),
        "liar",
        &format!(
            "if [ \"$1\" = --version ]; then echo 'agent-tty {}'; exit 0; fi\n\
             case \"$*\" in *--json*) echo 'not an envelope';; \
             *) printf 'red \\033[31mtext\\033]0;title\\007\\n';; esac",
            env!("CARGO_PKG_VERSION")
        ),
    );
    fleet.add("liar", &["--agent-tty", liar.to_str().unwrap()]);
    let run = fleet.run(["--remote", "liar", "list"]);
    run.expect_code(0);
    assert!(!run.stdout.contains('\x1b'), "{:?}", run.stdout);
    assert!(run.stdout.contains("red \\x1b[31mtext"), "{:?}", run.stdout);
    let run = fleet.run(["--json", "--remote", "liar", "list"]);
    run.expect_code(9);
    assert_eq!(run.json()["error"]["code"], "PROTOCOL_ERROR");
}

#[test]
fn remotes_are_named_listed_and_removed_in_a_private_file() {
    let Some(fleet) = Fleet::new() else { return };
    fleet.add("box", &["--home", "/srv/agents"]);
    let file = fleet
        .sandbox
        .user_dir()
        .join(".config/agent-tty/remotes.json");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let listed = fleet.run(["--json", "remote", "list"]).result();
    assert_eq!(listed["remotes"][0]["name"], "box");
    assert_eq!(listed["remotes"][0]["home"], "/srv/agents");
    assert_eq!(listed["remotes"][0]["connected"], false);
    // A second one of the same name is refused; a bad name too.
    fleet
        .run(["--json", "remote", "add", "box", "other"])
        .expect_code(2);
    fleet
        .run(["--json", "remote", "add", "local", "other"])
        .expect_code(2);
    fleet
        .run(["--json", "remote", "remove", "box"])
        .expect_code(0);
    let listed = fleet.run(["--json", "remote", "list"]).result();
    assert_eq!(listed["remotes"], Value::Array(vec![]));
    fleet
        .run(["--json", "remote", "remove", "box"])
        .expect_code(2);
}

#[test]
fn the_environment_and_the_home_config_choose_the_remote_but_gc_stays_here() {
    let Some(fleet) = Fleet::new() else { return };
    fleet.add_with_binary("box");
    let remote_id = fleet
        .run(["--json", "--remote", "box", "create", "--", "sleep", "300"])
        .result()["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let ids = |run: Run| -> Vec<String> {
        run.result()["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["sessionId"].as_str().unwrap().to_owned())
            .collect()
    };
    let via_env = fleet
        .command(["--json", "list"])
        .env("AGENT_TTY_REMOTE", "box")
        .output()
        .unwrap();
    assert_eq!(ids(via_env.into()), vec![remote_id.clone()]);

    // A local Home whose config names the remote stands for it.
    let pointer = fleet.sandbox.home("pointer");
    std::fs::create_dir_all(&pointer).unwrap();
    std::fs::write(pointer.join("config.json"), r#"{"remote":"box"}"#).unwrap();
    let via_config = fleet.run([
        OsStr::new("--json"),
        OsStr::new("--home"),
        pointer.as_os_str(),
        OsStr::new("list"),
    ]);
    assert_eq!(ids(via_config), vec![remote_id.clone()]);
    // The dashboard on that Home shows the remote's.
    let cmd = fleet.command([
        OsStr::new("--home"),
        pointer.as_os_str(),
        OsStr::new("dashboard"),
    ]);
    let mut ui = agent_tty_e2e::pty::PtyChild::spawn(cmd, 120, 40);
    ui.expect_text("Home remote://box", WAIT);
    ui.expect_text(&remote_id, WAIT);
    ui.send(b"q");
    assert_eq!(ui.wait_exit(WAIT).and_then(|s| s.code()), Some(0));

    // gc sweeps this machine unless --remote itself is given.
    let gc = fleet
        .command(["--json", "gc", "--dry-run"])
        .env("AGENT_TTY_REMOTE", "box")
        .output()
        .unwrap();
    let gc: Run = gc.into();
    let remote_home = fleet.remote_home();
    let swept = |run: &Run| {
        run.result()
            .to_string()
            .contains(remote_home.to_str().unwrap())
    };
    assert!(!swept(&gc), "gc left this machine: {}", gc.stdout);
    // With --remote it sweeps the remote's Homes (its running Session stays).
    let far = fleet.run(["--json", "--remote", "box", "gc", "--dry-run"]);
    assert!(swept(&far), "{}", far.stdout);
    fleet
        .run(["--json", "--remote", "box", "destroy", &remote_id])
        .expect_code(0);
}

#[test]
fn home_list_remotes_adds_each_machine_and_names_the_unreachable_one() {
    let Some(fleet) = Fleet::new() else { return };
    fleet.add_with_binary("box");
    // A named remote nobody answers at.
    let closed = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let dead_port = closed.local_addr().unwrap().port();
    drop(closed);
    fleet
        .run([
            "--json",
            "remote",
            "add",
            "gone",
            &format!("127.0.0.1:{dead_port}"),
        ])
        .expect_code(0);
    let local_home = fleet.sandbox.home("here");
    let (_local_id, _) =
        agent_tty_e2e::create_session(&fleet.sandbox, &local_home, &["--", "sleep", "300"]);
    let remote_id = fleet
        .run(["--json", "--remote", "box", "create", "--", "sleep", "300"])
        .result()["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();

    let listed = fleet.run(["--json", "home", "list", "--remotes"]).result();
    let homes = listed["homes"].as_array().unwrap();
    let machines: Vec<(&str, &str)> = homes
        .iter()
        .map(|h| (h["machine"].as_str().unwrap(), h["path"].as_str().unwrap()))
        .collect();
    assert!(
        machines
            .iter()
            .any(|(m, p)| *m == "local" && p.ends_with("homes/here")),
        "{listed:#}"
    );
    assert!(
        machines
            .iter()
            .any(|(m, p)| *m == "box" && p.ends_with("user/.agent-tty")),
        "{listed:#}"
    );
    let remotes = listed["remotes"].as_array().unwrap();
    let gone = remotes.iter().find(|r| r["name"] == "gone").unwrap();
    assert_eq!(gone["ok"], false);
    assert_eq!(gone["error"]["code"], "REMOTE_UNREACHABLE");
    let boxed = remotes.iter().find(|r| r["name"] == "box").unwrap();
    assert_eq!(boxed["ok"], true);

    // People get a table with the machine column and the reason.
    let text = fleet.run(["home", "list", "--remotes"]);
    text.expect_code(0);
    assert!(text.stdout.contains("MACHINE"), "{}", text.stdout);
    assert!(
        text.stdout
            .contains("gone is not listed: REMOTE_UNREACHABLE"),
        "{}",
        text.stdout
    );
    fleet
        .run(["--json", "--remote", "box", "destroy", &remote_id])
        .expect_code(0);
}

#[test]
fn remote_install_copies_this_build_and_the_remote_then_runs_it() {
    let Some(fleet) = Fleet::new() else { return };
    fleet.add("fresh", &[]);
    let installed = fleet.run(["--json", "remote", "install", "fresh"]).result();
    assert_eq!(installed["version"], env!("CARGO_PKG_VERSION"));
    let bin = fleet.remote_root.join("user/.local/bin/agent-tty");
    assert!(bin.is_file());
    let plugins = fleet.remote_root.join("user/.local/lib/agent-tty/plugins");
    assert!(plugins.join("libagent_tty_plugin_sessions.so").is_file());
    // `fresh` names no binary: ~/.local/bin/agent-tty is found.
    let version = fleet
        .run(["--json", "--remote", "fresh", "version"])
        .result();
    assert_eq!(version["cliVersion"], env!("CARGO_PKG_VERSION"));
    assert!(
        version["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "sessions"),
        "{version:#}"
    );
}

#[test]
fn the_dashboard_opens_a_remote_home_and_follows_its_session() {
    let Some(fleet) = Fleet::new() else { return };
    fleet.add_with_binary("box");
    let go = fleet.sandbox.root().join("go");
    let script = format!(
        "echo hello from far; while [ ! -e '{}' ]; do sleep 0.05; done; echo live line from far; exec sleep 300",
        go.display()
    );
    let id = fleet
        .run([
            "--json", "--remote", "box", "create", "--name", "far", "--cols", "60", "--rows", "10",
            "--", "sh", "-c", &script,
        ])
        .result()["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let cmd = fleet.command(["--remote", "box", "dashboard"]);
    let mut ui = agent_tty_e2e::pty::PtyChild::spawn(cmd, 120, 40);
    ui.expect_text("remote://box", WAIT);
    ui.expect_text(&id, WAIT);
    ui.expect_text("hello from far", WAIT);
    std::fs::write(&go, "").unwrap();
    ui.expect_text("live line from far", WAIT);
    ui.send(b"q");
    let status = ui.wait_exit(WAIT).expect("the dashboard quits on q");
    assert_eq!(status.code(), Some(0));
    fleet
        .run(["--json", "--remote", "box", "destroy", &id])
        .expect_code(0);
    // Following ended with the dashboard: only the shared connection is left.
    fleet.run(["remote", "stop"]).expect_code(0);
    assert!(
        agent_tty_e2e::eventually(WAIT, || fleet.ssh_processes().is_empty().then_some(()))
            .is_some(),
        "ssh processes left: {:?}",
        fleet.ssh_processes()
    );
}

/// The Live View's other path: a remote whose agent-tty has `follow`
/// streams the Event Log's records. This build has no `follow`, so the
/// remote's program is a wrapper that lists it and answers it with the
/// Session's Event Log as it grows (`tail -f`, the records exactly as
/// logged), and hands everything else to the real agent-tty.
#[test]
fn the_dashboard_follows_a_remote_session_through_its_follow_stream() {
    let Some(fleet) = Fleet::new() else { return };
    let wrapper = sh_script(
        &fleet.sshd.dir(),
        "with-follow",
        &format!(
            "for a do last=$a; done\n\
             case \" $* \" in\n\
             *' plugins '*) echo '{{\"ok\":true,\"command\":\"plugins\",\"result\":{{\"plugins\":[{{\"name\":\"sessions\",\"commands\":[\"follow\"]}}]}}}}';;\n\
             *' follow '*) shift_to=; for a do [ \"$shift_to\" = 1 ] && {{ id=$a; break; }}; [ \"$a\" = follow ] && shift_to=1; done\n\
               exec tail -n +1 -f \"$HOME/.agent-tty/sessions/$id/events.jsonl\";;\n\
             *) exec '{}' \"$@\";;\n\
             esac",
            agent_tty().display()
        ),
    );
    fleet.add("box", &["--agent-tty", wrapper.to_str().unwrap()]);
    let go = fleet.sandbox.root().join("go");
    let script = format!(
        "printf '\\033[31mred from far\\033[0m\\n'; while [ ! -e '{}' ]; do sleep 0.05; done; echo streamed line; exec sleep 300",
        go.display()
    );
    let id = fleet
        .run([
            "--json", "--remote", "box", "create", "--cols", "60", "--rows", "10", "--", "sh",
            "-c", &script,
        ])
        .result()["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let cmd = fleet.command(["--remote", "box", "dashboard"]);
    let mut ui = agent_tty_e2e::pty::PtyChild::spawn(cmd, 120, 40);
    ui.expect_text(&id, WAIT);
    ui.expect_text("red from far", WAIT);
    std::fs::write(&go, "").unwrap();
    ui.expect_text("streamed line", WAIT);
    ui.send(b"q");
    assert_eq!(ui.wait_exit(WAIT).and_then(|s| s.code()), Some(0));
    // The remote stream ended with the dashboard: no `tail` is left there.
    let tails = || {
        let log = fleet.remote_home().join("sessions").join(&id);
        let log = log.as_os_str().as_bytes().to_vec();
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| {
                std::fs::read(e.path().join("cmdline"))
                    .is_ok_and(|c| c.starts_with(b"tail") && c.windows(log.len()).any(|w| w == log))
            })
            .count()
    };
    assert!(
        agent_tty_e2e::eventually(WAIT, || (tails() == 0).then_some(())).is_some(),
        "the remote follow stream outlived the dashboard"
    );
    fleet
        .run(["--json", "--remote", "box", "destroy", &id])
        .expect_code(0);
}

#[test]
fn the_home_picker_groups_homes_by_machine_and_opens_a_remote_one() {
    let Some(fleet) = Fleet::new() else { return };
    fleet.add_with_binary("box");
    let local_home = fleet.sandbox.home("here");
    let (local_id, _) = agent_tty_e2e::create_session(
        &fleet.sandbox,
        &local_home,
        &["--", "sh", "-c", "echo local one; exec sleep 300"],
    );
    let remote_id = fleet
        .run([
            "--json",
            "--remote",
            "box",
            "create",
            "--cols",
            "60",
            "--rows",
            "10",
            "--",
            "sh",
            "-c",
            "echo far away; exec sleep 300",
        ])
        .result()["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let cmd = fleet.command([
        OsStr::new("--home"),
        local_home.as_os_str(),
        OsStr::new("dashboard"),
    ]);
    let mut ui = agent_tty_e2e::pty::PtyChild::spawn(cmd, 120, 40);
    ui.expect_text(&local_id, WAIT);
    ui.send(b"H");
    ui.expect_text("box: ", WAIT);
    ui.expect_text("…/homes/here", WAIT);
    let screen = ui.screen();
    let (local_row, remote_row) = (
        screen.find("…/homes/here").unwrap(),
        screen.find("box: ").unwrap(),
    );
    assert!(
        local_row < remote_row,
        "this machine's Homes come first:\n{screen}"
    );
    ui.send(b"/remote://box");
    ui.send(b"\r");
    ui.expect_text("Home remote://box/", WAIT);
    ui.expect_text(&remote_id, WAIT);
    ui.expect_text("far away", WAIT);
    ui.send(b"q");
    assert_eq!(ui.wait_exit(WAIT).and_then(|s| s.code()), Some(0));
    fleet
        .run(["--json", "--remote", "box", "destroy", &remote_id])
        .expect_code(0);
}

/// `AGENT_TTY_SSH` with shell syntax in it is run by `sh`, as git runs
/// `GIT_SSH_COMMAND` (here: a quoted key path and a variable).
#[test]
fn agent_tty_ssh_is_a_shell_command_like_git_ssh_command() {
    let Some(fleet) = Fleet::new() else { return };
    fleet.add_with_binary("box");
    let plain = fleet.sshd.ssh_command();
    let key = fleet.sshd.dir().join("user_key");
    let quoted = plain.replace(
        &format!("-i {}", key.display()),
        "-i \"$AGENT_TTY_TEST_KEY\"",
    );
    assert_ne!(plain, quoted);
    let run: Run = fleet
        .command(["--json", "--remote", "box", "version"])
        .env("AGENT_TTY_SSH", &quoted)
        .env("AGENT_TTY_TEST_KEY", &key)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.result()["cliVersion"], env!("CARGO_PKG_VERSION"));
}
