//! `snapshot <id> [--format structured|text] [--include-scrollback]
//! [--include-cells]`: the screen rebuilt offline from the Event Log, for any
//! Session — running, ended, or written by agent-tty 0.5 — in 0.5's shapes
//! (contract §3.13).
//!
//! Unlike 0.5, reading never writes: no `artifacts/snapshot-*.json` is left
//! in the Session (the contract's defect list), and an empty Event Log is an
//! empty screen rather than an error.

use super::target::Target;
use agent_tty_core::screen::{replay_session_with_scrollback, ScreenReplay};
use agent_tty_plugin_api::{ArgSpec, Command, CommandSpec};
use agent_tty_plugin_api::{CommandOutput, ErrorCode, Invocation, PluginError};
use agent_tty_term::cells::{Cell, CellColor, CellWidth};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The output shapes `--format` accepts.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Format {
    /// 0.5's default: size, cursor, alt screen, every visible row.
    Structured,
    /// The lines as one text.
    Text,
}

/// `screenHash` (contract §7.9): lowercase hex SHA-256 of the visible rows'
/// text joined by `\n` (no scrollback, no trailing newline). The same value
/// in structured and text snapshots and in matched waits.
pub(crate) fn screen_hash(visible: &[String]) -> String {
    let digest = Sha256::digest(visible.join("\n").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// `snapshot`: its spec beside its handler ([`snapshot`]).
pub(super) fn command() -> Command {
    let spec = CommandSpec::new(
        &["snapshot"],
        "Show a Session's screen, rebuilt from its Event Log",
    )
    .arg(super::session_id_arg())
    .arg(
        ArgSpec::option("format", "FORMAT", "structured (default) or text")
            .values(&["structured", "text"]),
    )
    .arg(ArgSpec::flag(
        "include-scrollback",
        "Include the lines scrolled off the top",
    ))
    .arg(ArgSpec::flag(
        "include-cells",
        "Include every cell's character, colours and attributes (structured only)",
    ));
    let spec = super::snapshot_since::args()
        .into_iter()
        .fold(spec, |s, a| s.arg(a));
    Command::new(spec, |_, inv| snapshot(inv))
}

pub(super) fn snapshot(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let format = match inv.value("format").unwrap_or("structured") {
        f if f.eq_ignore_ascii_case("structured") => Format::Structured,
        f if f.eq_ignore_ascii_case("text") => Format::Text,
        other => {
            return Err(PluginError::new(
                ErrorCode::InvalidInput,
                "Snapshot format must be one of: structured, text.",
            )
            .with_details(json!({ "format": other })))
        }
    };
    let with_scrollback = inv.flag("include-scrollback");
    let with_cells = inv.flag("include-cells");
    if let Some(since) = super::snapshot_since::requested(inv)? {
        let target = Target::find(inv)?;
        return super::snapshot_since::snapshot_since(&target, &since);
    }
    let target = Target::find(inv)?;
    Ok(snapshot_of(&target, format, with_scrollback, with_cells)?.with_warnings_in_result())
}

/// The snapshot of a Session, rebuilt from its Event Log: the result and
/// human text of `snapshot`, also the host's answer to 0.5's `snapshot`.
/// What the replay skipped in a damaged log is in `warnings`.
pub(crate) fn snapshot_of(
    target: &Target,
    format: Format,
    with_scrollback: bool,
    with_cells: bool,
) -> Result<CommandOutput, PluginError> {
    let scrollback = if with_scrollback {
        ScreenReplay::DEFAULT_SCROLLBACK
    } else {
        0
    };
    let mut replay = replay_session_with_scrollback(&target.dir, &target.manifest, scrollback)?;
    let visible = replay.visible_lines();
    let scrollback_lines = if with_scrollback {
        let mut all = replay.lines_with_scrollback();
        all.truncate(all.len() - visible.len());
        all
    } else {
        Vec::new()
    };
    let (cols, rows) = replay.size();
    let (cursor_row, cursor_col) = replay.cursor();
    let hash = screen_hash(&visible);
    let mut result = Map::new();
    result.insert(
        "format".into(),
        json!(if format == Format::Text {
            "text"
        } else {
            "structured"
        }),
    );
    result.insert("sessionId".into(), json!(target.id));
    result.insert(
        "capturedAtSeq".into(),
        json!(replay.last_seq().unwrap_or(0)),
    );
    result.insert("cols".into(), json!(cols));
    result.insert("rows".into(), json!(rows));
    result.insert("cursorRow".into(), json!(cursor_row));
    result.insert("cursorCol".into(), json!(cursor_col));
    let numbered = |lines: &[String]| -> Value {
        lines
            .iter()
            .enumerate()
            .map(|(row, text)| json!({ "row": row, "text": text }))
            .collect()
    };
    let mut human = format!(
        "Session ID: {}\nCaptured At Seq: {}\nFormat: {}\nSize: {cols}x{rows}\nCursor: row {cursor_row}, col {cursor_col}\n",
        target.id,
        result["capturedAtSeq"],
        result["format"].as_str().unwrap_or_default(),
    );
    match format {
        Format::Structured => {
            let alt = replay.is_alt_screen();
            result.insert("isAltScreen".into(), json!(alt));
            result.insert("visibleLines".into(), numbered(&visible));
            if with_scrollback {
                result.insert("scrollbackLines".into(), numbered(&scrollback_lines));
            }
            if with_cells {
                result.insert(
                    "cells".into(),
                    cells(&replay.visible_cells(), (cursor_row, cursor_col)),
                );
            }
            human.push_str(&format!("Alt Screen: {}\n", if alt { "yes" } else { "no" }));
            if with_scrollback {
                human.push_str(&listing("Scrollback Lines", &scrollback_lines));
            }
            human.push_str(&listing("Visible Lines", &visible));
        }
        Format::Text => {
            let text = scrollback_lines
                .iter()
                .chain(&visible)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n");
            human.push_str("Text:\n");
            human.push_str(if text.trim().is_empty() {
                "(empty)"
            } else {
                &text
            });
            result.insert("text".into(), json!(text));
        }
    }
    result.insert("screenHash".into(), json!(hash));
    let mut output = CommandOutput::new(Value::Object(result), human);
    // On stderr only: 0.5's socket answer takes no key of ours.
    output
        .warnings
        .extend(replay.skipped().warning(&target.event_log()));
    Ok(output)
}

/// `Visible Lines (N):` then `  [row] text`, or `(none)`.
fn listing(title: &str, lines: &[String]) -> String {
    let mut out = format!("{title} ({}):\n", lines.len());
    if lines.is_empty() {
        out.push_str("  (none)\n");
    }
    for (row, text) in lines.iter().enumerate() {
        out.push_str(&format!("  [{row}] {text}\n"));
    }
    out
}

/// `--include-cells`: per row up to the last occupied cell, one entry per
/// column (`""` for the spacer after a wide glyph), with colours as
/// `#rrggbb` and attributes only when set — the shape 0.5's libghostty-vt
/// renderer emits. Rows after the last occupied one are left out. Built from
/// core's engine-neutral [`Cell`]s.
///
/// The emulator does not tell a space that was written from a blank cell,
/// so on the cursor's row every cell before the cursor counts as occupied:
/// a prompt's trailing space (`bash-5.2# `) is kept, as 0.5 keeps it.
fn cells(rows: &[Vec<Cell>], cursor: (u16, u16)) -> Value {
    let occupied = |c: &Cell| !c.text.is_empty() || c.bg != CellColor::Default || c.inverse;
    let mut out: Vec<(usize, Vec<Value>)> = Vec::new();
    for (row, line) in rows.iter().enumerate() {
        let mut end = line.iter().rposition(occupied).map_or(0, |i| i + 1);
        if row == usize::from(cursor.0) {
            end = end.max(usize::from(cursor.1).min(line.len()));
        }
        let entries = line[..end]
            .iter()
            .map(|cell| {
                let mut entry = Map::new();
                let text = match cell.width {
                    CellWidth::WideSpacer => String::new(),
                    _ if cell.text.is_empty() => " ".to_owned(),
                    _ => cell.text.clone(),
                };
                entry.insert("char".into(), json!(text));
                let (fg, bg) = if cell.inverse {
                    (cell.bg, cell.fg)
                } else {
                    (cell.fg, cell.bg)
                };
                if let Some(c) = colour(fg) {
                    entry.insert("fg".into(), json!(c));
                }
                if let Some(c) = colour(bg) {
                    entry.insert("bg".into(), json!(c));
                }
                for (name, on) in [
                    ("bold", cell.bold),
                    ("italic", cell.italic),
                    ("underline", cell.underline),
                    ("strikethrough", cell.strikethrough),
                ] {
                    if on {
                        entry.insert(name.into(), json!(true));
                    }
                }
                Value::Object(entry)
            })
            .collect();
        out.push((row, entries));
    }
    while out.last().is_some_and(|(_, l)| l.is_empty()) {
        out.pop();
    }
    out.into_iter()
        .map(|(row, cells)| json!({ "lineNumber": row, "cells": cells }))
        .collect()
}

/// A colour as `#rrggbb` (the xterm palette for indexed colours); none for
/// the default colour.
fn colour(c: CellColor) -> Option<String> {
    let (r, g, b) = match c {
        CellColor::Default => return None,
        CellColor::Rgb { r, g, b } => (r, g, b),
        CellColor::Indexed { index } => xterm_rgb(index),
    };
    Some(format!("#{r:02x}{g:02x}{b:02x}"))
}

/// The xterm 256-colour palette.
fn xterm_rgb(i: u8) -> (u8, u8, u8) {
    const BASIC: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    match i {
        0..=15 => BASIC[usize::from(i)],
        16..=231 => {
            let n = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(n / 36), level((n / 6) % 6), level(n % 6))
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            (v, v, v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screen_hash_is_sha256_of_the_visible_rows_joined() {
        // The 0.5 fixture's hash of "12".."40" and its prompt (driven/).
        let mut lines: Vec<String> = (12..=40).map(|n| n.to_string()).collect();
        lines.push("bash-5.2#".into());
        assert_eq!(
            screen_hash(&lines),
            "83b3183a2ad8a772beee7dc711b781f00da1e8db1879edd0fabc685204f2ff09"
        );
    }

    #[test]
    fn cells_carry_colours_attributes_and_wide_spacers() {
        let mut replay = ScreenReplay::new(10, 3);
        replay.apply(&agent_tty_core::event_log::Event {
            seq: 0,
            ts: "2026-11-24T03:50:02.700Z".into(),
            body: agent_tty_core::event_log::EventBody::Output {
                data: "\x1b[1;31mA\x1b[0m\x1b[48;2;1;2;3mB\x1b[0m界x\r\n".into(),
            },
        });
        let cells = cells(&replay.visible_cells(), (1, 0));
        assert_eq!(
            cells,
            json!([{ "lineNumber": 0, "cells": [
                { "char": "A", "fg": "#cd0000", "bold": true },
                { "char": "B", "bg": "#010203" },
                { "char": "界" },
                { "char": "" },
                { "char": "x" },
            ]}])
        );
    }

    #[test]
    fn palette_cube_and_greys() {
        assert_eq!(xterm_rgb(16), (0, 0, 0));
        assert_eq!(xterm_rgb(196), (255, 0, 0));
        assert_eq!(xterm_rgb(232), (8, 8, 8));
        assert_eq!(xterm_rgb(255), (238, 238, 238));
    }
}
