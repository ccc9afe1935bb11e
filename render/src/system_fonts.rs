//! System fonts for the characters no bundled font has (CJK, Hebrew, Thai,
//! …), found with `fontdb`.
//!
//! Looked at only when a screen has such a character, and then once per
//! process: the directories are listed and each font's names read (fontdb
//! maps the files, it does not read them whole), and a font file is read
//! into memory only when one of its glyphs is drawn.
//!
//! Only the system's font directories are read, never the user's
//! (`~/.fonts`, `~/.local/share/fonts`) nor fontconfig's configuration:
//! those are whatever the user (or a program they ran) put there, and a
//! screenshot must not read a FIFO or a 10 GB file because someone named it
//! `x.ttf`. fontdb follows symbolic links once (it remembers where it has
//! been), and reads regular files only.

use crate::font::{FontInfo, FontOrigin};
use ab_glyph::{Font, FontArc, FontRef, FontVec};
use std::path::Path;

/// The directories searched, in this order.
pub const SYSTEM_FONT_DIRS: &[&str] = &[
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "/System/Library/Fonts",
    "/Library/Fonts",
];

/// A font file larger than this is skipped (the largest CJK collections are
/// about 30 MB).
const MAX_FONT_FILE: u64 = 64 * 1024 * 1024;

pub(crate) struct SystemFonts {
    db: fontdb::Database,
    /// Faces in the order they are tried.
    order: Vec<fontdb::ID>,
}

impl SystemFonts {
    /// Lists the system fonts.
    pub(crate) fn discover() -> SystemFonts {
        let mut db = fontdb::Database::new();
        for dir in SYSTEM_FONT_DIRS {
            db.load_fonts_dir(dir);
        }
        // Only fonts `read` takes (a regular file no larger than
        // `MAX_FONT_FILE`), so a search passes over one too large to read to
        // the next that has the glyph.
        let mut faces: Vec<&fontdb::FaceInfo> = db
            .faces()
            .filter(|f| {
                source_path(&f.source)
                    .and_then(|path| std::fs::metadata(path).ok())
                    .is_some_and(|m| m.is_file() && m.len() <= MAX_FONT_FILE)
            })
            .collect();
        // A stable order that does not depend on how the directory listed:
        // upright regular-weight sans faces first (what the text font looks
        // like, so "Noto Sans Thai" before "Noto Looped Thai"), monospaced
        // before proportional, Japanese CJK forms before the other regions'
        // (a fixed choice; the screen does not say its language), then by
        // name and file.
        faces.sort_by_cached_key(|f| {
            let family = f.families.first().map_or("", |(name, _)| name.as_str());
            let sans = family.contains("Sans") && !family.contains("Serif");
            let region = ["JP", "SC", "TC", "KR", "HK"]
                .iter()
                .position(|r| family.ends_with(r))
                .unwrap_or(0);
            (
                f.style != fontdb::Style::Normal,
                f.weight.0.abs_diff(400),
                !sans,
                !f.monospaced,
                region,
                family.to_owned(),
                source_path(&f.source).map(Path::to_owned),
                f.index,
            )
        });
        let order = faces.iter().map(|f| f.id).collect();
        SystemFonts { db, order }
    }

    /// The first font (in [`discover`](Self::discover)'s order) with an
    /// outline for `c`, read into memory, and what to call it.
    pub(crate) fn find(&self, c: char) -> Option<(FontArc, FontInfo)> {
        let id = self.first_face(|data, index| {
            FontRef::try_from_slice_and_index(data, index).is_ok_and(|font| has_outline(&font, c))
        })?;
        let (bytes, index, info) = self.read(id)?;
        let font = FontVec::try_from_vec_and_index(bytes, index).ok()?;
        Some((FontArc::new(font), info))
    }
}

impl SystemFonts {
    /// The first font (in [`discover`](Self::discover)'s order) with colour
    /// bitmaps (CBDT, sbix) for emoji (it has one for 😀), read whole, with
    /// its face index and what to call it.
    pub(crate) fn find_colour(&self) -> Option<(Vec<u8>, u32, FontInfo)> {
        let id = self.first_face(|data, index| {
            ttf_parser::Face::parse(data, index).is_ok_and(|face| {
                face.glyph_index('\u{1f600}').is_some_and(|g| {
                    face.glyph_raster_image(g, u16::MAX)
                        .is_some_and(|image| image.format == ttf_parser::RasterImageFormat::PNG)
                })
            })
        })?;
        self.read(id)
    }

    /// The first face, in [`discover`](Self::discover)'s order, whose data
    /// `has` accepts.
    fn first_face(&self, has: impl Fn(&[u8], u32) -> bool) -> Option<fontdb::ID> {
        self.order.iter().copied().find(|&id| {
            self.db
                .with_face_data(id, |data, index| has(data, index))
                .unwrap_or(false)
        })
    }

    /// Face `id`'s file read whole (never more than [`MAX_FONT_FILE`]
    /// bytes, whatever it has become since it was listed), its face index,
    /// and what to call it.
    fn read(&self, id: fontdb::ID) -> Option<(Vec<u8>, u32, FontInfo)> {
        use std::io::Read;
        let face = self.db.face(id)?;
        let path = source_path(&face.source)?;
        let file = std::fs::File::open(path).ok()?;
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.len() > MAX_FONT_FILE {
            return None;
        }
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).ok()?);
        file.take(MAX_FONT_FILE + 1).read_to_end(&mut bytes).ok()?;
        if bytes.len() as u64 > MAX_FONT_FILE {
            return None;
        }
        let info = FontInfo {
            family: face
                .families
                .first()
                .map_or_else(|| face.post_script_name.clone(), |(name, _)| name.clone()),
            origin: FontOrigin::System {
                path: path.to_owned(),
                index: face.index,
            },
        };
        Some((bytes, face.index, info))
    }
}

/// Whether `font` draws `c` (a colour-bitmap font such as Noto Color Emoji
/// maps characters to glyphs without outlines: drawn by us, that is nothing).
fn has_outline(font: &FontRef<'_>, c: char) -> bool {
    let id = font.glyph_id(c);
    id.0 != 0 && font.outline(id).is_some()
}

fn source_path(source: &fontdb::Source) -> Option<&Path> {
    match source {
        fontdb::Source::File(path) | fontdb::Source::SharedFile(path, _) => Some(path),
        fontdb::Source::Binary(_) => None,
    }
}
