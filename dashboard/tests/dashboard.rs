//! The dashboard driven through its state machine with a fake host, and
//! drawn with ratatui's `TestBackend`. A synchronous executor stands in for
//! the runtime's workers so every step is deterministic.

use agent_tty_dashboard::app::{App, Effect, Focus, ListRequest, Listing, Msg, Options, PaneCall};
use agent_tty_dashboard::host::{DashboardHost, PaneInfo};
use agent_tty_dashboard::live::{screen_to_buffer, LiveSnapshot};
use agent_tty_dashboard::render::render;
use agent_tty_plugin_api::{
    ErrorCode, KeyCode, KeyEvent, PaneAction, PaneContext, PaneFrame, PaneLine, PaneSpec,
    PluginError,
};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::{json, Value};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

const A: &str = "/homes/a";
const B: &str = "/homes/b";
const SA: &str = "01JDAAAAAAAAAAAAAAAAAAAAAA";
const SB: &str = "01JDBBBBBBBBBBBBBBBBBBBBBB";
const SB_OLD: &str = "01JDB0000000000000000000OL";

/// Homes A and B with one running Session each (B also has an ended one),
/// an optional picker pane and the example pane.
struct FakeHost {
    picker: bool,
    calls: Mutex<Vec<Value>>,
    pane_log: Mutex<Vec<String>>,
}

impl FakeHost {
    fn new(picker: bool) -> Self {
        FakeHost {
            picker,
            calls: Mutex::default(),
            pane_log: Mutex::default(),
        }
    }

    fn list_calls(&self) -> Vec<Value> {
        self.calls.lock().unwrap().clone()
    }
}

fn session(id: &str, status: &str, command: &str) -> Value {
    json!({"sessionId": id, "status": status, "command": [command], "createdAt": "2026-11-24T03:50:00.000Z",
           "updatedAt": "2026-11-24T03:50:00.000Z", "pid": 42, "cols": 80, "rows": 24,
           "exitCode": if status == "exited" { json!(0) } else { Value::Null }, "exitSignal": null})
}

impl DashboardHost for FakeHost {
    fn capability(&self, name: &str, args: Value) -> Result<Value, PluginError> {
        assert_eq!(name, "sessions.list");
        self.calls.lock().unwrap().push(args.clone());
        let all = args["all"].as_bool().unwrap();
        let sessions = match args["home"].as_str().unwrap() {
            A => vec![session(SA, "running", "vim")],
            B if all => vec![
                session(SB, "running", "cargo"),
                session(SB_OLD, "exited", "true"),
            ],
            B => vec![session(SB, "running", "cargo")],
            _ => vec![],
        };
        Ok(json!({ "sessions": sessions }))
    }

    fn panes(&self) -> Vec<PaneInfo> {
        let mut panes = Vec::new();
        if self.picker {
            panes.push(PaneInfo {
                plugin: "dashboard-home-picker".into(),
                spec: PaneSpec {
                    name: "home-picker".into(),
                    title: "Homes".into(),
                    key: Some('H'),
                    role: Some("home-picker".into()),
                },
            });
        }
        panes.push(PaneInfo {
            plugin: "example-hello".into(),
            spec: PaneSpec {
                name: "hello".into(),
                title: "Hello".into(),
                key: Some('E'),
                role: None,
            },
        });
        panes
    }

    fn pane_open(
        &self,
        pane: &PaneInfo,
        instance: u64,
        cx: &PaneContext,
    ) -> Result<(), PluginError> {
        self.pane_log.lock().unwrap().push(format!(
            "open {} #{instance} home={} all={}",
            pane.spec.name, cx.current_home, cx.scope_all
        ));
        Ok(())
    }

    fn pane_render(
        &self,
        pane: &PaneInfo,
        _: u64,
        w: u16,
        h: u16,
    ) -> Result<PaneFrame, PluginError> {
        Ok(PaneFrame {
            lines: vec![
                PaneLine::raw(format!("{} pane {w}x{h}", pane.spec.title)),
                PaneLine::raw(format!("> {A}")),
                PaneLine::raw(format!("  {B}")),
            ],
        })
    }

    fn pane_key(
        &self,
        pane: &PaneInfo,
        instance: u64,
        key: &KeyEvent,
    ) -> Result<PaneAction, PluginError> {
        self.pane_log
            .lock()
            .unwrap()
            .push(format!("key {} #{instance} {:?}", pane.spec.name, key.code));
        Ok(match key.code {
            KeyCode::Esc => PaneAction::Close,
            KeyCode::Enter => PaneAction::SwitchHome { home: B.into() },
            KeyCode::Char('a') => PaneAction::SetScope { all: true },
            KeyCode::Char('!') => {
                return Err(PluginError::new(ErrorCode::InternalError, "the pane broke"))
            }
            _ => PaneAction::None,
        })
    }

    fn pane_close(&self, pane: &PaneInfo, instance: u64) {
        self.pane_log
            .lock()
            .unwrap()
            .push(format!("close {} #{instance}", pane.spec.name));
    }
}

/// The dashboard plus a synchronous stand-in for the runtime's workers.
struct Harness {
    app: App,
    host: FakeHost,
    followed: Vec<Option<String>>,
    quit: bool,
}

impl Harness {
    fn new(picker: bool, session: Option<&str>) -> Self {
        let host = FakeHost::new(picker);
        let app = App::new(
            Options {
                home: A.into(),
                session: session.map(str::to_owned),
            },
            host.panes(),
            (100, 30),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000),
        );
        let mut h = Harness {
            app,
            host,
            followed: Vec::new(),
            quit: false,
        };
        let start = h.app.start();
        h.carry_out(start);
        h
    }

    fn carry_out(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            let msgs = match effect {
                Effect::List(ListRequest {
                    home,
                    all,
                    reconcile,
                }) => {
                    let result = self
                        .host
                        .capability(
                            "sessions.list",
                            json!({"home": home, "all": all, "reconcile": reconcile}),
                        )
                        .map_err(|e| e.message)
                        .and_then(agent_tty_dashboard::session::parse_listing);
                    vec![Msg::Listed { home, all, result }]
                }
                Effect::Follow(target) => {
                    self.followed.push(target.map(|t| t.session_id));
                    vec![]
                }
                Effect::Pane(PaneCall::Open {
                    pane,
                    instance,
                    context,
                    size,
                }) => {
                    self.host.pane_open(&pane, instance, &context).unwrap();
                    vec![Msg::PaneDrawn {
                        instance,
                        result: self
                            .host
                            .pane_render(&pane, instance, size.0, size.1)
                            .map_err(|e| e.message),
                    }]
                }
                Effect::Pane(PaneCall::Key {
                    pane,
                    instance,
                    key,
                    size,
                }) => {
                    let answer = self
                        .host
                        .pane_key(&pane, instance, &key)
                        .map_err(|e| e.message);
                    let mut msgs = vec![Msg::PaneAnswered {
                        instance,
                        result: answer.clone(),
                    }];
                    if matches!(answer, Ok(PaneAction::None)) {
                        msgs.push(Msg::PaneDrawn {
                            instance,
                            result: self
                                .host
                                .pane_render(&pane, instance, size.0, size.1)
                                .map_err(|e| e.message),
                        });
                    }
                    msgs
                }
                Effect::Pane(PaneCall::Render {
                    pane,
                    instance,
                    size,
                }) => vec![Msg::PaneDrawn {
                    instance,
                    result: self
                        .host
                        .pane_render(&pane, instance, size.0, size.1)
                        .map_err(|e| e.message),
                }],
                Effect::Pane(PaneCall::Close { pane, instance }) => {
                    self.host.pane_close(&pane, instance);
                    vec![]
                }
                Effect::Quit => {
                    self.quit = true;
                    vec![]
                }
            };
            for msg in msgs {
                self.send(msg);
            }
        }
    }

    fn send(&mut self, msg: Msg) {
        let effects = self.app.update(msg);
        self.carry_out(effects);
    }

    fn press(&mut self, code: KeyCode) {
        self.send(Msg::Key(KeyEvent::plain(code)));
    }

    fn ch(&mut self, c: char) {
        self.press(KeyCode::Char(c));
    }

    fn screen(&self) -> String {
        let (w, h) = self.app.state.size;
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal.draw(|f| render(&self.app.state, f)).unwrap();
        let buffer = terminal.backend().buffer();
        (0..h)
            .map(|y| {
                (0..w)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
                    .trim_end()
                    .to_owned()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn footer(&self) -> String {
        self.screen().lines().last().unwrap().to_owned()
    }

    fn selected(&self) -> Option<String> {
        self.app
            .state
            .selected_session()
            .map(|s| s.session_id.clone())
    }
}

fn live(id: &str, text: &str) -> LiveSnapshot {
    let mut replay = agent_tty_core::screen::ScreenReplay::new(30, 3);
    replay.apply(&agent_tty_core::event_log::Event {
        seq: 0,
        ts: String::new(),
        body: agent_tty_core::event_log::EventBody::Output { data: text.into() },
    });
    LiveSnapshot {
        session_id: id.into(),
        screen: screen_to_buffer(replay.screen()),
        cursor: None,
        exit: None,
        error: None,
    }
}

#[test]
fn entering_the_starting_home_reconciles_once_and_refreshes_never_do() {
    let mut h = Harness::new(true, None);
    h.send(Msg::Tick(SystemTime::now()));
    h.ch('a');
    let calls = h.host.list_calls();
    assert_eq!(
        calls[0],
        json!({"home": A, "all": false, "reconcile": true})
    );
    assert!(
        calls[1..].iter().all(|c| c["reconcile"] == false),
        "{calls:?}"
    );
    assert_eq!(h.followed, [Some(SA.to_owned())]);
}

#[test]
fn the_main_view_shows_the_home_its_sessions_and_the_live_view() {
    let mut h = Harness::new(true, None);
    h.send(Msg::Live(live(SA, "hello from vim")));
    let screen = h.screen();
    insta_like(
        &screen,
        &[
            " agent-tty · Home /homes/a · Active Sessions · read-only",
            "Sessions (1 active)",
            SA,
            "running",
            "vim",
            "Live View · 01JDAAAAAAAAAAAAAAAAAAAAAA · 30×3 · running┐",
            "│hello from vim                                         │",
        ],
    );
    assert_eq!(
        h.footer(),
        " q quit  Tab focus  Enter maximise  j/k select  a active/all  H Homes  E Hello"
    );
}

/// Asserts each expected fragment appears on the screen, showing the
/// screen when one does not.
fn insta_like(screen: &str, fragments: &[&str]) {
    for f in fragments {
        assert!(screen.contains(f), "missing {f:?} in\n{screen}");
    }
}

#[test]
fn a_snapshot_of_another_session_is_not_shown() {
    let mut h = Harness::new(true, None);
    h.send(Msg::Live(live(SB, "not mine")));
    assert!(h.app.state.live.is_none());
    assert!(h.screen().contains("Reading the Event Log…"));
}

#[test]
fn the_picker_switches_home_and_entering_it_reconciles() {
    let mut h = Harness::new(true, None);
    h.ch('H');
    let screen = h.screen();
    assert!(screen.starts_with("Homes pane 100x29"), "{screen}");
    assert!(screen.contains("> /homes/a"));
    // Keys go to the pane, not the dashboard: `q` does not quit.
    h.ch('q');
    assert!(!h.quit);
    h.press(KeyCode::Enter);
    assert!(h.app.state.overlay.is_none());
    assert_eq!(h.app.state.home, B);
    assert_eq!(h.selected().as_deref(), Some(SB));
    assert_eq!(h.followed, [Some(SA.to_owned()), None, Some(SB.to_owned())]);
    let last = h.host.list_calls().last().cloned().unwrap();
    assert_eq!(last, json!({"home": B, "all": false, "reconcile": true}));
    assert!(h.screen().contains("Home /homes/b"));
    assert_eq!(
        *h.host.pane_log.lock().unwrap(),
        [
            "open home-picker #1 home=/homes/a all=false",
            "key home-picker #1 Char('q')",
            "key home-picker #1 Enter",
            "close home-picker #1",
        ]
    );
}

#[test]
fn the_scope_is_shared_with_the_picker() {
    let mut h = Harness::new(true, None);
    h.ch('H');
    h.ch('a');
    assert!(h.app.state.scope_all);
    assert!(h.app.state.overlay.is_some(), "the picker stays open");
    h.press(KeyCode::Esc);
    assert!(h.app.state.overlay.is_none());
    assert_eq!(h.app.state.home, A, "Esc leaves without change");
    assert!(h.screen().contains("all Sessions"));
    h.ch('H');
    assert!(h
        .host
        .pane_log
        .lock()
        .unwrap()
        .last()
        .unwrap()
        .ends_with("all=true"));
}

#[test]
fn without_the_picker_plugin_h_explains_and_the_rest_works() {
    let mut h = Harness::new(false, None);
    h.ch('H');
    assert!(h.app.state.overlay.is_none());
    assert!(
        h.footer()
            .contains("Home picker (dashboard-home-picker) not installed"),
        "{}",
        h.footer()
    );
    h.ch('E');
    assert!(h.screen().starts_with("Hello pane"));
    h.press(KeyCode::Esc);
    h.ch('q');
    assert!(h.quit);
}

#[test]
fn a_failing_pane_closes_with_a_message() {
    let mut h = Harness::new(true, None);
    h.ch('E');
    h.ch('!');
    assert!(h.app.state.overlay.is_none());
    assert!(h.footer().contains("Hello: the pane broke"));
}

#[test]
fn focus_maximise_and_pan() {
    let mut h = Harness::new(true, None);
    h.send(Msg::Live(live(SA, "0123456789")));
    h.press(KeyCode::Tab);
    assert_eq!(h.app.state.focus, Focus::LiveView);
    assert!(h.footer().contains("←↓↑→ pan"));
    assert!(!h.footer().contains("j/k select"));
    h.press(KeyCode::Right);
    assert_eq!(h.app.state.pan, (4, 0));
    assert!(h.screen().contains("│456789"));
    assert!(h.screen().contains("panned to column 4, row 0"));
    h.press(KeyCode::Enter);
    assert!(h.app.state.maximised);
    assert!(!h.screen().contains("Sessions ("));
    assert!(h.footer().contains("Esc restore"));
    h.press(KeyCode::Esc);
    assert!(!h.app.state.maximised);
}

#[test]
fn selection_moves_and_survives_refreshes() {
    let mut h = Harness::new(true, None);
    h.send(Msg::Listed {
        home: A.into(),
        all: false,
        result: Ok(vec![]),
    });
    assert!(h
        .screen()
        .contains("No Active Sessions in this Home. Press a to include ended ones"));
    h.ch('a');
    h.ch('j');
    h.ch('k');
    assert_eq!(h.selected().as_deref(), Some(SA));
}

#[test]
fn an_ended_session_asked_for_widens_the_scope() {
    let host_home_b = Options {
        home: B.into(),
        session: Some(SB_OLD.into()),
    };
    let host = FakeHost::new(true);
    let mut h = Harness {
        app: App::new(host_home_b, host.panes(), (100, 30), SystemTime::now()),
        host,
        followed: Vec::new(),
        quit: false,
    };
    let start = h.app.start();
    h.carry_out(start);
    assert!(h.app.state.scope_all);
    assert_eq!(h.selected().as_deref(), Some(SB_OLD));
    assert!(h.screen().contains(" exited 0 "));
}

#[test]
fn a_listing_failure_is_shown_in_the_list() {
    let mut h = Harness::new(true, None);
    h.send(Msg::Listed {
        home: A.into(),
        all: false,
        result: Err("the sessions plugin is not installed".into()),
    });
    assert!(matches!(h.app.state.listing, Listing::Failed(_)));
    assert!(h.screen().contains("the sessions plugin is not installed"));
}

#[test]
fn ctrl_c_and_signals_quit_and_close_an_open_pane() {
    let mut h = Harness::new(true, None);
    h.ch('H');
    h.send(Msg::Key(KeyEvent {
        code: KeyCode::Char('c'),
        ctrl: true,
        alt: false,
    }));
    assert!(h.quit);
    assert_eq!(
        h.host.pane_log.lock().unwrap().last().unwrap(),
        "close home-picker #1"
    );
    let mut h = Harness::new(true, None);
    h.send(Msg::Terminate);
    assert!(h.quit);
}

#[test]
fn resizing_redraws_an_open_pane_at_the_new_size() {
    let mut h = Harness::new(true, None);
    h.ch('H');
    h.send(Msg::Resize(60, 20));
    assert!(h.screen().starts_with("Homes pane 60x19"));
}

#[test]
fn an_unknown_session_keeps_the_active_scope_and_says_so() {
    const UNKNOWN: &str = "01JDZZZZZZZZZZZZZZZZZZZZZZ";
    let h = Harness::new(true, Some(UNKNOWN));
    assert!(!h.app.state.scope_all);
    assert_eq!(h.selected().as_deref(), Some(SA));
    assert_eq!(h.followed, [Some(SA.to_owned())]);
    let screen = h.screen();
    insta_like(
        &screen,
        &[
            "Active Sessions",
            "Sessions (1 active)",
            &format!("no Session {UNKNOWN} in this Home"),
        ],
    );
}

#[test]
fn the_not_installed_message_is_readable_at_80_columns() {
    let mut h = Harness::new(false, None);
    h.send(Msg::Resize(80, 24));
    h.ch('H');
    assert_eq!(
        h.footer(),
        " Home picker (dashboard-home-picker) not installed; see `agent-tty plugins`"
    );
}

#[test]
fn a_message_longer_than_the_footer_keeps_its_start_and_shows_it_was_cut() {
    let mut h = Harness::new(true, None);
    h.send(Msg::Resize(40, 24));
    h.ch('E');
    h.send(Msg::PaneDrawn {
        instance: 1,
        result: Err("a very long explanation of what went wrong".into()),
    });
    assert_eq!(h.footer(), " Hello: a very long explanation of what…");
}

/// Narrow footers drop whole hints, least important first, and never cut
/// one mid-word.
#[rstest::rstest]
#[case(
    100,
    " q quit  Tab focus  Enter maximise  j/k select  a active/all  H Homes  E Hello"
)]
#[case(
    70,
    " q quit  Tab focus  Enter maximise  j/k select  a active/all  H Homes"
)]
#[case(50, " q quit  Tab focus  Enter maximise  j/k select")]
#[case(30, " q quit  j/k select")]
#[case(12, " q quit")]
fn narrow_footers_drop_whole_hints(#[case] width: u16, #[case] expected: &str) {
    let mut h = Harness::new(true, None);
    h.send(Msg::Resize(width, 24));
    assert_eq!(h.footer(), expected);
}

#[test]
fn a_message_comes_before_the_hints_that_still_fit() {
    let mut h = Harness::new(true, None);
    h.send(Msg::Resize(70, 24));
    h.app.state.message = Some("Hello: broke".into());
    assert_eq!(
        h.footer(),
        " Hello: broke · q quit  Tab focus  Enter maximise  j/k select"
    );
}
