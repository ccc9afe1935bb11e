//! Draws a terminal screen to pixels: the engine's cell grid
//! ([`agent_tty_term::cells::Cell`]) in, an RGB [`Image`] out, or an SVG
//! with the text kept as text ([`svg`]), in a [`look::Look`] (theme,
//! padding, font size, line height, window bar; 0.5's by default).
//!
//! This is what `screenshot` and the GIF/WebM recordings show, so it must
//! work on a fresh machine with nothing installed: the text font is DejaVu
//! Sans Mono, compiled in from the `dejavu` crate (regular, bold, oblique
//! and bold-oblique faces, so bold and italic are real faces, not smeared
//! ones), rasterised by `ab_glyph`. A character it lacks falls back to the
//! bundled symbols and emoji fonts, then to system fonts ([`font`]); box
//! drawing, blocks, Braille and powerline separators are drawn from the
//! cell's size (`procedural.rs`) so they join across cells. A screen the
//! bundled fonts cover gives the same pixels everywhere.
//!
//! The colours come from [`agent_tty_term::profile`], the same constants the
//! host reports to OSC 10/11 queries, so a program that picked its theme from
//! those replies looks in the picture as it looked to itself.
//!
//! Everything here is pure (no I/O, no clock) except [`screenshot`], the
//! one place a screenshot is taken and stored. A [`Renderer`] caches each
//! glyph's coverage the first time it is drawn, so rendering many frames of a
//! recording costs little more than filling rectangles.

pub mod font;
pub mod indexed;
pub mod look;
mod png_file;
mod procedural;
pub mod screenshot;
mod subset;
pub mod svg;
mod system_fonts;

use agent_tty_term::cells::{Cell, CellColor, CellWidth};
use agent_tty_term::profile::{RenderProfile, Rgb};
use font::{Coverage, GlyphKey};
pub use font::{Face, FontInfo, FontOrigin, Fonts, BUNDLED_FAMILIES};
use look::Look;
// The renderer's maps are looked up for every cell of a screen: foldhash
// hashes a key in a few nanoseconds where std's SipHash takes tens (~1 ms
// of a 200×60 screenshot), and is still seeded per process. Nothing
// depends on their order.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::collections::BTreeSet;
pub use system_fonts::SYSTEM_FONT_DIRS;

/// Pixels around the cell grid, on every side, in the background colour.
pub const PADDING: u32 = 8;

/// The font size, in pixels (agent-tty 0.5 used 14 px too).
pub const FONT_SIZE_PX: f32 = 14.0;

/// The bundled font's family name, as recorded in render profile hashes.
pub const FONT_FAMILY: &str = "DejaVu Sans Mono";

/// Which release of the bundled fonts the pixels come from (and of the
/// procedural cell drawing, `cells-1`); part of [`render_profile_hash`] so a
/// font upgrade changes the hash.
pub const FONT_ASSET_IDENTITY: &str =
    "dejavu-fonts-ttf-2.37+nerd-fonts-3.4.0-subset+noto-emoji-400+cells-1";

/// The most pixels an image may have (256 Mpx, 768 MB of RGB): far above
/// a 1000×1000 Session at the default size (about 153 Mpx), and low enough
/// that every offset fits the `u32` arithmetic below.
pub const MAX_IMAGE_PIXELS: u64 = 256 * 1024 * 1024;

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

    /// The image as PNG bytes: a palette PNG, exact when the image has at
    /// most 256 colours, compressed on every core; the same bytes for the
    /// same pixels on every machine (see `png_file`).
    pub fn to_png(&self) -> Vec<u8> {
        png_file::encode(self)
    }
}

/// What a [`Renderer`] draws on: RGB pixels ([`Image`]: recordings, tests)
/// or palette indices ([`indexed::Paletted`]: a PNG screenshot, drawn
/// straight into what the file stores). Every pixel of a screen comes
/// through [`Surface::fill_rect`], [`Surface::blend_bitmap`] and
/// [`Surface::blend_colour_bitmap`], whose arithmetic ([`blend`],
/// [`blend_premultiplied`]) both share, so both give the same colours.
pub(crate) trait Surface {
    /// Width in pixels.
    fn width(&self) -> u32;

    /// `color` over the `w` × `h` pixels from `(x, y)`, clipped to the
    /// image.
    fn fill_rect(&mut self, x: u32, y: u32, w: u32, h: u32, color: Rgb);

    /// Blends `color` through the `width` × `height` coverage bitmap
    /// `alpha` (0..=255 per pixel) with its top-left at `(left, top)`;
    /// what falls outside the image is left out.
    fn blend_bitmap(&mut self, at: (i64, i64), size: (u32, u32), alpha: &[u8], color: Rgb);

    /// Blends a colour bitmap (`rgb` premultiplied by `alpha`) with its
    /// top-left at `(left, top)`, clipped to the image.
    fn blend_colour_bitmap(&mut self, at: (i64, i64), size: (u32, u32), alpha: &[u8], rgb: &[u8]);

    /// A filled disc of radius `r` centred on `(cx, cy)`, its edge
    /// smoothed by 4×4 supersampling (the window bar's dots).
    fn fill_circle(&mut self, cx: u32, cy: u32, r: u32, color: Rgb) {
        let size = 2 * r + 2;
        let (left, top) = (
            i64::from(cx) - i64::from(r) - 1,
            i64::from(cy) - i64::from(r) - 1,
        );
        let mut alpha = vec![0u8; (size * size) as usize];
        let (rf, centre) = (r as f32, (r + 1) as f32);
        for y in 0..size {
            for x in 0..size {
                let mut inside = 0u32;
                for sy in 0..4 {
                    for sx in 0..4 {
                        let dx = x as f32 + (sx as f32 + 0.5) / 4.0 - centre;
                        let dy = y as f32 + (sy as f32 + 0.5) / 4.0 - centre;
                        inside += u32::from(dx * dx + dy * dy <= rf * rf);
                    }
                }
                alpha[(y * size + x) as usize] = (inside * 255 / 16) as u8;
            }
        }
        self.blend_bitmap((left, top), (size, size), &alpha, color);
    }

    /// A glyph's coverage blended in `color`, placed from the cell's left
    /// edge `x` and the baseline `base_y`.
    /// A colour glyph (an emoji) is drawn in its own colours.
    fn blend_coverage(&mut self, coverage: &Coverage, (x, base_y): (u32, u32), color: Rgb) {
        let at = (
            i64::from(x) + i64::from(coverage.left),
            i64::from(base_y) + i64::from(coverage.top),
        );
        let size = (coverage.width, coverage.height);
        match &coverage.rgb {
            None => self.blend_bitmap(at, size, &coverage.alpha, color),
            Some(rgb) => self.blend_colour_bitmap(at, size, &coverage.alpha, rgb),
        }
    }
}

/// The part of a `width` × `height` bitmap placed at `(left, top)` that
/// falls on an `image_width` × `image_height` image, as the image's pixel
/// ranges `(xs, ys)`; `None` when nothing does. Clipped once per bitmap,
/// then drawn row by row, since this is most of a screenshot's drawing.
pub(crate) fn clip(
    (left, top): (i64, i64),
    (width, height): (u32, u32),
    (image_width, image_height): (u32, u32),
) -> Option<(std::ops::Range<i64>, std::ops::Range<i64>)> {
    let (x0, x1) = (
        left.max(0),
        (left + i64::from(width)).min(i64::from(image_width)),
    );
    let (y0, y1) = (
        top.max(0),
        (top + i64::from(height)).min(i64::from(image_height)),
    );
    (x0 < x1 && y0 < y1).then_some((x0..x1, y0..y1))
}

/// `color` over `under` at coverage `a` (1..=254; 0 and 255 are the two
/// colours themselves), rounded.
pub(crate) fn blend(color: Rgb, under: Rgb, a: u8) -> Rgb {
    let a = u32::from(a);
    let channel = |over: u8, under: u8| {
        ((u32::from(over) * a + u32::from(under) * (255 - a) + 127) / 255) as u8
    };
    [
        channel(color[0], under[0]),
        channel(color[1], under[1]),
        channel(color[2], under[2]),
    ]
}

/// A premultiplied colour pixel `over` (coverage `a`) over `under`.
pub(crate) fn blend_premultiplied(over: &[u8], under: Rgb, a: u8) -> Rgb {
    let a = u32::from(a);
    let channel = |over: u8, under: u8| {
        (u32::from(over) + (u32::from(under) * (255 - a) + 127) / 255).min(255) as u8
    };
    [
        channel(over[0], under[0]),
        channel(over[1], under[1]),
        channel(over[2], under[2]),
    ]
}

impl Surface for Image {
    fn width(&self) -> u32 {
        self.width
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

    fn blend_bitmap(&mut self, at: (i64, i64), size: (u32, u32), alpha: &[u8], color: Rgb) {
        debug_assert_eq!(alpha.len(), (size.0 * size.1) as usize);
        let Some((xs, ys)) = clip(at, size, (self.width, self.height)) else {
            return;
        };
        let (iw, bw) = (i64::from(self.width), i64::from(size.0));
        for y in ys {
            let src_start = ((y - at.1) * bw + (xs.start - at.0)) as usize;
            let src = &alpha[src_start..src_start + (xs.end - xs.start) as usize];
            let dst_start = ((y * iw + xs.start) * 3) as usize;
            let dst = &mut self.rgb[dst_start..dst_start + src.len() * 3];
            for (px, &coverage) in dst.chunks_exact_mut(3).zip(src) {
                match coverage {
                    0 => {}
                    255 => px.copy_from_slice(&color),
                    a => px.copy_from_slice(&blend(color, [px[0], px[1], px[2]], a)),
                }
            }
        }
    }

    fn blend_colour_bitmap(&mut self, at: (i64, i64), size: (u32, u32), alpha: &[u8], rgb: &[u8]) {
        let Some((xs, ys)) = clip(at, size, (self.width, self.height)) else {
            return;
        };
        let (iw, bw) = (i64::from(self.width), i64::from(size.0));
        for y in ys {
            for x in xs.clone() {
                let src = ((y - at.1) * bw + (x - at.0)) as usize;
                let dst = ((y * iw + x) * 3) as usize;
                let px = &mut self.rgb[dst..dst + 3];
                let under = [px[0], px[1], px[2]];
                px.copy_from_slice(&blend_premultiplied(&rgb[src * 3..], under, alpha[src]));
            }
        }
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

/// What draws a character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlyphSource {
    /// Drawn from the cell's size, no font (box drawing, blocks, Braille,
    /// powerline separators).
    Procedural,
    /// A font of the fallback chain.
    Font(FontInfo),
    /// Nothing to draw (joiners, variation selectors, …).
    Invisible,
    /// No font has it: drawn as a box with a `?`.
    Missing,
}

/// Draws screens in one [`Look`], caching glyphs between calls.
pub struct Renderer {
    look: Look,
    fonts: Fonts,
    cell: CellSize,
    /// Pixels from a row's top to the font's own line box: half of what
    /// `--line-height` adds, so the text sits in the middle of a taller row.
    leading: u32,
    glyphs: HashMap<GlyphKey, Option<Coverage>>,
    /// How many coverage levels a glyph edge is drawn with: 256 draws
    /// coverage as rasterised; fewer (set by
    /// [`Renderer::fit_shades_to_palette`]) keep a many-coloured screen's
    /// shades within a PNG's palette.
    coverage_levels: u32,
    /// Characters drawn as the fallback box so far.
    missing: BTreeSet<char>,
    /// Flags by regional-indicator pair (`None`: the pair is no flag).
    flags: HashMap<(char, char), Option<Coverage>>,
}

impl Renderer {
    /// A renderer drawing with `profile`'s colours, agent-tty 0.5's look.
    pub fn new(profile: &'static RenderProfile) -> Renderer {
        Renderer::with_look(Look::of(profile))
    }

    /// A renderer drawing in `look` (checked with [`Look::validate`] by
    /// the caller: the numbers are taken as they are).
    pub fn with_look(look: Look) -> Renderer {
        let fonts = Fonts::load(look.font_size);
        let natural = fonts.cell_size();
        let height = ((natural.height as f32) * look.line_height).round() as u32;
        let height = height.max(natural.height);
        Renderer {
            cell: CellSize {
                width: natural.width,
                height,
            },
            leading: (height - natural.height) / 2,
            look,
            fonts,
            glyphs: HashMap::new(),
            coverage_levels: 256,
            missing: BTreeSet::new(),
            flags: HashMap::new(),
        }
    }

    /// A renderer that never looks at system fonts (for tests that pin
    /// pixels: system fonts differ between machines).
    #[cfg(test)]
    pub(crate) fn bundled_only(profile: &'static RenderProfile) -> Renderer {
        let mut renderer = Renderer::new(profile);
        renderer.fonts.use_bundled_only();
        renderer
    }

    /// The look this renderer draws in.
    pub fn look(&self) -> &Look {
        &self.look
    }

    /// Draws glyph edges with as many shades as a palette of
    /// `max_colours` leaves room for on `screen`, so a palette PNG of it is
    /// exact (and small): the screen's flat colours (backgrounds, text
    /// colours, the cursor, the window bar) come first, and each
    /// (text colour, background) pair with ink gets an equal share of the
    /// rest as anti-aliasing shades. A screen whose shades all fit is
    /// drawn as rasterised (nothing changes); 16 colours of text get ~16
    /// levels, which the eye does not tell apart; words in all 256 colours leave no
    /// room, and their edges are drawn at full or no coverage (sharp, and
    /// a third of the bytes of shades a palette cannot hold).
    pub fn fit_shades_to_palette(&mut self, screen: &Screen<'_>, max_colours: usize) {
        self.set_coverage_levels(256);
        let mut flat: HashSet<Rgb> = HashSet::new();
        // The coverage values each (text colour, background) pair is drawn
        // with, as a 256-bit set.
        let mut pairs: HashMap<(Rgb, Rgb), [u64; 4]> = HashMap::new();
        flat.insert(self.look.colors.background);
        if self.look.bar_height() > 0 {
            let bar = self.look.bar_color();
            flat.insert(bar);
            let (_, _, dots) = self.look.bar_dots();
            for dot in dots {
                flat.insert(dot);
                // A dot's edge: 16 shades (its 4×4 supersampling).
                pairs.insert((dot, bar), [0xffff, 0, 0, 0]);
            }
            pairs.insert((self.look.colors.foreground, bar), [!0; 4]);
        }
        // Each glyph's coverage values, as a 256-bit set, computed once.
        let mut glyph_shades: HashMap<GlyphKey, [u64; 4]> = HashMap::new();
        for (r, row) in screen.cells.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let is_cursor = screen.cursor == Some((r as u16, c as u16));
                let (fg, bg) = self.cell_colors(cell, is_cursor);
                flat.insert(bg);
                if cell.underline || cell.strikethrough {
                    flat.insert(fg);
                }
                let span = if cell.width == CellWidth::Wide { 2 } else { 1 };
                let face = Face::of(cell.bold, cell.italic);
                for ch in cell.text.chars() {
                    if ch == ' ' || font::is_invisible(ch) {
                        continue;
                    }
                    // A character no font has draws the box (flat) and a `?`.
                    let mut key = GlyphKey { c: ch, face, span };
                    if self.glyph(key).is_none() {
                        key = GlyphKey {
                            c: '?',
                            face: Face::Regular,
                            span: 1,
                        };
                    }
                    let bits = match glyph_shades.get(&key) {
                        Some(bits) => *bits,
                        None => {
                            let mut bits = [0u64; 4];
                            for &a in self.glyph(key).map_or(&[][..], |g| &g.alpha[..]) {
                                bits[usize::from(a / 64)] |= 1 << (a % 64);
                            }
                            *glyph_shades.entry(key).or_insert(bits)
                        }
                    };
                    flat.insert(fg);
                    let used = pairs.entry((fg, bg)).or_default();
                    for (u, b) in used.iter_mut().zip(bits) {
                        *u |= b;
                    }
                }
            }
        }
        // Shades: the coverage values strictly between none and full.
        let shades = |used: &[u64; 4]| {
            let all: u32 = used.iter().map(|w| w.count_ones()).sum();
            all - (used[0] & 1) as u32 - (used[3] >> 63) as u32
        };
        let needed = flat.len() + pairs.values().map(|u| shades(u) as usize).sum::<usize>();
        if needed <= max_colours {
            return;
        }
        let room = max_colours.saturating_sub(flat.len());
        let levels = (room / pairs.len().max(1) + 2).min(255) as u32;
        self.set_coverage_levels(levels);
    }

    /// Draws glyph edges with `levels` coverage values (2..=256; 256: as
    /// rasterised): what [`Renderer::fit_shades_to_palette`] chooses for a
    /// screenshot, and a GIF's fixed choice for all its frames. Glyphs cached
    /// as rasterised are rounded in place (what rasterising them again would
    /// give); glyphs cached at other levels are dropped.
    pub fn set_coverage_levels(&mut self, levels: u32) {
        if levels == self.coverage_levels {
            return;
        }
        if self.coverage_levels == 256 {
            for coverage in self.glyphs.values_mut().chain(self.flags.values_mut()) {
                if let Some(c) = coverage.take() {
                    *coverage = Some(c.quantised(levels));
                }
            }
        } else {
            self.glyphs.clear();
            self.flags.clear();
        }
        self.coverage_levels = levels;
    }

    /// Pixels from a cell's top to the baseline.
    fn baseline(&self) -> u32 {
        self.leading + self.fonts.baseline()
    }

    /// What draws `c` in a cell that is `bold` and/or `italic`: for the SVG
    /// writer, which names the font of each character.
    pub fn glyph_source(&mut self, c: char, bold: bool, italic: bool) -> GlyphSource {
        if procedural::covers(c) {
            GlyphSource::Procedural
        } else if font::is_invisible(c) {
            GlyphSource::Invisible
        } else {
            match self.fonts.face_for(c, Face::of(bold, italic)) {
                Some(info) => GlyphSource::Font(info.clone()),
                None => GlyphSource::Missing,
            }
        }
    }

    /// The fallback chain (to ask which font draws a character).
    pub fn fonts(&mut self) -> &mut Fonts {
        &mut self.fonts
    }

    /// Notes, as [`Renderer::missing_glyphs`], the characters of `screen`
    /// no font has, without drawing: the SVG leaves drawing to its viewer
    /// but reports the same characters the PNG would draw as boxes.
    pub fn note_missing(&mut self, screen: &Screen<'_>) {
        for cell in screen.cells.iter().flatten() {
            for c in cell.text.chars() {
                if c != ' ' && self.glyph_source(c, cell.bold, cell.italic) == GlyphSource::Missing
                {
                    self.missing.insert(c);
                }
            }
        }
    }

    /// The characters no font had, drawn as a box with a `?`, over every
    /// screen this renderer has drawn, in code point order.
    pub fn missing_glyphs(&self) -> Vec<char> {
        self.missing.iter().copied().collect()
    }

    /// The profile this renderer draws with.
    pub fn profile(&self) -> &'static RenderProfile {
        self.look.profile
    }

    /// The size of one cell.
    pub fn cell_size(&self) -> CellSize {
        self.cell
    }

    /// The pixel size of a `cols` × `rows` screen: the cells, the look's
    /// padding on each side, and the window bar's height above.
    pub fn image_size(&self, cols: u16, rows: u16) -> (u32, u32) {
        let padding = self.look.padding;
        (
            u32::from(cols) * self.cell.width + 2 * padding,
            self.look.bar_height() + u32::from(rows) * self.cell.height + 2 * padding,
        )
    }

    /// [`Renderer::image_size`], refused with the reason when the image
    /// would have more than [`MAX_IMAGE_PIXELS`]: a 1000×1000 Session at
    /// `--font-size 72 --line-height 3` would otherwise overflow the pixel
    /// arithmetic (and ask for gigabytes).
    pub fn checked_image_size(
        &self,
        cols: u16,
        rows: u16,
    ) -> std::result::Result<(u32, u32), String> {
        let (width, height) = self.image_size(cols, rows);
        let pixels = u64::from(width) * u64::from(height);
        if pixels > MAX_IMAGE_PIXELS {
            return Err(format!(
                "a {cols}×{rows} screen at this font size and line height is {width}×{height} \
                 pixels, more than {} million; use a smaller --font-size or --line-height",
                MAX_IMAGE_PIXELS / 1_000_000
            ));
        }
        Ok((width, height))
    }

    /// The top-left pixel of cell `(row, col)`.
    pub fn cell_origin(&self, row: u16, col: u16) -> (u32, u32) {
        let padding = self.look.padding;
        (
            padding + u32::from(col) * self.cell.width,
            self.look.bar_height() + padding + u32::from(row) * self.cell.height,
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
        let (width, height) = self.canvas_size(screen, canvas_cols, canvas_rows);
        let mut image = Image::filled(width, height, self.look.colors.background);
        self.draw_screen(screen, &mut image);
        image
    }

    /// The pixel size of `screen` drawn on at least `canvas_cols` ×
    /// `canvas_rows` cells.
    fn canvas_size(&self, screen: &Screen<'_>, canvas_cols: u16, canvas_rows: u16) -> (u32, u32) {
        let rows = screen.cells.len() as u16;
        let cols = screen.cells.first().map_or(0, |r| r.len()) as u16;
        self.image_size(cols.max(canvas_cols), rows.max(canvas_rows))
    }

    /// `screen` as a PNG screenshot: a palette PNG of the pixels
    /// [`Renderer::render`] then [`Image::to_png`] give, but drawn straight
    /// into palette indices when its colours fit 256 (after
    /// [`Renderer::fit_shades_to_palette`], the usual case): no RGB picture
    /// three times the size to fill, then read back and look up. Its
    /// palette is in the order the colours were drawn, not by use as
    /// [`Image::to_png`]'s (the same pixels; other labels). A screen with
    /// more colours is drawn in RGB and indexed as before. Returns the bytes
    /// and the picture's size.
    pub fn render_png(&mut self, screen: &Screen<'_>) -> (Vec<u8>, (u32, u32)) {
        let (width, height) = self.canvas_size(screen, 0, 0);
        let mut paletted = indexed::Paletted::filled(width, height, self.look.colors.background);
        self.draw_screen(screen, &mut paletted);
        match png_file::encode_paletted(&paletted) {
            Some(png) => (png, (width, height)),
            None => (self.render(screen).to_png(), (width, height)),
        }
    }

    /// Draws `screen` on `image` (filled with the background, at least the
    /// screen's size).
    fn draw_screen<S: Surface>(&mut self, screen: &Screen<'_>, image: &mut S) {
        let rows = screen.cells.len() as u16;
        let cols = screen.cells.first().map_or(0, |r| r.len()) as u16;
        self.draw_window_bar(image);
        for (r, row) in screen.cells.iter().enumerate() {
            let mut flag_tail = false;
            for (c, cell) in row.iter().enumerate() {
                if cell.width == CellWidth::WideSpacer || std::mem::take(&mut flag_tail) {
                    continue;
                }
                // The engine keeps a flag as its two regional-indicator
                // letters in two cells: drawn as one flag across both.
                if let Some(next) = row.get(c + 1) {
                    if self.draw_flag(image, (r, c), cell, next, screen.cursor) {
                        flag_tail = true;
                        continue;
                    }
                }
                let span = if cell.width == CellWidth::Wide { 2 } else { 1 };
                let is_cursor = screen.cursor == Some((r as u16, c as u16))
                    || (span == 2 && screen.cursor == Some((r as u16, c as u16 + 1)));
                self.draw_cell(image, r as u16, c as u16, span, cell, is_cursor);
            }
        }
        // A cursor past the last column (after writing the last cell of a
        // row) is drawn on that last cell.
        if let Some((r, c)) = screen.cursor {
            if r < rows && c >= cols && cols > 0 {
                let cell = &screen.cells[usize::from(r)][usize::from(cols - 1)];
                self.draw_cell(image, r, cols - 1, 1, cell, true);
            }
        }
    }

    /// Draws `cell` and `next` as one flag if they are a regional-indicator
    /// pair the emoji font has a flag for; false (nothing drawn) otherwise.
    fn draw_flag<S: Surface>(
        &mut self,
        image: &mut S,
        (r, c): (usize, usize),
        cell: &Cell,
        next: &Cell,
        cursor: Option<(u16, u16)>,
    ) -> bool {
        let single_ri = |cell: &Cell| {
            let mut chars = cell.text.chars().filter(|&c| !font::is_invisible(c));
            match (chars.next(), chars.next()) {
                (Some(c), None) if font::is_regional_indicator(c) => Some(c),
                _ => None,
            }
        };
        let (Some(a), Some(b)) = (single_ri(cell), single_ri(next)) else {
            return false;
        };
        let (fonts, levels) = (&mut self.fonts, self.coverage_levels);
        if self
            .flags
            .entry((a, b))
            .or_insert_with(|| fonts.flag(a, b).map(|f| f.quantised(levels)))
            .is_none()
        {
            return false;
        }
        let (row, col) = (r as u16, c as u16);
        let is_cursor = cursor == Some((row, col)) || cursor == Some((row, col + 1));
        // The cell's colours and lines over both cells, then the flag.
        let blank = Cell {
            text: String::new(),
            ..cell.clone()
        };
        let fg = self.draw_cell(image, row, col, 2, &blank, is_cursor);
        let (x, y) = self.cell_origin(row, col);
        if let Some(Some(coverage)) = self.flags.get(&(a, b)) {
            image.blend_coverage(coverage, (x, y + self.baseline()), fg);
        }
        true
    }

    fn color(&self, color: CellColor, default: Rgb) -> Rgb {
        match color {
            CellColor::Default => default,
            CellColor::Indexed { index } => self.look.colors.color(index),
            CellColor::Rgb { r, g, b } => [r, g, b],
        }
    }

    /// A cell's foreground and background as drawn: inverse swaps them,
    /// dim mixes the foreground halfway to the background, and the block
    /// cursor paints the cell in the cursor colour with its character in
    /// the background colour. The PNG and the SVG both ask here.
    fn cell_colors(&self, cell: &Cell, is_cursor: bool) -> (Rgb, Rgb) {
        let colors = &self.look.colors;
        let mut fg = self.color(cell.fg, colors.foreground);
        let mut bg = self.color(cell.bg, colors.background);
        if cell.inverse {
            std::mem::swap(&mut fg, &mut bg);
        }
        if cell.dim {
            fg = mix(fg, bg, 128);
        }
        if is_cursor {
            fg = bg;
            bg = colors.cursor;
        }
        (fg, bg)
    }

    /// The window bar, when the look has one: a strip in the bar colour,
    /// three dots, and the title centred in the regular face.
    fn draw_window_bar<S: Surface>(&mut self, image: &mut S) {
        let bar = self.look.bar_height();
        if bar == 0 {
            return;
        }
        let width = image.width();
        image.fill_rect(0, 0, width, bar, self.look.bar_color());
        let (centres, r, colors) = self.look.bar_dots();
        for ((cx, cy), color) in centres.into_iter().zip(colors) {
            image.fill_circle(cx, cy, r, color);
        }
        if let Some(title) = self.look.bar_title() {
            let (x, y) = self.title_origin(&title, width);
            let fg = self.look.colors.foreground;
            for (i, c) in title.chars().enumerate() {
                let x = x + i as u32 * self.cell.width;
                if x + self.cell.width > width {
                    break;
                }
                self.draw_glyph(image, (x, y), c, Face::Regular, 1, fg);
            }
        }
    }

    /// Where the window title's first cell goes: centred in the bar.
    fn title_origin(&self, title: &str, image_width: u32) -> (u32, u32) {
        let width = title.chars().count() as u32 * self.cell.width;
        let x = image_width.saturating_sub(width) / 2;
        let y = self.look.bar_height().saturating_sub(self.cell.height) / 2;
        (x, y)
    }

    fn draw_cell<S: Surface>(
        &mut self,
        image: &mut S,
        row: u16,
        col: u16,
        span: u32,
        cell: &Cell,
        is_cursor: bool,
    ) -> Rgb {
        let (fg, bg) = self.cell_colors(cell, is_cursor);
        let (x, y) = self.cell_origin(row, col);
        let w = self.cell.width * span;
        let h = self.cell.height;
        if bg != self.look.colors.background || is_cursor {
            image.fill_rect(x, y, w, h, bg);
        }
        let face = Face::of(cell.bold, cell.italic);
        let mut chars = cell.text.chars();
        if let Some(base) = chars.next() {
            if base != ' ' && !font::is_invisible(base) {
                let drawn = self.draw_glyph(image, (x, y), base, face, span, fg);
                if !drawn {
                    self.missing.insert(base);
                    self.draw_fallback(image, x, y, w, fg);
                }
            }
            // Combining marks sit on the base character; joiners and
            // variation selectors show nothing.
            for mark in chars.filter(|&c| !font::is_invisible(c)) {
                if !self.draw_glyph(image, (x, y), mark, face, span, fg) {
                    self.missing.insert(mark);
                }
            }
        }
        let thickness = (self.cell.height / 16).max(1);
        if cell.underline {
            let uy = y + self.baseline() + thickness + 1;
            image.fill_rect(x, uy.min(y + h - thickness), w, thickness, fg);
        }
        if cell.strikethrough {
            let sy = y + self.baseline() - self.fonts.x_height() / 2;
            image.fill_rect(x, sy, w, thickness, fg);
        }
        fg
    }

    /// Draws `c` in the `span` columns from `(x, y)`; false if no font has
    /// a glyph for it.
    fn draw_glyph<S: Surface>(
        &mut self,
        image: &mut S,
        (x, y): (u32, u32),
        c: char,
        face: Face,
        span: u32,
        fg: Rgb,
    ) -> bool {
        let baseline = self.baseline();
        let Some(coverage) = self.glyph(GlyphKey { c, face, span }) else {
            return false;
        };
        image.blend_coverage(coverage, (x, y + baseline), fg);
        true
    }

    /// The glyph of `key` (`None`: no font has it), rasterised or drawn
    /// the first time it is asked for, then cached.
    fn glyph(&mut self, key: GlyphKey) -> Option<&Coverage> {
        let baseline = self.baseline();
        let (fonts, cell, levels) = (&mut self.fonts, self.cell, self.coverage_levels);
        let GlyphKey { c, face, span } = key;
        self.glyphs
            .entry(key)
            .or_insert_with(|| {
                let drawn = match procedural::draw(c, cell.width * span, cell.height) {
                    Some(bitmap) => Some(Coverage {
                        width: bitmap.width,
                        height: bitmap.height,
                        left: 0,
                        // The bitmap is the whole cell, from its top.
                        top: -(baseline as i32),
                        alpha: bitmap.alpha,
                        rgb: None,
                    }),
                    None => fonts.rasterise(c, face, span),
                };
                drawn.map(|coverage| coverage.quantised(levels))
            })
            .as_ref()
    }

    /// What a character the font lacks looks like: a box with a `?` in it,
    /// as wide as the character's cells, so the reader sees something is
    /// there and where.
    fn draw_fallback<S: Surface>(&mut self, image: &mut S, x: u32, y: u32, w: u32, fg: Rgb) {
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
        self.draw_glyph(image, (qx, y), '?', Face::Regular, 1, fg);
    }
}

/// A sample character of each script the fallback chain is asked for most,
/// as `(script, character)`: what `doctor` looks up.
pub const FALLBACK_SAMPLES: [(&str, char); 9] = [
    ("powerline/Nerd Font symbols", '\u{e0a0}'),
    ("emoji", '😀'),
    ("CJK (Han)", '日'),
    ("Japanese kana", 'の'),
    ("Hangul", '한'),
    ("Hebrew", 'ש'),
    ("Arabic", 'ع'),
    ("Thai", 'ส'),
    ("Devanagari", 'क'),
];

/// Which font of the fallback chain draws each of [`FALLBACK_SAMPLES`]
/// (`None`: drawn as a box), looking at the system fonts as a screenshot
/// would.
pub fn fallback_report() -> Vec<(&'static str, char, Option<FontInfo>)> {
    let mut fonts = Fonts::load(FONT_SIZE_PX);
    FALLBACK_SAMPLES
        .iter()
        .map(|&(script, c)| (script, c, fonts.face_for(c, Face::Regular).cloned()))
        .collect()
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
/// Equal hashes mean two artifacts were drawn alike. (A capture with a
/// [`Look`] of its own uses [`Look::profile_hash`], equal to this for a
/// default look.)
pub fn render_profile_hash(profile: &'static RenderProfile) -> String {
    Look::of(profile).profile_hash()
}

#[cfg(test)]
mod tests;
