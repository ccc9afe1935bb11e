//! The event loop: draw, wait for one message, update, carry out effects.
//!
//! The drawing thread never does I/O beyond writing the terminal. Listing
//! Sessions, following the Event Log and talking to plugin panes each run on
//! their own worker, and report back over one channel. The loop blocks on
//! that channel (with a timeout for the periodic refresh), so an idle
//! dashboard sleeps: no busy polling.

use crate::app::{App, Effect, ListRequest, Msg, Options, PaneCall};
use crate::guard::catching;
use crate::host::{DashboardHost, PaneInfo};
use crate::live::{follow_worker, LiveCommand};
use crate::render::render;
use crate::session::parse_listing;
use agent_tty_plugin_api::{KeyCode, KeyEvent, PaneAction, PluginError};
use ratatui::backend::Backend;
use ratatui::Terminal;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::Scope;
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
        let executor = Executor::spawn(scope, host, outbox);
        let mut quit = executor.carry_out(app.start());
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
            let effects = app.update(first);
            quit = carry_out_all(&executor, host, terminal, &mut app, effects)?;
            // Fold whatever else is already waiting into the same redraw.
            while !quit {
                let Ok(msg) = inbox.try_recv() else { break };
                let effects = app.update(msg);
                quit = carry_out_all(&executor, host, terminal, &mut app, effects)?;
            }
        }
        // Dropping the executor's senders ends the workers; the scope
        // joins them.
        drop(executor);
        Ok(())
    })
}

/// Carries out effects: [`Effect::Attach`] here, where the terminal is (the
/// host hands it to `attach` and back, then everything is redrawn), the
/// rest through the executor. Returns whether to quit.
fn carry_out_all<B: Backend>(
    executor: &Executor,
    host: &dyn DashboardHost,
    terminal: &mut Terminal<B>,
    app: &mut App,
    effects: Vec<Effect>,
) -> Result<bool, B::Error> {
    let mut quit = false;
    for effect in effects {
        match effect {
            Effect::Attach { home, session_id } => {
                INPUT_PAUSED.store(true, Ordering::SeqCst);
                let outcome = host.attach(&home, &session_id);
                INPUT_PAUSED.store(false, Ordering::SeqCst);
                terminal.clear()?;
                quit |= executor.carry_out(app.update(Msg::Attached(outcome)));
            }
            other => quit |= executor.carry_out(vec![other]),
        }
    }
    Ok(quit)
}

/// While set, the terminal input thread reads nothing, so keys reach the
/// `attach` the dashboard handed the terminal to.
static INPUT_PAUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Ends the dashboard when a worker panics outside the work it guards. The
/// panic hook has already put the terminal back, so carrying on would draw
/// into a cooked terminal; quitting lets the host report the panic instead.
struct EndOnPanic(Sender<Msg>);

impl Drop for EndOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.0.send(Msg::Terminate);
        }
    }
}

/// The effect executor: one worker thread each for listing, following Event
/// Logs and plugin panes, fed by [`Executor::carry_out`] and answering with
/// [`Msg`]s on the dashboard's channel. The dashboard's loop and its tests
/// use this same executor.
pub struct Executor {
    list: Sender<ListRequest>,
    live: Sender<LiveCommand>,
    pane: Sender<PaneCall>,
    pending: Arc<AtomicUsize>,
}

impl Drop for Executor {
    fn drop(&mut self) {
        // The Live View worker's file watcher keeps its channel open; it
        // needs telling. The other workers end as their channels close.
        let _ = self.live.send(LiveCommand::Stop);
    }
}

/// Counts a request done once its worker has sent every answer to it.
struct Done(Arc<AtomicUsize>);

impl Done {
    fn one(&self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Executor {
    /// Starts the workers on `scope`; they answer on `outbox` and end when
    /// the executor is dropped.
    pub fn spawn<'scope, 'env>(
        scope: &'scope Scope<'scope, 'env>,
        host: &'env dyn DashboardHost,
        outbox: Sender<Msg>,
    ) -> Executor {
        let (list_tx, list_rx) = mpsc::channel::<ListRequest>();
        let (live_tx, live_rx) = mpsc::channel::<LiveCommand>();
        let (pane_tx, pane_rx) = mpsc::channel::<PaneCall>();
        let pending = Arc::new(AtomicUsize::new(0));
        {
            let out = outbox.clone();
            let done = Done(pending.clone());
            scope.spawn(move || {
                let _guard = EndOnPanic(out.clone());
                list_worker(host, list_rx, out, &done)
            });
        }
        {
            let out = outbox.clone();
            let done = Done(pending.clone());
            let wake = live_tx.clone();
            scope.spawn(move || {
                let _guard = EndOnPanic(out.clone());
                follow_worker(
                    live_rx,
                    wake,
                    |s| {
                        let _ = out.send(Msg::Live(s));
                    },
                    |n| {
                        done.0.fetch_sub(n, Ordering::SeqCst);
                    },
                );
            });
        }
        {
            let out = outbox.clone();
            let done = Done(pending.clone());
            scope.spawn(move || {
                let _guard = EndOnPanic(out.clone());
                pane_worker(host, pane_rx, out, &done)
            });
        }
        Executor {
            list: list_tx,
            live: live_tx,
            pane: pane_tx,
            pending,
        }
    }

    /// Hands each effect to its worker; returns whether to quit.
    pub fn carry_out(&self, effects: Vec<Effect>) -> bool {
        let mut quit = false;
        for effect in effects {
            // A worker only goes away with the loop, so a failed send can
            // only happen while quitting and is safe to ignore.
            match effect {
                Effect::List(request) => self.counted(|| self.list.send(request).is_ok()),
                Effect::Live(command) => self.counted(|| self.live.send(command).is_ok()),
                Effect::Pane(call) => self.counted(|| self.pane.send(call).is_ok()),
                Effect::Quit => quit = true,
                // The loop that owns the terminal carries it out
                // ([`carry_out_all`]); an executor alone (tests) cannot.
                Effect::Attach { .. } => {}
            }
        }
        quit
    }

    fn counted(&self, send: impl FnOnce() -> bool) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        if !send() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Whether every listing, Live View command and pane call handed over so
    /// far has been answered (the answers are on the dashboard's channel). Tests wait for
    /// this between steps.
    pub fn idle(&self) -> bool {
        self.pending.load(Ordering::SeqCst) == 0
    }
}

/// Lists Sessions through `sessions.list`. Requests that piled up while a
/// listing ran are folded into one (the newest), keeping a reconcile any of
/// them asked for. A listing that panics is a failed listing.
fn list_worker(
    host: &dyn DashboardHost,
    requests: Receiver<ListRequest>,
    out: Sender<Msg>,
    done: &Done,
) {
    while let Ok(mut req) = requests.recv() {
        let mut folded = 1;
        while let Ok(newer) = requests.try_recv() {
            let reconcile = newer.reconcile || (req.reconcile && req.home == newer.home);
            req = ListRequest { reconcile, ..newer };
            folded += 1;
        }
        let args = json!({ "home": req.home, "all": req.all, "reconcile": req.reconcile });
        let result = catching(|| host.capability("sessions.list", args))
            .and_then(|r| r.map_err(|e| e.message))
            .and_then(parse_listing);
        let msg = Msg::Listed {
            home: req.home,
            all: req.all,
            result,
        };
        let sent = out.send(msg).is_ok();
        for _ in 0..folded {
            done.one();
        }
        if !sent {
            return;
        }
    }
}

/// A pane call that panicked, answered like one that failed.
fn guarded_call<T>(call: impl FnOnce() -> Result<T, PluginError>) -> Result<T, String> {
    catching(call).and_then(|r| r.map_err(|e| e.message))
}

/// Runs pane calls in order, so keys reach a pane in the order typed. A
/// call that fails or panics is answered with an error for that pane.
fn pane_worker(
    host: &dyn DashboardHost,
    requests: Receiver<PaneCall>,
    out: Sender<Msg>,
    done: &Done,
) {
    let draw = |pane: &PaneInfo, instance: u64, (w, h): (u16, u16)| Msg::PaneDrawn {
        instance,
        result: guarded_call(|| host.pane_render(pane, instance, w, h)),
    };
    while let Ok(req) = requests.recv() {
        let msgs = match req {
            PaneCall::Open {
                pane,
                instance,
                context,
                size,
            } => match guarded_call(|| host.pane_open(&pane, instance, &context)) {
                Ok(()) => vec![draw(&pane, instance, size)],
                Err(e) => vec![Msg::PaneAnswered {
                    instance,
                    result: Err(e),
                }],
            },
            PaneCall::Key {
                pane,
                instance,
                key,
                size,
            } => {
                let answer = guarded_call(|| host.pane_key(&pane, instance, &key));
                let redraw = matches!(answer, Ok(PaneAction::None | PaneAction::SetScope { .. }));
                let mut msgs = vec![Msg::PaneAnswered {
                    instance,
                    result: answer,
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
                let _ = catching(|| host.pane_close(&pane, instance));
                Vec::new()
            }
        };
        let mut sent = true;
        for msg in msgs {
            sent &= out.send(msg).is_ok();
        }
        done.one();
        if !sent {
            return;
        }
    }
}

/// Reads keys and resizes from the terminal on a thread of its own and
/// forwards them to the dashboard. The thread blocks in the terminal read
/// and ends with the process.
pub fn spawn_terminal_input(out: Sender<Msg>) {
    use ratatui::crossterm::event::{self, Event, KeyEventKind, MouseEventKind};
    std::thread::spawn(move || loop {
        // Polled, not blocked on, so a pause (attach) takes effect between
        // two looks and no key typed for attach is read here.
        if INPUT_PAUSED.load(Ordering::SeqCst)
            || !event::poll(Duration::from_millis(20)).unwrap_or(true)
        {
            if INPUT_PAUSED.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
            }
            continue;
        }
        let msg = match event::read() {
            Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => match key_from_crossterm(k) {
                Some(k) => Msg::Key(k),
                None => continue,
            },
            Ok(Event::Resize(cols, rows)) => Msg::Resize(cols, rows),
            Ok(Event::Mouse(m)) => match m.kind {
                MouseEventKind::ScrollUp => Msg::Wheel(1),
                MouseEventKind::ScrollDown => Msg::Wheel(-1),
                _ => continue,
            },
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
    // `?` arrives with Shift on some terminals; the character says it all.
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
    use agent_tty_plugin_api::{PaneContext, PaneFrame};
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
        let pending = Arc::new(AtomicUsize::new(3));
        list_worker(&host, rx, out, &Done(pending.clone()));
        assert_eq!(
            *host.0.lock().unwrap(),
            [json!({"home": "/a", "all": true, "reconcile": true})]
        );
        assert_eq!(pending.load(Ordering::SeqCst), 0);
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
        list_worker(&host, rx, out, &Done(Arc::new(AtomicUsize::new(2))));
        assert_eq!(
            *host.0.lock().unwrap(),
            [json!({"home": "/b", "all": false, "reconcile": false})]
        );
    }
}
