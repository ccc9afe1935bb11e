//! Animated GIF: the screen over time ([`super::frames`]), each frame
//! palette-quantised by the `gif` crate (NeuQuant), and only the rectangle
//! that changed since the previous frame stored, so a mostly still terminal
//! makes a small file.

use super::frames::{canvas_size, final_size, for_each_frame, Pacing};
use super::Generated;
use agent_tty_core::event_log::Event;
use agent_tty_core::manifest::Manifest;
use agent_tty_core::profile::RenderProfile;
use agent_tty_render::{render_profile_hash, Image, Renderer, Screen};
use serde_json::{json, Map};

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
    events: &[Event],
    profile: &'static RenderProfile,
    pacing: &Pacing,
) -> Result<Generated, String> {
    if events.is_empty() {
        return Err("the Event Log has no events to animate".into());
    }
    let (cols, rows) = canvas_size(manifest, events);
    let mut renderer = Renderer::new(profile);
    let (width, height) = renderer.image_size(cols, rows);
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
    let total_ms = for_each_frame(manifest, events, pacing, |frame| {
        let image = renderer.render_on_canvas(
            &Screen {
                cells: frame.cells,
                cursor: frame.cursor,
            },
            cols,
            rows,
        );
        let rect = match &previous {
            None => Some((0, 0, width, height)),
            Some(prev) => prev.changed_rect(&image),
        };
        let Some(rect) = rect else {
            return Ok(());
        };
        if let Some(p) = pending.take() {
            let mut f = p.frame;
            f.delay = delay_cs(frame.at_ms - p.at_ms);
            encoder.write_frame(&f).map_err(|e| e.to_string())?;
        }
        let pixels = image.crop(rect);
        let mut f =
            gif::Frame::from_rgb_speed(rect.2 as u16, rect.3 as u16, &pixels, QUANTIZE_SPEED);
        f.left = rect.0 as u16;
        f.top = rect.1 as u16;
        f.dispose = gif::DisposalMethod::Keep;
        pending = Some(Pending {
            frame: f,
            at_ms: frame.at_ms,
        });
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

    let mut metadata = Map::new();
    let (final_cols, final_rows) = final_size(manifest, events);
    metadata.insert("width".into(), json!(final_cols));
    metadata.insert("height".into(), json!(final_rows));
    metadata.insert("profileName".into(), json!(profile.name));
    metadata.insert("pixelWidth".into(), json!(width));
    metadata.insert("pixelHeight".into(), json!(height));
    metadata.insert("frameCount".into(), json!(frame_count));
    metadata.insert("videoDurationMs".into(), json!(total_ms));
    metadata.insert(
        "renderProfileHash".into(),
        json!(render_profile_hash(profile)),
    );
    metadata.insert(
        "rendererBackend".into(),
        json!(crate::screenshot::RENDERER_BACKEND),
    );
    add_event_counts(&mut metadata, events);
    Ok(Generated {
        bytes: out,
        metadata,
    })
}

/// `outputEventCount` and `resizeEventCount`, as 0.5's WebM metadata had.
pub(crate) fn add_event_counts(metadata: &mut Map<String, serde_json::Value>, events: &[Event]) {
    use agent_tty_core::event_log::EventBody;
    let outputs = events
        .iter()
        .filter(|e| matches!(e.body, EventBody::Output { .. }))
        .count();
    let resizes = events
        .iter()
        .filter(|e| matches!(e.body, EventBody::Resize { .. }))
        .count();
    metadata.insert("outputEventCount".into(), json!(outputs));
    metadata.insert("resizeEventCount".into(), json!(resizes));
}
