//! Animated GIF: the screen over time ([`super::frames`]), each frame
//! palette-quantised by the `gif` crate (NeuQuant), and only the rectangle
//! that changed since the previous frame stored, so a mostly still terminal
//! makes a small file.

use super::frames::{Canvas, Pacing};
use super::{Events, Generated, LogFacts, VideoFacts};
use agent_tty_core::manifest::Manifest;
use agent_tty_render::look::Look;
use agent_tty_render::Image;

/// NeuQuant's sampling factor (1 best … 30 fastest); 10 is the crate's
/// recommended balance.
const QUANTIZE_SPEED: i32 = 10;

/// A frame waiting for its delay, known once the next frame's time is.
struct Pending {
    frame: gif::Frame<'static>,
    at_ms: u64,
}

/// GIF delays are in hundredths of a second; browsers treat < 2 as 10.
fn delay_cs(ms: u64) -> u16 {
    ((ms + 5) / 10).clamp(2, u64::from(u16::MAX)) as u16
}

/// The whole `.gif` for a Session's Event Log.
pub fn export(
    manifest: &Manifest,
    events: &(impl Events + ?Sized),
    facts: &LogFacts,
    look: &Look,
    pacing: &Pacing,
) -> Result<Generated, String> {
    if facts.count == 0 {
        return Err("the Event Log has no events to animate".into());
    }
    let mut canvas = Canvas::new(manifest, events, facts, look);
    let (width, height) = canvas.pixel_size();
    let (w16, h16) = (
        u16::try_from(width).map_err(|_| "the screen is too large for a GIF".to_owned())?,
        u16::try_from(height).map_err(|_| "the screen is too large for a GIF".to_owned())?,
    );
    let mut out = Vec::new();
    let mut encoder = gif::Encoder::new(&mut out, w16, h16, &[]).map_err(|e| e.to_string())?;
    encoder
        .set_repeat(gif::Repeat::Infinite)
        .map_err(|e| e.to_string())?;

    let mut previous: Option<Image> = None;
    let mut pending: Option<Pending> = None;
    let mut frame_count = 0u64;
    let total_ms = canvas.draw_frames(pacing, |image, at_ms| {
        let rect = match &previous {
            None => Some((0, 0, width, height)),
            Some(prev) => prev.changed_rect(&image),
        };
        let Some(rect) = rect else {
            return Ok(());
        };
        if let Some(p) = pending.take() {
            let mut f = p.frame;
            f.delay = delay_cs(at_ms - p.at_ms);
            encoder.write_frame(&f).map_err(|e| e.to_string())?;
        }
        let pixels = image.crop(rect);
        let mut f =
            gif::Frame::from_rgb_speed(rect.2 as u16, rect.3 as u16, &pixels, QUANTIZE_SPEED);
        f.left = rect.0 as u16;
        f.top = rect.1 as u16;
        f.dispose = gif::DisposalMethod::Keep;
        pending = Some(Pending { frame: f, at_ms });
        previous = Some(image);
        frame_count += 1;
        Ok(())
    })?;
    if let Some(p) = pending.take() {
        let mut f = p.frame;
        f.delay = delay_cs(total_ms.saturating_sub(p.at_ms));
        encoder.write_frame(&f).map_err(|e| e.to_string())?;
    }
    drop(encoder);

    let metadata = VideoFacts {
        look,
        pixel_size: (width as usize, height as usize),
        codec: None,
        frame_count,
        duration_ms: total_ms,
    }
    .metadata(manifest, facts);
    Ok(Generated {
        bytes: out,
        metadata,
    })
}
