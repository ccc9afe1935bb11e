//! Box drawing (U+2500–257F), block elements (U+2580–259F), Braille
//! (U+2800–28FF) and the powerline separators (U+E0B0–E0B3), drawn from the
//! cell's own size instead of taken from a font.
//!
//! A font's `─` is drawn for its em box, not for our cell: scaled and
//! rounded, its ends stop a pixel short (a seam between cells) or overlap,
//! and `█` rarely covers the whole cell. Drawn here, every line runs to the
//! cell's edge at the same rows and columns in every cell, so `─┼─` joins
//! pixel-exactly and blocks tile with no gap. Everything is integer
//! arithmetic or a fixed 4×4 supersampling: the same cell size gives the
//! same bytes on every machine.

/// A coverage bitmap the size of the cell (`width` × `height`, 0..=255).
pub(crate) struct Bitmap {
    pub width: u32,
    pub height: u32,
    pub alpha: Vec<u8>,
}

impl Bitmap {
    fn new(width: u32, height: u32) -> Bitmap {
        Bitmap {
            width,
            height,
            alpha: vec![0; (width * height) as usize],
        }
    }

    /// Fills `[x0, x1) × [y0, y1)` (clipped) at `alpha`.
    fn rect(&mut self, x0: u32, y0: u32, x1: u32, y1: u32, alpha: u8) {
        for y in y0.min(self.height)..y1.min(self.height) {
            for x in x0.min(self.width)..x1.min(self.width) {
                let px = &mut self.alpha[(y * self.width + x) as usize];
                *px = (*px).max(alpha);
            }
        }
    }

    /// Fills every pixel by the share of its 4×4 sample points (in pixel
    /// units, `(x + (i + 0.5) / 4, …)`) for which `inside` holds.
    fn shape(&mut self, inside: impl Fn(f32, f32) -> bool) {
        for y in 0..self.height {
            for x in 0..self.width {
                let mut hits = 0u32;
                for sy in 0..4 {
                    for sx in 0..4 {
                        let px = x as f32 + (sx as f32 + 0.5) / 4.0;
                        let py = y as f32 + (sy as f32 + 0.5) / 4.0;
                        hits += u32::from(inside(px, py));
                    }
                }
                let a = (hits * 255 / 16) as u8;
                let px = &mut self.alpha[(y * self.width + x) as usize];
                *px = (*px).max(a);
            }
        }
    }
}

/// Whether `c` is drawn here rather than from a font.
pub(crate) fn covers(c: char) -> bool {
    matches!(c, '\u{2500}'..='\u{259f}' | '\u{2800}'..='\u{28ff}' | '\u{e0b0}'..='\u{e0b3}')
}

/// `c` drawn in a `width` × `height` cell; `None` if it is not one of ours.
pub(crate) fn draw(c: char, width: u32, height: u32) -> Option<Bitmap> {
    let mut bitmap = Bitmap::new(width, height);
    let code = u32::from(c);
    match code {
        0x2500..=0x257f => box_drawing(&mut bitmap, code),
        0x2580..=0x259f => block(&mut bitmap, code),
        0x2800..=0x28ff => braille(&mut bitmap, (code - 0x2800) as u8),
        0xe0b0..=0xe0b3 => powerline(&mut bitmap, code),
        _ => return None,
    }
    Some(bitmap)
}

/// Line weights of one arm of a box-drawing character.
const NONE: u8 = 0;
const LIGHT: u8 = 1;
const HEAVY: u8 = 2;
const DOUBLE: u8 = 3;

/// The arms of U+2500..=U+257F as `[left, right, up, down]` weights, for
/// the characters that are only straight arms (dashes, arcs and diagonals
/// are handled apart). Written as four digits per character, in code point
/// order.
const ARMS: [&str; 128] = [
    "1100", "2200", "0011", "0022", "1100", "2200", "0011", "0022", // 2500
    "1100", "2200", "0011", "0022", "0101", "0201", "0102", "0202", // 2508
    "1001", "2001", "1002", "2002", "0110", "0210", "0120", "0220", // 2510
    "1010", "2010", "1020", "2020", "0111", "0211", "0121", "0112", // 2518
    "0122", "0221", "0212", "0222", "1011", "2011", "1021", "1012", // 2520
    "1022", "2021", "2012", "2022", "1101", "2101", "1201", "2201", // 2528
    "1102", "2102", "1202", "2202", "1110", "2110", "1210", "2210", // 2530
    "1120", "2120", "1220", "2220", "1111", "2111", "1211", "2211", // 2538
    "1121", "1112", "1122", "2121", "1221", "2112", "1212", "2221", // 2540
    "2212", "2122", "1222", "2222", "1100", "2200", "0011", "0022", // 2548
    "3300", "0033", "0301", "0103", "0303", "3001", "1003", "3003", // 2550
    "0310", "0130", "0330", "3010", "1030", "3030", "0311", "0133", // 2558
    "0333", "3011", "1033", "3033", "3301", "1103", "3303", "3310", // 2560
    "1130", "3330", "3311", "1133", "3333", "0101", "1001", "1010", // 2568
    "0110", "0000", "0000", "0000", "1000", "0010", "0100", "0001", // 2570
    "2000", "0020", "0200", "0002", "1200", "0012", "2100", "0021", // 2578
];

/// How many dashes a dashed line has, if `code` is one.
fn dashes(code: u32) -> Option<u32> {
    match code {
        0x2504..=0x2507 => Some(3),
        0x2508..=0x250b => Some(4),
        0x254c..=0x254f => Some(2),
        _ => None,
    }
}

/// The light stroke's thickness for a cell: one pixel at the default size,
/// growing with the cell.
fn light(height: u32) -> u32 {
    (height / 16).max(1)
}

/// `[start, end)` of a stroke of `thickness` centred in `extent`.
fn centred(extent: u32, thickness: u32) -> (u32, u32) {
    let start = extent.saturating_sub(thickness) / 2;
    (start, start + thickness)
}

fn box_drawing(b: &mut Bitmap, code: u32) {
    let (w, h) = (b.width, b.height);
    let t_light = light(h);
    let t_heavy = t_light * 2;
    match code {
        0x256d..=0x2570 => return arc(b, code, t_light),
        0x2571..=0x2573 => return diagonals(b, code, t_light),
        _ => {}
    }
    let arms: Vec<u8> = ARMS[(code - 0x2500) as usize]
        .bytes()
        .map(|d| d - b'0')
        .collect();
    let (left, right, up, down) = (arms[0], arms[1], arms[2], arms[3]);
    let lines = Lines {
        light: t_light,
        heavy: t_heavy,
    };
    if let Some(n) = dashes(code) {
        // Dashed lines: `n` dashes, each a gap's width shorter than its
        // share of the cell, the gap split between both ends so that
        // neighbouring cells keep the rhythm.
        let (horizontal_line, weight) = (left != NONE, left.max(up));
        let extent = if horizontal_line { w } else { h };
        for i in 0..n {
            let s0 = extent * i / n;
            let s1 = extent * (i + 1) / n;
            let gap = ((s1 - s0) / 3).max(1);
            let (a, z) = (s0 + gap / 2, s1 - (gap - gap / 2));
            let (y0, y1) = centred(h, lines.thickness(weight));
            let (x0, x1) = centred(w, lines.thickness(weight));
            if horizontal_line {
                b.rect(a, y0, z, y1, 255);
            } else {
                b.rect(x0, a, x1, z, 255);
            }
        }
        return;
    }
    // Horizontal arms: along x, crossing the vertical arms' columns.
    for (weight, forward, opposite) in [(left, false, right), (right, true, left)] {
        for (along, (y0, y1)) in lines.strokes(weight, h, w, forward, opposite, (up, down)) {
            let (x0, x1) = if forward { (along, w) } else { (0, along) };
            b.rect(x0, y0, x1, y1, 255);
        }
    }
    for (weight, forward, opposite) in [(up, false, down), (down, true, up)] {
        for (along, (x0, x1)) in lines.strokes(weight, w, h, forward, opposite, (left, right)) {
            let (y0, y1) = if forward { (along, h) } else { (0, along) };
            b.rect(x0, y0, x1, y1, 255);
        }
    }
}

/// The stroke widths of a cell's box-drawing lines.
struct Lines {
    light: u32,
    heavy: u32,
}

impl Lines {
    fn thickness(&self, weight: u8) -> u32 {
        match weight {
            LIGHT => self.light,
            HEAVY => self.heavy,
            // A double line: two light strokes a light stroke apart.
            DOUBLE => self.light * 3,
            _ => 0,
        }
    }

    /// The strokes of one arm of `weight`: for each, where it stops in the
    /// middle of the cell (its start for a `forward` arm, right or down; its
    /// end otherwise) and its `[from, to)` across, centred in `across`.
    /// `along` is the cell's extent along the arm; `opposite` the weight of
    /// the arm on the other side; `(before, after)` the arms across it (up
    /// and down for a horizontal arm, left and right for a vertical one).
    ///
    /// Each stroke runs into the middle as far as the lines across it
    /// need: through all of them where it goes on the other side, to the
    /// near stroke of a double line it ends on (╟, ╢), to the far one at a
    /// corner (╓); a double line's two strokes turn into each other (╔, ╬)
    /// instead of crossing.
    fn strokes(
        &self,
        weight: u8,
        across: u32,
        along: u32,
        forward: bool,
        opposite: u8,
        (before, after): (u8, u8),
    ) -> Vec<(u32, (u32, u32))> {
        if weight == NONE {
            return Vec::new();
        }
        let t = self.light;
        // The lines across, along this arm's axis: a double one's outer
        // edges, or a single one's edges.
        let (d0, d1) = centred(along, 3 * t);
        let single = |w: u8| centred(along, self.thickness(w));
        let crossing = self.thickness(before).max(self.thickness(after));
        let hub = centred(along, crossing.max(self.thickness(weight).min(self.heavy)));
        let stop = |same: u8, other: u8| -> u32 {
            match (forward, same, other) {
                (true, DOUBLE, _) => d1 - t,
                (false, DOUBLE, _) => d0 + t,
                (true, NONE, DOUBLE) => d0,
                (false, NONE, DOUBLE) => d1,
                (true, NONE, NONE) => hub.0,
                (false, NONE, NONE) => hub.1,
                (true, NONE, o) => single(o).0,
                (false, NONE, o) => single(o).1,
                (true, s, _) => single(s).0,
                (false, s, _) => single(s).1,
            }
        };
        if weight == DOUBLE {
            let (c0, c1) = centred(across, 3 * t);
            return vec![
                (stop(before, after), (c0, c0 + t)),
                (stop(after, before), (c1 - t, c1)),
            ];
        }
        let reach = if before != DOUBLE && after != DOUBLE || opposite != NONE {
            // Through the middle (and through a double line it crosses).
            if forward {
                hub.0
            } else {
                hub.1
            }
        } else if before != NONE && after != NONE {
            // A tee into a double line: to its near stroke.
            if forward {
                d1 - t
            } else {
                d0 + t
            }
        } else if forward {
            // A corner of a double line: to its far stroke.
            d0
        } else {
            d1
        };
        vec![(reach, centred(across, self.thickness(weight)))]
    }
}

/// ╭╮╯╰: a quarter circle joining the middle of two edges.
fn arc(b: &mut Bitmap, code: u32, t: u32) {
    let (w, h) = (b.width as f32, b.height as f32);
    // Stroke centres, the same as the straight lines' (`centred`).
    let cx = (b.width.saturating_sub(t) / 2) as f32 + t as f32 / 2.0;
    let cy = (b.height.saturating_sub(t) / 2) as f32 + t as f32 / 2.0;
    let r = cx.min(w - cx).min(cy).min(h - cy);
    // Which way the arms go: x to the right or left, y down or up.
    let (right, down) = match code {
        0x256d => (true, true),
        0x256e => (false, true),
        0x256f => (false, false),
        _ => (true, false),
    };
    let sx = if right { 1.0 } else { -1.0 };
    let sy = if down { 1.0 } else { -1.0 };
    // The circle's centre, a radius from the stroke centre in both
    // directions the arms go.
    let (ox, oy) = (cx + sx * r, cy + sy * r);
    let half = t as f32 / 2.0;
    b.shape(|x, y| {
        let (dx, dy) = ((x - ox) * sx, (y - oy) * sy);
        // The quarter that bends: the part of the cell toward the corner
        // the arms leave from.
        if dx <= 0.0 && dy <= 0.0 {
            ((dx * dx + dy * dy).sqrt() - r).abs() <= half
        } else if dx > 0.0 && dy <= 0.0 {
            // The horizontal arm on to the edge.
            (y - cy).abs() <= half && (x - ox) * sx >= 0.0
        } else if dx <= 0.0 && dy > 0.0 {
            (x - cx).abs() <= half && (y - oy) * sy >= 0.0
        } else {
            false
        }
    });
}

/// ╱╲╳: corner-to-corner lines.
fn diagonals(b: &mut Bitmap, code: u32, t: u32) {
    let (w, h) = (b.width as f32, b.height as f32);
    let half = t as f32 / 2.0 * (1.0 + (h / w).powi(2)).sqrt() / (h / w);
    let rising = |x: f32, y: f32| (x - w * (1.0 - y / h)).abs() <= half;
    let falling = |x: f32, y: f32| (x - w * (y / h)).abs() <= half;
    b.shape(|x, y| match code {
        0x2571 => rising(x, y),
        0x2572 => falling(x, y),
        _ => rising(x, y) || falling(x, y),
    });
}

/// U+2580..=U+259F.
fn block(b: &mut Bitmap, code: u32) {
    let (w, h) = (b.width, b.height);
    // Eighths are rounded to whole pixels, measured from the edge they
    // grow from, so ▁..█ and ▏..█ step evenly and █ is the whole cell.
    let eighth_h = |k: u32| (h * k + 4) / 8;
    let eighth_w = |k: u32| (w * k + 4) / 8;
    // The halves are the same rounding as the eighths: ▌▐ and ▀▄ tile.
    let (mx, my) = (eighth_w(4), h - eighth_h(4));
    match code {
        0x2580 => b.rect(0, 0, w, my, 255),
        0x2581..=0x2588 => b.rect(0, h - eighth_h(code - 0x2580), w, h, 255),
        0x2589..=0x258f => b.rect(0, 0, eighth_w(8 - (code - 0x2588)), h, 255),
        0x2590 => b.rect(mx, 0, w, h, 255),
        // Shades as even coverage: a flat tint, the same in every cell.
        0x2591 => b.rect(0, 0, w, h, 64),
        0x2592 => b.rect(0, 0, w, h, 128),
        0x2593 => b.rect(0, 0, w, h, 191),
        0x2594 => b.rect(0, 0, w, eighth_h(1), 255),
        0x2595 => b.rect(w - eighth_w(1), 0, w, h, 255),
        _ => {
            // Quadrants: bits upper-left, upper-right, lower-left, lower-right.
            let quads: u8 = match code {
                0x2596 => 0b0010,
                0x2597 => 0b0001,
                0x2598 => 0b1000,
                0x2599 => 0b1011,
                0x259a => 0b1001,
                0x259b => 0b1110,
                0x259c => 0b1101,
                0x259d => 0b0100,
                0x259e => 0b0110,
                _ => 0b0111,
            };
            if quads & 0b1000 != 0 {
                b.rect(0, 0, mx, my, 255);
            }
            if quads & 0b0100 != 0 {
                b.rect(mx, 0, w, my, 255);
            }
            if quads & 0b0010 != 0 {
                b.rect(0, my, mx, h, 255);
            }
            if quads & 0b0001 != 0 {
                b.rect(mx, my, w, h, 255);
            }
        }
    }
}

/// A Braille pattern: dots 1–8 as the low to high bits, in two columns of
/// four (1 2 3 7 down the left, 4 5 6 8 down the right).
fn braille(b: &mut Bitmap, bits: u8) {
    let (w, h) = (b.width, b.height);
    // (bit, column, row)
    const DOTS: [(u8, u32, u32); 8] = [
        (0x01, 0, 0),
        (0x02, 0, 1),
        (0x04, 0, 2),
        (0x08, 1, 0),
        (0x10, 1, 1),
        (0x20, 1, 2),
        (0x40, 0, 3),
        (0x80, 1, 3),
    ];
    let size = (w / 4).min(h / 8).max(1);
    for (bit, col, row) in DOTS {
        if bits & bit == 0 {
            continue;
        }
        // The dot is centred in its eighth of the cell.
        let (x0, x1) = (w * col / 2, w * (col + 1) / 2);
        let (y0, y1) = (h * row / 4, h * (row + 1) / 4);
        let dx = x0 + (x1 - x0).saturating_sub(size) / 2;
        let dy = y0 + (y1 - y0).saturating_sub(size) / 2;
        b.rect(dx, dy, dx + size, dy + size, 255);
    }
}

/// U+E0B0..=U+E0B3: the solid and thin right- and left-pointing triangles
/// powerline prompts separate their segments with, the cell's full height.
fn powerline(b: &mut Bitmap, code: u32) {
    let (w, h) = (b.width as f32, b.height as f32);
    let t = light(b.height) as f32;
    // Distance from the edge the triangle's base is on, as a fraction of
    // the width, at height `y`: the triangle's tip is in the middle row.
    let reach = |y: f32| w * (1.0 - (2.0 * y / h - 1.0).abs());
    let from_base = |x: f32| match code {
        0xe0b0 | 0xe0b1 => x,
        _ => w - x,
    };
    b.shape(|x, y| {
        let d = from_base(x);
        match code {
            0xe0b0 | 0xe0b2 => d <= reach(y),
            // The thin chevron: the triangle's two slanted sides.
            _ => (d - reach(y)).abs() <= t * 0.75,
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u32 = 9;
    const H: u32 = 17;

    fn at(b: &Bitmap, x: u32, y: u32) -> u8 {
        b.alpha[(y * b.width + x) as usize]
    }

    /// The rows where column `x` has ink.
    fn inked_rows(b: &Bitmap, x: u32) -> Vec<u32> {
        (0..b.height).filter(|&y| at(b, x, y) == 255).collect()
    }

    #[test]
    fn horizontal_lines_reach_both_edges_on_the_same_rows() {
        for c in ['─', '┼', '┬', '┴', '├', '┤', '━', '╋'] {
            let b = draw(c, W, H).unwrap();
            if matches!(c, '├') {
                // Only the right arm: it reaches the right edge.
                assert!(!inked_rows(&b, W - 1).is_empty(), "{c}");
                continue;
            }
            if matches!(c, '┤') {
                assert!(!inked_rows(&b, 0).is_empty(), "{c}");
                continue;
            }
            let left = inked_rows(&b, 0);
            assert!(!left.is_empty(), "{c} has no ink at the left edge");
            assert_eq!(left, inked_rows(&b, W - 1), "{c}");
        }
        // Light lines are on the same rows in every light character, so
        // `─┼─` joins.
        let rows = inked_rows(&draw('─', W, H).unwrap(), 0);
        for c in ['┼', '┬', '┴', '┤'] {
            assert_eq!(inked_rows(&draw(c, W, H).unwrap(), 0), rows, "{c}");
        }
    }

    #[test]
    fn vertical_lines_reach_top_and_bottom() {
        for c in ['│', '┼', '├', '┤', '┃', '║'] {
            let b = draw(c, W, H).unwrap();
            let top: Vec<u32> = (0..W).filter(|&x| at(&b, x, 0) == 255).collect();
            let bottom: Vec<u32> = (0..W).filter(|&x| at(&b, x, H - 1) == 255).collect();
            assert!(!top.is_empty(), "{c}");
            assert_eq!(top, bottom, "{c}");
        }
        // Double lines are two strokes.
        let b = draw('║', W, H).unwrap();
        let row: Vec<u8> = (0..W).map(|x| at(&b, x, 0)).collect();
        let strokes = row.windows(2).filter(|p| p[0] == 0 && p[1] == 255).count();
        assert_eq!(strokes, 2, "{row:?}");
    }

    #[test]
    fn double_lines_turn_into_each_other_instead_of_crossing() {
        let ink = |c: char| {
            let b = draw(c, W, H).unwrap();
            move |x: u32, y: u32| at(&b, x, y) == 255
        };
        // ╔: the outer strokes meet at the corner, nothing pokes out
        // above or left of them, and the inner corner is open inside.
        let corner = ink('╔');
        let (x0, y0) = ((W - 3) / 2, (H - 3) / 2);
        assert!(corner(x0, y0) && corner(W - 1, y0) && corner(x0, H - 1));
        assert!((0..x0).all(|x| !corner(x, y0 + 2)), "stub left of ╔");
        assert!((0..y0).all(|y| !corner(x0 + 2, y)), "stub above ╔");
        assert!(!corner(x0 + 1, y0 + 1));
        // ╬: four corners; the middle of the cell is empty.
        let cross = ink('╬');
        assert!(!cross(W / 2, H / 2));
        assert!(cross(0, y0) && cross(W - 1, y0 + 2) && cross(x0, 0) && cross(x0 + 2, H - 1));
        // ═ and ║ are two unbroken strokes edge to edge.
        let horizontal = ink('═');
        assert!(
            (0..W).all(|x| horizontal(x, y0) && horizontal(x, y0 + 2) && !horizontal(x, y0 + 1))
        );
    }

    #[test]
    fn full_block_fills_the_cell_and_halves_split_it() {
        let full = draw('█', W, H).unwrap();
        assert!(full.alpha.iter().all(|&a| a == 255));
        let upper = draw('▀', W, H).unwrap();
        let lower = draw('▄', W, H).unwrap();
        // Upper and lower halves tile the cell exactly: no pixel twice,
        // none missing.
        for (u, l) in upper.alpha.iter().zip(&lower.alpha) {
            assert_eq!(u32::from(*u) + u32::from(*l), 255);
        }
        let left = draw('▌', W, H).unwrap();
        let right = draw('▐', W, H).unwrap();
        for (a, b) in left.alpha.iter().zip(&right.alpha) {
            assert_eq!(u32::from(*a) + u32::from(*b), 255);
        }
        let shade = draw('▒', W, H).unwrap();
        assert!(shade.alpha.iter().all(|&a| a == 128));
    }

    #[test]
    fn eighths_grow_by_about_an_eighth() {
        let mut last = 0;
        for c in '▁'..='█' {
            let ink = draw(c, W, H)
                .unwrap()
                .alpha
                .iter()
                .filter(|&&a| a == 255)
                .count();
            assert!(ink > last, "{c}");
            last = ink;
        }
        assert_eq!(last, (W * H) as usize);
    }

    #[test]
    fn braille_dots_follow_the_bits() {
        let empty = draw('\u{2800}', W, H).unwrap();
        assert!(empty.alpha.iter().all(|&a| a == 0));
        let ink = |c: char| {
            draw(c, W, H)
                .unwrap()
                .alpha
                .iter()
                .filter(|&&a| a > 0)
                .count()
        };
        let one = ink('\u{2801}');
        assert!(one > 0);
        assert_eq!(ink('\u{28ff}'), one * 8);
        // Dot 1 is top-left, dot 8 bottom-right.
        let b = draw('\u{2801}', W, H).unwrap();
        let (xs, ys): (Vec<u32>, Vec<u32>) = (0..W * H)
            .filter(|i| b.alpha[*i as usize] > 0)
            .map(|i| (i % W, i / W))
            .unzip();
        assert!(xs.iter().all(|&x| x < W / 2) && ys.iter().all(|&y| y < H / 4));
    }

    #[test]
    fn powerline_triangles_span_the_cell_height() {
        let b = draw('\u{e0b0}', W, H).unwrap();
        // Solid at the left edge from top to bottom, its tip at the right
        // in the middle row, nothing at the right edge's corners.
        assert!((1..H - 1).all(|y| at(&b, 0, y) > 0));
        assert!(at(&b, W - 1, H / 2) > 0);
        assert_eq!(at(&b, W - 1, 0), 0);
        let mirrored = draw('\u{e0b2}', W, H).unwrap();
        for y in 0..H {
            for x in 0..W {
                assert_eq!(at(&b, x, y), at(&mirrored, W - 1 - x, y));
            }
        }
        let thin = draw('\u{e0b1}', W, H).unwrap();
        assert!(
            thin.alpha.iter().filter(|&&a| a > 0).count()
                < b.alpha.iter().filter(|&&a| a > 0).count()
        );
    }

    #[test]
    fn every_covered_character_draws_something_except_blank_braille() {
        for c in ('\u{2500}'..='\u{259f}')
            .chain('\u{2801}'..='\u{28ff}')
            .chain('\u{e0b0}'..='\u{e0b3}')
        {
            assert!(covers(c));
            let b = draw(c, W, H).unwrap();
            assert!(
                b.alpha.iter().any(|&a| a > 0),
                "{c:?} ({:04X}) is blank",
                c as u32
            );
        }
        assert!(!covers('a') && draw('a', W, H).is_none());
    }
}
