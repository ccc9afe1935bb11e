//! A TrueType subsetter just big enough for `screenshot --format svg
//! --embed-fonts`: a copy of a bundled face that keeps only the outlines of
//! the characters a screen shows.
//!
//! The kept glyphs are renumbered from 0 (`.notdef`) in their old order,
//! and composite glyphs' component ids rewritten to match; `glyf`, `loca`,
//! `hmtx` and `cmap` are rebuilt for them, `maxp` and `hhea` count them.
//! What a browser needs to draw text with the face (metrics, hinting
//! programs, `name` with the copyright and licence) is kept; layout tables
//! (`GSUB`, `GPOS`, `kern`...) and glyph names are dropped, since every
//! character is placed by its own `x`.
//!
//! The input is one of our compiled-in fonts, never user data; a font this
//! does not understand still yields `None`, and the SVG then names the
//! family without embedding it.

use std::collections::{BTreeMap, BTreeSet};

/// A subset of the TrueType `font` with the glyphs of `chars` (and the
/// components they are built from, and `.notdef`); `None` when the font is
/// not a glyf-outline TrueType font this can read.
pub(crate) fn subset_truetype(font: &[u8], chars: &BTreeSet<char>) -> Option<Vec<u8>> {
    let tables = table_directory(font)?;
    let table = |tag: &[u8; 4]| tables.get(tag).copied();
    let head = table(b"head")?;
    let maxp = table(b"maxp")?;
    let glyf = table(b"glyf")?;
    let loca = table(b"loca")?;
    let cmap = table(b"cmap")?;
    let hhea = table(b"hhea")?;
    let hmtx = table(b"hmtx")?;
    let long_loca = read_u16(head, 50)? == 1;
    let num_glyphs = usize::from(read_u16(maxp, 4)?);
    let offset = |gid: usize| -> Option<usize> {
        if long_loca {
            read_u32(loca, gid * 4).map(|o| o as usize)
        } else {
            read_u16(loca, gid * 2).map(|o| usize::from(o) * 2)
        }
    };
    let glyph = |gid: usize| -> Option<&[u8]> {
        let (start, end) = (offset(gid)?, offset(gid + 1)?);
        glyf.get(start..end)
    };

    // The characters' glyphs, then every component they reference.
    let mut mapping: BTreeMap<u32, u16> = BTreeMap::new();
    for &c in chars {
        if let Some(gid) = cmap_lookup(cmap, c as u32).filter(|&g| g != 0) {
            mapping.insert(c as u32, gid);
        }
    }
    let mut keep: BTreeSet<u16> = mapping.values().copied().collect();
    keep.insert(0);
    let mut todo: Vec<u16> = keep.iter().copied().collect();
    while let Some(gid) = todo.pop() {
        for (_, component) in components(glyph(usize::from(gid))?)? {
            if usize::from(component) >= num_glyphs {
                return None;
            }
            if keep.insert(component) {
                todo.push(component);
            }
        }
    }
    let new_id: BTreeMap<u16, u16> = keep
        .iter()
        .enumerate()
        .map(|(new, &old)| (old, new as u16))
        .collect();
    let mapping: BTreeMap<u32, u16> = mapping.into_iter().map(|(c, g)| (c, new_id[&g])).collect();

    // glyf and loca: the kept glyphs in order (padded to 4 bytes), each
    // composite's component ids renumbered; hmtx: a full metric for each.
    let long_metrics = usize::from(read_u16(hhea, 34)?).max(1);
    let metric = |gid: usize| -> Option<[u8; 4]> {
        let advance = read_u16(hmtx, gid.min(long_metrics - 1) * 4)?;
        let lsb = if gid < long_metrics {
            read_u16(hmtx, gid * 4 + 2)?
        } else {
            read_u16(hmtx, long_metrics * 4 + (gid - long_metrics) * 2)?
        };
        let mut out = [0; 4];
        out[..2].copy_from_slice(&advance.to_be_bytes());
        out[2..].copy_from_slice(&lsb.to_be_bytes());
        Some(out)
    };
    let mut new_glyf = Vec::new();
    let mut new_hmtx = Vec::with_capacity(keep.len() * 4);
    let mut offsets = Vec::with_capacity(keep.len() + 1);
    for &gid in &keep {
        let gid = usize::from(gid);
        offsets.push(new_glyf.len());
        let start = new_glyf.len();
        let data = glyph(gid)?;
        new_glyf.extend_from_slice(data);
        for (at, component) in components(data)? {
            new_glyf[start + at..start + at + 2].copy_from_slice(&new_id[&component].to_be_bytes());
        }
        while new_glyf.len() % 4 != 0 {
            new_glyf.push(0);
        }
        new_hmtx.extend_from_slice(&metric(gid)?);
    }
    offsets.push(new_glyf.len());
    let count = (keep.len() as u16).to_be_bytes();
    let mut new_maxp = maxp.to_vec();
    new_maxp.get_mut(4..6)?.copy_from_slice(&count);
    let mut new_hhea = hhea.to_vec();
    new_hhea.get_mut(34..36)?.copy_from_slice(&count);
    let short = new_glyf.len() / 2 <= usize::from(u16::MAX);
    let mut new_loca = Vec::new();
    for o in offsets {
        if short {
            new_loca.extend_from_slice(&((o / 2) as u16).to_be_bytes());
        } else {
            new_loca.extend_from_slice(&(o as u32).to_be_bytes());
        }
    }
    let mut new_head = head.to_vec();
    new_head.get_mut(8..12)?.fill(0); // checkSumAdjustment, set below
    new_head
        .get_mut(50..52)?
        .copy_from_slice(&(u16::from(!short)).to_be_bytes());

    // post version 3: no glyph names.
    let mut new_post = table(b"post")?.get(..32)?.to_vec();
    new_post[..4].copy_from_slice(&0x0003_0000u32.to_be_bytes());

    let mut out: Vec<([u8; 4], Vec<u8>)> = vec![
        (*b"cmap", build_cmap(&mapping)),
        (*b"glyf", new_glyf),
        (*b"head", new_head),
        (*b"hhea", new_hhea),
        (*b"hmtx", new_hmtx),
        (*b"loca", new_loca),
        (*b"maxp", new_maxp),
        (*b"post", new_post),
    ];
    for tag in [b"OS/2", b"cvt ", b"fpgm", b"gasp", b"name", b"prep"] {
        if let Some(data) = table(tag) {
            out.push((*tag, data.to_vec()));
        }
    }
    out.sort_by_key(|t| t.0);
    Some(write_font(&out))
}

/// The font's tables by tag.
fn table_directory(font: &[u8]) -> Option<BTreeMap<[u8; 4], &[u8]>> {
    if read_u32(font, 0)? != 0x0001_0000 {
        return None;
    }
    let count = usize::from(read_u16(font, 4)?);
    let mut tables = BTreeMap::new();
    for i in 0..count {
        let record = 12 + i * 16;
        let tag: [u8; 4] = font.get(record..record + 4)?.try_into().ok()?;
        let start = read_u32(font, record + 8)? as usize;
        let len = read_u32(font, record + 12)? as usize;
        tables.insert(tag, font.get(start..start.checked_add(len)?)?);
    }
    Some(tables)
}

/// The glyph id of `c` in a `cmap` table, from its format 4 or format 12
/// Unicode subtable.
fn cmap_lookup(cmap: &[u8], c: u32) -> Option<u16> {
    let count = usize::from(read_u16(cmap, 2)?);
    let mut found = None;
    for i in 0..count {
        let record = 4 + i * 8;
        let (platform, encoding) = (read_u16(cmap, record)?, read_u16(cmap, record + 2)?);
        let unicode = platform == 0 || (platform == 3 && (encoding == 1 || encoding == 10));
        if !unicode {
            continue;
        }
        let sub = cmap.get(read_u32(cmap, record + 4)? as usize..)?;
        let gid = match read_u16(sub, 0)? {
            4 => format4_lookup(sub, c),
            12 => format12_lookup(sub, c),
            _ => None,
        };
        if gid.is_some_and(|g| g != 0) {
            return gid;
        }
        found = found.or(gid);
    }
    found
}

fn format4_lookup(sub: &[u8], c: u32) -> Option<u16> {
    let c = u16::try_from(c).ok()?;
    let segs = usize::from(read_u16(sub, 6)? / 2);
    let ends = 14;
    let starts = ends + segs * 2 + 2;
    let deltas = starts + segs * 2;
    let ranges = deltas + segs * 2;
    for i in 0..segs {
        if c > read_u16(sub, ends + i * 2)? {
            continue;
        }
        let start = read_u16(sub, starts + i * 2)?;
        if c < start {
            return Some(0);
        }
        let delta = read_u16(sub, deltas + i * 2)?;
        let range = usize::from(read_u16(sub, ranges + i * 2)?);
        if range == 0 {
            return Some(c.wrapping_add(delta));
        }
        let at = ranges + i * 2 + range + usize::from(c - start) * 2;
        let gid = read_u16(sub, at)?;
        return Some(if gid == 0 { 0 } else { gid.wrapping_add(delta) });
    }
    Some(0)
}

fn format12_lookup(sub: &[u8], c: u32) -> Option<u16> {
    let groups = read_u32(sub, 12)? as usize;
    for i in 0..groups {
        let g = 16 + i * 12;
        let (start, end) = (read_u32(sub, g)?, read_u32(sub, g + 4)?);
        if (start..=end).contains(&c) {
            return u16::try_from(read_u32(sub, g + 8)? + (c - start)).ok();
        }
    }
    Some(0)
}

/// The glyph ids a composite glyph is built from, each with the offset of
/// its id in `glyph` (none for a simple or empty glyph).
fn components(glyph: &[u8]) -> Option<Vec<(usize, u16)>> {
    if glyph.is_empty() || read_u16(glyph, 0)? as i16 >= 0 {
        return Some(Vec::new());
    }
    const ARGS_ARE_WORDS: u16 = 0x0001;
    const HAVE_SCALE: u16 = 0x0008;
    const MORE: u16 = 0x0020;
    const HAVE_XY_SCALE: u16 = 0x0040;
    const HAVE_2X2: u16 = 0x0080;
    let mut out = Vec::new();
    let mut at = 10;
    loop {
        let flags = read_u16(glyph, at)?;
        out.push((at + 2, read_u16(glyph, at + 2)?));
        at += 4 + if flags & ARGS_ARE_WORDS != 0 { 4 } else { 2 };
        at += if flags & HAVE_SCALE != 0 {
            2
        } else if flags & HAVE_XY_SCALE != 0 {
            4
        } else if flags & HAVE_2X2 != 0 {
            8
        } else {
            0
        };
        if flags & MORE == 0 {
            return Some(out);
        }
    }
}

/// A `cmap` with a format 4 subtable (BMP characters, platform 3/1) and a
/// format 12 one (all characters, 3/10), one segment per character.
fn build_cmap(mapping: &BTreeMap<u32, u16>) -> Vec<u8> {
    let bmp: Vec<(u16, u16)> = mapping
        .iter()
        .filter_map(|(&c, &g)| Some((u16::try_from(c).ok()?, g)))
        .filter(|&(c, _)| c != 0xFFFF)
        .collect();
    let segs = bmp.len() + 1;
    let mut f4 = Vec::new();
    let (mut search, mut selector) = (1usize, 0u16);
    while search * 2 <= segs {
        search *= 2;
        selector += 1;
    }
    let len = 16 + segs * 8;
    for v in [
        4,
        len as u16,
        0,
        (segs * 2) as u16,
        (search * 2) as u16,
        selector,
        ((segs - search) * 2) as u16,
    ] {
        f4.extend_from_slice(&v.to_be_bytes());
    }
    let ends: Vec<u16> = bmp.iter().map(|&(c, _)| c).chain([0xFFFF]).collect();
    let deltas: Vec<u16> = bmp
        .iter()
        .map(|&(c, g)| g.wrapping_sub(c))
        .chain([1])
        .collect();
    for &e in &ends {
        f4.extend_from_slice(&e.to_be_bytes());
    }
    f4.extend_from_slice(&[0, 0]);
    for &s in &ends {
        f4.extend_from_slice(&s.to_be_bytes());
    }
    for d in deltas {
        f4.extend_from_slice(&d.to_be_bytes());
    }
    f4.extend(std::iter::repeat_n(0u8, segs * 2));

    let mut f12 = Vec::new();
    f12.extend_from_slice(&12u16.to_be_bytes());
    f12.extend_from_slice(&0u16.to_be_bytes());
    f12.extend_from_slice(&((16 + mapping.len() * 12) as u32).to_be_bytes());
    f12.extend_from_slice(&0u32.to_be_bytes());
    f12.extend_from_slice(&(mapping.len() as u32).to_be_bytes());
    for (&c, &g) in mapping {
        for v in [c, c, u32::from(g)] {
            f12.extend_from_slice(&v.to_be_bytes());
        }
    }

    let mut cmap = Vec::new();
    for v in [0u16, 2, 3, 1] {
        cmap.extend_from_slice(&v.to_be_bytes());
    }
    cmap.extend_from_slice(&20u32.to_be_bytes());
    for v in [3u16, 10] {
        cmap.extend_from_slice(&v.to_be_bytes());
    }
    cmap.extend_from_slice(&((20 + f4.len()) as u32).to_be_bytes());
    cmap.extend_from_slice(&f4);
    cmap.extend_from_slice(&f12);
    cmap
}

/// An sfnt from `tables` (sorted by tag), each 4-byte aligned and
/// checksummed, with `head`'s whole-font checksum adjustment filled in.
fn write_font(tables: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    let n = tables.len();
    let mut search = 1usize;
    let mut selector = 0u16;
    while search * 2 <= n {
        search *= 2;
        selector += 1;
    }
    let mut out = Vec::new();
    out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    for v in [
        n as u16,
        (search * 16) as u16,
        selector,
        ((n - search) * 16) as u16,
    ] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    let mut at = 12 + n * 16;
    let mut head_at = None;
    for (tag, data) in tables {
        if tag == b"head" {
            head_at = Some(at);
        }
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        out.extend_from_slice(&(at as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        at += data.len().div_ceil(4) * 4;
    }
    for (_, data) in tables {
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    if let Some(head) = head_at {
        let adjustment = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
        out[head + 8..head + 12].copy_from_slice(&adjustment.to_be_bytes());
    }
    out
}

fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, chunk| {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}

fn read_u16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ab_glyph::{Font, FontRef};

    /// The subset parses with a decoder that is not ours (`ttf-parser`,
    /// through `ab_glyph`), maps the kept characters to outlines, composite
    /// ones included, drops the rest, and is a fraction of the full face.
    #[test]
    fn a_subset_keeps_the_glyphs_asked_for_and_little_else() {
        let full = dejavu::sans_mono::regular();
        let chars: BTreeSet<char> = "Hello é<>&界\u{1d400}".chars().collect();
        let small = subset_truetype(full, &chars).expect("DejaVu subsets");
        assert!(
            small.len() * 10 < full.len(),
            "{} of {}",
            small.len(),
            full.len()
        );
        let font = FontRef::try_from_slice(&small).expect("the subset parses");
        let original = FontRef::try_from_slice(full).unwrap();
        for c in "Helo é<>&".chars() {
            let id = font.glyph_id(c);
            assert_ne!(id.0, 0, "{c:?} is mapped");
            assert_eq!(
                font.h_advance_unscaled(id),
                original.h_advance_unscaled(original.glyph_id(c))
            );
            if c != ' ' {
                // The same outline: same bounds (a composite's parts found).
                let bounds = |f: &FontRef, id: ab_glyph::GlyphId| {
                    f.outline_glyph(id.with_scale(40.0)).map(|g| g.px_bounds())
                };
                let got = bounds(&font, id).expect("an outline");
                assert_eq!(Some(got), bounds(&original, original.glyph_id(c)), "{c:?}");
            }
        }
        assert!(font.glyph_count() <= 16, "{} glyphs", font.glyph_count());
        // A character the screen did not show is gone from the cmap, and
        // one the font never had stays unmapped.
        assert_eq!(font.glyph_id('Z').0, 0);
        assert_eq!(font.glyph_id('界').0, 0);
        // And the bytes are well-formed: the whole-font checksum is right.
        assert_eq!(checksum(&small), 0xB1B0_AFBA);
    }

    #[test]
    fn something_that_is_not_a_font_is_refused() {
        let chars: BTreeSet<char> = "a".chars().collect();
        assert_eq!(subset_truetype(b"", &chars), None);
        assert_eq!(subset_truetype(b"OTTO\0\0\0\0", &chars), None);
        assert_eq!(subset_truetype(&[0, 1, 0, 0, 0, 9, 0, 0], &chars), None);
    }
}
