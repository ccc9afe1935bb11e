//! WebM video: the screen over time ([`super::frames`]) encoded as AV1 by
//! `rav1e` and muxed into WebM (Matroska) with `webm-iterable`. By default
//! rav1e is built without its assembly, so the build needs nothing but
//! cargo; the plugin's `asm` feature (needs `nasm`) turns it on: the same
//! bytes in ~40% of the CPU time (ADR 0025).
//!
//! Frames are stored only when the screen changed, each with its own
//! timestamp (a variable frame rate, which WebM allows), so a still terminal
//! costs nothing and the encoder's work follows the Session's activity, not
//! its length. Timing follows the `--timing` modes of agent-tty 0.5
//! (contract §6.2); the last frame is repeated at the end of its final hold
//! so players show the whole length, which `Info/Duration` also records.

use super::frames::{Canvas, Pacing};
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

/// Tiles per frame, encoded in parallel.
const TILES: usize = 4;

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
///   and a terminal "scene cut" (a cleared screen) codes cheaply anyway.
fn speed_settings() -> SpeedSettings {
    let mut s = SpeedSettings::from_preset(SPEED_PRESET);
    s.transform.tx_domain_rate = true;
    s.cdef = false;
    s.scene_detection_mode = SceneDetectionSpeed::None;
    s
}

fn fill_frame(frame: &mut rav1e::Frame<u8>, image: &Image, width: usize, height: usize) {
    let yuv = image.to_yuv420(width, height);
    let chroma_width = width.div_ceil(2);
    frame.planes[0].copy_from_raw_u8(&yuv.y, width, 1);
    frame.planes[1].copy_from_raw_u8(&yuv.u, chroma_width, 1);
    frame.planes[2].copy_from_raw_u8(&yuv.v, chroma_width, 1);
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
            // Frames come one at a time (low latency), so the encoder's
            // threads only help within a frame: split it into tiles.
            tiles: TILES,
            ..Default::default()
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let ctx = Config::new()
            .with_encoder_config(enc)
            .with_threads(threads)
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

    fn finish(mut self) -> Result<(Vec<u8>, Encoded), String> {
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

/// The whole `.webm` for a Session's Event Log.
pub fn export(
    manifest: &Manifest,
    events: &(impl Events + ?Sized),
    facts: &LogFacts,
    look: &Look,
    pacing: &Pacing,
) -> Result<Generated, String> {
    if facts.count == 0 {
        return Err("the Event Log has no events to record".into());
    }
    let mut canvas = Canvas::new(manifest, events, facts, look);
    let (image_w, image_h) = canvas.pixel_size()?;
    // 4:2:0 video wants even sizes; the extra row/column repeats the edge.
    let (width, height) = (
        (image_w as usize).next_multiple_of(2),
        (image_h as usize).next_multiple_of(2),
    );
    let mut encoder = Encoder::new(width, height)?;
    let mut last_at: Option<u64> = None;
    let total_ms = canvas.draw_frames(pacing, |image, _, at_ms| {
        encoder.send(image, at_ms)?;
        last_at = Some(at_ms);
        Ok(())
    })?;
    // The last frame again at the very end, so the video lasts through the
    // final hold in every player.
    if let (Some(image), Some(at)) = (canvas.last_image(), last_at) {
        if total_ms > at {
            encoder.send(image, total_ms)?;
        }
    }
    let (codec_private, encoded) = encoder.finish()?;
    let bytes = mux(width, height, codec_private, &encoded, total_ms)?;

    // 0.5's WebM metadata, key for key.
    let metadata = VideoFacts { look, frames: None }.metadata(manifest, facts);
    Ok(Generated { bytes, metadata })
}
