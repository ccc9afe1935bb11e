//! The dashboard as a state machine: keys and worker results in, state
//! changes and [`Effect`]s out.
//!
//! Nothing here touches a terminal, a thread or a file. [`App::update`] is a
//! plain function of the current state and one [`Msg`]; the runtime carries
//! out the effects it returns (listing on a worker, following an Event Log,
//! talking to a plugin pane) and feeds their results back as messages. Tests
//! drive it directly.

use crate::host::{PaneInfo, HOME_PICKER_PLUGIN};
use crate::keys::{Action, KeyContext, KeyTable, View};
use crate::live::{FollowPlan, FollowTarget, HistoryPos, LiveCommand, LiveSnapshot};
use crate::session::SessionRow;
use agent_tty_plugin_api::{KeyCode, KeyEvent, PaneAction, PaneContext, PaneFrame};
use std::collections::BTreeMap;
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
    /// Why the pane failed (an error answer, a panic, garbage), shown in
    /// the pane itself; the rest of the dashboard keeps working.
    pub error: Option<String>,
}

impl Overlay {
    /// The pane has a text field with focus: printable keys are its own.
    pub fn text_input(&self) -> bool {
        self.error.is_none() && self.frame.as_ref().is_some_and(|f| f.text_input)
    }
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
    /// Why the latest refresh failed, while the previous listing is kept.
    pub list_error: Option<String>,
    /// Index of the selected Session in the listing.
    pub selected: usize,
    /// Where movement keys go.
    pub focus: Focus,
    /// The Live View fills the screen.
    pub maximised: bool,
    /// Every Session of the scope is shown as a tile.
    pub overview: bool,
    /// The help overlay is up.
    pub help: bool,
    /// The latest picture of the selected Session.
    pub live: Option<LiveSnapshot>,
    /// The latest pictures of the other Sessions, for the overview's tiles.
    pub tiles: BTreeMap<String, LiveSnapshot>,
    /// The overview's selected tile (an index into the listing).
    pub tile: usize,
    /// The selected Session left the listing (it ended, or `gc` collected
    /// it) and is kept in the list until another is selected.
    pub pinned: Option<String>,
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
    /// The Session `A` asked to attach to, waiting for `y`.
    pub confirm_attach: Option<String>,
}

impl State {
    /// The selected Session, if the listing has one.
    pub fn selected_session(&self) -> Option<&SessionRow> {
        match &self.listing {
            Listing::Loaded(rows) => rows.get(self.selected),
            _ => None,
        }
    }

    /// The Sessions listed (empty while loading or after a failure).
    pub fn rows(&self) -> &[SessionRow] {
        match &self.listing {
            Listing::Loaded(rows) => rows,
            _ => &[],
        }
    }

    /// The view that is up.
    pub fn view(&self) -> View {
        if self.help {
            View::Help
        } else if self.overview {
            View::Overview
        } else if self.maximised {
            View::Maximised
        } else {
            View::Main
        }
    }

    /// The Live View shows history rather than the live screen.
    pub fn paused(&self) -> bool {
        self.live
            .as_ref()
            .is_some_and(|l| l.history != HistoryPos::Following)
    }

    /// What the key table needs to know about the state.
    pub fn key_context(&self) -> KeyContext {
        KeyContext {
            view: self.view(),
            live_focused: self.focus == Focus::LiveView,
            paused: self.paused(),
        }
    }

    /// Whether the list sits beside the Live View (wide terminals) rather
    /// than above it.
    pub fn side_by_side(&self) -> bool {
        self.size.0 >= SIDE_BY_SIDE_COLS
    }

    /// The overview's grid: tiles per row, for a terminal this wide.
    pub fn tiles_per_row(&self) -> usize {
        usize::from(self.size.0 / TILE_MIN_COLS).max(1)
    }

    /// The overview's grid in an area `height` rows tall: the selected
    /// tile's grid row is always among those shown.
    pub fn overview_grid(&self, height: u16) -> OverviewGrid {
        let per_row = self.tiles_per_row();
        let grid_rows = self.rows().len().div_ceil(per_row);
        let tile_height = (height / grid_rows.max(1) as u16).max(TILE_MIN_ROWS);
        let fit = usize::from((height / tile_height).max(1));
        let first_row = (self.tile / per_row + 1).saturating_sub(fit);
        OverviewGrid {
            per_row,
            tile_height,
            first_row,
            fit,
        }
    }

    /// The listing rows whose tiles the overview shows now (its area is the
    /// terminal less the header and footer lines). Only these are followed:
    /// a Home of 100,000 Sessions costs a screenful of replays, not 100,000.
    pub fn visible_tiles(&self) -> std::ops::Range<usize> {
        let grid = self.overview_grid(self.size.1.saturating_sub(2));
        let first = grid.first_row * grid.per_row;
        let len = self.rows().len();
        first.min(len)..(first + grid.fit * grid.per_row).min(len)
    }

    /// The area a full-screen pane gets: everything but the footer line.
    pub fn pane_size(&self) -> (u16, u16) {
        (self.size.0, self.size.1.saturating_sub(1))
    }
}

/// From this many columns on, the Session list sits beside the Live View.
pub const SIDE_BY_SIDE_COLS: u16 = 140;

/// The overview's tiles are at least this wide.
pub const TILE_MIN_COLS: u16 = 40;

/// Tiles are at least this tall (borders and three rows of screen).
pub const TILE_MIN_ROWS: u16 = 5;

/// Where the overview's tiles go ([`State::overview_grid`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverviewGrid {
    /// Tiles per grid row.
    pub per_row: usize,
    /// Each tile's height.
    pub tile_height: u16,
    /// The first grid row shown.
    pub first_row: usize,
    /// How many grid rows are shown.
    pub fit: usize,
}

/// Lines the mouse wheel scrolls the history per notch.
pub const WHEEL_LINES: i64 = 3;

/// Something that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// A key was pressed.
    Key(KeyEvent),
    /// The mouse wheel turned: positive is up (into history).
    Wheel(i8),
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
    /// `attach` handed the terminal back (or could not start: why).
    Attached(Result<(), String>),
}

/// Work for the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// List a Home's Sessions through `sessions.list`.
    List(ListRequest),
    /// Tell the Live View worker what to follow or where to scroll.
    Live(LiveCommand),
    /// Call the plugin pane shown in the overlay.
    Pane(PaneCall),
    /// Leave the dashboard.
    Quit,
    /// Hand the terminal to `attach` for a Session; the runtime does it
    /// (it owns the terminal) and answers [`Msg::Attached`].
    Attach {
        /// The Home's canonical path.
        home: String,
        /// The Session to take over.
        session_id: String,
    },
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
    /// A Session to select at start (`--session`): its id or the start of
    /// it.
    pub session: Option<String>,
    /// Start with all Sessions rather than the Active ones (`--all`).
    pub all: bool,
}

/// The dashboard: its state plus what it needs to decide effects.
pub struct App {
    /// What is shown.
    pub state: State,
    panes: Vec<PaneInfo>,
    following: Option<FollowPlan>,
    wanted: Wanted,
    next_instance: u64,
}

impl App {
    /// A dashboard on `options.home`, with these plugin panes, at this size.
    pub fn new(options: Options, panes: Vec<PaneInfo>, size: (u16, u16), now: SystemTime) -> Self {
        App {
            state: State {
                home: options.home,
                scope_all: options.all,
                listing: Listing::Loading,
                list_error: None,
                selected: 0,
                focus: Focus::Sessions,
                maximised: false,
                overview: false,
                help: false,
                live: None,
                tiles: BTreeMap::new(),
                tile: 0,
                pinned: None,
                pan: (0, 0),
                overlay: None,
                message: None,
                size,
                now,
                keys: KeyTable::new(&panes),
                confirm_attach: None,
            },
            panes,
            following: None,
            wanted: options.session.map_or(Wanted::Nothing, Wanted::Select),
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
            Msg::Wheel(notches) => {
                let shown = matches!(self.state.view(), View::Main | View::Maximised);
                if self.state.overlay.is_some() || !shown {
                    return Vec::new();
                }
                vec![Effect::Live(LiveCommand::Scroll(
                    i64::from(notches) * WHEEL_LINES,
                ))]
            }
            Msg::Resize(cols, rows) => {
                self.state.size = (cols, rows);
                match &self.state.overlay {
                    Some(o) => vec![Effect::Pane(PaneCall::Render {
                        pane: o.pane.clone(),
                        instance: o.instance,
                        size: self.state.pane_size(),
                    })],
                    // A new size may show other tiles.
                    None => self.follow_selected(),
                }
            }
            Msg::Tick(now) => {
                self.state.now = now;
                let mut effects = vec![self.list(false)];
                // A row kept after its Session left the Active listing: the
                // listing of all Sessions says how it stands now (`destroyed`
                // after `destroy`, gone after `gc`).
                if self.state.pinned.is_some() && !self.state.scope_all {
                    effects.push(self.list_in(true, false));
                }
                effects
            }
            Msg::Listed { home, all, result } => self.on_listed(home, all, result),
            Msg::Live(snapshot) => {
                self.on_live(snapshot);
                Vec::new()
            }
            Msg::PaneDrawn { instance, result } => {
                match (&mut self.state.overlay, result) {
                    (Some(o), Ok(frame)) if o.instance == instance => o.frame = Some(frame),
                    (Some(o), Err(e)) if o.instance == instance => o.error = Some(e),
                    _ => {}
                }
                Vec::new()
            }
            Msg::PaneAnswered { instance, result } => self.on_pane_answer(instance, result),
            Msg::Terminate => self.quit(),
            Msg::Attached(outcome) => {
                self.state.message = Some(match outcome {
                    Ok(()) => "Detached; back in the dashboard.".to_owned(),
                    Err(why) => format!("could not attach: {why}"),
                });
                vec![self.list(false)]
            }
        }
    }

    fn quit(&mut self) -> Vec<Effect> {
        let mut effects = self.close_overlay();
        effects.push(Effect::Quit);
        effects
    }

    /// A key goes to whatever holds the keyboard ([`KeyFocus`]): the
    /// attach question, a plugin pane, or the dashboard, whose key table
    /// picks the action for the view and focus that are up; each action is
    /// handled by the part of the dashboard it moves.
    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        match self.key_focus() {
            KeyFocus::ConfirmAttach => self.on_confirm_key(key),
            KeyFocus::Pane => self.on_pane_key(key),
            KeyFocus::Dashboard => {
                let Some(action) = self.state.keys.action(&key, self.state.key_context()) else {
                    return Vec::new();
                };
                self.state.message = None;
                match action {
                    Action::SelectNext | Action::SelectPrevious => self.on_list_action(action),
                    Action::Pan(..) | Action::HistoryPage(_) | Action::ToLive => {
                        self.on_live_action(action)
                    }
                    Action::ToggleOverview | Action::MoveTile(..) | Action::OpenTile => {
                        self.on_overview_action(action)
                    }
                    _ => self.on_view_action(action),
                }
            }
        }
    }

    /// Who receives the next key.
    fn key_focus(&self) -> KeyFocus {
        if self.state.confirm_attach.is_some() {
            KeyFocus::ConfirmAttach
        } else if self.state.overlay.is_some() {
            KeyFocus::Pane
        } else {
            KeyFocus::Dashboard
        }
    }

    /// `A` asked first: `y` attaches, anything else changes nothing.
    fn on_confirm_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(session_id) = self.state.confirm_attach.take() else {
            return Vec::new();
        };
        if !key.ctrl && !key.alt && key.code == KeyCode::Char('y') {
            self.state.message = None;
            return vec![Effect::Attach {
                home: self.state.home.clone(),
                session_id,
            }];
        }
        self.state.message = Some("Not attached.".to_owned());
        Vec::new()
    }

    /// A pane holds the keyboard, but `q` quits from every view unless the
    /// pane's text field has focus, and Ctrl-C always.
    fn on_pane_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(o) = &self.state.overlay else {
            return Vec::new();
        };
        let ctrl_c = key.ctrl && key.code == KeyCode::Char('c');
        let q = !key.ctrl && !key.alt && key.code == KeyCode::Char('q');
        if ctrl_c || (q && !o.text_input()) {
            return self.quit();
        }
        if o.error.is_some() {
            // A failed pane cannot take keys; Esc closes it.
            return match key.code {
                KeyCode::Esc => self.close_overlay(),
                _ => Vec::new(),
            };
        }
        vec![Effect::Pane(PaneCall::Key {
            pane: o.pane.clone(),
            instance: o.instance,
            key,
            size: self.state.pane_size(),
        })]
    }

    /// The Session list: move the selection.
    fn on_list_action(&mut self, action: Action) -> Vec<Effect> {
        let s = &mut self.state;
        let len = s.rows().len();
        if len > 0 {
            s.selected = if action == Action::SelectNext {
                (s.selected + 1).min(len - 1)
            } else {
                s.selected.saturating_sub(1)
            };
        }
        self.unpin_unless_selected();
        self.follow_selected()
    }

    /// The Live View: pan, page through history, back to live.
    fn on_live_action(&mut self, action: Action) -> Vec<Effect> {
        let s = &mut self.state;
        match action {
            Action::Pan(dx, dy) => {
                s.pan.0 = s.pan.0.saturating_add_signed(i16::from(dx));
                s.pan.1 = s.pan.1.saturating_add_signed(i16::from(dy));
                if let Some(live) = &s.live {
                    s.pan.0 = s.pan.0.min(live.screen.area.width.saturating_sub(1));
                    s.pan.1 = s.pan.1.min(live.screen.area.height.saturating_sub(1));
                }
                Vec::new()
            }
            Action::HistoryPage(pages) => {
                let page = s
                    .live
                    .as_ref()
                    .map_or(1, |l| i64::from(l.screen.area.height.max(2) - 1));
                vec![Effect::Live(LiveCommand::Scroll(i64::from(pages) * page))]
            }
            Action::ToLive => vec![Effect::Live(LiveCommand::ToLive)],
            _ => Vec::new(),
        }
    }

    /// The overview: in and out of it, move between tiles, open one.
    fn on_overview_action(&mut self, action: Action) -> Vec<Effect> {
        let s = &mut self.state;
        match action {
            Action::ToggleOverview => {
                s.overview = !s.overview;
                s.pan = (0, 0);
                s.tile = s.selected;
                self.follow_selected()
            }
            Action::MoveTile(dx, dy) => {
                let len = s.rows().len();
                if len > 0 {
                    let per_row = s.tiles_per_row() as isize;
                    let step = isize::from(dx) + isize::from(dy) * per_row;
                    let tile = s.tile as isize + step;
                    s.tile = tile.clamp(0, len as isize - 1) as usize;
                }
                // The grid may have scrolled to other tiles.
                self.follow_selected()
            }
            Action::OpenTile if s.tile < s.rows().len() => {
                s.selected = s.tile;
                s.overview = false;
                s.focus = Focus::LiveView;
                self.unpin_unless_selected();
                self.follow_selected()
            }
            _ => Vec::new(),
        }
    }

    /// Everything else: leaving, help, focus and layout, the scope, panes
    /// and `attach`.
    fn on_view_action(&mut self, action: Action) -> Vec<Effect> {
        let s = &mut self.state;
        match action {
            Action::Quit => return self.quit(),
            Action::Help => s.help = true,
            Action::CloseHelp => s.help = false,
            Action::FocusNext => {
                s.focus = match s.focus {
                    Focus::Sessions => Focus::LiveView,
                    Focus::LiveView => Focus::Sessions,
                };
            }
            Action::Maximise => {
                if s.selected_session().is_some() {
                    s.maximised = true;
                }
            }
            Action::Restore => s.maximised = false,
            Action::ToggleScope => {
                s.scope_all = !s.scope_all;
                return vec![self.list(false)];
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
            Action::Attach => {
                let selected = s
                    .selected_session()
                    .map(|r| (r.is_active(), printable_id(r), r.session_id.clone()));
                match selected {
                    Some((true, shown, id)) => {
                        s.message = Some(format!(
                            "Attach to {shown}? You take it over read-write (agents are \
                             refused until you detach with Ctrl+\\). y/n"
                        ));
                        s.confirm_attach = Some(id);
                    }
                    Some((false, shown, _)) => {
                        s.message = Some(format!(
                            "Session {shown} has ended; there is nothing to attach to."
                        ))
                    }
                    None => s.message = Some("No Session selected.".to_owned()),
                }
            }
            Action::SelectNext
            | Action::SelectPrevious
            | Action::Pan(..)
            | Action::HistoryPage(_)
            | Action::ToLive
            | Action::ToggleOverview
            | Action::MoveTile(..)
            | Action::OpenTile => {}
        }
        Vec::new()
    }

    /// Routes a picture to the Live View or to its tile, and brings the
    /// Session's row up to date with how it ended: the Event Log's `exit`
    /// is news the next listing may not carry (an ended Session leaves the
    /// Active listing, and its row is then kept as it was last listed).
    fn on_live(&mut self, snapshot: LiveSnapshot) {
        let Some(plan) = &self.following else { return };
        let id = snapshot.session_id.as_str();
        if let (Some(exit), Listing::Loaded(rows)) = (&snapshot.exit, &mut self.state.listing) {
            if let Some(row) = rows.iter_mut().find(|r| r.session_id == id) {
                ended(row, exit);
            }
        }
        if plan.main.as_ref().is_some_and(|t| t.session_id == id) {
            // The first picture of a newly shown Session: open the view at
            // its prompt (panning moves from there).
            if self.state.live.is_none() && self.state.pan == (0, 0) {
                self.state.pan.1 = crate::render::opening_row(&self.state, &snapshot);
            }
            self.state.live = Some(snapshot);
        } else if plan.tiles.iter().any(|t| t.session_id == id) {
            self.state
                .tiles
                .insert(snapshot.session_id.clone(), snapshot);
        }
    }

    /// Brings the pinned row up to date from a listing of all Sessions
    /// (one it is no longer in was collected: it stays as it was, and the
    /// Live View says so).
    fn refresh_pinned(&mut self, result: Result<Vec<SessionRow>, String>) {
        let (Some(id), Ok(all), Listing::Loaded(rows)) =
            (&self.state.pinned, result, &mut self.state.listing)
        else {
            return;
        };
        let fresh = all.into_iter().find(|r| &r.session_id == id);
        if let (Some(fresh), Some(row)) = (fresh, rows.iter_mut().find(|r| &r.session_id == id)) {
            if !fresh.is_active() {
                *row = fresh;
            }
        }
    }

    /// Forgets a pinned row once another Session is selected.
    fn unpin_unless_selected(&mut self) {
        let Some(pinned) = self.state.pinned.clone() else {
            return;
        };
        let selected = self.state.selected_session().map(|r| r.session_id.clone());
        if selected.as_deref() != Some(pinned.as_str()) {
            self.state.pinned = None;
            if let Listing::Loaded(rows) = &mut self.state.listing {
                rows.retain(|r| r.session_id != pinned);
                if let Some(id) = selected {
                    self.state.selected = rows.iter().position(|r| r.session_id == id).unwrap_or(0);
                }
            }
        }
    }

    fn open_pane(&mut self, index: usize) -> Vec<Effect> {
        let pane = self.panes[index].clone();
        let instance = self.next_instance;
        self.next_instance += 1;
        self.state.overlay = Some(Overlay {
            pane: pane.clone(),
            instance,
            frame: None,
            error: None,
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
                    self.state.list_error = None;
                    self.state.selected = 0;
                    self.state.pan = (0, 0);
                    self.state.live = None;
                    self.state.tiles.clear();
                    self.state.pinned = None;
                    self.state.tile = 0;
                    self.following = Some(FollowPlan::default());
                    effects.push(Effect::Live(LiveCommand::Follow(FollowPlan::default())));
                }
                // Entering a Home reconciles it, exactly as `list` does.
                effects.push(self.list(true));
                effects
            }
            Err(e) => {
                // The failure shows in the pane that failed; Esc closes it.
                if let Some(o) = &mut self.state.overlay {
                    o.error = Some(e);
                }
                Vec::new()
            }
        }
    }

    /// A listing came back: one of the shown scope is shown, one of all
    /// Sessions while the Active ones are shown either answers a `--session`
    /// probe or refreshes the pinned row. Each path ends here: neither
    /// handler calls back into this one.
    fn on_listed(
        &mut self,
        home: String,
        all: bool,
        result: Result<Vec<SessionRow>, String>,
    ) -> Vec<Effect> {
        if home != self.state.home {
            return Vec::new(); // an answer about a Home no longer shown
        }
        if all == self.state.scope_all {
            return self.show_listing(result);
        }
        if !all {
            return Vec::new(); // nothing asks for the Active scope while all are shown
        }
        match std::mem::take(&mut self.wanted) {
            Wanted::Probe(prefix) => self.on_probe(prefix, result),
            wanted => {
                self.wanted = wanted;
                self.refresh_pinned(result);
                Vec::new()
            }
        }
    }

    /// Shows a listing of the scope shown, selecting what `--session` asked
    /// for once it is there.
    fn show_listing(&mut self, result: Result<Vec<SessionRow>, String>) -> Vec<Effect> {
        let mut rows = match result {
            Ok(rows) => rows,
            // A refresh that fails keeps the Sessions already shown (the
            // Live View goes on with the selected one) and says why.
            Err(e) if matches!(self.state.listing, Listing::Loaded(_)) => {
                self.state.list_error = Some(e);
                return Vec::new();
            }
            Err(e) => {
                self.state.listing = Listing::Failed(e);
                return Vec::new();
            }
        };
        self.state.list_error = None;
        let keep = self.state.selected_session().cloned();
        // The selected Session stays selected when it leaves the listing
        // (it ended and the scope is Active, or `gc` collected it): the
        // person was looking at it and wants to see how it ended.
        if let Some(row) = &keep {
            let wanted = self.wanted != Wanted::Nothing;
            if !wanted && !rows.iter().any(|r| r.session_id == row.session_id) {
                let at = self.state.selected.min(rows.len());
                let mut row = row.clone();
                // It left the listing because it ended: say how, as the
                // Live View (which read its `exit`) already does.
                if let Some(exit) = self
                    .state
                    .live
                    .as_ref()
                    .filter(|l| l.session_id == row.session_id)
                    .and_then(|l| l.exit.as_ref())
                {
                    ended(&mut row, exit);
                }
                rows.insert(at, row.clone());
                self.state.pinned = Some(row.session_id.clone());
            } else if self.state.pinned.as_deref() == Some(row.session_id.as_str()) {
                self.state.pinned = None;
            }
        }
        match std::mem::take(&mut self.wanted) {
            Wanted::Select(prefix) | Wanted::Probe(prefix) => match matching(&rows, &prefix) {
                Match::One(index) => self.state.selected = index,
                Match::Many(n) => {
                    self.state.message = Some(format!(
                        "{n} Sessions start with {prefix}; give more of the id"
                    ));
                }
                Match::None if !self.state.scope_all => {
                    // An ended Session is only listed under "all". Ask
                    // whether it is there before widening the scope, so an
                    // id that is in no listing leaves the scope alone.
                    self.wanted = Wanted::Probe(prefix);
                    self.state.listing = Listing::Loaded(rows);
                    return vec![self.list_in(true, false)];
                }
                Match::None => self.state.message = Some(no_such_session(&prefix)),
            },
            Wanted::Nothing => {
                let keep = keep.map(|r| r.session_id);
                self.state.selected = keep
                    .and_then(|id| rows.iter().position(|r| r.session_id == id))
                    .unwrap_or_else(|| self.state.selected.min(rows.len().saturating_sub(1)));
            }
        }
        self.state.tile = self.state.tile.min(rows.len().saturating_sub(1));
        self.state.listing = Listing::Loaded(rows);
        self.follow_selected()
    }

    /// The answer to the "all" listing asked for when `--session` named a
    /// Session the Active listing does not hold: widen the scope only when
    /// the Session is there (it has ended), otherwise say it is not.
    fn on_probe(&mut self, prefix: String, result: Result<Vec<SessionRow>, String>) -> Vec<Effect> {
        match result {
            Ok(rows) if !matches!(matching(&rows, &prefix), Match::None) => {
                self.wanted = Wanted::Select(prefix);
                self.state.scope_all = true;
                self.show_listing(Ok(rows))
            }
            Ok(_) => {
                self.state.message = Some(no_such_session(&prefix));
                self.follow_selected()
            }
            Err(e) => {
                self.state.message = Some(format!("could not look for Session {prefix}: {e}"));
                self.follow_selected()
            }
        }
    }

    /// Tells the Live View worker what to follow when that changed: the
    /// selected Session, and in the overview the other Sessions whose tiles
    /// are visible ([`State::visible_tiles`]).
    fn follow_selected(&mut self) -> Vec<Effect> {
        let home = Path::new(&self.state.home);
        let target = |id: &str| {
            let dir = agent_tty_core::home::session_dir(home, id).ok()?;
            Some(FollowTarget {
                session_id: id.to_owned(),
                session_dir: dir,
            })
        };
        let main = self
            .state
            .selected_session()
            .and_then(|r| target(&r.session_id));
        let tiles = if self.state.overview {
            self.state.rows()[self.state.visible_tiles()]
                .iter()
                .filter(|r| Some(&r.session_id) != main.as_ref().map(|t| &t.session_id))
                .filter_map(|r| target(&r.session_id))
                .collect()
        } else {
            Vec::new()
        };
        let plan = FollowPlan { main, tiles };
        if self.following.as_ref() == Some(&plan) {
            return Vec::new();
        }
        let main_changed = self.following.as_ref().map(|p| &p.main) != Some(&plan.main);
        if main_changed {
            self.state.live = None;
            self.state.pan = (0, 0);
        }
        self.state
            .tiles
            .retain(|id, _| plan.tiles.iter().any(|t| &t.session_id == id));
        self.following = Some(plan.clone());
        vec![Effect::Live(LiveCommand::Follow(plan))]
    }
}

/// Who receives a key: the first of these that is up holds the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyFocus {
    /// `A` asked "attach? y/n".
    ConfirmAttach,
    /// A plugin pane is open over the dashboard.
    Pane,
    /// The dashboard's own views, through the key table.
    Dashboard,
}

/// Where a `--session` selection stands. The listings move it on:
/// `Select` until the shown scope's listing holds the Session, `Probe` while
/// a listing of all Sessions is asked whether it has ended, `Nothing` once
/// it is selected or reported missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Wanted {
    /// Nothing to select.
    #[default]
    Nothing,
    /// Select the Session this id (or its start, or a name) means when the
    /// shown scope's listing comes back.
    Select(String),
    /// The Active listing does not hold it: a listing of all Sessions was
    /// asked for, to see whether it ended.
    Probe(String),
}

/// How a `--session` prefix matched a listing.
enum Match {
    None,
    One(usize),
    Many(usize),
}

/// Finds the Session a `--session` value means: the exact id, else the one
/// id that starts with it.
/// A row still listed as Active whose Event Log recorded its `exit`: it
/// has exited, however long the listing takes to say so.
fn ended(row: &mut SessionRow, exit: &agent_tty_core::screen::ExitInfo) {
    if row.is_active() {
        row.status = "exited".into();
        row.exit_code = exit.exit_code;
        row.exit_signal = exit.exit_signal.clone();
    }
}

fn matching(rows: &[SessionRow], prefix: &str) -> Match {
    if let Some(i) = rows.iter().position(|r| r.session_id == prefix) {
        return Match::One(i);
    }
    let hits: Vec<usize> = rows
        .iter()
        .enumerate()
        // As on the command line (`core::session_ref`): a prefix of the
        // id, or the name the Session was created with.
        .filter(|(_, r)| r.session_id.starts_with(prefix) || r.name.as_deref() == Some(prefix))
        .map(|(i, _)| i)
        .collect();
    match hits.as_slice() {
        [] => Match::None,
        [one] => Match::One(*one),
        many => Match::Many(many.len()),
    }
}

/// The footer note for a `--session` id that is in no listing of the Home.
fn no_such_session(id: &str) -> String {
    format!("no Session {id} in this Home")
}

/// A Session's name or id, safe to show.
fn printable_id(row: &SessionRow) -> String {
    agent_tty_core::text::escape(row.name.as_deref().unwrap_or(&row.session_id)).into_owned()
}
