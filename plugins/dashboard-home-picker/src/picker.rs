//! The Home picker's state, keys and drawing, free of any host.

use agent_tty_core::time::{parse_iso, relative_age};
use agent_tty_plugin_api::{KeyCode, KeyEvent, PaneAction, PaneFrame};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget, Wrap};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::time::SystemTime;

/// One Home as `registry.homes` lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HomeRow {
    /// Canonical path.
    pub path: String,
    /// Sessions that are Active.
    pub active_sessions: u64,
    /// Visible Sessions.
    pub total_sessions: u64,
    /// When a Session was last created in it (ISO-8601).
    #[serde(default)]
    pub last_seen_at: String,
    /// The machine it is on, when the host lists other machines' Homes too
    /// (`local` for this one); a remote Home's `path` is then
    /// `remote://MACHINE/path`.
    #[serde(default)]
    pub machine: Option<String>,
}

impl HomeRow {
    /// The last two path segments, which tell most Homes apart at a glance
    /// (`homes/a`, `tmp.x3Fq/home`), with `…/` when more came before.
    pub fn short_name(&self) -> String {
        if let Some(m) = self.remote_machine() {
            let prefix = format!("remote://{m}");
            let there = HomeRow {
                path: self.path.strip_prefix(&prefix).unwrap_or("").to_owned(),
                machine: None,
                ..self.clone()
            };
            return format!("{m}: {}", there.short_name());
        }
        let parts = self.segments();
        match parts.len() {
            0 => "/".to_owned(),
            1 | 2 => format!("/{}", parts.join("/")),
            n => format!("…/{}", parts[n - 2..].join("/")),
        }
    }

    /// [`HomeRow::short_name`] in at most `room` columns. What tells Homes
    /// apart is the end of the path, so a name that does not fit loses its
    /// start (`…N9HDJA9jJ/.agent-tty`), never its last segment when the
    /// column is at least as wide as that segment.
    pub fn short_name_in(&self, room: usize) -> String {
        let name = self.short_name();
        if width(&name) <= room {
            return name;
        }
        let Some(room) = room.checked_sub(1) else {
            return String::new();
        };
        let start = name
            .char_indices()
            .map(|(i, _)| i)
            .find(|&i| width(&name[i..]) <= room)
            .unwrap_or(name.len());
        format!("…{}", &name[start..])
    }

    /// The machine, when it is not this one.
    pub fn remote_machine(&self) -> Option<&str> {
        self.machine.as_deref().filter(|m| *m != "local")
    }

    fn segments(&self) -> Vec<&str> {
        self.path.split('/').filter(|p| !p.is_empty()).collect()
    }
}

/// How many columns `text` takes on a terminal.
fn width(text: &str) -> usize {
    Span::raw(text).width()
}

/// Decodes `{"homes": [...]}`.
pub fn parse_homes(value: Value) -> Result<Vec<HomeRow>, String> {
    #[derive(Deserialize)]
    struct Listing {
        homes: Vec<HomeRow>,
    }
    serde_json::from_value::<Listing>(value)
        .map(|l| l.homes)
        .map_err(|e| format!("the registry plugin answered with an unexpected listing: {e}"))
}

/// One Session of a previewed Home.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewRow {
    /// Its name, or its id when it has none.
    pub name: String,
    /// Its status in the CLI's words (`running`, `exited (0)`).
    pub status: String,
    /// Whether it is Active.
    pub active: bool,
    /// When it last did something (its Event Log's last change).
    pub last_activity: Option<SystemTime>,
}

/// How the Homes are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    /// Most recently seen first (the registry's `lastSeenAt`).
    LastActivity,
    /// By path, A to Z.
    Path,
}

/// The picker: the Homes in scope, a filter, a selection, and a preview of
/// the selected Home's Sessions.
#[derive(Debug, Clone)]
pub struct Picker {
    current: String,
    all: bool,
    homes: Result<Vec<HomeRow>, String>,
    filter: String,
    typing: bool,
    selected: usize,
    sort: SortBy,
    previews: HashMap<String, Result<Vec<PreviewRow>, String>>,
}

impl Picker {
    /// A picker opened from a dashboard showing `current`, in that scope.
    pub fn new(current: &str, all: bool) -> Self {
        Picker {
            current: current.to_owned(),
            all,
            homes: Ok(Vec::new()),
            filter: String::new(),
            typing: false,
            selected: 0,
            sort: SortBy::LastActivity,
            previews: HashMap::new(),
        }
    }

    /// The picker's own scope (`a` changes it here only: the dashboard's
    /// scope stays as it was, so Esc returns to it unchanged).
    pub fn scope_all(&self) -> bool {
        self.all
    }

    /// A text field (the filter) has focus: printable keys are the picker's.
    pub fn typing(&self) -> bool {
        self.typing
    }

    /// The highlighted Home.
    pub fn highlighted(&self) -> Option<&HomeRow> {
        self.visible().get(self.selected).copied()
    }

    /// The highlighted Home when its preview has not been loaded yet.
    pub fn wants_preview(&self) -> Option<String> {
        self.highlighted()
            .filter(|h| !self.previews.contains_key(&h.path))
            .map(|h| h.path.clone())
    }

    /// Stores a Home's preview (its Sessions, or why they could not be read).
    pub fn set_preview(&mut self, home: &str, preview: Result<Vec<PreviewRow>, String>) {
        self.previews.insert(home.to_owned(), preview);
    }

    /// Replaces the listing; the selection goes to the current Home when it
    /// is listed.
    pub fn set_homes(&mut self, homes: Result<Vec<HomeRow>, String>) {
        self.homes = homes;
        self.previews.clear();
        self.sort_homes();
        self.selected = self
            .visible()
            .iter()
            .position(|h| h.path == self.current)
            .unwrap_or(0);
    }

    fn sort_homes(&mut self) {
        if let Ok(homes) = &mut self.homes {
            // Grouped by machine: this one's first, then each remote's.
            let group = |h: &HomeRow| h.remote_machine().map(str::to_owned);
            match self.sort {
                SortBy::Path => {
                    homes.sort_by(|a, b| group(a).cmp(&group(b)).then_with(|| a.path.cmp(&b.path)))
                }
                // Each date parsed once, not at every comparison.
                SortBy::LastActivity => homes.sort_by_cached_key(|h| {
                    (
                        group(h),
                        std::cmp::Reverse(parse_iso(&h.last_seen_at)),
                        h.path.clone(),
                    )
                }),
            }
        }
    }

    /// The Homes that pass the filter (case-insensitive substring of the path).
    pub fn visible(&self) -> Vec<&HomeRow> {
        let needle = self.filter.to_lowercase();
        match &self.homes {
            // No filter: every Home, without lower-casing a thousand paths.
            Ok(homes) if needle.is_empty() => homes.iter().collect(),
            Ok(homes) => homes
                .iter()
                .filter(|h| h.path.to_lowercase().contains(&needle))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Handles a key. While typing a filter, printable keys edit it.
    pub fn key(&mut self, key: &KeyEvent) -> PaneAction {
        let count = self.visible().len();
        match &key.code {
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down => self.selected = (self.selected + 1).min(count.saturating_sub(1)),
            KeyCode::Enter => {
                return match self.visible().get(self.selected) {
                    Some(h) => PaneAction::SwitchHome {
                        home: h.path.clone(),
                    },
                    None => PaneAction::None,
                }
            }
            KeyCode::Esc if self.typing || !self.filter.is_empty() => {
                self.typing = false;
                self.filter.clear();
                self.selected = 0;
            }
            KeyCode::Esc => return PaneAction::Close,
            KeyCode::Backspace if self.typing => {
                self.filter.pop();
                self.selected = 0;
            }
            KeyCode::Char(c) if self.typing && !key.ctrl => {
                self.filter.push(*c);
                self.selected = 0;
            }
            KeyCode::Char('j') => self.selected = (self.selected + 1).min(count.saturating_sub(1)),
            KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Char('/') => self.typing = true,
            KeyCode::Char('s') => {
                let keep = self.highlighted().map(|h| h.path.clone());
                self.sort = match self.sort {
                    SortBy::LastActivity => SortBy::Path,
                    SortBy::Path => SortBy::LastActivity,
                };
                self.sort_homes();
                self.selected = keep
                    .and_then(|p| self.visible().iter().position(|h| h.path == p))
                    .unwrap_or(0);
            }
            KeyCode::Char('a') => {
                // The picker's own listing widens; the dashboard's scope is
                // left alone (the glue reloads the Homes).
                self.all = !self.all;
            }
            _ => {}
        }
        PaneAction::None
    }

    /// Draws the picker into a buffer of this size.
    pub fn render(&self, width: u16, height: u16, now: SystemTime) -> Buffer {
        let area = Rect::new(0, 0, width, height);
        let mut buf = Buffer::empty(area);
        let [title, filter, body] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .areas(area);
        let visible = self.visible();
        let scope = if self.all {
            "all Homes"
        } else {
            "Active Homes"
        };
        let sort = match self.sort {
            SortBy::LastActivity => "last activity",
            SortBy::Path => "path",
        };
        Line::from(vec![
            Span::styled(" Homes ", Style::new().fg(Color::Black).bg(Color::Cyan)),
            Span::raw(format!(
                " {scope} ({}) · sorted by {sort} · browsing changes nothing",
                visible.len()
            )),
        ])
        .render(title, &mut buf);
        if self.typing || !self.filter.is_empty() {
            let cursor = if self.typing { "▏" } else { "" };
            Line::from(format!(" filter: {}{cursor}", self.filter)).render(filter, &mut buf);
        }
        match (&self.homes, visible.is_empty()) {
            (Err(e), _) => Paragraph::new(Line::from(e.clone()).red())
                .wrap(Wrap { trim: true })
                .render(body, &mut buf),
            (Ok(_), true) => Paragraph::new(self.empty_text())
                .wrap(Wrap { trim: true })
                .render(body, &mut buf),
            (Ok(_), false) => {
                let (table, preview) = split_for_preview(body, self.preview_rows());
                self.render_table(&visible, table, &mut buf, now);
                self.render_preview(preview, &mut buf, now);
            }
        }
        buf
    }

    /// The picker's key hints, for the dashboard's footer line (the picker
    /// draws none of its own, so the screen has one footer).
    pub fn footer(&self) -> &'static str {
        if self.typing {
            "type to filter · ↑/↓ move · Enter open · Esc clear filter · Ctrl-C quit"
        } else {
            "j/k move · Enter open · / filter · s sort · a active/all · Esc back · q quit"
        }
    }

    /// The pane's frame at this size: the drawing, whether the filter takes
    /// the keys, and the footer's hints.
    pub fn frame(&self, width: u16, height: u16, now: SystemTime) -> PaneFrame {
        let mut frame = PaneFrame::from_buffer(&self.render(width, height, now));
        frame.text_input = self.typing;
        frame.footer = Some(self.footer().to_owned());
        frame
    }

    /// How many rows the highlighted Home's preview has (one for a note).
    fn preview_rows(&self) -> usize {
        match self.highlighted().and_then(|h| self.previews.get(&h.path)) {
            Some(Ok(rows)) => rows.len().max(1),
            _ => 1,
        }
    }

    /// The highlighted Home's Sessions: name, status, last activity.
    fn render_preview(&self, area: Rect, buf: &mut Buffer, now: SystemTime) {
        if area.height < 2 || area.width < 10 {
            return;
        }
        let Some(home) = self.highlighted() else {
            return;
        };
        let title = Line::from(vec![
            Span::styled(" Sessions in ", Style::new().bold()),
            Span::styled(home.short_name(), Style::new().bold()),
            Span::raw(" (preview, nothing is reconciled)").dim(),
        ]);
        let [head, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        title.render(head, buf);
        match self.previews.get(&home.path) {
            None => Line::from(" reading…").dim().render(rest, buf),
            Some(Err(e)) => Paragraph::new(Line::from(format!(" {e}")).red())
                .wrap(Wrap { trim: true })
                .render(rest, buf),
            Some(Ok(rows)) if rows.is_empty() => {
                Line::from(" No Sessions.").dim().render(rest, buf)
            }
            Some(Ok(rows)) => {
                let body = rows.iter().map(|r| {
                    let seen = r
                        .last_activity
                        .map(|t| relative_age(t, now))
                        .unwrap_or_else(|| "?".into());
                    let style = if r.active {
                        Style::new().fg(Color::Green)
                    } else {
                        Style::new().fg(Color::DarkGray)
                    };
                    Row::new(vec![
                        Cell::from(format!(" {}", r.name)),
                        Cell::from(r.status.clone()).style(style),
                        Cell::from(seen),
                    ])
                });
                Table::new(
                    body,
                    [
                        Constraint::Length(28),
                        Constraint::Length(16),
                        Constraint::Length(10),
                    ],
                )
                .header(Row::new([" NAME", "STATUS", "ACTIVITY"]).bold())
                .render(rest, buf);
            }
        }
    }

    fn empty_text(&self) -> String {
        let how = "A Home is registered the first time a Session is created in it \
                   (`agent-tty --home <path> create -- <command>`).";
        if !self.filter.is_empty() {
            format!(
                "No Home matches \"{}\". Esc clears the filter.",
                self.filter
            )
        } else if self.all {
            format!("No Homes are registered. {how}")
        } else {
            format!(
                "No Home has an Active Session. {how} Press a to include Homes whose Sessions have all ended."
            )
        }
    }

    fn render_table(&self, visible: &[&HomeRow], area: Rect, buf: &mut Buffer, now: SystemTime) {
        let name_width = name_column_width(visible, area.width);
        let rows_fit = area.height.saturating_sub(1) as usize;
        let skip = (self.selected + 1).saturating_sub(rows_fit);
        let rows = visible
            .iter()
            .enumerate()
            .skip(skip)
            .take(rows_fit)
            .map(|(i, h)| {
                let current = h.path == self.current;
                let seen = parse_iso(&h.last_seen_at)
                    .map(|t| relative_age(t, now))
                    .unwrap_or_default();
                let row = Row::new(vec![
                    Cell::from(if current { "●" } else { " " }),
                    Cell::from(h.short_name_in(usize::from(name_width))),
                    Cell::from(format!("{}/{}", h.active_sessions, h.total_sessions)),
                    Cell::from(seen),
                    Cell::from(h.path.clone()).dim(),
                ]);
                if i == self.selected {
                    row.style(Style::new().add_modifier(Modifier::REVERSED))
                } else {
                    row
                }
            });
        Table::new(
            rows,
            [
                Constraint::Length(1),
                Constraint::Length(name_width),
                Constraint::Length(13),
                Constraint::Length(10),
                Constraint::Min(10),
            ],
        )
        .header(Row::new(["", "HOME", "ACTIVE/TOTAL", "LAST SEEN", "PATH"]).bold())
        .render(area, buf);
    }
}

/// The Homes table and the preview: side by side when there is room,
/// the preview under the table otherwise.
fn split_for_preview(body: Rect, preview_rows: usize) -> (Rect, Rect) {
    if body.width >= 140 {
        let [table, preview] =
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(body);
        (table, preview)
    } else {
        // The preview's title, header and Sessions, in at most half the room.
        let wanted = u16::try_from(preview_rows + 2).unwrap_or(u16::MAX).max(3);
        let preview_height = wanted.min(body.height / 2);
        let [table, preview] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(preview_height)]).areas(body);
        (table, preview)
    }
}

/// The HOME column's width: wide enough for every short name (between
/// [`NAME_MIN`] and [`NAME_MAX`]), and always for every last segment, but
/// never so wide that the other columns lose their room; the PATH column is
/// the one that gets cut.
fn name_column_width(visible: &[&HomeRow], table_width: u16) -> u16 {
    let names = visible.iter().map(|h| width(&h.short_name()));
    let last_segments = visible
        .iter()
        .map(|h| h.segments().last().map_or(1, |s| width(s) + 1));
    let wanted = names
        .max()
        .unwrap_or(0)
        .clamp(NAME_MIN, NAME_MAX)
        .max(last_segments.max().unwrap_or(0));
    let room = usize::from(table_width).saturating_sub(OTHER_COLUMNS);
    u16::try_from(wanted.min(room)).unwrap_or(u16::MAX)
}

/// The HOME column is at least this wide, so short names line up.
const NAME_MIN: usize = 24;
/// …and at most this wide for whole two-segment names.
const NAME_MAX: usize = 40;
/// Columns the rest of the table needs: the current-Home mark, ACTIVE/TOTAL,
/// LAST SEEN, PATH's minimum and the gaps between the five columns.
const OTHER_COLUMNS: usize = 1 + 13 + 10 + 10 + 4;

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::time::Duration;

    fn home(path: &str, active: u64, total: u64) -> HomeRow {
        seen(path, active, total, "2026-11-24T03:50:00.000Z")
    }

    fn seen(path: &str, active: u64, total: u64, at: &str) -> HomeRow {
        HomeRow {
            path: path.into(),
            active_sessions: active,
            total_sessions: total,
            last_seen_at: at.into(),
            machine: None,
        }
    }

    #[test]
    fn homes_are_grouped_by_machine_and_remote_ones_named_by_it() {
        let on = |machine: &str, path: &str| HomeRow {
            machine: Some(machine.into()),
            ..home(path, 1, 1)
        };
        let mut p = Picker::new("/x", false);
        p.set_homes(Ok(vec![
            on("box", "remote://box/srv/agents/h"),
            on("local", "/z/home"),
            on("attic", "remote://attic/a"),
            on("local", "/a/home"),
        ]));
        let names: Vec<String> = p.visible().iter().map(|h| h.short_name()).collect();
        assert_eq!(
            names,
            ["/a/home", "/z/home", "attic: /a", "box: …/agents/h"]
        );
    }

    /// Three Homes, most recently seen first: a, b, then /tmp.
    fn picker() -> Picker {
        let mut p = Picker::new("/w/homes/b", false);
        p.set_homes(Ok(vec![
            seen("/tmp/tmp.x3Fq", 1, 1, "2026-11-24T03:48:00.000Z"),
            seen("/w/homes/b", 2, 2, "2026-11-24T03:49:00.000Z"),
            seen("/w/homes/a", 1, 2, "2026-11-24T03:50:00.000Z"),
        ]));
        p
    }

    fn text(buf: &Buffer) -> String {
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
                    .trim_end()
                    .to_owned()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn press(p: &mut Picker, code: KeyCode) -> PaneAction {
        p.key(&KeyEvent::plain(code))
    }

    fn later() -> SystemTime {
        parse_iso("2026-11-24T03:55:00.000Z").unwrap() + Duration::from_millis(1)
    }

    fn preview(p: &mut Picker) {
        let t = parse_iso("2026-11-24T03:54:00.000Z");
        p.set_preview(
            "/w/homes/b",
            Ok(vec![
                PreviewRow {
                    name: "build".into(),
                    status: "running".into(),
                    active: true,
                    last_activity: t,
                },
                PreviewRow {
                    name: "01JDB0000000000000000000OL".into(),
                    status: "exited (0)".into(),
                    active: false,
                    last_activity: None,
                },
            ]),
        );
    }

    #[test]
    fn rows_show_name_counts_last_seen_and_mark_the_current_home() {
        let mut p = picker();
        preview(&mut p);
        insta::assert_snapshot!("picker_with_preview", text(&p.render(90, 14, later())));
    }

    #[test]
    fn a_wide_picker_shows_the_preview_beside_the_homes() {
        let mut p = picker();
        preview(&mut p);
        insta::assert_snapshot!("picker_wide", text(&p.render(150, 10, later())));
    }

    #[test]
    fn the_filter_narrows_the_homes_and_the_preview_follows() {
        let mut p = picker();
        // The first `/` opens the filter; the rest is typed into it.
        for c in "/homes/b".chars() {
            press(&mut p, KeyCode::Char(c));
        }
        assert!(p.typing());
        assert_eq!(p.wants_preview().as_deref(), Some("/w/homes/b"));
        preview(&mut p);
        insta::assert_snapshot!("picker_filtered", text(&p.render(90, 12, later())));
        // Its hints go to the dashboard's footer, not into its drawing.
        let frame = p.frame(90, 12, later());
        assert!(frame.text_input);
        assert_eq!(frame.footer.as_deref(), Some(p.footer()));
        assert!(p.footer().contains("Esc clear filter"));
        assert!(picker().footer().contains("Esc back · q quit"));
    }

    #[test]
    fn s_sorts_by_path_and_back_keeping_the_highlighted_home() {
        let mut p = picker();
        let order = |p: &Picker| {
            p.visible()
                .iter()
                .map(|h| h.path.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(order(&p), ["/w/homes/a", "/w/homes/b", "/tmp/tmp.x3Fq"]);
        assert_eq!(p.highlighted().unwrap().path, "/w/homes/b");
        press(&mut p, KeyCode::Char('s'));
        assert_eq!(order(&p), ["/tmp/tmp.x3Fq", "/w/homes/a", "/w/homes/b"]);
        assert_eq!(p.highlighted().unwrap().path, "/w/homes/b");
        press(&mut p, KeyCode::Char('s'));
        assert_eq!(order(&p)[0], "/w/homes/a");
    }

    #[rstest]
    #[case(&[KeyCode::Enter], "/w/homes/b")]
    #[case(&[KeyCode::Char('k'), KeyCode::Enter], "/w/homes/a")]
    #[case(&[KeyCode::Down, KeyCode::Down, KeyCode::Enter], "/tmp/tmp.x3Fq")]
    #[case(&[KeyCode::Char('s'), KeyCode::Char('k'), KeyCode::Enter], "/w/homes/a")]
    #[case(&[KeyCode::Char('/'), KeyCode::Char('T'), KeyCode::Char('M'), KeyCode::Enter], "/tmp/tmp.x3Fq")]
    fn enter_opens_the_selected_home(#[case] keys: &[KeyCode], #[case] chosen: &str) {
        let mut p = picker();
        let mut last = PaneAction::None;
        for k in keys {
            last = press(&mut p, k.clone());
        }
        assert_eq!(
            last,
            PaneAction::SwitchHome {
                home: chosen.into()
            }
        );
    }

    #[test]
    fn esc_clears_a_filter_first_then_closes() {
        let mut p = picker();
        press(&mut p, KeyCode::Char('/'));
        press(&mut p, KeyCode::Char('z'));
        let screen = text(&p.render(90, 8, later()));
        assert!(screen.contains(" filter: z▏"), "{screen}");
        assert!(screen.contains("No Home matches \"z\""), "{screen}");
        assert_eq!(press(&mut p, KeyCode::Esc), PaneAction::None);
        assert_eq!(p.visible().len(), 3);
        assert_eq!(press(&mut p, KeyCode::Esc), PaneAction::Close);
    }

    #[test]
    fn a_toggles_the_pickers_own_scope_and_q_is_just_a_letter_while_typing() {
        let mut p = picker();
        assert_eq!(press(&mut p, KeyCode::Char('a')), PaneAction::None);
        assert!(p.scope_all());
        assert_eq!(press(&mut p, KeyCode::Char('a')), PaneAction::None);
        assert!(!p.scope_all());
        press(&mut p, KeyCode::Char('/'));
        assert!(p.typing());
        assert_eq!(press(&mut p, KeyCode::Char('a')), PaneAction::None);
        assert_eq!(press(&mut p, KeyCode::Char('q')), PaneAction::None);
        assert_eq!(p.filter, "aq");
        assert!(!p.scope_all());
    }

    #[rstest]
    #[case(false, "No Home has an Active Session.")]
    #[case(true, "No Homes are registered.")]
    fn the_empty_state_says_how_a_home_gets_registered(#[case] all: bool, #[case] first: &str) {
        let mut p = Picker::new("/x", all);
        p.set_homes(Ok(vec![]));
        let screen = text(&p.render(200, 6, later())).replace('\n', " ");
        assert!(screen.contains(first), "{screen}");
        assert!(screen.contains("registered the first time a Session is created in it"));
        assert_eq!(press(&mut p, KeyCode::Enter), PaneAction::None);
    }

    #[test]
    fn a_registry_error_is_shown() {
        let mut p = Picker::new("/x", false);
        p.set_homes(Err("the registry plugin is not installed".into()));
        assert!(text(&p.render(80, 6, later())).contains("the registry plugin is not installed"));
    }

    #[test]
    fn the_selection_scrolls_into_view() {
        let mut p = Picker::new("/h/99", true);
        p.set_homes(Ok((0..100)
            .map(|i| home(&format!("/h/{i}"), 0, 1))
            .collect()));
        let screen = text(&p.render(80, 10, later()));
        assert!(screen.contains("● /h/99"), "{screen}");
    }

    /// The HOME cell of the row whose counts are `counts`, read off a screen.
    fn name_cell(screen: &str, counts: &str) -> String {
        let line = screen.lines().find(|l| l.contains(counts)).unwrap();
        line.chars()
            .skip(2)
            .collect::<String>()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    }

    #[rstest]
    #[case(90, "…/tmp.XN9HDJA9jJ/.agent-tty")]
    #[case(60, "…XN9HDJA9jJ/.agent-tty")]
    fn a_long_name_is_cut_from_the_left_so_its_last_segment_stays_whole(
        #[case] width: u16,
        #[case] name: &str,
    ) {
        const LONG: &str = "/tmp/tmp.XN9HDJA9jJ/.agent-tty";
        let mut p = Picker::new("/x", true);
        p.set_homes(Ok(vec![home(LONG, 1, 1), home("/w/homes/a", 0, 1)]));
        let screen = text(&p.render(width, 6, later()));
        assert_eq!(name_cell(&screen, " 1/1 "), name, "{screen}");
    }

    #[rstest]
    #[case("/a/b/c", 40, "…/b/c")]
    #[case("/a/bb/ccc", 5, "…/ccc")]
    #[case("/a/bb/ccc", 4, "…ccc")]
    #[case("/a/bb/ccc", 1, "…")]
    #[case("/a/bb/ccc", 0, "")]
    fn short_names_lose_their_start_first(
        #[case] path: &str,
        #[case] room: usize,
        #[case] name: &str,
    ) {
        assert_eq!(home(path, 0, 0).short_name_in(room), name);
    }
}
