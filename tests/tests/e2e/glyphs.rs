//! Every glyph drawn: a real bash Session prints Latin, CJK, emoji (a ZWJ
//! sequence, a flag, a variation selector), Hebrew, Thai, Braille, box
//! drawing, blocks and powerline symbols; its `screenshot`, decoded by the
//! `png` crate, has no cell drawn as the missing-glyph box, and box lines
//! join across cells.

use super::capture::{decode_png, rgb_at, run};
use agent_tty_e2e::{bash_session, required_under_ci, Sandbox};
use agent_tty_render::{Renderer, Screen};
use agent_tty_term::cells::{Cell, CellWidth};
use agent_tty_term::profile::REFERENCE_DARK;
use serde_json::json;

/// The sample, one script per line; the first rows need only the bundled
/// fonts, the last ones system fonts (CJK, Hebrew, Thai).
const BUNDLED_LINES: &[&str] = &[
    "Latin: Hello, world! café naïve",
    "emoji: ✅ 😀 👨\u{200d}👩\u{200d}👧 🇫🇷 ❤\u{fe0f} 👍🏽",
    "braille: ⠁⠃⠉⠙⠑⠋⠛⠓ ⣿⡇⢸",
    "─┼─ ┌─┬─┐ ╔═╦═╗ ╭─╮ ├─┤ ║ │",
    "blocks: ▀▄█▌▐░▒▓▁▂▃▄▅▆▇ ▖▗▘▙",
    "powerline: \u{e0b0}\u{e0b1}\u{e0b2}\u{e0b3} \u{e0a0} \u{f09b}",
];
const SYSTEM_LINES: &[&str] = &[
    "CJK: 日本語 中文 한국어 ファイル",
    "Hebrew: שלום  Thai: สวัสดี",
];

/// `printf` with every non-ASCII byte as `\xHH`: what is typed into the
/// Session is plain ASCII whatever its locale, and what it prints is UTF-8.
fn printf_of(lines: &[&str]) -> String {
    let mut arg = String::new();
    for line in lines {
        for b in line.bytes() {
            match b {
                b' '..=b'~' if b != b'\'' && b != b'\\' && b != b'%' => arg.push(b as char),
                _ => arg.push_str(&format!("\\x{b:02x}")),
            }
        }
        arg.push_str("\\n");
    }
    format!("printf '{arg}'")
}

/// Whether the system has a font for `c` (the render crate's own lookup).
fn system_font_for(c: char) -> bool {
    Renderer::new(&REFERENCE_DARK).glyph_source(c, false, false)
        != agent_tty_render::GlyphSource::Missing
}

#[test]
fn a_screenshot_of_every_script_has_no_missing_glyph_and_box_lines_join() {
    let with_system = required_under_ci(
        "system fonts for CJK, Hebrew and Thai",
        ['日', 'ש', 'ส'].into_iter().all(system_font_for),
        "apt-get install fonts-noto-core fonts-noto-cjk",
    );
    let mut lines = BUNDLED_LINES.to_vec();
    if with_system {
        lines.extend(SYSTEM_LINES);
    }
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &["--cols", "50", "--rows", "14"]);
    run(&sandbox, &home, &id, "PS1='$ '; clear");
    run(&sandbox, &home, &id, &printf_of(&lines));
    let shot = sandbox
        .run_in(&home, &["screenshot", &id])
        .expect_code(0)
        .result();
    assert_eq!(shot["missingGlyphs"], json!([]), "{shot:#}");

    // The engine's cells, and where the sample's rows are.
    let dir = home.join("sessions").join(&id);
    let manifest = agent_tty_core::manifest::read_manifest(&dir).unwrap();
    let replay = agent_tty_core::screen::replay_session(&dir, &manifest).unwrap();
    let screen_lines = replay.visible_lines();
    let cells = replay.visible_cells();
    let first = screen_lines
        .iter()
        .position(|l| l.starts_with("Latin: "))
        .unwrap_or_else(|| panic!("the sample is not on the screen: {screen_lines:#?}"));

    // Every cell of the sample drawn as a missing glyph would be, for
    // comparison: the same cells with their text replaced by a character
    // no font has.
    let nowhere: Vec<Vec<Cell>> = cells
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| Cell {
                    text: if c.text.trim().is_empty() {
                        c.text.clone()
                    } else {
                        "\u{10fffd}".into()
                    },
                    ..c.clone()
                })
                .collect()
        })
        .collect();
    let mut renderer = Renderer::new(&REFERENCE_DARK);
    let boxes = renderer.render(&Screen {
        cells: &nowhere,
        cursor: None,
    });
    assert_eq!(renderer.missing_glyphs(), ['\u{10fffd}']);

    let path = std::path::PathBuf::from(shot["artifactPath"].as_str().unwrap());
    let (w, h, rgb) = decode_png(&path);
    assert_eq!((w, h), (boxes.width, boxes.height));
    let cell = renderer.cell_size();
    let mut checked = 0;
    for (r, row) in cells.iter().enumerate().skip(first).take(lines.len()) {
        for (c, ch) in row.iter().enumerate() {
            if ch.text.trim().is_empty() || ch.width == CellWidth::WideSpacer {
                continue;
            }
            let span = if ch.width == CellWidth::Wide { 2 } else { 1 };
            let (x0, y0) = renderer.cell_origin(r as u16, c as u16);
            let differs = (y0..y0 + cell.height).any(|y| {
                (x0..x0 + span * cell.width).any(|x| rgb_at(w, &rgb, x, y) != boxes.pixel(x, y))
            });
            assert!(
                differs,
                "row {r} col {c} ({:?}) is drawn as the missing-glyph box",
                ch.text
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} cells checked");

    // `─┼─`: along every row of pixels the stroke occupies at the left
    // edge of `─`, every pixel across the three cells is ink.
    let row = screen_lines
        .iter()
        .position(|l| l.starts_with("─┼─"))
        .unwrap() as u16;
    let (x0, y0) = renderer.cell_origin(row, 0);
    let background = REFERENCE_DARK.background;
    let stroke: Vec<u32> = (y0..y0 + cell.height)
        .filter(|&y| rgb_at(w, &rgb, x0, y) != background)
        .collect();
    assert!(!stroke.is_empty(), "no stroke at the left edge of ─");
    for &y in &stroke {
        for x in x0..x0 + 3 * cell.width {
            assert_ne!(
                rgb_at(w, &rgb, x, y),
                background,
                "gap at +{},{y} in ─┼─",
                x - x0
            );
        }
    }
    // The stroke is a line, not the whole cell.
    assert!(stroke.len() < cell.height as usize / 2, "{stroke:?}");
}

#[test]
fn only_bundled_fonts_give_the_same_bytes_every_time() {
    // Two renderers, the same screen of bundled-font scripts: the same
    // pixels (no system font, no clock, no hash-map order in the output).
    let replay = {
        let mut r = agent_tty_core::screen::ScreenReplay::new(50, 8);
        r.feed(BUNDLED_LINES.join("\r\n").as_bytes());
        r
    };
    let cells = replay.visible_cells();
    let draw = || {
        let mut r = Renderer::new(&REFERENCE_DARK);
        let image = r.render(&Screen {
            cells: &cells,
            cursor: None,
        });
        assert!(r.missing_glyphs().is_empty(), "{:?}", r.missing_glyphs());
        image.to_png()
    };
    assert_eq!(draw(), draw());
}
