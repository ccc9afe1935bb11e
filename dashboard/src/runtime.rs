//! The event loop: draw, wait for one message, update, carry out effects.
//!
//! The drawing thread never does I/O beyond writing the terminal. Listing
//! Sessions, following the Event Log and talking to plugin panes each run on
//! their own worker, and report back over one channel. The loop blocks on
//! that channel (with a timeout for the periodic refresh), so an idle
//! dashboard sleeps: no busy polling.

use crate::app::{App, Effect, ListRequest, Msg, Options, PaneCall};
use crate::host::{DashboardHost, PaneInfo};
use crate::live::{follow_worker, FollowTarget};
use crate::render::render;
use crate::session::parse_listing;
use agent_tty_plugin_api::{KeyCode, KeyEvent};
use ratatui::backend::Backend;
use ratatui::Terminal;
use serde_json::json;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime};

/// How often the Session list is refreshed (read-only, never reconciling)
/// and the ages redrawn.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// Runs the dashboard until `q`, Ctrl-C or [`Msg::Terminate`]. Keys, resizes
/// and signals arrive on `inbox` from whoever owns the terminal (see
/// [`spawn_terminal_input`]); `outbox` is the same channel's sender, handed to
/// the workers.
pub fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    host: &dyn DashboardHost,
    options: Options,
    outbox: Sender<Msg>,
    inbox: Receiver<Msg>,
) -> Result<(), B::Error> {
    let size = terminal.size()?;
    let mut app = App::new(
        options,
        host.panes(),
        (size.width, size.height),
        SystemTime::now(),
    );
    std::thread::scope(|scope| {
        let (list_tx, list_rx) = mpsc::channel::<ListRequest>();
        let (follow_tx, follow_rx) = mpsc::channel::<Option<FollowTarget>>();
        let (pane_tx, pane_rx) = mpsc::channel::<PaneCall>();
        {
            let out = outbox.clone();
            scope.spawn(move || {
                let _guard = EndOnPanic(out.clone());
                list_worker(host, list_rx, out)
            });
        }
        {
            let out = outbox.clone();
            scope.spawn(move || {
                let _guard = EndOnPanic(out.clone());
                follow_worker(follow_rx, |s| {
                    let _ = out.send(Msg::Live(s));
                })
            });
        }
        {
            let out = outbox.clone();
            scope.spawn(move || {
                let _guard = EndOnPanic(out.clone());
                pane_worker(host, pane_rx, out)
            });
        }
        let workers = Workers {
            list: list_tx,
            follow: follow_tx,
            pane: pane_tx,
        };
        let mut quit = workers.carry_out(app.start());
        let mut next_tick = Instant::now() + REFRESH_EVERY;
        while !quit {
            terminal.draw(|f| render(&app.state, f))?;
            let wait = next_tick.saturating_duration_since(Instant::now());
            let first = match inbox.recv_timeout(wait) {
                Ok(msg) => msg,
                Err(RecvTimeoutError::Timeout) => {
                    next_tick = Instant::now() + REFRESH_EVERY;
                    Msg::Tick(SystemTime::now())
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            quit = workers.carry_out(app.update(first));
            // Fold whatever else is already waiting into the same redraw.
            while !quit {
                let Ok(msg) = inbox.try_recv() else { break };
                quit = workers.carry_out(app.update(msg));
            }
        }
        // Dropping the senders ends the workers; the scope joins them.
        drop(workers);
        Ok(())
    })
}

/// Ends the dashboard when a worker panics. The panic hook has already put
/// the terminal back, so carrying on would draw into a cooked terminal;
/// quitting lets the host report the panic instead.
struct EndOnPanic(Sender<Msg>);

impl Drop for EndOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.0.send(Msg::Terminate);
        }
    }
}

struct Workers {
    list: Sender<ListRequest>,
    follow: Sender<Option<FollowTarget>>,
    pane: Sender<PaneCall>,
}

impl Workers {
    /// Hands each effect to its worker; returns whether to quit.
    fn carry_out(&self, effects: Vec<Effect>) -> bool {
        let mut quit = false;
        for effect in effects {
            // A worker only goes away with the loop, so a failed send can
            // only happen while quitting and is safe to ignore.
            let _ = match effect {
                Effect::List(request) => self.list.send(request).map_err(drop),
                Effect::Follow(target) => self.follow.send(target).map_err(drop),
                Effect::Pane(call) => self.pane.send(call).map_err(drop),
                Effect::Quit => {
                    quit = true;
                    Ok(())
                }
            };
        }
        quit
    }
}

/// Lists Sessions through `sessions.list`. Requests that piled up while a
/// listing ran are folded into one (the newest), keeping a reconcile any of
/// them asked for.
fn list_worker(host: &dyn DashboardHost, requests: Receiver<ListRequest>, out: Sender<Msg>) {
    while let Ok(mut req) = requests.recv() {
        while let Ok(newer) = requests.try_recv() {
            let reconcile = newer.reconcile || (req.reconcile && req.home == newer.home);
            req = ListRequest { reconcile, ..newer };
        }
        let args = json!({ "home": req.home, "all": req.all, "reconcile": req.reconcile });
        let result = host
            .capability("sessions.list", args)
            .map_err(|e| e.message)
            .and_then(parse_listing);
        let msg = Msg::Listed {
            home: req.home,
            all: req.all,
            result,
        };
        if out.send(msg).is_err() {
            return;
        }
    }
}

/// Runs pane calls in order, so keys reach a pane in the order typed.
fn pane_worker(host: &dyn DashboardHost, requests: Receiver<PaneCall>, out: Sender<Msg>) {
    let draw = |pane: &PaneInfo, instance: u64, (w, h): (u16, u16)| Msg::PaneDrawn {
        instance,
        result: host
            .pane_render(pane, instance, w, h)
            .map_err(|e| e.message),
    };
    while let Ok(req) = requests.recv() {
        let msgs = match req {
            PaneCall::Open {
                pane,
                instance,
                context,
                size,
            } => match host.pane_open(&pane, instance, &context) {
                Ok(()) => vec![draw(&pane, instance, size)],
                Err(e) => vec![Msg::PaneAnswered {
                    instance,
                    result: Err(e.message),
                }],
            },
            PaneCall::Key {
                pane,
                instance,
                key,
                size,
            } => {
                let answer = host.pane_key(&pane, instance, &key);
                let redraw = matches!(
                    answer,
                    Ok(agent_tty_plugin_api::PaneAction::None
                        | agent_tty_plugin_api::PaneAction::SetScope { .. })
                );
                let mut msgs = vec![Msg::PaneAnswered {
                    instance,
                    result: answer.map_err(|e| e.message),
                }];
                if redraw {
                    msgs.push(draw(&pane, instance, size));
                }
                msgs
            }
            PaneCall::Render {
                pane,
                instance,
                size,
            } => vec![draw(&pane, instance, size)],
            PaneCall::Close { pane, instance } => {
                host.pane_close(&pane, instance);
                Vec::new()
            }
        };
        for msg in msgs {
            if out.send(msg).is_err() {
                return;
            }
        }
    }
}

/// Reads keys and resizes from the terminal on a thread of its own and
/// forwards them to the dashboard. The thread blocks in the terminal read
/// and ends with the process.
pub fn spawn_terminal_input(out: Sender<Msg>) {
    use ratatui::crossterm::event::{self, Event, KeyEventKind};
    std::thread::spawn(move || loop {
        let msg = match event::read() {
            Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => match key_from_crossterm(k) {
                Some(k) => Msg::Key(k),
                None => continue,
            },
            Ok(Event::Resize(cols, rows)) => Msg::Resize(cols, rows),
            Ok(_) => continue,
            Err(_) => Msg::Terminate,
        };
        let stop = msg == Msg::Terminate;
        if out.send(msg).is_err() || stop {
            return;
        }
    });
}

/// Converts a terminal key into the dashboard's (and panes') key type.
pub fn key_from_crossterm(k: ratatui::crossterm::event::KeyEvent) -> Option<KeyEvent> {
    use ratatui::crossterm::event::{KeyCode as C, KeyModifiers as M};
    let code = match k.code {
        C::Char(c) => KeyCode::Char(c),
        C::Enter => KeyCode::Enter,
        C::Esc => KeyCode::Esc,
        C::Backspace => KeyCode::Backspace,
        C::Tab => KeyCode::Tab,
        C::Up => KeyCode::Up,
        C::Down => KeyCode::Down,
        C::Left => KeyCode::Left,
        C::Right => KeyCode::Right,
        C::Home => KeyCode::Home,
        C::End => KeyCode::End,
        C::PageUp => KeyCode::PageUp,
        C::PageDown => KeyCode::PageDown,
        _ => return None,
    };
    Some(KeyEvent {
        code,
        ctrl: k.modifiers.contains(M::CONTROL),
        alt: k.modifiers.contains(M::ALT),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_tty_plugin_api::{PaneAction, PaneContext, PaneFrame, PluginError};
    use serde_json::Value;
    use std::sync::Mutex;

    /// Records `sessions.list` calls and lists nothing.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Value>>);

    impl DashboardHost for Recorder {
        fn capability(&self, _name: &str, args: Value) -> Result<Value, PluginError> {
            self.0.lock().unwrap().push(args);
            Ok(json!({ "sessions": [] }))
        }
        fn panes(&self) -> Vec<PaneInfo> {
            Vec::new()
        }
        fn pane_open(&self, _: &PaneInfo, _: u64, _: &PaneContext) -> Result<(), PluginError> {
            unreachable!()
        }
        fn pane_render(
            &self,
            _: &PaneInfo,
            _: u64,
            _: u16,
            _: u16,
        ) -> Result<PaneFrame, PluginError> {
            unreachable!()
        }
        fn pane_key(&self, _: &PaneInfo, _: u64, _: &KeyEvent) -> Result<PaneAction, PluginError> {
            unreachable!()
        }
        fn pane_close(&self, _: &PaneInfo, _: u64) {}
    }

    fn request(home: &str, all: bool, reconcile: bool) -> ListRequest {
        ListRequest {
            home: home.into(),
            all,
            reconcile,
        }
    }

    #[test]
    fn piled_up_listings_fold_into_one_that_keeps_the_entry_reconcile() {
        let host = Recorder::default();
        let (tx, rx) = mpsc::channel();
        let (out, answers) = mpsc::channel();
        tx.send(request("/a", false, true)).unwrap();
        tx.send(request("/a", false, false)).unwrap();
        tx.send(request("/a", true, false)).unwrap();
        drop(tx);
        list_worker(&host, rx, out);
        assert_eq!(
            *host.0.lock().unwrap(),
            [json!({"home": "/a", "all": true, "reconcile": true})]
        );
        assert_eq!(answers.iter().count(), 1);
    }

    #[test]
    fn a_reconcile_is_not_carried_into_another_home() {
        let host = Recorder::default();
        let (tx, rx) = mpsc::channel();
        let (out, _answers) = mpsc::channel();
        tx.send(request("/a", false, true)).unwrap();
        tx.send(request("/b", false, false)).unwrap();
        drop(tx);
        list_worker(&host, rx, out);
        assert_eq!(
            *host.0.lock().unwrap(),
            [json!({"home": "/b", "all": false, "reconcile": false})]
        );
    }
}
