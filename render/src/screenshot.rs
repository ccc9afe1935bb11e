//! A screenshot of a Session, taken and stored: its screen replayed from
//! the Event Log, drawn by [`Renderer`], written as a PNG (or an SVG, with
//! [`Options`]), and listed in the Session's `artifacts/manifest.json`
//! (contract §3.14).
//!
//! The one place a screenshot is made: the `screenshot` command (capture
//! plugin) and the host's answer to agent-tty 0.5's `screenshot` request
//! both call [`take`], so both write the same file and return the same
//! facts. Unlike the rest of this crate it does I/O (reads the Event Log,
//! writes the PNG and the artifact entry).

use crate::look::Look;
use crate::{Renderer, Screen};
use agent_tty_core::artifacts::{
    append_artifact_when, check_artifact_store, ensure_artifacts_dir, ArtifactEntry, ArtifactKind,
};
use agent_tty_core::error::ErrorCode;
use agent_tty_core::manifest::Manifest;
use agent_tty_core::screen::replay_session_with_scrollback;
use agent_tty_core::{artifacts::sha256_hex, fsutil::write_atomic, Error, Result};
use agent_tty_term::profile::{self, RenderProfile};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The renderer named in results (0.5 said `ghostty-web`).
pub const RENDERER_BACKEND: &str = "agent-tty-render";

/// What to capture and where it goes.
pub struct Request<'a> {
    /// `<home>/sessions/<id>`.
    pub session_dir: &'a Path,
    /// The Session's id.
    pub session_id: &'a str,
    /// Its manifest (for the size the replay starts at).
    pub manifest: &'a Manifest,
    /// The render profile's name, as asked (1..=100 characters).
    pub profile_name: &'a str,
    /// Draw the cursor (when the terminal shows it).
    pub show_cursor: bool,
    /// Where the PNG goes; `None` = `artifacts/screenshot-<seq>-<profile>.png`.
    pub out: Option<PathBuf>,
}

/// The file a screenshot is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// 8-bit RGB PNG (agent-tty 0.5's, the default).
    #[default]
    Png,
    /// SVG with the text kept as text; `embed_fonts` subset-embeds the
    /// faces used.
    Svg {
        /// Embed the bundled faces, subset to the characters shown.
        embed_fonts: bool,
    },
}

impl Format {
    /// The file name extension (and the `format` metadata).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg { .. } => "svg",
        }
    }
}

/// How a screenshot is drawn beyond the [`Request`]: agent-tty 0.5's PNG in
/// the profile's look by default.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// PNG or SVG.
    pub format: Format,
    /// The look; `None` for the profile's own ([`Look::of`]). Its
    /// `profile` is replaced by the request's.
    pub look: Option<Look>,
}

impl Options {
    /// Whether anything differs from agent-tty 0.5's screenshot; a
    /// default one's result has exactly 0.5's keys.
    fn is_default(&self) -> bool {
        self.format == Format::Png && self.look.is_none()
    }
}

/// A screenshot written and listed.
pub struct Screenshot {
    /// The Session's id.
    pub session_id: String,
    /// The last `seq` the screen reflects (0 for an empty Event Log).
    pub captured_at_seq: u64,
    /// The profile's name, as asked.
    pub profile_name: String,
    /// The terminal's size.
    pub cols: u16,
    /// The terminal's size.
    pub rows: u16,
    /// Where the file is; `None` when the bytes went to standard output
    /// (`--out -`), which `artifactPath` reports as `null`.
    pub path: Option<PathBuf>,
    /// The file's size in bytes.
    pub png_size: usize,
    /// PNG or SVG.
    pub format: Format,
    /// The `--theme` asked for, if any.
    pub theme: Option<String>,
    /// Whether [`Options`] asked for anything but 0.5's screenshot.
    pub extended: bool,
    /// Whether the cursor was drawn.
    pub cursor_visible: bool,
    /// The image's size in pixels.
    pub pixel_width: u32,
    /// The image's size in pixels.
    pub pixel_height: u32,
    /// Hex sha256 of the PNG's bytes.
    pub sha256: String,
    /// [`crate::render_profile_hash`] of the profile.
    pub render_profile_hash: String,
    /// Characters no font had (drawn as a box with a `?`), in code point
    /// order.
    pub missing_glyphs: Vec<char>,
}

impl Screenshot {
    /// What `drawn`, drawn for `request` as `options` ask, is as a
    /// screenshot saved at `path` (`None`: sent to standard output).
    pub fn of(
        request: &Request<'_>,
        options: &Options,
        drawn: &Drawn,
        path: Option<PathBuf>,
    ) -> Self {
        Screenshot {
            session_id: request.session_id.to_owned(),
            captured_at_seq: drawn.captured_at_seq,
            profile_name: request.profile_name.to_owned(),
            cols: drawn.cols,
            rows: drawn.rows,
            path,
            png_size: drawn.png.len(),
            format: options.format,
            theme: options.look.as_ref().and_then(|l| l.theme.clone()),
            extended: !options.is_default(),
            cursor_visible: drawn.cursor_visible,
            pixel_width: drawn.pixel_width,
            pixel_height: drawn.pixel_height,
            sha256: sha256_hex(&drawn.png),
            render_profile_hash: drawn.render_profile_hash.clone(),
            missing_glyphs: drawn.missing_glyphs.clone(),
        }
    }

    /// The result in agent-tty 0.5's keys, exactly (its socket clients
    /// reject any other): `{sessionId, capturedAtSeq, profileName, cols,
    /// rows, artifactPath, pngSizeBytes, cursorVisible, rendererBackend,
    /// pixelWidth, pixelHeight, sha256, renderProfileHash}`.
    ///
    /// A screenshot with [`Options`] of its own adds `format`, `sizeBytes`
    /// and `theme` (when asked), and an SVG has no `pngSizeBytes`.
    pub fn result(&self) -> Value {
        let mut result = json!({
            "sessionId": self.session_id,
            "capturedAtSeq": self.captured_at_seq,
            "profileName": self.profile_name,
            "cols": self.cols,
            "rows": self.rows,
            "artifactPath": self.path,
            "pngSizeBytes": self.png_size,
            "cursorVisible": self.cursor_visible,
            "rendererBackend": RENDERER_BACKEND,
            "pixelWidth": self.pixel_width,
            "pixelHeight": self.pixel_height,
            "sha256": self.sha256,
            "renderProfileHash": self.render_profile_hash,
        });
        if self.extended {
            let map = result.as_object_mut().expect("an object");
            map.insert("format".into(), json!(self.format.extension()));
            map.insert("sizeBytes".into(), json!(self.png_size));
            if let Some(theme) = &self.theme {
                map.insert("theme".into(), json!(theme));
            }
            if matches!(self.format, Format::Svg { .. }) {
                map.remove("pngSizeBytes");
            }
        }
        result
    }
}

/// `missingGlyphs` of our own `screenshot` result (never of 0.5's socket
/// answer, whose keys are fixed): each character no font had, as a
/// one-character string.
pub fn missing_glyphs_json(missing: &[char]) -> Value {
    missing
        .iter()
        .map(|c| Value::String(c.to_string()))
        .collect()
}

/// A screen drawn as a PNG or SVG, not yet stored anywhere.
pub struct Drawn {
    /// The file's bytes.
    pub png: Vec<u8>,
    /// The last `seq` the screen reflects (0 for an empty Event Log).
    pub captured_at_seq: u64,
    /// The terminal's size.
    pub cols: u16,
    /// The terminal's size.
    pub rows: u16,
    /// Whether the cursor was drawn.
    pub cursor_visible: bool,
    /// The image's size in pixels.
    pub pixel_width: u32,
    /// The image's size in pixels.
    pub pixel_height: u32,
    /// The profile drawn with.
    pub profile: &'static RenderProfile,
    /// [`Look::profile_hash`] of the look drawn in.
    pub render_profile_hash: String,
    /// Characters no font had, in code point order.
    pub missing_glyphs: Vec<char>,
}

/// Replays the Session and draws its screen: `INVALID_INPUT` for an unknown
/// profile (before anything is read), the Event Log's own errors. Writes
/// nothing (`--out -` sends these bytes to stdout).
pub fn draw(request: &Request<'_>) -> Result<Drawn> {
    draw_with(request, &Options::default())
}

/// [`draw`] as `options` ask: PNG or SVG, in their look.
pub fn draw_with(request: &Request<'_>, options: &Options) -> Result<Drawn> {
    let render_profile: &'static RenderProfile = profile::resolve(request.profile_name)?;
    let look = match &options.look {
        Some(look) => Look {
            profile: render_profile,
            ..look.clone()
        },
        None => Look::of(render_profile),
    };
    let render_profile_hash = look.profile_hash();
    let replay = replay_session_with_scrollback(request.session_dir, request.manifest, 0)?;
    let (cols, rows) = replay.size();
    let cursor_visible = request.show_cursor && replay.cursor_visible();
    let cells = replay.visible_cells();
    let screen = Screen {
        cells: &cells,
        cursor: cursor_visible.then(|| replay.cursor()),
    };
    let mut renderer = Renderer::with_look(look);
    renderer.checked_image_size(cols, rows).map_err(|why| {
        Error::invalid(
            ErrorCode::InvalidInput,
            format!("Screenshot request is invalid: {why}."),
        )
    })?;
    let (bytes, (pixel_width, pixel_height)) = match options.format {
        Format::Png => {
            renderer.fit_shades_to_palette(&screen, 256);
            renderer.render_png(&screen)
        }
        Format::Svg { embed_fonts } => (
            {
                renderer.note_missing(&screen);
                renderer.render_svg(&screen, embed_fonts).into_bytes()
            },
            renderer.image_size(cols, rows),
        ),
    };
    Ok(Drawn {
        png: bytes,
        captured_at_seq: replay.last_seq().unwrap_or(0),
        cols,
        rows,
        cursor_visible,
        pixel_width,
        pixel_height,
        profile: render_profile,
        render_profile_hash,
        missing_glyphs: renderer.missing_glyphs(),
    })
}

/// Takes the screenshot `request` asks for and stores it: [`draw`]'s
/// errors, an invalid artifact list (checked before anything is written),
/// a `STORAGE_WRITE_ERROR` when the PNG or its entry cannot be written.
pub fn take(request: &Request<'_>) -> Result<Screenshot> {
    take_with(request, &Options::default())
}

/// [`take`] as `options` ask (see [`draw_with`]); the default file name
/// ends in the format's extension.
pub fn take_with(request: &Request<'_>, options: &Options) -> Result<Screenshot> {
    // Everything that could refuse the capture is checked before anything
    // is written; the caller checked `--out` itself.
    check_artifact_store(request.session_dir)?;
    let drawn = draw_with(request, options)?;
    let Drawn {
        png,
        captured_at_seq,
        cols,
        rows,
        cursor_visible,
        ..
    } = &drawn;
    let (captured_at_seq, cols, rows, cursor_visible) =
        (*captured_at_seq, *cols, *rows, *cursor_visible);

    let path = match &request.out {
        Some(path) => path.clone(),
        None => ensure_artifacts_dir(request.session_dir)?.join(format!(
            "screenshot-{captured_at_seq}-{}.{}",
            profile::file_safe(request.profile_name),
            options.format.extension()
        )),
    };
    let shot = Screenshot::of(request, options, &drawn, Some(path.clone()));
    let mut metadata = json!({
        "profileName": shot.profile_name,
        "cols": cols,
        "rows": rows,
        "cursorVisible": cursor_visible,
        "rendererBackend": RENDERER_BACKEND,
        "pixelWidth": shot.pixel_width,
        "pixelHeight": shot.pixel_height,
        "renderProfileHash": shot.render_profile_hash,
    });
    if shot.extended {
        metadata["format"] = json!(options.format.extension());
        if let Some(theme) = &shot.theme {
            metadata["theme"] = json!(theme);
        }
    }
    let entry = ArtifactEntry::for_file(
        ArtifactKind::Screenshot,
        &path,
        request.session_id,
        captured_at_seq,
        metadata,
        (&shot.sha256, png.len() as u64),
    );
    // The file is written and made durable (fsync, rename, the directory's
    // fsync) on another thread while the artifact list is read, extended,
    // written and fsynced here; the list is renamed into place only once
    // the file is, so an entry is never durable before its file, and the
    // two files' fsyncs overlap instead of following each other.
    let (written, listed) = std::thread::scope(|s| {
        let mut writing = Some(s.spawn(|| write_atomic(&path, png, 0o600)));
        let mut written = None;
        let listed = append_artifact_when(request.session_dir, entry, || {
            let result = writing.take().expect("asked once").join();
            let ok = matches!(result, Ok(Ok(())));
            written = Some(result);
            ok
        });
        let written = written.unwrap_or_else(|| writing.take().expect("not joined").join());
        (written.expect("writing does not panic"), listed)
    });
    written.map_err(|e| Error::write(&path, e))?;
    listed?;
    Ok(shot)
}
