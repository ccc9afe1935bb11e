//! The screen over time: which frames a GIF or video shows, and when.
//!
//! The Event Log is replayed through the screen engine; a frame is taken
//! only when the screen (cells or cursor) changed, so an idle terminal costs
//! nothing. Event times become video times through a [`Pacing`]: the gap
//! between two screen changes is the real one, capped by the timing mode and
//! by the idle-time limit, then divided by `--speed`:
//!
//! | timing (`--timing`) | gap shown | last frame held |
//! |---|---|---|
//! | `recorded` (default) | the real gap | 1000 ms |
//! | `accelerated` | min(gap, 400 ms) | 1000 ms |
//! | `max-speed` | min(gap, 16 ms) | 500 ms |
//!
//! `--idle-time-limit S` caps every gap at S seconds too (as asciinema's
//! option does); a GIF caps them at [`GIF_IDLE_CAP_MS`] unless told
//! otherwise. No mode ever makes a gap longer than it was, so `accelerated`
//! and `max-speed` are never longer than `recorded` (agent-tty 0.5 held each
//! *event* at least 16 or 100 ms, which made a burst of output last longer
//! than it took, and `accelerated` longer than `recorded`).
//!
//! Frames are coalesced at the frame rate ([`FRAME_INTERVAL_MS`]): however
//! many changes fall within one interval of video time, one frame shows
//! them, so a 50 MB burst that took two seconds is forty frames, not one per
//! write, and every frame is shown at least one interval.

use super::{event_ms, Events, Format, LogFacts};
use agent_tty_core::event_log::{Event, EventBody};
use agent_tty_core::manifest::Manifest;
use agent_tty_core::screen::{ScreenReplay, MAX_COLS, MAX_ROWS};
use agent_tty_render::look::Look;
use agent_tty_render::{Image, Renderer, Screen};
use agent_tty_term::cells::CellRows;

/// The longest pause a GIF shows, in ms, unless `--idle-time-limit` says.
pub const GIF_IDLE_CAP_MS: u64 = 2000;

/// The longest gap `accelerated` shows, in ms.
pub const ACCELERATED_CAP_MS: u64 = 400;

/// The longest gap `max-speed` shows, in ms: one display refresh, so every
/// change still passes by, a few to a frame.
pub const MAX_SPEED_CAP_MS: u64 = 16;

/// One frame per this many ms of video time, at most: 20 frames a second.
/// Browsers show GIF delays under 20 ms as 100 ms, so a GIF never asks for
/// less than this; for video it is smooth for a terminal and keeps the
/// encoder well ahead of real time on a small machine.
pub const FRAME_INTERVAL_MS: u64 = 50;

/// `--timing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Real gaps.
    Recorded,
    /// Gaps capped at [`ACCELERATED_CAP_MS`].
    Accelerated,
    /// Gaps capped at [`MAX_SPEED_CAP_MS`].
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
    /// Longest gap shown (`None`: uncapped): the smaller of the timing
    /// mode's cap and the idle-time limit.
    pub cap_ms: Option<u64>,
    /// The last frame is held this long.
    pub final_hold_ms: u64,
    /// Video time runs this many times faster than the (capped) real time.
    pub speed: f64,
}

impl Pacing {
    /// The pacing of `format` under `timing`, `--speed` and
    /// `--idle-time-limit` (in ms; `None`: the format's default).
    pub fn new(format: Format, timing: Timing, speed: f64, idle_limit_ms: Option<u64>) -> Pacing {
        let (mode_cap, final_hold) = match timing {
            Timing::Recorded => (None, 1000),
            Timing::Accelerated => (Some(ACCELERATED_CAP_MS), 1000),
            Timing::MaxSpeed => (Some(MAX_SPEED_CAP_MS), 500),
        };
        let idle = idle_limit_ms.or(match format {
            Format::Gif => Some(GIF_IDLE_CAP_MS),
            _ => None,
        });
        Pacing {
            cap_ms: mode_cap.into_iter().chain(idle).min(),
            final_hold_ms: final_hold,
            speed,
        }
    }

    /// The capped length of a real gap of `real_ms` between two screen
    /// changes (before `--speed`).
    pub fn capped(&self, real_ms: u64) -> u64 {
        self.cap_ms.map_or(real_ms, |cap| real_ms.min(cap))
    }

    /// Video time of a point `capped_ms` of capped real time after the
    /// first change: summed before dividing, so rounding never adds up.
    pub fn video_ms(&self, capped_ms: u64) -> u64 {
        (capped_ms as f64 / self.speed).round() as u64
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
    /// The frame before (its cells and cursor), `None` for the first.
    pub previous: Option<(&'a CellRows, Option<(u16, u16)>)>,
}

/// Pixel rows `[start, end)` of the canvas that a frame redrew.
pub type Damage = std::ops::Range<u32>;

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
///
/// Damage tracking: the canvas keeps the last frame's pixels and redraws
/// only the rows whose cells (or cursor) changed. Each run of changed rows
/// is drawn as a band with two rows of context on either side (so a glyph
/// reaching a row into its neighbours is drawn as in a whole picture) and
/// the changed rows plus one on either side are copied in; the pixels are
/// those of a whole redraw (a unit test checks it frame by frame).
pub struct Canvas<'a, E: Events + ?Sized> {
    manifest: &'a Manifest,
    events: &'a E,
    renderer: Renderer,
    cols: u16,
    rows: u16,
    /// The last frame drawn.
    image: Option<Image>,
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
            image: None,
        }
    }

    /// Draws glyph edges with `levels` coverage values from now on
    /// ([`Renderer::set_coverage_levels`]); called before the first frame,
    /// so every frame is drawn alike.
    pub fn set_coverage_levels(&mut self, levels: u32) {
        self.renderer.set_coverage_levels(levels);
    }

    /// Its size in pixels, `(width, height)`.
    pub fn pixel_size(&self) -> Result<(u32, u32), String> {
        self.renderer.checked_image_size(self.cols, self.rows)
    }

    /// The last frame drawn.
    pub fn last_image(&self) -> Option<&Image> {
        self.image.as_ref()
    }

    /// [`for_each_frame`], each frame drawn: `emit` gets the picture, the
    /// pixel rows that changed since the previous one (all, for the
    /// first), and its video time; returns the video's total length in ms.
    pub fn draw_frames(
        &mut self,
        pacing: &Pacing,
        mut emit: impl FnMut(&Image, Damage, u64) -> Result<(), String>,
    ) -> Result<u64, String> {
        let (manifest, events) = (self.manifest, self.events);
        for_each_frame(manifest, events, pacing, |frame| {
            let damage = self.draw(&frame);
            let image = self.image.as_ref().expect("a frame was drawn");
            emit(image, damage, frame.at_ms)
        })
    }

    /// Brings the canvas to `frame`; returns the pixel rows redrawn.
    fn draw(&mut self, frame: &Frame<'_>) -> Damage {
        let (cols, rows) = (self.cols, self.rows);
        let whole = |renderer: &mut Renderer| {
            renderer.render_on_canvas(
                &Screen {
                    cells: frame.cells,
                    cursor: frame.cursor,
                },
                cols,
                rows,
            )
        };
        let (Some(image), Some((before, before_cursor))) = (&mut self.image, frame.previous) else {
            let image = whole(&mut self.renderer);
            let height = image.height;
            self.image = Some(image);
            return 0..height;
        };
        let Some(runs) = changed_rows(before, before_cursor, frame.cells, frame.cursor) else {
            *image = whole(&mut self.renderer);
            return 0..image.height;
        };
        let last = frame.cells.len() - 1;
        let mut damage: Option<Damage> = None;
        for (a, b) in runs {
            let (from, to) = (a.saturating_sub(2), (b + 2).min(last));
            let band_cells = &frame.cells[from..=to];
            let cursor = frame
                .cursor
                .filter(|&(r, _)| (from..=to).contains(&usize::from(r)))
                .map(|(r, c)| (r - from as u16, c));
            let band = self.renderer.render_on_canvas(
                &Screen {
                    cells: band_cells,
                    cursor,
                },
                cols,
                (to - from + 1) as u16,
            );
            // Copy rows a-1 ..= b+1 (clamped); the top and bottom rows of
            // the screen take the padding beyond them along.
            let (copy_a, copy_b) = (a.saturating_sub(1), (b + 1).min(last));
            let band_y = |row: usize| self.renderer.cell_origin((row - from) as u16, 0).1;
            let canvas_y = |row: usize| self.renderer.cell_origin(row as u16, 0).1;
            let (mut src, mut dst) = (band_y(copy_a), canvas_y(copy_a));
            if copy_a == 0 {
                (src, dst) = (0, 0);
            }
            let row_end = band_y(copy_b) + self.renderer.cell_size().height;
            let mut len = row_end - src;
            if copy_b == last {
                len = band.height - src;
            }
            let len = len.min(image.height - dst);
            let stride = (image.width * 3) as usize;
            image.rgb[dst as usize * stride..(dst + len) as usize * stride]
                .copy_from_slice(&band.rgb[src as usize * stride..(src + len) as usize * stride]);
            let rows = dst..dst + len;
            damage = Some(match damage {
                None => rows,
                Some(d) => d.start.min(rows.start)..d.end.max(rows.end),
            });
        }
        damage.unwrap_or(0..0)
    }
}

/// The runs `(first, last)` of screen rows whose cells or cursor differ
/// between two frames; `None` when the screen's size changed (redraw all).
fn changed_rows(
    before: &CellRows,
    before_cursor: Option<(u16, u16)>,
    after: &CellRows,
    after_cursor: Option<(u16, u16)>,
) -> Option<Vec<(usize, usize)>> {
    if before.len() != after.len()
        || before.first().map(Vec::len) != after.first().map(Vec::len)
        || after.is_empty()
    {
        return None;
    }
    let mut changed: Vec<bool> = before.iter().zip(after).map(|(a, b)| a != b).collect();
    if before_cursor != after_cursor {
        for (r, _) in [before_cursor, after_cursor].into_iter().flatten() {
            if let Some(row) = changed.get_mut(usize::from(r)) {
                *row = true;
            }
        }
    }
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (r, _) in changed.iter().enumerate().filter(|(_, c)| **c) {
        match runs.last_mut() {
            // Rows within the band's context of the last run join it.
            Some((_, end)) if r <= *end + 4 => *end = r,
            _ => runs.push((r, r)),
        }
    }
    Some(runs)
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
    // Capped real time since the first change; video time is derived.
    let mut capped_ms = 0u64;
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
            previous: last_shown.as_ref().map(|(c, k)| (c, *k)),
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
            capped_ms += pacing.capped(real.saturating_sub(prev));
            video_ms = pacing.video_ms(capped_ms);
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
    use agent_tty_term::profile::REFERENCE_DARK;

    fn manifest() -> Manifest {
        sized_manifest(10, 2)
    }

    /// A manifest created at `cols` × `rows` (now 20 × 3).
    fn sized_manifest(cols: u16, rows: u16) -> Manifest {
        serde_json::from_str(&format!(
            r#"{{"version":1,"sessionId":"01JD3Z6X8K4M2N5P7Q9R1S3T01","createdAt":"2026-11-24T03:50:00.000Z",
            "updatedAt":"2026-11-24T03:50:00.000Z","status":"exited","command":["bash"],"cwd":"/tmp",
            "cols":20,"rows":3,"creationCols":{cols},"creationRows":{rows}}}"#,
        ))
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
        let recorded = Pacing::new(Format::Webm, Timing::Recorded, 1.0, None);
        let (frames, total) = frames_of(&events, &recorded);
        assert_eq!(
            frames,
            vec![(0, "a".into()), (100, "ab".into()), (5000, "abc".into())]
        );
        assert_eq!(total, 5001 + 1000);

        let accelerated = Pacing::new(Format::Webm, Timing::Accelerated, 1.0, None);
        let (frames, total) = frames_of(&events, &accelerated);
        let times: Vec<u64> = frames.iter().map(|f| f.0).collect();
        assert_eq!(times, vec![0, 100, 500]);
        assert_eq!(total, 501 + 1000);

        // GIF: idle gaps capped at 2 s, then halved by --speed 2.
        let gif = Pacing::new(Format::Gif, Timing::Recorded, 2.0, None);
        let (frames, _) = frames_of(&events, &gif);
        let times: Vec<u64> = frames.iter().map(|f| f.0).collect();
        assert_eq!(times, vec![0, 50, 1050]);

        // --idle-time-limit caps every gap, for a video too, and replaces
        // the GIF's own cap.
        let limited = Pacing::new(Format::Webm, Timing::Recorded, 1.0, Some(300));
        let times: Vec<u64> = frames_of(&events, &limited).0.iter().map(|f| f.0).collect();
        assert_eq!(times, vec![0, 100, 400]);
        let gif_limited = Pacing::new(Format::Gif, Timing::Recorded, 1.0, Some(4000));
        let times: Vec<u64> = frames_of(&events, &gif_limited)
            .0
            .iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(times, vec![0, 100, 4100]);
    }

    /// A burst of writes within one frame interval is one frame however
    /// many writes it has; a longer burst is one frame per interval.
    #[rstest::rstest]
    #[case::recorded(Timing::Recorded)]
    #[case::accelerated(Timing::Accelerated)]
    #[case::max_speed(Timing::MaxSpeed)]
    fn bursts_are_coalesced_at_the_frame_rate(#[case] timing: Timing) {
        let pacing = Pacing::new(Format::Webm, timing, 1.0, None);
        // 1000 writes within 40 ms: one frame, showing all of them.
        let burst: Vec<Event> = (0..1000)
            .map(|i| output(i, i / 25, if i % 2 == 0 { "x" } else { "\r" }))
            .chain([output(1000, 40, "done")])
            .collect();
        let (frames, _) = frames_of(&burst, &pacing);
        assert_eq!(frames, vec![(0, "done".into())]);

        // 2000 writes, one every ms for 2 s: gaps of 1 ms are under every
        // mode's cap, so one frame per 50 ms in every mode.
        let long: Vec<Event> = (0..2000).map(|i| output(i, i, &format!("{i}\r"))).collect();
        let (frames, _) = frames_of(&long, &pacing);
        let expected = 2000 / FRAME_INTERVAL_MS;
        assert!(
            frames.len() as u64 <= expected && frames.len() as u64 >= expected - 2,
            "{} frames for 2 s of writes",
            frames.len()
        );
        assert!(frames
            .windows(2)
            .all(|w| w[1].0 >= w[0].0 + FRAME_INTERVAL_MS));
    }

    /// Whatever the gaps, `accelerated` and `max-speed` are never longer
    /// than `recorded`, and no frame comes later.
    #[test]
    fn faster_modes_are_never_longer_than_recorded() {
        // Agent-tty 0.5's accelerated made this 0.23 s Session (many quick
        // writes, then a pause) far longer than it was.
        let mut events: Vec<Event> = (0..200).map(|i| output(i, i, "w")).collect();
        events.push(output(200, 230, "\r\nend"));
        events.push(output(201, 9000, "late"));
        let length = |timing, idle| {
            let pacing = Pacing::new(Format::Webm, timing, 1.0, idle);
            let (frames, total) = frames_of(&events, &pacing);
            (frames.last().unwrap().0, total - pacing.final_hold_ms)
        };
        let (rec_last, rec) = length(Timing::Recorded, None);
        assert_eq!(rec, 9000);
        for timing in [Timing::Accelerated, Timing::MaxSpeed] {
            let (last, len) = length(timing, None);
            assert!(len <= rec && last <= rec_last, "{timing:?}: {len} ms");
        }
        assert_eq!(
            length(Timing::Accelerated, None).1,
            230 + ACCELERATED_CAP_MS
        );
        // An idle-time limit only ever shortens.
        let (_, limited) = length(Timing::Recorded, Some(1000));
        assert_eq!(limited, 230 + 1000);
    }

    #[test]
    fn gaps_follow_the_timing_modes() {
        let rec = Pacing::new(Format::Webm, Timing::Recorded, 1.0, None);
        assert_eq!(rec.capped(5000), 5000);
        assert_eq!(rec.capped(3), 3);
        let acc = Pacing::new(Format::Webm, Timing::Accelerated, 1.0, None);
        assert_eq!(acc.capped(5000), 400);
        assert_eq!(acc.capped(10), 10);
        let max = Pacing::new(Format::Webm, Timing::MaxSpeed, 1.0, None);
        assert_eq!(max.capped(5000), MAX_SPEED_CAP_MS);
        let gif = Pacing::new(Format::Gif, Timing::Recorded, 2.0, None);
        assert_eq!(gif.video_ms(gif.capped(60_000)), GIF_IDLE_CAP_MS / 2);
        // Summed, then divided: 3 gaps of 1 ms at speed 2 are 1.5 → 2 ms,
        // not 3 × round(0.5).
        assert_eq!(gif.video_ms(3), 2);
        let limited = Pacing::new(Format::Gif, Timing::Accelerated, 1.0, Some(250));
        assert_eq!(limited.capped(5000), 250);
    }

    /// Redrawing only the changed rows gives, frame by frame, the pixels of
    /// a whole redraw: glyphs reaching into neighbouring rows (accents,
    /// descenders, underlines), wide characters, the cursor moving, colours,
    /// scrolling, a cleared screen; with glyph edges as rasterised and with
    /// a GIF's 16 shades.
    #[rstest::rstest]
    fn damage_tracked_frames_equal_whole_redraws(#[values(256, 16)] levels: u32) {
        let writes = [
            "$ ls\r\n",
            "\x1b[1;31mÉCOLE\x1b[0m gjpq_yÿ \x1b[4munder\x1b[0m 界界\r\n",
            "\x1b[7minverse\x1b[0m \x1b[48;5;22m  \x1b[0m",
            "\x1b[1;1H\x1b[42mX\x1b[0m",
            "\x1b[3;5Hmid-screen Ŵ̃",
            "\r\n\r\nscroll 1\r\nscroll 2\r\n",
            "\x1b[2J\x1b[Hcleared",
            "\x1b[?25l",
            "\x1b[10;1H",
            "bottom row ÅÇ_\x1b[?25h",
        ];
        let events: Vec<Event> = writes
            .iter()
            .enumerate()
            .map(|(i, w)| output(i as u64, i as u64 * 100, w))
            .collect();
        let facts = LogFacts::gather(&events[..]).unwrap();
        let manifest = sized_manifest(30, 12);
        let mut canvas = Canvas::new(&manifest, &events[..], &facts, &Look::of(&REFERENCE_DARK));
        canvas.set_coverage_levels(levels);
        let (cols, rows) = canvas_size(&manifest, &facts);
        let mut whole = Renderer::new(&REFERENCE_DARK);
        whole.set_coverage_levels(levels);
        let mut expected = Vec::new();
        for_each_frame(&manifest, &events[..], &recorded(), |f| {
            let screen = Screen {
                cells: f.cells,
                cursor: f.cursor,
            };
            expected.push(whole.render_on_canvas(&screen, cols, rows));
            Ok(())
        })
        .unwrap();
        let mut seen = 0;
        let mut partial = 0;
        canvas
            .draw_frames(&recorded(), |image, damage, _| {
                assert!(*image == expected[seen], "frame {seen} differs");
                if damage.end - damage.start < image.height {
                    partial += 1;
                }
                seen += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, expected.len());
        assert!(partial >= 3, "only {partial} frames were partial redraws");
    }

    fn recorded() -> Pacing {
        Pacing::new(Format::Webm, Timing::Recorded, 1.0, None)
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
}
