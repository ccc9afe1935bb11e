//! Pixels as indices into a palette of at most 256 colours: what a palette
//! PNG and every GIF frame store.
//!
//! A terminal picture has few colours: its background, a handful of text
//! colours, and the anti-aliased shades between a glyph's colour and the
//! cell's. When a picture has no more colours than the palette holds, the
//! palette is exact (lossless). When it has more (text in dozens of colours,
//! each with its shades), the most used colours are kept exactly (the
//! backgrounds, glyph cores: every flat area) and each other colour is drawn
//! in its nearest kept one, which only touches the edges of glyphs. The
//! choice depends on the pixels alone (counts, then the colour's value to
//! break ties), so the same picture always gives the same bytes.
//!
//! Counting is the hot loop of every GIF frame, so it runs over runs of
//! equal pixels (long in a terminal picture: backgrounds, blank cells) and
//! looks colours up in a small open-addressing table keyed by the packed
//! colour, not a general hash map.

use agent_tty_term::profile::Rgb;

/// A picture's pixels as palette indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indexed {
    /// The colours, most used first (at most the `max_colours` asked for).
    pub palette: Vec<Rgb>,
    /// One index per pixel, row-major. With a `previous` picture, pixels
    /// equal to it get [`Indexed::unchanged`].
    pub indices: Vec<u8>,
    /// True when every pixel has its own colour exactly.
    pub exact: bool,
    /// The index of "same as the previous picture" (`palette.len()`), when
    /// a previous picture was given and some pixel is unchanged.
    pub unchanged: Option<u8>,
}

fn pack(px: &[u8]) -> u32 {
    u32::from(px[0]) << 16 | u32::from(px[1]) << 8 | u32::from(px[2])
}

fn unpack(c: u32) -> Rgb {
    [(c >> 16) as u8, (c >> 8) as u8, c as u8]
}

/// Colour → value, open addressing with linear probing. Keys are packed
/// RGB (< 2²⁴), so `u32::MAX` marks an empty slot.
struct ColourTable {
    keys: Vec<u32>,
    values: Vec<u32>,
    len: usize,
    shift: u32,
}

const EMPTY: u32 = u32::MAX;

impl ColourTable {
    fn new() -> ColourTable {
        ColourTable::with_bits(10)
    }

    fn with_bits(bits: u32) -> ColourTable {
        ColourTable {
            keys: vec![EMPTY; 1 << bits],
            values: vec![0; 1 << bits],
            len: 0,
            shift: 32 - bits,
        }
    }

    fn slot(&self, key: u32) -> usize {
        // Fibonacci hashing: the top bits of key × 2³²/φ.
        let mask = self.keys.len() - 1;
        let mut i = (key.wrapping_mul(0x9E37_79B9) >> self.shift) as usize;
        while self.keys[i] != key && self.keys[i] != EMPTY {
            i = (i + 1) & mask;
        }
        i
    }

    /// Adds `n` to `key`'s value (0 when new).
    fn add(&mut self, key: u32, n: u32) {
        let i = self.slot(key);
        if self.keys[i] == EMPTY {
            self.keys[i] = key;
            self.len += 1;
            if self.len * 2 > self.keys.len() {
                self.grow();
                let i = self.slot(key);
                self.values[i] += n;
                return;
            }
        }
        self.values[i] += n;
    }

    fn grow(&mut self) {
        let bits = 32 - self.shift + 1;
        let mut bigger = ColourTable::with_bits(bits);
        for (&k, &v) in self.keys.iter().zip(&self.values) {
            if k != EMPTY {
                let i = bigger.slot(k);
                bigger.keys[i] = k;
                bigger.values[i] = v;
                bigger.len += 1;
            }
        }
        *self = bigger;
    }

    fn get(&self, key: u32) -> u32 {
        self.values[self.slot(key)]
    }

    fn set(&mut self, key: u32, value: u32) {
        let i = self.slot(key);
        self.values[i] = value;
    }

    fn entries(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.keys
            .iter()
            .zip(&self.values)
            .filter(|(k, _)| **k != EMPTY)
            .map(|(k, v)| (*k, *v))
    }
}

/// Calls `each(colour, run length)` for every run of equal pixels of `rgb`
/// that differ from `previous` (when given, same length); returns whether
/// some pixel equals `previous`.
fn runs(rgb: &[u8], previous: Option<&[u8]>, mut each: impl FnMut(u32, u32)) -> bool {
    let mut unchanged = false;
    let mut current = EMPTY;
    let mut run = 0u32;
    let pixels = rgb.chunks_exact(3);
    match previous {
        None => {
            for px in pixels {
                let c = pack(px);
                if c == current {
                    run += 1;
                } else {
                    if run > 0 {
                        each(current, run);
                    }
                    (current, run) = (c, 1);
                }
            }
        }
        Some(previous) => {
            for (px, old) in pixels.zip(previous.chunks_exact(3)) {
                if px == old {
                    unchanged = true;
                    continue;
                }
                let c = pack(px);
                if c == current {
                    run += 1;
                } else {
                    if run > 0 {
                        each(current, run);
                    }
                    (current, run) = (c, 1);
                }
            }
        }
    }
    if run > 0 {
        each(current, run);
    }
    unchanged
}

fn distance(a: u32, b: u32) -> u32 {
    let [ar, ag, ab] = unpack(a).map(i32::from);
    let [br, bg, bb] = unpack(b).map(i32::from);
    // Weighted for the eye (green most, blue least), integers only.
    (2 * (ar - br).pow(2) + 4 * (ag - bg).pow(2) + 3 * (ab - bb).pow(2)) as u32
}

/// The nearest palette colour ([`distance`]) to any colour, exactly, without
/// measuring against all 256: the palette sorted by the weighted sum
/// `p = 2r + 4g + 3b`, searched outwards from the colour's own sum until
/// the sum alone rules the rest out. (Cauchy–Schwarz: `p_diff² ≤ 9 ·
/// distance`, with 9 the weights' total, so once `p_diff² > 9 · best` no
/// farther entry can be nearer.) Unlike one channel, the sum spreads a
/// palette such as xterm's 6×6×6 cube (6 greens) evenly, so a picture with
/// tens of thousands of shades needs a handful of comparisons each.
struct Nearest {
    /// `(weighted sum, packed colour, palette index)`, by sum.
    by_sum: Vec<(i32, u32, u32)>,
}

fn weighted_sum(c: u32) -> i32 {
    let [r, g, b] = unpack(c).map(i32::from);
    2 * r + 4 * g + 3 * b
}

impl Nearest {
    fn new(palette: &[u32]) -> Nearest {
        let mut by_sum: Vec<(i32, u32, u32)> = palette
            .iter()
            .enumerate()
            .map(|(i, &c)| (weighted_sum(c), c, i as u32))
            .collect();
        by_sum.sort_unstable();
        Nearest { by_sum }
    }

    /// The index of the nearest colour; the lowest index among equals.
    fn find(&self, c: u32) -> u32 {
        let p = weighted_sum(c);
        let start = self.by_sum.partition_point(|e| e.0 < p);
        // (distance, index): ties go to the lower index.
        let mut best = (u32::MAX, u32::MAX);
        let mut scan = |side: &mut dyn Iterator<Item = &(i32, u32, u32)>| {
            for e in side {
                let gap = i64::from(e.0 - p).pow(2);
                if gap > 9 * i64::from(best.0) {
                    break;
                }
                best = best.min((distance(c, e.1), e.2));
            }
        };
        scan(&mut self.by_sum[start..].iter());
        scan(&mut self.by_sum[..start].iter().rev());
        best.1
    }
}

/// `rgb` (3 bytes a pixel) as indices into at most `max_colours` (1..=256)
/// colours. With `previous` (the same area of the picture before, same
/// length), pixels equal to it are left to it: they get the index after
/// the palette, so `max_colours` must leave room for it (≤ 255).
pub fn index(rgb: &[u8], previous: Option<&[u8]>, max_colours: usize) -> Indexed {
    // A picture of few colours (a PNG screenshot, whose shades are fitted to
    // its palette; a first GIF frame) in one pass.
    if previous.is_none() {
        if let Some(exact) = index_exact(rgb, max_colours) {
            return exact;
        }
    }
    index_counted(rgb, previous, max_colours)
}

/// [`index`] in two passes: counting the colours, then looking each pixel's
/// up.
fn index_counted(rgb: &[u8], previous: Option<&[u8]>, max_colours: usize) -> Indexed {
    debug_assert!((1..=256).contains(&max_colours));
    debug_assert!(previous.is_none() || max_colours <= 255);
    let mut table = ColourTable::new();
    let any_unchanged = runs(rgb, previous, |c, n| table.add(c, n));
    let mut counted: Vec<(u32, u32)> = table.entries().collect();
    counted.sort_unstable_by(by_use);
    let exact = counted.len() <= max_colours;
    let kept = counted.len().min(max_colours);
    let palette: Vec<u32> = counted[..kept].iter().map(|&(c, _)| c).collect();
    for (i, &c) in palette.iter().enumerate() {
        table.set(c, i as u32);
    }
    if !exact {
        let nearest = Nearest::new(&palette);
        for &(c, _) in &counted[kept..] {
            table.set(c, nearest.find(c));
        }
    }
    let unchanged = (previous.is_some() && any_unchanged).then_some(palette.len() as u8);
    let mut indices = Vec::with_capacity(rgb.len() / 3);
    let (mut last, mut last_index) = (EMPTY, 0u8);
    let mut lookup = |px: &[u8]| {
        let c = pack(px);
        if c != last {
            (last, last_index) = (c, table.get(c) as u8);
        }
        last_index
    };
    match (previous, unchanged) {
        (Some(previous), Some(same)) => {
            for (px, old) in rgb.chunks_exact(3).zip(previous.chunks_exact(3)) {
                indices.push(if px == old { same } else { lookup(px) });
            }
        }
        _ => indices.extend(rgb.chunks_exact(3).map(lookup)),
    }
    Indexed {
        palette: palette.into_iter().map(unpack).collect(),
        indices,
        exact,
        unchanged,
    }
}

/// The palette's order: most used first; equal counts by colour, so the
/// order is the pixels'. Each entry is `(colour, pixels)`.
/// Colours with their counts (at most 256), in [`index`]'s order: most
/// used first, equal counts by colour, unused ones left out. The palette,
/// and per former index its place in it.
fn order_by_use(colours: &[(u32, u32)]) -> (Vec<Rgb>, [u8; 256]) {
    let mut order: Vec<u8> = (0..colours.len())
        .filter(|&i| colours[i].1 > 0)
        .map(|i| i as u8)
        .collect();
    order.sort_unstable_by(|&a, &b| by_use(&colours[usize::from(a)], &colours[usize::from(b)]));
    let mut renumber = [0u8; 256];
    for (new, &old) in order.iter().enumerate() {
        renumber[usize::from(old)] = new as u8;
    }
    let palette = order
        .iter()
        .map(|&old| unpack(colours[usize::from(old)].0))
        .collect();
    (palette, renumber)
}

fn by_use(a: &(u32, u32), b: &(u32, u32)) -> std::cmp::Ordering {
    b.1.cmp(&a.1).then(a.0.cmp(&b.0))
}

/// [`index`] of a picture with at most `max_colours` (1..=256) colours, in
/// one pass over its pixels instead of two (counting, then looking up):
/// each colour gets a provisional index as it is first seen, and the
/// indices are renumbered (a byte a pixel) once the counts give the
/// palette's order. `None` as soon as the picture has more colours (then
/// [`index`] maps the rarer ones to the nearest kept). The result is
/// [`index_counted`]'s, byte for byte.
fn index_exact(rgb: &[u8], max_colours: usize) -> Option<Indexed> {
    debug_assert!((1..=256).contains(&max_colours));
    let mut table = ColourTable::new();
    // Per provisional index: its colour and how many pixels have it.
    let mut colours: Vec<(u32, u32)> = Vec::with_capacity(max_colours);
    let mut indices = Vec::with_capacity(rgb.len() / 3);
    let (mut last, mut last_index, mut run) = (EMPTY, 0u8, 0u32);
    for px in rgb.chunks_exact(3) {
        let c = pack(px);
        if c != last {
            if run > 0 {
                colours[usize::from(last_index)].1 += run;
            }
            let i = table.slot(c);
            if table.keys[i] == EMPTY {
                if colours.len() == max_colours {
                    return None;
                }
                table.add(c, colours.len() as u32);
                colours.push((c, 0));
            }
            (last, last_index, run) = (c, table.get(c) as u8, 0);
        }
        run += 1;
        indices.push(last_index);
    }
    if run > 0 {
        colours[usize::from(last_index)].1 += run;
    }
    let (palette, renumber) = order_by_use(&colours);
    for i in &mut indices {
        *i = renumber[usize::from(*i)];
    }
    Some(Indexed {
        palette,
        indices,
        exact: true,
        unchanged: None,
    })
}

/// A picture drawn straight into palette indices (a PNG screenshot's):
/// each colour gets the next index the first time it is drawn, so filling
/// and blending write a byte a pixel, and [`Paletted::palette`] is the
/// colours in the order they were first drawn (which the drawing decides,
/// so the same screen always has the same palette). Once a 257th colour is
/// drawn the picture cannot be one (it is [`Paletted::overflowed`]) and the
/// caller draws it in RGB instead.
pub(crate) struct Paletted {
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// One palette index per pixel, row-major.
    pub(crate) indices: Vec<u8>,
    /// The colour of each index.
    colours: Vec<u32>,
    table: ColourTable,
    overflowed: bool,
    /// The colour the last blend drew in, and per coverage value the last
    /// `(index under it + 1, index of the blend)`: a glyph's edge over its
    /// cell's background is a handful of lookups, not one per pixel.
    blend_colour: u32,
    blended: [(u16, u8); 256],
}

impl Paletted {
    /// A `width` × `height` picture in `colour`.
    pub(crate) fn filled(width: u32, height: u32, colour: Rgb) -> Paletted {
        let mut paletted = Paletted {
            width,
            height,
            // Zeroed memory: the pages are the kernel's zero pages until
            // drawn on.
            indices: vec![0; width as usize * height as usize],
            colours: Vec::with_capacity(256),
            table: ColourTable::new(),
            overflowed: false,
            blend_colour: EMPTY,
            blended: [(0, 0); 256],
        };
        paletted.index_of(colour);
        paletted
    }

    /// The colour of index `i`.
    fn colour(&self, i: u8) -> Rgb {
        unpack(self.colours[usize::from(i)])
    }

    /// `colour`'s index, given one if it is new.
    fn index_of(&mut self, colour: Rgb) -> u8 {
        let c = pack(&colour);
        let i = self.table.slot(c);
        if self.table.keys[i] != EMPTY {
            return self.table.values[i] as u8;
        }
        if self.colours.len() == 256 {
            self.overflowed = true;
            return 0;
        }
        let index = self.colours.len() as u32;
        self.table.add(c, index);
        self.colours.push(c);
        index as u8
    }

    /// The index of `colour` blended over index `under` at coverage `a`
    /// ([`crate::blend`]), remembered per coverage value for the colour of
    /// the bitmap being drawn (`blend_bitmap` forgets them when the colour
    /// changes).
    fn blended(&mut self, colour: Rgb, under: u8, a: u8) -> u8 {
        let (seen_under, index) = self.blended[usize::from(a)];
        if seen_under == u16::from(under) + 1 {
            return index;
        }
        let index = self.index_of(crate::blend(colour, self.colour(under), a));
        self.blended[usize::from(a)] = (u16::from(under) + 1, index);
        index
    }

    /// The colour of each index, in the order they were first drawn;
    /// `None` when the picture overflowed. Unlike [`index`], no counting
    /// pass orders it by use: a PNG's indices are labels, whose order
    /// changes neither its size nor its pixels, and leaving them as drawn
    /// spares a pass over the picture and a lookup per pixel. A colour drawn
    /// and then drawn over everywhere keeps its entry (3 bytes).
    pub(crate) fn palette(&self) -> Option<Vec<Rgb>> {
        (!self.overflowed).then(|| self.colours.iter().map(|&c| unpack(c)).collect())
    }
}

impl crate::Surface for Paletted {
    fn width(&self) -> u32 {
        self.width
    }

    fn fill_rect(&mut self, x: u32, y: u32, w: u32, h: u32, colour: Rgb) {
        let index = self.index_of(colour);
        let x_end = (x + w).min(self.width) as usize;
        let width = self.width as usize;
        for row in y as usize..(y + h).min(self.height) as usize {
            self.indices[row * width + x as usize..row * width + x_end].fill(index);
        }
    }

    fn blend_bitmap(&mut self, at: (i64, i64), size: (u32, u32), alpha: &[u8], colour: Rgb) {
        let Some((xs, ys)) = crate::clip(at, size, (self.width, self.height)) else {
            return;
        };
        let full = self.index_of(colour);
        // What `blended` remembers holds for one colour.
        let c = pack(&colour);
        if c != self.blend_colour {
            self.blend_colour = c;
            self.blended = [(0, 0); 256];
        }
        let (iw, bw) = (i64::from(self.width), i64::from(size.0));
        for y in ys {
            let src_start = ((y - at.1) * bw + (xs.start - at.0)) as usize;
            let len = (xs.end - xs.start) as usize;
            let dst_start = (y * iw + xs.start) as usize;
            for k in 0..len {
                match alpha[src_start + k] {
                    0 => {}
                    255 => self.indices[dst_start + k] = full,
                    a => {
                        let under = self.indices[dst_start + k];
                        self.indices[dst_start + k] = self.blended(colour, under, a);
                    }
                }
            }
        }
    }

    fn blend_colour_bitmap(&mut self, at: (i64, i64), size: (u32, u32), alpha: &[u8], rgb: &[u8]) {
        let Some((xs, ys)) = crate::clip(at, size, (self.width, self.height)) else {
            return;
        };
        let (iw, bw) = (i64::from(self.width), i64::from(size.0));
        for y in ys {
            for x in xs.clone() {
                let src = ((y - at.1) * bw + (x - at.0)) as usize;
                let dst = (y * iw + x) as usize;
                let under = self.colour(self.indices[dst]);
                let drawn = crate::blend_premultiplied(&rgb[src * 3..], under, alpha[src]);
                self.indices[dst] = self.index_of(drawn);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(colours: &[Rgb]) -> Vec<u8> {
        colours.iter().flatten().copied().collect()
    }

    #[test]
    fn few_colours_are_exact_and_most_used_first() {
        let (a, b, c) = ([1, 2, 3], [200, 0, 0], [0, 0, 255]);
        let rgb = image(&[a, a, b, a, c, c, a]);
        let ix = index(&rgb, None, 256);
        assert!(ix.exact);
        assert_eq!(ix.palette, vec![a, c, b]);
        assert_eq!(ix.indices, vec![0, 0, 2, 0, 1, 1, 0]);
        assert_eq!(ix.unchanged, None);
    }

    #[test]
    fn too_many_colours_keep_the_most_used_and_map_the_rest_to_the_nearest() {
        let mut pixels = vec![[0, 0, 0]; 10];
        pixels.extend([[255, 255, 255]; 5]);
        pixels.push([250, 250, 250]); // nearest to white
        pixels.push([10, 0, 5]); // nearest to black
        let ix = index(&image(&pixels), None, 2);
        assert!(!ix.exact);
        assert_eq!(ix.palette, vec![[0, 0, 0], [255, 255, 255]]);
        assert_eq!(&ix.indices[15..], &[1, 0]);
    }

    #[test]
    fn pixels_equal_to_the_previous_picture_are_left_to_it() {
        let (a, b) = ([9, 9, 9], [7, 7, 7]);
        let before = image(&[a, a, a, b]);
        let after = image(&[a, b, a, a]);
        let ix = index(&after, Some(&before), 255);
        // Only the two changed pixels are counted (once each: the darker
        // first).
        assert_eq!(ix.palette, vec![b, a]);
        assert_eq!(ix.unchanged, Some(2));
        assert_eq!(ix.indices, vec![2, 0, 2, 1]);
    }

    /// The pruned search finds what measuring against every colour finds.
    #[test]
    fn nearest_is_the_exhaustive_answer() {
        // A deterministic spread of colours (an LCG), not a tidy grid.
        let mut x = 12345u32;
        let mut next = || {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 8) & 0xff_ffff
        };
        let palette: Vec<u32> = (0..200).map(|_| next()).collect();
        let nearest = Nearest::new(&palette);
        for _ in 0..5000 {
            let c = next();
            let brute = (0..palette.len() as u32)
                .min_by_key(|&i| (distance(c, palette[i as usize]), i))
                .unwrap();
            assert_eq!(nearest.find(c), brute, "{c:06x}");
        }
    }

    /// The one-pass path gives the two-pass answer whenever the colours fit,
    /// and gives up when they do not.
    #[test]
    fn one_pass_indexing_is_the_two_pass_answer() {
        let (a, b, c) = ([1, 2, 3], [200, 0, 0], [0, 0, 255]);
        let rgb = image(&[a, a, b, a, c, c, a, b, b]);
        for max in [3, 256] {
            assert_eq!(index_exact(&rgb, max), Some(index_counted(&rgb, None, max)));
        }
        assert_eq!(index_exact(&rgb, 2), None);
        let many: Vec<Rgb> = (0..5000u32)
            .map(|i| [(i * 7 % 13) as u8, (i % 17) as u8, 9])
            .collect();
        let rgb = image(&many);
        let ix = index_counted(&rgb, None, 256);
        assert!(ix.exact && ix.palette.len() > 200);
        assert_eq!(index_exact(&rgb, 256), Some(ix));
        assert_eq!(
            index_exact(&image(&[a]), 1),
            Some(index_counted(&image(&[a]), None, 1))
        );
    }

    #[test]
    fn thousands_of_colours_grow_the_table_and_stay_deterministic() {
        let pixels: Vec<Rgb> = (0..70_000u32)
            .map(|i| [(i % 251) as u8, (i / 251 % 256) as u8, (i % 7) as u8])
            .collect();
        let rgb = image(&pixels);
        let ix = index(&rgb, None, 256);
        assert_eq!(ix.palette.len(), 256);
        assert_eq!(ix, index(&rgb, None, 256));
    }
}
