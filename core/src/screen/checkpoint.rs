//! Screen checkpoints: the emulator's state saved beside the Event Log, so a
//! replay starts from it and reads only the events logged since.
//!
//! Without them every `snapshot`, `wait` and Live View open replays the whole
//! log, and a long-lived Session gets slower to drive the longer it lives.
//!
//! `<session>/screen.checkpoint` holds one state: the screen(s), scrollback,
//! cursor and saved cursor, modes, scroll region, charsets, tab stops, the
//! `run` marker filter, the exit seen so far; and which part of the log it
//! covers (byte offset, `seq`, and a hash of the 4 KiB of log before the
//! offset). It is a cache, never the truth:
//! - A reader uses it only when everything checks out: our magic and format
//!   version, the same engine version, an intact payload (checksum), a log at
//!   least as long as the offset whose bytes before it hash the same (so a
//!   log that was replaced, truncated or copied from another Session is not
//!   resumed from a foreign state), and enough scrollback for the reader.
//!   Anything else (missing, corrupt, stale, foreign, unreadable) means a
//!   full replay, silently: a checkpoint never makes reading fail.
//! - It is written by a reader that replayed at least
//!   [`CHECKPOINT_EVERY_BYTES`] of log past the checkpoint it started from,
//!   at the end of its catch-up, when the escape-sequence parser is between
//!   sequences. Only when the reader's user owns the Session directory:
//!   reading someone else's Home (or a read-only copy) writes nothing there,
//!   and a failed write is ignored. The write is atomic (temp file, rename),
//!   so concurrent readers see an old or a new checkpoint, never a mix, and
//!   the last writer wins, which is fine: each is valid for its offset.
//! - agent-tty 0.5 ignores files it does not know in a Session directory, and
//!   `destroy`/`gc` remove the directory whole, checkpoint included.

use super::engine::{self, Engine, Mirror};
use super::marker_echo::MarkerEchoFilter;
use super::{replay_size, ExitInfo, ScreenReplay};
use alacritty_terminal::grid::{Cursor, Dimensions, Grid};
use alacritty_terminal::index::{Column, Line, Point};
use alacritty_terminal::term::cell::Cell;
use alacritty_terminal::term::TermMode;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The checkpoint's file name inside a Session directory.
pub const CHECKPOINT_FILE: &str = "screen.checkpoint";

/// A reader that replayed this much log past its starting point writes a
/// new checkpoint. Replaying 4 MiB takes tens of milliseconds, writing a
/// checkpoint about a millisecond.
pub const CHECKPOINT_EVERY_BYTES: u64 = 4 * 1024 * 1024;

const MAGIC: &[u8; 16] = b"agent-tty screen";
const FORMAT: u32 = 1;
/// Checkpoints are the engine's own structures: another version of it may
/// lay them out differently.
const ENGINE: &str = "alacritty_terminal 0.26";
/// How much log before the offset is hashed to recognise the log.
const TAIL: u64 = 4096;

#[derive(Serialize, Deserialize)]
struct SavedCursor {
    line: i32,
    col: usize,
    template: Cell,
    charsets: [u8; 4],
    input_needs_wrap: bool,
}

impl SavedCursor {
    fn of(cursor: &Cursor<Cell>) -> Self {
        SavedCursor {
            line: cursor.point.line.0,
            col: cursor.point.column.0,
            template: cursor.template.clone(),
            charsets: engine::CHARSET_INDEXES.map(|i| engine::charset_code(cursor.charsets[i])),
            input_needs_wrap: cursor.input_needs_wrap,
        }
    }

    fn to_cursor(&self, rows: usize, cols: usize) -> Cursor<Cell> {
        let mut cursor = Cursor {
            point: Point::new(
                Line(self.line.clamp(0, rows as i32 - 1)),
                Column(self.col.min(cols - 1)),
            ),
            template: self.template.clone(),
            input_needs_wrap: self.input_needs_wrap,
            ..Cursor::default()
        };
        for (i, code) in engine::CHARSET_INDEXES.iter().zip(self.charsets) {
            cursor.charsets[*i] = engine::charset_of(code);
        }
        cursor
    }
}

#[derive(Serialize, Deserialize)]
struct SavedScreen {
    grid: Grid<Cell>,
    cursor: SavedCursor,
    saved_cursor: SavedCursor,
}

impl SavedScreen {
    fn of(grid: &Grid<Cell>) -> Self {
        SavedScreen {
            grid: grid.clone(),
            cursor: SavedCursor::of(&grid.cursor),
            saved_cursor: SavedCursor::of(&grid.saved_cursor),
        }
    }

    fn into_grid(self) -> Grid<Cell> {
        let (rows, cols) = (self.grid.screen_lines(), self.grid.columns());
        let mut grid = self.grid;
        grid.cursor = self.cursor.to_cursor(rows, cols);
        grid.saved_cursor = self.saved_cursor.to_cursor(rows, cols);
        grid
    }
}

#[derive(Serialize, Deserialize)]
struct Saved {
    engine: String,
    log_offset: u64,
    tail_hash: u64,
    last_seq: Option<u64>,
    history: usize,
    screen: SavedScreen,
    /// The main screen while the alternate one is shown.
    main_screen: Option<SavedScreen>,
    mode: u32,
    tabs: Vec<usize>,
    region: Option<(usize, Option<usize>)>,
    active_charset: u8,
    echo: MarkerEchoFilter,
    exit: Option<(Option<i32>, Option<String>)>,
}

/// Whether the escape-sequence parser is known to be between sequences after
/// `bytes`, given whether it was before them. Conservative: "don't know" is
/// `false`, which only delays the next checkpoint.
pub(super) fn ends_at_rest(bytes: &[u8], before: bool) -> bool {
    let Some(esc) = bytes.iter().rposition(|&b| b == 0x1b) else {
        // Text and C0 controls leave the parser where it was, except that
        // a string (OSC…) or CSI still open from before might end here.
        return before;
    };
    let tail = &bytes[esc + 1..];
    match tail.first() {
        None => false,
        // CSI: parameters and intermediates, then one final byte.
        Some(b'[') => tail[1..].iter().any(|b| (0x40..=0x7e).contains(b)),
        // OSC ends with BEL here (ESC \ would be a later ESC).
        Some(b']') => tail[1..].contains(&0x07),
        // DCS, SOS, PM, APC end with ESC \ only.
        Some(b'P' | b'X' | b'^' | b'_') => false,
        // ESC, intermediates, then a final byte.
        Some(0x20..=0x2f) => tail[1..].iter().any(|b| (0x30..=0x7e).contains(b)),
        Some(_) => true,
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The hash of the log's last [`TAIL`] bytes before `offset`, when the log
/// is at least that long and a line ends there.
fn tail_hash(log: &Path, offset: u64) -> Option<u64> {
    let mut file = File::open(log).ok()?;
    if offset == 0 || file.metadata().ok()?.len() < offset {
        return None;
    }
    let start = offset.saturating_sub(TAIL);
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut buf = vec![0; (offset - start) as usize];
    file.read_exact(&mut buf).ok()?;
    (buf.last() == Some(&b'\n')).then(|| fnv(&buf))
}

/// Restores `replay` from the checkpoint beside `log` when there is a usable
/// one (see the module docs) and returns the log offset it covers.
pub(super) fn restore(replay: &mut ScreenReplay, log: &Path) -> Option<u64> {
    let path = log.with_file_name(CHECKPOINT_FILE);
    let mut file = File::open(&path).ok()?;
    let meta = file.metadata().ok()?;
    // Only a checkpoint written by the Session directory's owner (or us).
    let dir_owner = std::fs::metadata(path.parent()?).ok()?.uid();
    if meta.uid() != dir_owner && meta.uid() != nix::unistd::geteuid().as_raw() {
        return None;
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut bytes).ok()?;
    let saved = decode(&bytes)?;
    if saved.engine != ENGINE
        || saved.history < ScreenReplay::engine_history(replay.scrollback)
        || tail_hash(log, saved.log_offset) != Some(saved.tail_hash)
    {
        return None;
    }
    let offset = saved.log_offset;
    apply(replay, saved)?;
    Some(offset)
}

fn decode(bytes: &[u8]) -> Option<Saved> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let (format, rest) = rest.split_first_chunk::<4>()?;
    let (sum, payload) = rest.split_first_chunk::<8>()?;
    if u32::from_le_bytes(*format) != FORMAT || u64::from_le_bytes(*sum) != fnv(payload) {
        return None;
    }
    postcard::from_bytes(payload).ok()
}

fn valid_screen(screen: &SavedScreen, cols: usize, rows: usize) -> bool {
    let grid = &screen.grid;
    grid.columns() == cols && grid.screen_lines() == rows && grid.total_lines() >= rows
}

fn apply(replay: &mut ScreenReplay, saved: Saved) -> Option<()> {
    let (cols, rows) = (saved.screen.grid.columns(), saved.screen.grid.screen_lines());
    let (clamped_rows, clamped_cols) = replay_size(cols as u16, rows as u16);
    if (usize::from(clamped_cols), usize::from(clamped_rows)) != (cols, rows)
        || !valid_screen(&saved.screen, cols, rows)
        || saved
            .main_screen
            .as_ref()
            .is_some_and(|m| !valid_screen(m, cols, rows))
    {
        return None;
    }
    let mut engine = Engine::new(cols as u16, rows as u16, saved.history);
    let cursor = saved.screen.cursor.to_cursor(rows, cols);
    if let Some(main) = saved.main_screen {
        let main = main.into_grid();
        *engine.term.grid_mut() = main.clone();
        engine.term.swap_alt();
        engine.mirror.main_screen = Some(Box::new(main));
    }
    *engine.term.grid_mut() = saved.screen.into_grid();
    engine.set_modes(TermMode::from_bits_truncate(saved.mode));
    engine.set_mirror(&Mirror {
        region: saved.region,
        active_charset: engine::charset_index_of(saved.active_charset),
        main_screen: None,
    });
    engine.set_tab_stops(&saved.tabs);
    // Modes and the scroll region move the cursor: put it back last.
    engine.term.grid_mut().cursor = cursor;
    replay.engine = engine;
    replay.echo = saved.echo;
    replay.last_seq = saved.last_seq;
    replay.exit = saved.exit.map(|(exit_code, exit_signal)| ExitInfo {
        exit_code,
        exit_signal,
    });
    replay.at_rest = true;
    replay.compat.take();
    Some(())
}

/// Writes a checkpoint of `replay`, which has applied the log beside
/// `log` up to byte `offset`, if this process may (see the module docs).
/// Errors are ignored: the checkpoint is only a cache.
pub(super) fn save(replay: &mut ScreenReplay, log: &Path, offset: u64) {
    let _ = try_save(replay, log, offset);
}

fn try_save(replay: &mut ScreenReplay, log: &Path, offset: u64) -> Option<()> {
    if !replay.at_rest {
        return None;
    }
    let dir = log.parent()?;
    if std::fs::metadata(dir).ok()?.uid() != nix::unistd::geteuid().as_raw() {
        return None;
    }
    let tail_hash = tail_hash(log, offset)?;
    let tabs = replay.engine.tab_stops();
    let engine = &replay.engine;
    let term = &engine.term;
    let saved = Saved {
        engine: ENGINE.to_owned(),
        log_offset: offset,
        tail_hash,
        last_seq: replay.last_seq,
        history: ScreenReplay::engine_history(replay.scrollback),
        screen: SavedScreen::of(term.grid()),
        main_screen: engine.mirror.main_screen.as_deref().map(SavedScreen::of),
        mode: term.mode().bits(),
        tabs,
        region: engine.mirror.region,
        active_charset: engine::charset_index_code(engine.mirror.active_charset),
        echo: replay.echo.clone(),
        exit: replay
            .exit
            .as_ref()
            .map(|e| (e.exit_code, e.exit_signal.clone())),
    };
    if term.mode().contains(TermMode::ALT_SCREEN) && saved.main_screen.is_none() {
        return None;
    }
    let payload = postcard::to_stdvec(&saved).ok()?;
    let mut bytes = Vec::with_capacity(payload.len() + 28);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT.to_le_bytes());
    bytes.extend_from_slice(&fnv(&payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
    crate::fsutil::write_atomic_unsynced(&dir.join(CHECKPOINT_FILE), &bytes, 0o600).ok()
}
