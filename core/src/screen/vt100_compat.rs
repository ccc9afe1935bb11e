//! [`super::ScreenReplay::screen`] for code written against the `vt100`
//! crate before the engine changed: the current cells are drawn into a fresh
//! `vt100` screen with plain escape sequences (position, SGR, text), so it
//! shows the same picture. Only the visible screen, cursor and its
//! visibility carry over; new code reads the cell API instead.

use super::{Cell, CellColor, CellWidth, ScreenReplay};
use std::fmt::Write;

pub(super) fn parser_for(replay: &ScreenReplay) -> vt100::Parser {
    let (cols, rows) = replay.size();
    let mut parser = vt100::Parser::new(rows, cols, 0);
    let mut out = String::new();
    if replay.is_alt_screen() {
        out.push_str("\x1b[?1049h");
    }
    let mut pen = Cell::default();
    out.push_str("\x1b[0m");
    for (row, cells) in replay.visible_cells().iter().enumerate() {
        let _ = write!(out, "\x1b[{};1H", row + 1);
        let mut col = 0;
        while col < cells.len() {
            let cell = &cells[col];
            let skip = cell.width == CellWidth::WideSpacer;
            let wide = cell.width == CellWidth::Wide;
            if skip || (wide && col + 1 >= cells.len()) {
                col += 1;
                continue;
            }
            if !same_pen(&pen, cell) {
                out.push_str(&sgr(cell));
                pen = cell.clone();
            }
            // Position every cell: a character vt100 measures differently
            // from us must not shift the rest of the row.
            let _ = write!(out, "\x1b[{}G", col + 1);
            if cell.text.is_empty() {
                out.push(' ');
            } else {
                out.push_str(&cell.text);
            }
            col += if wide { 2 } else { 1 };
        }
    }
    let (row, col) = replay.cursor();
    let _ = write!(out, "\x1b[0m\x1b[{};{}H", row + 1, col + 1);
    if !replay.cursor_visible() {
        out.push_str("\x1b[?25l");
    }
    parser.process(out.as_bytes());
    parser
}

fn same_pen(a: &Cell, b: &Cell) -> bool {
    (a.fg, a.bg, a.bold, a.dim, a.italic, a.underline, a.inverse)
        == (b.fg, b.bg, b.bold, b.dim, b.italic, b.underline, b.inverse)
}

fn sgr(cell: &Cell) -> String {
    let mut s = String::from("\x1b[0");
    for (on, code) in [
        (cell.bold, "1"),
        (cell.dim, "2"),
        (cell.italic, "3"),
        (cell.underline, "4"),
        (cell.inverse, "7"),
    ] {
        if on {
            s.push(';');
            s.push_str(code);
        }
    }
    for (color, base) in [(cell.fg, 38), (cell.bg, 48)] {
        match color {
            CellColor::Default => {}
            CellColor::Indexed { index } => {
                let _ = write!(s, ";{base};5;{index}");
            }
            CellColor::Rgb { r, g, b } => {
                let _ = write!(s, ";{base};2;{r};{g};{b}");
            }
        }
    }
    s.push('m');
    s
}
