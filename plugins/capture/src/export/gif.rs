//! Animated GIF: the screen over time ([`super::frames`]), written to its
//! destination as it is made.
//!
//! Tuned for terminal pictures (few colours, large flat areas, small
//! changes between frames):
//! - only the rectangle that changed since the previous frame is stored,
//!   and inside it every pixel that did not change is transparent (the
//!   previous frame shows through, and runs of "unchanged" compress to
//!   almost nothing);
//! - glyph edges are drawn with 16 shades (`COVERAGE_LEVELS`), so a frame has
//!   few colours;
//! - each frame's palette is exact when the changed pixels have at most 255
//!   colours (the usual case), else their 255 most used colours with the
//!   rest drawn in the nearest of them ([`agent_tty_render::indexed`]); no
//!   dithering, no NeuQuant, so a frame costs a counting pass and a lookup
//!   pass, and the same screen gives the same bytes;
//! - the LZW compression, most of the work, runs on worker threads (one per
//!   spare core) while the next frame is drawn; frames are written in
//!   order, as soon as they are compressed and their delay is known.

use super::frames::{Canvas, Pacing};
use super::{Events, Failure, FrameFacts, LogFacts, VideoFacts};
use agent_tty_core::manifest::Manifest;
use agent_tty_render::look::Look;
use agent_tty_render::{indexed, Image, Rect};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// Coverage levels a GIF's glyph edges are drawn with (a screenshot's
/// choice for a screen of 16 text colours, ADR 0024): shades the eye does
/// not tell from the rasteriser's 256, but a scrolling screen's frames
/// come to at most 128 colours instead of ~460, so each frame's palette
/// holds them exactly (no nearest-colour mapping) and its LZW codes repeat
/// more: the bench's 60 s Session 14.5 → 11.6 MB (ADR 0020).
const COVERAGE_LEVELS: u32 = 16;

/// Frames waiting for a worker, per worker: enough to keep them busy while
/// bounding memory (a frame is at most the canvas, one byte a pixel).
const QUEUE_PER_WORKER: usize = 2;

/// The most pixels a GIF frame may have (16 Mi, e.g. 4096×4096). A GIF
/// export holds each frame about twice (the one drawn, in RGB, and the one
/// before it, to find what changed) plus its palette indices and the
/// frames queued for the workers: ~7 to 16 bytes a pixel, so at most
/// ~270 MB here, where a 1000×1000 Session at the default size (about 153
/// Mpx) took ~1.2 GB. That is about 450×240 cells at the default size,
/// bigger than any screen a person reads; beyond it the export is refused
/// before anything is drawn ([`check_size`]).
pub const MAX_GIF_PIXELS: u64 = 16 << 20;

/// Refuses a recording whose frames would have more than
/// [`MAX_GIF_PIXELS`], saying what to change.
pub fn check_size(manifest: &Manifest, facts: &LogFacts, look: &Look) -> Result<(), String> {
    let (cols, rows) = super::frames::canvas_size(manifest, facts);
    let (width, height) =
        agent_tty_render::Renderer::with_look(look.clone()).checked_image_size(cols, rows)?;
    if u64::from(width) * u64::from(height) <= MAX_GIF_PIXELS {
        return Ok(());
    }
    Err(format!(
        "a {cols}×{rows} screen at this font size and line height is {width}×{height} pixels, \
         more than the {} million a GIF frame may have; use a smaller --font-size or \
         --line-height, or --format asciicast",
        MAX_GIF_PIXELS / 1_000_000
    ))
}

fn encoding_failure(e: gif::EncodingError) -> Failure {
    match e {
        gif::EncodingError::Io(e) => Failure::Write(e),
        e => Failure::Log(format!("the GIF encoder refused a frame: {e}")),
    }
}

/// A frame's indices and palette, not yet compressed: `rect` of the canvas.
fn indexed_frame(image: &Image, previous: Option<&Image>, rect: Rect) -> gif::Frame<'static> {
    let pixels = image.crop(rect);
    let before = previous.map(|p| p.crop(rect));
    // One index is kept for "unchanged" when there is a previous frame.
    let max_colours = if before.is_some() { 255 } else { 256 };
    let ix = indexed::index(&pixels, before.as_deref(), max_colours);
    let mut palette: Vec<u8> = ix.palette.iter().flatten().copied().collect();
    if ix.unchanged.is_some() {
        // The transparent index needs an entry; its colour is never shown.
        palette.extend([0, 0, 0]);
    }
    gif::Frame {
        left: rect.0 as u16,
        top: rect.1 as u16,
        width: rect.2 as u16,
        height: rect.3 as u16,
        buffer: Cow::Owned(ix.indices),
        palette: Some(palette),
        transparent: ix.unchanged,
        dispose: gif::DisposalMethod::Keep,
        ..gif::Frame::default()
    }
}

/// GIF delays are in hundredths of a second. Each frame's delay is the
/// difference of rounded *times*, so rounding never adds up over a long
/// recording; frames are ≥ 50 ms apart, so none is under the 2 cs browsers
/// honour.
fn delay_cs(from_ms: u64, to_ms: u64) -> u16 {
    let cs = |ms: u64| (ms + 5) / 10;
    (cs(to_ms) - cs(from_ms)).clamp(2, u64::from(u16::MAX)) as u16
}

/// Compressed frames on their way to the file, in order: frame `n` is
/// written once it is compressed and frame `n + 1`'s time is known.
struct Writer<'w> {
    encoder: gif::Encoder<&'w mut dyn Write>,
    /// Compressed frames that came back early, by number.
    done: BTreeMap<u64, gif::Frame<'static>>,
    /// Video time of every frame sent, by number.
    times: Vec<u64>,
    /// The next frame to write.
    next: u64,
}

impl Writer<'_> {
    /// Writes every frame that can be: compressed, and its successor's time
    /// known (`total_ms` at the end, for the last frame).
    fn write_ready(&mut self, total_ms: Option<u64>) -> Result<(), Failure> {
        while let Some(mut frame) = self.done.remove(&self.next) {
            let n = self.next as usize;
            let until = match (self.times.get(n + 1), total_ms) {
                (Some(&t), _) | (None, Some(t)) => t,
                (None, None) => {
                    self.done.insert(self.next, frame);
                    return Ok(());
                }
            };
            frame.delay = delay_cs(self.times[n], until);
            self.encoder
                .write_lzw_pre_encoded_frame(&frame)
                .map_err(encoding_failure)?;
            self.next += 1;
        }
        Ok(())
    }
}

/// Writes the `.gif` for a Session's Event Log to `out`; returns the
/// result's `metadata`.
pub fn export(
    manifest: &Manifest,
    events: &(impl Events + ?Sized),
    facts: &LogFacts,
    look: &Look,
    pacing: &Pacing,
    out: &mut dyn Write,
) -> Result<Map<String, Value>, Failure> {
    if facts.count == 0 {
        return Err(Failure::Log(
            "the Event Log has no events to animate".into(),
        ));
    }
    let mut canvas = Canvas::new(manifest, events, facts, look);
    canvas.set_coverage_levels(COVERAGE_LEVELS);
    let (width, height) = canvas.pixel_size().map_err(Failure::Log)?;
    let too_large = || Failure::Log("the screen is too large for a GIF".into());
    let (w16, h16) = (
        u16::try_from(width).map_err(|_| too_large())?,
        u16::try_from(height).map_err(|_| too_large())?,
    );
    let mut encoder = gif::Encoder::new(out, w16, h16, &[]).map_err(encoding_failure)?;
    encoder
        .set_repeat(gif::Repeat::Infinite)
        .map_err(encoding_failure)?;
    let mut writer = Writer {
        encoder,
        done: BTreeMap::new(),
        times: Vec::new(),
        next: 0,
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get().saturating_sub(1))
        .clamp(1, 4);

    let (total_ms, frame_count) = std::thread::scope(|s| -> Result<(u64, u64), Failure> {
        let (to_workers, jobs) =
            mpsc::sync_channel::<(u64, gif::Frame<'static>)>(workers * QUEUE_PER_WORKER);
        let (to_writer, compressed) = mpsc::channel::<(u64, gif::Frame<'static>)>();
        let jobs = Arc::new(Mutex::new(jobs));
        for _ in 0..workers {
            let (jobs, to_writer) = (Arc::clone(&jobs), to_writer.clone());
            s.spawn(move || loop {
                // The lock is held only to take a job, not to compress it.
                let job = jobs.lock().map_or(None, |jobs| jobs.recv().ok());
                let Some((n, mut frame)) = job else { return };
                frame.make_lzw_pre_encoded();
                if to_writer.send((n, frame)).is_err() {
                    return;
                }
            });
        }
        drop(to_writer);

        let mut previous: Option<Image> = None;
        let mut write_failure: Option<Failure> = None;
        let drawn = canvas.draw_frames(pacing, |image, damage, at_ms| {
            let rect = match &previous {
                None => Some((0, 0, width, height)),
                Some(prev) => prev.changed_rect_within(image, damage.clone()),
            };
            let Some(rect) = rect else {
                return Ok(());
            };
            let frame = indexed_frame(image, previous.as_ref(), rect);
            let n = writer.times.len() as u64;
            writer.times.push(at_ms);
            // The worker threads end only when this sender is dropped, so
            // a failed send means one panicked: reported by the join.
            let _ = to_workers.send((n, frame));
            // Keep what the viewer now sees: only the redrawn rows changed.
            match &mut previous {
                Some(prev) => {
                    let stride = (width * 3) as usize;
                    let bytes = damage.start as usize * stride..damage.end as usize * stride;
                    prev.rgb[bytes.clone()].copy_from_slice(&image.rgb[bytes]);
                }
                None => previous = Some(image.clone()),
            }
            while let Ok((n, frame)) = compressed.try_recv() {
                writer.done.insert(n, frame);
            }
            writer.write_ready(None).map_err(|f| {
                let why = match &f {
                    Failure::Log(why) => why.clone(),
                    Failure::Write(e) => e.to_string(),
                };
                write_failure = Some(f);
                why
            })
        });
        drop(to_workers);
        if let Some(f) = write_failure {
            return Err(f);
        }
        let total_ms = drawn.map_err(Failure::Log)?;
        for (n, frame) in compressed.iter() {
            writer.done.insert(n, frame);
        }
        writer.write_ready(Some(total_ms))?;
        let sent = writer.times.len() as u64;
        if writer.next != sent {
            return Err(Failure::Log(format!(
                "the GIF encoder lost frames ({} of {sent} compressed)",
                writer.next
            )));
        }
        Ok((total_ms, sent))
    })?;
    writer.encoder.into_inner().map_err(Failure::Write)?;

    Ok(VideoFacts {
        look,
        frames: Some(FrameFacts {
            pixel_size: (width as usize, height as usize),
            frame_count,
            duration_ms: total_ms,
        }),
    }
    .metadata(manifest, facts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_follow_rounded_times_so_they_add_up() {
        // 33 ms apart: rounding each gap would lose 3 ms a frame.
        let times: Vec<u64> = (0..=30).map(|i| i * 33).collect();
        let total: u64 = times
            .windows(2)
            .map(|w| u64::from(delay_cs(w[0], w[1])))
            .sum();
        assert_eq!(total, (990 + 5) / 10);
        assert_eq!(delay_cs(0, 10), 2);
    }
}
