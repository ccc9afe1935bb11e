//! `agent-tty dashboard`: the host owns the terminal; the dashboard crate
//! decides what to show.
//!
//! The host's part is everything that touches the process and the terminal:
//! refusing to start without a terminal (scripts get pointed at the JSON
//! commands instead), raw mode and the alternate screen, putting the
//! terminal back on quit, on panic (ratatui's hook) and on SIGTERM, SIGHUP,
//! SIGINT or SIGQUIT (a signal thread turns them into an orderly quit), and
//! the [`DashboardHost`] through which the dashboard reaches plugins.

use crate::loader::KnownPlugin;
use crate::output::{self, OutputMode};
use crate::plugins::PluginSet;
use agent_tty_dashboard::app::{Msg, Options};
use agent_tty_dashboard::ratatui;
use agent_tty_dashboard::{DashboardHost, PaneInfo};
use agent_tty_plugin_api::wire::PluginRequest;
use agent_tty_plugin_api::{
    CommandContext, ErrorCode, KeyEvent, PaneAction, PaneContext, PaneFrame, PluginError,
};
use clap::ArgMatches;
use serde_json::Value;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{self, Sender};

/// Runs the dashboard and returns the exit status: 0 after `q`, 128 + the
/// signal number after a signal, 2 without a terminal.
pub fn run(
    set: &PluginSet,
    context: &CommandContext,
    matches: &ArgMatches,
    mode: OutputMode,
) -> i32 {
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        let err = PluginError::usage(
            "the dashboard needs a terminal on stdin and stdout; from a script use \
             `agent-tty list --json` for a Home's Sessions and `agent-tty home list --json` \
             for the registered Homes",
        );
        return output::failure(mode, "dashboard", &err);
    }
    let remote_flag = matches.get_one::<String>("remote").map(String::as_str);
    let local_home = context
        .home()
        .ok()
        .map(|h| std::path::PathBuf::from(&h.path));
    let home = match crate::remote::dashboard::home_for(remote_flag, local_home.as_deref()) {
        Some(Ok(remote_home)) => remote_home,
        Some(Err(e)) => return output::failure(mode, "dashboard", &e),
        None => match context.home() {
            Ok(h) => h.path.clone(),
            Err(e) => return output::failure(mode, "dashboard", &e),
        },
    };
    let session = matches.get_one::<String>("session").cloned();
    let all = matches.get_flag("all");
    if let Some(id) = &session {
        if let Err(e) = agent_tty_core::SessionId::check(id) {
            return output::failure(mode, "dashboard", &e.into());
        }
    }
    let host = PluginHost {
        set,
        context: context.clone(),
    };
    // Block the quit signals before any thread exists, so every thread
    // inherits the mask and only the signal thread ever receives them.
    let signals = QuitSignals::block();
    let (tx, rx) = mpsc::channel();
    signals.spawn_waiter(tx.clone());
    let mut terminal = match ratatui::try_init() {
        Ok(t) => t,
        Err(e) => {
            ratatui::restore();
            let err = PluginError::new(
                ErrorCode::InternalError,
                format!("could not take over the terminal: {e}"),
            );
            return output::failure(mode, "dashboard", &err);
        }
    };
    // Panics the dashboard catches (a pane or a Session view that failed)
    // must not put the terminal back: only the rest are reported.
    agent_tty_dashboard::guard::install_panic_hook(disable_mouse);
    // The mouse wheel scrolls the Live View's history.
    let _ = ratatui::crossterm::execute!(
        std::io::stdout(),
        ratatui::crossterm::event::EnableMouseCapture
    );
    agent_tty_dashboard::spawn_terminal_input(tx.clone());
    let options = Options { home, session, all };
    let outcome = agent_tty_dashboard::run(&mut terminal, &host, options, tx, rx);
    restore_terminal();
    match outcome {
        Ok(()) => match QuitSignals::received() {
            0 => 0,
            sig => 128 + sig,
        },
        Err(e) => output::failure(
            mode,
            "dashboard",
            &PluginError::new(
                ErrorCode::InternalError,
                format!("the terminal failed while drawing: {e}"),
            ),
        ),
    }
}

fn disable_mouse() {
    use ratatui::crossterm::{event::DisableMouseCapture, execute};
    let _ = execute!(std::io::stdout(), DisableMouseCapture);
}

fn restore_terminal() {
    use ratatui::crossterm::{cursor::Show, execute};
    disable_mouse();
    ratatui::restore();
    let _ = execute!(std::io::stdout(), Show);
}

/// SIGTERM, SIGHUP, SIGINT and SIGQUIT, delivered to one thread that turns
/// the first of them into [`Msg::Terminate`].
struct QuitSignals {
    set: libc::sigset_t,
}

static RECEIVED: AtomicI32 = AtomicI32::new(0);

impl QuitSignals {
    fn block() -> Self {
        // SAFETY: plain sigset manipulation on a zeroed set we own, and a
        // mask change for the calling thread only.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for sig in [libc::SIGTERM, libc::SIGHUP, libc::SIGINT, libc::SIGQUIT] {
                libc::sigaddset(&mut set, sig);
            }
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            QuitSignals { set }
        }
    }

    fn spawn_waiter(&self, out: Sender<Msg>) {
        let set = self.set;
        std::thread::spawn(move || {
            let mut sig = 0;
            // SAFETY: sigwait on a set whose signals are blocked in every thread.
            if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
                RECEIVED.store(sig, Ordering::SeqCst);
                let _ = out.send(Msg::Terminate);
            }
        });
    }

    /// The signal that ended the dashboard, or 0.
    fn received() -> i32 {
        RECEIVED.load(Ordering::SeqCst)
    }
}

/// The dashboard's window onto the loaded plugins.
struct PluginHost<'a> {
    set: &'a PluginSet,
    context: CommandContext,
}

impl PluginHost<'_> {
    fn plugin(&self, pane: &PaneInfo) -> Result<&KnownPlugin, PluginError> {
        self.set.by_name(&pane.plugin).ok_or_else(|| {
            crate::plugins::not_installed(&pane.plugin, &format!("the {} pane", pane.spec.title))
        })
    }

    fn call<T: serde::de::DeserializeOwned>(
        &self,
        pane: &PaneInfo,
        request: PluginRequest,
    ) -> Result<T, PluginError> {
        let plugin = self.plugin(pane)?;
        let value = plugin.call(&request)?;
        serde_json::from_value(value).map_err(|e| {
            PluginError::new(
                ErrorCode::ProtocolError,
                format!(
                    "the {} plugin answered a pane call with a malformed value: {e}",
                    plugin.name
                ),
            )
        })
    }
}

impl DashboardHost for PluginHost<'_> {
    fn capability(&self, name: &str, args: Value) -> Result<Value, PluginError> {
        self.set.capability(name, args, &self.context)
    }

    fn panes(&self) -> Vec<PaneInfo> {
        self.set
            .loaded
            .iter()
            .flat_map(|p| {
                p.description.panes.iter().map(|spec| PaneInfo {
                    plugin: p.name.clone(),
                    spec: spec.clone(),
                })
            })
            .collect()
    }

    fn pane_open(
        &self,
        pane: &PaneInfo,
        instance: u64,
        context: &PaneContext,
    ) -> Result<(), PluginError> {
        self.call::<Value>(
            pane,
            PluginRequest::PaneOpen {
                pane: pane.spec.name.clone(),
                instance,
                context: context.clone(),
            },
        )
        .map(drop)
    }

    fn pane_render(
        &self,
        pane: &PaneInfo,
        instance: u64,
        width: u16,
        height: u16,
    ) -> Result<PaneFrame, PluginError> {
        self.call(
            pane,
            PluginRequest::PaneRender {
                instance,
                width,
                height,
            },
        )
    }

    fn pane_key(
        &self,
        pane: &PaneInfo,
        instance: u64,
        key: &KeyEvent,
    ) -> Result<PaneAction, PluginError> {
        self.call(
            pane,
            PluginRequest::PaneKey {
                instance,
                key: key.clone(),
            },
        )
    }

    fn pane_close(&self, pane: &PaneInfo, instance: u64) {
        let _ = self.call::<Value>(pane, PluginRequest::PaneClose { instance });
    }

    /// Runs `agent-tty --home H attach ID` in this terminal: the dashboard's
    /// terminal modes are put back first and taken again after, so attach
    /// finds a plain terminal and the dashboard its own.
    fn attach(&self, home: &str, session_id: &str) -> Result<(), String> {
        use std::os::unix::process::CommandExt;
        // The input thread looks at the terminal every 20 ms while not
        // paused: give it time to see the pause before attach reads keys.
        std::thread::sleep(std::time::Duration::from_millis(50));
        restore_terminal();
        let exe = std::env::current_exe().map_err(|e| format!("cannot find agent-tty: {e}"))?;
        let mut cmd = std::process::Command::new(exe);
        cmd.arg("--home")
            .arg(home)
            .arg("attach")
            .arg(session_id)
            // The terminal is attach's; only its error message is kept.
            .stdin(std::process::Stdio::inherit())
            .stdout(std::process::Stdio::inherit())
            .stderr(std::process::Stdio::piped());
        // SAFETY: sigprocmask is async-signal-safe; the child gets the
        // signals the dashboard blocked for its signal thread back.
        unsafe {
            cmd.pre_exec(|| {
                let mut none: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut none);
                libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
                Ok(())
            });
        }
        let ran = cmd.spawn().and_then(|child| child.wait_with_output());
        retake_terminal();
        let out = ran.map_err(|e| format!("could not run attach: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        let why = String::from_utf8_lossy(&out.stderr);
        Err(agent_tty_core::text::escape(why.trim()).into_owned())
    }
}

/// Takes the terminal back after `attach`: raw mode, the alternate screen
/// and the mouse, as [`run`] set them up.
fn retake_terminal() {
    use ratatui::crossterm::{event::EnableMouseCapture, execute, terminal};
    let _ = terminal::enable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        terminal::EnterAlternateScreen,
        EnableMouseCapture
    );
}
