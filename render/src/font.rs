//! The font fallback chain, and glyph rasterising.
//!
//! A character is looked up, in order, in:
//! 1. the text font, DejaVu Sans Mono (the cell's face, then regular);
//! 2. the bundled symbols font, a subset of Nerd Fonts' icons (powerline,
//!    Font Awesome, Devicons, Octicons, …);
//! 3. the bundled monochrome emoji font, Noto Emoji;
//! 4. system fonts (CJK, Hebrew, Thai, …), found through `fontdb` in the
//!    system font directories, the first time a character is missing from
//!    all of the above.
//!
//! The choice is made once per character and face and kept, so a
//! recording's thousands of frames look a font up once. A screen whose
//! characters the bundled fonts all have never looks at the system, so its
//! pixels are the same on every machine (docs/adr/0018).

use crate::CellSize;
use ab_glyph::{point, Font, FontArc, FontRef, GlyphId, PxScale, ScaleFont};
use foldhash::{HashMap, HashMapExt};
use std::path::PathBuf;

/// Which face of the text font a cell uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Face {
    /// Neither bold nor italic.
    Regular,
    /// SGR 1.
    Bold,
    /// SGR 3.
    Italic,
    /// SGR 1 and 3.
    BoldItalic,
}

impl Face {
    /// The face of a cell that is `bold` and/or `italic`.
    pub fn of(bold: bool, italic: bool) -> Face {
        match (bold, italic) {
            (false, false) => Face::Regular,
            (true, false) => Face::Bold,
            (false, true) => Face::Italic,
            (true, true) => Face::BoldItalic,
        }
    }
}

/// A glyph cache key: the character, its face, and how many columns it
/// spans (a fallback glyph is fitted to its cells).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct GlyphKey {
    pub c: char,
    pub face: Face,
    pub span: u32,
}

/// A rasterised glyph: coverage in 0..=255, placed relative to the cell's
/// left edge and the baseline.
#[derive(Debug, Clone)]
pub(crate) struct Coverage {
    pub width: u32,
    pub height: u32,
    /// Offset of the bitmap's left edge from the cell's left edge.
    pub left: i32,
    /// Offset of the bitmap's top edge from the baseline (negative: above).
    pub top: i32,
    pub alpha: Vec<u8>,
    /// A colour glyph's own colours (a colour emoji), 3 bytes a pixel,
    /// premultiplied by `alpha`; `None` for a glyph drawn in the text colour.
    pub rgb: Option<Vec<u8>>,
}

impl Coverage {
    /// The coverage rounded to `levels` evenly spaced values (0 and 255
    /// among them); unchanged for 256 levels.
    pub(crate) fn quantised(mut self, levels: u32) -> Coverage {
        // A colour glyph's shades are its own (its colours are
        // premultiplied by its coverage, which must stay as it is).
        if levels < 256 && self.rgb.is_none() {
            let steps = levels.max(2) - 1;
            for a in &mut self.alpha {
                let step = (u32::from(*a) * steps + 127) / 255;
                *a = ((step * 255 + steps / 2) / steps) as u8;
            }
        }
        self
    }

    fn empty() -> Coverage {
        Coverage {
            width: 0,
            height: 0,
            left: 0,
            top: 0,
            alpha: Vec::new(),
            rgb: None,
        }
    }
}

/// Where a font of the chain comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FontOrigin {
    /// Compiled into agent-tty (listed in docs/FONTS.md).
    Bundled,
    /// A system font file (and its index in a collection).
    System {
        /// The font file.
        path: PathBuf,
        /// The face's index in the file (0 unless a `.ttc`).
        index: u32,
    },
}

/// A font of the chain, as the SVG writer or `doctor` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FontInfo {
    /// Its family name (`DejaVu Sans Mono`, `Noto Sans CJK JP`, …).
    pub family: String,
    /// Where it comes from.
    pub origin: FontOrigin,
}

struct ChainFont {
    info: FontInfo,
    font: FontArc,
    /// The scale at which one em is the requested pixel size.
    scale: PxScale,
}

impl ChainFont {
    fn new(font: FontArc, info: FontInfo, em_px: f32) -> ChainFont {
        let units_per_em = font.units_per_em().unwrap_or(1000.0);
        // ab_glyph's scale is the ascent-to-descent height, not the em.
        let scale = PxScale::from(em_px * font.height_unscaled() / units_per_em);
        ChainFont { info, font, scale }
    }

    fn has(&self, c: char) -> bool {
        self.font.glyph_id(c).0 != 0
    }
}

/// The text font's four faces.
const TEXT_FACES: usize = 4;
/// The bundled fallbacks, after the text faces.
const SYMBOLS: &[u8] = include_bytes!("../fonts/SymbolsNerdSubset.ttf");
const EMOJI: &[u8] = include_bytes!("../fonts/NotoEmoji-Regular.ttf");
/// The emoji font's place in the chain.
const EMOJI_INDEX: usize = TEXT_FACES + 1;

/// The bundled fonts' family names, in chain order (for `doctor` and the
/// docs).
pub const BUNDLED_FAMILIES: [&str; 3] = [
    crate::FONT_FAMILY,
    "Symbols Nerd Font (subset)",
    "Noto Emoji",
];

/// The fallback chain at one size.
pub struct Fonts {
    /// Text faces (`Face as usize`), the bundled fallbacks, then each
    /// system font in the order it was first needed.
    chain: Vec<ChainFont>,
    em_px: f32,
    cell: CellSize,
    baseline: u32,
    x_height: u32,
    /// The chain font chosen per character and face (`None`: no font has it).
    choice: HashMap<(char, Face), Option<usize>>,
    /// Loaded on the first character no bundled font has.
    system: Option<crate::system_fonts::SystemFonts>,
    /// False: never look at system fonts (the same pixels on every machine).
    use_system: bool,
    /// The emoji font's tables, parsed on the first flag drawn.
    emoji_layout: Option<ttf_parser::Face<'static>>,
    /// A system colour emoji font (`Some(None)`: looked for, none found),
    /// looked for on the first emoji drawn.
    colour: Option<Option<ColourFont>>,
}

impl Fonts {
    /// Loads the bundled faces at `em_px` pixels per em (CSS `font-size`).
    pub(crate) fn load(em_px: f32) -> Fonts {
        use dejavu::sans_mono;
        // The bytes are compiled in and known good; failing here is a build
        // problem, not a runtime one.
        let bundled = |bytes: &'static [u8], family: &str| {
            let font = FontRef::try_from_slice(bytes).expect("bundled font parses");
            let info = FontInfo {
                family: family.to_owned(),
                origin: FontOrigin::Bundled,
            };
            ChainFont::new(FontArc::new(font), info, em_px)
        };
        let chain = vec![
            bundled(sans_mono::regular(), BUNDLED_FAMILIES[0]),
            bundled(sans_mono::bold(), BUNDLED_FAMILIES[0]),
            bundled(sans_mono::oblique(), BUNDLED_FAMILIES[0]),
            bundled(sans_mono::bold_oblique(), BUNDLED_FAMILIES[0]),
            bundled(SYMBOLS, BUNDLED_FAMILIES[1]),
            bundled(EMOJI, BUNDLED_FAMILIES[2]),
        ];
        let regular = &chain[0].font;
        let scale = chain[0].scale;
        let scaled = regular.as_scaled(scale);
        let advance = scaled.h_advance(regular.glyph_id('M'));
        let height = scaled.ascent() - scaled.descent() + scaled.line_gap();
        let cell = CellSize {
            width: advance.ceil() as u32,
            height: height.ceil() as u32,
        };
        let baseline = scaled.ascent().round() as u32;
        let x_height = regular
            .outline_glyph(
                regular
                    .glyph_id('x')
                    .with_scale_and_position(scale, point(0.0, 0.0)),
            )
            .map_or(cell.height / 2, |g| (-g.px_bounds().min.y).round() as u32);
        Fonts {
            chain,
            em_px,
            cell,
            baseline,
            x_height,
            choice: HashMap::new(),
            system: None,
            use_system: true,
            emoji_layout: None,
            colour: None,
        }
    }

    /// The bundled fonts only: a screen draws the same on every machine.
    #[cfg(test)]
    pub(crate) fn use_bundled_only(&mut self) {
        self.use_system = false;
    }

    pub(crate) fn cell_size(&self) -> CellSize {
        self.cell
    }

    /// Pixels from a cell's top to the baseline.
    pub(crate) fn baseline(&self) -> u32 {
        self.baseline
    }

    /// Height of a lowercase `x`, for placing the strikethrough.
    pub(crate) fn x_height(&self) -> u32 {
        self.x_height
    }

    /// The font that draws `c` in `face`, `None` when no font of the chain
    /// (system fonts included) has it. Box drawing, blocks, Braille and
    /// powerline separators are drawn without a font
    /// ([`crate::Renderer::glyph_source`] says so); this answers for the
    /// font that has them all the same.
    pub fn face_for(&mut self, c: char, face: Face) -> Option<&FontInfo> {
        let index = self.choose(c, face)?;
        Some(&self.chain[index].info)
    }

    /// Every system font the chain has used so far.
    pub fn system_fonts_used(&self) -> impl Iterator<Item = &FontInfo> {
        self.chain[TEXT_FACES + 2..].iter().map(|f| &f.info)
    }

    fn choose(&mut self, c: char, face: Face) -> Option<usize> {
        if let Some(choice) = self.choice.get(&(c, face)) {
            return *choice;
        }
        let choice = self.find(c, face);
        self.choice.insert((c, face), choice);
        choice
    }

    fn find(&mut self, c: char, face: Face) -> Option<usize> {
        let in_chain = [face as usize, Face::Regular as usize]
            .into_iter()
            .chain(TEXT_FACES..self.chain.len())
            .find(|&i| self.chain[i].has(c));
        if in_chain.is_some() || !self.use_system {
            return in_chain;
        }
        let system = self
            .system
            .get_or_insert_with(crate::system_fonts::SystemFonts::discover);
        let (font, info) = system.find(c)?;
        self.chain.push(ChainFont::new(font, info, self.em_px));
        Some(self.chain.len() - 1)
    }

    /// The flag of the regional-indicator pair `a`, `b` (🇯 🇵 → 🇯🇵), fitted
    /// to the two cells the pair takes, from the bundled emoji font's
    /// ligature; `None` for a pair that is no flag.
    pub(crate) fn flag(&mut self, a: char, b: char) -> Option<Coverage> {
        let layout = self
            .emoji_layout
            .get_or_insert_with(|| ttf_parser::Face::parse(EMOJI, 0).expect("bundled font parses"));
        let glyph = ligature(layout, &[layout.glyph_index(a)?, layout.glyph_index(b)?])?;
        let coloured = self.colour_emoji(
            |font| ligature(font, &[font.glyph_index(a)?, font.glyph_index(b)?]),
            2,
        );
        Some(coloured.unwrap_or_else(|| self.fitted(EMOJI_INDEX, GlyphId(glyph.0), 2)))
    }

    /// Rasterises `c` in `face` for a glyph spanning `span` columns;
    /// `None` when no font has it (the caller draws the fallback box). A
    /// space or other blank glyph is an empty coverage, not `None`.
    pub(crate) fn rasterise(&mut self, c: char, face: Face, span: u32) -> Option<Coverage> {
        let index = self.choose(c, face)?;
        let font = &self.chain[index];
        let id = font.font.glyph_id(c);
        if index < TEXT_FACES {
            // The text font is drawn as designed: its metrics made the cell.
            return Some(outline(&font.font, id, font.scale).map_or_else(Coverage::empty, |g| g.0));
        }
        if index == EMOJI_INDEX {
            if let Some(coloured) = self.colour_emoji(|font| font.glyph_index(c), span) {
                return Some(coloured);
            }
        }
        Some(self.fitted(index, id, span))
    }

    /// The system colour emoji font, looked for the first time it is asked
    /// for (listing the system fonts, if nothing has yet).
    pub fn colour_emoji_font(&mut self) -> Option<&FontInfo> {
        self.colour_font().map(|font| &font.info)
    }

    fn colour_font(&mut self) -> Option<&ColourFont> {
        if !self.use_system {
            return None;
        }
        if self.colour.is_none() {
            let system = self
                .system
                .get_or_insert_with(crate::system_fonts::SystemFonts::discover);
            self.colour = Some(system.find_colour().map(|(bytes, index, info)| ColourFont {
                bytes,
                index,
                info,
            }));
        }
        self.colour.as_ref().and_then(Option::as_ref)
    }

    /// The glyph `pick` chooses in the colour emoji font (a character's, a
    /// flag ligature's), as a colour bitmap fitted to `span` cells; `None`
    /// when there is no colour font or it has no bitmap for the glyph.
    fn colour_emoji(
        &mut self,
        pick: impl FnOnce(&ttf_parser::Face<'_>) -> Option<ttf_parser::GlyphId>,
        span: u32,
    ) -> Option<Coverage> {
        let (cell, baseline) = (self.cell, self.baseline);
        let font = self.colour_font()?;
        let face = ttf_parser::Face::parse(&font.bytes, font.index).ok()?;
        let id = pick(&face)?;
        let image = face.glyph_raster_image(id, u16::MAX)?;
        if image.format != ttf_parser::RasterImageFormat::PNG {
            return None;
        }
        let (width, height, rgba) = decode_rgba(image.data)?;
        Some(colour_bitmap_fitted(
            (width, height, &rgba),
            (cell.width * span, cell.height),
            baseline,
        ))
    }

    /// A fallback font's glyph, scaled down if its ink would overflow its
    /// cells, its ink centred across them (a symbol font's advance is often
    /// wider than the icon, and a mark has none), on the text font's
    /// baseline but never above the cell's top or below its bottom.
    fn fitted(&self, index: usize, id: GlyphId, span: u32) -> Coverage {
        let font = &self.chain[index];
        let span_width = (self.cell.width * span) as f32;
        let cell_height = self.cell.height as f32;
        let Some((mut coverage, bounds)) = outline(&font.font, id, font.scale) else {
            return Coverage::empty();
        };
        let fit = (span_width / bounds.width())
            .min(cell_height / bounds.height())
            .min(1.0);
        if fit < 1.0 {
            let scale = PxScale {
                x: font.scale.x * fit,
                y: font.scale.y * fit,
            };
            match outline(&font.font, id, scale) {
                Some((smaller, _)) => coverage = smaller,
                None => return Coverage::empty(),
            }
        }
        coverage.left = (span_width as i32 - coverage.width as i32) / 2;
        let baseline = self.baseline as i32;
        let bottom = self.cell.height as i32 - baseline;
        if coverage.top + coverage.height as i32 > bottom {
            coverage.top = bottom - coverage.height as i32;
        }
        coverage.top = coverage.top.max(-baseline);
        coverage
    }
}

/// The glyph a ligature of `font`'s GSUB table makes of `glyphs`, if one
/// does.
fn ligature(
    font: &ttf_parser::Face<'_>,
    glyphs: &[ttf_parser::GlyphId],
) -> Option<ttf_parser::GlyphId> {
    use ttf_parser::gsub::SubstitutionSubtable;
    let (first, rest) = glyphs.split_first()?;
    let gsub = font.tables().gsub?;
    for lookup in gsub.lookups {
        for subtable in lookup.subtables.into_iter::<SubstitutionSubtable>() {
            let SubstitutionSubtable::Ligature(ligatures) = subtable else {
                continue;
            };
            let Some(set) = ligatures
                .coverage
                .get(*first)
                .and_then(|i| ligatures.ligature_sets.get(i))
            else {
                continue;
            };
            if let Some(found) = set
                .into_iter()
                .find(|l| l.components.into_iter().eq(rest.iter().copied()))
            {
                return Some(found.glyph);
            }
        }
    }
    None
}

/// A system colour font's file, read whole (a `.ttc` face by index).
struct ColourFont {
    bytes: Vec<u8>,
    index: u32,
    info: FontInfo,
}

/// A PNG (a colour font's bitmap) as `(width, height, RGBA)`; `None` when
/// it does not decode, or is larger than any emoji strike (512 px).
fn decode_rgba(data: &[u8]) -> Option<(u32, u32, Vec<u8>)> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(data));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().ok()?;
    let (width, height) = (reader.info().width, reader.info().height);
    if width == 0 || height == 0 || width > 512 || height > 512 {
        return None;
    }
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).ok()?;
    let pixels = (width * height) as usize;
    let rgba = match frame.color_type {
        png::ColorType::Rgba => buf[..pixels * 4].to_vec(),
        png::ColorType::Rgb => buf[..pixels * 3]
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        png::ColorType::GrayscaleAlpha => buf[..pixels * 2]
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        png::ColorType::Grayscale => buf[..pixels].iter().flat_map(|&g| [g, g, g, 255]).collect(),
        png::ColorType::Indexed => return None,
    };
    Some((width, height, rgba))
}

/// A colour bitmap `(width, height, RGBA)` scaled down to fit a `box_w` ×
/// `box_h` cell area (its aspect kept), centred in it, as premultiplied
/// colour coverage placed relative to the `baseline`. Each output pixel is
/// the area average of the source pixels it covers (integer arithmetic, so
/// the same on every machine).
fn colour_bitmap_fitted(
    (width, height, rgba): (u32, u32, &[u8]),
    (box_w, box_h): (u32, u32),
    baseline: u32,
) -> Coverage {
    // The scale that fits, as a fraction: out = in * num / den.
    let (num, den) = if u64::from(box_w) * u64::from(height) <= u64::from(box_h) * u64::from(width)
    {
        (box_w, width)
    } else {
        (box_h, height)
    };
    let (num, den) = if num >= den { (1, 1) } else { (num, den) };
    let out_w = (width * num / den).max(1);
    let out_h = (height * num / den).max(1);
    let mut sums = vec![[0u64; 5]; (out_w * out_h) as usize];
    for y in 0..height {
        let oy = (y * out_h / height) as usize;
        for x in 0..width {
            let ox = (x * out_w / width) as usize;
            let p = &rgba[((y * width + x) * 4) as usize..][..4];
            let a = u64::from(p[3]);
            let sum = &mut sums[oy * out_w as usize + ox];
            for (s, &v) in sum.iter_mut().zip(&p[..3]) {
                *s += u64::from(v) * a;
            }
            sum[3] += a;
            sum[4] += 1;
        }
    }
    let mut alpha = Vec::with_capacity(sums.len());
    let mut rgb = Vec::with_capacity(sums.len() * 3);
    for [r, g, b, a, n] in sums {
        let n = n.max(1);
        // Premultiplied: Σ(v·a) / (255·n).
        rgb.extend([r, g, b].map(|v| ((v + 255 * n / 2) / (255 * n)) as u8));
        alpha.push(((a + n / 2) / n) as u8);
    }
    Coverage {
        width: out_w,
        height: out_h,
        left: ((box_w - out_w) / 2) as i32,
        top: ((box_h - out_h) / 2) as i32 - baseline as i32,
        alpha,
        rgb: Some(rgb),
    }
}

/// Whether `c` is a regional-indicator letter (two make a flag).
pub(crate) fn is_regional_indicator(c: char) -> bool {
    matches!(c, '\u{1f1e6}'..='\u{1f1ff}')
}

/// `id` of `font` at `scale` as coverage (and its pixel bounds), `None` for
/// a glyph with no outline.
fn outline(font: &FontArc, id: GlyphId, scale: PxScale) -> Option<(Coverage, ab_glyph::Rect)> {
    let outlined = font.outline_glyph(id.with_scale_and_position(scale, point(0.0, 0.0)))?;
    let bounds = outlined.px_bounds();
    let width = bounds.width().ceil() as u32;
    let height = bounds.height().ceil() as u32;
    let mut alpha = vec![0u8; (width * height) as usize];
    outlined.draw(|x, y, v| {
        if x < width && y < height {
            alpha[(y * width + x) as usize] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        }
    });
    let coverage = Coverage {
        width,
        height,
        left: bounds.min.x.floor() as i32,
        top: bounds.min.y.floor() as i32,
        alpha,
        rgb: None,
    };
    Some((coverage, bounds))
}

/// Characters that take no room and show nothing by themselves: joiners,
/// variation selectors, direction marks, tag characters. A cell holding one
/// after its base character is drawn as the base alone, not as a box.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}'
        | '\u{fe00}'..='\u{fe0f}'
        | '\u{feff}'
        | '\u{e0000}'..='\u{e007f}'
        | '\u{e0100}'..='\u{e01ef}')
}
