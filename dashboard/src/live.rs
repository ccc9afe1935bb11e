//! The Live View: follow one Session's Event Log and turn its replayed
//! screen into cells.
//!
//! A worker thread owns the [`EventLogFollower`] and the [`ScreenReplay`]. It
//! reads only what was appended since its last look (the follower keeps the
//! offset and a torn last line), so a 50 MB log is read once, chunk by chunk,
//! and then followed in constant memory. After each batch it publishes a
//! [`LiveSnapshot`]: the visible screen as a ratatui [`Buffer`] at the
//! Session's own size. The drawing thread only ever copies cells out of the
//! latest snapshot; it never parses, never blocks on the file, and the
//! Session is never asked for anything.
//!
//! The worker looks for new bytes every [`FOLLOW_INTERVAL`] while a live
//! Session is shown, and sleeps on its command channel otherwise (no Session
//! shown, or the Session's `exit` event was seen and its log can no longer
//! grow).

use agent_tty_core::event_log::{event_log_path, EventLogFollower};
use agent_tty_core::manifest::read_manifest;
use agent_tty_core::screen::{ExitInfo, ScreenReplay};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

/// How often a shown, still-running Session's Event Log is checked for
/// appends: well inside the 50 ms the Live View promises, and cheap (one
/// `stat` when nothing changed).
pub const FOLLOW_INTERVAL: Duration = Duration::from_millis(20);

/// Which Session the Live View shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowTarget {
    /// Its id.
    pub session_id: String,
    /// Its directory, `<home>/sessions/<id>`.
    pub session_dir: PathBuf,
}

/// The Live View's picture of a Session at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSnapshot {
    /// Which Session.
    pub session_id: String,
    /// The visible screen at the Session's own size.
    pub screen: Buffer,
    /// Where the Session's cursor is, when it is shown.
    pub cursor: Option<(u16, u16)>,
    /// How it ended, once its `exit` event was replayed.
    pub exit: Option<ExitInfo>,
    /// Why the Event Log could not be read, if it could not.
    pub error: Option<String>,
}

/// Copies a replayed screen into a buffer of the same size, cell by cell.
pub fn screen_to_buffer(screen: &vt100::Screen) -> Buffer {
    let (rows, cols) = screen.size();
    let mut buffer = Buffer::empty(Rect::new(0, 0, cols, rows));
    for row in 0..rows {
        for col in 0..cols {
            let Some(cell) = screen.cell(row, col) else {
                continue;
            };
            if cell.is_wide_continuation() {
                continue;
            }
            let target = &mut buffer[(col, row)];
            if cell.has_contents() {
                target.set_symbol(cell.contents());
            }
            target.set_style(cell_style(cell));
        }
    }
    buffer
}

fn cell_style(cell: &vt100::Cell) -> Style {
    let mut style = Style::default()
        .fg(color(cell.fgcolor()))
        .bg(color(cell.bgcolor()));
    let flags = [
        (cell.bold(), Modifier::BOLD),
        (cell.italic(), Modifier::ITALIC),
        (cell.underline(), Modifier::UNDERLINED),
        (cell.inverse(), Modifier::REVERSED),
    ];
    for (on, modifier) in flags {
        if on {
            style = style.add_modifier(modifier);
        }
    }
    style
}

fn color(c: vt100::Color) -> Color {
    match c {
        vt100::Color::Default => Color::Reset,
        vt100::Color::Idx(i) => Color::Indexed(i),
        vt100::Color::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

/// One followed Session: the follower, its replay, and whether it ended.
struct Followed {
    target: FollowTarget,
    follower: EventLogFollower,
    replay: Option<ScreenReplay>,
    log: PathBuf,
    error: Option<String>,
}

impl Followed {
    fn new(target: FollowTarget) -> Self {
        let log = event_log_path(&target.session_dir);
        Followed {
            follower: EventLogFollower::new(&log),
            replay: None,
            log,
            error: None,
            target,
        }
    }

    /// Reads what was appended; returns whether the picture changed.
    fn poll(&mut self) -> bool {
        if self.replay.is_none() {
            // The manifest gives the size the Session was created at; later
            // `resize` events in the log change it. Reading it writes nothing.
            match read_manifest(&self.target.session_dir) {
                Ok(m) => self.replay = Some(ScreenReplay::for_manifest(&m)),
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
        let replay = self.replay.as_mut().expect("created above");
        match self.follower.read_new(|event| replay.apply(&event)) {
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
        self.replay.as_ref().is_some_and(|r| r.exit().is_some())
    }

    fn snapshot(&self) -> LiveSnapshot {
        let (screen, cursor, exit) = match &self.replay {
            Some(r) => {
                let (row, col) = r.cursor();
                let cursor = (!r.screen().hide_cursor()).then_some((col, row));
                (screen_to_buffer(r.screen()), cursor, r.exit().cloned())
            }
            None => (Buffer::empty(Rect::new(0, 0, 0, 0)), None, None),
        };
        LiveSnapshot {
            session_id: self.target.session_id.clone(),
            screen,
            cursor,
            exit,
            error: self.error.clone(),
        }
    }
}

/// The Live View worker: follows whichever Session the last command named
/// (`None` stops following) and hands every changed picture to `publish`.
/// Returns when the command channel closes.
pub fn follow_worker(commands: Receiver<Option<FollowTarget>>, publish: impl Fn(LiveSnapshot)) {
    let mut current: Option<Followed> = None;
    loop {
        let next = match &current {
            Some(f) if !f.ended() => match commands.recv_timeout(FOLLOW_INTERVAL) {
                Ok(cmd) => Some(cmd),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            },
            _ => match commands.recv() {
                Ok(cmd) => Some(cmd),
                Err(_) => return,
            },
        };
        if let Some(mut cmd) = next {
            // Only the latest target matters when several arrived at once.
            while let Ok(newer) = commands.try_recv() {
                cmd = newer;
            }
            match cmd {
                Some(target) if current.as_ref().map(|f| &f.target) == Some(&target) => {}
                Some(target) => {
                    let mut f = Followed::new(target);
                    f.poll();
                    publish(f.snapshot());
                    current = Some(f);
                    continue;
                }
                None => {
                    current = None;
                    continue;
                }
            }
        }
        if let Some(f) = current.as_mut() {
            if f.poll() {
                publish(f.snapshot());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_tty_core::event_log::{EventBody, EventLogWriter};
    use agent_tty_core::manifest::{write_manifest, Manifest, Status};
    use std::sync::mpsc;

    const ID: &str = "01JD0000000000000000000000";

    fn session(dir: &std::path::Path) -> EventLogWriter {
        write_manifest(
            dir,
            &Manifest {
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
                cols: 20,
                rows: 4,
                creation_cols: None,
                creation_rows: None,
                idle_timeout_ms: None,
                host_pid: None,
                child_pid: None,
                exit_code: None,
                exit_signal: None,
            },
        )
        .unwrap();
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

    #[test]
    fn the_screen_keeps_the_sessions_size_text_and_attributes() {
        let mut r = ScreenReplay::new(12, 2);
        r.apply(&agent_tty_core::event_log::Event {
            seq: 0,
            ts: String::new(),
            body: EventBody::Output {
                data: "ok \x1b[1;31mred\x1b[0m\r\n漢x".into(),
            },
        });
        let b = screen_to_buffer(r.screen());
        assert_eq!(b.area, Rect::new(0, 0, 12, 2));
        // A wide character's second column stays a blank cell, as ratatui
        // itself lays out wide characters.
        assert_eq!(text(&b), ["ok red", "漢 x"]);
        assert_eq!(b[(3, 0)].fg, Color::Indexed(1));
        assert!(b[(3, 0)].modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn the_worker_follows_appends_and_stops_after_exit() {
        let tmp = tempfile::tempdir().unwrap();
        let mut log = session(tmp.path());
        log.append(EventBody::Output {
            data: "first\r\n".into(),
        })
        .unwrap();
        let (cmd_tx, cmd_rx) = mpsc::channel();
        let (snap_tx, snap_rx) = mpsc::channel();
        let worker = std::thread::spawn(move || {
            follow_worker(cmd_rx, move |s| {
                let _ = snap_tx.send(s);
            })
        });
        cmd_tx
            .send(Some(FollowTarget {
                session_id: ID.into(),
                session_dir: tmp.path().to_owned(),
            }))
            .unwrap();
        let wait = || snap_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let first = wait();
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
        drop(cmd_tx);
        worker.join().unwrap();
    }
}
