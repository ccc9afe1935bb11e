//! Draws a terminal screen to pixels: the engine's cell grid
//! ([`agent_tty_core::screen::Cell`]) in, an RGB [`Image`] out.
//!
//! This is what `screenshot` and the GIF/WebM recordings show, so it must
//! work on a fresh machine with nothing installed: the font is DejaVu Sans
//! Mono, compiled in from the `dejavu` crate (regular, bold, oblique and
//! bold-oblique faces, so bold and italic are real faces, not smeared ones),
//! rasterised by `ab_glyph`. No system font is ever looked up, so the same
//! screen gives the same pixels everywhere.
//!
//! The colours come from [`agent_tty_core::profile`], the same constants the
//! host reports to OSC 10/11 queries, so a program that picked its theme from
//! those replies looks in the picture as it looked to itself.
//!
//! Everything here is pure (no I/O, no clock) except [`screenshot`], the
//! one place a screenshot is taken and stored. A [`Renderer`] caches each
//! glyph's coverage the first time it is drawn, so rendering many frames of a
//! recording costs little more than filling rectangles.

mod font;
pub mod indexed;
mod png_file;
pub mod screenshot;

use agent_tty_core::profile::{RenderProfile, Rgb};
use agent_tty_core::screen::{Cell, CellColor, CellWidth};
use font::{Face, Fonts, GlyphKey};
use std::collections::HashMap;

/// Pixels around the cell grid, on every side, in the background colour.
pub const PADDING: u32 = 8;

/// The font size, in pixels (agent-tty 0.5 used 14 px too).
pub const FONT_SIZE_PX: f32 = 14.0;

/// The bundled font's family name, as recorded in render profile hashes.
pub const FONT_FAMILY: &str = "DejaVu Sans Mono";

/// Which release of the bundled font the pixels come from; part of
/// [`render_profile_hash`] so a font upgrade changes the hash.
pub const FONT_ASSET_IDENTITY: &str = "dejavu-fonts-ttf-2.37";

/// An opaque RGB image, row-major, 3 bytes per pixel: what PNG stores, so
/// a screenshot is encoded straight from it, and a quarter less memory to
/// touch than RGBA (for a one-shot process, mostly page faults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

impl Image {
    fn filled(width: u32, height: u32, color: Rgb) -> Image {
        // `repeat` copies in doubling blocks: a 200×60 screen's 5.6 MB take
        // a fraction of a millisecond, not a push per pixel.
        let rgb = color.repeat((width * height) as usize);
        Image { width, height, rgb }
    }

    /// The colour of pixel `(x, y)`.
    pub fn pixel(&self, x: u32, y: u32) -> Rgb {
        let i = ((y * self.width + x) * 3) as usize;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    fn fill_rect(&mut self, x: u32, y: u32, w: u32, h: u32, color: Rgb) {
        let x_end = (x + w).min(self.width);
        let y_end = (y + h).min(self.height);
        for row in y..y_end {
            let start = ((row * self.width + x) * 3) as usize;
            let end = ((row * self.width + x_end) * 3) as usize;
            for px in self.rgb[start..end].chunks_exact_mut(3) {
                px.copy_from_slice(&color);
            }
        }
    }

    /// Blends `color` through the `width` × `height` coverage bitmap
    /// `alpha` (0..=255 per pixel) with its top-left at `(left, top)`;
    /// what falls outside the image is left out. Clipped once per bitmap,
    /// then row by row, since this is most of a screenshot's drawing.
    fn blend_bitmap(
        &mut self,
        (left, top): (i64, i64),
        (width, height): (u32, u32),
        alpha: &[u8],
        color: Rgb,
    ) {
        debug_assert_eq!(alpha.len(), (width * height) as usize);
        let (iw, ih) = (i64::from(self.width), i64::from(self.height));
        let bw = i64::from(width);
        let bh = i64::from(height);
        let (x0, x1) = (left.max(0), (left + bw).min(iw));
        let (y0, y1) = (top.max(0), (top + bh).min(ih));
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        let over = color.map(u32::from);
        for y in y0..y1 {
            let src_start = ((y - top) * bw + (x0 - left)) as usize;
            let src = &alpha[src_start..src_start + (x1 - x0) as usize];
            let dst_start = ((y * iw + x0) * 3) as usize;
            let dst = &mut self.rgb[dst_start..dst_start + src.len() * 3];
            for (px, &coverage) in dst.chunks_exact_mut(3).zip(src) {
                match coverage {
                    0 => {}
                    255 => px.copy_from_slice(&color),
                    a => {
                        let a = u32::from(a);
                        for (channel, over) in px.iter_mut().zip(over) {
                            let under = u32::from(*channel);
                            *channel = ((over * a + under * (255 - a) + 127) / 255) as u8;
                        }
                    }
                }
            }
        }
    }

    /// The image as PNG bytes: a palette PNG, exact when the image has at
    /// most 256 colours, compressed on every core; the same bytes for the
    /// same pixels on every machine (see `png_file`).
    pub fn to_png(&self) -> Vec<u8> {
        png_file::encode(self)
    }
}

/// An image as 8-bit 4:2:0 YUV planes (BT.601, limited range), what video
/// encoders take.
#[derive(Debug, Clone)]
pub struct Yuv420 {
    /// Luma, `width * height`.
    pub y: Vec<u8>,
    /// Blue-difference chroma, `⌈width/2⌉ * ⌈height/2⌉`.
    pub u: Vec<u8>,
    /// Red-difference chroma, same size as `u`.
    pub v: Vec<u8>,
}

/// A rectangle of pixels: `(left, top, width, height)`.
pub type Rect = (u32, u32, u32, u32);

impl Image {
    /// The image as 4:2:0 YUV of `width` × `height` (at least the image's
    /// size; the extra columns and rows repeat its edge, since 4:2:0 video
    /// wants even sizes). BT.601 limited range, what players assume for a
    /// stream that does not say.
    pub fn to_yuv420(&self, width: usize, height: usize) -> Yuv420 {
        let (iw, ih) = (self.width as usize, self.height as usize);
        let px = |x: usize, y: usize| -> [i32; 3] {
            let i = (y.min(ih - 1) * iw + x.min(iw - 1)) * 3;
            [
                i32::from(self.rgb[i]),
                i32::from(self.rgb[i + 1]),
                i32::from(self.rgb[i + 2]),
            ]
        };
        let mut y_plane = vec![0u8; width * height];
        for y in 0..height {
            for x in 0..width {
                let [r, g, b] = px(x, y);
                y_plane[y * width + x] = (((66 * r + 129 * g + 25 * b + 128) >> 8) + 16) as u8;
            }
        }
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        let mut u = vec![0u8; cw * ch];
        let mut v = vec![0u8; cw * ch];
        for cy in 0..ch {
            for cx in 0..cw {
                let (mut r, mut g, mut b) = (0, 0, 0);
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let [pr, pg, pb] = px(cx * 2 + dx, cy * 2 + dy);
                    r += pr;
                    g += pg;
                    b += pb;
                }
                let (r, g, b) = (r / 4, g / 4, b / 4);
                u[cy * cw + cx] = (((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128) as u8;
                v[cy * cw + cx] = (((112 * r - 94 * g - 18 * b + 128) >> 8) + 128) as u8;
            }
        }
        Yuv420 { y: y_plane, u, v }
    }

    /// The smallest rectangle holding every pixel where `next` differs
    /// from `self` (same size); `None` when they are equal. An animation
    /// stores only this part of each new frame.
    pub fn changed_rect(&self, next: &Image) -> Option<Rect> {
        self.changed_rect_within(next, 0..self.height)
    }

    /// [`Image::changed_rect`], looking only at pixel rows `rows` (those a
    /// damage-tracked redraw touched).
    pub fn changed_rect_within(&self, next: &Image, rows: std::ops::Range<u32>) -> Option<Rect> {
        let w = self.width as usize;
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        let rows = rows.start.min(self.height) as usize..rows.end.min(self.height) as usize;
        let span = rows.start * w * 3..rows.end * w * 3;
        for (y, (a, b)) in self.rgb[span.clone()]
            .chunks_exact(w * 3)
            .zip(next.rgb[span].chunks_exact(w * 3))
            .enumerate()
        {
            let y = y + rows.start;
            if a == b {
                continue;
            }
            let differs = |(p, q): (&[u8], &[u8])| p != q;
            let first = a.chunks_exact(3).zip(b.chunks_exact(3)).position(differs)?;
            let from_end = a
                .chunks_exact(3)
                .rev()
                .zip(b.chunks_exact(3).rev())
                .position(differs)?;
            x0 = x0.min(first);
            x1 = x1.max(w - 1 - from_end);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        (x0 != usize::MAX).then(|| {
            (
                x0 as u32,
                y0 as u32,
                (x1 - x0 + 1) as u32,
                (y1 - y0 + 1) as u32,
            )
        })
    }

    /// The RGB bytes of `rect`.
    pub fn crop(&self, (left, top, width, height): Rect) -> Vec<u8> {
        let mut out = Vec::with_capacity((width * height * 3) as usize);
        for y in top..top + height {
            let start = ((y * self.width + left) * 3) as usize;
            out.extend_from_slice(&self.rgb[start..start + (width * 3) as usize]);
        }
        out
    }
}

/// What to draw: a screen's cells, and where its cursor is if it is shown.
#[derive(Debug, Clone, Copy)]
pub struct Screen<'a> {
    /// Rows of cells, top to bottom, all the same length.
    pub cells: &'a [Vec<Cell>],
    /// The cursor as `(row, col)`, or `None` to leave it out.
    pub cursor: Option<(u16, u16)>,
}

/// The size of one cell, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellSize {
    /// Width of a one-column cell.
    pub width: u32,
    /// Height of a row.
    pub height: u32,
}

/// Draws screens in one profile, caching glyphs between calls.
pub struct Renderer {
    profile: &'static RenderProfile,
    fonts: Fonts,
    cell: CellSize,
    glyphs: HashMap<GlyphKey, Option<font::Coverage>>,
}

impl Renderer {
    /// A renderer drawing with `profile`'s colours.
    pub fn new(profile: &'static RenderProfile) -> Renderer {
        let fonts = Fonts::load(FONT_SIZE_PX);
        let cell = fonts.cell_size();
        Renderer {
            profile,
            fonts,
            cell,
            glyphs: HashMap::new(),
        }
    }

    /// The profile this renderer draws with.
    pub fn profile(&self) -> &'static RenderProfile {
        self.profile
    }

    /// The size of one cell.
    pub fn cell_size(&self) -> CellSize {
        self.cell
    }

    /// The pixel size of a `cols` × `rows` screen: the cells plus
    /// [`PADDING`] on each side.
    pub fn image_size(&self, cols: u16, rows: u16) -> (u32, u32) {
        (
            u32::from(cols) * self.cell.width + 2 * PADDING,
            u32::from(rows) * self.cell.height + 2 * PADDING,
        )
    }

    /// The top-left pixel of cell `(row, col)`.
    pub fn cell_origin(&self, row: u16, col: u16) -> (u32, u32) {
        (
            PADDING + u32::from(col) * self.cell.width,
            PADDING + u32::from(row) * self.cell.height,
        )
    }

    /// Draws `screen`.
    pub fn render(&mut self, screen: &Screen<'_>) -> Image {
        let rows = screen.cells.len() as u16;
        let cols = screen.cells.first().map_or(0, |r| r.len()) as u16;
        self.render_on_canvas(screen, cols, rows)
    }

    /// Draws `screen` on a canvas of `canvas_cols` × `canvas_rows` cells
    /// (at least the screen's size): a recording whose Session was resized
    /// draws every frame on its largest size, the rest in background.
    pub fn render_on_canvas(
        &mut self,
        screen: &Screen<'_>,
        canvas_cols: u16,
        canvas_rows: u16,
    ) -> Image {
        let rows = screen.cells.len() as u16;
        let cols = screen.cells.first().map_or(0, |r| r.len()) as u16;
        let (width, height) = self.image_size(cols.max(canvas_cols), rows.max(canvas_rows));
        let mut image = Image::filled(width, height, self.profile.background);
        for (r, row) in screen.cells.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                if cell.width == CellWidth::WideSpacer {
                    continue;
                }
                let span = if cell.width == CellWidth::Wide { 2 } else { 1 };
                let is_cursor = screen.cursor == Some((r as u16, c as u16))
                    || (span == 2 && screen.cursor == Some((r as u16, c as u16 + 1)));
                self.draw_cell(&mut image, r as u16, c as u16, span, cell, is_cursor);
            }
        }
        // A cursor past the last column (after writing the last cell of a
        // row) is drawn on that last cell.
        if let Some((r, c)) = screen.cursor {
            if r < rows && c >= cols && cols > 0 {
                let cell = &screen.cells[usize::from(r)][usize::from(cols - 1)];
                self.draw_cell(&mut image, r, cols - 1, 1, cell, true);
            }
        }
        image
    }

    fn color(&self, color: CellColor, default: Rgb) -> Rgb {
        match color {
            CellColor::Default => default,
            CellColor::Indexed { index } => self.profile.palette(index),
            CellColor::Rgb { r, g, b } => [r, g, b],
        }
    }

    fn draw_cell(
        &mut self,
        image: &mut Image,
        row: u16,
        col: u16,
        span: u32,
        cell: &Cell,
        is_cursor: bool,
    ) {
        let mut fg = self.color(cell.fg, self.profile.foreground);
        let mut bg = self.color(cell.bg, self.profile.background);
        if cell.inverse {
            std::mem::swap(&mut fg, &mut bg);
        }
        if cell.dim {
            fg = mix(fg, bg, 128);
        }
        if is_cursor {
            // A block cursor: the cell in the cursor colour, its character in
            // the background colour.
            fg = bg;
            bg = self.profile.cursor;
        }
        let (x, y) = self.cell_origin(row, col);
        let w = self.cell.width * span;
        let h = self.cell.height;
        if bg != self.profile.background || is_cursor {
            image.fill_rect(x, y, w, h, bg);
        }
        let face = Face::of(cell.bold, cell.italic);
        let mut chars = cell.text.chars();
        if let Some(base) = chars.next() {
            if base != ' ' {
                let drawn = self.draw_glyph(image, x, y, base, face, fg);
                if !drawn {
                    self.draw_fallback(image, x, y, w, fg);
                }
                // Combining marks sit on the base character.
                for mark in chars {
                    self.draw_glyph(image, x, y, mark, face, fg);
                }
            }
        }
        let thickness = (self.cell.height / 16).max(1);
        if cell.underline {
            let uy = y + self.fonts.baseline() + thickness + 1;
            image.fill_rect(x, uy.min(y + h - thickness), w, thickness, fg);
        }
        if cell.strikethrough {
            let sy = y + self.fonts.baseline() - self.fonts.x_height() / 2;
            image.fill_rect(x, sy, w, thickness, fg);
        }
    }

    /// Draws `c` in the cell at `(x, y)`; false if the font has no glyph
    /// for it.
    fn draw_glyph(
        &mut self,
        image: &mut Image,
        x: u32,
        y: u32,
        c: char,
        face: Face,
        fg: Rgb,
    ) -> bool {
        let key = GlyphKey { c, face };
        let fonts = &self.fonts;
        let coverage = self
            .glyphs
            .entry(key)
            .or_insert_with(|| fonts.rasterise(c, face));
        let Some(coverage) = coverage else {
            return false;
        };
        let base_y = i64::from(y + self.fonts.baseline());
        image.blend_bitmap(
            (
                i64::from(x) + i64::from(coverage.left),
                base_y + i64::from(coverage.top),
            ),
            (coverage.width, coverage.height),
            &coverage.alpha,
            fg,
        );
        true
    }

    /// What a character the font lacks looks like: a box with a `?` in it,
    /// as wide as the character's cells, so the reader sees something is
    /// there and where.
    fn draw_fallback(&mut self, image: &mut Image, x: u32, y: u32, w: u32, fg: Rgb) {
        let inset = 1;
        let (bx, by) = (x + inset, y + inset + 1);
        let (bw, bh) = (
            w.saturating_sub(2 * inset),
            self.cell.height.saturating_sub(2 * inset + 2),
        );
        image.fill_rect(bx, by, bw, 1, fg);
        image.fill_rect(bx, by + bh.saturating_sub(1), bw, 1, fg);
        image.fill_rect(bx, by, 1, bh, fg);
        image.fill_rect(bx + bw.saturating_sub(1), by, 1, bh, fg);
        let qx = x + (w.saturating_sub(self.cell.width)) / 2;
        self.draw_glyph(image, qx, y, '?', Face::Regular, fg);
    }
}

/// `a` and `b` mixed, `weight_a` of 255 parts `a`.
fn mix(a: Rgb, b: Rgb, weight_a: u32) -> Rgb {
    let m =
        |x: u8, y: u8| ((u32::from(x) * weight_a + u32::from(y) * (255 - weight_a)) / 255) as u8;
    [m(a[0], b[0]), m(a[1], b[1]), m(a[2], b[2])]
}

/// `#rrggbb`.
pub fn hex(color: Rgb) -> String {
    format!("#{:02x}{:02x}{:02x}", color[0], color[1], color[2])
}

/// A fingerprint of everything that decides how a profile looks (name,
/// theme, font, size, cursor style, colours, palette): the sha256 hex of a
/// JSON description, shaped like agent-tty 0.5's `renderProfileHash` input.
/// Equal hashes mean two artifacts were drawn alike.
pub fn render_profile_hash(profile: &RenderProfile) -> String {
    let palette: Vec<String> = profile.ansi.iter().map(|c| hex(*c)).collect();
    let description = format!(
        concat!(
            r#"{{"name":{:?},"theme":{:?},"fontFamily":{:?},"fontAssetIdentity":{:?},"#,
            r#""fontSize":{},"cursorStyle":"block","backgroundColor":{:?},"foregroundColor":{:?},"#,
            r#""cursorColor":{:?},"palette":{:?},"padding":{}}}"#
        ),
        profile.name,
        profile.theme.as_str(),
        FONT_FAMILY,
        FONT_ASSET_IDENTITY,
        FONT_SIZE_PX,
        hex(profile.background),
        hex(profile.foreground),
        hex(profile.cursor),
        palette,
        PADDING,
    );
    agent_tty_core::artifacts::sha256_hex(description.as_bytes())
}

#[cfg(test)]
mod tests;
