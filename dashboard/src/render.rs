//! Drawing: a pure function of [`State`] into a ratatui [`Frame`].
//!
//! ```text
//!  agent-tty · Home /path/to/home · Active Sessions · read-only
//! ┌Sessions (2 active)──────────────────────────────────────────┐
//! │ID                          NAME   STATUS   AGE     COMMAND  │
//! │01JD…                       build  running  3m ago  make -j  │
//! └─────────────────────────────────────────────────────────────┘
//! ┌Live View · build · 80×24 · running──────────────────────────┐
//! │<the Session's screen at its own size, clipped or panned>    │
//! └─────────────────────────────────────────────────────────────┘
//!  q quit · Tab focus · Enter maximise · j/k select · a active/all · H Homes
//! ```

use crate::app::{Focus, Listing, Overlay, State};
use crate::live::LiveSnapshot;
use crate::session::SessionRow;
use agent_tty_core::time::{parse_iso, relative_age};
use agent_tty_plugin_api::PaneFrame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

/// Draws the whole dashboard.
pub fn render(state: &State, frame: &mut Frame) {
    let area = frame.area();
    let [body, footer] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
    if let Some(overlay) = &state.overlay {
        render_pane(overlay, body, frame.buffer_mut());
        render_footer(state, footer, frame);
        return;
    }
    let [header, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
    render_header(state, header, frame);
    if state.maximised {
        render_live(state, main, frame);
    } else {
        let list_height = match &state.listing {
            Listing::Loaded(rows) if !rows.is_empty() => rows.len() as u16 + 3,
            _ => 5,
        };
        let list_height = list_height.min(main.height / 3).max(5);
        let [list, live] =
            Layout::vertical([Constraint::Length(list_height), Constraint::Min(0)]).areas(main);
        render_sessions(state, list, frame);
        render_live(state, live, frame);
    }
    render_footer(state, footer, frame);
}

fn render_header(state: &State, area: Rect, frame: &mut Frame) {
    let scope = if state.scope_all {
        "all Sessions"
    } else {
        "Active Sessions"
    };
    let line = Line::from(vec![
        Span::raw(" agent-tty · Home "),
        Span::styled(state.home.as_str(), Style::new().bold()),
        Span::raw(format!(" · {scope} · ")),
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

fn render_sessions(state: &State, area: Rect, frame: &mut Frame) {
    let focused = state.focus == Focus::Sessions;
    let scope = if state.scope_all { "all" } else { "active" };
    let rows: &[SessionRow] = match &state.listing {
        Listing::Loaded(rows) => rows,
        _ => &[],
    };
    let title = Line::from(format!("Sessions ({} {scope})", rows.len()));
    let block = focus_block(title, focused);
    let empty = match &state.listing {
        Listing::Loading => Some(Line::from("Listing Sessions…").dim()),
        Listing::Failed(e) => Some(Line::from(e.clone()).red()),
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
    let header = Row::new(["ID", "NAME", "STATUS", "AGE", "COMMAND"]).style(Style::new().bold());
    let body = rows.iter().enumerate().map(|(i, r)| {
        let age = parse_iso(&r.created_at)
            .map(|t| relative_age(t, state.now))
            .unwrap_or_default();
        let status_style = match (r.is_active(), r.status.as_str()) {
            (true, _) => Style::new().fg(Color::Green),
            (false, "failed") => Style::new().fg(Color::Red),
            _ => Style::new().fg(Color::DarkGray),
        };
        let row = Row::new(vec![
            Cell::from(r.session_id.clone()),
            Cell::from(r.name.clone().unwrap_or_default()),
            Cell::from(r.status.clone()).style(status_style),
            Cell::from(age),
            Cell::from(r.command.join(" ")),
        ]);
        if i == state.selected {
            row.style(Style::new().add_modifier(Modifier::REVERSED))
        } else {
            row
        }
    });
    // Scroll so the selected row stays in view.
    let visible = area.height.saturating_sub(3) as usize;
    let skip = (state.selected + 1).saturating_sub(visible);
    let table = Table::new(
        body.skip(skip),
        [
            Constraint::Length(26),
            Constraint::Length(14),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Min(8),
        ],
    )
    .header(header)
    .block(block);
    frame.render_widget(table, area);
}

fn empty_sessions_text(state: &State) -> String {
    let create = format!("agent-tty --home {} create -- <command>", state.home);
    if state.scope_all {
        format!("No Sessions in this Home. Start one with `{create}`.")
    } else {
        format!(
            "No Active Sessions in this Home. Press a to include ended ones, or start one with `{create}`."
        )
    }
}

fn render_live(state: &State, area: Rect, frame: &mut Frame) {
    let focused = state.focus == Focus::LiveView || state.maximised;
    let session = state.selected_session();
    let live = state
        .live
        .as_ref()
        .filter(|l| Some(l.session_id.as_str()) == session.map(|s| s.session_id.as_str()));
    let mut title = vec![Span::raw("Live View")];
    if let Some(s) = session {
        title.push(Span::raw(format!(
            " · {}",
            s.name.as_deref().unwrap_or(&s.session_id)
        )));
    }
    if let Some(l) = live {
        let (w, h) = (l.screen.area.width, l.screen.area.height);
        title.push(Span::raw(format!(" · {w}×{h}")));
        let inner = (area.width.saturating_sub(2), area.height.saturating_sub(2));
        if state.pan != (0, 0) {
            let (x, y) = state.pan;
            title.push(Span::raw(format!(" · panned to column {x}, row {y}")));
        } else if w > inner.0 || h > inner.1 {
            title.push(Span::raw(" · clipped"));
        }
    }
    if let Some(badge) = status_badge(session, live) {
        title.push(Span::raw(" · "));
        title.push(badge);
    }
    // The frame hugs the Session's own size (widened only to fit its title)
    // when that fits, so the box shows where the Session's screen ends.
    let area = match live {
        Some(l) => Rect {
            width: area
                .width
                .min(l.screen.area.width.saturating_add(2))
                .max(title_width(&title)),
            height: area.height.min(l.screen.area.height.saturating_add(2)),
            ..area
        }
        .intersection(area),
        None => area,
    };
    let block = focus_block(Line::from(title), focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let note = match (session, live) {
        (None, _) => Some(Line::from("No Session selected.").dim()),
        (Some(_), None) => Some(Line::from("Reading the Event Log…").dim()),
        (Some(_), Some(l)) => l.error.as_ref().map(|e| Line::from(e.clone()).red()),
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

fn status_badge(
    session: Option<&SessionRow>,
    live: Option<&LiveSnapshot>,
) -> Option<Span<'static>> {
    let session = session?;
    if let Some(exit) = live.and_then(|l| l.exit.as_ref()) {
        let (text, ok) = match (&exit.exit_code, &exit.exit_signal) {
            (Some(code), _) => (format!(" exited {code} "), *code == 0),
            (None, Some(sig)) => (format!(" killed by {sig} "), false),
            _ => (" exited ".to_owned(), false),
        };
        let bg = if ok { Color::Green } else { Color::Red };
        return Some(Span::styled(text, Style::new().fg(Color::Black).bg(bg)));
    }
    match session.end_badge() {
        Some(text) => Some(Span::styled(
            format!(" {text} "),
            Style::new().fg(Color::Black).bg(Color::Red),
        )),
        None => Some(Span::styled(
            session.status.clone(),
            Style::new().fg(Color::Green),
        )),
    }
}

/// Copies the Session's screen into `area`, starting at `pan`, clipping what
/// does not fit. The Session is never resized to the view.
fn blit_screen(live: &LiveSnapshot, pan: (u16, u16), area: Rect, out: &mut Buffer) {
    let src = &live.screen;
    for dy in 0..area.height {
        let sy = pan.1 + dy;
        if sy >= src.area.height {
            break;
        }
        for dx in 0..area.width {
            let sx = pan.0 + dx;
            if sx >= src.area.width {
                break;
            }
            let mut cell = src[(sx, sy)].clone();
            if live.cursor == Some((sx, sy)) && live.exit.is_none() {
                cell.modifier.toggle(Modifier::REVERSED);
            }
            out[(area.x + dx, area.y + dy)] = cell;
        }
    }
}

fn render_pane(overlay: &Overlay, area: Rect, out: &mut Buffer) {
    let Some(PaneFrame { lines }) = &overlay.frame else {
        let text = format!("Opening {}…", overlay.pane.spec.title);
        out.set_string(area.x, area.y, text, Style::new().dim());
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
                &span.text,
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
        let text = cut_to_width(&format!(" {m} "), room);
        room -= width(&text);
        spans.push(Span::styled(text, Style::new().fg(Color::Yellow)));
    }
    // After a message, hints need one more column for the "·" between.
    let room = room.saturating_sub(usize::from(state.message.is_some()));
    let mut hints: Vec<Span> = Vec::new();
    if let Some(o) = &state.overlay {
        let hint = format!(" {} · Ctrl-C quits", o.pane.spec.title);
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
