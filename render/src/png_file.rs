//! A screen as a PNG file: small, quick to make, the same bytes every time.
//!
//! - **Palette PNG.** The pixels become indices into at most 256 colours
//!   ([`crate::indexed`]): exact when the screen has that few, else its 256
//!   most used colours with the rarer anti-aliased shades drawn in the
//!   nearest of them. One byte a pixel instead of three is a third of the
//!   data to compress, and rows of text compress far better as indices.
//!   A screenshot whose colours fit is drawn straight into indices
//!   ([`encode_paletted`]; no RGB picture to fill and index), its palette in
//!   the order the colours were drawn: the same pixels as indexing its RGB,
//!   in other labels.
//! - **No row filter.** Filters predict a byte from its neighbours; that
//!   helps photographs, not indices, whose neighbours' *values* mean
//!   nothing (and deflate already finds the repeated rows).
//! - **zlib-rs at level 3 on both cores.** The rows are cut into fixed
//!   bands of [`BAND_ROWS`] rows, each compressed on its own (ending on a
//!   byte boundary, so the pieces concatenate into one deflate stream) on as
//!   many threads as there are cores. The bands depend only on the image,
//!   never on the thread count, so every machine writes the same bytes (the
//!   compressor's SIMD paths only find the same matches faster). zlib-rs
//!   (a port of zlib-ng) at level 3 is measured (ADR 0024's last
//!   amendment): on a 200×60 screen of text in 256 colours it is 7% smaller
//!   than miniz_oxide's level 2, which this replaced, in ~35% less time, and
//!   as small in 16 colours in half the time; its level 2 is ~4% larger
//!   than miniz_oxide's level 2, its level 1 (static codes) 70% larger.

use crate::indexed::{self, Paletted};
use crate::Image;
use agent_tty_core::parallel::map_in_order_with;
use agent_tty_term::profile::Rgb;
use zlib_rs::adler32::{adler32, adler32_combine};
use zlib_rs::{Deflate, DeflateFlush, Status};

/// Rows per independently compressed band: large enough that losing the
/// matches across a band's start costs nothing measurable (~230 KB of
/// indices at 200 columns), small enough to share among two cores.
pub(crate) const BAND_ROWS: usize = 128;

/// The deflate level; see the module's notes.
const LEVEL: i32 = 3;

/// One thread's compressor, and the buffers it works in, reused for every
/// band the thread takes: zlib-rs's tables (~330 KB, zeroed when made) are
/// made once per thread, not once per band, and their pages faulted in
/// once.
struct Band {
    compressor: Deflate,
    /// What the compressor writes, before it is appended to a band's bytes.
    out: Vec<u8>,
}

impl Band {
    /// Raw deflate (the zlib header and checksum are written by [`write`],
    /// once for all bands) with zlib's largest window, 32 KB.
    fn compressor() -> Band {
        Band {
            compressor: Deflate::new(LEVEL, false, 15),
            out: vec![0; 16 * 1024],
        }
    }

    /// The rows of `band` (`row_len` indices each) as a PNG stores them,
    /// each after its filter byte (0, none), as raw deflate, and their
    /// Adler-32. The filter byte and the row are fed to the compressor one
    /// after the other (it copies its input into its window anyway: no
    /// filtered copy of the picture to make and fault in); the last band
    /// ends the stream, the others end with a sync flush (an empty stored
    /// block) so the next can follow.
    fn deflate(&mut self, band: &[u8], row_len: usize, last: bool) -> (Vec<u8>, u32) {
        self.compressor.reset();
        let mut bytes = Vec::with_capacity(band.len() / 4);
        let mut adler = 1;
        for row in band.chunks(row_len) {
            for piece in [&[0][..], row] {
                adler = adler32(adler, piece);
                self.compress(piece, &mut bytes, DeflateFlush::NoFlush);
            }
        }
        let flush = if last {
            DeflateFlush::Finish
        } else {
            DeflateFlush::SyncFlush
        };
        self.compress(&[], &mut bytes, flush);
        (bytes, adler)
    }

    /// Compresses `input` onto the end of `bytes` with `flush`
    /// ([`DeflateFlush::SyncFlush`] and [`DeflateFlush::Finish`] put every
    /// compressed byte so far on `bytes`).
    fn compress(&mut self, mut input: &[u8], bytes: &mut Vec<u8>, flush: DeflateFlush) {
        loop {
            let (in_before, out_before) = (self.compressor.total_in(), self.compressor.total_out());
            let status = self
                .compressor
                .compress(input, &mut self.out, flush)
                // Compressing from memory into memory has no way to fail.
                .unwrap_or_else(|e| unreachable!("deflate into memory failed: {e:?}"));
            let used = (self.compressor.total_in() - in_before) as usize;
            let written = (self.compressor.total_out() - out_before) as usize;
            bytes.extend_from_slice(&self.out[..written]);
            input = &input[used..];
            // zlib's rule: a call is complete once it has taken all input
            // without filling the output.
            if status == Status::StreamEnd || (input.is_empty() && written < self.out.len()) {
                break;
            }
        }
    }
}

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
    write(
        (image.width, image.height),
        &ix.palette,
        &ix.indices,
        threads,
    )
}

/// A picture drawn in palette indices as PNG bytes: [`encode`]'s pixels,
/// its palette in drawing order. `None` when it has more than 256 colours.
pub(crate) fn encode_paletted(paletted: &Paletted) -> Option<Vec<u8>> {
    let palette = paletted.palette()?;
    let size = (paletted.width, paletted.height);
    Some(write(size, &palette, &paletted.indices, cores()))
}

/// The PNG of `indices` (`width` to a row) into `palette`, its bands
/// compressed on at most `threads`
/// threads, the calling one included, each taking the next band not yet
/// taken ([`map_in_order_with`]), so a thread held up by the rest of the
/// machine takes fewer (the bytes are the same whoever compresses a band,
/// and whatever its compressor compressed before).
fn write((width, height): (u32, u32), palette: &[Rgb], indices: &[u8], threads: usize) -> Vec<u8> {
    let row_len = (width as usize).max(1);
    let bands: Vec<&[u8]> = indices.chunks(row_len * BAND_ROWS).collect();
    let numbered: Vec<(usize, &[u8])> = bands.iter().copied().enumerate().collect();
    let last = bands.len().saturating_sub(1);
    let compressed: Vec<(Vec<u8>, u32)> = map_in_order_with(
        &numbered,
        1,
        threads,
        Band::compressor,
        |compressor, &(i, band)| compressor.deflate(band, row_len, i == last),
    );
    // The Adler-32 of all rows, from each band's.
    let adler = compressed
        .iter()
        .zip(&bands)
        .fold(1, |sum, ((_, band_sum), band)| {
            adler32_combine(sum, *band_sum, (band.len() + band.len() / row_len) as u64)
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

    /// A band's rows with their filter bytes, compressed in one call by a
    /// new compressor: what a thread's compressor, fed row by row after
    /// other bands, must give, byte for byte.
    fn deflate_whole(band: &[u8], row_len: usize, last: bool) -> Vec<u8> {
        let raw = stored(band, row_len);
        let flush = if last {
            DeflateFlush::Finish
        } else {
            DeflateFlush::SyncFlush
        };
        let mut out = vec![0; raw.len() + 1024];
        let mut compressor = Deflate::new(LEVEL, false, 15);
        let status = compressor.compress(&raw, &mut out, flush).unwrap();
        assert_eq!(compressor.total_in() as usize, raw.len());
        assert!(matches!(status, Status::Ok | Status::StreamEnd));
        out.truncate(compressor.total_out() as usize);
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
        // One compressor for every band, as a thread has.
        let mut thread = Band::compressor();
        for row_len in [1, 5, 300, 1816] {
            let band = &pixels[..pixels.len() / row_len * row_len];
            for last in [false, true] {
                let (bytes, adler) = thread.deflate(band, row_len, last);
                assert!(bytes == deflate_whole(band, row_len, last), "{row_len}");
                assert_eq!(adler, adler32(1, &stored(band, row_len)));
            }
        }
    }

    /// The bands joined are one zlib stream whose checksum (the bands'
    /// Adler-32s combined) a strict decoder accepts, whatever the thread
    /// count.
    #[test]
    fn bands_join_into_one_checked_zlib_stream() {
        let (width, height) = (300u32, 3 * BAND_ROWS as u32 + 5);
        let pixels: Vec<u8> = (0..width * height)
            .map(|i| (i * 31 % 251 / 40) as u8)
            .collect();
        let palette = [[0, 0, 0]; 7];
        let one = write((width, height), &palette, &pixels, 1);
        assert_eq!(one, write((width, height), &palette, &pixels, 4));
        // The IDAT chunk's data: after the signature, IHDR (25 bytes) and
        // PLTE (12 + 21 bytes) come its length and type.
        let at = 8 + 25 + 12 + 3 * palette.len();
        let len = u32::from_be_bytes(one[at..at + 4].try_into().unwrap()) as usize;
        assert_eq!(&one[at + 4..at + 8], b"IDAT");
        let zlib = &one[at + 8..at + 8 + len];
        let mut raw = vec![0; pixels.len() + height as usize + 1];
        let (rows, code) = zlib_rs::decompress_slice(&mut raw, zlib, Default::default());
        assert_eq!(code, zlib_rs::ReturnCode::Ok);
        assert!(rows == stored(&pixels, width as usize));
    }
}
