//! `screenshot <id> [--out PATH] [--profile NAME] [--show-cursor|--hide-cursor]`:
//! the Session's screen as it is now, replayed from its Event Log and drawn
//! to a PNG (contract §3.14).
//!
//! agent-tty 0.5 asked a running Session's host to render through a
//! headless browser; here every Session is replayed offline, since the
//! Event Log is the screen's whole truth: the result is the same for a
//! running Session (up to the last event written) and needs no browser.

use crate::output_path::{resolve_out, write_stdout, Destination};
use crate::profile;
use crate::session::Source;
use crate::store::{capture_entry, sha256_hex, write_file};
use agent_tty_core::artifacts::{
    append_artifact, check_artifact_store, ensure_artifacts_dir, ArtifactKind,
};
use agent_tty_core::screen::replay_session_with_scrollback;
use agent_tty_plugin_api::{ArgSpec, Command, CommandSpec};
use agent_tty_plugin_api::{CommandOutput, ErrorCode, Invocation, PluginError};
use agent_tty_render::{render_profile_hash, Renderer, Screen};
use serde_json::json;

/// The renderer named in results (0.5 said `ghostty-web`).
pub(crate) const RENDERER_BACKEND: &str = "agent-tty-render";

/// `screenshot`: its spec beside its handler ([`run`]).
pub(crate) fn command() -> Command {
    let spec = CommandSpec::new(
        &["screenshot"],
        "Save a PNG of a Session's screen (drawn from its Event Log, no browser)",
    )
    .arg(ArgSpec::positional("id", "The Session").value_name("SESSION_ID"))
    .arg(ArgSpec::option(
        "out",
        "PATH",
        "Write the PNG here instead of the Session's artifacts/",
    ))
    .arg(ArgSpec::option(
        "profile",
        "NAME",
        "Render profile: reference-dark (default) or reference-light",
    ))
    .arg(ArgSpec::flag("show-cursor", "Draw the cursor"))
    .arg(ArgSpec::flag(
        "hide-cursor",
        "Leave the cursor out (the default)",
    ));
    Command::new(spec, |_, inv| run(inv))
}

pub(crate) fn run(inv: &Invocation) -> Result<CommandOutput, PluginError> {
    if inv.flag("show-cursor") && inv.flag("hide-cursor") {
        return Err(PluginError::new(
            ErrorCode::InvalidInput,
            "--show-cursor and --hide-cursor are mutually exclusive.",
        ));
    }
    let profile_name = profile::requested(inv, "Screenshot request is invalid.")?;
    let out = match inv.value("out") {
        Some(out) => Some(resolve_out(out).map_err(|e| {
            PluginError::new(
                ErrorCode::InvalidInput,
                format!("Screenshot request is invalid: {}.", e.why),
            )
            .with_details(json!({ "out": out }))
        })?),
        None => None,
    };
    let source = Source::find(inv)?;
    let render_profile = profile::resolve(&profile_name)?;
    // Everything that could refuse the capture is checked before anything
    // is written: the destination above, the artifact list here.
    if out != Some(Destination::Stdout) {
        check_artifact_store(&source.dir)?;
    }

    let replay = replay_session_with_scrollback(&source.dir, &source.manifest, 0)?;
    let captured_at_seq = replay.last_seq().unwrap_or(0);
    let (cols, rows) = replay.size();
    let cursor_visible = inv.flag("show-cursor") && replay.cursor_visible();
    let cells = replay.visible_cells();
    let mut renderer = Renderer::new(render_profile);
    let image = renderer.render(&Screen {
        cells: &cells,
        cursor: cursor_visible.then(|| replay.cursor()),
    });
    let png = image.to_png();

    if out == Some(Destination::Stdout) {
        return to_stdout(&source.id, captured_at_seq, (cols, rows), &png);
    }
    let path = match out {
        Some(Destination::File(path)) => path,
        Some(Destination::Stdout) | None => ensure_artifacts_dir(&source.dir)?.join(format!(
            "screenshot-{captured_at_seq}-{}.png",
            profile::file_safe(&profile_name)
        )),
    };
    // The fingerprint is taken on the other core while the file is written
    // (fsynced): a 200×60 PNG is ~1.7 MB, a millisecond of hashing.
    let (written, sha256) = std::thread::scope(|s| {
        let sha = s.spawn(|| sha256_hex(&png));
        let written = write_file(&path, &png);
        (written, sha.join().expect("hashing does not panic"))
    });
    written.map_err(|e| agent_tty_core::Error::write(&path, e))?;
    let profile_hash = render_profile_hash(render_profile);
    let metadata = json!({
        "profileName": profile_name,
        "cols": cols,
        "rows": rows,
        "cursorVisible": cursor_visible,
        "rendererBackend": RENDERER_BACKEND,
        "pixelWidth": image.width,
        "pixelHeight": image.height,
        "renderProfileHash": profile_hash,
    });
    let entry = capture_entry(
        ArtifactKind::Screenshot,
        &path,
        &source.id,
        captured_at_seq,
        metadata,
        (&sha256, &png),
    );
    append_artifact(&source.dir, entry)?;

    let result = json!({
        "sessionId": source.id,
        "capturedAtSeq": captured_at_seq,
        "profileName": profile_name,
        "cols": cols,
        "rows": rows,
        "artifactPath": path,
        "pngSizeBytes": png.len(),
        "bytes": png.len(),
        "cursorVisible": cursor_visible,
        "rendererBackend": RENDERER_BACKEND,
        "pixelWidth": image.width,
        "pixelHeight": image.height,
        "sha256": sha256,
        "renderProfileHash": profile_hash,
    });
    let human = format!(
        "Session ID: {}\nCaptured At Seq: {captured_at_seq}\nProfile: {profile_name}\nSize: {cols}x{rows}\n\
         PNG Path: {}\nPNG Size: {} bytes\nRenderer backend: {RENDERER_BACKEND}\n\
         Pixel dimensions: {}×{}\nSHA-256: {sha256}\nRender profile hash: {profile_hash}",
        source.id,
        path.display(),
        png.len(),
        image.width,
        image.height,
    );
    Ok(CommandOutput::new(result, human))
}

/// `--out -`: the PNG on stdout, the summary (without a path) on stderr, and
/// no artifact entry (there is no file to list).
fn to_stdout(
    id: &str,
    captured_at_seq: u64,
    (cols, rows): (u16, u16),
    png: &[u8],
) -> Result<CommandOutput, PluginError> {
    write_stdout(png).map_err(|e| {
        PluginError::new(
            ErrorCode::StorageWriteError,
            format!("could not write the PNG to stdout: {e}"),
        )
    })?;
    let sha256 = sha256_hex(png);
    let mut output = CommandOutput::new(
        json!({
            "sessionId": id,
            "capturedAtSeq": captured_at_seq,
            "cols": cols,
            "rows": rows,
            "artifactPath": null,
            "bytes": png.len(),
            "pngSizeBytes": png.len(),
            "sha256": sha256,
        }),
        format!("Wrote a {} byte PNG of session {id} to stdout.", png.len()),
    );
    output.stdout_taken = true;
    Ok(output)
}
