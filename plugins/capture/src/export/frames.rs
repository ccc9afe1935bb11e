//! The screen over time: which frames a GIF or video shows, and when.
//!
//! The Event Log is replayed through the screen engine; a frame is taken
//! only when the screen (cells or cursor) changed, so an idle terminal costs
//! nothing. Event times are mapped to video time by a [`Pacing`]:
//!
//! | timing (`--timing`) | gap between two screen changes | min hold | final hold |
//! |---|---|---|---|
//! | `recorded` (default) | the real gap | 16 ms | 1000 ms |
//! | `accelerated` | min(gap, 400 ms) | 100 ms | 1000 ms |
//! | `max-speed` | 0 | 16 ms | 500 ms |
//!
//! (agent-tty 0.5's WebM modes, contract §6.2). GIFs also cap every idle
//! gap at [`GIF_IDLE_CAP_MS`], so a recording with a long pause stays short
//! to watch. `--speed X` divides the gaps. Changes closer together than
//! [`FRAME_INTERVAL_MS`] (the frame-rate cap) are merged into one frame.

use super::{event_ms, Events, Format, LogFacts};
use agent_tty_core::event_log::{Event, EventBody};
use agent_tty_core::manifest::Manifest;
use agent_tty_core::screen::{CellRows, ScreenReplay, MAX_COLS, MAX_ROWS};
use agent_tty_render::look::Look;
use agent_tty_render::{Image, Renderer, Screen};

/// The longest pause a GIF shows, in ms.
pub const GIF_IDLE_CAP_MS: u64 = 2000;

/// Changes closer than this (ms) are merged into one frame: 20 frames a
/// second. Browsers show GIF delays under 20 ms as 100 ms, so a GIF never
/// asks for less than this; for video it is smooth for a terminal and keeps
/// the encoder well ahead of real time on a small machine.
pub const FRAME_INTERVAL_MS: u64 = 50;

/// `--timing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Real gaps.
    Recorded,
    /// Gaps capped at 400 ms.
    Accelerated,
    /// No gaps.
    MaxSpeed,
}

impl Timing {
    /// Parses `recorded`, `accelerated` or `max-speed`.
    pub fn parse(s: &str) -> Option<Timing> {
        match s {
            "recorded" => Some(Timing::Recorded),
            "accelerated" => Some(Timing::Accelerated),
            "max-speed" => Some(Timing::MaxSpeed),
            _ => None,
        }
    }
    /// The `--timing` spelling.
    pub fn name(self) -> &'static str {
        match self {
            Timing::Recorded => "recorded",
            Timing::Accelerated => "accelerated",
            Timing::MaxSpeed => "max-speed",
        }
    }
}

/// How event times become video times.
#[derive(Debug, Clone)]
pub struct Pacing {
    /// Longest gap shown (`None`: uncapped).
    pub cap_ms: Option<u64>,
    /// Gaps count as 0 (max-speed).
    pub zero_gaps: bool,
    /// Each screen change is shown at least this long.
    pub min_hold_ms: u64,
    /// The last frame is held this long.
    pub final_hold_ms: u64,
    /// Gaps are divided by this.
    pub speed: f64,
}

impl Pacing {
    /// The pacing of `format` under `timing` and `--speed`.
    pub fn new(format: Format, timing: Timing, speed: f64) -> Pacing {
        let (cap, zero, min_hold, final_hold) = match timing {
            Timing::Recorded => (None, false, 16, 1000),
            Timing::Accelerated => (Some(400), false, 100, 1000),
            Timing::MaxSpeed => (None, true, 16, 500),
        };
        let cap = match format {
            Format::Gif => Some(cap.unwrap_or(GIF_IDLE_CAP_MS).min(GIF_IDLE_CAP_MS)),
            _ => cap,
        };
        Pacing {
            cap_ms: cap,
            zero_gaps: zero,
            min_hold_ms: min_hold,
            final_hold_ms: final_hold,
            speed,
        }
    }

    /// The video-time gap for a real gap of `real_ms` between two screen
    /// changes.
    pub fn gap(&self, real_ms: u64) -> u64 {
        let shown = if self.zero_gaps {
            0
        } else {
            self.cap_ms.map_or(real_ms, |cap| real_ms.min(cap))
        };
        ((shown as f64 / self.speed).round() as u64).max(self.min_hold_ms)
    }
}

/// One frame: the screen from `at_ms` (video time) until the next frame.
pub struct Frame<'a> {
    /// Video time, ms.
    pub at_ms: u64,
    /// Its cells.
    pub cells: &'a CellRows,
    /// The cursor to draw, if the program left it visible.
    pub cursor: Option<(u16, u16)>,
}

/// The largest screen the log ever shows, as `(cols, rows)`: every frame is
/// drawn on a canvas this big, since a GIF or video has one size.
pub fn canvas_size(manifest: &Manifest, facts: &LogFacts) -> (u16, u16) {
    let mut cols = manifest.creation_cols.unwrap_or(manifest.cols);
    let mut rows = manifest.creation_rows.unwrap_or(manifest.rows);
    if let Some((c, r)) = facts.largest_resize {
        cols = cols.max(c);
        rows = rows.max(r);
    }
    (cols.clamp(1, MAX_COLS), rows.clamp(1, MAX_ROWS))
}

/// The screen's size after the whole log, as `(cols, rows)`: the last
/// `resize`, else the creation size (0.5's `width`/`height` for videos).
pub fn final_size(manifest: &Manifest, facts: &LogFacts) -> (u16, u16) {
    facts.last_resize.unwrap_or((
        manifest.creation_cols.unwrap_or(manifest.cols),
        manifest.creation_rows.unwrap_or(manifest.rows),
    ))
}

/// A Session's Event Log drawn as a GIF or video draws it: every frame on
/// one canvas ([`canvas_size`]), in one profile.
pub struct Canvas<'a, E: Events + ?Sized> {
    manifest: &'a Manifest,
    events: &'a E,
    renderer: Renderer,
    cols: u16,
    rows: u16,
}

impl<'a, E: Events + ?Sized> Canvas<'a, E> {
    /// The canvas for `events` (of which `facts` were gathered), drawn in
    /// `profile`.
    pub fn new(
        manifest: &'a Manifest,
        events: &'a E,
        facts: &LogFacts,
        look: &Look,
    ) -> Canvas<'a, E> {
        let (cols, rows) = canvas_size(manifest, facts);
        Canvas {
            manifest,
            events,
            renderer: Renderer::with_look(look.clone()),
            cols,
            rows,
        }
    }

    /// Its size in pixels, `(width, height)`.
    pub fn pixel_size(&self) -> (u32, u32) {
        self.renderer.image_size(self.cols, self.rows)
    }

    /// [`for_each_frame`], each frame drawn: `emit` gets the picture and
    /// its video time; returns the video's total length in ms.
    pub fn draw_frames(
        &mut self,
        pacing: &Pacing,
        mut emit: impl FnMut(Image, u64) -> Result<(), String>,
    ) -> Result<u64, String> {
        for_each_frame(self.manifest, self.events, pacing, |frame| {
            let image = self.renderer.render_on_canvas(
                &Screen {
                    cells: frame.cells,
                    cursor: frame.cursor,
                },
                self.cols,
                self.rows,
            );
            emit(image, frame.at_ms)
        })
    }
}

fn changes_screen(event: &Event) -> bool {
    matches!(
        event.body,
        EventBody::Output { .. }
            | EventBody::Resize { .. }
            | EventBody::RunComplete { .. }
            | EventBody::Exit { .. }
    )
}

/// Replays `events` and calls `emit` for every frame, in order; returns the
/// video's total length in ms (last frame plus its final hold).
pub fn for_each_frame(
    manifest: &Manifest,
    events: &(impl Events + ?Sized),
    pacing: &Pacing,
    mut emit: impl FnMut(Frame<'_>) -> Result<(), String>,
) -> Result<u64, String> {
    let mut replay = ScreenReplay::for_manifest_with_scrollback(manifest, 0);
    let mut last_shown: Option<(CellRows, Option<(u16, u16)>)> = None;
    let mut last_emit: Option<u64> = None;
    // Video time at which the screen as it is now (not yet emitted) began.
    let mut pending: Option<u64> = None;
    let mut video_ms = 0u64;
    let mut prev_real: Option<u64> = None;

    let mut flush = |replay: &ScreenReplay,
                     at: u64,
                     last_shown: &mut Option<(CellRows, Option<(u16, u16)>)>,
                     last_emit: &mut Option<u64>|
     -> Result<(), String> {
        let cells = replay.visible_cells();
        let cursor = replay.cursor_visible().then(|| replay.cursor());
        if last_shown
            .as_ref()
            .is_some_and(|(c, k)| *c == cells && *k == cursor)
        {
            return Ok(());
        }
        emit(Frame {
            at_ms: at,
            cells: &cells,
            cursor,
        })?;
        *last_shown = Some((cells, cursor));
        *last_emit = Some(at);
        Ok(())
    };

    events.try_each(&mut |event| {
        if !changes_screen(event) {
            replay.apply(event);
            return Ok(());
        }
        let real = event_ms(event).unwrap_or(prev_real.unwrap_or(0));
        if let Some(prev) = prev_real {
            video_ms += pacing.gap(real.saturating_sub(prev));
        }
        prev_real = Some(real);
        if let Some(start) = pending {
            if video_ms >= start + FRAME_INTERVAL_MS {
                flush(&replay, start, &mut last_shown, &mut last_emit)?;
                pending = None;
            }
        }
        replay.apply(event);
        if pending.is_none() {
            let earliest = last_emit.map_or(0, |t| t + FRAME_INTERVAL_MS);
            pending = Some(video_ms.max(earliest));
        }
        Ok(())
    })?;
    match pending {
        Some(start) => flush(&replay, start, &mut last_shown, &mut last_emit)?,
        None if last_emit.is_none() => flush(&replay, 0, &mut last_shown, &mut last_emit)?,
        None => {}
    }
    let end = video_ms.max(last_emit.unwrap_or(0));
    Ok(end + pacing.final_hold_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        serde_json::from_str(
            r#"{"version":1,"sessionId":"01JD3Z6X8K4M2N5P7Q9R1S3T01","createdAt":"2026-11-24T03:50:00.000Z",
            "updatedAt":"2026-11-24T03:50:00.000Z","status":"exited","command":["bash"],"cwd":"/tmp",
            "cols":20,"rows":3,"creationCols":10,"creationRows":2}"#,
        )
        .unwrap()
    }

    fn output(seq: u64, ms: u64, data: &str) -> Event {
        Event {
            seq,
            ts: format!("2026-11-24T03:50:{:02}.{:03}Z", ms / 1000, ms % 1000),
            body: EventBody::Output { data: data.into() },
        }
    }

    /// `(time, first row)` of every frame, and the total length.
    fn frames_of(events: &[Event], pacing: &Pacing) -> (Vec<(u64, String)>, u64) {
        let mut seen = Vec::new();
        let total = for_each_frame(&manifest(), events, pacing, |f| {
            let row: String = f.cells[0].iter().map(|c| c.text.as_str()).collect();
            seen.push((f.at_ms, row.trim_end().to_owned()));
            Ok(())
        })
        .unwrap();
        (seen, total)
    }

    #[test]
    fn frames_follow_screen_changes_and_timing_modes() {
        let events = [
            output(0, 0, "a"),
            output(1, 100, "b"),
            output(2, 5000, "c"),
            // Changes nothing on screen: no frame.
            output(3, 5001, ""),
        ];
        let recorded = Pacing::new(Format::Webm, Timing::Recorded, 1.0);
        let (frames, total) = frames_of(&events, &recorded);
        assert_eq!(
            frames,
            vec![(0, "a".into()), (100, "ab".into()), (5000, "abc".into())]
        );
        assert_eq!(total, 5016 + 1000);

        let accelerated = Pacing::new(Format::Webm, Timing::Accelerated, 1.0);
        let (frames, total) = frames_of(&events, &accelerated);
        let times: Vec<u64> = frames.iter().map(|f| f.0).collect();
        assert_eq!(times, vec![0, 100, 500]);
        assert_eq!(total, 600 + 1000);

        // GIF: idle gaps capped at 2 s, then halved by --speed 2.
        let gif = Pacing::new(Format::Gif, Timing::Recorded, 2.0);
        let (frames, _) = frames_of(&events, &gif);
        let times: Vec<u64> = frames.iter().map(|f| f.0).collect();
        assert_eq!(times, vec![0, 50, 1050]);

        // Changes closer than the frame interval merge into one frame.
        let burst = [output(0, 0, "x"), output(1, 10, "y"), output(2, 20, "z")];
        let (frames, _) = frames_of(&burst, &recorded);
        assert_eq!(frames.last().unwrap().1, "xyz");
        assert!(frames.len() < 3, "{frames:?}");
    }

    #[test]
    fn canvas_is_the_largest_size_and_final_size_the_last() {
        let resize = |seq, cols, rows| Event {
            seq,
            ts: "2026-11-24T03:50:00.000Z".into(),
            body: EventBody::Resize { cols, rows },
        };
        let events = [resize(0, 30, 2), resize(1, 12, 5)];
        let facts = LogFacts::gather(&events[..]).unwrap();
        assert_eq!(canvas_size(&manifest(), &facts), (30, 5));
        assert_eq!(final_size(&manifest(), &facts), (12, 5));
        let none = LogFacts::gather(&[][..]).unwrap();
        assert_eq!(final_size(&manifest(), &none), (10, 2));
    }

    #[test]
    fn gaps_follow_the_timing_modes() {
        let rec = Pacing::new(Format::Webm, Timing::Recorded, 1.0);
        assert_eq!(rec.gap(5000), 5000);
        assert_eq!(rec.gap(3), 16);
        let acc = Pacing::new(Format::Webm, Timing::Accelerated, 1.0);
        assert_eq!(acc.gap(5000), 400);
        assert_eq!(acc.gap(10), 100);
        let max = Pacing::new(Format::Webm, Timing::MaxSpeed, 1.0);
        assert_eq!(max.gap(5000), 16);
        let gif = Pacing::new(Format::Gif, Timing::Recorded, 2.0);
        assert_eq!(gif.gap(60_000), GIF_IDLE_CAP_MS / 2);
    }
}
