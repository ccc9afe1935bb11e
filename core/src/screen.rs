//! Replaying an Event Log through a VT emulator: the one implementation behind
//! `snapshot`, `wait` and the dashboard's Live View.
//!
//! The screen is rebuilt from `output` and `resize` events only; it never asks
//! a Session's host, so it works the same for live Sessions, ended ones, and
//! Homes written by agent-tty 0.5.

use crate::error::Result;
use crate::event_log::{event_log_path, Event, EventBody, EventLogFollower};
use crate::manifest::Manifest;
use std::path::Path;

/// How a Session ended, as its `exit` event recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitInfo {
    /// The exit status, when it exited normally.
    pub exit_code: Option<i32>,
    /// The signal name, when a signal ended it.
    pub exit_signal: Option<String>,
}

/// A VT screen fed from Event Log events.
pub struct ScreenReplay {
    parser: vt100::Parser,
    exit: Option<ExitInfo>,
    last_seq: Option<u64>,
}

impl ScreenReplay {
    /// Lines of scrollback kept by default.
    pub const DEFAULT_SCROLLBACK: usize = 1000;

    /// An empty screen of this size.
    pub fn new(cols: u16, rows: u16) -> Self {
        Self::with_scrollback(cols, rows, Self::DEFAULT_SCROLLBACK)
    }

    /// An empty screen keeping `scrollback` lines above the visible ones.
    pub fn with_scrollback(cols: u16, rows: u16, scrollback: usize) -> Self {
        ScreenReplay {
            parser: vt100::Parser::new(rows.max(1), cols.max(1), scrollback),
            exit: None,
            last_seq: None,
        }
    }

    /// An empty screen at the size a Session was created with (later
    /// `resize` events in its log change it).
    pub fn for_manifest(manifest: &Manifest) -> Self {
        Self::new(
            manifest.creation_cols.unwrap_or(manifest.cols),
            manifest.creation_rows.unwrap_or(manifest.rows),
        )
    }

    /// Applies one event.
    pub fn apply(&mut self, event: &Event) {
        self.last_seq = Some(event.seq);
        match &event.body {
            EventBody::Output { data } => self.parser.process(data.as_bytes()),
            EventBody::Resize { cols, rows } => self
                .parser
                .screen_mut()
                .set_size((*rows).max(1), (*cols).max(1)),
            EventBody::Exit {
                exit_code,
                exit_signal,
            } => {
                self.exit = Some(ExitInfo {
                    exit_code: *exit_code,
                    exit_signal: exit_signal.clone(),
                })
            }
            _ => {}
        }
    }

    /// The emulated screen.
    pub fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }

    /// The visible rows as text, trailing spaces trimmed.
    pub fn visible_lines(&self) -> Vec<String> {
        let screen = self.parser.screen();
        let (_, cols) = screen.size();
        screen
            .rows(0, cols)
            .map(|r| r.trim_end().to_owned())
            .collect()
    }

    /// How the Session ended, once its `exit` event was applied.
    pub fn exit(&self) -> Option<&ExitInfo> {
        self.exit.as_ref()
    }

    /// The `seq` of the last event applied.
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }
}

/// Replays a whole Session's Event Log.
pub fn replay_session(session_dir: &Path, manifest: &Manifest) -> Result<ScreenReplay> {
    let mut replay = ScreenReplay::for_manifest(manifest);
    EventLogFollower::new(&event_log_path(session_dir)).read_new(|e| replay.apply(&e))?;
    Ok(replay)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: u64, body: EventBody) -> Event {
        Event {
            seq,
            ts: "2026-11-24T03:50:02.677Z".into(),
            body,
        }
    }

    #[test]
    fn output_and_resize_shape_the_screen() {
        let mut r = ScreenReplay::new(20, 3);
        r.apply(&ev(
            0,
            EventBody::Output {
                data: "hello\r\n\x1b[1mworld\x1b[0m".into(),
            },
        ));
        assert_eq!(r.visible_lines(), ["hello", "world", ""]);
        r.apply(&ev(1, EventBody::Resize { cols: 10, rows: 2 }));
        assert_eq!(r.screen().size(), (2, 10));
        r.apply(&ev(
            2,
            EventBody::Exit {
                exit_code: Some(3),
                exit_signal: None,
            },
        ));
        assert_eq!(r.exit().unwrap().exit_code, Some(3));
        assert_eq!(r.last_seq(), Some(2));
    }
}
