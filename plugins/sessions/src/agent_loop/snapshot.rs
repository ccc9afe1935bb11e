//! `snapshot <id> [--format text|structured] [--include-scrollback]`: the
//! screen rebuilt offline from the Event Log, for any Session — running,
//! ended, or written by agent-tty 0.5.

use super::target::Target;
use agent_tty_core::screen::{replay_session_with_scrollback, ScreenReplay};
use agent_tty_plugin_api::{CommandOutput, ErrorCode, Invocation, PluginError};
use serde_json::json;

/// The output shapes `--format` accepts.
#[derive(Clone, Copy, PartialEq)]
enum Format {
    /// The screen's lines, trailing blank lines dropped.
    Text,
    /// Size, cursor and every row.
    Structured,
}

pub(super) fn snapshot(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let format = match inv.value("format").unwrap_or("text") {
        f if f.eq_ignore_ascii_case("text") => Format::Text,
        f if f.eq_ignore_ascii_case("structured") => Format::Structured,
        other => {
            return Err(PluginError::new(
                ErrorCode::InvalidInput,
                format!("--format {other:?} is not a snapshot format; use text or structured"),
            ))
        }
    };
    let with_scrollback = inv.flag("include-scrollback");
    let target = Target::find(inv)?;
    let scrollback = if with_scrollback {
        ScreenReplay::DEFAULT_SCROLLBACK
    } else {
        0
    };
    let mut replay = replay_session_with_scrollback(&target.dir, &target.manifest, scrollback)?;
    let mut lines = if with_scrollback {
        replay.lines_with_scrollback()
    } else {
        replay.visible_lines()
    };
    let (cols, rows) = replay.size();
    let (cursor_row, cursor_col) = replay.cursor();
    let scrollback_lines = lines.len() - usize::from(rows);
    let status = target.manifest.status.as_str();
    let result = match format {
        Format::Text => {
            while lines.last().is_some_and(String::is_empty) {
                lines.pop();
            }
            json!({
                "sessionId": target.id,
                "format": "text",
                "status": status,
                "text": lines.join("\n"),
            })
        }
        Format::Structured => json!({
            "sessionId": target.id,
            "format": "structured",
            "status": status,
            "cols": cols,
            "rows": rows,
            "cursor": { "row": cursor_row, "col": cursor_col },
            "scrollbackLines": scrollback_lines,
            "lines": lines,
            "seq": replay.last_seq(),
        }),
    };
    let mut human = lines.join("\n");
    while human.ends_with('\n') {
        human.pop();
    }
    Ok(CommandOutput::new(result, human))
}
