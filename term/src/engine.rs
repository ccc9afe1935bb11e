//! The terminal emulator behind the store's `ScreenReplay` (agent-tty-core): `alacritty_terminal`
//! (the engine of the Alacritty terminal) driven through a thin [`Handler`]
//! that fills the few gaps our conformance suite found in it.
//!
//! Why this engine and not `vt100` is recorded in
//! `docs/adr/0003-terminal-engine.md`. In short: it reflows on resize, keeps
//! the newest rows when the screen gets shorter, implements charsets, tab
//! stops, insert mode, REP, DECCOLM, ED 3 and the rest of what real programs
//! send, and its grid serialises, which
//! is what screen checkpoints are made of.
//!
//! What the wrapper adds on top of `alacritty_terminal` 0.26:
//! - modes 47, 1047 and 1048 (only 1049 is built in): 47/1047 switch screens
//!   sharing one cursor, as xterm does; 1048 saves/restores the cursor;
//! - DECALN (`ESC # 8`) homes the cursor, as the VT100 manual says;
//! - any width from 1 column: alacritty needs 2 columns to lay out a wide
//!   character, so on a 1-column screen a wide character is shown as U+FFFD
//!   instead of panicking;
//! - bookkeeping of the state alacritty keeps private but a checkpoint must
//!   carry (scroll region, active charset), see [`Mirror`].
//!
//! Synchronized updates (mode 2026) are not buffered: a replay applies each
//! Event Log event whole, and buffering would only hide output the log
//! already holds.

use alacritty_terminal::event::{Event as TermEvent, EventListener};
use alacritty_terminal::grid::{Dimensions, Grid};
use alacritty_terminal::index::{Column, Line};
use alacritty_terminal::term::cell::{Cell, Flags};
use alacritty_terminal::term::{Config, Term, TermMode};
use alacritty_terminal::vte::ansi::{
    Attr, CharsetIndex, ClearMode, CursorShape, CursorStyle, Handler, Hyperlink, KeyboardModes,
    KeyboardModesApplyBehavior, LineClearMode, Mode, ModifyOtherKeys, NamedMode, NamedPrivateMode,
    PrivateMode, Processor, Rgb, ScpCharPath, ScpUpdateMode, StandardCharset, TabulationClearMode,
    Timeout,
};
use std::time::Duration;

/// The screen size as alacritty wants it.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    /// Columns.
    pub cols: usize,
    /// Rows.
    pub rows: usize,
}

impl Dimensions for Size {
    fn total_lines(&self) -> usize {
        self.rows
    }
    fn screen_lines(&self) -> usize {
        self.rows
    }
    fn columns(&self) -> usize {
        self.cols
    }
}

/// Never buffers a synchronized update (see the module docs).
#[derive(Debug, Default)]
pub struct NoSync;

impl Timeout for NoSync {
    fn set_timeout(&mut self, _: Duration) {}
    fn clear_timeout(&mut self) {}
    fn pending_timeout(&self) -> bool {
        false
    }
}

/// Drops what the terminal would write back to the program: a replay of a
/// log answers nothing, and the Session host answers queries itself
/// (`session-host/src/replies.rs`, from `term::profile`).
#[derive(Clone, Copy, Default)]
pub struct Silent;

impl EventListener for Silent {
    fn send_event(&self, _: TermEvent) {}
}

/// State alacritty keeps private that a checkpoint must carry; tracked here
/// from the calls that change it.
#[derive(Debug, Clone, Default)]
pub struct Mirror {
    /// The scroll region as last set (`top`, `bottom`, one-based), `None`
    /// for the whole screen.
    pub region: Option<(usize, Option<usize>)>,
    /// The character set shifted in (SO/SI, LS2/LS3).
    pub active_charset: CharsetIndex,
    /// While the alternate screen is shown: the main screen as it was when
    /// the program switched (alacritty keeps the hidden screen private;
    /// nothing but a resize changes it until the program switches back).
    pub main_screen: Option<Box<Grid<Cell>>>,
    /// The last character printed, which `CSI b` (REP) repeats. The parser
    /// keeps it, not the grid, so a screen restored from a checkpoint must
    /// hand it back ([`Engine::set_mirror`]) or a repeat right after the
    /// restore would repeat nothing.
    pub preceding_char: Option<char>,
}

/// The emulator: alacritty's terminal, its escape-sequence parser, and our
/// additions.
pub struct Engine {
    /// alacritty's terminal: the grid, the cursor and the modes.
    pub term: Term<Silent>,
    processor: Processor<NoSync>,
    /// What alacritty keeps private, tracked beside it.
    pub mirror: Mirror,
}

impl Engine {
    /// An empty `cols` × `rows` screen keeping `history` lines above it.
    pub fn new(cols: u16, rows: u16, history: usize) -> Self {
        let config = Config {
            scrolling_history: history,
            ..Config::default()
        };
        let size = Size {
            cols: usize::from(cols),
            rows: usize::from(rows),
        };
        Engine {
            term: Term::new(config, &size, Silent),
            processor: Processor::new(),
            mirror: Mirror::default(),
        }
    }

    /// Feeds program output.
    pub fn process(&mut self, bytes: &[u8]) {
        let mut handler = Emulator {
            term: &mut self.term,
            mirror: &mut self.mirror,
        };
        self.processor.advance(&mut handler, bytes);
    }

    /// Resizes, reflowing the main screen (see [`Term::resize`]).
    pub fn resize(&mut self, cols: u16, rows: u16) {
        let size = Size {
            cols: usize::from(cols),
            rows: usize::from(rows),
        };
        if size.cols != self.term.columns() || size.rows != self.term.screen_lines() {
            if size.cols < 2 && self.term.columns() >= 2 {
                self.narrow_wide_characters();
            }
            self.term.resize(size);
            // Alacritty resets the scroll region on resize, and reflows the
            // hidden main screen as it does here.
            self.mirror.region = None;
            if let Some(main) = &mut self.mirror.main_screen {
                main.resize(true, size.rows, size.cols);
            }
        }
    }

    /// Replaces every wide character (on both screens, scrollback included)
    /// with U+FFFD before going down to one column: alacritty cannot reflow
    /// a two-column character into one column (it loops allocating).
    fn narrow_wide_characters(&mut self) {
        fn narrow(grid: &mut Grid<Cell>) {
            let top = -(grid.history_size() as i32);
            let (rows, cols) = (grid.screen_lines() as i32, grid.columns());
            for line in top..rows {
                let row = &mut grid[Line(line)];
                for col in 0..cols {
                    let cell = &mut row[Column(col)];
                    if cell.flags.contains(Flags::WIDE_CHAR) {
                        cell.c = '\u{FFFD}';
                    } else if cell
                        .flags
                        .intersects(Flags::WIDE_CHAR_SPACER | Flags::LEADING_WIDE_CHAR_SPACER)
                    {
                        cell.c = ' ';
                    }
                    cell.flags.remove(
                        Flags::WIDE_CHAR
                            | Flags::WIDE_CHAR_SPACER
                            | Flags::LEADING_WIDE_CHAR_SPACER,
                    );
                }
            }
        }
        narrow(self.term.grid_mut());
        if self.term.mode().contains(TermMode::ALT_SCREEN) {
            // The main screen is private while hidden: switch to it and back
            // (switching to the alternate screen clears it, so it is kept).
            let alt = self.term.grid().clone();
            self.term.swap_alt();
            narrow(self.term.grid_mut());
            self.term.swap_alt();
            *self.term.grid_mut() = alt;
            if let Some(main) = &mut self.mirror.main_screen {
                narrow(main);
            }
        }
    }

    /// The screen's width in columns.
    pub fn cols(&self) -> usize {
        self.term.columns()
    }

    /// The screen's height in rows.
    pub fn rows(&self) -> usize {
        self.term.screen_lines()
    }

    /// The tab stops, probed by tabbing across a row (alacritty keeps them
    /// private). The cursor is put back.
    pub fn tab_stops(&mut self) -> Vec<usize> {
        let saved = self.term.grid().cursor.clone();
        let last = self.cols().saturating_sub(1);
        let mut stops = Vec::new();
        self.term.grid_mut().cursor.point.column = Column(0);
        loop {
            self.term.move_forward_tabs(1);
            let col = self.term.grid().cursor.point.column.0;
            if col >= last || stops.last() == Some(&col) {
                break;
            }
            stops.push(col);
        }
        self.term.grid_mut().cursor = saved;
        stops
    }

    /// Replaces the tab stops. The cursor is put back.
    pub fn set_tab_stops(&mut self, stops: &[usize]) {
        let saved = self.term.grid().cursor.clone();
        self.term.clear_tabs(TabulationClearMode::All);
        let cols = self.cols();
        for &col in stops.iter().filter(|&&c| c < cols) {
            self.term.grid_mut().cursor.point.column = Column(col);
            self.term.set_horizontal_tabstop();
        }
        self.term.grid_mut().cursor = saved;
    }

    /// Puts the modes back as `mode` has them (a checkpoint being restored).
    /// Call before the cursor is restored: some modes move it.
    pub fn set_modes(&mut self, mode: TermMode) {
        let mut h = Emulator {
            term: &mut self.term,
            mirror: &mut self.mirror,
        };
        let private: &[(TermMode, NamedPrivateMode)] = &[
            (TermMode::SHOW_CURSOR, NamedPrivateMode::ShowCursor),
            (TermMode::APP_CURSOR, NamedPrivateMode::CursorKeys),
            (TermMode::LINE_WRAP, NamedPrivateMode::LineWrap),
            (TermMode::ORIGIN, NamedPrivateMode::Origin),
            (TermMode::FOCUS_IN_OUT, NamedPrivateMode::ReportFocusInOut),
            (TermMode::BRACKETED_PASTE, NamedPrivateMode::BracketedPaste),
            (
                TermMode::ALTERNATE_SCROLL,
                NamedPrivateMode::AlternateScroll,
            ),
            (TermMode::URGENCY_HINTS, NamedPrivateMode::UrgencyHints),
            (
                TermMode::MOUSE_REPORT_CLICK,
                NamedPrivateMode::ReportMouseClicks,
            ),
            (
                TermMode::MOUSE_DRAG,
                NamedPrivateMode::ReportCellMouseMotion,
            ),
            (
                TermMode::MOUSE_MOTION,
                NamedPrivateMode::ReportAllMouseMotion,
            ),
            (TermMode::SGR_MOUSE, NamedPrivateMode::SgrMouse),
            (TermMode::UTF8_MOUSE, NamedPrivateMode::Utf8Mouse),
        ];
        for &(flag, named) in private {
            if mode.contains(flag) {
                h.set_private_mode(PrivateMode::Named(named));
            } else {
                h.unset_private_mode(PrivateMode::Named(named));
            }
        }
        let public: &[(TermMode, NamedMode)] = &[
            (TermMode::INSERT, NamedMode::Insert),
            (TermMode::LINE_FEED_NEW_LINE, NamedMode::LineFeedNewLine),
        ];
        for &(flag, named) in public {
            if mode.contains(flag) {
                h.set_mode(Mode::Named(named));
            } else {
                h.unset_mode(Mode::Named(named));
            }
        }
        if mode.contains(TermMode::APP_KEYPAD) {
            h.set_keypad_application_mode();
        } else {
            h.unset_keypad_application_mode();
        }
    }

    /// Sets the scroll region and active charset as `mirror` has them.
    /// Call before the cursor is restored: setting a region homes it.
    pub fn set_mirror(&mut self, mirror: &Mirror) {
        let mut h = Emulator {
            term: &mut self.term,
            mirror: &mut self.mirror,
        };
        if let Some((top, bottom)) = mirror.region {
            h.set_scrolling_region(top, bottom);
        }
        h.set_active_charset(mirror.active_charset);
        self.mirror.region = mirror.region;
        self.mirror.active_charset = mirror.active_charset;
        // Only a printable character (a damaged checkpoint's ESC would
        // leave the parser inside a sequence).
        if let Some(c) = mirror.preceding_char.filter(|c| !c.is_control()) {
            // The parser learns the character the only way it can, by
            // printing it, here to a handler that draws nothing.
            struct Nowhere;
            impl Handler for Nowhere {}
            self.processor
                .advance(&mut Nowhere, c.encode_utf8(&mut [0; 4]).as_bytes());
            self.mirror.preceding_char = Some(c);
        }
    }
}

/// Maps a charset to a number for checkpoints (alacritty's type does not
/// serialise).
pub fn charset_code(c: StandardCharset) -> u8 {
    match c {
        StandardCharset::Ascii => 0,
        StandardCharset::SpecialCharacterAndLineDrawing => 1,
    }
}

/// The charset [`charset_code`] numbered `code`.
pub fn charset_of(code: u8) -> StandardCharset {
    match code {
        1 => StandardCharset::SpecialCharacterAndLineDrawing,
        _ => StandardCharset::Ascii,
    }
}

/// Maps a charset slot (G0–G3) to a number for checkpoints.
pub fn charset_index_code(c: CharsetIndex) -> u8 {
    match c {
        CharsetIndex::G0 => 0,
        CharsetIndex::G1 => 1,
        CharsetIndex::G2 => 2,
        CharsetIndex::G3 => 3,
    }
}

/// The slot [`charset_index_code`] numbered `code`.
pub fn charset_index_of(code: u8) -> CharsetIndex {
    match code {
        1 => CharsetIndex::G1,
        2 => CharsetIndex::G2,
        3 => CharsetIndex::G3,
        _ => CharsetIndex::G0,
    }
}

/// The four charset slots, in checkpoint order.
pub const CHARSET_INDEXES: [CharsetIndex; 4] = [
    CharsetIndex::G0,
    CharsetIndex::G1,
    CharsetIndex::G2,
    CharsetIndex::G3,
];

/// The [`Handler`] the parser drives: alacritty's terminal plus our fixes.
struct Emulator<'a> {
    term: &'a mut Term<Silent>,
    mirror: &'a mut Mirror,
}

impl Emulator<'_> {
    /// Switches to or from the alternate screen keeping the cursor where it
    /// is (modes 47 and 1047: one cursor for both screens).
    fn swap_screens_keeping_cursor(&mut self, to_alt: bool) {
        if self.term.mode().contains(TermMode::ALT_SCREEN) == to_alt {
            return;
        }
        let cursor = self.term.grid().cursor.clone();
        self.term.swap_alt();
        let (rows, cols) = (self.term.screen_lines(), self.term.columns());
        let grid = self.term.grid_mut();
        grid.cursor.point.line = Line(cursor.point.line.0.clamp(0, rows as i32 - 1));
        grid.cursor.point.column = Column(cursor.point.column.0.min(cols - 1));
        grid.cursor.input_needs_wrap = cursor.input_needs_wrap;
    }

    /// Private modes alacritty does not know; true when handled here.
    fn extra_private_mode(&mut self, mode: PrivateMode, set: bool) -> bool {
        match mode {
            PrivateMode::Unknown(47) => self.swap_screens_keeping_cursor(set),
            PrivateMode::Unknown(1047) => {
                if !set && self.term.mode().contains(TermMode::ALT_SCREEN) {
                    self.term.clear_screen(ClearMode::All);
                }
                self.swap_screens_keeping_cursor(set)
            }
            PrivateMode::Unknown(1048) => {
                if set {
                    self.term.save_cursor_position()
                } else {
                    self.term.restore_cursor_position()
                }
            }
            PrivateMode::Named(NamedPrivateMode::ColumnMode) => {
                // DECCOLM resets the scroll region (and clears the screen).
                self.mirror.region = None;
                return false;
            }
            _ => return false,
        }
        true
    }
}

impl Handler for Emulator<'_> {
    fn set_title(&mut self, t: Option<String>) {
        self.term.set_title(t)
    }
    fn set_cursor_style(&mut self, s: Option<CursorStyle>) {
        self.term.set_cursor_style(s)
    }
    fn set_cursor_shape(&mut self, s: CursorShape) {
        self.term.set_cursor_shape(s)
    }
    fn input(&mut self, c: char) {
        self.mirror.preceding_char = Some(c);
        if self.term.columns() < 2 && unicode_width::UnicodeWidthChar::width(c) == Some(2) {
            self.term.input('\u{FFFD}')
        } else {
            self.term.input(c)
        }
    }
    fn goto(&mut self, line: i32, col: usize) {
        self.term.goto(line, col)
    }
    fn goto_line(&mut self, line: i32) {
        self.term.goto_line(line)
    }
    fn goto_col(&mut self, col: usize) {
        self.term.goto_col(col)
    }
    fn insert_blank(&mut self, n: usize) {
        self.term.insert_blank(n)
    }
    fn move_up(&mut self, n: usize) {
        self.term.move_up(n)
    }
    fn move_down(&mut self, n: usize) {
        self.term.move_down(n)
    }
    fn identify_terminal(&mut self, i: Option<char>) {
        self.term.identify_terminal(i)
    }
    fn device_status(&mut self, n: usize) {
        self.term.device_status(n)
    }
    fn move_forward(&mut self, n: usize) {
        self.term.move_forward(n)
    }
    fn move_backward(&mut self, n: usize) {
        self.term.move_backward(n)
    }
    fn move_down_and_cr(&mut self, n: usize) {
        self.term.move_down_and_cr(n)
    }
    fn move_up_and_cr(&mut self, n: usize) {
        self.term.move_up_and_cr(n)
    }
    fn put_tab(&mut self, n: u16) {
        self.term.put_tab(n)
    }
    fn backspace(&mut self) {
        self.term.backspace()
    }
    fn carriage_return(&mut self) {
        self.term.carriage_return()
    }
    fn linefeed(&mut self) {
        self.term.linefeed()
    }
    fn bell(&mut self) {
        self.term.bell()
    }
    fn substitute(&mut self) {
        self.term.substitute()
    }
    fn newline(&mut self) {
        self.term.newline()
    }
    fn set_horizontal_tabstop(&mut self) {
        self.term.set_horizontal_tabstop()
    }
    fn scroll_up(&mut self, n: usize) {
        self.term.scroll_up(n)
    }
    fn scroll_down(&mut self, n: usize) {
        self.term.scroll_down(n)
    }
    fn insert_blank_lines(&mut self, n: usize) {
        self.term.insert_blank_lines(n)
    }
    fn delete_lines(&mut self, n: usize) {
        self.term.delete_lines(n)
    }
    fn erase_chars(&mut self, n: usize) {
        self.term.erase_chars(n)
    }
    fn delete_chars(&mut self, n: usize) {
        self.term.delete_chars(n)
    }
    fn move_backward_tabs(&mut self, n: u16) {
        self.term.move_backward_tabs(n)
    }
    fn move_forward_tabs(&mut self, n: u16) {
        self.term.move_forward_tabs(n)
    }
    fn save_cursor_position(&mut self) {
        self.term.save_cursor_position()
    }
    fn restore_cursor_position(&mut self) {
        self.term.restore_cursor_position()
    }
    fn clear_line(&mut self, m: LineClearMode) {
        self.term.clear_line(m)
    }
    fn clear_screen(&mut self, m: ClearMode) {
        self.term.clear_screen(m)
    }
    fn clear_tabs(&mut self, m: TabulationClearMode) {
        self.term.clear_tabs(m)
    }
    fn set_tabs(&mut self, n: u16) {
        self.term.set_tabs(n)
    }
    fn reset_state(&mut self) {
        self.term.reset_state();
        *self.mirror = Mirror::default();
    }
    fn reverse_index(&mut self) {
        self.term.reverse_index()
    }
    fn terminal_attribute(&mut self, a: Attr) {
        self.term.terminal_attribute(a)
    }
    fn set_mode(&mut self, m: Mode) {
        self.term.set_mode(m)
    }
    fn unset_mode(&mut self, m: Mode) {
        self.term.unset_mode(m)
    }
    fn report_mode(&mut self, m: Mode) {
        self.term.report_mode(m)
    }
    fn set_private_mode(&mut self, m: PrivateMode) {
        let switches = matches!(
            m,
            PrivateMode::Named(NamedPrivateMode::SwapScreenAndSetRestoreCursor)
                | PrivateMode::Unknown(47 | 1047)
        );
        let main = (switches && !self.term.mode().contains(TermMode::ALT_SCREEN)).then(|| {
            let mut main = Box::new(self.term.grid().clone());
            // As `Term::swap_alt` does to the main screen.
            main.saved_cursor = main.cursor.clone();
            main
        });
        if !self.extra_private_mode(m, true) {
            self.term.set_private_mode(m)
        }
        if main.is_some() && self.term.mode().contains(TermMode::ALT_SCREEN) {
            self.mirror.main_screen = main;
        }
    }
    fn unset_private_mode(&mut self, m: PrivateMode) {
        if !self.extra_private_mode(m, false) {
            self.term.unset_private_mode(m)
        }
        if !self.term.mode().contains(TermMode::ALT_SCREEN) {
            self.mirror.main_screen = None;
        }
    }
    fn report_private_mode(&mut self, m: PrivateMode) {
        self.term.report_private_mode(m)
    }
    fn set_scrolling_region(&mut self, top: usize, bottom: Option<usize>) {
        self.term.set_scrolling_region(top, bottom);
        let whole = top <= 1 && bottom.is_none_or(|b| b >= self.term.screen_lines());
        if whole {
            self.mirror.region = None;
        } else if top < bottom.unwrap_or(self.term.screen_lines()) {
            self.mirror.region = Some((top, bottom));
        }
    }
    fn set_keypad_application_mode(&mut self) {
        self.term.set_keypad_application_mode()
    }
    fn unset_keypad_application_mode(&mut self) {
        self.term.unset_keypad_application_mode()
    }
    fn set_active_charset(&mut self, c: CharsetIndex) {
        self.mirror.active_charset = c;
        self.term.set_active_charset(c)
    }
    fn configure_charset(&mut self, i: CharsetIndex, c: StandardCharset) {
        self.term.configure_charset(i, c)
    }
    fn set_color(&mut self, i: usize, c: Rgb) {
        self.term.set_color(i, c)
    }
    fn dynamic_color_sequence(&mut self, p: String, i: usize, t: &str) {
        self.term.dynamic_color_sequence(p, i, t)
    }
    fn reset_color(&mut self, i: usize) {
        self.term.reset_color(i)
    }
    fn clipboard_store(&mut self, c: u8, b: &[u8]) {
        self.term.clipboard_store(c, b)
    }
    fn clipboard_load(&mut self, c: u8, t: &str) {
        self.term.clipboard_load(c, t)
    }
    fn decaln(&mut self) {
        self.term.decaln();
        self.term.goto(0, 0);
    }
    fn push_title(&mut self) {
        self.term.push_title()
    }
    fn pop_title(&mut self) {
        self.term.pop_title()
    }
    fn text_area_size_pixels(&mut self) {
        self.term.text_area_size_pixels()
    }
    fn text_area_size_chars(&mut self) {
        self.term.text_area_size_chars()
    }
    fn set_hyperlink(&mut self, h: Option<Hyperlink>) {
        self.term.set_hyperlink(h)
    }
    fn report_keyboard_mode(&mut self) {
        self.term.report_keyboard_mode()
    }
    fn push_keyboard_mode(&mut self, m: KeyboardModes) {
        self.term.push_keyboard_mode(m)
    }
    fn pop_keyboard_modes(&mut self, n: u16) {
        self.term.pop_keyboard_modes(n)
    }
    fn set_keyboard_mode(&mut self, m: KeyboardModes, b: KeyboardModesApplyBehavior) {
        self.term.set_keyboard_mode(m, b)
    }
    fn set_modify_other_keys(&mut self, m: ModifyOtherKeys) {
        self.term.set_modify_other_keys(m)
    }
    fn report_modify_other_keys(&mut self) {
        self.term.report_modify_other_keys()
    }
    fn set_scp(&mut self, p: ScpCharPath, u: ScpUpdateMode) {
        self.term.set_scp(p, u)
    }
}
