//! Drawing: a pure function of [`State`] into a ratatui [`Frame`].
//!
//! ```text
//!  agent-tty · Home /path/to/home · Active Sessions · read-only
//! ┌2 Active Sessions────────────────────────────────────────────┐
//! │ID                          NAME   STATUS   AGE     COMMAND  │
//! │01JD…                       build  running  3m ago   make -j  │
//! └─────────────────────────────────────────────────────────────┘
//! ┌Live View · build · 80×24 · following · running──────────────┐
//! │<the Session's screen at its own size, clipped or panned>    │
//! └─────────────────────────────────────────────────────────────┘
//!  q quit  ? help  Tab focus  Enter maximise  j/k select  PgUp/PgDn history …
//! ```
//!
//! From [`SIDE_BY_SIDE_COLS`](crate::app::SIDE_BY_SIDE_COLS) columns on, the
//! list sits beside the Live View instead of above it. `z` swaps both for
//! the overview (every Session as a tile) and `?` lays the help over them.

use crate::app::{Focus, Listing, Overlay, OverviewGrid, State};
use crate::guard::catching;
use crate::live::{HistoryPos, LiveSnapshot};
use crate::session::SessionRow;
use agent_tty_core::text::{counted, status_wording};
use agent_tty_core::time::{parse_iso, relative_age};
use agent_tty_plugin_api::PaneFrame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

/// Draws the whole dashboard. Each region is drawn on its own: a failure
/// while drawing one (whatever a Session's screen or a pane holds) shows as
/// an error in that region, and the others are drawn as usual.
pub fn render(state: &State, frame: &mut Frame) {
    let area = frame.area();
    let [body, footer] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
    if let Some(overlay) = &state.overlay {
        guarded(frame, body, |f| render_pane(overlay, body, f.buffer_mut()));
    } else {
        let [header, main] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
        guarded(frame, header, |f| render_header(state, header, f));
        if state.overview {
            guarded(frame, main, |f| render_overview(state, main, f));
        } else if state.maximised {
            guarded(frame, main, |f| render_live(state, main, f));
        } else {
            let (list, live) = main_areas(state, main);
            guarded(frame, list, |f| render_sessions(state, list, f));
            guarded(frame, live, |f| render_live(state, live, f));
        }
        if state.help {
            guarded(frame, body, |f| render_help(state, body, f));
        }
    }
    guarded(frame, footer, |f| render_footer(state, footer, f));
}

/// Draws one region; a panic while drawing it clears the region and shows
/// the error there instead.
fn guarded(frame: &mut Frame, area: Rect, draw: impl FnOnce(&mut Frame)) {
    if let Err(e) = catching(|| draw(frame)) {
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(Line::from(format!("could not draw this part: {e}")).red())
                .wrap(Wrap { trim: true }),
            area,
        );
    }
}

/// The list's and the Live View's areas: side by side on a wide terminal
/// (as agent-tty 0.5 does), the list above the Live View otherwise.
fn main_areas(state: &State, main: Rect) -> (Rect, Rect) {
    if state.side_by_side() {
        let list_width = (main.width * 2 / 5).clamp(40, 70);
        let [list, live] =
            Layout::horizontal([Constraint::Length(list_width), Constraint::Min(0)]).areas(main);
        return (list, live);
    }
    let rows = state.rows().len();
    let list_height = if rows == 0 { 5 } else { rows as u16 + 3 };
    let list_height = list_height.min(main.height / 3).max(5);
    let [list, live] =
        Layout::vertical([Constraint::Length(list_height), Constraint::Min(0)]).areas(main);
    (list, live)
}

fn render_header(state: &State, area: Rect, frame: &mut Frame) {
    let scope = if state.scope_all {
        "all Sessions"
    } else {
        "Active Sessions"
    };
    let rest = format!(" · {scope} · ");
    // The whole path when it fits, else its last two segments (what tells
    // Homes apart), as agent-tty 0.5 shows it.
    let fixed = width(" agent-tty · Home ") + width(&rest) + width("read-only");
    let mut home = printable(&state.home);
    if fixed + width(&home) > usize::from(area.width) {
        let parts: Vec<&str> = state.home.split('/').filter(|p| !p.is_empty()).collect();
        if parts.len() > 2 {
            home = printable(&format!("…/{}", parts[parts.len() - 2..].join("/")));
        }
    }
    let line = Line::from(vec![
        Span::raw(" agent-tty · Home "),
        Span::styled(home, Style::new().bold()),
        Span::raw(rest),
        Span::styled("read-only", Style::new().fg(Color::Black).bg(Color::Cyan)),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

fn focus_block(title: Line<'static>, focused: bool) -> Block<'static> {
    let style = if focused {
        Style::new().fg(Color::Cyan)
    } else {
        Style::new().fg(Color::DarkGray)
    };
    Block::new()
        .borders(Borders::ALL)
        .border_style(style)
        .title(title)
}

/// The list's title: how many Sessions, in the scope's words. A row kept
/// after its Session left the listing is not counted, nor, in the Active
/// scope, one whose Session has ended since it was listed.
fn sessions_title(state: &State) -> String {
    let n = state
        .rows()
        .iter()
        .filter(|r| state.pinned.as_deref() != Some(r.session_id.as_str()))
        .filter(|r| state.scope_all || r.is_active())
        .count();
    if state.scope_all {
        counted(n, "Session")
    } else {
        counted(n, "Active Session")
    }
}

fn render_sessions(state: &State, area: Rect, frame: &mut Frame) {
    let focused = state.focus == Focus::Sessions && !state.maximised;
    let rows = state.rows();
    let mut block = focus_block(Line::from(sessions_title(state)), focused);
    if let Some(e) = &state.list_error {
        block = block.title_bottom(Line::from(format!("refresh failed: {}", printable(e))).red());
    }
    let empty = match &state.listing {
        Listing::Loading => Some(Line::from("Listing Sessions…").dim()),
        Listing::Failed(e) => Some(Line::from(printable(e)).red()),
        Listing::Loaded(rows) if rows.is_empty() => Some(Line::from(empty_sessions_text(state))),
        Listing::Loaded(_) => None,
    };
    if let Some(text) = empty {
        frame.render_widget(
            Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
            area,
        );
        return;
    }
    let inner_width = usize::from(area.width.saturating_sub(2));
    // STATUS is as wide as its longest text (`destroyed (SIGKILL)`), never cut.
    let status_width = rows
        .iter()
        .map(|r| width(&r.status_text()))
        .max()
        .unwrap_or(0);
    let columns = list_columns(inner_width, status_width);
    let header = Row::new(columns.iter().map(|c| c.title)).style(Style::new().bold());
    let body = rows.iter().enumerate().map(|(i, r)| {
        let cells = columns.iter().map(|c| {
            let text = cut_to_width(&c.text(r, state), usize::from(c.width(inner_width)));
            let cell = Cell::from(text);
            if c.title == "STATUS" {
                cell.style(status_style(r))
            } else {
                cell
            }
        });
        let row = Row::new(cells.collect::<Vec<_>>());
        if i == state.selected {
            row.style(Style::new().add_modifier(Modifier::REVERSED))
        } else {
            row
        }
    });
    // Scroll so the selected row stays in view.
    let visible = area.height.saturating_sub(3) as usize;
    let skip = (state.selected + 1).saturating_sub(visible);
    let widths: Vec<Constraint> = columns
        .iter()
        .map(|c| Constraint::Length(c.width(inner_width)))
        .collect();
    let table = Table::new(body.skip(skip), widths)
        .header(header)
        .block(block);
    frame.render_widget(table, area);
}

fn status_style(r: &SessionRow) -> Style {
    match (r.is_active(), r.status.as_str()) {
        (true, _) => Style::new().fg(Color::Green),
        (false, "failed") => Style::new().fg(Color::Red),
        _ => Style::new().fg(Color::DarkGray),
    }
}

/// A column of the Session list.
struct Column {
    title: &'static str,
    /// Fixed width, or 0 for "the rest".
    fixed: u16,
    min: u16,
    kind: ColumnKind,
    /// Columns the fixed columns and the gaps take (for the "rest" one).
    rest_taken: u16,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ColumnKind {
    Id,
    Name,
    NameOrId,
    Status,
    Age,
    Command,
}

impl Column {
    fn width(&self, inner: usize) -> u16 {
        if self.fixed > 0 {
            return self.fixed;
        }
        // What the fixed columns and the gaps between columns leave.
        let inner = u16::try_from(inner).unwrap_or(u16::MAX);
        inner.saturating_sub(self.rest_taken).max(self.min)
    }

    fn text(&self, r: &SessionRow, state: &State) -> String {
        match self.kind {
            ColumnKind::Id => r.session_id.clone(),
            ColumnKind::Name => printable(r.name.as_deref().unwrap_or("-")),
            ColumnKind::NameOrId => printable(r.name.as_deref().unwrap_or(&r.session_id)),
            ColumnKind::Status => r.status_text(),
            ColumnKind::Age => parse_iso(&r.created_at)
                .map(|t| relative_age(t, state.now))
                .unwrap_or_else(|| "?".into()),
            ColumnKind::Command => printable(&r.command.join(" ")),
        }
    }
}

/// The list's columns for an inner width: the full set on wide lists,
/// fewer on narrow ones. STATUS and AGE always keep their whole width
/// (STATUS grows to `status_width`, its longest text, e.g. `destroyed
/// (SIGKILL)`; AGE is `37s ago`); NAME and COMMAND give way, with an
/// ellipsis.
fn list_columns(inner: usize, status_width: usize) -> Vec<Column> {
    let status = u16::try_from(status_width).unwrap_or(u16::MAX).max(12);
    let col = |title, fixed, min, kind| Column {
        title,
        fixed,
        min,
        kind,
        rest_taken: 0,
    };
    let mut columns = if inner >= 90 {
        vec![
            col("ID", 26, 0, ColumnKind::Id),
            col("NAME", 16, 0, ColumnKind::Name),
            col("STATUS", status, 0, ColumnKind::Status),
            col("AGE", 8, 0, ColumnKind::Age),
            col("COMMAND", 0, 8, ColumnKind::Command),
        ]
    } else if inner >= 60 {
        vec![
            col("NAME", 20, 0, ColumnKind::NameOrId),
            col("STATUS", status, 0, ColumnKind::Status),
            col("AGE", 8, 0, ColumnKind::Age),
            col("COMMAND", 0, 8, ColumnKind::Command),
        ]
    } else {
        vec![
            col("NAME", 0, 6, ColumnKind::NameOrId),
            col("STATUS", status, 0, ColumnKind::Status),
            col("AGE", 8, 0, ColumnKind::Age),
        ]
    };
    let taken: u16 =
        columns.iter().map(|c| c.fixed).sum::<u16>() + (columns.len() as u16).saturating_sub(1);
    for c in &mut columns {
        c.rest_taken = taken;
    }
    columns
}

fn empty_sessions_text(state: &State) -> String {
    let create = format!(
        "agent-tty --home {} create -- <command>",
        printable(&state.home)
    );
    if state.scope_all {
        format!("No Sessions in this Home. Start one with `{create}`.")
    } else {
        format!(
            "No Active Sessions in this Home. Press a to include ended ones, or start one with `{create}`."
        )
    }
}

/// The Live View's picture of the selected Session, if it is the one shown.
fn selected_live(state: &State) -> (Option<&SessionRow>, Option<&LiveSnapshot>) {
    let session = state.selected_session();
    let live = state
        .live
        .as_ref()
        .filter(|l| Some(l.session_id.as_str()) == session.map(|s| s.session_id.as_str()));
    (session, live)
}

fn render_live(state: &State, area: Rect, frame: &mut Frame) {
    let focused = state.focus == Focus::LiveView || state.maximised;
    let (session, live) = selected_live(state);
    let mut title = vec![Span::raw("Live View")];
    if let Some(s) = session {
        title.push(Span::raw(format!(
            " · {}",
            printable(s.name.as_deref().unwrap_or(&s.session_id))
        )));
    }
    if let Some(l) = live.filter(|l| !l.collected && l.screen.area.width > 0) {
        let (w, h) = (l.screen.area.width, l.screen.area.height);
        title.push(Span::raw(format!(" · {w}×{h}")));
        if l.alt_screen {
            title.push(Span::styled(" [alt]", Style::new().fg(Color::Magenta)));
        }
        let inner = (area.width.saturating_sub(2), area.height.saturating_sub(2));
        if state.pan != (0, 0) {
            let (x, y) = state.pan;
            title.push(Span::raw(format!(" · panned to column {x}, row {y}")));
        } else if w > inner.0 || h > inner.1 {
            title.push(Span::raw(" · clipped"));
        }
        match l.history {
            HistoryPos::Following if l.exit.is_none() => {
                title.push(Span::raw(" · following"));
            }
            HistoryPos::Following => {}
            HistoryPos::Paused { line, total, .. } => {
                title.push(Span::raw(" · "));
                title.push(Span::styled(
                    format!("paused at line {line} of {total}"),
                    Style::new().fg(Color::Black).bg(Color::Yellow),
                ));
            }
        }
    }
    if let Some(badge) = status_badge(session, live) {
        title.push(Span::raw(" · "));
        title.push(badge);
    }
    // On a narrow view the least needed parts of the title go first, so the
    // status badge and the history state stay readable.
    for optional in [" · following", " · clipped"] {
        if title_width(&title) > area.width {
            title.retain(|s| s.content != optional);
        }
    }
    if title_width(&title) > area.width {
        title.retain(|s| !(s.content.starts_with(" · ") && s.content.contains('×')));
    }
    // The frame hugs the Session's own size (widened only to fit its title)
    // when that fits, so the box shows where the Session's screen ends.
    let area = match live.filter(|l| l.error.is_none() && !l.collected) {
        Some(l) if l.screen.area.width > 0 => Rect {
            width: area
                .width
                .min(l.screen.area.width.saturating_add(2))
                .max(title_width(&title)),
            height: area.height.min(l.screen.area.height.saturating_add(2)),
            ..area
        }
        .intersection(area),
        _ => area,
    };
    let block = focus_block(Line::from(title), focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let note = match (session, live) {
        (None, _) => Some(Line::from("No Session selected.").dim()),
        (Some(_), None) => Some(Line::from("Reading the Event Log…").dim()),
        (Some(_), Some(l)) if l.collected => {
            Some(Line::from("Event Log collected — this Session is no longer available.").dim())
        }
        (Some(_), Some(l)) => match &l.error {
            Some(e) => Some(Line::from(printable(e)).red()),
            None if l.screen.area.width == 0 => Some(Line::from("Waiting for output…").dim()),
            None => None,
        },
    };
    if let Some(note) = note {
        frame.render_widget(Paragraph::new(note).wrap(Wrap { trim: true }), inner);
        return;
    }
    if let Some(l) = live {
        blit_screen(l, state.pan, inner, frame.buffer_mut());
    }
}

fn title_width(spans: &[Span]) -> u16 {
    let width: usize = spans.iter().map(Span::width).sum();
    u16::try_from(width + 2).unwrap_or(u16::MAX)
}

/// The badge for how the Session stands: green while running, then its
/// exit in the CLI's words (`exited (0)`), or "Event Log collected".
fn status_badge(
    session: Option<&SessionRow>,
    live: Option<&LiveSnapshot>,
) -> Option<Span<'static>> {
    let session = session?;
    let badge = |text: String, bg: Color| Span::styled(text, Style::new().fg(Color::Black).bg(bg));
    if live.is_some_and(|l| l.collected) {
        return Some(badge("Event Log collected".into(), Color::DarkGray));
    }
    if let Some(exit) = live.and_then(|l| l.exit.as_ref()) {
        let ok = exit.exit_code == Some(0);
        let text = status_wording("exited", exit.exit_code, exit.exit_signal.as_deref(), false);
        return Some(badge(text, if ok { Color::Green } else { Color::Red }));
    }
    match session.end_badge() {
        Some(text) => Some(badge(text, Color::Red)),
        None => Some(Span::styled(
            session.status_text(),
            Style::new().fg(Color::Green),
        )),
    }
}

/// Copies the Session's screen into `area`, starting at `pan`, clipping what
/// does not fit. The Session is never resized to the view.
fn blit_screen(live: &LiveSnapshot, pan: (u16, u16), area: Rect, out: &mut Buffer) {
    let src = &live.screen;
    let area = area.intersection(out.area);
    for dy in 0..area.height {
        let sy = u32::from(pan.1) + u32::from(dy);
        if sy >= u32::from(src.area.height) {
            break;
        }
        for dx in 0..area.width {
            let sx = u32::from(pan.0) + u32::from(dx);
            if sx >= u32::from(src.area.width) {
                break;
            }
            let (sx, sy) = (sx as u16, sy as u16);
            let mut cell = src[(sx, sy)].clone();
            if live.cursor == Some((sx, sy)) && live.exit.is_none() {
                cell.modifier.toggle(Modifier::REVERSED);
            }
            out[(area.x + dx, area.y + dy)] = cell;
        }
    }
}

/// The overview: every Session of the scope as a small tile with its
/// screen's most recent rows, the selected tile highlighted.
fn render_overview(state: &State, area: Rect, frame: &mut Frame) {
    let rows = state.rows();
    if rows.is_empty() {
        let block = focus_block(Line::from("Overview"), true);
        let text = match &state.listing {
            Listing::Loading => "Listing Sessions…".to_owned(),
            Listing::Failed(e) => printable(e),
            Listing::Loaded(_) => empty_sessions_text(state),
        };
        frame.render_widget(
            Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
            area,
        );
        return;
    }
    let OverviewGrid {
        per_row,
        tile_height,
        first_row,
        fit,
    } = state.overview_grid(area.height);
    let tile_width = area.width / per_row as u16;
    for (i, r) in rows.iter().enumerate().skip(first_row * per_row) {
        let (gy, gx) = (i / per_row - first_row, i % per_row);
        if gy >= fit {
            break;
        }
        let tile = Rect {
            x: area.x + gx as u16 * tile_width,
            y: area.y + gy as u16 * tile_height,
            width: tile_width,
            height: tile_height,
        }
        .intersection(area);
        let live = if Some(r) == state.selected_session() {
            state.live.as_ref().filter(|l| l.session_id == r.session_id)
        } else {
            state.tiles.get(&r.session_id)
        };
        guarded(frame, tile, |f| {
            render_tile(r, live, i == state.tile, tile, f)
        });
    }
}

fn render_tile(
    r: &SessionRow,
    live: Option<&LiveSnapshot>,
    selected: bool,
    area: Rect,
    frame: &mut Frame,
) {
    let mut title = vec![Span::raw(printable(
        r.name.as_deref().unwrap_or(&r.session_id),
    ))];
    if live.is_some_and(|l| l.alt_screen) {
        title.push(Span::styled(" [alt]", Style::new().fg(Color::Magenta)));
    }
    title.push(Span::raw(" · "));
    title.push(Span::styled(r.status_text(), status_style(r)));
    if let Some(c) = &r.control {
        title.push(Span::styled(
            format!(
                " · controlled by {} since {}",
                printable(&c.holder),
                printable(&c.since)
            ),
            Style::new().fg(Color::Yellow),
        ));
    }
    let mut block = focus_block(Line::from(title), selected);
    if selected {
        block = block.border_style(Style::new().fg(Color::Cyan).bold());
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(l) = live else {
        frame.render_widget(Paragraph::new(Line::from("…").dim()), inner);
        return;
    };
    if let Some(e) = &l.error {
        frame.render_widget(
            Paragraph::new(Line::from(printable(e)).red()).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    if l.collected {
        frame.render_widget(
            Paragraph::new(Line::from("Event Log collected").dim()),
            inner,
        );
        return;
    }
    // The rows that matter most: up to the cursor or the last written row.
    let last = last_used_row(&l.screen).max(l.cursor.map_or(0, |c| c.1));
    let first = (last + 1).saturating_sub(inner.height);
    blit_screen(l, (0, first), inner, frame.buffer_mut());
}

/// The first row of a Session's screen the Live View shows when it opens:
/// the rows that matter most end the view (the cursor's row, or the last
/// one written), so a tall Session opens at its prompt, not at its top.
pub fn opening_row(state: &State, live: &LiveSnapshot) -> u16 {
    let area = Rect::new(0, 0, state.size.0, state.size.1);
    let [body, _] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
    let [_, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
    let view = if state.maximised {
        main
    } else {
        main_areas(state, main).1
    };
    let shown = view.height.saturating_sub(2).max(1);
    let last = last_used_row(&live.screen).max(live.cursor.map_or(0, |c| c.1));
    (last + 1).saturating_sub(shown)
}

/// The last row of a screen with anything on it (0 when it is blank).
fn last_used_row(screen: &Buffer) -> u16 {
    (0..screen.area.height)
        .rev()
        .find(|&y| (0..screen.area.width).any(|x| screen[(x, y)].symbol().trim() != ""))
        .unwrap_or(0)
}

/// The help overlay, written from the key table (the footer's source too):
/// one column when it fits the terminal's height, else two, groups kept
/// whole.
fn render_help(state: &State, area: Rect, frame: &mut Frame) {
    let groups = state.keys.help_lines();
    let keys_width = groups
        .iter()
        .flat_map(|(_, rows)| rows.iter().map(|(keys, _)| width(keys)))
        .max()
        .unwrap_or(0)
        + 1;
    let blocks: Vec<Vec<Line>> = groups
        .into_iter()
        .map(|(title, rows)| {
            let mut lines = vec![Line::from(Span::styled(title, Style::new().bold()))];
            for (keys, what) in rows {
                let pad = " ".repeat(keys_width.saturating_sub(width(&keys)));
                lines.push(Line::from(vec![
                    Span::styled(format!("  {keys}{pad}"), Style::new().fg(Color::Cyan)),
                    Span::raw(what),
                ]));
            }
            lines
        })
        .collect();
    let note = Line::from("The dashboard only reads: it never types into a Session.").dim();
    let total: usize = blocks.iter().map(Vec::len).sum::<usize>();
    let column_width = (keys_width + 2 + 18).max(30);
    let two =
        total + 4 > usize::from(area.height) && usize::from(area.width) >= 2 * column_width + 3;
    let mut columns: Vec<Vec<Line>> = vec![Vec::new()];
    let half = total.div_ceil(2);
    for block in blocks {
        if two
            && columns.len() == 1
            && columns[0].len() + block.len() > half
            && !columns[0].is_empty()
        {
            columns.push(Vec::new());
        }
        columns.last_mut().expect("one column").extend(block);
    }
    let rows = columns.iter().map(Vec::len).max().unwrap_or(0) as u16;
    // The keys, a blank line, the note, and the borders.
    let height = (rows + 4).min(area.height);
    let width = if two {
        (2 * column_width as u16 + 3).min(area.width)
    } else {
        60.min(area.width)
    };
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, popup);
    let block = focus_block(Line::from("Keys · Esc or ? closes"), true);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [keys, note_area] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(2)]).areas(inner);
    frame.render_widget(Paragraph::new(vec![Line::from(""), note]), note_area);
    let n = columns.len() as u32;
    let parts = Layout::horizontal((0..n).map(|_| Constraint::Ratio(1, n))).split(keys);
    for (column, part) in columns.into_iter().zip(parts.iter()) {
        frame.render_widget(Paragraph::new(column), *part);
    }
}

/// Untrusted text (names, commands, paths, error messages) escaped for
/// the terminal by the one helper every command uses.
fn printable(text: &str) -> String {
    agent_tty_core::text::escape(text).into_owned()
}

fn render_pane(overlay: &Overlay, area: Rect, out: &mut Buffer) {
    if let Some(e) = &overlay.error {
        let lines = vec![
            Line::from(Span::styled(
                format!(" {} failed ", printable(&overlay.pane.spec.title)),
                Style::new().fg(Color::Black).bg(Color::Red),
            )),
            Line::from(""),
            Line::from(printable(e)).red(),
            Line::from(""),
            Line::from("Esc closes this pane; q quits. The rest of the dashboard is unaffected.")
                .dim(),
        ];
        ratatui::widgets::Widget::render(
            Paragraph::new(lines).wrap(Wrap { trim: true }),
            area,
            out,
        );
        return;
    }
    let Some(PaneFrame { lines, .. }) = &overlay.frame else {
        let text = format!("Opening {}…", printable(&overlay.pane.spec.title));
        out.set_stringn(
            area.x,
            area.y,
            text,
            usize::from(area.width),
            Style::new().dim(),
        );
        return;
    };
    for (dy, line) in lines.iter().take(area.height as usize).enumerate() {
        let mut x = area.x;
        let y = area.y + dy as u16;
        for span in &line.spans {
            if x >= area.right() {
                break;
            }
            let (next, _) = out.set_stringn(
                x,
                y,
                printable(&span.text),
                (area.right() - x) as usize,
                Style::from(span.style),
            );
            x = next;
        }
    }
}

/// The footer: a message first, whole, or cut with "…" when even the
/// whole line cannot hold it, because a message is what the person needs to
/// read now; then the key hints that still fit (see
/// [`KeyTable::fitting_hints`](crate::keys::KeyTable::fitting_hints)).
fn render_footer(state: &State, area: Rect, frame: &mut Frame) {
    let mut room = usize::from(area.width);
    let mut spans: Vec<Span> = Vec::new();
    if let Some(m) = &state.message {
        let text = cut_to_width(&format!(" {} ", printable(m)), room);
        room -= width(&text);
        spans.push(Span::styled(text, Style::new().fg(Color::Yellow)));
    }
    // After a message, hints need one more column for the "·" between.
    let room = room.saturating_sub(usize::from(state.message.is_some()));
    let mut hints: Vec<Span> = Vec::new();
    if let Some(o) = &state.overlay {
        // The pane's own hints when it gives them (the one footer line).
        let given = o.frame.as_ref().and_then(|f| f.footer.as_deref());
        let hint = match given.filter(|_| o.error.is_none()) {
            Some(keys) => cut_to_width(&format!(" {}", printable(keys)), room),
            None => {
                let quit = if o.text_input() {
                    "Ctrl-C quits"
                } else {
                    "q quits"
                };
                format!(" {} · {quit}", printable(&o.pane.spec.title))
            }
        };
        if width(&hint) <= room {
            hints.push(Span::raw(hint));
        }
    } else {
        let hint_width = |keys: &str, what: &str| width(keys) + width(what) + 3;
        for (keys, what) in state
            .keys
            .fitting_hints(state.key_context(), room, hint_width)
        {
            hints.push(Span::styled(format!(" {keys}"), Style::new().bold()));
            hints.push(Span::raw(format!(" {what} ")));
        }
    }
    if !spans.is_empty() && !hints.is_empty() {
        spans.push(Span::raw("·"));
    }
    spans.extend(hints);
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// `text` if it fits in `room` columns, else as much of its start as fits
/// followed by "…".
fn cut_to_width(text: &str, room: usize) -> String {
    if width(text) <= room {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = width(c.encode_utf8(&mut [0; 4]));
        if used + w + 1 > room {
            break;
        }
        out.push(c);
        used += w;
    }
    if room > 0 {
        out.push('…');
    }
    out
}

/// How many columns `text` takes on a terminal.
fn width(text: &str) -> usize {
    Span::raw(text).width()
}
