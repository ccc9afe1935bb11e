//! WebM video: the screen over time ([`super::frames`]) encoded as AV1 by
//! `rav1e` and muxed into WebM (Matroska) with `webm-iterable`. By default
//! rav1e is built without its assembly, so the build needs nothing but
//! cargo; the plugin's `asm` feature (needs `nasm`) turns it on: the same
//! bytes in ~40% of the CPU time (ADR 0025).
//!
//! The video is cut into two segments (`SEGMENTS`), each opened by a keyframe
//! and encoded by its own rav1e context on its own thread; the packets are
//! joined in order. rav1e's own threads only split a frame into tiles and
//! meet at the end of every frame, so two cores did 1.4 cores' work on a
//! scrolling Session; segments never wait for each other and need no tiles
//! (ADR 0020, amendment "WebM in segments"). Each segment's thread replays
//! and draws the video itself up to the end of its segment (drawing is ~1%
//! of the work) and encodes only its own frames, so no segment waits for
//! another's frames and memory holds one picture per segment, not the
//! video.
//!
//! Frames are stored only when the screen changed, each with its own
//! timestamp (a variable frame rate, which WebM allows), so a still terminal
//! costs nothing and the encoder's work follows the Session's activity, not
//! its length. Timing follows the `--timing` modes of agent-tty 0.5
//! (contract §6.2); the last frame is repeated at the end of its final hold
//! so players show the whole length, which `Info/Duration` also records.

use super::frames::{Canvas, Pacing, FRAME_INTERVAL_MS};
use super::{Events, Generated, LogFacts, VideoFacts};
use agent_tty_core::manifest::Manifest;
use agent_tty_render::look::Look;
use agent_tty_render::Image;
use rav1e::prelude::*;
use webm_iterable::matroska_spec::{Master, MatroskaSpec, SimpleBlock};
use webm_iterable::WebmWriter;

/// rav1e's fastest preset: terminal frames are flat colour and text, which
/// even the fastest settings code well, and a 60 s Session must encode in
/// well under 60 s on two cores.
const SPEED_PRESET: u8 = 10;

/// Constant quantizer (0 best … 255 worst): text stays crisp at this level.
/// (80 rather than 90 makes up most of what [`speed_settings`] lose: a
/// decoded frame is within a dB of the old settings' PSNR against the drawn
/// one.)
const QUANTIZER: usize = 80;

/// Segments a video is cut into, whatever the machine: the cut decides the
/// bytes, so it must not follow the core count (two machines with the same
/// build write the same file). Two keep two cores busy; four (measured:
/// ~10% more CPU for the same size and PSNR) would only help machines with
/// more cores.
const SEGMENTS: u64 = 2;

/// The fewest frames a segment gets (bar the last): each segment opens
/// with a keyframe, ~10 inter frames' bytes on a full terminal screen, so a
/// short video is not cut finer than this.
const MIN_SEGMENT_FRAMES: u64 = 50;

/// The longest a cluster may span: SimpleBlock times are 16-bit offsets
/// from their cluster's timestamp.
const MAX_CLUSTER_SPAN_MS: u64 = 30_000;

/// [`SPEED_PRESET`] and a little more, measured on `bench/capture.sh`'s
/// 60 s Session (an 80×24 screen scrolling every 100 ms), where these
/// together (with PSNR tuning and [`QUANTIZER`]) encode about 3× faster
/// than the preset alone did at quantizer 90, for ~30% more
/// bytes at the same legibility:
/// - rate estimated in the transform domain (the largest gain);
/// - no CDEF, a deringing filter for natural images that does little for
///   glyph edges at this quantizer;
/// - no scene-change detection: keyframes come from the fixed interval,
///   and a terminal "scene cut" (a cleared screen) codes cheaply anyway;
/// - an RDO lookahead of one frame: with low latency and transform-domain
///   distortion rav1e uses no lookahead for its decisions (the bytes are
///   the same as with the preset's 10), so holding 10 frames only cost
///   memory (~35 MB a segment).
fn speed_settings() -> SpeedSettings {
    let mut s = SpeedSettings::from_preset(SPEED_PRESET);
    s.transform.tx_domain_rate = true;
    s.cdef = false;
    s.scene_detection_mode = SceneDetectionSpeed::None;
    s.rdo_lookahead_frames = 1;
    s
}

fn fill_frame(frame: &mut rav1e::Frame<u8>, image: &Image, width: usize, height: usize) {
    let yuv = image.to_yuv420(width, height);
    let chroma_width = width.div_ceil(2);
    frame.planes[0].copy_from_raw_u8(&yuv.y, width, 1);
    frame.planes[1].copy_from_raw_u8(&yuv.u, chroma_width, 1);
    frame.planes[2].copy_from_raw_u8(&yuv.v, chroma_width, 1);
}

/// Where a video's frames go as they are drawn: each picture, its video
/// time and whether it is the closing repeat of the frame before.
type FrameSink<'a> = dyn FnMut(&Image, u64, bool) -> Result<(), String> + 'a;

/// A segment's sequence header and packets.
type EncodedSegment = (Vec<u8>, Encoded);

/// What a segment's drawing returns once it is past its last frame: the
/// rest of the video is other segments' work.
const PAST_THE_SEGMENT: &str = "past the segment";

/// Frames per segment: an upper bound on the video's frames shared evenly
/// among [`SEGMENTS`], so they take about as long. Frames are at least
/// [`FRAME_INTERVAL_MS`] of video time apart and one per event at most, so
/// the bound is exact for a Session writing at the frame rate or slower,
/// and a burst only makes the last segments shorter.
fn segment_frames(facts: &LogFacts, pacing: &Pacing) -> u64 {
    let by_time = pacing.video_ms(facts.duration_ms()) / FRAME_INTERVAL_MS + 2;
    let bound = facts.count.min(by_time);
    bound.div_ceil(SEGMENTS).max(MIN_SEGMENT_FRAMES)
}

/// Segment `index` of `segments`: `draw` replays the whole video, and
/// the frames numbered `index * per_segment` up to the next segment's first
/// go to a new encoder (so the segment opens with a keyframe), as does a
/// closing frame (`last`) following one of them. Drawing stops at the
/// first frame past the segment. `None` when no frame fell in it.
fn encode_segment<T>(
    width: usize,
    height: usize,
    index: u64,
    segments: u64,
    per_segment: u64,
    draw: &(impl Fn(&mut FrameSink) -> Result<T, String> + Sync),
) -> Result<(Option<T>, Option<EncodedSegment>), String> {
    let first = index * per_segment;
    let end = if index + 1 == segments {
        u64::MAX
    } else {
        first + per_segment
    };
    let mut encoder: Option<Encoder> = None;
    let mut next = 0u64;
    let mut past = false;
    let drawn = draw(&mut |image, at_ms, last| {
        // A closing frame belongs with the frame before it.
        let n = if last { next.saturating_sub(1) } else { next };
        if !last {
            next += 1;
        }
        if n >= end {
            past = true;
            return Err(PAST_THE_SEGMENT.into());
        }
        if n < first {
            return Ok(());
        }
        let encoder = match &mut encoder {
            Some(encoder) => encoder,
            None => encoder.insert(Encoder::new(width, height)?),
        };
        encoder.send(image, at_ms)
    });
    let drawn = match drawn {
        Ok(value) => Some(value),
        // Stopped on purpose (anything the log reader met after that is
        // the other segments' to report).
        Err(_) if past => None,
        Err(e) => return Err(e),
    };
    Ok((drawn, encoder.map(Encoder::finish).transpose()?))
}

/// Encoded frames and their times, in display order.
struct Encoded {
    packets: Vec<(u64, bool, Vec<u8>)>,
}

struct Encoder {
    ctx: Context<u8>,
    width: usize,
    height: usize,
    /// Video time of each frame sent, by input frame number.
    times: Vec<u64>,
    out: Encoded,
}

impl Encoder {
    fn new(width: usize, height: usize) -> Result<Encoder, String> {
        let enc = EncoderConfig {
            width,
            height,
            time_base: Rational::new(1, 1000),
            bit_depth: 8,
            chroma_sampling: ChromaSampling::Cs420,
            low_latency: true,
            quantizer: QUANTIZER,
            bitrate: 0,
            min_key_frame_interval: 12,
            max_key_frame_interval: 240,
            speed_settings: speed_settings(),
            // Rate-distortion by PSNR: the psychovisual tuning (the
            // default) costs time and is meant for camera footage, not for
            // flat colour and text.
            tune: Tune::Psnr,
            // One tile, one thread: the cores are shared out by segment
            // (see the module doc), and tiles cost bytes.
            tiles: 1,
            ..Default::default()
        };
        let ctx = Config::new()
            .with_encoder_config(enc)
            .with_threads(1)
            .new_context()
            .map_err(|e| format!("the AV1 encoder refused its settings: {e}"))?;
        Ok(Encoder {
            ctx,
            width,
            height,
            times: Vec::new(),
            out: Encoded {
                packets: Vec::new(),
            },
        })
    }

    fn send(&mut self, image: &Image, at_ms: u64) -> Result<(), String> {
        let mut frame = self.ctx.new_frame();
        fill_frame(&mut frame, image, self.width, self.height);
        self.times.push(at_ms);
        self.ctx
            .send_frame(frame)
            .map_err(|e| format!("the AV1 encoder failed: {e}"))?;
        self.drain()
    }

    fn drain(&mut self) -> Result<(), String> {
        loop {
            match self.ctx.receive_packet() {
                Ok(packet) => {
                    let at = self.times[packet.input_frameno as usize];
                    self.out
                        .packets
                        .push((at, packet.frame_type == FrameType::KEY, packet.data));
                }
                Err(EncoderStatus::Encoded) => continue,
                Err(EncoderStatus::NeedMoreData | EncoderStatus::LimitReached) => return Ok(()),
                Err(e) => return Err(format!("the AV1 encoder failed: {e}")),
            }
        }
    }

    fn finish(mut self) -> Result<EncodedSegment, String> {
        self.ctx.flush();
        self.drain()?;
        Ok((self.ctx.container_sequence_header(), self.out))
    }
}

fn mux(
    width: usize,
    height: usize,
    codec_private: Vec<u8>,
    encoded: &Encoded,
    duration_ms: u64,
) -> Result<Vec<u8>, String> {
    let mut w = WebmWriter::new(Vec::new());
    let err = |e: webm_iterable::errors::TagWriterError| {
        format!("writing the WebM container failed: {e}")
    };
    let tags = [
        MatroskaSpec::Ebml(Master::Start),
        MatroskaSpec::EbmlVersion(1),
        MatroskaSpec::EbmlReadVersion(1),
        MatroskaSpec::EbmlMaxIdLength(4),
        MatroskaSpec::EbmlMaxSizeLength(8),
        MatroskaSpec::DocType("webm".into()),
        MatroskaSpec::DocTypeVersion(4),
        MatroskaSpec::DocTypeReadVersion(2),
        MatroskaSpec::Ebml(Master::End),
        MatroskaSpec::Segment(Master::Start),
        MatroskaSpec::Info(Master::Start),
        MatroskaSpec::TimestampScale(1_000_000),
        MatroskaSpec::Duration(duration_ms as f64),
        MatroskaSpec::MuxingApp("agent-tty (webm-iterable)".into()),
        MatroskaSpec::WritingApp(format!("agent-tty {} (rav1e)", env!("CARGO_PKG_VERSION"))),
        MatroskaSpec::Info(Master::End),
        MatroskaSpec::Tracks(Master::Start),
        MatroskaSpec::TrackEntry(Master::Start),
        MatroskaSpec::TrackNumber(1),
        MatroskaSpec::TrackUID(1),
        MatroskaSpec::TrackType(1),
        MatroskaSpec::FlagLacing(0),
        MatroskaSpec::CodecID("V_AV1".into()),
        MatroskaSpec::CodecPrivate(codec_private),
        MatroskaSpec::Video(Master::Start),
        MatroskaSpec::PixelWidth(width as u64),
        MatroskaSpec::PixelHeight(height as u64),
        MatroskaSpec::Video(Master::End),
        MatroskaSpec::TrackEntry(Master::End),
        MatroskaSpec::Tracks(Master::End),
    ];
    for tag in &tags {
        w.write(tag).map_err(err)?;
    }
    let mut cluster_start: Option<u64> = None;
    for (at, key, data) in &encoded.packets {
        let new_cluster = match cluster_start {
            None => true,
            Some(start) => *key || at - start > MAX_CLUSTER_SPAN_MS,
        };
        if new_cluster {
            if cluster_start.is_some() {
                w.write(&MatroskaSpec::Cluster(Master::End)).map_err(err)?;
            }
            w.write(&MatroskaSpec::Cluster(Master::Start))
                .map_err(err)?;
            w.write(&MatroskaSpec::Timestamp(*at)).map_err(err)?;
            cluster_start = Some(*at);
        }
        let offset = (at - cluster_start.unwrap_or(0)) as i16;
        let block = SimpleBlock::new_uncheked(data, 1, offset, false, None, false, *key);
        w.write(&MatroskaSpec::from(block)).map_err(err)?;
    }
    if cluster_start.is_some() {
        w.write(&MatroskaSpec::Cluster(Master::End)).map_err(err)?;
    }
    w.write(&MatroskaSpec::Segment(Master::End)).map_err(err)?;
    w.into_inner().map_err(err)
}

/// The video `draw` makes (it calls its argument with each frame's
/// picture, video time and whether it is the closing repeat), cut into
/// `segments` of `per_segment` frames, each encoded on its own thread (see
/// [`encode_segment`]); `draw` runs once per segment. Returns what `draw`
/// returned, the sequence header and the packets in order.
fn encode_video<T: Send>(
    width: usize,
    height: usize,
    segments: u64,
    per_segment: u64,
    draw: impl Fn(&mut FrameSink) -> Result<T, String> + Sync,
) -> Result<(T, Vec<u8>, Encoded), String> {
    let done: Vec<_> = std::thread::scope(|scope| {
        let draw = &draw;
        let threads: Vec<_> = (0..segments)
            .map(|index| {
                scope.spawn(move || {
                    encode_segment(width, height, index, segments, per_segment, draw)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("an encoder thread panicked"))
            .collect()
    });
    let mut drawn: Option<T> = None;
    let mut codec_private: Option<Vec<u8>> = None;
    let mut encoded = Encoded {
        packets: Vec::new(),
    };
    for out in done {
        let (whole, part) = out?;
        if drawn.is_none() {
            drawn = whole;
        }
        let Some((header, part)) = part else { continue };
        // Every segment has the same settings, so the same header; the
        // container has room for one.
        if *codec_private.get_or_insert_with(|| header.clone()) != header {
            return Err("the AV1 encoder's segments disagree on the sequence header".into());
        }
        encoded.packets.extend(part.packets);
    }
    // The last segment always draws to the end.
    let drawn = drawn.ok_or("the video was never drawn to its end")?;
    let codec_private = codec_private.ok_or("the AV1 encoder returned no segment")?;
    Ok((drawn, codec_private, encoded))
}

/// The whole `.webm` for a Session's Event Log.
pub fn export(
    manifest: &Manifest,
    events: &(impl Events + Sync + ?Sized),
    facts: &LogFacts,
    look: &Look,
    pacing: &Pacing,
) -> Result<Generated, String> {
    if facts.count == 0 {
        return Err("the Event Log has no events to record".into());
    }
    let (image_w, image_h) = Canvas::new(manifest, events, facts, look).pixel_size()?;
    // 4:2:0 video wants even sizes; the extra row/column repeats the edge.
    let (width, height) = (
        (image_w as usize).next_multiple_of(2),
        (image_h as usize).next_multiple_of(2),
    );
    let per_segment = segment_frames(facts, pacing);
    let (total_ms, codec_private, encoded) =
        encode_video(width, height, SEGMENTS, per_segment, |send| {
            let mut canvas = Canvas::new(manifest, events, facts, look);
            let mut last_at: Option<u64> = None;
            let total_ms = canvas.draw_frames(pacing, |image, _, at_ms| {
                send(image, at_ms, false)?;
                last_at = Some(at_ms);
                Ok(())
            })?;
            // The last frame again at the very end, so the video lasts
            // through the final hold in every player.
            if let (Some(image), Some(at)) = (canvas.last_image(), last_at) {
                if total_ms > at {
                    send(image, total_ms, true)?;
                }
            }
            Ok(total_ms)
        })?;
    let bytes = mux(width, height, codec_private, &encoded, total_ms)?;

    // 0.5's WebM metadata, key for key.
    let metadata = VideoFacts { look, frames: None }.metadata(manifest, facts);
    Ok(Generated { bytes, metadata })
}

#[cfg(test)]
mod tests {
    use super::super::frames::Timing;
    use super::super::Format;
    use super::*;

    /// A 64×64 picture with bands that move with `n`, so every frame
    /// differs from the one before.
    fn picture(n: u64) -> Image {
        let (width, height) = (64u32, 64u32);
        let mut rgb = vec![20u8; (width * height * 3) as usize];
        for y in 0..height {
            if (y + n as u32 * 3) % 16 < 4 {
                for x in 0..width {
                    let i = ((y * width + x) * 3) as usize;
                    rgb[i..i + 3].copy_from_slice(&[200, (x * 4) as u8, 60]);
                }
            }
        }
        Image { width, height, rgb }
    }

    /// `frames` pictures 100 ms apart (and, with `closing`, the last one
    /// again at the end), encoded in `segments` of `per_segment`.
    fn encode(frames: u64, closing: bool, per_segment: u64, segments: u64) -> (Vec<u8>, Encoded) {
        let ((), header, encoded) = encode_video(64, 64, segments, per_segment, |send| {
            for n in 0..frames {
                send(&picture(n), n * 100, false)?;
            }
            if closing {
                send(&picture(frames - 1), frames * 100 + 1000, true)?;
            }
            Ok(())
        })
        .unwrap();
        (header, encoded)
    }

    fn keyframes(encoded: &Encoded) -> Vec<usize> {
        let packets = encoded.packets.iter().enumerate();
        packets.filter(|(_, p)| p.1).map(|(i, _)| i).collect()
    }

    #[test]
    fn segments_open_with_a_keyframe_in_order_and_the_bytes_are_the_same_every_time() {
        let (header, one) = encode(12, false, 5, 3);
        assert_eq!(keyframes(&one), [0, 5, 10]);
        let times: Vec<u64> = one.packets.iter().map(|p| p.0).collect();
        assert_eq!(times, (0..12).map(|n| n * 100).collect::<Vec<_>>());
        // The threads race; the bytes do not.
        for _ in 0..3 {
            let (other_header, other) = encode(12, false, 5, 3);
            assert_eq!(other_header, header);
            assert!(other.packets == one.packets);
        }
        // One segment: one keyframe, the same frames.
        let (_, whole) = encode(12, false, 5, 1);
        assert_eq!(keyframes(&whole), [0]);
        assert_eq!(whole.packets.len(), 12);
    }

    #[test]
    fn a_video_shorter_than_a_segment_leaves_the_next_one_empty() {
        let (_, encoded) = encode(4, true, 5, 2);
        assert_eq!(encoded.packets.len(), 5);
        assert_eq!(keyframes(&encoded), [0]);
        assert_eq!(encoded.packets[4].0, 1400);
        // Exactly a segment's frames: the closing one stays with them.
        let (_, encoded) = encode(5, true, 5, 2);
        assert_eq!(encoded.packets.len(), 6);
        assert_eq!(keyframes(&encoded), [0]);
        assert_eq!(encoded.packets[5].0, 1500);
    }

    #[test]
    fn the_closing_frame_stays_in_the_last_segment() {
        let (_, encoded) = encode(10, true, 5, 2);
        assert_eq!(encoded.packets.len(), 11);
        assert_eq!(keyframes(&encoded), [0, 5]);
        assert_eq!(encoded.packets[10].0, 2000);
    }

    #[test]
    fn segments_share_the_frame_bound_among_the_cores() {
        let pacing = Pacing::new(Format::Webm, Timing::Recorded, 1.0, None);
        let facts = |count, duration_ms| LogFacts {
            count,
            first_ms: Some(0),
            last_ms: Some(duration_ms),
            ..LogFacts::default()
        };
        // bench/capture.sh's 60 s Session: 601 outputs, a frame each.
        assert_eq!(segment_frames(&facts(601, 60_000), &pacing), 301);
        // A 10-minute one writing every second: 601 frames, not 12,002.
        assert_eq!(segment_frames(&facts(601, 600_000), &pacing), 301);
        // Its 52 MB burst: 14,002 writes in 5 s are 102 frames at most.
        assert_eq!(segment_frames(&facts(14_002, 5_000), &pacing), 51);
        // A short video is not cut finer than MIN_SEGMENT_FRAMES.
        assert_eq!(segment_frames(&facts(30, 3_000), &pacing), 50);
        // At 4× speed 60 s are 15 s of video: 302 frames at most.
        let fast = Pacing::new(Format::Webm, Timing::Recorded, 4.0, None);
        assert_eq!(segment_frames(&facts(14_002, 60_000), &fast), 151);
    }
}
