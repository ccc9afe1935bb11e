//! The bundled font: DejaVu Sans Mono's four faces, and glyph rasterising.

use crate::CellSize;
use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};

/// Which face of the font a cell uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Face {
    Regular,
    Bold,
    Italic,
    BoldItalic,
}

impl Face {
    pub(crate) fn of(bold: bool, italic: bool) -> Face {
        match (bold, italic) {
            (false, false) => Face::Regular,
            (true, false) => Face::Bold,
            (false, true) => Face::Italic,
            (true, true) => Face::BoldItalic,
        }
    }
}

/// A glyph cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct GlyphKey {
    pub c: char,
    pub face: Face,
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
}

/// The four faces at one size.
pub(crate) struct Fonts {
    faces: [FontRef<'static>; 4],
    scale: PxScale,
    cell: CellSize,
    baseline: u32,
    x_height: u32,
}

impl Fonts {
    /// Loads the bundled faces at `em_px` pixels per em (CSS `font-size`).
    pub(crate) fn load(em_px: f32) -> Fonts {
        use dejavu::sans_mono;
        // The bytes are compiled in and known good; failing here is a build
        // problem, not a runtime one.
        let face =
            |bytes: &'static [u8]| FontRef::try_from_slice(bytes).expect("bundled font parses");
        let faces = [
            face(sans_mono::regular()),
            face(sans_mono::bold()),
            face(sans_mono::oblique()),
            face(sans_mono::bold_oblique()),
        ];
        let regular = &faces[0];
        let units_per_em = regular.units_per_em().unwrap_or(2048.0);
        // ab_glyph's scale is the ascent-to-descent height, not the em.
        let scale = PxScale::from(em_px * regular.height_unscaled() / units_per_em);
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
            faces,
            scale,
            cell,
            baseline,
            x_height,
        }
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

    /// Rasterises `c` in `face`; `None` when the font has no glyph for it
    /// (the caller draws the fallback box). A space or other blank glyph
    /// is an empty coverage, not `None`.
    pub(crate) fn rasterise(&self, c: char, face: Face) -> Option<Coverage> {
        let font = &self.faces[face as usize];
        let id = font.glyph_id(c);
        if id.0 == 0 {
            return None;
        }
        let Some(outlined) =
            font.outline_glyph(id.with_scale_and_position(self.scale, point(0.0, 0.0)))
        else {
            return Some(Coverage {
                width: 0,
                height: 0,
                left: 0,
                top: 0,
                alpha: Vec::new(),
            });
        };
        let bounds = outlined.px_bounds();
        let width = bounds.width().ceil() as u32;
        let height = bounds.height().ceil() as u32;
        let mut alpha = vec![0u8; (width * height) as usize];
        outlined.draw(|x, y, v| {
            if x < width && y < height {
                alpha[(y * width + x) as usize] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        });
        Some(Coverage {
            width,
            height,
            left: bounds.min.x.floor() as i32,
            top: bounds.min.y.floor() as i32,
            alpha,
        })
    }
}
