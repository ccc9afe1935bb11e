//! `record export <id> --format asciicast|gif|webm [--out PATH] [--profile NAME]
//! [--timing recorded|accelerated|max-speed] [--speed X] [--idle-time-limit S]
//! [look flags]` (contract §3.15, §6; the look flags are `screenshot`'s,
//! `crate::look`).
//!
//! Check order is agent-tty 0.5's: format → timing (validated for every
//! format, used by gif/webm) → our `--speed` → our `--idle-time-limit` → id
//! → manifest; then, inside one guard that turns every failure into
//! `EXPORT_ERROR` "Failed to export session "&lt;id&gt;" as &lt;fmt&gt;.", read the
//! Event Log → (webm: generate) → output path → write (asciicast and gif:
//! generated as they are written, never held whole) → list the artifact in
//! `artifacts/manifest.json`.
//!
//! Default output: `<session>/artifacts/recording-<last seq or 0>-<format>.<ext>`,
//! overwritten on re-export (each export appends a new manifest entry).

pub mod asciicast;
pub mod frames;
pub mod gif;
pub mod webm;

use crate::output_path::{artifact_store_clash, refused_out, resolve_out, Destination};
use crate::profile;
use crate::session::Source;
use crate::store::{fill_counted, write_file_with};
use agent_tty_core::artifacts::{
    append_artifact, check_artifact_store, ensure_artifacts_dir, ArtifactEntry, ArtifactKind,
};
use agent_tty_core::error::limit_advice;
use agent_tty_core::event_log::{Event, EventBody, Skipped};
use agent_tty_core::layout::SessionDir;
use agent_tty_core::manifest::Manifest;
use agent_tty_plugin_api::{ArgSpec, Command, CommandSpec};
use agent_tty_plugin_api::{CommandOutput, ErrorCode, Invocation, PluginError};
use agent_tty_render::look::Look;
use frames::Timing;
use serde_json::{json, Map, Value};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// What `--format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// asciicast v2 (`.cast`).
    Asciicast,
    /// Animated GIF (`.gif`).
    Gif,
    /// AV1 in WebM (`.webm`).
    Webm,
}

impl Format {
    fn parse(s: &str) -> Option<Format> {
        match s {
            "asciicast" => Some(Format::Asciicast),
            "gif" => Some(Format::Gif),
            "webm" => Some(Format::Webm),
            _ => None,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Format::Asciicast => "asciicast",
            Format::Gif => "gif",
            Format::Webm => "webm",
        }
    }
    fn extension(self) -> &'static str {
        match self {
            Format::Asciicast => "cast",
            Format::Gif => "gif",
            Format::Webm => "webm",
        }
    }
    fn kind(self) -> ArtifactKind {
        match self {
            Format::Asciicast => ArtifactKind::Recording,
            Format::Gif | Format::Webm => ArtifactKind::Video,
        }
    }
}

/// The events an export reads, first to last, as many times as it needs:
/// the Session's Event Log read afresh each time
/// ([`crate::session::LogEvents`]), never held whole, or a slice in tests.
pub trait Events {
    /// Calls `each` for every event in order, stopping at its first error;
    /// returns the Event Log lines skipped for being too long.
    fn try_each(
        &self,
        each: &mut dyn FnMut(&Event) -> Result<(), String>,
    ) -> Result<Skipped, String>;
}

impl Events for [Event] {
    fn try_each(
        &self,
        each: &mut dyn FnMut(&Event) -> Result<(), String>,
    ) -> Result<Skipped, String> {
        self.iter().try_for_each(each)?;
        Ok(Skipped::default())
    }
}

/// What every format needs to know about the whole log before it writes
/// anything, gathered in one pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogFacts {
    /// Events read.
    pub count: u64,
    /// The first event's time (ms since the epoch), when it has one.
    pub first_ms: Option<u64>,
    /// The last event's time.
    pub last_ms: Option<u64>,
    /// The last event's `seq`.
    pub last_seq: Option<u64>,
    /// `output`, `resize` and `marker` events.
    pub outputs: u64,
    /// See `outputs`.
    pub resizes: u64,
    /// See `outputs`.
    pub markers: u64,
    /// The largest columns and rows any `resize` asked for.
    pub largest_resize: Option<(u16, u16)>,
    /// The last `resize`.
    pub last_resize: Option<(u16, u16)>,
    /// Lines skipped for being longer than the Event Log's line cap.
    pub skipped: Skipped,
}

impl LogFacts {
    /// One pass over `events`.
    pub fn gather(events: &(impl Events + ?Sized)) -> Result<LogFacts, String> {
        let mut facts = LogFacts::default();
        let skipped = events.try_each(&mut |event| {
            if facts.count == 0 {
                facts.first_ms = event_ms(event);
            }
            facts.count += 1;
            facts.last_ms = event_ms(event);
            facts.last_seq = Some(event.seq);
            match event.body {
                EventBody::Output { .. } => facts.outputs += 1,
                EventBody::Marker { .. } => facts.markers += 1,
                EventBody::Resize { cols, rows } => {
                    facts.resizes += 1;
                    let (c, r) = facts.largest_resize.unwrap_or((cols, rows));
                    facts.largest_resize = Some((c.max(cols), r.max(rows)));
                    facts.last_resize = Some((cols, rows));
                }
                _ => {}
            }
            Ok(())
        })?;
        facts.skipped = skipped;
        Ok(facts)
    }

    /// `last ts − first ts`, in ms (0 without both).
    fn duration_ms(&self) -> u64 {
        match (self.first_ms, self.last_ms) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => 0,
        }
    }
}

/// Why a streamed export stopped: reading the Event Log, or writing the
/// destination.
#[derive(Debug)]
pub enum Failure {
    /// The Event Log could not be read.
    Log(String),
    /// The destination could not be written.
    Write(io::Error),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure::Write(e)
    }
}

/// A picture recording to write: a GIF is drawn as it is written, a WebM
/// was encoded before.
enum Picture {
    Gif(Box<Look>, frames::Pacing),
    Webm(Generated),
}

/// A generated recording: its bytes and the format-specific metadata.
pub struct Generated {
    /// The file's content.
    pub bytes: Vec<u8>,
    /// `metadata` of the result (and of the artifact entry).
    pub metadata: Map<String, Value>,
}

/// The metadata of a GIF or a WebM: 0.5's WebM fields, in its order.
pub(crate) struct VideoFacts<'a> {
    pub look: &'a Look,
    /// A GIF, a format agent-tty 0.5 does not write, also says its pixel
    /// size, frame count and length; a WebM, which 0.5 writes and its
    /// readers compare whole, says exactly what 0.5's did.
    pub frames: Option<FrameFacts>,
}

/// What a GIF's metadata adds to 0.5's fields.
pub(crate) struct FrameFacts {
    pub pixel_size: (usize, usize),
    pub frame_count: u64,
    pub duration_ms: u64,
}

impl VideoFacts<'_> {
    pub(crate) fn metadata(&self, manifest: &Manifest, facts: &LogFacts) -> Map<String, Value> {
        let mut metadata = Map::new();
        let (final_cols, final_rows) = frames::final_size(manifest, facts);
        metadata.insert("width".into(), json!(final_cols));
        metadata.insert("height".into(), json!(final_rows));
        metadata.insert("profileName".into(), json!(self.look.profile.name));
        if let Some(frames) = &self.frames {
            metadata.insert("pixelWidth".into(), json!(frames.pixel_size.0));
            metadata.insert("pixelHeight".into(), json!(frames.pixel_size.1));
            metadata.insert("frameCount".into(), json!(frames.frame_count));
            metadata.insert("videoDurationMs".into(), json!(frames.duration_ms));
        }
        metadata.insert("renderProfileHash".into(), json!(self.look.profile_hash()));
        if let Some(theme) = &self.look.theme {
            metadata.insert("theme".into(), json!(theme));
        }
        metadata.insert(
            "rendererBackend".into(),
            json!(agent_tty_render::screenshot::RENDERER_BACKEND),
        );
        metadata.insert("outputEventCount".into(), json!(facts.outputs));
        metadata.insert("resizeEventCount".into(), json!(facts.resizes));
        metadata
    }
}

/// `--idle-time-limit SECONDS` in ms: a finite number of seconds from
/// 0.001 to a day.
fn parse_idle_limit(s: &str) -> Option<u64> {
    let seconds = s.parse::<f64>().ok()?;
    (seconds.is_finite() && (0.001..=86_400.0).contains(&seconds))
        .then(|| (seconds * 1000.0).round() as u64)
}

/// Milliseconds since the epoch of an ISO-8601 time.
pub(crate) fn iso_ms(iso: &str) -> Option<u64> {
    let t = agent_tty_core::time::parse_iso(iso)?;
    t.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_millis() as u64)
}

/// Milliseconds since the epoch of an event's `ts`.
pub(crate) fn event_ms(event: &Event) -> Option<u64> {
    iso_ms(&event.ts)
}

/// `record export`: its spec beside its handler ([`run`]).
pub(crate) fn command() -> Command {
    let spec = CommandSpec::new(
        &["record", "export"],
        "Export a Session's Event Log as asciicast v2, an animated GIF, or a WebM video",
    )
    .arg(ArgSpec::session_id("The Session"))
    .arg(
        ArgSpec::option("format", "FORMAT", "asciicast, gif or webm (required)").values(&[
            "asciicast",
            "gif",
            "webm",
        ]),
    )
    .arg(ArgSpec::option(
        "out",
        "PATH",
        "Write the file here instead of the Session's artifacts/",
    ))
    .arg(ArgSpec::option(
        "profile",
        "NAME",
        "Render profile for gif/webm: reference-dark (default) or reference-light",
    ))
    .arg(
        ArgSpec::option(
            "timing",
            "MODE",
            "recorded (default), accelerated or max-speed (gif/webm)",
        )
        .values(&["recorded", "accelerated", "max-speed"]),
    )
    .arg(ArgSpec::option(
        "speed",
        "X",
        "Play gif/webm X times faster (default 1)",
    ))
    .arg(ArgSpec::option(
        "idle-time-limit",
        "SECONDS",
        "Shorten every pause to at most SECONDS (as asciinema's option; gif default 2)",
    ));
    let spec = crate::look::look_args(spec);
    Command::new(spec, |_, inv| run(inv))
}

pub(crate) fn run(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let format = inv.value("format").and_then(Format::parse).ok_or_else(|| {
        PluginError::new(
            ErrorCode::InvalidInput,
            "Record export format must be one of: asciicast, gif, webm.",
        )
        .with_details(json!({ "format": inv.value("format") }))
    })?;
    let timing = match inv.value("timing") {
        None => Timing::Recorded,
        Some(t) => Timing::parse(t).ok_or_else(|| {
            PluginError::new(
                ErrorCode::InvalidInput,
                "Replay timing mode must be one of: recorded, accelerated, max-speed.",
            )
            .with_details(json!({ "timing": t }))
        })?,
    };
    let speed = match inv.value("speed") {
        None => 1.0,
        Some(s) => s
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.01 && *x <= 1000.0)
            .ok_or_else(|| {
                PluginError::new(
                    ErrorCode::InvalidInput,
                    "--speed must be a number from 0.01 to 1000 (2 plays twice as fast).",
                )
                .with_details(json!({ "speed": s }))
            })?,
    };
    // The look flags are checked for every format, as `--timing` is; only
    // gif and webm draw with them.
    let asked_look = crate::look::look(inv, "Record export")?;
    let idle_limit_ms = match inv.value("idle-time-limit") {
        None => None,
        Some(s) => Some(parse_idle_limit(s).ok_or_else(|| {
            PluginError::new(
                ErrorCode::InvalidInput,
                "--idle-time-limit must be a number of seconds from 0.001 to 86400 (e.g. 2 or 0.5).",
            )
            .with_details(json!({ "idleTimeLimit": s }))
        })?),
    };
    let out = inv.value("out").map(str::to_owned);
    // Everything that could refuse the export is checked before anything is
    // written (or even generated): the destination, then the artifact list.
    let destination = match &out {
        Some(out) => match resolve_out(out) {
            Ok(d) => Some(Ok(d)),
            // Something other than a regular file at the path: refused.
            Err(e) if e.refused => return Err(refused_out("Record export", &e.why, out)),
            // A missing or unwritable directory: 0.5's EXPORT_ERROR, below.
            Err(e) => Some(Err(e.why)),
        },
        None => None,
    };
    let source = Source::find(inv)?;
    if let (Some(Ok(Destination::File(path))), Some(out)) = (&destination, &out) {
        if let Some(why) = artifact_store_clash(path, &source.dir) {
            return Err(refused_out("Record export", &why, out));
        }
    }

    let failed = |cause: String| {
        let mut details =
            json!({ "sessionId": source.id, "format": format.name(), "cause": cause });
        if let Some(out) = &out {
            details["out"] = json!(out);
        }
        PluginError::new(
            ErrorCode::ExportError,
            format!(
                "Failed to export session \"{}\" as {}.",
                source.id,
                format.name()
            ),
        )
        .with_details(details)
    };

    let destination = destination.transpose().map_err(&failed)?;
    if destination != Some(Destination::Stdout) {
        check_artifact_store(&source.dir)?;
    }
    // Read in passes, never whole: a first one for what every format needs
    // to know up front, then the format's own.
    let events = source.log().map_err(|e| failed(e.to_string()))?;
    let facts = LogFacts::gather(&events).map_err(&failed)?;
    let captured_at_seq = facts.last_seq.unwrap_or(0);
    // asciicast and GIF are written as they are made, so neither a
    // Session's output nor the picture is held whole; WebM is encoded
    // whole (its packets are small), then muxed and written.
    let picture = match format {
        Format::Asciicast => None,
        Format::Gif | Format::Webm => {
            // The profile matters only to pictures: asciicast never looks
            // at it, so a bad AGENT_TTY_PROFILE cannot break it.
            let profile_name = profile::requested(inv, "Record export request is invalid.")?;
            let render_profile = profile::resolve(&profile_name)?;
            let look = match asked_look {
                Some(look) => Look {
                    profile: render_profile,
                    ..look
                },
                None => Look::of(render_profile),
            };
            let pacing = frames::Pacing::new(format, timing, speed, idle_limit_ms);
            if facts.count == 0 {
                return Err(failed("the Event Log has no events to animate".into()));
            }
            Some(match format {
                Format::Gif => {
                    gif::check_size(&source.manifest, &facts, &look).map_err(|why| {
                        PluginError::new(
                            ErrorCode::InvalidInput,
                            format!("Record export request is invalid: {why}."),
                        )
                        .with_details(json!({
                            "sessionId": source.id,
                            "format": format.name(),
                            "maxPixels": gif::MAX_GIF_PIXELS,
                        }))
                    })?;
                    Picture::Gif(Box::new(look), pacing)
                }
                _ => Picture::Webm(
                    webm::export(&source.manifest, &events, &facts, &look, &pacing)
                        .map_err(&failed)?,
                ),
            })
        }
    };
    let fill = |out: &mut dyn Write| {
        let mut metadata = match picture {
            None => {
                return asciicast::export(
                    &source.id,
                    &source.manifest,
                    &events,
                    &facts,
                    idle_limit_ms,
                    out,
                )
            }
            Some(Picture::Gif(look, pacing)) => {
                gif::export(&source.manifest, &events, &facts, &look, &pacing, out)?
            }
            Some(Picture::Webm(Generated { bytes, metadata })) => {
                out.write_all(&bytes)?;
                metadata
            }
        };
        metadata.insert("timingMode".into(), json!(timing.name()));
        // Ours: always in a GIF's metadata, in a WebM's only when asked for.
        if format == Format::Gif || inv.value("speed").is_some() {
            metadata.insert("speed".into(), json!(speed));
        }
        if let Some(ms) = idle_limit_ms {
            metadata.insert("idleTimeLimitMs".into(), json!(ms));
        }
        Ok(metadata)
    };
    let not_written = |failure: Failure, to: &dyn std::fmt::Display| match failure {
        Failure::Log(why) => failed(why),
        // A full disk's `cause` says so and what to do (0.5's code and
        // message stay: EXPORT_ERROR, exit 7).
        Failure::Write(e) => failed(format!("could not write {to}: {e}{}", limit_advice(&e))),
    };

    // The result, the same whether a file or stdout (`path: None`) got it;
    // what was skipped reading the log is a warning either way.
    let finish = |path: Option<&Path>,
                  metadata: Map<String, Value>,
                  sha256: &str,
                  bytes: u64,
                  human: String| {
        let result = json!({
            "sessionId": source.id,
            "format": format.name(),
            "artifactPath": path,
            "bytes": bytes,
            "sha256": sha256,
            "capturedAtSeq": captured_at_seq,
            "durationMs": facts.duration_ms(),
            "metadata": metadata,
        });
        let mut output = CommandOutput::new(result, human);
        output.warnings.extend(
            facts
                .skipped
                .warning(&SessionDir::new(&source.dir).event_log()),
        );
        output.with_warnings_in_result()
    };

    if destination == Some(Destination::Stdout) {
        let (metadata, sha256, bytes) =
            fill_counted(io::stdout().lock(), fill).map_err(|f| not_written(f, &"to stdout"))?;
        let human = format!("Wrote {bytes} bytes of {} to stdout.", format.name());
        let mut output = finish(None, metadata, &sha256, bytes, human);
        output.stdout_taken = true;
        return Ok(output);
    }
    let path: PathBuf = match &destination {
        Some(Destination::File(path)) => path.clone(),
        _ => ensure_artifacts_dir(&source.dir)
            .map_err(|e| failed(e.to_string()))?
            .join(format!(
                "recording-{captured_at_seq}-{}.{}",
                format.name(),
                format.extension()
            )),
    };
    let (metadata, sha256, bytes) =
        write_file_with(&path, fill).map_err(|f| not_written(f, &path.display()))?;
    let mut entry_metadata = metadata.clone();
    entry_metadata.insert("format".into(), json!(format.name()));
    entry_metadata.insert("outputPath".into(), json!(path));
    let entry = ArtifactEntry::for_file(
        format.kind(),
        &path,
        &source.id,
        captured_at_seq,
        Value::Object(entry_metadata),
        (&sha256, bytes),
    );
    if let Err(e) = append_artifact(&source.dir, entry) {
        // A file nobody lists is clutter in artifacts/; an --out file is the
        // user's and stays.
        if out.is_none() {
            let _ = std::fs::remove_file(&path);
        }
        return Err(failed(format!(
            "the artifact list could not be updated: {e}"
        )));
    }

    let human = format!(
        "Session ID: {}\nFormat: {}\nCaptured At Seq: {captured_at_seq}\nArtifact Path: {}\nBytes: {}\nSHA256: {sha256}\nDuration: {} ms",
        source.id,
        format.name(),
        path.display(),
        bytes,
        facts.duration_ms(),
    );
    Ok(finish(Some(&path), metadata, &sha256, bytes, human))
}
