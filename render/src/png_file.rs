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

/// Each row of `indices` (`width` to a row) as a PNG stores it: its filter
/// byte (0, none), then its indices through `map`.
fn filtered_rows(indices: &[u8], (width, height): (u32, u32), map: impl Fn(u8) -> u8) -> Vec<u8> {
    let mut raw = Vec::with_capacity(indices.len() + height as usize);
    for row in indices.chunks_exact((width as usize).max(1)) {
        raw.push(0);
        raw.extend(row.iter().map(|&i| map(i)));
    }
    raw
}

/// [`encode`] on at most `threads` threads (the bytes do not depend on it).
pub(crate) fn encode_on(image: &Image, threads: usize) -> Vec<u8> {
    let ix = indexed::index(&image.rgb, None, 256);
    let size = (image.width, image.height);
    let raw = filtered_rows(&ix.indices, size, |i| i);
    write(size, &ix.palette, &raw, threads)
}

/// A picture drawn in palette indices as PNG bytes: [`encode`]'s bytes for
/// the same pixels. `None` when it has more than 256 colours.
pub(crate) fn encode_paletted(paletted: &Paletted) -> Option<Vec<u8>> {
    let (palette, renumber) = paletted.palette_by_use()?;
    let size = (paletted.width, paletted.height);
    let raw = filtered_rows(&paletted.indices, size, |i| renumber[usize::from(i)]);
    Some(write(size, &palette, &raw, cores()))
}

/// The PNG of `raw` (each row its filter byte, then its indices into
/// `palette`), compressed on at most `threads` threads.
fn write((width, height): (u32, u32), palette: &[Rgb], raw: &[u8], threads: usize) -> Vec<u8> {
    let band_len = (width as usize + 1) * BAND_ROWS;
    let bands: Vec<&[u8]> = raw.chunks(band_len).collect();
    let threads = threads.min(bands.len()).max(1);
    let last = bands.len().saturating_sub(1);
    let (compressed, adler) = std::thread::scope(|s| {
        let per_thread = bands.len().div_ceil(threads);
        let workers: Vec<_> = bands
            .chunks(per_thread.max(1))
            .enumerate()
            .map(|(t, group)| {
                s.spawn(move || {
                    group
                        .iter()
                        .enumerate()
                        .map(|(i, band)| deflate_band(band, t * per_thread + i == last))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let adler = adler2::adler32_slice(raw);
        let compressed: Vec<Vec<u8>> = workers
            .into_iter()
            .flat_map(|w| w.join().expect("deflate does not panic"))
            .collect();
        (compressed, adler)
    });

    let idat_len = 2 + compressed.iter().map(Vec::len).sum::<usize>() + 4;
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
    pieces.extend(compressed.iter().map(Vec::as_slice));
    let adler = adler.to_be_bytes();
    pieces.push(&adler);
    chunk(&mut out, b"IDAT", &pieces);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// `band` as raw deflate: the last band ends the stream, the others end
/// with a sync flush (an empty stored block) so the next can follow.
fn deflate_band(band: &[u8], last: bool) -> Vec<u8> {
    let flags = create_comp_flags_from_zip_params(LEVEL, 0, 0);
    let mut compressor = CompressorOxide::new(flags);
    let mut out = Vec::with_capacity(band.len() / 4);
    let flush = if last {
        TDEFLFlush::Finish
    } else {
        TDEFLFlush::Sync
    };
    let mut input = band;
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
    out
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
