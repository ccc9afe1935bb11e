//! `screenshot <id> [--out PATH] [--profile NAME] [--show-cursor|--hide-cursor]
//! [--format png|svg] [--embed-fonts] [look flags]`: the Session's screen as
//! it is now, replayed from its Event Log and drawn to a PNG (contract
//! §3.14) or an SVG, in 0.5's look or the one the flags ask for
//! ([`crate::look`]).
//!
//! agent-tty 0.5 asked a running Session's host to render through a
//! headless browser; here every Session is replayed offline, since the
//! Event Log is the screen's whole truth: the result is the same for a
//! running Session (up to the last event written) and needs no browser.
//! The capture itself is [`agent_tty_render::screenshot::take`], which the
//! host also answers 0.5's `screenshot` request with.

use crate::look;
use crate::output_path::{
    artifact_store_clash, refused_out, resolve_out, write_stdout, Destination,
};
use crate::profile;
use crate::session::Source;
use agent_tty_plugin_api::{ArgSpec, Command, CommandSpec};
use agent_tty_plugin_api::{CommandOutput, ErrorCode, Invocation, PluginError};
use agent_tty_render::screenshot::{self, RENDERER_BACKEND};
use std::path::Path;

/// `screenshot`: its spec beside its handler ([`run`]).
pub(crate) fn command() -> Command {
    let spec = CommandSpec::new(
        &["screenshot"],
        "Save a PNG or SVG of a Session's screen (drawn from its Event Log, no browser)",
    )
    .arg(ArgSpec::session_id("The Session"))
    .arg(ArgSpec::option(
        "out",
        "PATH",
        "Write the picture here instead of the Session's artifacts/ (- for stdout)",
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
    let spec = look::screenshot_args(spec);
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
    let options = look::options(inv)?;
    let out_arg = inv.value("out");
    let out = match out_arg {
        Some(out) => Some(resolve_out(out).map_err(|e| refused_out("Screenshot", &e.why, out))?),
        None => None,
    };
    let source = Source::find(inv)?;
    if let (Some(Destination::File(path)), Some(arg)) = (&out, out_arg) {
        if let Some(why) = artifact_store_clash(path, &source.dir) {
            return Err(refused_out("Screenshot", &why, arg));
        }
    }
    let request = screenshot::Request {
        session_dir: &source.dir,
        session_id: &source.id,
        manifest: &source.manifest,
        profile_name: &profile_name,
        show_cursor: inv.flag("show-cursor"),
        out: match &out {
            Some(Destination::File(path)) => Some(path.clone()),
            Some(Destination::Stdout) | None => None,
        },
    };
    if out == Some(Destination::Stdout) {
        let drawn = screenshot::draw_with(&request, &options)?;
        let shot = screenshot::Screenshot::of(&request, &options, &drawn, None);
        return to_stdout(shot, &drawn.png);
    }
    let shot = screenshot::take_with(&request, &options)?;
    let kind = shot.format.extension().to_uppercase();
    let human = format!(
        "Session ID: {}\nCaptured At Seq: {}\nProfile: {profile_name}\nSize: {}x{}\n\
         {kind} Path: {}\n{kind} Size: {} bytes\nRenderer backend: {RENDERER_BACKEND}\n\
         Pixel dimensions: {}×{}\nSHA-256: {}\nRender profile hash: {}\n\
         Missing glyphs: {}",
        shot.session_id,
        shot.captured_at_seq,
        shot.cols,
        shot.rows,
        shot.path.as_deref().unwrap_or(Path::new("-")).display(),
        shot.png_size,
        shot.pixel_width,
        shot.pixel_height,
        shot.sha256,
        shot.render_profile_hash,
        missing_summary(&shot.missing_glyphs),
    );
    // 0.5's keys, plus what only our own command reports.
    let mut result = shot.result();
    result["missingGlyphs"] = screenshot::missing_glyphs_json(&shot.missing_glyphs);
    Ok(CommandOutput::new(result, human))
}

/// `none`, or the missing characters with their code points, escaped (the
/// screen's text is the Session's, so possibly hostile).
fn missing_summary(missing: &[char]) -> String {
    if missing.is_empty() {
        return "none".into();
    }
    missing
        .iter()
        .map(|c| format!("U+{:04X} {}", u32::from(*c), c.escape_debug()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `--out -`: the picture on stdout, and on stderr the result a file
/// would have had, with `artifactPath: null` and no artifact entry (there
/// is no file to list).
fn to_stdout(shot: screenshot::Screenshot, bytes: &[u8]) -> Result<CommandOutput, PluginError> {
    let kind = shot.format.extension().to_uppercase();
    write_stdout(bytes).map_err(|e| {
        PluginError::new(
            ErrorCode::StorageWriteError,
            format!("could not write the {kind} to stdout: {e}"),
        )
    })?;
    let mut result = shot.result();
    result["missingGlyphs"] = screenshot::missing_glyphs_json(&shot.missing_glyphs);
    let mut output = CommandOutput::new(
        result,
        format!(
            "Wrote a {} byte {kind} of session {} to stdout.",
            bytes.len(),
            shot.session_id
        ),
    );
    output.stdout_taken = true;
    Ok(output)
}
