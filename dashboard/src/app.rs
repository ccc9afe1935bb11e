//! The dashboard as a state machine: keys and worker results in, state
//! changes and [`Effect`]s out.
//!
//! Nothing here touches a terminal, a thread or a file. [`App::update`] is a
//! plain function of the current state and one [`Msg`]; the runtime carries
//! out the effects it returns (listing on a worker, following an Event Log,
//! talking to a plugin pane) and feeds their results back as messages. Tests
//! drive it directly.

use crate::host::{PaneInfo, HOME_PICKER_PLUGIN};
use crate::keys::{Action, KeyContext, KeyTable};
use crate::live::{FollowTarget, LiveSnapshot};
use crate::session::SessionRow;
use agent_tty_plugin_api::{KeyEvent, PaneAction, PaneContext, PaneFrame};
use std::path::Path;
use std::time::SystemTime;

/// Which half of the main view receives movement keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The Session list.
    Sessions,
    /// The Live View.
    LiveView,
}

/// The Session list of the current Home.
#[derive(Debug, Clone, PartialEq)]
pub enum Listing {
    /// The first listing of this Home has not come back yet.
    Loading,
    /// The Sessions in scope, newest first.
    Loaded(Vec<SessionRow>),
    /// Listing failed; the sentence says why and what to do.
    Failed(String),
}

/// A plugin pane shown over the whole dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlay {
    /// Which pane.
    pub pane: PaneInfo,
    /// Its instance number (unique for the dashboard's lifetime).
    pub instance: u64,
    /// Its latest drawing; `None` until the first one arrives.
    pub frame: Option<PaneFrame>,
}

/// Everything the dashboard shows. Rendering is a pure function of this.
#[derive(Debug, Clone)]
pub struct State {
    /// The canonical path of the Home being observed.
    pub home: String,
    /// `true`: all Sessions (and Homes in the picker); `false`: Active only.
    pub scope_all: bool,
    /// The Home's Sessions.
    pub listing: Listing,
    /// Index of the selected Session in the listing.
    pub selected: usize,
    /// Where movement keys go.
    pub focus: Focus,
    /// The Live View fills the screen.
    pub maximised: bool,
    /// The latest picture of the selected Session.
    pub live: Option<LiveSnapshot>,
    /// How far the Live View is panned (columns, rows).
    pub pan: (u16, u16),
    /// A plugin pane on top of everything, if one is open.
    pub overlay: Option<Overlay>,
    /// A one-line note in the footer (errors, "not installed", …).
    pub message: Option<String>,
    /// The terminal's size (columns, rows).
    pub size: (u16, u16),
    /// The clock used for ages, refreshed on every tick.
    pub now: SystemTime,
    /// The key table; also the footer's source.
    pub keys: KeyTable,
}

impl State {
    /// The selected Session, if the listing has one.
    pub fn selected_session(&self) -> Option<&SessionRow> {
        match &self.listing {
            Listing::Loaded(rows) => rows.get(self.selected),
            _ => None,
        }
    }

    /// What the key table needs to know about the state.
    pub fn key_context(&self) -> KeyContext {
        KeyContext {
            live_focused: self.focus == Focus::LiveView,
            maximised: self.maximised,
        }
    }

    /// The area a full-screen pane gets: everything but the footer line.
    pub fn pane_size(&self) -> (u16, u16) {
        (self.size.0, self.size.1.saturating_sub(1))
    }
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// A key was pressed.
    Key(KeyEvent),
    /// The terminal is now this size (columns, rows).
    Resize(u16, u16),
    /// Time passed: refresh the listing and the ages.
    Tick(SystemTime),
    /// A listing came back.
    Listed {
        /// The Home it lists.
        home: String,
        /// The scope it was asked for.
        all: bool,
        /// The Sessions, or why listing failed.
        result: Result<Vec<SessionRow>, String>,
    },
    /// The Live View worker has a new picture.
    Live(LiveSnapshot),
    /// A pane drew itself.
    PaneDrawn {
        /// The pane instance.
        instance: u64,
        /// Its frame, or why it could not draw.
        result: Result<PaneFrame, String>,
    },
    /// A pane answered a key.
    PaneAnswered {
        /// The pane instance.
        instance: u64,
        /// What it asks for, or why it failed.
        result: Result<PaneAction, String>,
    },
    /// A signal asked the dashboard to end.
    Terminate,
}

/// Work for the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// List a Home's Sessions through `sessions.list`.
    List(ListRequest),
    /// Follow this Session in the Live View (`None`: stop).
    Follow(Option<FollowTarget>),
    /// Call the plugin pane shown in the overlay.
    Pane(PaneCall),
    /// Leave the dashboard.
    Quit,
}

/// A `sessions.list` call: which Home, in which scope.
#[derive(Debug, Clone, PartialEq)]
pub struct ListRequest {
    /// Canonical Home path.
    pub home: String,
    /// All Sessions, not only Active ones.
    pub all: bool,
    /// Reconcile first: only when entering a Home.
    pub reconcile: bool,
}

/// A call to a plugin pane. The runtime makes them in order on one worker,
/// so keys reach a pane in the order typed.
#[derive(Debug, Clone, PartialEq)]
pub enum PaneCall {
    /// Open a pane and draw it.
    Open {
        /// Which pane.
        pane: PaneInfo,
        /// The new instance.
        instance: u64,
        /// What the pane is told.
        context: PaneContext,
        /// Size to draw at.
        size: (u16, u16),
    },
    /// Deliver a key, then redraw at this size.
    Key {
        /// Which pane.
        pane: PaneInfo,
        /// The instance.
        instance: u64,
        /// The key.
        key: KeyEvent,
        /// Size to redraw at.
        size: (u16, u16),
    },
    /// Redraw a pane at a new size.
    Render {
        /// Which pane.
        pane: PaneInfo,
        /// The instance.
        instance: u64,
        /// Size to draw at.
        size: (u16, u16),
    },
    /// Drop a pane instance.
    Close {
        /// Which pane.
        pane: PaneInfo,
        /// The instance.
        instance: u64,
    },
}

/// How the dashboard starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The canonical path of the Home to open on.
    pub home: String,
    /// A Session to select at start (`--session`).
    pub session: Option<String>,
}

/// The dashboard: its state plus what it needs to decide effects.
pub struct App {
    /// What is shown.
    pub state: State,
    panes: Vec<PaneInfo>,
    following: Option<String>,
    want_session: Option<String>,
    next_instance: u64,
}

impl App {
    /// A dashboard on `options.home`, with these plugin panes, at this size.
    pub fn new(options: Options, panes: Vec<PaneInfo>, size: (u16, u16), now: SystemTime) -> Self {
        App {
            state: State {
                home: options.home,
                scope_all: false,
                listing: Listing::Loading,
                selected: 0,
                focus: Focus::Sessions,
                maximised: false,
                live: None,
                pan: (0, 0),
                overlay: None,
                message: None,
                size,
                now,
                keys: KeyTable::new(&panes),
            },
            panes,
            following: None,
            want_session: options.session,
            next_instance: 1,
        }
    }

    /// The first effects: entering the starting Home reconciles it, exactly
    /// as `list` does.
    pub fn start(&self) -> Vec<Effect> {
        vec![self.list(true)]
    }

    fn list(&self, reconcile: bool) -> Effect {
        self.list_in(self.state.scope_all, reconcile)
    }

    /// A listing of the current Home in a given scope, which may differ from
    /// the one shown (see [`App::on_probe`]).
    fn list_in(&self, all: bool, reconcile: bool) -> Effect {
        Effect::List(ListRequest {
            home: self.state.home.clone(),
            all,
            reconcile,
        })
    }

    /// Applies one message.
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(key) => self.on_key(key),
            Msg::Resize(cols, rows) => {
                self.state.size = (cols, rows);
                match &self.state.overlay {
                    Some(o) => vec![Effect::Pane(PaneCall::Render {
                        pane: o.pane.clone(),
                        instance: o.instance,
                        size: self.state.pane_size(),
                    })],
                    None => Vec::new(),
                }
            }
            Msg::Tick(now) => {
                self.state.now = now;
                vec![self.list(false)]
            }
            Msg::Listed { home, all, result } => self.on_listed(home, all, result),
            Msg::Live(snapshot) => {
                if self.following.as_deref() == Some(snapshot.session_id.as_str()) {
                    self.state.live = Some(snapshot);
                }
                Vec::new()
            }
            Msg::PaneDrawn { instance, result } => {
                match (&mut self.state.overlay, result) {
                    (Some(o), Ok(frame)) if o.instance == instance => o.frame = Some(frame),
                    (Some(o), Err(e)) if o.instance == instance => {
                        self.state.message = Some(format!("{}: {e}", o.pane.spec.title));
                    }
                    _ => {}
                }
                Vec::new()
            }
            Msg::PaneAnswered { instance, result } => self.on_pane_answer(instance, result),
            Msg::Terminate => self.quit(),
        }
    }

    fn quit(&mut self) -> Vec<Effect> {
        let mut effects = self.close_overlay();
        effects.push(Effect::Quit);
        effects
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if let Some(o) = &self.state.overlay {
            // A pane holds the keyboard; only Ctrl-C escapes it.
            if key.ctrl && key.code == agent_tty_plugin_api::KeyCode::Char('c') {
                return self.quit();
            }
            return vec![Effect::Pane(PaneCall::Key {
                pane: o.pane.clone(),
                instance: o.instance,
                key,
                size: self.state.pane_size(),
            })];
        }
        let Some(action) = self.state.keys.action(&key, self.state.key_context()) else {
            return Vec::new();
        };
        self.state.message = None;
        let s = &mut self.state;
        match action {
            Action::Quit => return self.quit(),
            Action::FocusNext => {
                s.focus = match s.focus {
                    Focus::Sessions => Focus::LiveView,
                    Focus::LiveView => Focus::Sessions,
                };
                if s.maximised {
                    s.maximised = false;
                }
            }
            Action::ToggleMaximise => s.maximised = !s.maximised,
            Action::Restore => s.maximised = false,
            Action::ToggleScope => {
                s.scope_all = !s.scope_all;
                return vec![self.list(false)];
            }
            Action::SelectNext | Action::SelectPrevious => {
                let len = match &s.listing {
                    Listing::Loaded(rows) => rows.len(),
                    _ => 0,
                };
                if len > 0 {
                    s.selected = if action == Action::SelectNext {
                        (s.selected + 1).min(len - 1)
                    } else {
                        s.selected.saturating_sub(1)
                    };
                }
                return self.follow_selected();
            }
            Action::Pan(dx, dy) => {
                s.pan.0 = s.pan.0.saturating_add_signed(i16::from(dx));
                s.pan.1 = s.pan.1.saturating_add_signed(i16::from(dy));
                if let Some(live) = &s.live {
                    s.pan.0 = s.pan.0.min(live.screen.area.width.saturating_sub(1));
                    s.pan.1 = s.pan.1.min(live.screen.area.height.saturating_sub(1));
                }
            }
            Action::OpenHomePicker => {
                return match self.panes.iter().position(PaneInfo::is_home_picker) {
                    Some(index) => self.open_pane(index),
                    None => {
                        // Short enough for an 80-column footer.
                        self.state.message = Some(format!(
                            "Home picker ({HOME_PICKER_PLUGIN}) not installed; \
                             see `agent-tty plugins`"
                        ));
                        Vec::new()
                    }
                };
            }
            Action::OpenPane(index) => return self.open_pane(index),
        }
        Vec::new()
    }

    fn open_pane(&mut self, index: usize) -> Vec<Effect> {
        let pane = self.panes[index].clone();
        let instance = self.next_instance;
        self.next_instance += 1;
        self.state.overlay = Some(Overlay {
            pane: pane.clone(),
            instance,
            frame: None,
        });
        vec![Effect::Pane(PaneCall::Open {
            pane,
            instance,
            context: PaneContext {
                current_home: self.state.home.clone(),
                scope_all: self.state.scope_all,
            },
            size: self.state.pane_size(),
        })]
    }

    fn close_overlay(&mut self) -> Vec<Effect> {
        match self.state.overlay.take() {
            Some(o) => vec![Effect::Pane(PaneCall::Close {
                pane: o.pane,
                instance: o.instance,
            })],
            None => Vec::new(),
        }
    }

    fn on_pane_answer(&mut self, instance: u64, result: Result<PaneAction, String>) -> Vec<Effect> {
        let Some(o) = &self.state.overlay else {
            return Vec::new();
        };
        if o.instance != instance {
            return Vec::new();
        }
        match result {
            Ok(PaneAction::None | PaneAction::Unsupported) => Vec::new(),
            Ok(PaneAction::Close) => self.close_overlay(),
            Ok(PaneAction::SetScope { all }) => {
                self.state.scope_all = all;
                vec![self.list(false)]
            }
            Ok(PaneAction::SwitchHome { home }) => {
                let mut effects = self.close_overlay();
                if home != self.state.home {
                    self.state.home = home;
                    self.state.listing = Listing::Loading;
                    self.state.selected = 0;
                    self.state.pan = (0, 0);
                    self.state.live = None;
                    self.following = None;
                    effects.push(Effect::Follow(None));
                }
                // Entering a Home reconciles it, exactly as `list` does.
                effects.push(self.list(true));
                effects
            }
            Err(e) => {
                let title = o.pane.spec.title.clone();
                let effects = self.close_overlay();
                self.state.message = Some(format!("{title}: {e}"));
                effects
            }
        }
    }

    fn on_listed(
        &mut self,
        home: String,
        all: bool,
        result: Result<Vec<SessionRow>, String>,
    ) -> Vec<Effect> {
        if home != self.state.home {
            return Vec::new(); // an answer about a Home no longer shown
        }
        if all != self.state.scope_all {
            if all && self.want_session.is_some() {
                return self.on_probe(result);
            }
            return Vec::new(); // an answer to a question no longer asked
        }
        let rows = match result {
            Ok(rows) => rows,
            Err(e) => {
                self.state.listing = Listing::Failed(e);
                return Vec::new();
            }
        };
        let keep = self.state.selected_session().map(|r| r.session_id.clone());
        let wanted = self.want_session.clone().or(keep);
        self.state.selected = wanted
            .as_ref()
            .and_then(|id| rows.iter().position(|r| &r.session_id == id))
            .unwrap_or_else(|| self.state.selected.min(rows.len().saturating_sub(1)));
        if let Some(id) = self.want_session.take() {
            if !rows.iter().any(|r| r.session_id == id) {
                if !self.state.scope_all {
                    // An ended Session is only listed under "all". Ask
                    // whether it is there before widening the scope, so an
                    // id that is in no listing leaves the scope alone.
                    self.want_session = Some(id);
                    self.state.listing = Listing::Loaded(rows);
                    return vec![self.list_in(true, false)];
                }
                self.state.message = Some(no_such_session(&id));
            }
        }
        self.state.listing = Listing::Loaded(rows);
        self.follow_selected()
    }

    /// The answer to the "all" listing asked for when `--session` named a
    /// Session the Active listing does not hold: widen the scope only when
    /// the Session is there (it has ended), otherwise say it is not.
    fn on_probe(&mut self, result: Result<Vec<SessionRow>, String>) -> Vec<Effect> {
        let Some(id) = self.want_session.take() else {
            return Vec::new();
        };
        match result {
            Ok(rows) if rows.iter().any(|r| r.session_id == id) => {
                self.want_session = Some(id);
                self.state.scope_all = true;
                self.on_listed(self.state.home.clone(), true, Ok(rows))
            }
            Ok(_) => {
                self.state.message = Some(no_such_session(&id));
                self.follow_selected()
            }
            Err(e) => {
                self.state.message = Some(format!("could not look for Session {id}: {e}"));
                self.follow_selected()
            }
        }
    }

    fn follow_selected(&mut self) -> Vec<Effect> {
        let target = self
            .state
            .selected_session()
            .map(|r| r.session_id.clone())
            .and_then(|id| {
                let dir =
                    agent_tty_core::home::session_dir(Path::new(&self.state.home), &id).ok()?;
                Some(FollowTarget {
                    session_id: id,
                    session_dir: dir,
                })
            });
        let id = target.as_ref().map(|t| t.session_id.clone());
        if id == self.following {
            return Vec::new();
        }
        self.following = id;
        self.state.live = None;
        self.state.pan = (0, 0);
        vec![Effect::Follow(target)]
    }
}

/// The footer note for a `--session` id that is in no listing of the Home.
fn no_such_session(id: &str) -> String {
    format!("no Session {id} in this Home")
}
