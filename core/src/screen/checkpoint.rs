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
//!   resumed from a foreign state). A reader keeping more scrollback than
//!   the checkpoint (the Live View's history keeps up to 10,000 lines, a
//!   checkpoint [`ScreenReplay::DEFAULT_SCROLLBACK`]) resumes with the
//!   checkpoint's scrollback and keeps more from there on.
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
use super::{replay_size, ExitInfo, ScreenReplay, ShownOutput};
use crate::event_log::Skipped;
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
const FORMAT: u32 = 2;
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
    echo: ShownOutput,
    exit: Option<(Option<i32>, Option<String>)>,
    /// What the reads up to the offset skipped, still reported after a
    /// resume.
    skipped: Skipped,
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
    if saved.engine != ENGINE || tail_hash(log, saved.log_offset) != Some(saved.tail_hash) {
        return None;
    }
    let offset = saved.log_offset;
    apply(replay, saved)?;
    Some(offset)
}

/// What the usable checkpoint beside `log` covers, without restoring it:
/// the log offset, the last `seq` applied there and what the reads up to it
/// skipped (for counting a log's events without reading all of it).
pub(super) fn covered(log: &Path) -> Option<(u64, Option<u64>, Skipped)> {
    let path = log.with_file_name(CHECKPOINT_FILE);
    let mut file = File::open(&path).ok()?;
    let meta = file.metadata().ok()?;
    let dir_owner = std::fs::metadata(path.parent()?).ok()?.uid();
    if meta.uid() != dir_owner && meta.uid() != nix::unistd::geteuid().as_raw() {
        return None;
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut bytes).ok()?;
    let saved = decode(&bytes)?;
    if saved.engine != ENGINE || tail_hash(log, saved.log_offset) != Some(saved.tail_hash) {
        return None;
    }
    Some((saved.log_offset, saved.last_seq, saved.skipped))
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
    let (cols, rows) = (
        saved.screen.grid.columns(),
        saved.screen.grid.screen_lines(),
    );
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
    // A reader keeping more scrollback than the checkpoint did gets what it
    // kept, and keeps more from here on.
    let history = saved
        .history
        .max(ScreenReplay::engine_history(replay.scrollback));
    let mut engine = Engine::new(cols as u16, rows as u16, history);
    let cursor = saved.screen.cursor.to_cursor(rows, cols);
    if let Some(main) = saved.main_screen {
        let mut main = main.into_grid();
        main.update_history(history);
        *engine.term.grid_mut() = main.clone();
        engine.term.swap_alt();
        engine.mirror.main_screen = Some(Box::new(main));
    }
    *engine.term.grid_mut() = saved.screen.into_grid();
    if !engine.term.mode().contains(TermMode::ALT_SCREEN) {
        engine.term.grid_mut().update_history(history);
    }
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
    replay.skipped = saved.skipped;
    replay.at_rest = true;
    Some(())
}

/// Writes a checkpoint of `replay`, which has applied the log beside
/// `log` up to byte `offset`, if this process may (see the module docs).
/// Errors are ignored: the checkpoint is only a cache.
pub(super) fn save(replay: &mut ScreenReplay, log: &Path, offset: u64) -> bool {
    try_save(replay, log, offset).is_some()
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
        skipped: replay.skipped.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_log::{event_log_path, EventBody, EventLogFollower, EventLogWriter};

    #[allow(dead_code)]
    mod cases {
        include!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/conformance/cases.rs"
        ));
    }

    /// What a reader sees: text with scrollback, cursor, cells, modes.
    fn picture(r: &mut ScreenReplay) -> String {
        format!(
            "{:?} {:?} {:?} {} {} {:?} {:?}",
            r.lines_with_scrollback(),
            r.cursor(),
            r.size(),
            r.is_alt_screen(),
            r.cursor_visible(),
            r.visible_cells(),
            r.exit()
        )
    }

    /// Logs `first`, checkpoints there, logs `second`; then a fresh
    /// catch-up (which resumes from the checkpoint) must see what a full
    /// replay sees. Returns whether the checkpoint was used.
    fn resume_equals_replay(
        cols: u16,
        rows: u16,
        first: &[EventBody],
        second: &[EventBody],
    ) -> bool {
        let tmp = tempfile::tempdir().unwrap();
        let log = event_log_path(tmp.path());
        let mut writer = EventLogWriter::open(tmp.path()).unwrap();
        for b in first {
            writer.append(b.clone()).unwrap();
        }
        let mut half = ScreenReplay::new(cols, rows);
        let mut follower = EventLogFollower::new(&log);
        half.catch_up(&mut follower).unwrap();
        save(&mut half, &log, follower.offset());
        for b in second {
            writer.append(b.clone()).unwrap();
        }
        let mut full = ScreenReplay::new(cols, rows);
        for e in crate::event_log::read_all(&log).unwrap() {
            full.apply(&e);
        }
        let mut resumed = ScreenReplay::new(cols, rows);
        let count = resumed.catch_up(&mut EventLogFollower::new(&log)).unwrap();
        assert_eq!(count, first.len() + second.len());
        assert_eq!(
            picture(&mut resumed),
            picture(&mut full),
            "{first:?} | {second:?}"
        );
        assert_eq!(resumed.last_seq(), full.last_seq());
        let written = tmp.path().join(CHECKPOINT_FILE).exists();
        // Whenever one was written, the resumed replay really used it.
        assert_eq!(
            restore(&mut ScreenReplay::new(cols, rows), &log).is_some(),
            written
        );
        written
    }

    #[test]
    fn every_conformance_case_resumes_to_the_same_screen_from_any_point() {
        for case in cases::CASES.iter().filter(|c| c.cols < 1000) {
            let bodies: Vec<EventBody> = case.steps.iter().map(cases::Step::body).collect();
            for split in 1..=bodies.len() {
                assert!(
                    resume_equals_replay(case.cols, case.rows, &bodies[..split], &bodies[split..]),
                    "{}",
                    case.name
                );
            }
        }
    }

    fn out(s: &str) -> EventBody {
        EventBody::Output { data: s.into() }
    }

    #[test]
    fn state_beyond_the_cells_is_carried_over() {
        let marker = "atmCheckpointMarker";
        let run_echo = crate::run_marker::typed_line("echo hi", marker);
        let splits: Vec<(Vec<EventBody>, Vec<EventBody>)> = vec![
            // Tab stops.
            (
                vec![out("\x1b[3g\x1b[5G\x1bH\x1b[12G\x1bH")],
                vec![out("\r\tA\tB")],
            ),
            // G1 designated and shifted in; G0 designated.
            (vec![out("\x1b)0\x0e")], vec![out("lqk\x0f lqk")]),
            (vec![out("\x1b(0")], vec![out("lqk")]),
            // Scroll region.
            (
                vec![out("top\x1b[2;3r\x1b[3;1H")],
                vec![out("a\r\nb\r\nc\r\nd")],
            ),
            // Autowrap off, insert mode, origin mode, hidden cursor.
            (vec![out("\x1b[?7l")], vec![out("abcdefghijklmnop")]),
            (vec![out("abcd\r\x1b[4h")], vec![out("XY")]),
            (
                vec![out("\x1b[2;3r\x1b[?6h")],
                vec![out("\x1b[1;1Hx\x1b[5;1Hy")],
            ),
            (vec![out("\x1b[?25l")], vec![]),
            // Pen (colour and attributes) and the saved cursor.
            (
                vec![out("\x1b[1;31mred\x1b[3;4H\x1b7\x1b[H")],
                vec![out("bold\x1b8here")],
            ),
            // The alternate screen, with the main one behind it.
            (
                vec![out("$ vi\r\nline\x1b[?1049h\x1b[Hfile")],
                vec![out("\x1b[?1049l!")],
            ),
            (vec![out("ab\x1b[?47hxy")], vec![out("\x1b[?47lz")]),
            (
                vec![
                    out("$ vi\x1b[?1049hfile"),
                    EventBody::Resize { cols: 5, rows: 3 },
                ],
                vec![out("\x1b[?1049l")],
            ),
            // A run in flight, its echo split across the checkpoint.
            (
                vec![
                    out("$ "),
                    EventBody::InputRun {
                        command: "echo hi".into(),
                        marker: Some(marker.into()),
                        no_wait: false,
                    },
                    out(&run_echo[..12]),
                ],
                vec![
                    out(&format!("{}\r\nhi\r\n$ ", &run_echo[12..])),
                    EventBody::RunComplete {
                        marker: marker.into(),
                        input_run_seq: Some(1),
                        exit_code: None,
                    },
                ],
            ),
            // The exit.
            (
                vec![
                    out("bye"),
                    EventBody::Exit {
                        exit_code: Some(3),
                        exit_signal: None,
                    },
                ],
                vec![],
            ),
        ];
        for (first, second) in splits {
            assert!(resume_equals_replay(10, 6, &first, &second), "{first:?}");
        }
    }

    #[test]
    fn no_checkpoint_is_taken_inside_an_escape_sequence() {
        assert!(!resume_equals_replay(
            10,
            3,
            &[out("a\x1b[3")],
            &[out("1mred")]
        ));
        assert!(!resume_equals_replay(
            10,
            3,
            &[out("\x1b]0;tit")],
            &[out("le\x07x")]
        ));
        assert!(resume_equals_replay(
            10,
            3,
            &[out("\x1b]0;title\x07")],
            &[out("x")]
        ));
        assert!(ends_at_rest(b"\x1b[1;2H\x1b(0x", true));
        assert!(!ends_at_rest(b"\x1b(", true));
        assert!(!ends_at_rest(b"plain", false));
        assert!(ends_at_rest(b"plain", true));
        assert!(!ends_at_rest(b"\x1bP1$r", true));
        assert!(ends_at_rest(b"\x1bP1$r\x1b\\", true));
    }

    /// A log with a checkpoint after its first events, and the screen a full
    /// replay of it gives.
    fn checkpointed_log() -> (tempfile::TempDir, String) {
        let tmp = tempfile::tempdir().unwrap();
        let mut writer = EventLogWriter::open(tmp.path()).unwrap();
        writer.append(out("one\r\ntwo\r\n")).unwrap();
        let log = event_log_path(tmp.path());
        let mut r = ScreenReplay::new(10, 3);
        let mut f = EventLogFollower::new(&log);
        r.catch_up(&mut f).unwrap();
        save(&mut r, &log, f.offset());
        writer.append(out("three")).unwrap();
        let mut full = ScreenReplay::new(10, 3);
        full.catch_up(&mut EventLogFollower::starting_at(&log, 0))
            .unwrap();
        (tmp, full.match_text())
    }

    #[test]
    fn what_a_read_skipped_is_still_reported_after_resuming_from_its_checkpoint() {
        use std::io::Write;
        let tmp = tempfile::tempdir().unwrap();
        let log = event_log_path(tmp.path());
        let mut writer = EventLogWriter::open(tmp.path()).unwrap();
        writer.append(out("one\r\n")).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .unwrap()
            .write_all(b"garbage\n")
            .unwrap();
        writer.append(out("two")).unwrap();
        let mut first = ScreenReplay::new(10, 3);
        let mut follower = EventLogFollower::new(&log);
        first.catch_up(&mut follower).unwrap();
        assert_eq!(first.skipped().lines, 1);
        assert!(save(&mut first, &log, follower.offset()));
        assert!(restore(&mut ScreenReplay::new(10, 3), &log).is_some());
        let mut resumed = ScreenReplay::new(10, 3);
        resumed.catch_up(&mut EventLogFollower::new(&log)).unwrap();
        assert!(resumed.last_seq().is_some());
        assert_eq!(resumed.skipped(), first.skipped());
    }

    #[test]
    fn a_tally_counts_real_events_and_reads_only_past_the_checkpoint() {
        use crate::screen::tally_events;
        use std::io::Write;
        let tmp = tempfile::tempdir().unwrap();
        let log = event_log_path(tmp.path());
        let mut writer = EventLogWriter::open(tmp.path()).unwrap();
        for i in 0..100 {
            writer.append(out(&format!("line {i:>80}\r\n"))).unwrap();
        }
        let no_checkpoint = tally_events(&log).unwrap();
        assert_eq!(
            (no_checkpoint.events, no_checkpoint.last_seq),
            (100, Some(99))
        );
        let mut r = ScreenReplay::new(10, 3);
        let mut f = EventLogFollower::new(&log);
        r.catch_up(&mut f).unwrap();
        assert!(save(&mut r, &log, f.offset()));
        // After the checkpoint: garbage, then a jump from 99 to 102.
        let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        file.write_all(b"garbage\n").unwrap();
        file.write_all(
            br#"{"seq":102,"ts":"2026-11-24T03:50:02.677Z","type":"output","payload":{"data":"x"}}"#,
        )
        .unwrap();
        file.write_all(b"\n").unwrap();
        // Before it, far outside the hashed tail: a line a full read would
        // call garbage. The tally never reads it.
        let mut bytes = std::fs::read(&log).unwrap();
        let first_end = bytes.iter().position(|&b| b == b'\n').unwrap();
        bytes[..first_end].fill(b'#');
        std::fs::write(&log, &bytes).unwrap();
        let tally = tally_events(&log).unwrap();
        assert_eq!(tally.last_seq, Some(102));
        assert_eq!(tally.events, 101, "seq 0..=99 and 102");
        assert_eq!(tally.skipped.lines, 1);
        assert_eq!(tally.skipped.missing_events, 2);
        assert_eq!(tally.skipped.first_missing_seq, Some(100));
    }

    fn fresh_text(dir: &Path) -> String {
        let mut r = ScreenReplay::new(10, 3);
        r.catch_up(&mut EventLogFollower::new(&event_log_path(dir)))
            .unwrap();
        r.match_text()
    }

    #[test]
    fn a_corrupt_foreign_or_stale_checkpoint_falls_back_to_a_full_replay() {
        let (tmp, want) = checkpointed_log();
        let cp = tmp.path().join(CHECKPOINT_FILE);
        let log = event_log_path(tmp.path());
        assert!(restore(&mut ScreenReplay::new(10, 3), &log).is_some());
        let good = std::fs::read(&cp).unwrap();

        // A flipped byte anywhere.
        for at in [3, 20, good.len() / 2, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x55;
            std::fs::write(&cp, &bad).unwrap();
            assert!(restore(&mut ScreenReplay::new(10, 3), &log).is_none());
            assert_eq!(fresh_text(tmp.path()), want);
        }
        // Truncated, empty, garbage.
        for bad in [&good[..good.len() / 3], &b""[..], &b"not a checkpoint"[..]] {
            std::fs::write(&cp, bad).unwrap();
            assert_eq!(fresh_text(tmp.path()), want);
        }
        // A log that is not the one the checkpoint covered: replaced by
        // another Session's, or truncated below the offset.
        std::fs::write(&cp, &good).unwrap();
        let (other, other_want) = checkpointed_log();
        std::fs::copy(&cp, other.path().join(CHECKPOINT_FILE)).unwrap();
        let mut other_log = std::fs::read(event_log_path(other.path())).unwrap();
        other_log[10] ^= 1; // another Session's log differs somewhere
        std::fs::write(event_log_path(other.path()), &other_log).unwrap();
        assert!(restore(&mut ScreenReplay::new(10, 3), &event_log_path(other.path())).is_none());
        let _ = other_want;
        std::fs::write(&log, b"").unwrap();
        assert!(restore(&mut ScreenReplay::new(10, 3), &log).is_none());
        assert_eq!(fresh_text(tmp.path()), "\n\n");
        // A reader wanting more scrollback than the checkpoint kept resumes
        // with what it kept.
        let (tmp, want) = checkpointed_log();
        let log = event_log_path(tmp.path());
        let mut r = ScreenReplay::with_scrollback(10, 3, 5000);
        assert!(restore(&mut r, &log).is_some());
        r.catch_up(&mut EventLogFollower::starting_at(&log, 0))
            .unwrap();
        assert_eq!(r.match_text(), want);
    }

    #[test]
    fn a_long_catch_up_leaves_a_checkpoint_the_next_reader_resumes_from() {
        let tmp = tempfile::tempdir().unwrap();
        let mut writer = EventLogWriter::open(tmp.path()).unwrap();
        let line = "x".repeat(1000);
        let mut written = 0;
        let mut events = 0;
        while written < CHECKPOINT_EVERY_BYTES + 1024 {
            writer
                .append(out(&format!("\x1b[32m{events}\x1b[0m {line}\r\n")))
                .unwrap();
            written += 1100;
            events += 1;
        }
        let log = event_log_path(tmp.path());
        let mut first = ScreenReplay::with_scrollback(80, 24, 0);
        assert_eq!(
            first.catch_up(&mut EventLogFollower::new(&log)).unwrap(),
            events
        );
        assert!(tmp.path().join(CHECKPOINT_FILE).exists());
        writer.append(out("tail")).unwrap();
        let mut second = ScreenReplay::new(80, 24);
        let mut follower = EventLogFollower::new(&log);
        assert_eq!(second.catch_up(&mut follower).unwrap(), events + 1);
        let mut full = ScreenReplay::new(80, 24);
        for e in crate::event_log::read_all(&log).unwrap() {
            full.apply(&e);
        }
        assert_eq!(picture(&mut second), picture(&mut full));
        assert_eq!(follower.offset(), std::fs::metadata(&log).unwrap().len());
    }
}
