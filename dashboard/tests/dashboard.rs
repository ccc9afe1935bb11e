//! The dashboard driven through its state machine and the runtime's own
//! effect executor (the same workers `agent-tty dashboard` runs: listing,
//! the Live View worker over real Event Logs, plugin panes), drawn with
//! ratatui's `TestBackend` and compared as insta snapshots of the frame.
//!
//! The Homes are real directories with real manifests and Event Logs; only
//! the host's plugin calls are answered by a fake (the plugin boundary), and
//! its Home picker pane is the real picker from `dashboard-home-picker`.

use agent_tty_core::event_log::{EventBody, EventLogWriter};
use agent_tty_core::manifest::{write_manifest, Manifest, Status};
use agent_tty_dashboard::app::{App, Focus, Listing, Msg, Options};
use agent_tty_dashboard::host::{DashboardHost, PaneInfo};
use agent_tty_dashboard::live::HistoryPos;
use agent_tty_dashboard::render::render;
use agent_tty_dashboard::Executor;
use agent_tty_plugin_api::{
    ErrorCode, KeyCode, KeyEvent, PaneAction, PaneContext, PaneFrame, PaneLine, PaneSpec,
    PluginError,
};
use agent_tty_plugin_dashboard_home_picker::{HomeRow, Picker, PreviewRow};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

const SA: &str = "01JDAAAAAAAAAAAAAAAAAAAAAA";
const SA_BUILD: &str = "01JDA0000000000000000BUILD";
const SB: &str = "01JDBBBBBBBBBBBBBBBBBBBBBB";
const SB_OLD: &str = "01JDB0000000000000000000OL";
const SC_ROW: &str = "01JDC00000000000000000R0W1";
const SD_TALL: &str = "01JDD0000000000000000TALL1";
const CREATED: &str = "2026-11-24T03:50:00.000Z";
const WAIT: Duration = Duration::from_secs(10);

/// Where the test Homes live: `/tmp/dash` and six random characters, a
/// fixed length, so frames that show a path keep their layout and the
/// snapshot filter can swap in a fixed name.
const ROOT_SHOWN: &str = "/tmp/dashXXXXXX";

/// Real Homes on disk: A (a full-screen editor and a build with a long
/// history), B (a running and an ended Session), C (a one-row Session).
struct Homes {
    root: tempfile::TempDir,
}

struct SessionSpec<'a> {
    home: &'a str,
    id: &'a str,
    name: &'a str,
    command: &'a str,
    size: (u16, u16),
    output: String,
    exit: Option<i32>,
}

impl Homes {
    fn new() -> Self {
        let root = tempfile::Builder::new()
            .prefix("dash")
            .tempdir_in("/tmp")
            .unwrap();
        let homes = Homes { root };
        let build: String = (1..=60)
            .map(|i| format!("compiling crate {i}\r\n"))
            .collect();
        for s in [
            SessionSpec {
                home: "a",
                id: SA,
                name: "editor",
                command: "vim notes.txt",
                size: (40, 6),
                output: "\x1b[?1049h\x1b[1;1H\x1b[1mnotes.txt\x1b[0m\r\n- buy \x1b[31mmilk\x1b[0m\r\n~\r\n~"
                    .into(),
                exit: None,
            },
            SessionSpec {
                home: "a",
                id: SA_BUILD,
                name: "a-very-long-build-name",
                command: "cargo build --release",
                size: (40, 6),
                output: build + "$ ",
                exit: None,
            },
            SessionSpec {
                home: "b",
                id: SB,
                name: "tests",
                command: "cargo test",
                size: (30, 3),
                output: "running 4 tests\r\n....".into(),
                exit: None,
            },
            SessionSpec {
                home: "b",
                id: SB_OLD,
                name: "old",
                command: "true",
                size: (30, 3),
                output: "done\r\n".into(),
                exit: Some(0),
            },
            SessionSpec {
                home: "c",
                id: SC_ROW,
                name: "tiny",
                command: "sh",
                size: (2, 1),
                output: "hi".into(),
                exit: None,
            },
            SessionSpec {
                home: "d",
                id: SD_TALL,
                name: "tall",
                command: "sh",
                size: (40, 1000),
                output: (1..=995).map(|i| format!("row {i}\r\n")).collect::<String>() + "$ ",
                exit: None,
            },
        ] {
            homes.write(&s);
        }
        homes
    }

    fn home(&self, name: &str) -> String {
        self.root
            .path()
            .join("homes")
            .join(name)
            .to_string_lossy()
            .into_owned()
    }

    fn session_dir(&self, home: &str, id: &str) -> PathBuf {
        Path::new(&self.home(home)).join("sessions").join(id)
    }

    fn write(&self, s: &SessionSpec) {
        let dir = self.session_dir(s.home, s.id);
        std::fs::create_dir_all(&dir).unwrap();
        write_manifest(
            &dir,
            &Manifest {
                version: 1,
                session_id: s.id.into(),
                created_at: CREATED.into(),
                updated_at: CREATED.into(),
                status: if s.exit.is_some() {
                    Status::Exited
                } else {
                    Status::Running
                },
                failure_reason: None,
                failure_origin: None,
                command: s.command.split(' ').map(str::to_owned).collect(),
                cwd: "/".into(),
                name: Some(s.name.into()),
                shell: None,
                term: None,
                env: None,
                cols: s.size.0,
                rows: s.size.1,
                creation_cols: None,
                creation_rows: None,
                idle_timeout_ms: None,
                host_pid: None,
                child_pid: None,
                exit_code: s.exit,
                exit_signal: None,
            },
        )
        .unwrap();
        let mut log = EventLogWriter::open(&dir).unwrap();
        log.append(EventBody::Output {
            data: s.output.clone(),
        })
        .unwrap();
        if let Some(code) = s.exit {
            log.append(EventBody::Exit {
                exit_code: Some(code),
                exit_signal: None,
            })
            .unwrap();
        }
    }

    fn append(&self, home: &str, id: &str, body: EventBody) {
        EventLogWriter::open(&self.session_dir(home, id))
            .unwrap()
            .append(body)
            .unwrap();
    }
}

/// The host's plugin calls: `sessions.list` answered from a fixed table of
/// the Homes above, the real Home picker, a plugin pane that panics while
/// drawing, and one that answers keys with errors.
struct FakeHost {
    homes: Vec<(String, &'static str)>,
    picker: bool,
    /// Sessions `sessions.list` no longer reports as running (they ended).
    ended: Mutex<BTreeSet<String>>,
    /// Sessions `sessions.list` reports as destroyed.
    destroyed: Mutex<BTreeSet<String>>,
    calls: Mutex<Vec<Value>>,
    pickers: Mutex<Vec<Picker>>,
    pane_log: Mutex<Vec<String>>,
}

fn row(id: &str, name: &str, status: &str, command: &str) -> Value {
    json!({"sessionId": id, "name": name, "status": status, "command": command.split(' ').collect::<Vec<_>>(),
           "createdAt": CREATED, "updatedAt": CREATED, "pid": 42,
           "exitCode": if status == "exited" { json!(0) } else { Value::Null }, "exitSignal": null})
}

impl FakeHost {
    fn new(homes: &Homes, picker: bool) -> Self {
        FakeHost {
            homes: ["a", "b", "c"]
                .into_iter()
                .map(|h| (homes.home(h), h))
                .collect(),
            picker,
            ended: Mutex::default(),
            destroyed: Mutex::default(),
            calls: Mutex::default(),
            pickers: Mutex::default(),
            pane_log: Mutex::default(),
        }
    }

    fn listing(&self, home: &str, all: bool) -> Vec<Value> {
        // Home d (one 1000-row Session) is listed but not registered, so
        // the picker's frames show only a, b and c.
        let which = self
            .homes
            .iter()
            .find(|(p, _)| p == home)
            .map(|(_, h)| *h)
            .or_else(|| home.ends_with("/homes/d").then_some("d"));
        let ended = self.ended.lock().unwrap();
        let destroyed = self.destroyed.lock().unwrap();
        let status = |id: &str| {
            if destroyed.contains(id) {
                "destroyed"
            } else if ended.contains(id) {
                "exited"
            } else {
                "running"
            }
        };
        let rows = match which {
            Some("a") => vec![
                row(SA, "editor", status(SA), "vim notes.txt"),
                row(
                    SA_BUILD,
                    "a-very-long-build-name",
                    "running",
                    "cargo build --release",
                ),
            ],
            Some("b") => vec![
                row(SB, "tests", "running", "cargo test"),
                row(SB_OLD, "old", "exited", "true"),
            ],
            Some("c") => vec![row(SC_ROW, "tiny", "running", "sh")],
            Some("d") => vec![row(SD_TALL, "tall", "running", "sh")],
            _ => vec![],
        };
        rows.into_iter()
            .filter(|r| all || r["status"] == "running")
            .collect()
    }

    fn list_calls(&self) -> Vec<Value> {
        self.calls.lock().unwrap().clone()
    }

    fn log(&self) -> Vec<String> {
        self.pane_log.lock().unwrap().clone()
    }
}

fn spec(name: &str, title: &str, key: char, role: Option<&str>) -> PaneSpec {
    PaneSpec {
        name: name.into(),
        title: title.into(),
        key: Some(key),
        role: role.map(str::to_owned),
    }
}

impl DashboardHost for FakeHost {
    fn capability(&self, name: &str, args: Value) -> Result<Value, PluginError> {
        assert_eq!(name, "sessions.list");
        self.calls.lock().unwrap().push(args.clone());
        let home = args["home"].as_str().unwrap_or_default();
        if home.ends_with("/garbage") {
            return Ok(json!({"sessions": "not a list"}));
        }
        if !Path::new(home).is_dir() {
            return Err(PluginError::new(
                ErrorCode::StorageReadError,
                format!("the Home {home} does not exist"),
            ));
        }
        let all = args["all"].as_bool().unwrap_or(false);
        Ok(json!({ "sessions": self.listing(home, all) }))
    }

    fn panes(&self) -> Vec<PaneInfo> {
        let mut panes = Vec::new();
        if self.picker {
            panes.push(PaneInfo {
                plugin: "dashboard-home-picker".into(),
                spec: spec("home-picker", "Homes", 'H', Some("home-picker")),
            });
        }
        panes.push(PaneInfo {
            plugin: "example-hello".into(),
            spec: spec("hello", "Hello", 'E', None),
        });
        panes.push(PaneInfo {
            plugin: "broken".into(),
            spec: spec("broken", "Broken", 'X', None),
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
            "open {} #{instance} all={}",
            pane.spec.name, cx.scope_all
        ));
        if pane.is_home_picker() {
            let mut picker = Picker::new(&cx.current_home, cx.scope_all);
            let homes = self
                .homes
                .iter()
                .map(|(path, h)| HomeRow {
                    path: path.clone(),
                    active_sessions: self.listing(path, false).len() as u64,
                    total_sessions: self.listing(path, true).len() as u64,
                    last_seen_at: CREATED.replace("03:50", &format!("03:4{}", h.len())),
                    machine: None,
                })
                .collect();
            picker.set_homes(Ok(homes));
            *self.pickers.lock().unwrap() = vec![picker];
            self.preview();
        }
        Ok(())
    }

    fn pane_render(
        &self,
        pane: &PaneInfo,
        _: u64,
        w: u16,
        h: u16,
    ) -> Result<PaneFrame, PluginError> {
        match pane.spec.name.as_str() {
            "home-picker" => {
                let pickers = self.pickers.lock().unwrap();
                let picker = &pickers[0];
                let now = agent_tty_core::time::parse_iso(CREATED).unwrap();
                Ok(picker.frame(w, h, now))
            }
            "broken" => panic!("the broken pane cannot draw"),
            _ => Ok(PaneFrame {
                lines: vec![PaneLine::raw(format!("{} pane {w}x{h}", pane.spec.title))],
                ..PaneFrame::default()
            }),
        }
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
        if pane.is_home_picker() {
            let action = self.pickers.lock().unwrap()[0].key(key);
            self.preview();
            return Ok(action);
        }
        match key.code {
            KeyCode::Esc => Ok(PaneAction::Close),
            KeyCode::Char('!') => Err(PluginError::new(
                ErrorCode::ProtocolError,
                "the example-hello plugin answered a pane call with a malformed value",
            )),
            _ => Ok(PaneAction::None),
        }
    }

    fn pane_close(&self, pane: &PaneInfo, instance: u64) {
        self.pane_log
            .lock()
            .unwrap()
            .push(format!("close {} #{instance}", pane.spec.name));
    }
}

impl FakeHost {
    /// The picker's preview of the highlighted Home, from the same listing.
    fn preview(&self) {
        let mut pickers = self.pickers.lock().unwrap();
        let picker = &mut pickers[0];
        if let Some(home) = picker.wants_preview() {
            let rows = self
                .listing(&home, true)
                .iter()
                .map(|r| PreviewRow {
                    name: r["name"].as_str().unwrap().into(),
                    status: if r["status"] == "exited" {
                        "exited (0)".into()
                    } else {
                        "running".into()
                    },
                    active: r["status"] == "running",
                    last_activity: agent_tty_core::time::parse_iso(CREATED),
                })
                .collect();
            picker.set_preview(&home, Ok(rows));
        }
    }
}

/// The frame `state` draws on a `TestBackend` of its size, as text.
fn draw(state: &agent_tty_dashboard::app::State) -> String {
    let (w, h) = state.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| render(state, f)).unwrap();
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

/// The dashboard, the production executor, and the channel its workers
/// answer on.
struct Dash<'h> {
    app: App,
    executor: Executor,
    inbox: Receiver<Msg>,
    host: &'h FakeHost,
    homes: &'h Homes,
    quit: bool,
}

/// `now` for every test: 37 s after the Sessions were created.
fn now() -> SystemTime {
    agent_tty_core::time::parse_iso(CREATED).unwrap() + Duration::from_secs(37)
}

struct Setup {
    home: &'static str,
    size: (u16, u16),
    picker: bool,
    session: Option<&'static str>,
    all: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            home: "a",
            size: (100, 30),
            picker: true,
            session: None,
            all: false,
        }
    }
}

/// Runs `test` against a dashboard started as `setup` says.
fn dash(setup: Setup, test: impl FnOnce(&mut Dash)) {
    let homes = Homes::new();
    let host = FakeHost::new(&homes, setup.picker);
    std::thread::scope(|scope| {
        let (outbox, inbox) = mpsc::channel();
        let executor = Executor::spawn(scope, &host, outbox);
        let app = App::new(
            Options {
                home: homes.home(setup.home),
                session: setup.session.map(str::to_owned),
                all: setup.all,
            },
            host.panes(),
            setup.size,
            now(),
        );
        let mut d = Dash {
            app,
            executor,
            inbox,
            host: &host,
            homes: &homes,
            quit: false,
        };
        let start = d.app.start();
        d.carry_out(start);
        test(&mut d);
    });
}

impl Dash<'_> {
    fn carry_out(&mut self, effects: Vec<agent_tty_dashboard::app::Effect>) {
        self.quit |= self.executor.carry_out(effects);
        self.settle();
    }

    /// Applies worker answers until every effect handed over has been
    /// answered and no answer is waiting.
    fn settle(&mut self) {
        let deadline = Instant::now() + WAIT;
        loop {
            let idle = self.executor.idle();
            let mut any = false;
            while let Ok(msg) = self.inbox.try_recv() {
                any = true;
                let effects = self.app.update(msg);
                self.quit |= self.executor.carry_out(effects);
            }
            if idle && !any {
                return;
            }
            assert!(Instant::now() < deadline, "the workers did not settle");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Applies worker answers (file change notifications among them) until
    /// `done` holds.
    fn wait_until(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done(&self.app) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out waiting for {what}");
            if let Ok(msg) = self.inbox.recv_timeout(left.min(Duration::from_millis(50))) {
                let effects = self.app.update(msg);
                self.quit |= self.executor.carry_out(effects);
            }
        }
        self.settle();
    }

    fn send(&mut self, msg: Msg) {
        let effects = self.app.update(msg);
        self.carry_out(effects);
    }

    fn press(&mut self, code: KeyCode) {
        self.send(Msg::Key(KeyEvent::plain(code)));
    }

    fn keys(&mut self, keys: &str) {
        for c in keys.chars() {
            self.press(KeyCode::Char(c));
        }
    }

    fn screen(&self) -> String {
        draw(&self.app.state).replace(
            &self.homes.root.path().to_string_lossy().to_string(),
            ROOT_SHOWN,
        )
    }

    fn footer(&self) -> String {
        self.screen().lines().last().unwrap_or_default().to_owned()
    }

    fn selected(&self) -> Option<String> {
        self.app
            .state
            .selected_session()
            .map(|s| s.session_id.clone())
    }

    fn live_text(&self) -> bool {
        self.app
            .state
            .live
            .as_ref()
            .is_some_and(|l| l.screen.area.width > 0)
    }
}

// ----- Frame snapshots ---------------------------------------------------

#[test]
fn main_view_stacked() {
    dash(Setup::default(), |d| {
        assert!(
            d.live_text(),
            "the Live View replayed the editor's Event Log"
        );
        insta::assert_snapshot!("main_stacked", d.screen());
    });
}

#[test]
fn main_view_side_by_side_when_wide() {
    dash(
        Setup {
            size: (160, 24),
            ..Setup::default()
        },
        |d| insta::assert_snapshot!("main_wide", d.screen()),
    );
}

#[test]
fn narrow_terminal_keeps_status_and_age_whole() {
    dash(
        Setup {
            size: (40, 20),
            all: true,
            home: "b",
            ..Setup::default()
        },
        |d| {
            let screen = d.screen();
            assert!(screen.contains("37s ago"), "{screen}");
            assert!(screen.contains("exited (0)"), "{screen}");
            insta::assert_snapshot!("narrow", screen);
        },
    );
}

#[test]
fn a_long_name_is_cut_with_an_ellipsis() {
    dash(
        Setup {
            size: (70, 24),
            ..Setup::default()
        },
        |d| {
            let screen = d.screen();
            assert!(screen.contains("a-very-long-build-n…"), "{screen}");
            insta::assert_snapshot!("medium", screen);
        },
    );
}

#[test]
fn maximised_footer_offers_restore() {
    dash(Setup::default(), |d| {
        d.press(KeyCode::Enter);
        assert!(d.app.state.maximised);
        let footer = d.footer();
        assert!(footer.contains("Esc restore"), "{footer}");
        assert!(!footer.contains("maximise"), "{footer}");
        insta::assert_snapshot!("maximised", d.screen());
        d.press(KeyCode::Enter);
        assert!(!d.app.state.maximised, "Enter restores too");
    });
}

#[test]
fn overview_shows_every_session_and_enter_opens_one() {
    dash(
        Setup {
            size: (100, 24),
            ..Setup::default()
        },
        |d| {
            d.keys("z");
            assert!(d.app.state.overview);
            d.wait_until("both tiles", |a| {
                a.state.tiles.contains_key(SA_BUILD) && a.state.live.is_some()
            });
            let screen = d.screen();
            assert!(screen.contains("editor [alt] · running"), "{screen}");
            insta::assert_snapshot!("overview", screen);
            d.press(KeyCode::Right);
            d.press(KeyCode::Enter);
            assert!(!d.app.state.overview);
            assert_eq!(d.selected().as_deref(), Some(SA_BUILD));
            assert_eq!(d.app.state.focus, Focus::LiveView);
            d.wait_until("the build's screen", |a| {
                a.state
                    .live
                    .as_ref()
                    .is_some_and(|l| l.session_id == SA_BUILD)
            });
            assert!(d.screen().contains("compiling crate 60"));
        },
    );
}

#[test]
fn help_lists_the_keys_of_the_footer() {
    dash(Setup::default(), |d| {
        d.keys("?");
        let screen = d.screen();
        insta::assert_snapshot!("help", screen);
        // Every key, not only the footer's: End, Ctrl-C, h/l, the wheel.
        for label in [
            "PgUp PgDn",
            "overview",
            "active/all",
            "Hello",
            "close help",
            "G/End",
            "q/Ctrl-C",
            "←/h →/l ↑/k ↓/j",
            "wheel",
            "The dashboard only reads",
        ] {
            assert!(screen.contains(label), "{label} missing from\n{screen}");
        }
        d.keys("a");
        assert!(!d.app.state.scope_all, "keys other than help's do nothing");
        d.press(KeyCode::Esc);
        assert!(!d.app.state.help);
        d.keys("?q");
        assert!(d.quit, "q quits from the help overlay");
    });
}

#[test]
fn history_pages_back_pauses_and_g_returns_to_live() {
    dash(Setup::default(), |d| {
        d.keys("j");
        assert_eq!(d.selected().as_deref(), Some(SA_BUILD));
        let title = d.screen();
        assert!(title.contains("· following"), "{title}");
        d.press(KeyCode::PageUp);
        d.press(KeyCode::PageUp);
        let live = d.app.state.live.clone().unwrap();
        // 60 lines and a prompt on a 6-row screen: 55 in history; two
        // pages of 5 lines back shows line 46 at the top.
        assert_eq!(
            live.history,
            HistoryPos::Paused {
                line: 46,
                total: 61,
                offset: 10
            }
        );
        insta::assert_snapshot!("history", d.screen());
        assert!(d.footer().contains("G live"), "{}", d.footer());
        d.send(Msg::Wheel(-1));
        assert!(matches!(
            d.app.state.live.as_ref().unwrap().history,
            HistoryPos::Paused { offset: 7, .. }
        ));
        d.press(KeyCode::End);
        assert_eq!(
            d.app.state.live.as_ref().unwrap().history,
            HistoryPos::Following
        );
        d.press(KeyCode::PageDown);
        assert_eq!(
            d.app.state.live.as_ref().unwrap().history,
            HistoryPos::Following
        );
    });
}

#[test]
fn a_one_row_session_is_shown() {
    dash(
        Setup {
            home: "c",
            ..Setup::default()
        },
        |d| {
            assert!(d.live_text());
            insta::assert_snapshot!("one_row", d.screen());
            d.keys("zz");
            d.press(KeyCode::Enter);
            d.press(KeyCode::PageUp);
            d.press(KeyCode::Tab);
            d.press(KeyCode::Right);
            assert!(d.screen().contains("tiny"));
        },
    );
}

#[test]
fn a_one_row_session_that_scrolls_cannot_take_the_dashboard_down() {
    dash(
        Setup {
            home: "c",
            ..Setup::default()
        },
        |d| {
            d.homes.append(
                "c",
                SC_ROW,
                EventBody::Output {
                    data: "漢字 and more than fits\r\nx\x1b[999;999Hy\r\n\r\nz".into(),
                },
            );
            d.wait_until("the new output or its failure", |a| {
                a.state.live.as_ref().is_some_and(|l| {
                    l.error.is_some() || l.screen.content().iter().any(|c| c.symbol() == "z")
                })
            });
            // Whether the emulator copes or fails, the failure stays in the
            // Live View and the rest of the dashboard keeps working.
            d.keys("a");
            assert!(d.app.state.scope_all);
            assert!(d.screen().contains("1 Session"));
        },
    );
}

#[test]
fn a_failing_pane_shows_its_failure_and_the_rest_keeps_working() {
    dash(Setup::default(), |d| {
        d.keys("X");
        let screen = d.screen();
        assert!(screen.contains("Broken failed"), "{screen}");
        assert!(screen.contains("the broken pane cannot draw"), "{screen}");
        insta::assert_snapshot!("failing_pane", screen);
        d.press(KeyCode::Esc);
        assert!(d.app.state.overlay.is_none());
        d.keys("E!");
        let screen = d.screen();
        assert!(screen.contains("malformed value"), "{screen}");
        d.press(KeyCode::Esc);
        d.keys("j");
        assert_eq!(
            d.selected().as_deref(),
            Some(SA_BUILD),
            "the list still works"
        );
        d.keys("q");
        assert!(d.quit);
    });
}

#[test]
fn picker_with_preview_and_filter() {
    dash(Setup::default(), |d| {
        d.keys("H");
        insta::assert_snapshot!("picker", d.screen());
        d.keys("/homes/b");
        let screen = d.screen();
        assert!(
            screen.contains("tests"),
            "the preview lists B's Sessions:\n{screen}"
        );
        insta::assert_snapshot!("picker_filtered", screen);
        d.keys("q");
        assert!(!d.quit, "q is a letter while the filter has focus");
        d.press(KeyCode::Backspace);
        d.press(KeyCode::Enter);
        assert_eq!(d.app.state.home, d.homes.home("b"));
        assert_eq!(d.selected().as_deref(), Some(SB));
        let last = d.host.list_calls().last().cloned().unwrap();
        assert_eq!(last["reconcile"], true, "entering a Home reconciles it");
    });
}

#[test]
fn any_terminal_size_draws() {
    for size in [
        (1, 1),
        (2, 3),
        (10, 2),
        (20, 5),
        (400, 5),
        (40, 200),
        (1000, 1000),
    ] {
        dash(
            Setup {
                size,
                ..Setup::default()
            },
            |d| {
                for keys in ["", "?", "\u{1b}z", "z", "j\r"] {
                    d.keys(keys);
                    let _ = d.screen();
                }
            },
        );
    }
}

// ----- Behaviour -----------------------------------------------------------

#[test]
fn entering_the_starting_home_reconciles_once_and_refreshes_never_do() {
    dash(Setup::default(), |d| {
        d.send(Msg::Tick(now()));
        d.keys("a");
        let calls = d.host.list_calls();
        assert_eq!(
            calls[0],
            json!({"home": d.homes.home("a"), "all": false, "reconcile": true})
        );
        assert!(
            calls[1..].iter().all(|c| c["reconcile"] == false),
            "{calls:?}"
        );
    });
}

#[test]
fn a_in_the_picker_leaves_the_dashboards_scope_alone() {
    dash(Setup::default(), |d| {
        d.keys("Ha");
        assert!(d.screen().contains("all Homes (3)"));
        d.press(KeyCode::Esc);
        assert!(d.app.state.overlay.is_none());
        assert!(!d.app.state.scope_all, "Esc returns unchanged");
        d.keys("Hq");
        assert!(d.quit, "q quits from the picker");
        assert_eq!(d.host.log().last().unwrap(), "close home-picker #2");
    });
}

#[test]
fn an_ended_session_stays_selected_with_its_exit_then_collected() {
    dash(Setup::default(), |d| {
        assert_eq!(d.selected().as_deref(), Some(SA));
        d.homes.append(
            "a",
            SA,
            EventBody::Exit {
                exit_code: Some(3),
                exit_signal: None,
            },
        );
        d.host.ended.lock().unwrap().insert(SA.into());
        d.wait_until("the exit", |a| {
            a.state.live.as_ref().is_some_and(|l| l.exit.is_some())
        });
        d.send(Msg::Tick(now()));
        assert_eq!(d.selected().as_deref(), Some(SA), "still selected");
        let screen = d.screen();
        assert!(screen.contains("exited (3)"), "{screen}");
        assert!(screen.contains("1 Active Session"), "{screen}");
        std::fs::remove_dir_all(d.homes.session_dir("a", SA)).unwrap();
        d.wait_until("the collection", |a| {
            a.state.live.as_ref().is_some_and(|l| l.collected)
        });
        let screen = d.screen();
        insta::assert_snapshot!("collected", screen);
        d.keys("j");
        assert_eq!(d.selected().as_deref(), Some(SA_BUILD));
        d.keys("k");
        assert_eq!(d.selected().as_deref(), Some(SA_BUILD), "the pin is gone");
    });
}

#[rstest::rstest]
#[case("01JDB0000", Some(SB_OLD), true)]
#[case("01JDBB", Some(SB), false)]
#[case("01JDB", Some(SB), false)]
#[case("01JDZZ", Some(SB), false)]
#[case("tests", Some(SB), false)]
#[case("old", Some(SB_OLD), true)]
fn session_prefixes_select_and_widen_only_when_needed(
    #[case] prefix: &'static str,
    #[case] selected: Option<&str>,
    #[case] widened: bool,
) {
    dash(
        Setup {
            home: "b",
            session: Some(prefix),
            ..Setup::default()
        },
        |d| {
            assert_eq!(d.selected().as_deref(), selected);
            assert_eq!(d.app.state.scope_all, widened);
        },
    );
}

#[test]
fn all_at_start_lists_ended_sessions() {
    dash(
        Setup {
            home: "b",
            all: true,
            ..Setup::default()
        },
        |d| {
            assert!(d.app.state.scope_all);
            assert_eq!(d.app.state.rows().len(), 2);
            assert!(d.screen().contains("2 Sessions"));
        },
    );
}

#[test]
fn panning_moves_one_column_per_key() {
    dash(Setup::default(), |d| {
        d.press(KeyCode::Tab);
        d.press(KeyCode::Right);
        assert_eq!(d.app.state.pan, (1, 0));
        assert!(d.screen().contains("│otes.txt"), "{}", d.screen());
        d.press(KeyCode::Down);
        assert_eq!(d.app.state.pan, (1, 1));
    });
}

#[test]
fn a_home_deleted_under_the_dashboard_shows_where_it_matters() {
    dash(Setup::default(), |d| {
        std::fs::remove_dir_all(d.homes.home("a")).unwrap();
        d.send(Msg::Tick(now()));
        d.wait_until("the collection", |a| {
            a.state.live.as_ref().is_some_and(|l| l.collected)
        });
        let screen = d.screen();
        assert!(screen.contains("does not exist"), "{screen}");
        assert!(screen.contains("Event Log collected"), "{screen}");
        d.keys("Hj");
        d.press(KeyCode::Enter);
        assert_eq!(d.app.state.home, d.homes.home("b"), "another Home opens");
        assert!(d.live_text());
    });
}

#[test]
fn a_garbled_listing_shows_in_the_list() {
    dash(
        Setup {
            home: "garbage",
            ..Setup::default()
        },
        |d| {
            assert!(matches!(d.app.state.listing, Listing::Failed(_)));
            let screen = d.screen();
            assert!(screen.contains("unexpected listing"), "{screen}");
            d.keys("j?");
            assert!(d.app.state.help, "the rest keeps working");
        },
    );
}

#[test]
fn without_the_picker_plugin_h_explains_and_the_rest_works() {
    dash(
        Setup {
            picker: false,
            size: (80, 24),
            ..Setup::default()
        },
        |d| {
            d.keys("H");
            assert_eq!(
                d.footer(),
                " Home picker (dashboard-home-picker) not installed; see `agent-tty plugins`"
            );
            d.keys("E");
            assert!(d.screen().starts_with("Hello pane 80x23"));
            d.press(KeyCode::Esc);
            d.keys("q");
            assert!(d.quit);
        },
    );
}

#[test]
fn ctrl_c_and_signals_quit_and_close_an_open_pane() {
    dash(Setup::default(), |d| {
        d.keys("H/");
        d.send(Msg::Key(KeyEvent {
            code: KeyCode::Char('c'),
            ctrl: true,
            alt: false,
        }));
        assert!(d.quit);
        assert_eq!(d.host.log().last().unwrap(), "close home-picker #1");
    });
    dash(Setup::default(), |d| {
        d.send(Msg::Terminate);
        assert!(d.quit);
    });
}

/// Narrow footers drop whole hints, least important first, and never cut
/// one mid-word.
#[rstest::rstest]
#[case(
    140,
    " q quit  ? help  Tab focus  Enter maximise  j/k select  PgUp/PgDn history  z overview  a active/all  H Homes  A attach  E Hello  X Broken"
)]
#[case(
    80,
    " q quit  ? help  Tab focus  Enter maximise  j/k select  PgUp/PgDn history"
)]
#[case(30, " q quit  ? help  j/k select")]
#[case(12, " q quit")]
fn narrow_footers_drop_whole_hints(#[case] width: u16, #[case] expected: &str) {
    dash(Setup::default(), |d| {
        d.send(Msg::Resize(width, 24));
        assert_eq!(d.footer(), expected);
    });
}

#[test]
fn an_ended_session_reads_ended_in_its_row_and_count_before_any_listing_says_so() {
    dash(Setup::default(), |d| {
        d.homes.append(
            "a",
            SA,
            EventBody::Exit {
                exit_code: Some(7),
                exit_signal: None,
            },
        );
        d.wait_until("the exit", |a| {
            a.state.live.as_ref().is_some_and(|l| l.exit.is_some())
        });
        let row = |screen: &str| {
            screen
                .lines()
                .find(|l| l.contains(SA))
                .unwrap_or("")
                .to_owned()
        };
        let screen = d.screen();
        assert!(row(&screen).contains("exited (7)"), "{screen}");
        assert!(screen.contains("1 Active Session"), "{screen}");
        // The Active listing drops it (it ended); the row kept for the
        // person watching still says how it stands, however often it is
        // listed: ended, then destroyed.
        d.host.destroyed.lock().unwrap().insert(SA.into());
        for _ in 0..3 {
            d.send(Msg::Tick(now()));
        }
        let screen = d.screen();
        assert!(row(&screen).contains("destroyed"), "{screen}");
        assert!(!row(&screen).contains("running"), "{screen}");
        assert!(screen.contains("1 Active Session"), "{screen}");
        assert_eq!(d.selected().as_deref(), Some(SA), "still selected");
    });
}

#[test]
fn status_is_never_cut_while_command_has_room() {
    dash(
        Setup {
            size: (120, 30),
            home: "b",
            all: true,
            ..Setup::default()
        },
        |d| {
            if let Listing::Loaded(rows) = &mut d.app.state.listing {
                let old = rows.iter_mut().find(|r| r.session_id == SB_OLD).unwrap();
                old.status = "destroyed".into();
                old.exit_code = None;
                old.exit_signal = Some("SIGKILL".into());
            }
            let screen = d.screen();
            assert!(screen.contains("destroyed (SIGKILL)"), "{screen}");
            assert!(screen.contains("cargo test"), "{screen}");
        },
    );
}

#[test]
fn a_tall_sessions_live_view_opens_at_its_prompt() {
    dash(
        Setup {
            home: "d",
            ..Setup::default()
        },
        |d| {
            assert_eq!(d.selected().as_deref(), Some(SD_TALL));
            let screen = d.screen();
            assert!(screen.contains("row 995"), "{screen}");
            assert!(screen.contains("│$"), "the prompt: {screen}");
            assert!(!screen.contains("row 1 "), "{screen}");
            // Panning moves from there: up one row shows the row above.
            d.press(KeyCode::Tab);
            d.press(KeyCode::Up);
            assert!(d.screen().contains("row 994"));
        },
    );
}

#[test]
fn attach_asks_first_and_then_hands_the_selected_session_over() {
    dash(Setup::default(), |d| {
        let selected = d.app.state.selected_session().unwrap().clone();
        assert!(
            selected.is_active(),
            "the default Home lists a running Session first"
        );
        // `A` asks; anything but `y` changes nothing.
        let effects = d.app.update(Msg::Key(KeyEvent::plain(KeyCode::Char('A'))));
        assert!(effects.is_empty());
        let asked = d.app.state.message.clone().unwrap();
        assert!(
            asked.starts_with("Attach to ") && asked.ends_with("y/n"),
            "{asked}"
        );
        let effects = d.app.update(Msg::Key(KeyEvent::plain(KeyCode::Char('n'))));
        assert!(effects.is_empty());
        assert_eq!(d.app.state.message.as_deref(), Some("Not attached."));
        // `A` then `y`: the runtime is asked to attach to the selected Session.
        d.app.update(Msg::Key(KeyEvent::plain(KeyCode::Char('A'))));
        let effects = d.app.update(Msg::Key(KeyEvent::plain(KeyCode::Char('y'))));
        assert_eq!(
            effects,
            vec![agent_tty_dashboard::app::Effect::Attach {
                home: d.app.state.home.clone(),
                session_id: selected.session_id.clone(),
            }]
        );
        // Back from attach: a note, and the listing refreshed.
        let effects = d
            .app
            .update(Msg::Attached(Err("SESSION_CONTROLLED: taken".into())));
        assert!(matches!(
            effects.as_slice(),
            [agent_tty_dashboard::app::Effect::List(_)]
        ));
        assert_eq!(
            d.app.state.message.as_deref(),
            Some("could not attach: SESSION_CONTROLLED: taken")
        );
    });
}

/// A listing answer for `App::update`, from the fake host's rows.
fn listed(home: &str, all: bool, rows: &[Value]) -> Msg {
    Msg::Listed {
        home: home.into(),
        all,
        result: Ok(rows
            .iter()
            .map(|r| serde_json::from_value(r.clone()).unwrap())
            .collect()),
    }
}

/// `--session` moves from "select" to "probe all Sessions" and back to
/// nothing, one listing at a time: a probe that fails says why in the
/// footer and leaves the scope alone, one that finds an ended Session
/// widens it, and a later listing of all Sessions selects nothing again.
#[rstest::rstest]
#[case::probe_fails(None, false, "could not look for Session old: the disk is gone")]
#[case::probe_finds(Some(SB_OLD), true, "q quit")]
fn a_session_probe_ends_in_one_step(
    #[case] found: Option<&str>,
    #[case] widened: bool,
    #[case] footer: &str,
) {
    use agent_tty_dashboard::app::{Effect, ListRequest};
    let home = "/nowhere/b";
    let mut app = App::new(
        Options {
            home: home.into(),
            session: Some("old".into()),
            all: false,
        },
        Vec::new(),
        (100, 12),
        now(),
    );
    let running = row(SB, "tests", "running", "cargo test");
    let old = row(SB_OLD, "old", "exited", "true");
    let probe = Effect::List(ListRequest {
        home: home.into(),
        all: true,
        reconcile: false,
    });
    assert_eq!(
        app.update(listed(home, false, std::slice::from_ref(&running))),
        [probe]
    );
    assert!(!app.state.scope_all, "not widened before the probe answers");
    let answer = match found {
        Some(_) => listed(home, true, &[running.clone(), old.clone()]),
        None => Msg::Listed {
            home: home.into(),
            all: true,
            result: Err("the disk is gone".into()),
        },
    };
    app.update(answer);
    assert_eq!(app.state.scope_all, widened);
    assert_eq!(
        app.state.selected_session().map(|r| r.session_id.as_str()),
        Some(found.unwrap_or(SB))
    );
    let screen = draw(&app.state);
    assert!(screen.lines().last().unwrap().contains(footer), "{screen}");
    // The probe is over: a listing of all Sessions is now only a refresh,
    // never another search that moves the selection back to "old".
    let at = |app: &App, id: &str| app.state.rows().iter().position(|r| r.session_id == id);
    app.state.selected = at(&app, SB).unwrap();
    let effects = app.update(listed(home, true, &[old, running]));
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::List(_))),
        "{effects:?}"
    );
    assert_eq!(
        app.state.selected_session().map(|r| r.session_id.as_str()),
        Some(SB)
    );
    assert_eq!(app.state.scope_all, widened);
}

/// Keys go to what holds the keyboard: the attach question takes the next
/// key whatever it is (`q` included), an open pane takes `j`, and only
/// then does the key table move the Session list.
#[test]
fn keys_go_to_what_holds_the_keyboard() {
    dash(Setup::default(), |d| {
        d.keys("A");
        assert!(d.footer().contains("Attach to editor?"), "{}", d.footer());
        d.keys("q");
        assert!(!d.quit, "q answered the question instead of quitting");
        assert!(d.footer().contains("Not attached."), "{}", d.footer());
        d.keys("E");
        d.keys("j");
        assert_eq!(d.selected().as_deref(), Some(SA), "the pane took j");
        assert!(
            d.host
                .log()
                .iter()
                .any(|l| l.starts_with("key hello") && l.ends_with("Char('j')")),
            "{:?}",
            d.host.log()
        );
        d.press(KeyCode::Esc);
        d.keys("j");
        assert_eq!(d.selected().as_deref(), Some(SA_BUILD));
        assert!(
            !d.footer().contains("Not attached."),
            "a key clears the note"
        );
    });
}
