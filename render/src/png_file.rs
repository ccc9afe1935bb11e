//! A screen as a PNG file: small, quick to make, the same bytes every time.
//!
//! - **Palette PNG.** The pixels become indices into at most 256 colours
//!   ([`crate::indexed`]): exact when the screen has that few, else its 256
//!   most used colours with the rarer anti-aliased shades drawn in the
//!   nearest of them. One byte a pixel instead of three is a third of the
//!   data to compress, and rows of text compress far better as indices.
//!   A screenshot whose colours fit is drawn straight into indices
//!   ([`encode_paletted`]; no RGB picture to fill and index), with the
//!   same bytes as indexing its RGB.
//! - **No row filter.** Filters predict a byte from its neighbours; that
//!   helps photographs, not indices, whose neighbours' *values* mean
//!   nothing (and deflate already finds the repeated rows).
//! - **Deflate level 2 on both cores.** The rows are cut into fixed bands
//!   of [`BAND_ROWS`] rows, each compressed on its own (ending on a byte
//!   boundary, so the pieces concatenate into one deflate stream) on as many
//!   threads as there are cores. The bands depend only on the image, never
//!   on the thread count, so every machine writes the same bytes. Level 2
//!   is measured: on a 200×60 screen of text in 256 colours it is ~12%
//!   smaller than level 1 and close to level 6 (≤ 5% larger) at a fraction
//!   of its time; fdeflate (the `png` crate's fast mode) is ~50% larger.

use crate::indexed::{self, Paletted};
use crate::Image;
use agent_tty_core::parallel::map_in_order;
use agent_tty_term::profile::Rgb;
use miniz_oxide::deflate::core::{
    compress_to_output, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush, TDEFLStatus,
};

/// Rows per independently compressed band: large enough that losing the
/// matches across a band's start costs nothing measurable (~230 KB of
/// indices at 200 columns), small enough to share among two cores.
pub(crate) const BAND_ROWS: usize = 128;

/// The deflate level; see the module's notes.
const LEVEL: i32 = 2;

/// The image as PNG bytes: 8-bit palette, no interlacing.
pub(crate) fn encode(image: &Image) -> Vec<u8> {
    encode_on(image, cores())
}

/// The threads a PNG is compressed on: every core.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// [`encode`] on at most `threads` threads (the bytes do not depend on it).
pub(crate) fn encode_on(image: &Image, threads: usize) -> Vec<u8> {
    let ix = indexed::index(&image.rgb, None, 256);
    let same: [u8; 256] = std::array::from_fn(|i| i as u8);
    let size = (image.width, image.height);
    write(size, &ix.palette, &ix.indices, &same, threads)
}

/// A picture drawn in palette indices as PNG bytes: [`encode`]'s bytes for
/// the same pixels. `None` when it has more than 256 colours.
pub(crate) fn encode_paletted(paletted: &Paletted) -> Option<Vec<u8>> {
    let (palette, renumber) = paletted.palette_by_use()?;
    let size = (paletted.width, paletted.height);
    Some(write(size, &palette, &paletted.indices, &renumber, cores()))
}

/// The PNG of `indices` (`width` to a row; index `i` stored as
/// `renumber[i]` of `palette`), its bands compressed on at most `threads`
/// threads, the calling one included, each taking the next band not yet
/// taken ([`map_in_order`]), so a thread held up by the rest of the machine
/// takes fewer (the bytes are the same whoever compresses a band).
fn write(
    (width, height): (u32, u32),
    palette: &[Rgb],
    indices: &[u8],
    renumber: &[u8; 256],
    threads: usize,
) -> Vec<u8> {
    let row_len = (width as usize).max(1);
    let bands: Vec<&[u8]> = indices.chunks(row_len * BAND_ROWS).collect();
    let numbered: Vec<(usize, &[u8])> = bands.iter().copied().enumerate().collect();
    let last = bands.len().saturating_sub(1);
    let compressed: Vec<(Vec<u8>, u32)> = map_in_order(&numbered, 1, threads, |&(i, band)| {
        deflate_band(band, row_len, renumber, i == last)
    });
    // The Adler-32 of all rows, from each band's.
    let adler = compressed
        .iter()
        .zip(&bands)
        .fold(1, |sum, ((_, band_sum), band)| {
            adler32_concat(sum, *band_sum, band.len() + band.len() / row_len)
        });

    let idat_len = 2 + compressed.iter().map(|(c, _)| c.len()).sum::<usize>() + 4;
    let mut out = Vec::with_capacity(idat_len + 1024);
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // 8 bits, colour type 3 (palette), deflate, adaptive filtering (the
    // only method), not interlaced.
    ihdr.extend_from_slice(&[8, 3, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &[&ihdr]);
    let palette: Vec<u8> = palette.iter().flatten().copied().collect();
    chunk(&mut out, b"PLTE", &[&palette]);
    // A zlib stream: header (deflate, 32 KB window, no dictionary; 0x7801
    // is a multiple of 31 as the format asks), the bands, the Adler-32 of
    // the uncompressed rows.
    let mut pieces: Vec<&[u8]> = vec![&[0x78, 0x01]];
    pieces.extend(compressed.iter().map(|(c, _)| c.as_slice()));
    let adler = adler.to_be_bytes();
    pieces.push(&adler);
    chunk(&mut out, b"IDAT", &pieces);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// The rows of `band` (`row_len` indices each, renumbered) as a PNG stores
/// them, each after its filter byte (0, none), as raw deflate, and their
/// Adler-32. Each row is made in a buffer of one row and fed to the
/// compressor (no filtered copy of the picture to fault in, and the
/// renumbering shared among the threads); the last band ends the stream,
/// the others end with a sync flush (an empty stored block) so the next
/// can follow.
fn deflate_band(band: &[u8], row_len: usize, renumber: &[u8; 256], last: bool) -> (Vec<u8>, u32) {
    let flags = create_comp_flags_from_zip_params(LEVEL, 0, 0);
    let mut compressor = CompressorOxide::new(flags);
    let mut out = Vec::with_capacity(band.len() / 4);
    let mut adler = adler2::Adler32::new();
    let mut feed = |input: &[u8], flush: TDEFLFlush| {
        let mut input = input;
        loop {
            let (status, used) = compress_to_output(&mut compressor, input, flush, |bytes| {
                out.extend_from_slice(bytes);
                true
            });
            input = &input[used..];
            match status {
                TDEFLStatus::Done => break,
                TDEFLStatus::Okay if input.is_empty() => break,
                TDEFLStatus::Okay => {}
                // Compressing into a Vec has no way to fail.
                _ => unreachable!("deflate into memory failed: {status:?}"),
            }
        }
    };
    let mut stored = Vec::with_capacity(row_len + 1);
    for row in band.chunks(row_len) {
        stored.clear();
        stored.push(0);
        stored.extend(row.iter().map(|&i| renumber[usize::from(i)]));
        adler.write_slice(&stored);
        feed(&stored, TDEFLFlush::None);
    }
    feed(
        &[],
        if last {
            TDEFLFlush::Finish
        } else {
            TDEFLFlush::Sync
        },
    );
    (out, adler.checksum())
}

/// The Adler-32 of some bytes whose Adler-32 is `first` followed by
/// `len` bytes whose Adler-32 is `then` (as zlib's `adler32_combine`): the
/// bands' sums make the stream's without reading the rows again.
fn adler32_concat(first: u32, then: u32, len: usize) -> u32 {
    const MOD: u64 = 65521;
    let (a1, b1) = (u64::from(first & 0xffff), u64::from(first >> 16));
    let (a2, b2) = (u64::from(then & 0xffff), u64::from(then >> 16));
    let n = len as u64 % MOD;
    // Appending n bytes adds their sum to a, and to b their own b plus n
    // times the a they start from (less the n ones each a starts with).
    let a = (a1 + a2 + MOD - 1) % MOD;
    let b = (b1 + b2 + n * a1 + MOD - n) % MOD;
    (b << 16 | a) as u32
}

/// Appends a PNG chunk: length, type, data (given in pieces), CRC-32 of
/// type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[&[u8]]) {
    let len: usize = data.iter().map(|d| d.len()).sum();
    out.extend_from_slice(&(len as u32).to_be_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    out.extend_from_slice(kind);
    for d in data {
        crc.update(d);
        out.extend_from_slice(d);
    }
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `band`'s rows (`row_len` each), each after its filter byte.
    fn stored(band: &[u8], row_len: usize) -> Vec<u8> {
        let mut raw = Vec::new();
        for row in band.chunks(row_len) {
            raw.push(0);
            raw.extend_from_slice(row);
        }
        raw
    }

    /// A band's rows with their filter bytes, compressed in one call: what
    /// feeding the compressor row by row must give, byte for byte.
    fn deflate_whole(band: &[u8], row_len: usize, last: bool) -> Vec<u8> {
        let raw = stored(band, row_len);
        let flags = create_comp_flags_from_zip_params(LEVEL, 0, 0);
        let mut compressor = CompressorOxide::new(flags);
        let flush = if last {
            TDEFLFlush::Finish
        } else {
            TDEFLFlush::Sync
        };
        let mut out = Vec::new();
        let (status, used) = compress_to_output(&mut compressor, &raw, flush, |bytes| {
            out.extend_from_slice(bytes);
            true
        });
        assert_eq!(used, raw.len());
        assert!(matches!(status, TDEFLStatus::Done | TDEFLStatus::Okay));
        out
    }

    #[test]
    fn rows_fed_one_by_one_compress_as_the_whole_band() {
        // Runs, repeats and noise (an LCG), in rows of several widths.
        let mut x = 7u32;
        let pixels: Vec<u8> = (0..300_000u32)
            .map(|i| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                match i / 1000 % 3 {
                    0 => 0,
                    1 => (i % 17) as u8,
                    _ => (x >> 24) as u8,
                }
            })
            .collect();
        let same: [u8; 256] = std::array::from_fn(|i| i as u8);
        let reversed: [u8; 256] = std::array::from_fn(|i| 255 - i as u8);
        for row_len in [1, 5, 300, 1816] {
            let band = &pixels[..pixels.len() / row_len * row_len];
            for last in [false, true] {
                let (bytes, adler) = deflate_band(band, row_len, &same, last);
                assert!(bytes == deflate_whole(band, row_len, last), "{row_len}");
                assert_eq!(adler, adler2::adler32_slice(&stored(band, row_len)));
                // Renumbered as it goes: the bytes of renumbering first.
                let renumbered: Vec<u8> = band.iter().map(|&i| reversed[usize::from(i)]).collect();
                let (bytes, _) = deflate_band(band, row_len, &reversed, last);
                assert!(
                    bytes == deflate_whole(&renumbered, row_len, last),
                    "{row_len}"
                );
            }
        }
    }

    #[test]
    fn adler32_of_pieces_is_that_of_the_whole() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 251) as u8).collect();
        for cut in [0, 1, 5_000, 65_521, 131_042, 199_999, 200_000] {
            let (a, b) = data.split_at(cut);
            assert_eq!(
                adler32_concat(adler2::adler32_slice(a), adler2::adler32_slice(b), b.len()),
                adler2::adler32_slice(&data),
                "cut at {cut}"
            );
        }
    }
}
