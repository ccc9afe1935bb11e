//! Replaying an Event Log through a VT emulator: the one implementation behind
//! `snapshot`, `wait` and the dashboard's Live View.
//!
//! The screen is rebuilt from `output` and `resize` events only; it never asks
//! a Session's host, so it works the same for live Sessions, ended ones, and
//! Homes written by agent-tty 0.5.
//!
//! `run`'s completion-marker suffix is removed from the output before the
//! emulator sees it (see `agent_tty_term::marker_echo`), so no reader of the screen ever
//! shows it.
//!
//! The emulator is `alacritty_terminal`, wrapped by the I/O-free
//! [`agent_tty_term::Engine`] (see `docs/adr/0003-terminal-engine.md`);
//! readers use the text, cursor and [`Cell`](agent_tty_term::Cell) API below. A replay starts
//! from the Session's latest screen checkpoint when there is a usable one
//! (see `screen/checkpoint.rs`), so its cost follows what was logged since, not the
//! whole Event Log.

mod checkpoint;

use agent_tty_term::cells::CellRows;
use agent_tty_term::mouse;
pub use checkpoint::CHECKPOINT_EVERY_BYTES;

use crate::error::Result;
use crate::event_log::{Event, EventBody, EventLogFollower, EventRef, Skipped};
use crate::layout::SessionDir;
use crate::manifest::Manifest;
use agent_tty_term::marker_echo::MarkerEchoFilter;
use agent_tty_term::Engine;
use alacritty_terminal::grid::Dimensions;
use alacritty_terminal::index::{Column, Line};
use alacritty_terminal::term::cell::Flags;
use std::path::Path;

/// How a Session ended, as its `exit` event recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitInfo {
    /// The exit status, when it exited normally.
    pub exit_code: Option<i32>,
    /// The signal name, when a signal ended it.
    pub exit_signal: Option<String>,
}

/// The terminal engine behind every screen (`inspect` reports it as
/// `rendererRuntime.backend`).
pub const ENGINE_NAME: &str = "alacritty_terminal";

/// The widest terminal agent-tty supports, in columns.
///
/// The emulator allocates every cell of the screen (and again for the
/// alternate screen and each line of scrollback), so a size is a memory
/// budget: 1000 × 1000, full, with its scrollback, costs about 100 MB to
/// replay, where 4000 × 4000 would cost about 1.5 GB and 65535 × 65535
/// aborts the reader. 1000 is far beyond any real terminal (a 4K screen at a tiny
/// font is about 500 columns). `create` and `resize` refuse larger sizes,
/// and a replay clamps them (see [`ScreenReplay`]).
pub const MAX_COLS: u16 = 1000;

/// The tallest terminal agent-tty supports, in rows (see [`MAX_COLS`]).
pub const MAX_ROWS: u16 = 1000;

/// A screen size as a replay uses it: at least 1 × 1, at most
/// [`MAX_COLS`] × [`MAX_ROWS`], returned as `(rows, cols)` in the emulator's
/// order.
fn replay_size(cols: u16, rows: u16) -> (u16, u16) {
    (rows.clamp(1, MAX_ROWS), cols.clamp(1, MAX_COLS))
}

/// A VT screen fed from Event Log events.
///
/// Sizes from the manifest and from `resize` events are clamped to
/// [`MAX_COLS`] × [`MAX_ROWS`]: `create` and `resize` never record more, but
/// a log written by something else (agent-tty 0.5, a damaged or hostile
/// Home) must not make a reader allocate without bound.
pub struct ScreenReplay {
    engine: Engine,
    /// Lines of scrollback this reader asked for.
    scrollback: usize,
    /// Lines of history the emulator keeps: at least
    /// [`ScreenReplay::DEFAULT_SCROLLBACK`] for a reader of the Event Log
    /// (so all of them, and their checkpoints, agree), or
    /// [`ScreenReplay::MIN_HISTORY`] for the host's live screen.
    history: usize,
    exit: Option<ExitInfo>,
    last_seq: Option<u64>,
    echo: ShownOutput,
    /// The escape-sequence parser is known to be between sequences (so the
    /// state can be checkpointed here).
    at_rest: bool,
    /// Nothing was applied yet (a checkpoint may be restored).
    pristine: bool,
    /// What the Event Log reads behind this screen skipped.
    skipped: Skipped,
    /// The waited `run`s typed and not completed, kept (and checkpointed)
    /// so `inspect` finds them without reading the log before a checkpoint.
    pending_runs: PendingRuns,
    /// Plain output a catch-up has not fed yet, because it may scroll out
    /// unseen (see [`Self::feed_skipping`]).
    held: HeldOutput,
}

/// Plain output held back by [`ScreenReplay::feed_skipping`].
#[derive(Default)]
struct HeldOutput {
    /// Plain text and pen sequences (see [`skippable_len`]) not fed yet.
    text: Vec<u8>,
    /// A prefix of it was dropped as unseen: the screen is fed `"\r"`
    /// before the rest.
    dropped: bool,
    /// The length of `text` after the last look for what to drop. A look
    /// scans back over a screen and history of lines, so it is made when
    /// `text` has doubled since, and once more before it is fed: each byte
    /// is scanned a bounded number of times however small the events are.
    looked: usize,
    /// The start of a colour or erase sequence that ended the last piece
    /// fed, after `text`: joined to the next piece, or fed with `text`.
    cut: Vec<u8>,
    /// Bytes dropped so far (for tests: that a catch-up skips at all).
    #[cfg(test)]
    dropped_bytes: usize,
}

/// The most plain output a catch-up holds back (a flood of lines needs the
/// screen's history and rows in lines: about 1 MB for 10,000 lines of 100
/// bytes; longer lines are fed without skipping).
const HELD_MAX: usize = 16 << 20;

impl ScreenReplay {
    /// Lines of scrollback kept by default: 10,000, as 0.5 (contract §7.9).
    pub const DEFAULT_SCROLLBACK: usize = 10_000;

    /// An empty screen of this size.
    pub fn new(cols: u16, rows: u16) -> Self {
        Self::with_scrollback(cols, rows, Self::DEFAULT_SCROLLBACK)
    }

    /// An empty screen keeping `scrollback` lines above the visible ones.
    pub fn with_scrollback(cols: u16, rows: u16, scrollback: usize) -> Self {
        Self::with_history(cols, rows, scrollback, Self::engine_history(scrollback))
    }

    /// The host's live screen: it answers terminal questions (the cursor,
    /// the size) and is never read back as text, so it keeps only
    /// [`ScreenReplay::MIN_HISTORY`] lines, which is enough to show the same
    /// screen and cursor as every reader after any resize. It is fed by the
    /// host, never caught up from the Event Log, so it writes no checkpoint.
    pub fn live(cols: u16, rows: u16) -> Self {
        Self::with_history(cols, rows, 0, Self::MIN_HISTORY)
    }

    fn with_history(cols: u16, rows: u16, scrollback: usize, history: usize) -> Self {
        let (rows, cols) = replay_size(cols, rows);
        ScreenReplay {
            engine: Engine::new(cols, rows, history),
            scrollback,
            history,
            exit: None,
            last_seq: None,
            echo: ShownOutput::new(),
            at_rest: true,
            pristine: true,
            skipped: Skipped::default(),
            pending_runs: PendingRuns::default(),
            held: HeldOutput::default(),
        }
    }

    /// What [`Self::catch_up`] could not use in the Event Log (from its
    /// start, checkpointed reads included): readers report it as a warning.
    pub fn skipped(&self) -> &Skipped {
        &self.skipped
    }

    /// The history of the host's live screen ([`ScreenReplay::live`]):
    /// [`MAX_ROWS`] lines. A terminal that grows by `k` rows pulls the last
    /// `k` lines of history back onto the screen, and `k` is always below
    /// [`MAX_ROWS`], so this much gives the same screen and cursor as any
    /// reader after any shrink and grow, while an idle host does not hold
    /// 10,000 lines it never shows (~26 MB for a 120-column screen).
    pub const MIN_HISTORY: usize = MAX_ROWS as usize;

    /// What a reader of the Event Log keeps: what it asked for, and at
    /// least [`ScreenReplay::DEFAULT_SCROLLBACK`], so every reader (and
    /// every checkpoint) shows the same scrollback.
    fn engine_history(scrollback: usize) -> usize {
        scrollback.max(Self::DEFAULT_SCROLLBACK)
    }

    /// An empty screen at the size a Session was created with (later
    /// `resize` events in its log change it).
    pub fn for_manifest(manifest: &Manifest) -> Self {
        Self::for_manifest_with_scrollback(manifest, Self::DEFAULT_SCROLLBACK)
    }

    /// Like [`ScreenReplay::for_manifest`], keeping `scrollback` lines
    /// (readers of the visible screen only, `wait` and `snapshot` without
    /// scrollback, pass 0).
    pub fn for_manifest_with_scrollback(manifest: &Manifest, scrollback: usize) -> Self {
        Self::with_scrollback(
            manifest.creation_cols.unwrap_or(manifest.cols),
            manifest.creation_rows.unwrap_or(manifest.rows),
            scrollback,
        )
    }

    /// Applies one event.
    pub fn apply(&mut self, event: &Event) {
        self.last_seq = Some(event.seq);
        self.pristine = false;
        self.pending_runs.note(event);
        if let Some(shown) = self.echo.shown(event) {
            self.feed(shown.as_bytes());
        }
        match &event.body {
            EventBody::Resize { cols, rows } => {
                let (rows, cols) = replay_size(*cols, *rows);
                self.engine.resize(cols, rows)
            }
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

    /// Feeds program output to the emulator (the host's live screen calls
    /// this with what the PTY produced; a replay, through [`Self::apply`]).
    pub fn feed(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.pristine = false;
        self.at_rest = checkpoint::ends_at_rest(bytes, self.at_rest);
        self.engine.process(bytes);
    }

    /// [`Self::unseen_in_plain`] of the skippable start of `bytes`, when
    /// the screen allows skipping at all.
    #[cfg(test)]
    fn unseen_prefix(&self, bytes: &[u8]) -> usize {
        if !self.may_skip() {
            return 0;
        }
        self.unseen_in_plain(&bytes[..skippable_len(bytes)])
    }

    /// Whether output fed now could be skipped at all (see
    /// [`Self::unseen_in_plain`]): the parser is between sequences and no
    /// scroll region is set.
    fn may_skip(&self) -> bool {
        self.at_rest && matches!(self.engine.mirror.region, None | Some((0 | 1, None)))
    }

    /// How much of `plain` (skippable text, [`skippable_len`]), about to be
    /// fed to a screen that allows skipping ([`Self::may_skip`]), cannot
    /// change what the screen shows or keeps, so that feeding `"\r"`, the
    /// pen of that part ([`pen_sequences`]) and the rest instead gives the
    /// same screen: a prefix ending in CR LF, followed by text with enough
    /// line feeds to scroll every row of the screen and of its history out
    /// (with the cursor at column 0 either way, the rest writes the same
    /// lines with the same pen and wraps them the same, and once both
    /// cursors have reached the bottom row, scrolls the same), and that
    /// prints a character (`CSI b` repeats the last one printed, which the
    /// parser keeps). Only with the parser between sequences (else the text
    /// could belong to one) and no scroll region (lines leaving a region
    /// are not kept). 0 when nothing can be skipped.
    fn unseen_in_plain(&self, plain: &[u8]) -> usize {
        // Line feeds the rest must hold: one per row and history line to
        // scroll out, the rows again to bring the cursor to the bottom.
        let needed = self.history + 2 * self.engine.rows() + 2;
        // The candidates, from the end: just after a CR LF with `needed`
        // line feeds after it in the plain text.
        memchr::memrchr_iter(b'\n', plain)
            .skip(needed)
            .take_while(|&at| at > 0)
            .find(|&at| plain[at - 1] == b'\r')
            .map(|at| at + 1)
            .filter(|&cut| prints(&plain[cut..]))
            .unwrap_or(0)
    }

    /// Feeds output as [`Self::feed`] does, but holds back plain text
    /// (printable characters, CR, LF, tab, with colours and line erases:
    /// [`skippable_len`]) that may yet scroll out of the screen and its
    /// history before anything else happens, and drops the part that has
    /// ([`Self::unseen_in_plain`]; its colours are kept, [`pen_sequences`]):
    /// a replay of a flood of lines emulates only the last screen and
    /// history of it. What is held is
    /// fed by [`Self::release_held`], which a catch-up calls before any
    /// other event and at its end, so nobody sees a screen missing it.
    fn feed_skipping(&mut self, bytes: &[u8]) {
        let joined;
        let mut bytes = if self.held.cut.is_empty() {
            bytes
        } else {
            let mut cut = std::mem::take(&mut self.held.cut);
            cut.extend_from_slice(bytes);
            joined = cut;
            &joined[..]
        };
        loop {
            let lead = skippable_len(bytes);
            self.hold(&bytes[..lead]);
            if lead == bytes.len() {
                return;
            }
            if (self.may_skip() || !self.held.text.is_empty())
                && may_be_cut_pen_or_erase(&bytes[lead..])
            {
                // Events and batches end anywhere: a colour cut in two would
                // otherwise end the run, and emulate all that is held.
                self.held.cut = bytes[lead..].to_vec();
                return;
            }
            self.release_held();
            // Fed: from the byte that is not plain to the line feed after
            // it (an escape sequence's parameters are printable: the plain
            // text after them is held only if the parser is known to be at
            // rest then), and on over plain stretches too short to scroll
            // out by themselves, up to the next stretch that might.
            let mut fed = lead;
            loop {
                let Some(feed) = memchr::memchr(b'\n', &bytes[fed..]) else {
                    fed = bytes.len();
                    break;
                };
                fed += feed + 1;
                let plain = skippable_len(&bytes[fed..]);
                if fed + plain == bytes.len() || self.unseen_in_plain(&bytes[fed..fed + plain]) > 0
                {
                    break;
                }
                fed += plain;
            }
            self.feed(&bytes[lead..fed]);
            bytes = &bytes[fed..];
        }
    }

    /// Holds back plain text for [`Self::feed_skipping`], dropping what
    /// has become unseen (fed at once when nothing may be skipped).
    fn hold(&mut self, plain: &[u8]) {
        if plain.is_empty() {
            return;
        }
        if self.held.text.is_empty() && !self.may_skip() {
            return self.feed(plain);
        }
        self.pristine = false;
        self.held.text.extend_from_slice(plain);
        if self.held.text.len() >= 2 * self.held.looked {
            self.drop_unseen();
        }
        if self.held.text.len() > HELD_MAX {
            self.release_held();
        }
    }

    /// Drops the part of the held text that has become unseen.
    fn drop_unseen(&mut self) {
        let unseen = self.unseen_in_plain(&self.held.text);
        if unseen > 0 {
            // Feeding `"\r"` and the rest gives the same screen as the
            // whole (see `unseen_in_plain`); dropping again later still does,
            // since every cut is at a CR LF of the same plain run. The pen
            // the dropped part leaves is set now, by its SGR sequences
            // alone: the rest, fed later, starts with it.
            let pen = pen_sequences(&self.held.text[..unseen]);
            if !pen.is_empty() {
                self.feed(&pen);
            }
            self.held.text.drain(..unseen);
            self.held.dropped = true;
            #[cfg(test)]
            {
                self.held.dropped_bytes += unseen;
            }
        }
        self.held.looked = self.held.text.len();
    }

    /// Feeds the output [`Self::feed_skipping`] held back.
    fn release_held(&mut self) {
        if self.held.text.len() > self.held.looked {
            self.drop_unseen();
        }
        if std::mem::take(&mut self.held.dropped) {
            self.feed(b"\r");
        }
        self.held.looked = 0;
        let mut text = std::mem::take(&mut self.held.text);
        self.feed(&text);
        let cut = std::mem::take(&mut self.held.cut);
        self.feed(&cut);
        // Keep the room for the next catch-up, unless it grew big.
        if text.capacity() <= 2 << 20 {
            text.clear();
            self.held.text = text;
        }
    }

    /// Writes a screen checkpoint of this state beside the Event Log `log`,
    /// which it has applied up to byte `offset` (a line boundary), for later
    /// replays to resume from. For the host's live screen (which knows how
    /// far it has logged) and tests; readers write theirs from
    /// [`Self::catch_up`]. Returns whether one was written: not when the
    /// escape-sequence parser is inside a sequence, nor when this process
    /// does not own the Session directory, nor on any I/O error (a
    /// checkpoint is only a cache).
    pub fn save_checkpoint(&mut self, log: &Path, offset: u64) -> bool {
        checkpoint::save(self, log, offset)
    }

    /// One row as text: wide characters once, blanks as spaces.
    fn row_text(&self, line: i32) -> String {
        let grid = self.engine.term.grid();
        let row = &grid[Line(line)];
        let mut text = String::with_capacity(grid.columns());
        for col in 0..grid.columns() {
            let cell = &row[Column(col)];
            if cell
                .flags
                .intersects(Flags::WIDE_CHAR_SPACER | Flags::LEADING_WIDE_CHAR_SPACER)
            {
                continue;
            }
            text.push(if cell.c == '\t' { ' ' } else { cell.c });
            if let Some(marks) = cell.zerowidth() {
                text.extend(marks);
            }
        }
        text
    }

    /// Whether a row continues on the next one because the terminal wrapped
    /// it at the right margin.
    fn row_wrapped(&self, line: i32) -> bool {
        let grid = self.engine.term.grid();
        grid[Line(line)][Column(grid.columns() - 1)]
            .flags
            .contains(Flags::WRAPLINE)
    }

    /// The visible rows as text, trailing spaces trimmed.
    pub fn visible_lines(&self) -> Vec<String> {
        (0..self.engine.rows() as i32)
            .map(|line| self.row_text(line).trim_end().to_owned())
            .collect()
    }

    /// The visible screen as the text `wait --text`/`--regex` match against:
    /// one line per row, except that a row the terminal wrapped continues on
    /// the next without a line break, so output that merely wrapped at the
    /// right margin still matches as one piece.
    pub fn match_text(&self) -> String {
        let rows = self.engine.rows() as i32;
        let mut text = String::new();
        for line in 0..rows {
            let row = self.row_text(line);
            if self.row_wrapped(line) {
                text.push_str(&row);
            } else {
                text.push_str(row.trim_end());
                if line + 1 < rows {
                    text.push('\n');
                }
            }
        }
        text
    }

    /// The scrollback (oldest first) followed by the visible rows, trailing
    /// spaces trimmed.
    pub fn lines_with_scrollback(&mut self) -> Vec<String> {
        let history = self.scrollback_len() as i32;
        let mut lines: Vec<String> = (1..=history)
            .rev()
            .map(|k| self.row_text(-k).trim_end().to_owned())
            .collect();
        lines.extend(self.visible_lines());
        lines
    }

    /// The cursor as `(row, col)`, zero-based.
    pub fn cursor(&self) -> (u16, u16) {
        let point = self.engine.term.grid().cursor.point;
        (point.line.0.max(0) as u16, point.column.0 as u16)
    }

    /// The screen size as `(cols, rows)`.
    pub fn size(&self) -> (u16, u16) {
        (self.engine.cols() as u16, self.engine.rows() as u16)
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

/// The host's live screen ([`ScreenReplay::live`]), put away while the
/// Session is quiet.
///
/// A live screen with a full history holds about 3 MB of cells (1,000 lines
/// of history of 24-byte cells at 120 columns, mostly blank), which an idle
/// host keeps for nothing: it is needed again only when output comes or a
/// question is asked. [`LiveScreen::sleep`] swaps it for its checkpoint
/// state, deflated (tens of KB: blank cells compress to almost nothing),
/// and [`LiveScreen::get`] brings it back exactly as it was (the state
/// checkpoints carry, which resuming replays are tested against) in a few
/// milliseconds (docs/adr/0022-host-ingest.md).
///
/// Output is fed to it lazily ([`LiveScreen::feed`]): it is kept until the
/// screen is asked for or [`LAZY_BYTES`] have come, then fed at once, and of
/// a flood of lines only the part that can still show is fed (as a
/// catch-up skips it: `ScreenReplay::feed_skipping`), so the host's cost
/// follows what stays on the screen, not everything printed.
pub struct LiveScreen {
    state: Live,
    /// Output not fed yet.
    pending: Vec<u8>,
}

/// The most output a [`LiveScreen`] keeps unfed.
pub const LAZY_BYTES: usize = 1 << 20;

enum Live {
    Awake(Box<ScreenReplay>),
    Asleep {
        frozen: checkpoint::Frozen,
        /// Its size, to start afresh should it fail to come back.
        size: (u16, u16),
    },
}

impl LiveScreen {
    /// An empty live screen of this size.
    pub fn new(cols: u16, rows: u16) -> Self {
        LiveScreen {
            state: Live::Awake(Box::new(ScreenReplay::live(cols, rows))),
            pending: Vec::new(),
        }
    }

    /// Program output for the screen: as [`ScreenReplay::feed`], done when
    /// the screen is next asked for (or once [`LAZY_BYTES`] are waiting).
    pub fn feed(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= LAZY_BYTES {
            self.settle();
        }
    }

    /// Feeds what is pending, skipping what could not show any more.
    fn settle(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let screen = self.awake();
        // A catch-up's skipping, released at once: the screen is as if all
        // of it had been fed.
        screen.feed_skipping(&pending);
        screen.release_held();
        // Keep the buffer's room for the next output, unless it grew big.
        if pending.capacity() <= LAZY_BYTES * 2 {
            self.pending = pending;
            self.pending.clear();
        }
    }

    /// The screen, woken up if it was put away, with all output fed.
    pub fn get(&mut self) -> &mut ScreenReplay {
        self.settle();
        self.awake()
    }

    fn awake(&mut self) -> &mut ScreenReplay {
        if let Live::Asleep { frozen, size } = &self.state {
            let screen = frozen
                .thaw(ScreenReplay::MIN_HISTORY)
                .unwrap_or_else(|| ScreenReplay::live(size.0, size.1));
            self.state = Live::Awake(Box::new(screen));
        }
        match &mut self.state {
            Live::Awake(screen) => screen,
            Live::Asleep { .. } => unreachable!("woken above"),
        }
    }

    /// Puts the screen away; returns the bytes it now takes, or `None` when
    /// it is asleep already or cannot be (inside an escape sequence).
    pub fn sleep(&mut self) -> Option<usize> {
        self.settle();
        self.pending = Vec::new();
        let Live::Awake(screen) = &mut self.state else {
            return None;
        };
        let frozen = checkpoint::Frozen::of(screen)?;
        let held = frozen.len();
        let size = screen.size();
        self.state = Live::Asleep { frozen, size };
        Some(held)
    }

    /// Whether it is put away.
    pub fn is_asleep(&self) -> bool {
        matches!(self.state, Live::Asleep { .. })
    }
}

/// A byte that cannot start or take part in an escape sequence or change
/// the terminal's modes: printable ASCII, UTF-8 (C1 controls arrive as
/// U+FFFD from the host, never as raw bytes), CR, LF and tab.
fn is_plain(b: u8) -> bool {
    matches!(b, b' '..=b'~' | b'\r' | b'\n' | b'\t') || (b >= 0x80 && b != 0xc2)
}

/// The length of the start of `bytes` that a catch-up may hold back and
/// drop once it has scrolled out ([`ScreenReplay::feed_skipping`]): plain
/// bytes ([`is_plain`]) and whole SGR (`CSI … m`) and erase-in-line
/// (`CSI … K`) sequences, which colour almost every line of a build's
/// output. Neither moves the cursor nor changes a mode: erasing changes
/// only the line the cursor is on, which scrolls out with the rest, and SGR
/// only the pen, which the dropped part's SGR sequences set again
/// ([`pen_sequences`]).
fn skippable_len(bytes: &[u8]) -> usize {
    let mut at = 0;
    loop {
        at += bytes[at..]
            .iter()
            .position(|&b| !is_plain(b))
            .unwrap_or(bytes.len() - at);
        match bytes[at..] {
            // U+00A0..U+00BF (no-break space, °, ±, «…): printable, unlike
            // the C1 controls U+0080..U+009F that share their first byte.
            [0xc2, second, ..] if second >= 0xa0 => at += 2,
            _ => match pen_or_erase_len(&bytes[at..]) {
                Some(len) => at += len,
                None => return at,
            },
        }
    }
}

/// Whether skippable text ([`skippable_len`]) prints a character: a byte
/// outside its sequences other than CR, LF and tab.
fn prints(skippable: &[u8]) -> bool {
    let mut at = 0;
    while let Some(&b) = skippable.get(at) {
        match b {
            0x1b => at += pen_or_erase_len(&skippable[at..]).unwrap_or(1),
            b'\r' | b'\n' | b'\t' => at += 1,
            _ => return true,
        }
    }
    false
}

/// The longest cut sequence [`ScreenReplay::feed_skipping`] waits for the
/// end of: longer parameter lists are not colours programs print.
const MAX_CUT: usize = 64;

/// Whether `rest`, the end of a piece of output, may be the start of a
/// sequence [`skippable_len`] accepts whole: `ESC`, `ESC [` and parameters.
fn may_be_cut_pen_or_erase(rest: &[u8]) -> bool {
    rest.len() <= MAX_CUT
        && rest.first() == Some(&0x1b)
        && rest.get(1).is_none_or(|&b| b == b'[')
        && rest.get(2..).is_none_or(|params| {
            params
                .iter()
                .all(|b| matches!(b, b'0'..=b'9' | b';' | b':'))
        })
}

/// The length of the SGR or erase-in-line sequence `bytes` starts with,
/// when it is whole: `ESC [`, parameters (digits, `;`, and `:` for SGR's
/// colour forms), then `m` or `K`.
fn pen_or_erase_len(bytes: &[u8]) -> Option<usize> {
    let params = bytes.strip_prefix(b"\x1b[")?;
    let end = params
        .iter()
        .position(|b| !matches!(b, b'0'..=b'9' | b';' | b':'))?;
    match params[end] {
        b'm' => Some(end + 3),
        // vte would read `2:1K` as `2K`; no program writes it, so it ends
        // a run rather than widen what is skipped.
        b'K' if !params[..end].contains(&b':') => Some(end + 3),
        _ => None,
    }
}

/// Whether an SGR sequence (`ESC [ … m`) first resets the whole pen: its
/// first parameter is empty or zero, without sub-parameters (`CSI m`,
/// `CSI 0 m`, `CSI ; 31 m`, `CSI 0 ; 1 m`); the parameters after it only
/// add to the reset pen.
fn resets_pen(sgr: &[u8]) -> bool {
    let params = &sgr[2..sgr.len() - 1];
    let first = params.split(|&b| b == b';').next().unwrap_or_default();
    first.iter().all(|&b| b == b'0')
}

/// The SGR sequences of skippable text (see [`skippable_len`]) that set the
/// pen it leaves: those from its last full reset ([`resets_pen`]) on, in
/// order.
fn pen_sequences(skippable: &[u8]) -> Vec<u8> {
    let mut pen = Vec::new();
    for at in memchr::memchr_iter(0x1b, skippable) {
        let Some(len) = pen_or_erase_len(&skippable[at..]) else {
            continue;
        };
        let sequence = &skippable[at..at + len];
        if sequence.ends_with(b"m") {
            if resets_pen(sequence) {
                pen.clear();
            }
            pen.extend_from_slice(sequence);
        }
    }
    pen
}

/// The terminal output an Event Log puts on the screen, event by event:
/// `output` data with `run`'s completion-marker echo removed (see
/// `agent_tty_term::marker_echo`), exactly as [`ScreenReplay`] feeds its emulator.
///
/// For readers that need the bytes rather than the screen, such as the
/// asciicast export: what they write then replays to the same screen, and
/// the marker never shows.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ShownOutput {
    echo: MarkerEchoFilter,
}

impl Default for ShownOutput {
    fn default() -> Self {
        Self::new()
    }
}

impl ShownOutput {
    /// Whether this state (decoded from a checkpoint) is one this code
    /// could have made.
    pub(crate) fn is_sane(&self) -> bool {
        self.echo.is_sane()
    }

    /// A filter that has seen no events yet.
    pub fn new() -> Self {
        ShownOutput {
            echo: MarkerEchoFilter::new(),
        }
    }

    /// The part of an `output` event's `data` to show: all of it, borrowed,
    /// unless a `run`'s marker echo is in it or may start at its end.
    pub fn shown_output<'a>(&mut self, data: &'a str) -> std::borrow::Cow<'a, str> {
        self.echo.filter(data)
    }

    /// The text `event` puts on the screen, if any. Besides `output`
    /// events, a `run_complete` or `exit` can release output held back
    /// while it might have been the start of a marker echo.
    pub fn shown(&mut self, event: &Event) -> Option<String> {
        match &event.body {
            EventBody::Output { data } => {
                let shown = self.shown_output(data);
                (!shown.is_empty()).then(|| shown.into_owned())
            }
            EventBody::InputRun {
                marker: Some(marker),
                ..
            } => {
                self.echo.run_started(marker);
                None
            }
            EventBody::RunComplete { marker, .. } => self.echo.run_completed(marker),
            EventBody::Exit { .. } => self.echo.session_ended(),
            _ => None,
        }
    }
}

/// Replays a whole Session's Event Log.
pub fn replay_session(session_dir: &Path, manifest: &Manifest) -> Result<ScreenReplay> {
    replay_session_with_scrollback(session_dir, manifest, ScreenReplay::DEFAULT_SCROLLBACK)
}

/// Replays a whole Session's Event Log keeping `scrollback` lines (0 when only
/// the visible screen is wanted).
pub fn replay_session_with_scrollback(
    session_dir: &Path,
    manifest: &Manifest,
    scrollback: usize,
) -> Result<ScreenReplay> {
    let mut replay = ScreenReplay::for_manifest_with_scrollback(manifest, scrollback);
    replay.catch_up(&mut EventLogFollower::new(
        &SessionDir::new(session_dir).event_log(),
    ))?;
    Ok(replay)
}

/// A waited `run` the Event Log shows typed (`input_run`) and not completed
/// (no `run_complete` with its marker yet).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingRun {
    /// The run's marker.
    pub marker: String,
    /// The `seq` of its `input_run`.
    pub seq: u64,
    /// The command typed.
    pub command: String,
}

/// The pending waited `run`s, oldest first. A run that timed out stays
/// pending until its command finishes (it then completes late); `--no-wait`
/// runs are never waited for, so never pending.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingRuns(Vec<PendingRun>);

impl PendingRuns {
    /// Takes `event` into account.
    pub fn note(&mut self, event: &Event) {
        match &event.body {
            EventBody::InputRun {
                command,
                marker: Some(marker),
                no_wait: false,
            } => self.0.push(PendingRun {
                marker: marker.clone(),
                seq: event.seq,
                command: command.clone(),
            }),
            EventBody::RunComplete { marker, .. } => self.0.retain(|r| r.marker != *marker),
            _ => {}
        }
    }

    /// The runs, oldest first.
    pub fn runs(&self) -> &[PendingRun] {
        &self.0
    }
}

/// How far into the Event Log `log` the screen checkpoint beside it reaches
/// (a byte offset), when a reader would resume from it: `None` when there is
/// none or it fails the checks (see `screen/checkpoint.rs`).
pub fn checkpoint_offset(log: &Path) -> Option<u64> {
    checkpoint::covered(log).map(|c| c.offset)
}

/// How many events a reader of an Event Log uses, the last one's `seq`, and
/// what it skips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Events read (garbage lines and missing `seq`s are not events).
    pub events: u64,
    /// The last event's `seq`.
    pub last_seq: Option<u64>,
    /// What was skipped.
    pub skipped: Skipped,
    /// The waited `run`s typed and not completed (the ones before the
    /// checkpoint come from it).
    pub pending_runs: PendingRuns,
}

/// Counts a Session's events as a replay would read them, parsing only the
/// part of the log its screen checkpoint does not cover (`inspect` on a
/// 1 GB log that has been replayed once reads only what was logged since).
/// Every event a reader applies has a `seq` above the one before, so the
/// count is the last `seq` + 1 less the `seq`s jumped over.
pub fn tally_events(log: &Path) -> Result<Tally> {
    let (mut follower, mut last_seq, mut pending_runs) = match checkpoint::covered(log) {
        Some(covered) => (
            EventLogFollower::resuming(log, covered.offset, covered.last_seq, covered.skipped),
            covered.last_seq,
            covered.pending_runs,
        ),
        None => (EventLogFollower::new(log), None, PendingRuns::default()),
    };
    follower.read_new(|e| {
        last_seq = Some(e.seq);
        pending_runs.note(&e);
    })?;
    let skipped = follower.skipped().clone();
    Ok(Tally {
        events: last_seq.map_or(0, |s| (s + 1).saturating_sub(skipped.missing_events)),
        last_seq,
        skipped,
        pending_runs,
    })
}

/// The screen as cells and the modes the program set, as the terminal model
/// ([`Engine`]) gives them, within the scrollback this reader asked for.
impl ScreenReplay {
    /// The visible screen, row by row: `rows` rows of `cols` cells.
    pub fn visible_cells(&self) -> CellRows {
        self.engine.cell_rows(0)
    }

    /// How many lines of scrollback are kept above the visible screen (at
    /// most what this reader asked for).
    pub fn scrollback_len(&mut self) -> usize {
        self.engine.history_size().min(self.scrollback)
    }

    /// The screen as it looks scrolled back `offset` lines into history
    /// (0 = the live screen; clamped to [`ScreenReplay::scrollback_len`]).
    pub fn cells_scrolled_back(&mut self, offset: usize) -> CellRows {
        let offset = offset.min(self.scrollback_len());
        self.engine.cell_rows(offset)
    }

    /// Whether the alternate screen (full-screen programs) is shown.
    pub fn is_alt_screen(&self) -> bool {
        self.engine.is_alt_screen()
    }

    /// Whether the program left the cursor visible.
    pub fn cursor_visible(&self) -> bool {
        self.engine.cursor_visible()
    }

    /// The escape sequence that puts a terminal in the input modes the
    /// program set (see [`agent_tty_term::modes::RESET_INPUT_MODES`]).
    pub fn input_modes(&self) -> String {
        self.engine.input_modes()
    }

    /// Whether the program takes a bracketed paste now
    /// ([`agent_tty_term::Engine::takes_bracketed_paste`]).
    pub fn takes_bracketed_paste(&self) -> bool {
        self.engine.takes_bracketed_paste()
    }

    /// The mouse reporting the program enabled, if any.
    pub fn mouse_mode(&self) -> Option<mouse::MouseMode> {
        self.engine.mouse_mode()
    }
}

impl ScreenReplay {
    /// Events handed from the reading thread to the emulating one at a time.
    const CATCH_UP_BATCH: usize = 4096;
    /// ...or fewer, once they hold this much text.
    const CATCH_UP_BATCH_BYTES: usize = 1024 * 1024;

    /// Applies every event `follower` has not read yet and returns how many.
    ///
    /// A fresh replay (nothing applied yet) with a follower at the start of
    /// the log first resumes from the Session's screen checkpoint when it has
    /// a usable one, and reads only the events after it; the events the
    /// checkpoint covers count as applied. Having replayed much more than the
    /// checkpoint covered, it writes a new one (see `screen/checkpoint.rs`).
    ///
    /// Replaying a big log costs two things: decoding its JSON lines and
    /// running the terminal emulator over their output (ADR 0021 has the
    /// figures). They are independent, so the lines are decoded on a helper
    /// thread and handed over in batches while this thread emulates, and
    /// the output of consecutive events reaches the emulator as one run.
    pub fn catch_up(&mut self, follower: &mut EventLogFollower) -> Result<usize> {
        self.catch_up_up_to(follower, u64::MAX)
    }

    /// [`Self::catch_up`], reading about `budget` bytes of the log at most
    /// (see [`EventLogFollower::read_new_up_to`]), for a reader that
    /// replays a big log in steps and answers its user between them.
    pub fn catch_up_up_to(
        &mut self,
        follower: &mut EventLogFollower,
        budget: u64,
    ) -> Result<usize> {
        let fresh = self.pristine && follower.offset() == 0;
        let mut resumed = 0;
        let mut start = 0;
        let mut replace_bad = false;
        if fresh {
            let log = follower.path().to_owned();
            match checkpoint::restore(self, &log) {
                checkpoint::Restored::At(offset) => {
                    *follower = EventLogFollower::resuming(
                        &log,
                        offset,
                        self.last_seq,
                        self.skipped.clone(),
                    );
                    start = offset;
                    resumed = self.last_seq.map_or(0, |s| s as usize + 1);
                }
                checkpoint::Restored::Bad => replace_bad = true,
                checkpoint::Restored::Unusable => {}
            }
        }
        let applied = self.catch_up_from(follower, budget)?;
        self.skipped = follower.skipped().clone();
        if fresh && (replace_bad || follower.offset() - start >= CHECKPOINT_EVERY_BYTES) {
            let log = follower.path().to_owned();
            checkpoint::save(self, &log, follower.offset());
        }
        Ok(resumed + applied)
    }

    fn catch_up_from(&mut self, follower: &mut EventLogFollower, budget: u64) -> Result<usize> {
        std::thread::scope(|scope| {
            let (full, received) = std::sync::mpsc::sync_channel::<Batch>(4);
            // Batches come back empty to be filled again: no allocation per
            // batch once the first few exist.
            let (recycle, recycled) = std::sync::mpsc::channel::<Batch>();
            let reader = scope.spawn(move || {
                let mut batch = Batch::default();
                // Batches are also cut by the text they hold, so the ones
                // in flight stay small even when every line is long.
                let mut weight = 0;
                let read = follower.read_new_borrowed_up_to(budget, |event| {
                    match event {
                        EventRef::Output { seq, data, .. } => {
                            let start = batch.text.len();
                            batch.text.push_str(data);
                            weight += data.len();
                            batch.events.push(Batched::Output {
                                seq,
                                text: start..batch.text.len(),
                            });
                        }
                        EventRef::Other(event) => {
                            weight += match &event.body {
                                EventBody::InputText { data } | EventBody::InputPaste { data } => {
                                    data.len()
                                }
                                _ => 0,
                            };
                            batch.events.push(Batched::Other(event));
                        }
                    }
                    if batch.events.len() == Self::CATCH_UP_BATCH
                        || weight >= Self::CATCH_UP_BATCH_BYTES
                    {
                        weight = 0;
                        let next = recycled.try_recv().unwrap_or_default();
                        // The receiver only stops early by panicking.
                        let _ = full.send(std::mem::replace(&mut batch, next));
                    }
                });
                if !batch.events.is_empty() {
                    let _ = full.send(batch);
                }
                read
            });
            for mut batch in received {
                self.apply_batch(&batch);
                batch.text.clear();
                batch.events.clear();
                let _ = recycle.send(batch);
            }
            self.release_held();
            reader
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// Applies a batch of events as [`Self::apply`] would one by one, but
    /// feeds the emulator the output of consecutive `output` events as one
    /// run (they are consecutive in the batch's text), skipping what
    /// scrolls out unseen ([`Self::feed_skipping`]; the caller releases
    /// what is held once the last batch is applied).
    fn apply_batch(&mut self, batch: &Batch) {
        let mut run = 0..0;
        for event in &batch.events {
            match event {
                Batched::Output { seq, text } => {
                    self.last_seq = Some(*seq);
                    self.pristine = false;
                    match self.echo.shown_output(&batch.text[text.clone()]) {
                        std::borrow::Cow::Borrowed(_) if run.end == text.start => {
                            run.end = text.end;
                        }
                        std::borrow::Cow::Borrowed(_) => {
                            self.feed_skipping(&batch.text.as_bytes()[run]);
                            run = text.clone();
                        }
                        std::borrow::Cow::Owned(shown) => {
                            self.feed_skipping(&batch.text.as_bytes()[run]);
                            run = text.end..text.end;
                            self.feed_skipping(shown.as_bytes());
                        }
                    }
                }
                Batched::Other(event) => {
                    self.feed_skipping(&batch.text.as_bytes()[run.clone()]);
                    run = run.end..run.end;
                    self.release_held();
                    self.apply(event);
                }
            }
        }
        self.feed_skipping(&batch.text.as_bytes()[run]);
    }

    /// Applies one event read without copying its text (see
    /// [`EventLogFollower::read_new_borrowed`]); the same as
    /// [`Self::apply`] on its owned form.
    pub fn apply_ref(&mut self, event: EventRef<'_>) {
        match event {
            EventRef::Output { seq, data, .. } => {
                self.last_seq = Some(seq);
                self.pristine = false;
                let shown = self.echo.shown_output(data);
                if !shown.is_empty() {
                    self.feed(shown.as_bytes());
                }
            }
            EventRef::Other(event) => self.apply(&event),
        }
    }
}

/// Events read from an Event Log on [`ScreenReplay::catch_up`]'s reading
/// thread, for its emulating thread.
#[derive(Default)]
struct Batch {
    /// The text of the `output` events, one after the other.
    text: String,
    events: Vec<Batched>,
}

enum Batched {
    /// An `output` event: its data is this range of [`Batch::text`].
    Output {
        seq: u64,
        text: std::ops::Range<usize>,
    },
    Other(Event),
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
        assert_eq!(r.size(), (10, 2));
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

    #[test]
    fn a_live_screen_put_away_comes_back_as_it_was_in_little_memory() {
        let mut live = LiveScreen::new(120, 40);
        let mut text = String::new();
        for i in 0..3000 {
            text.push_str(&format!("\x1b[3{}mline {i}\x1b[0m of output\r\n", i % 8));
        }
        text.push_str("\x1b[?25l\x1b[5;10r\x1b[2;3Hhere\x1b7\x1b[1;1H");
        live.get().feed(text.as_bytes());
        let picture = |r: &mut ScreenReplay| {
            (
                r.lines_with_scrollback(),
                r.cursor(),
                r.size(),
                r.visible_cells(),
                r.cells_scrolled_back(500),
                r.cursor_visible(),
                r.input_modes(),
            )
        };
        let before = picture(live.get());
        let held = live.sleep().expect("at rest, so it can be put away");
        assert!(live.is_asleep());
        assert!(held < 200 * 1024, "{held} bytes");
        assert_eq!(picture(live.get()), before);
        // It goes on from where it was: the saved cursor, the region.
        live.get().feed(b"\x1b8x\r\n");
        let mut fresh = ScreenReplay::live(120, 40);
        fresh.feed(text.as_bytes());
        fresh.feed(b"\x1b8x\r\n");
        assert_eq!(picture(live.get()), picture(&mut fresh));
        // Not inside an escape sequence.
        live.get().feed(b"\x1b[3");
        assert_eq!(live.sleep(), None);
    }

    /// `CSI b` repeats the last character printed, which the parser keeps
    /// (not the grid): a screen restored from a checkpoint, or woken up
    /// after being put away, must still repeat it when the repeat comes in
    /// the very next output.
    #[test]
    fn a_repeat_right_after_a_restore_repeats_the_character_printed_before() {
        use crate::event_log::{EventLogFollower, EventLogWriter};
        use crate::layout::SessionDir;
        let mut live = LiveScreen::new(20, 4);
        live.get().feed("prompt$ é".as_bytes());
        live.sleep().expect("at rest, so it can be put away");
        live.get().feed(b"\x1b[3b|");
        assert_eq!(live.get().visible_lines()[0], "prompt$ éééé|");

        let tmp = tempfile::tempdir().unwrap();
        let log = SessionDir::new(tmp.path()).event_log();
        let mut writer = EventLogWriter::open(tmp.path()).unwrap();
        let out = |data: &str| EventBody::Output { data: data.into() };
        // Enough log before the cut that a checkpoint is worth writing.
        let line = format!("{}\r\n", "-".repeat(70));
        for _ in 0..(CHECKPOINT_EVERY_BYTES as usize / line.len() + 1) {
            writer.append(out(&line)).unwrap();
        }
        writer.append(out("x")).unwrap();
        let mut first = ScreenReplay::new(80, 24);
        let mut follower = EventLogFollower::new(&log);
        first.catch_up(&mut follower).unwrap();
        assert!(first.save_checkpoint(&log, follower.offset()));
        writer.append(out("\x1b[3b|")).unwrap();
        let mut probe = ScreenReplay::new(80, 24);
        assert!(matches!(
            checkpoint::restore(&mut probe, &log),
            checkpoint::Restored::At(_)
        ));
        let mut resumed = ScreenReplay::new(80, 24);
        resumed.catch_up(&mut EventLogFollower::new(&log)).unwrap();
        assert_eq!(resumed.visible_lines()[23], "xxxx|");
    }

    /// Everything a reader of a screen can see of it.
    type Picture = (
        Vec<String>,
        (u16, u16),
        (u16, u16),
        CellRows,
        CellRows,
        bool,
        String,
    );

    fn picture_of(r: &mut ScreenReplay) -> Picture {
        (
            r.lines_with_scrollback(),
            r.cursor(),
            r.size(),
            r.visible_cells(),
            r.cells_scrolled_back(900),
            r.cursor_visible(),
            r.input_modes(),
        )
    }

    #[rstest::rstest]
    #[case::fresh("")]
    #[case::mid_line_coloured_at_the_top("\x1b[2J\x1b[H\x1b[1;33mhalf a line")]
    #[case::pending_wrap("\x1b[H\x1b[1;80Hx")]
    #[case::line_drawing_charset("\x1b(0\x1b[7m")]
    #[case::alternate_screen("main\r\n\x1b[?1049h\x1b[5;5Halt")]
    #[case::insert_mode_and_tabs("\x1b[4h\x1b[3g\x1b[10G\x1bH\r")]
    fn a_lazily_fed_flood_shows_what_feeding_it_all_shows(#[case] before: &str) {
        let mut flood = String::new();
        for i in 0..4000 {
            let width = (i * 37) % 190;
            flood.push_str(&format!("{i}\t{}é漢\r\n", "x".repeat(width)));
            if i % 997 == 0 {
                flood.push_str("bare line feed\n");
            }
        }
        let tail = "\x1b[31mred tail\x1b[0m\r\nlast partial";
        let mut lazy = LiveScreen::new(80, 24);
        let mut eager = ScreenReplay::live(80, 24);
        for piece in [before, flood.as_str(), tail] {
            lazy.feed(piece.as_bytes());
            eager.feed(piece.as_bytes());
            if piece == before {
                // The flood then starts pending on its own, in this state.
                lazy.get();
                assert!(eager.unseen_prefix(flood.as_bytes()) > flood.len() / 2);
            }
        }
        assert_eq!(picture_of(lazy.get()), picture_of(&mut eager));
        // The flood was mostly skipped.
        let mut screen = ScreenReplay::live(80, 24);
        assert!(screen.unseen_prefix(flood.as_bytes()) > flood.len() / 2);
        screen.feed(b"\x1b[5;20r");
        assert_eq!(screen.unseen_prefix(flood.as_bytes()), 0, "a scroll region");
        let mut screen = ScreenReplay::live(80, 24);
        screen.feed(b"\x1b]0;a title not ended");
        assert_eq!(screen.unseen_prefix(flood.as_bytes()), 0, "inside a string");
    }

    /// The kinds of flood a catch-up's skipping is checked on.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Flood {
        /// Short lines ending in CR LF (what a program prints through the
        /// line discipline), with a bare LF and a CR-redrawn line now and then.
        CrLf,
        /// Lines ending in a bare LF (a terminal in raw mode): no CR LF to
        /// cut at, so nothing may be dropped.
        BareLf,
        /// Lines of up to 3 rows that wrap at 80 columns.
        LongLines,
        /// CR LF lines with colour sequences in the middle of the flood,
        /// far enough apart that the plain stretches between them scroll
        /// out, the last colour left on for the lines after it.
        EscapesInside,
        /// A build's output: colours on every line (16, 256 and direct
        /// colours, colon forms), a background left set across line ends
        /// (new lines take it), a prompt redrawn with an erase, and once
        /// in a while a sequence that may not be skipped (a cursor move).
        Coloured,
    }

    impl Flood {
        /// About 2.5 screens-and-histories of it.
        fn text(self) -> String {
            let mut flood = String::new();
            for i in 0..(ScreenReplay::DEFAULT_SCROLLBACK * 5 / 2) {
                let (width, end) = match self {
                    // Lines that fit (a wrapped one scrolls more rows, so a
                    // skip that kept a few lines too few would not show).
                    Flood::CrLf | Flood::EscapesInside | Flood::Coloured => ((i * 37) % 50, "\r\n"),
                    Flood::BareLf => ((i * 37) % 50, "\n"),
                    Flood::LongLines => ((i * 37) % 230, "\r\n"),
                };
                flood.push_str(&format!("{i}\t{}é漢{end}", "x".repeat(width)));
                match (self, i % 4999, i % 12_007) {
                    (Flood::CrLf, 0, _) => flood.push_str("bare line feed\n"),
                    (Flood::CrLf, 1, _) => flood.push_str("progress 10%\rprogress 100%\r\n"),
                    (Flood::EscapesInside, _, 0) => {
                        flood.push_str("\x1b[1;34mbold blue\x1b[0m mid\x1b[K-line\x1b[46m\r\n")
                    }
                    (Flood::Coloured, _, _) => flood.push_str(match i % 7 {
                        0 => "\x1b[32m  Compiling\x1b[0m crate \x1b[45m\r\n",
                        1 => "\x1b[44mbackground left on\r\nnext\r\n",
                        2 => "\x1b[38;5;208morange\x1b[m \x1b[38;2;10;20;30mdirect\r\n",
                        3 => "\x1b[4:3mcurly\x1b[24m \x1b[58:2::1:2:3mcolon\x1b[0m\r\n",
                        4 => "\r\x1b[K\x1b[1;32m$\x1b[0m make \x1b[7mtest\x1b[27m\r\n",
                        5 if i % 3001 == 5 => "\x1b[2Amoved up\r\n",
                        _ => "\x1b[1mbold \x1b[2K erased\x1b[22m\r\n",
                    }),
                    _ => {}
                }
            }
            flood
        }
    }

    /// A catch-up drops the part of a flood of plain lines that scrolls out
    /// of the screen and its history unseen, and the screen, scrollback and
    /// cursor are exactly what event-by-event application gives: from several
    /// starting states, for several kinds of flood, cut anywhere into events,
    /// with other events (input, a resize) and escape sequences between
    /// floods. `skips`: whether it may drop anything at all.
    #[rstest::rstest]
    #[case::fresh("", Flood::CrLf, true)]
    #[case::mid_line_coloured("\x1b[1;33mhalf a line", Flood::CrLf, true)]
    #[case::pending_wrap("\x1b[1;80Hx", Flood::CrLf, true)]
    #[case::alternate_screen("main\r\n\x1b[?1049h\x1b[5;5Halt", Flood::CrLf, true)]
    #[case::scroll_region("\x1b[5;20r\x1b[7;1H", Flood::CrLf, false)]
    #[case::bare_line_feeds("", Flood::BareLf, false)]
    #[case::long_lines("\x1b[1;33mhalf a line", Flood::LongLines, true)]
    #[case::escapes_inside("", Flood::EscapesInside, true)]
    #[case::escapes_inside_a_region("\x1b[3;10r", Flood::EscapesInside, false)]
    #[case::coloured("", Flood::Coloured, true)]
    #[case::coloured_from_a_coloured_line("\x1b[45;1mhalf a line", Flood::Coloured, true)]
    #[case::coloured_in_a_region("\x1b[3;10r", Flood::Coloured, false)]
    fn a_caught_up_flood_skips_what_scrolls_out_and_shows_the_same(
        #[case] before: &str,
        #[case] kind: Flood,
        #[case] skips: bool,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let mut log = crate::event_log::EventLogWriter::open(tmp.path()).unwrap();
        let out = |data: String| EventBody::Output { data };
        log.append(out(before.into())).unwrap();
        let flood = kind.text();
        // Cut into events at character boundaries, of varied sizes.
        let mut cuts = Vec::new();
        let mut at = 0;
        while at < flood.len() {
            let mut end = (at + 1 + (at * 7919) % 32_768).min(flood.len());
            while !flood.is_char_boundary(end) {
                end += 1;
            }
            cuts.push(at..end);
            at = end;
        }
        assert!(cuts.len() > 20);
        let path = SessionDir::new(tmp.path()).event_log();
        let mut follower = EventLogFollower::new(&path);
        let mut caught_up = ScreenReplay::new(80, 24);
        let mut one_by_one = ScreenReplay::new(80, 24);
        let mut applied = 0;
        // Caught up after each step, so every step's end is compared.
        let mut compare = |step: &str| {
            let events = crate::event_log::read_all(&path).unwrap();
            for e in &events[applied..] {
                one_by_one.apply(e);
            }
            applied = events.len();
            caught_up.catch_up(&mut follower).unwrap();
            assert!(caught_up.held.text.is_empty());
            assert_eq!(caught_up.last_seq(), one_by_one.last_seq());
            assert!(
                picture_of(&mut caught_up) == picture_of(&mut one_by_one),
                "after {step}"
            );
            caught_up.held.dropped_bytes
        };
        for (n, cut) in cuts.iter().enumerate() {
            log.append(out(flood[cut.clone()].to_owned())).unwrap();
            if n == cuts.len() / 2 {
                compare("half the flood");
                log.append(EventBody::InputText {
                    data: "typed".into(),
                })
                .unwrap();
                log.append(out("\x1b[32mgreen\x1b[0m\r\n".into())).unwrap();
            }
        }
        // A resize ends any scroll region: from here on it may skip.
        let dropped_before_resize = compare("the flood");
        log.append(EventBody::Resize { cols: 70, rows: 20 })
            .unwrap();
        log.append(out(flood[..flood.len() / 3].to_owned()))
            .unwrap();
        compare("a resize and a shorter flood");
        log.append(out("\x1b[31mred tail\x1b[0m\r\nlast partial".into()))
            .unwrap();
        let dropped = compare("the tail");
        // It skipped (what came beyond a screen and its history, each
        // time), or nothing at all where it may not.
        if skips {
            assert!(dropped > flood.len() / 20);
        } else {
            assert_eq!(dropped_before_resize, 0);
        }

        // Most of a flood is dropped, not held; what may not be dropped is
        // not held either, unless it may be dropped later (bare LFs).
        let mut screen = ScreenReplay::new(80, 24);
        screen.feed(before.as_bytes());
        screen.feed_skipping(flood.as_bytes());
        assert_eq!(screen.held.dropped_bytes > 0, skips);
        assert!(screen.held.text.len() < flood.len() / 2 || kind == Flood::BareLf);
    }

    /// A flood fed in small pieces, so that most colour sequences are cut
    /// in two, is skipped as much as when fed whole, and shows the same.
    #[rstest::rstest]
    #[case::coloured(Flood::Coloured)]
    #[case::escapes_inside(Flood::EscapesInside)]
    fn colours_cut_between_pieces_are_still_skipped(#[case] kind: Flood) {
        let flood = kind.text();
        let mut pieces = ScreenReplay::new(80, 24);
        let mut fed = ScreenReplay::new(80, 24);
        for piece in flood.as_bytes().chunks(7) {
            pieces.feed_skipping(piece);
        }
        pieces.release_held();
        fed.feed(flood.as_bytes());
        assert!(pieces.held.dropped_bytes > flood.len() / 2);
        assert!(picture_of(&mut pieces) == picture_of(&mut fed));
    }

    /// `CSI b` repeats the last character printed, which the parser keeps
    /// rather than the grid: a cut is not made where the rest would print
    /// nothing, or the repeat would take a character from before the cut.
    #[rstest::rstest]
    #[case::blank_lines("\r\n")]
    #[case::only_colours_and_erases("\x1b[32m\x1b[K\x1b[0m\r\n")]
    fn a_repeat_after_a_skippable_flood_repeats_the_same_character(#[case] line: &str) {
        let lines = line.repeat(ScreenReplay::DEFAULT_SCROLLBACK + 2 * 24 + 10);
        let flood = format!("B\r\n{lines}\x1b[3b");
        let mut skipping = ScreenReplay::new(80, 24);
        let mut fed = ScreenReplay::new(80, 24);
        skipping.feed(b"A\r\n");
        fed.feed(b"A\r\n");
        skipping.feed_skipping(flood.as_bytes());
        skipping.release_held();
        fed.feed(flood.as_bytes());
        assert_eq!(fed.visible_lines()[23], "BBB");
        assert_eq!(skipping.visible_lines()[23], "BBB");
        // With a character printed after them, the same lines are skipped.
        let mut skipping = ScreenReplay::new(80, 24);
        skipping.feed_skipping(format!("B\r\n{lines}C\x1b[3b").as_bytes());
        skipping.release_held();
        assert!(skipping.held.dropped_bytes > 0);
        assert_eq!(skipping.visible_lines()[23], "CCCC");
    }

    #[rstest::rstest]
    #[case::bare(b"\x1b[m".as_slice(), true)]
    #[case::zero(b"\x1b[0m".as_slice(), true)]
    #[case::zeros(b"\x1b[00m".as_slice(), true)]
    #[case::empty_first(b"\x1b[;31m".as_slice(), true)]
    #[case::zero_first(b"\x1b[0;1;32m".as_slice(), true)]
    #[case::zero_later(b"\x1b[1;0m".as_slice(), false)]
    #[case::colon_form(b"\x1b[0:1m".as_slice(), false)]
    #[case::colour(b"\x1b[32m".as_slice(), false)]
    fn a_full_pen_reset_is_a_first_parameter_of_zero(#[case] sgr: &[u8], #[case] resets: bool) {
        assert_eq!(resets_pen(sgr), resets);
    }

    #[test]
    fn skippable_text_stops_at_what_may_change_more_than_the_pen() {
        let text = "a\x1b[1;38:2::1:2:3m\u{a0}°\x1b[K\r\n\t";
        assert_eq!(skippable_len(text.as_bytes()), text.len());
        for stop in [
            "\x1b[2A",
            "\x1b[?25l",
            "\x1b]0;t\x07",
            "\u{85}",
            "\x1b[2:1K",
            "\x7f",
        ] {
            let with = format!("{text}{stop}z");
            assert_eq!(skippable_len(with.as_bytes()), text.len(), "{stop:?}");
        }
        assert!(!prints(b"\r\n\x1b[31m\x1b[K\t"));
        assert!(prints(b"\r\n\x1b[31m "));
        assert!(may_be_cut_pen_or_erase(b"\x1b[38;5"));
        assert!(may_be_cut_pen_or_erase(b"\x1b"));
        assert!(!may_be_cut_pen_or_erase(b"\x1b[?2"));
        assert!(!may_be_cut_pen_or_erase(
            &[b"\x1b[".as_slice(), &[b'1'; MAX_CUT]].concat()
        ));
    }

    #[test]
    fn sizes_beyond_the_limit_are_clamped_not_allocated() {
        let mut r = ScreenReplay::new(65535, 65535);
        assert_eq!(r.size(), (MAX_COLS, MAX_ROWS));
        r.apply(&ev(0, EventBody::Resize { cols: 3, rows: 0 }));
        assert_eq!(r.size(), (3, 1));
        r.apply(&ev(
            1,
            EventBody::Resize {
                cols: 65535,
                rows: 4000,
            },
        ));
        assert_eq!(r.size(), (MAX_COLS, MAX_ROWS));
        r.apply(&output(2, "still works"));
        assert_eq!(r.visible_lines()[0], "still works");
    }

    fn output(seq: u64, data: &str) -> Event {
        ev(seq, EventBody::Output { data: data.into() })
    }

    #[test]
    fn a_run_suffix_never_reaches_the_screen_even_when_it_would_wrap() {
        let marker = "atm01JD3Z6X8K4M2N5P7Q9R1S3T5V";
        let mut r = ScreenReplay::new(20, 4);
        r.apply(&output(0, "$ "));
        r.apply(&ev(
            1,
            EventBody::InputRun {
                command: "echo answer-42".into(),
                marker: Some(marker.into()),
                no_wait: false,
            },
        ));
        let echo = agent_tty_term::run_marker::typed_line("echo answer-42", marker);
        r.apply(&output(2, &format!("{echo}\n")));
        r.apply(&output(3, "answer-42\r\n"));
        let mut osc = String::from_utf8(agent_tty_term::run_marker::osc(marker)).unwrap();
        osc.push_str("$ ");
        r.apply(&output(4, &osc));
        r.apply(&ev(
            5,
            EventBody::RunComplete {
                marker: marker.into(),
                input_run_seq: Some(1),
                exit_code: None,
            },
        ));
        assert_eq!(
            r.visible_lines(),
            ["$ echo answer-42", "answer-42", "$", ""]
        );
        assert!(!r.match_text().contains("7770"));
        assert_eq!(r.cursor(), (2, 2));
    }

    #[test]
    fn wrapped_rows_match_as_one_line_and_scrollback_is_kept() {
        let mut r = ScreenReplay::new(5, 2);
        r.apply(&output(0, "first\r\nabcdefgh\r\nlast"));
        assert_eq!(r.visible_lines(), ["fgh", "last"]);
        assert_eq!(r.match_text(), "fgh\nlast");
        let mut r = ScreenReplay::new(5, 3);
        r.apply(&output(0, "first\r\nabcdefgh\r\nlast"));
        assert_eq!(r.match_text(), "abcdefgh\nlast");
        r.apply(&output(1, "\r\nmore\r\nend"));
        assert_eq!(
            r.lines_with_scrollback(),
            ["first", "abcde", "fgh", "last", "more", "end"]
        );
        assert_eq!(r.visible_lines(), ["last", "more", "end"]);
        assert_eq!(r.size(), (5, 3));
    }

    /// A log that crosses batch boundaries (by count and by size) with
    /// every kind of event a replay treats differently in between: escape
    /// sequences cut across events, `run`s whose marker echo is removed
    /// (split across events too), resizes, the exit.
    #[test]
    fn catching_up_on_a_log_equals_applying_it_event_by_event() {
        let tmp = tempfile::tempdir().unwrap();
        let mut log = crate::event_log::EventLogWriter::open(tmp.path()).unwrap();
        let mut events = 0;
        let mut append = |body| {
            log.append(body).unwrap();
            events += 1;
        };
        let out = |data: String| EventBody::Output { data };
        for i in 0..ScreenReplay::CATCH_UP_BATCH * 2 + 7 {
            match i % 1000 {
                // An SGR cut in two, and a wide character after it.
                10 => {
                    append(out(format!("\x1b[1;3{}", i % 8)));
                    append(out(format!("1mbold {i} 日本\x1b[0m\r\n")));
                }
                20 => {
                    let marker = format!("atmTest{i}");
                    append(EventBody::InputRun {
                        command: format!("echo {i}"),
                        marker: Some(marker.clone()),
                        no_wait: false,
                    });
                    let echo =
                        agent_tty_term::run_marker::typed_line(&format!("echo {i}"), &marker);
                    let (a, b) = echo.split_at(echo.len() - 5);
                    append(out(a.to_owned()));
                    append(out(format!("{b}\r\n{i}\r\n")));
                    let osc = String::from_utf8(agent_tty_term::run_marker::osc(&marker)).unwrap();
                    append(out(format!("{osc}$ ")));
                    append(EventBody::RunComplete {
                        marker,
                        input_run_seq: None,
                        exit_code: None,
                    });
                }
                30 => append(EventBody::Resize {
                    cols: 20 + (i % 7) as u16,
                    rows: 4 + (i % 3) as u16,
                }),
                // Long events: batches cut by size.
                40 => append(out(format!("{}\r\n", "x".repeat(300 * 1024)))),
                _ => append(out(format!("line {i}\r\n"))),
            }
        }
        append(out("the end".into()));
        append(EventBody::Exit {
            exit_code: Some(0),
            exit_signal: None,
        });
        let path = SessionDir::new(tmp.path()).event_log();
        let mut one_by_one = ScreenReplay::new(20, 4);
        for e in crate::event_log::read_all(&path).unwrap() {
            one_by_one.apply(&e);
        }
        let mut follower = EventLogFollower::new(&path);
        let mut caught_up = ScreenReplay::new(20, 4);
        assert_eq!(caught_up.catch_up(&mut follower).unwrap(), events);
        assert_eq!(caught_up.size(), one_by_one.size());
        assert_eq!(
            caught_up.lines_with_scrollback(),
            one_by_one.lines_with_scrollback()
        );
        assert_eq!(caught_up.cursor(), one_by_one.cursor());
        assert_eq!(caught_up.last_seq(), Some(events as u64 - 1));
        assert_eq!(caught_up.exit(), one_by_one.exit());
        assert!(!caught_up.match_text().contains("7770"));
        assert_eq!(caught_up.catch_up(&mut follower).unwrap(), 0);

        // Event by event without copies (the bench's single-threaded path).
        let mut by_ref = ScreenReplay::new(20, 4);
        EventLogFollower::new(&path)
            .read_new_borrowed(|e| by_ref.apply_ref(e))
            .unwrap();
        assert_eq!(
            by_ref.lines_with_scrollback(),
            one_by_one.lines_with_scrollback()
        );
    }
}
