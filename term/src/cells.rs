//! The screen as cells: what each position shows and how, independent of the
//! emulator ([`Engine`]).
//!
//! Every consumer of styled screen content (structured snapshots with
//! `--include-cells`, the screenshot renderer, the dashboard's Live View)
//! reads these types, never the emulator's own, so the emulator can change
//! without touching them.

use crate::Engine;
use alacritty_terminal::grid::Dimensions;
use alacritty_terminal::index::{Column, Line};
use alacritty_terminal::term::cell::Flags;
use alacritty_terminal::term::TermMode;
use alacritty_terminal::vte::ansi::Color;
use serde::Serialize;

/// A cell's foreground or background colour as the program asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum CellColor {
    /// The terminal's default (the profile's foreground or background).
    Default,
    /// One of the 256 palette colours (0–15 are the ANSI colours).
    Indexed {
        /// Palette index.
        index: u8,
    },
    /// A 24-bit colour.
    Rgb {
        /// Red.
        r: u8,
        /// Green.
        g: u8,
        /// Blue.
        b: u8,
    },
}

/// How much room a cell's character takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CellWidth {
    /// An ordinary one-column character (or a blank).
    Single,
    /// The first column of a two-column character (CJK, many emoji).
    Wide,
    /// The second column of a wide character: shows nothing of its own.
    WideSpacer,
}

/// One position of the screen.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cell {
    /// The grapheme shown (with any combining marks); empty for a blank cell
    /// and for a [`CellWidth::WideSpacer`].
    pub text: String,
    /// Foreground colour.
    pub fg: CellColor,
    /// Background colour.
    pub bg: CellColor,
    /// Bold (SGR 1).
    pub bold: bool,
    /// Faint (SGR 2).
    pub dim: bool,
    /// Italic (SGR 3).
    pub italic: bool,
    /// Underlined (SGR 4).
    pub underline: bool,
    /// Foreground and background swapped (SGR 7).
    pub inverse: bool,
    /// Struck through (SGR 9).
    pub strikethrough: bool,
    /// Room the character takes.
    pub width: CellWidth,
}

impl Default for Cell {
    fn default() -> Self {
        Cell {
            text: String::new(),
            fg: CellColor::Default,
            bg: CellColor::Default,
            bold: false,
            dim: false,
            italic: false,
            underline: false,
            inverse: false,
            strikethrough: false,
            width: CellWidth::Single,
        }
    }
}

/// Rows of cells, top to bottom, each exactly as wide as the screen.
pub type CellRows = Vec<Vec<Cell>>;

impl Engine {
    /// The screen scrolled back `offset` lines into history (0 = the live
    /// screen; the caller keeps `offset` within [`Engine::history_size`]),
    /// row by row: `rows` rows of `cols` cells.
    pub fn cell_rows(&self, offset: usize) -> CellRows {
        let grid = self.term.grid();
        let top = -(offset as i32);
        (0..grid.screen_lines() as i32)
            .map(|line| {
                let row = &grid[Line(top + line)];
                (0..grid.columns())
                    .map(|col| cell_of(&row[Column(col)]))
                    .collect()
            })
            .collect()
    }

    /// How many lines of history the emulator holds above the screen.
    pub fn history_size(&self) -> usize {
        self.term.grid().history_size()
    }

    /// Whether the alternate screen (full-screen programs) is shown.
    pub fn is_alt_screen(&self) -> bool {
        self.term.mode().contains(TermMode::ALT_SCREEN)
    }

    /// Whether the program left the cursor visible.
    pub fn cursor_visible(&self) -> bool {
        self.term.mode().contains(TermMode::SHOW_CURSOR)
    }
}

fn cell_of(cell: &alacritty_terminal::term::cell::Cell) -> Cell {
    let flags = cell.flags;
    let width = if flags.contains(Flags::WIDE_CHAR) {
        CellWidth::Wide
    } else if flags.contains(Flags::WIDE_CHAR_SPACER) {
        CellWidth::WideSpacer
    } else {
        CellWidth::Single
    };
    let blank = matches!(cell.c, ' ' | '\t')
        || flags.intersects(Flags::WIDE_CHAR_SPACER | Flags::LEADING_WIDE_CHAR_SPACER);
    let mut text = String::new();
    if !blank {
        text.push(cell.c);
    }
    if let Some(marks) = cell.zerowidth() {
        text.extend(marks);
    }
    Cell {
        text,
        fg: color_of(cell.fg),
        bg: color_of(cell.bg),
        bold: flags.contains(Flags::BOLD),
        dim: flags.contains(Flags::DIM),
        italic: flags.contains(Flags::ITALIC),
        underline: flags.intersects(Flags::ALL_UNDERLINES),
        inverse: flags.contains(Flags::INVERSE),
        strikethrough: flags.contains(Flags::STRIKEOUT),
        width,
    }
}

fn color_of(color: Color) -> CellColor {
    match color {
        Color::Spec(rgb) => CellColor::Rgb {
            r: rgb.r,
            g: rgb.g,
            b: rgb.b,
        },
        Color::Indexed(index) => CellColor::Indexed { index },
        Color::Named(named) => match named as usize {
            // The 16 ANSI colours keep their palette index.
            index @ 0..=15 => CellColor::Indexed { index: index as u8 },
            _ => CellColor::Default,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine_of(cols: u16, rows: u16, bytes: &str) -> Engine {
        let mut engine = Engine::new(cols, rows, 100);
        engine.process(bytes.as_bytes());
        engine
    }

    #[test]
    fn cells_carry_colours_attributes_and_wide_characters() {
        let engine = engine_of(6, 2, "\x1b[1;31;44mA\x1b[0m\x1b[38;2;1;2;3m界\x1b[7mz");
        let rows = engine.cell_rows(0);
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.len() == 6));
        let a = &rows[0][0];
        assert_eq!(a.text, "A");
        assert!(a.bold);
        assert_eq!(a.fg, CellColor::Indexed { index: 1 });
        assert_eq!(a.bg, CellColor::Indexed { index: 4 });
        let wide = &rows[0][1];
        assert_eq!((wide.text.as_str(), wide.width), ("界", CellWidth::Wide));
        assert_eq!(wide.fg, CellColor::Rgb { r: 1, g: 2, b: 3 });
        assert_eq!(rows[0][2].width, CellWidth::WideSpacer);
        assert!(rows[0][3].inverse);
        assert_eq!(rows[1][0], Cell::default());
    }

    #[test]
    fn history_is_reachable_by_scrolling_back() {
        let engine = engine_of(6, 2, "one\r\ntwo\r\nthree\r\nfour");
        assert_eq!(engine.history_size(), 2);
        let back = engine.cell_rows(2);
        assert_eq!(back[0][0].text, "o");
        assert_eq!(back[1][0].text, "t");
        // The live view is untouched.
        assert_eq!(engine.cell_rows(0)[1][0].text, "f");
        assert!(!engine.is_alt_screen());
        assert!(engine.cursor_visible());
    }
}
