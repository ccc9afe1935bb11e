//! The Live View: follow Sessions' Event Logs and turn their replayed
//! screens into cells.
//!
//! A worker thread owns one [`EventLogFollower`] and one [`ScreenReplay`] per
//! followed Session: the one the Live View shows (the *main* Session, which
//! also keeps history for PgUp/PgDn) and, in the overview, every other
//! Session of the scope as a tile. It reads only what was appended since its
//! last look (the follower keeps the offset and a torn last line), so a
//! 50 MB log is read once, chunk by chunk, and then followed in constant
//! memory. After a change it publishes a [`LiveSnapshot`]: the screen as a
//! ratatui [`Buffer`] at the Session's own size. The drawing thread only
//! ever copies cells out of the latest snapshot; it never parses, never
//! blocks on the file, and no Session is ever asked for anything.
//!
//! The worker learns about appends from file change notification (inotify
//! on Linux, through the `notify` crate) on each followed Session's
//! directory, so an idle dashboard sleeps. Where notification is not
//! available (or `AGENT_TTY_DASHBOARD_WATCH=poll` asks for it) it falls back
//! to checking every [`POLL_INTERVAL`]. Either way a Session whose `exit`
//! event was seen is no longer checked: its log cannot grow.
//!
//! Nothing read here can end the dashboard: a replay that fails or panics
//! (a torn, huge or foreign Event Log, an emulator bug) turns into an error
//! shown in that Session's view, and the worker goes on with the others.

use crate::guard::catching;
use agent_tty_core::event_log::EventLogFollower;
use agent_tty_core::layout::SessionDir;
use agent_tty_core::manifest::read_manifest;
use agent_tty_core::screen::{ExitInfo, ScreenReplay};
use agent_tty_term::cells::{Cell, CellColor, CellRows, CellWidth};
use notify::Watcher;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// How often a shown, still-running Session's Event Log is checked for
/// appends when file change notification is not available (0.5 checks
/// every 33 ms).
pub const POLL_INTERVAL: Duration = Duration::from_millis(33);

/// With notification on, how often the logs are checked anyway, in case a
/// notification was lost (a Session directory replaced under the watch).
/// One `stat` per followed Session.
pub const SAFETY_INTERVAL: Duration = Duration::from_secs(5);

/// The most history cells (columns × lines) kept for the main Session: 10,000
/// lines at 200 columns, fewer lines for wider Sessions, so a 1000-column
/// Session cannot make the dashboard allocate without bound.
pub const HISTORY_CELLS: usize = 2_000_000;

/// The most history lines kept for the main Session.
pub const HISTORY_LINES: usize = 10_000;

/// A big Event Log is replayed this many bytes at a time, and the worker
/// looks at its commands between steps: a long replay never keeps it from
/// a new plan or from stopping (`q` quits at once, ADR 0015).
pub const REPLAY_STEP: u64 = 2 * 1024 * 1024;

/// At most this many snapshots a second per Session: a Session printing
/// as fast as it can is redrawn at a steady rate, not once per chunk.
const MIN_PUBLISH_GAP: Duration = Duration::from_millis(16);

/// The environment variable that chooses how appends are noticed:
/// `poll` forces polling; anything else (or unset) uses notification where
/// the platform has it.
pub const WATCH_ENV: &str = "AGENT_TTY_DASHBOARD_WATCH";

/// Which Session a view shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowTarget {
    /// Its id.
    pub session_id: String,
    /// Its directory, `<home>/sessions/<id>`.
    pub session_dir: PathBuf,
}

/// What the worker follows: the Live View's Session (with history) and the
/// overview's tiles (visible screen only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowPlan {
    /// The Session shown in the Live View.
    pub main: Option<FollowTarget>,
    /// Further Sessions shown as overview tiles.
    pub tiles: Vec<FollowTarget>,
}

/// A command to the Live View worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveCommand {
    /// Follow these Sessions from now on.
    Follow(FollowPlan),
    /// Move the main Session's view this many lines into history
    /// (positive: back, older) or towards the live screen (negative).
    Scroll(i64),
    /// Show the main Session's live screen again (`G`, End).
    ToLive,
    /// A followed file changed (sent by the watcher).
    Wake,
    /// End the worker. (The watcher holds a sender of the worker's own
    /// channel, so the channel closing alone cannot end it.)
    Stop,
}

/// Where the Live View is in the Session's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HistoryPos {
    /// Showing the live screen, following new output.
    #[default]
    Following,
    /// Scrolled back: the top row shown is line `line` (1-based) of `total`
    /// lines kept (history plus the screen); new output does not move it.
    Paused {
        /// The first line shown.
        line: usize,
        /// Lines kept, history and screen together.
        total: usize,
        /// How many lines back from the live screen.
        offset: usize,
    },
}

/// The Live View's picture of a Session at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSnapshot {
    /// Which Session.
    pub session_id: String,
    /// The screen shown (the live one, or a page of history) at the
    /// Session's own size.
    pub screen: Buffer,
    /// Where the Session's cursor is, when it is shown (never in history).
    pub cursor: Option<(u16, u16)>,
    /// How it ended, once its `exit` event was replayed.
    pub exit: Option<ExitInfo>,
    /// Why the Event Log could not be read or replayed, if it could not.
    pub error: Option<String>,
    /// A full-screen program has the alternate screen up.
    pub alt_screen: bool,
    /// Live or paused in history.
    pub history: HistoryPos,
    /// The Session's directory is gone: `gc` collected its Event Log.
    pub collected: bool,
}

impl LiveSnapshot {
    /// An empty picture for a Session (nothing read yet).
    pub fn empty(session_id: &str) -> Self {
        LiveSnapshot {
            session_id: session_id.to_owned(),
            screen: Buffer::empty(Rect::ZERO),
            cursor: None,
            exit: None,
            error: None,
            alt_screen: false,
            history: HistoryPos::Following,
            collected: false,
        }
    }

    /// The snapshot of a replay as it stands (the live screen).
    pub fn of_replay(session_id: &str, replay: &ScreenReplay) -> Self {
        let (row, col) = replay.cursor();
        LiveSnapshot {
            screen: cells_to_buffer(&replay.visible_cells()),
            cursor: replay.cursor_visible().then_some((col, row)),
            exit: replay.exit().cloned(),
            alt_screen: replay.is_alt_screen(),
            ..LiveSnapshot::empty(session_id)
        }
    }
}

/// Copies rows of cells into a buffer of the same size, cell by cell. Rows
/// of uneven length are padded, so any input makes a rectangular buffer.
pub fn cells_to_buffer(rows: &CellRows) -> Buffer {
    let height = u16::try_from(rows.len()).unwrap_or(u16::MAX);
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width = u16::try_from(width).unwrap_or(u16::MAX);
    let mut buffer = Buffer::empty(Rect::new(0, 0, width, height));
    for (y, row) in rows.iter().take(usize::from(height)).enumerate() {
        for (x, cell) in row.iter().take(usize::from(width)).enumerate() {
            if cell.width == CellWidth::WideSpacer {
                continue;
            }
            let target = &mut buffer[(x as u16, y as u16)];
            let shown = unjoined(&cell.text);
            if !shown.is_empty() {
                target.set_symbol(&shown);
            }
            target.set_style(cell_style(cell));
        }
    }
    buffer
}

/// A cell's text without the characters that make a terminal join it with
/// its neighbours or widen it: the zero-width joiner (`👨‍👩‍👧` is three
/// wide cells to the emulator, one glyph to a terminal that sees the
/// joiners) and the emoji presentation selector (`❤️`, one cell here, two
/// on many terminals). Either would make the terminal's columns disagree
/// with the cells ratatui believes it wrote, leaving an earlier frame's
/// letters on screen. `snapshot` keeps them: this is only how they are drawn.
fn unjoined(text: &str) -> std::borrow::Cow<'_, str> {
    const JOINING: [char; 2] = ['\u{200d}', '\u{fe0f}'];
    if text.contains(JOINING) {
        text.replace(JOINING, "").into()
    } else {
        text.into()
    }
}

/// Rows of plain text (a remote's polled screen) as a buffer, one cell per
/// character; control characters become spaces.
fn text_to_buffer(rows: &[String]) -> Buffer {
    let width = rows.iter().map(|r| r.chars().count()).max().unwrap_or(0);
    let area = Rect::new(0, 0, width.min(1000) as u16, rows.len().min(1000) as u16);
    let mut buffer = Buffer::empty(area);
    for (y, row) in rows.iter().enumerate().take(area.height as usize) {
        for (x, c) in row.chars().enumerate().take(area.width as usize) {
            let c = if c.is_control() { ' ' } else { c };
            buffer[(x as u16, y as u16)].set_char(c);
        }
    }
    buffer
}

fn cell_style(cell: &Cell) -> Style {
    let mut style = Style::default().fg(color(cell.fg)).bg(color(cell.bg));
    let flags = [
        (cell.bold, Modifier::BOLD),
        (cell.dim, Modifier::DIM),
        (cell.italic, Modifier::ITALIC),
        (cell.underline, Modifier::UNDERLINED),
        (cell.inverse, Modifier::REVERSED),
        (cell.strikethrough, Modifier::CROSSED_OUT),
    ];
    for (on, modifier) in flags {
        if on {
            style = style.add_modifier(modifier);
        }
    }
    style
}

fn color(c: CellColor) -> Color {
    match c {
        CellColor::Default => Color::Reset,
        CellColor::Indexed { index } => Color::Indexed(index),
        CellColor::Rgb { r, g, b } => Color::Rgb(r, g, b),
    }
}

/// How many history lines to keep for a Session this many columns wide.
fn history_lines(cols: u16) -> usize {
    (HISTORY_CELLS / usize::from(cols.max(1))).clamp(100, HISTORY_LINES)
}

/// One followed Session: the follower, its replay, and where its view is.
struct Followed {
    target: FollowTarget,
    with_history: bool,
    follower: EventLogFollower,
    replay: Option<ScreenReplay>,
    log: PathBuf,
    error: Option<String>,
    /// The replay panicked: it is not tried again (it would panic again).
    broken: bool,
    collected: bool,
    /// Lines back from the live screen (0: following).
    offset: usize,
    /// History length when `offset` was last set, to hold the view still
    /// while new output arrives.
    scrollback_at_offset: usize,
    last_publish: Option<Instant>,
    dirty: bool,
    watched: bool,
    /// The last step of the replay stopped before the end of the log.
    behind: bool,
    /// A Session on another machine: what its feed sends replaces the file.
    remote: Option<crate::remote::RemoteFeed>,
    /// A remote without `follow`: the last screen it sent, as text.
    remote_screen: Option<Vec<String>>,
    remote_ended: bool,
}

impl Followed {
    fn new(target: FollowTarget, with_history: bool) -> Self {
        let log = SessionDir::new(&target.session_dir).event_log();
        Followed {
            follower: EventLogFollower::new(&log),
            replay: None,
            log,
            error: None,
            broken: false,
            collected: false,
            offset: 0,
            scrollback_at_offset: 0,
            last_publish: None,
            dirty: true,
            watched: false,
            behind: false,
            remote: crate::remote::follow(&target.session_dir),
            remote_screen: None,
            remote_ended: false,
            target,
            with_history,
        }
    }

    /// Takes what a remote Session's feed sent; whether the picture changed.
    fn poll_remote(&mut self) -> bool {
        use crate::remote::FeedItem;
        let Some(feed) = &self.remote else {
            return false;
        };
        let mut changed = false;
        for item in feed.items.try_iter() {
            changed = true;
            match item {
                FeedItem::Manifest(m) => {
                    let cols = m.creation_cols.unwrap_or(m.cols);
                    let lines = if self.with_history {
                        history_lines(cols)
                    } else {
                        0
                    };
                    self.replay = Some(ScreenReplay::for_manifest_with_scrollback(&m, lines));
                }
                FeedItem::Event(e) => {
                    if let Some(r) = self.replay.as_mut() {
                        r.apply(&e);
                    }
                }
                FeedItem::Screen(rows) => self.remote_screen = Some(rows),
                FeedItem::Ended => self.remote_ended = true,
                FeedItem::Error(e) => self.error = Some(e),
            }
        }
        changed
    }

    /// Reads what was appended; returns whether the picture changed. Never
    /// panics: a panic in reading or replaying becomes the view's error.
    fn poll(&mut self) -> bool {
        if self.broken {
            self.behind = false;
            return false;
        }
        match catching(|| self.poll_inner()) {
            Ok(changed) => changed,
            Err(message) => {
                self.broken = true;
                self.replay = None;
                self.error = Some(format!(
                    "this Session's Event Log cannot be shown: {message}"
                ));
                true
            }
        }
    }

    fn poll_inner(&mut self) -> bool {
        if self.remote.is_some() {
            return self.poll_remote();
        }
        let gone = !self.target.session_dir.exists();
        if gone != self.collected {
            self.collected = gone;
            return true;
        }
        if gone {
            return false;
        }
        if self.replay.is_none() {
            // The manifest gives the size the Session was created at; later
            // `resize` events in the log change it. Reading it writes nothing.
            match read_manifest(&self.target.session_dir) {
                Ok(m) => {
                    let cols = m.creation_cols.unwrap_or(m.cols);
                    let lines = if self.with_history {
                        history_lines(cols)
                    } else {
                        0
                    };
                    self.replay = Some(ScreenReplay::for_manifest_with_scrollback(&m, lines));
                }
                Err(e) => {
                    let message = e.to_string();
                    let changed = self.error.as_ref() != Some(&message);
                    self.error = Some(message);
                    return changed;
                }
            }
        }
        let grown = std::fs::metadata(&self.log)
            .map(|m| m.len() > self.follower.offset())
            .unwrap_or(false);
        if !grown && self.error.is_none() {
            return false;
        }
        let Some(replay) = self.replay.as_mut() else {
            return false;
        };
        let stepped = replay.catch_up_up_to(&mut self.follower, REPLAY_STEP);
        self.behind =
            std::fs::metadata(&self.log).is_ok_and(|m| m.len() > self.follower.bytes_read());
        match stepped {
            Ok(n) => {
                let changed = n > 0 || self.error.is_some();
                self.error = None;
                changed
            }
            Err(e) => {
                self.error = Some(e.to_string());
                true
            }
        }
    }

    fn ended(&self) -> bool {
        self.broken
            || self.collected
            || self.remote_ended
            || self.replay.as_ref().is_some_and(|r| r.exit().is_some())
    }

    /// Moves the view `lines` into history (negative: towards live).
    fn scroll(&mut self, lines: i64) -> bool {
        let Some(replay) = self.replay.as_mut() else {
            return false;
        };
        if !self.with_history {
            return false;
        }
        let Ok(len) = catching(|| replay.scrollback_len()) else {
            return false;
        };
        let wanted = if lines >= 0 {
            self.offset.saturating_add(lines as usize)
        } else {
            self.offset.saturating_sub(lines.unsigned_abs() as usize)
        };
        let offset = wanted.min(len);
        let changed = offset != self.offset;
        self.offset = offset;
        self.scrollback_at_offset = len;
        changed
    }

    fn return_to_live(&mut self) -> bool {
        let changed = self.offset != 0;
        self.offset = 0;
        changed
    }

    fn snapshot(&mut self) -> LiveSnapshot {
        let id = self.target.session_id.clone();
        let mut snap = match self.replay.as_mut() {
            Some(replay) => {
                let offset = &mut self.offset;
                let at = &mut self.scrollback_at_offset;
                catching(|| snapshot_of(&id, replay, offset, at)).unwrap_or_else(|e| LiveSnapshot {
                    error: Some(format!("this Session's screen cannot be shown: {e}")),
                    ..LiveSnapshot::empty(&id)
                })
            }
            None => match &self.remote_screen {
                Some(rows) => LiveSnapshot {
                    screen: text_to_buffer(rows),
                    ..LiveSnapshot::empty(&id)
                },
                None => LiveSnapshot::empty(&id),
            },
        };
        if snap.error.is_none() {
            snap.error = self.error.clone();
        }
        snap.collected = self.collected;
        snap
    }
}

/// The picture of a replay, holding a paused view on the same lines while
/// new output pushes more lines into history.
fn snapshot_of(
    id: &str,
    replay: &mut ScreenReplay,
    offset: &mut usize,
    scrollback_at_offset: &mut usize,
) -> LiveSnapshot {
    if *offset == 0 || replay.is_alt_screen() {
        return LiveSnapshot::of_replay(id, replay);
    }
    let len = replay.scrollback_len();
    if len > *scrollback_at_offset {
        *offset += len - *scrollback_at_offset;
    }
    *offset = (*offset).min(len);
    *scrollback_at_offset = len;
    let rows = replay.cells_scrolled_back(*offset);
    let screen_rows = rows.len();
    LiveSnapshot {
        screen: cells_to_buffer(&rows),
        cursor: None,
        exit: replay.exit().cloned(),
        alt_screen: false,
        history: HistoryPos::Paused {
            line: len - *offset + 1,
            total: len + screen_rows,
            offset: *offset,
        },
        ..LiveSnapshot::empty(id)
    }
}

/// Whether file change notification is wanted (see [`WATCH_ENV`]).
pub fn notification_wanted() -> bool {
    std::env::var(WATCH_ENV).map_or(true, |v| v != "poll")
}

/// The Live View worker: follows whatever the last [`LiveCommand::Follow`]
/// named and hands every changed picture to `publish`. `wake` is a sender
/// for its own command channel, through which the file watcher wakes it.
/// After each batch of commands it calls `handled` with how many commands
/// (other than wakes) it carried out, once their pictures are published.
/// Returns on [`LiveCommand::Stop`] or when the command channel closes.
pub fn follow_worker(
    commands: Receiver<LiveCommand>,
    wake: Sender<LiveCommand>,
    publish: impl Fn(LiveSnapshot),
    handled: impl Fn(usize),
) {
    let mut watcher = if notification_wanted() {
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // Opening and reading files (this worker's own reads among
            // them) are access events; only a change is worth a look.
            match event {
                Ok(e) if !matches!(e.kind, notify::EventKind::Access(_)) => {
                    let _ = wake.send(LiveCommand::Wake);
                }
                _ => {}
            }
        })
        .ok()
    } else {
        drop(wake);
        None
    };
    let mut followed: BTreeMap<String, Followed> = BTreeMap::new();
    let mut main: Option<String> = None;
    loop {
        let (mut any, mut unwatched, mut dirty, mut behind) = (false, false, false, false);
        for f in followed.values() {
            dirty |= f.dirty;
            behind |= f.behind;
            if !f.ended() {
                any = true;
                unwatched |= !f.watched;
            }
        }
        let timeout = match (any, unwatched, dirty) {
            // Mid-replay: only a look at the commands between steps.
            _ if behind => Some(Duration::ZERO),
            (_, _, true) => Some(MIN_PUBLISH_GAP),
            (false, _, _) => None,
            (true, true, _) => Some(POLL_INTERVAL),
            (true, false, _) => Some(SAFETY_INTERVAL),
        };
        let first = match timeout {
            Some(t) => match commands.recv_timeout(t) {
                Ok(cmd) => Some(cmd),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            },
            None => match commands.recv() {
                Ok(cmd) => Some(cmd),
                Err(_) => return,
            },
        };
        // Everything already waiting is handled before looking at the files.
        let mut pending: Vec<LiveCommand> = first.into_iter().collect();
        pending.extend(commands.try_iter());
        let mut look = timeout.is_some() && pending.is_empty();
        let count = pending.iter().filter(|c| **c != LiveCommand::Wake).count();
        for cmd in pending {
            match cmd {
                LiveCommand::Stop => return,
                LiveCommand::Wake => look = true,
                LiveCommand::Follow(plan) => {
                    main = plan.main.as_ref().map(|t| t.session_id.clone());
                    replan(&mut followed, plan, watcher.as_mut());
                    look = true;
                }
                LiveCommand::Scroll(lines) => {
                    if let Some(f) = main.as_ref().and_then(|id| followed.get_mut(id)) {
                        f.dirty |= f.scroll(lines);
                        // A key wants its frame now, not after the gap.
                        f.last_publish = None;
                    }
                }
                LiveCommand::ToLive => {
                    if let Some(f) = main.as_ref().and_then(|id| followed.get_mut(id)) {
                        f.dirty |= f.return_to_live();
                        f.last_publish = None;
                    }
                }
            }
        }
        let now = Instant::now();
        for f in followed.values_mut() {
            if look || f.replay.is_none() || f.behind {
                f.dirty |= f.poll();
            }
            let due = f
                .last_publish
                .is_none_or(|t| now.duration_since(t) >= MIN_PUBLISH_GAP);
            if f.dirty && due {
                f.dirty = false;
                f.last_publish = Some(now);
                publish(f.snapshot());
            }
        }
        if count > 0 {
            handled(count);
        }
    }
}

/// Starts following the Sessions `plan` names that are not followed yet and
/// stops following the rest. A Session that moves between main and tile
/// is read afresh (the main one keeps history, tiles do not).
fn replan(
    followed: &mut BTreeMap<String, Followed>,
    plan: FollowPlan,
    mut watcher: Option<&mut notify::RecommendedWatcher>,
) {
    let mut wanted: BTreeMap<String, (FollowTarget, bool)> = BTreeMap::new();
    for t in plan.tiles {
        wanted.insert(t.session_id.clone(), (t, false));
    }
    if let Some(t) = plan.main {
        wanted.insert(t.session_id.clone(), (t, true));
    }
    followed.retain(|id, f| {
        let keep = wanted
            .get(id)
            .is_some_and(|(t, history)| *t == f.target && *history == f.with_history);
        if !keep && f.watched {
            if let Some(w) = watcher.as_deref_mut() {
                let _ = w.unwatch(&f.target.session_dir);
            }
        }
        keep
    });
    for (id, (target, history)) in wanted {
        if followed.contains_key(&id) {
            continue;
        }
        let mut f = Followed::new(target, history);
        if let Some(w) = watcher.as_deref_mut() {
            f.watched = w
                .watch(&f.target.session_dir, notify::RecursiveMode::NonRecursive)
                .is_ok();
        }
        followed.insert(id, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_tty_core::event_log::{EventBody, EventLogWriter};
    use agent_tty_core::manifest::{write_manifest, Manifest, Status};
    use std::sync::mpsc;

    const ID: &str = "01JD0000000000000000000000";

    fn manifest(cols: u16, rows: u16) -> Manifest {
        Manifest {
            version: 1,
            session_id: ID.into(),
            created_at: "2026-11-24T03:50:02.677Z".into(),
            updated_at: "2026-11-24T03:50:02.677Z".into(),
            status: Status::Running,
            failure_reason: None,
            failure_origin: None,
            command: vec!["sh".into()],
            cwd: "/".into(),
            name: None,
            shell: None,
            term: None,
            env: None,
            cols,
            rows,
            creation_cols: None,
            creation_rows: None,
            idle_timeout_ms: None,
            host_pid: None,
            child_pid: None,
            exit_code: None,
            exit_signal: None,
        }
    }

    fn session(dir: &std::path::Path) -> EventLogWriter {
        write_manifest(dir, &manifest(20, 4)).unwrap();
        EventLogWriter::open(dir).unwrap()
    }

    fn text(b: &Buffer) -> Vec<String> {
        (0..b.area.height)
            .map(|y| {
                (0..b.area.width)
                    .map(|x| b[(x, y)].symbol())
                    .collect::<String>()
                    .trim_end()
                    .to_owned()
            })
            .collect()
    }

    fn output(data: &str) -> agent_tty_core::event_log::Event {
        agent_tty_core::event_log::Event {
            seq: 0,
            ts: String::new(),
            body: EventBody::Output { data: data.into() },
        }
    }

    #[test]
    fn a_zwj_emoji_is_drawn_cell_by_cell_with_nothing_a_terminal_would_join() {
        let mut r = ScreenReplay::new(12, 1);
        r.apply(&output(
            "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}x\u{2764}\u{fe0f}y",
        ));
        let b = LiveSnapshot::of_replay(ID, &r).screen;
        // The emulator gives each emoji two cells. A joiner left in a cell
        // would make the real terminal draw the family as one two-column
        // glyph, so everything after it lands four columns early and the
        // cells ratatui believes written keep an earlier frame's letters.
        let mut x = 0;
        while x < b.area.width {
            let symbol = b[(x, 0)].symbol();
            assert!(
                !symbol.contains(['\u{200d}', '\u{fe0f}']),
                "cell {x}: {symbol:?}"
            );
            x += u16::try_from(ratatui::text::Span::raw(symbol).width().max(1)).unwrap();
        }
        assert_eq!(text(&b), ["\u{1f468} \u{1f469} \u{1f467} x\u{2764}y"]);
    }

    #[test]
    fn the_screen_keeps_the_sessions_size_text_and_attributes() {
        let mut r = ScreenReplay::new(12, 2);
        r.apply(&output("ok \x1b[1;31mred\x1b[0m\r\n漢x"));
        let b = LiveSnapshot::of_replay(ID, &r).screen;
        assert_eq!(b.area, Rect::new(0, 0, 12, 2));
        // A wide character's second column stays a blank cell, as ratatui
        // itself lays out wide characters.
        assert_eq!(text(&b), ["ok red", "漢 x"]);
        assert_eq!(b[(3, 0)].fg, Color::Indexed(1));
        assert!(b[(3, 0)].modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn uneven_rows_make_a_rectangular_buffer() {
        let rows = vec![vec![Cell::default(); 3], vec![], vec![Cell::default(); 1]];
        assert_eq!(cells_to_buffer(&rows).area, Rect::new(0, 0, 3, 3));
        assert_eq!(cells_to_buffer(&Vec::new()).area, Rect::ZERO);
    }

    fn start_worker() -> (
        Sender<LiveCommand>,
        Receiver<LiveSnapshot>,
        std::thread::JoinHandle<()>,
    ) {
        let (cmd_tx, cmd_rx) = mpsc::channel();
        let (snap_tx, snap_rx) = mpsc::channel();
        let wake = cmd_tx.clone();
        let worker = std::thread::spawn(move || {
            follow_worker(
                cmd_rx,
                wake,
                move |s| {
                    let _ = snap_tx.send(s);
                },
                |_| {},
            )
        });
        (cmd_tx, snap_rx, worker)
    }

    fn target(dir: &std::path::Path) -> FollowTarget {
        FollowTarget {
            session_id: ID.into(),
            session_dir: dir.to_owned(),
        }
    }

    fn follow(dir: &std::path::Path) -> LiveCommand {
        LiveCommand::Follow(FollowPlan {
            main: Some(target(dir)),
            tiles: Vec::new(),
        })
    }

    #[test]
    fn the_worker_follows_appends_and_stops_after_exit() {
        let tmp = tempfile::tempdir().unwrap();
        let mut log = session(tmp.path());
        log.append(EventBody::Output {
            data: "first\r\n".into(),
        })
        .unwrap();
        let (cmd_tx, snap_rx, worker) = start_worker();
        cmd_tx.send(follow(tmp.path())).unwrap();
        let wait = || snap_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let mut first = wait();
        while first.screen.area.width == 0 {
            first = wait();
        }
        assert_eq!(text(&first.screen)[0], "first");
        assert_eq!(first.screen.area.width, 20);

        log.append(EventBody::Output {
            data: "second".into(),
        })
        .unwrap();
        assert_eq!(text(&wait().screen)[1], "second");

        log.append(EventBody::Exit {
            exit_code: Some(0),
            exit_signal: None,
        })
        .unwrap();
        assert_eq!(wait().exit.unwrap().exit_code, Some(0));
        cmd_tx.send(LiveCommand::Stop).unwrap();
        worker.join().unwrap();
    }

    #[test]
    fn history_pauses_on_a_line_and_g_returns_to_live() {
        let tmp = tempfile::tempdir().unwrap();
        let mut log = session(tmp.path());
        let lines: String = (1..=30).map(|i| format!("line {i}\r\n")).collect();
        log.append(EventBody::Output { data: lines }).unwrap();
        let (cmd_tx, snap_rx, worker) = start_worker();
        cmd_tx.send(follow(tmp.path())).unwrap();
        let wait = |pred: &dyn Fn(&LiveSnapshot) -> bool| loop {
            let s = snap_rx.recv_timeout(Duration::from_secs(5)).unwrap();
            if pred(&s) {
                return s;
            }
        };
        wait(&|s| s.screen.area.width > 0);
        cmd_tx.send(LiveCommand::Scroll(10)).unwrap();
        let paused = wait(&|s| s.history != HistoryPos::Following);
        // 27 lines went into history (30 lines and an empty prompt line on a
        // 4-row screen); 10 back shows line 18 at the top.
        assert_eq!(
            paused.history,
            HistoryPos::Paused {
                line: 18,
                total: 31,
                offset: 10
            }
        );
        assert_eq!(text(&paused.screen)[0], "line 18");
        assert_eq!(paused.cursor, None);
        // New output does not move a paused view.
        log.append(EventBody::Output {
            data: "more\r\nand more\r\n".into(),
        })
        .unwrap();
        let still = wait(&|s| matches!(s.history, HistoryPos::Paused { offset: 12, .. }));
        assert_eq!(text(&still.screen)[0], "line 18");
        cmd_tx.send(LiveCommand::Scroll(i64::MAX)).unwrap();
        let top = wait(&|s| matches!(s.history, HistoryPos::Paused { line: 1, .. }));
        assert_eq!(text(&top.screen)[0], "line 1");
        cmd_tx.send(LiveCommand::ToLive).unwrap();
        let live = wait(&|s| s.history == HistoryPos::Following);
        assert_eq!(text(&live.screen)[1..3], ["more", "and more"]);
        cmd_tx.send(LiveCommand::Stop).unwrap();
        worker.join().unwrap();
    }

    #[test]
    fn a_deleted_session_shows_as_collected() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s");
        std::fs::create_dir(&dir).unwrap();
        let mut f = Followed::new(target(&dir), true);
        assert!(f.poll(), "a missing manifest is an error to show");
        assert!(f.snapshot().error.is_some());
        std::fs::remove_dir(&dir).unwrap();
        assert!(f.poll());
        assert!(f.snapshot().collected);
        assert!(f.ended());
    }

    #[rstest::rstest]
    #[case(1, 1)]
    #[case(2, 1)]
    #[case(1, 3)]
    #[case(1000, 1000)]
    #[case(0, 0)]
    #[case(u16::MAX, u16::MAX)]
    fn any_session_size_replays_without_a_panic(#[case] cols: u16, #[case] rows: u16) {
        let tmp = tempfile::tempdir().unwrap();
        write_manifest(tmp.path(), &manifest(cols, rows)).unwrap();
        let mut log = EventLogWriter::open(tmp.path()).unwrap();
        log.append(EventBody::Output {
            data: "漢字 wide\r\n\x1b[2Jx\x1b[999;999Hy\x1b[?1049h alt \x1b[10T\r\n".repeat(3),
        })
        .unwrap();
        log.append(EventBody::Resize { cols: 1, rows: 1 }).unwrap();
        log.append(EventBody::Output {
            data: "z漢\r\n".into(),
        })
        .unwrap();
        let mut f = Followed::new(target(tmp.path()), true);
        f.poll();
        f.scroll(5);
        let snap = f.snapshot();
        // Either a picture or an error in this view; never a crash.
        assert!(snap.screen.area.width > 0 || snap.error.is_some());
    }

    #[test]
    fn a_torn_or_foreign_log_is_read_as_far_as_it_makes_sense() {
        let tmp = tempfile::tempdir().unwrap();
        write_manifest(tmp.path(), &manifest(20, 3)).unwrap();
        let garbage = "not json\n{\"seq\":1}\n\u{0}\u{1}\n{\"seq\":2,\"ts\":\"x\",\"type\":\"output\",\"data\":\"ok\"}\n{\"seq\":3,\"ty";
        std::fs::write(SessionDir::new(tmp.path()).event_log(), garbage).unwrap();
        let mut f = Followed::new(target(tmp.path()), true);
        f.poll();
        let snap = f.snapshot();
        assert!(snap.error.is_none(), "{:?}", snap.error);
    }
}
