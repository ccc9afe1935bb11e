//! The look flags (`--theme`, `--padding`, `--font-size`, `--line-height`,
//! `--window-bar`, `--window-title`) of `screenshot` and `record export`,
//! and `screenshot`'s `--format`/`--embed-fonts`: declared once and turned
//! into a [`Look`] (and [`agent_tty_render::screenshot::Options`]), every
//! value checked before anything is read or written.
//!
//! A theme file is the user's own file, read here (never followed into a
//! FIFO or a device, never more than [`THEME_FILE_LIMIT`] bytes) and
//! parsed by [`Palette::from_json`].

use agent_tty_plugin_api::{ArgSpec, CommandSpec, ErrorCode, Invocation, PluginError};
use agent_tty_render::look::{builtin_theme, theme_names, Look, Palette, WindowBar};
use agent_tty_render::screenshot::{Format, Options};
use serde_json::json;
use std::io::Read;
use std::path::Path;

/// The largest theme file read (a theme is ~1 KB of JSON).
pub(crate) const THEME_FILE_LIMIT: u64 = 64 * 1024;

/// `spec` with `screenshot`'s format flags and the look flags.
pub(crate) fn screenshot_args(spec: CommandSpec) -> CommandSpec {
    look_args(
        spec.arg(ArgSpec::option(
            "format",
            "FORMAT",
            "png (default) or svg (text stays text)",
        ))
        .arg(ArgSpec::flag(
            "embed-fonts",
            "SVG: embed the fonts used, subset to the characters shown",
        )),
    )
}

/// `spec` with the look flags (`screenshot`, `record export`).
pub(crate) fn look_args(spec: CommandSpec) -> CommandSpec {
    let themes = theme_names().join(", ");
    spec.arg(ArgSpec::option(
        "theme",
        "NAME|FILE",
        &format!("Colours: {themes}, or a JSON theme file"),
    ))
    .arg(ArgSpec::option(
        "padding",
        "PX",
        "Pixels around the grid, 0 to 256 (default 8)",
    ))
    .arg(ArgSpec::option(
        "font-size",
        "PX",
        "Font size in pixels, 6 to 72 (default 14)",
    ))
    .arg(ArgSpec::option(
        "line-height",
        "FACTOR",
        "Row height as a factor of the font's, 1 to 3 (default 1)",
    ))
    .arg(ArgSpec::flag(
        "window-bar",
        "Draw a window bar with three dots above the screen",
    ))
    .arg(ArgSpec::option(
        "window-title",
        "TEXT",
        "A title in the window bar (implies --window-bar)",
    ))
}

/// A refusal: `INVALID_INPUT`, "<What> request is invalid: WHY.", and the
/// flag and value in the details.
fn invalid(what: &str, flag: &str, value: &str, why: &str) -> PluginError {
    PluginError::new(
        ErrorCode::InvalidInput,
        format!("{what} request is invalid: {why}."),
    )
    .with_details(json!({ "flag": flag, "value": value }))
}

/// The `screenshot` options the invocation's flags ask for.
pub(crate) fn options(inv: &Invocation) -> Result<Options, PluginError> {
    let embed_fonts = inv.flag("embed-fonts");
    let format = match inv.value("format").unwrap_or("png") {
        "png" if embed_fonts => {
            return Err(invalid(
                "Screenshot",
                "--embed-fonts",
                "",
                "--embed-fonts applies to --format svg only",
            ))
        }
        "png" => Format::Png,
        "svg" => Format::Svg { embed_fonts },
        other => {
            return Err(invalid(
                "Screenshot",
                "--format",
                other,
                &format!("--format must be png or svg, not {other:?}"),
            ))
        }
    };
    Ok(Options {
        format,
        look: look(inv, "Screenshot")?,
    })
}

/// The look the invocation's look flags ask for, `None` when none was
/// given (the profile's own look); `what` names the request in errors.
/// The default profile stands in for the one the caller resolves and puts
/// in (`Look { profile, ..look }`).
pub(crate) fn look(inv: &Invocation, what: &str) -> Result<Option<Look>, PluginError> {
    let invalid = |flag: &str, value: &str, why: &str| invalid(what, flag, value, why);
    let asked = [
        "theme",
        "padding",
        "font-size",
        "line-height",
        "window-title",
    ]
    .iter()
    .any(|f| inv.value(f).is_some())
        || inv.flag("window-bar");
    if !asked {
        return Ok(None);
    }
    let mut look = Look::of(agent_tty_term::profile::RenderProfile::default_profile());
    if let Some(theme) = inv.value("theme") {
        look.colors = theme_colors(theme).map_err(|why| invalid("--theme", theme, &why))?;
        look.theme = Some(theme_label(theme));
    }
    if let Some(v) = inv.value("padding") {
        look.padding = v
            .parse()
            .map_err(|_| invalid("--padding", v, "--padding must be a whole number of pixels"))?;
    }
    if let Some(v) = inv.value("font-size") {
        look.font_size = number(v)
            .ok_or_else(|| invalid("--font-size", v, "--font-size must be a number of pixels"))?;
    }
    if let Some(v) = inv.value("line-height") {
        look.line_height = number(v)
            .ok_or_else(|| invalid("--line-height", v, "--line-height must be a number"))?;
    }
    let title = inv.value("window-title");
    if inv.flag("window-bar") || title.is_some() {
        look.window_bar = Some(WindowBar {
            title: title.map(str::to_owned),
        });
    }
    look.validate().map_err(|why| {
        let flag = why.split_whitespace().next().unwrap_or_default().to_owned();
        let value = inv
            .value(flag.trim_start_matches('-'))
            .unwrap_or_default()
            .to_owned();
        invalid(&flag, &value, &why)
    })?;
    Ok(Some(look))
}

/// A finite decimal number (no `inf`, `NaN` or hex).
fn number(v: &str) -> Option<f32> {
    let ok = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    ok.then(|| v.parse().ok()).flatten()
}

/// The colours `--theme` names: a built-in theme, else a theme file; the
/// error says why it was refused.
/// The theme's name as results, artifact metadata and the profile hash
/// record it: a built-in's name, or a theme file's own file name (never its
/// directory, which would put a local path into shareable artifacts and
/// hash one theme differently wherever it is kept).
fn theme_label(theme: &str) -> String {
    if builtin_theme(theme).is_some() {
        return theme.to_owned();
    }
    Path::new(theme)
        .file_name()
        .map_or_else(|| theme.to_owned(), |n| n.to_string_lossy().into_owned())
}

fn theme_colors(theme: &str) -> Result<Palette, String> {
    if let Some(palette) = builtin_theme(theme) {
        return Ok(palette);
    }
    let looks_like_path = theme.contains('/') || theme.ends_with(".json");
    if !looks_like_path && !Path::new(theme).exists() {
        return Err(format!(
            "unknown theme {theme:?} (known: {}; or give a theme file's path)",
            theme_names().join(", ")
        ));
    }
    let text = read_theme_file(Path::new(theme))
        .map_err(|why| format!("cannot read theme file {theme:?}: {why}"))?;
    Palette::from_json(&text).map_err(|why| format!("theme file {theme:?} is not a theme: {why}"))
}

/// A theme file's text: a regular file (opened without blocking, so a FIFO
/// cannot hang the capture), at most [`THEME_FILE_LIMIT`] bytes of UTF-8.
fn read_theme_file(path: &Path) -> Result<String, String> {
    use std::os::unix::fs::OpenOptionsExt;
    // Looked at before it is opened too: opening a device can do things.
    if !std::fs::metadata(path)
        .map_err(|e| e.to_string())?
        .is_file()
    {
        return Err("not a regular file".into());
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > THEME_FILE_LIMIT {
        return Err(format!("larger than {THEME_FILE_LIMIT} bytes"));
    }
    let mut bytes = Vec::new();
    file.take(THEME_FILE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > THEME_FILE_LIMIT {
        return Err(format!("larger than {THEME_FILE_LIMIT} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_plain_decimals() {
        assert_eq!(number("14"), Some(14.0));
        assert_eq!(number("1.25"), Some(1.25));
        for bad in ["", "inf", "NaN", "-1", "1e3", "0x10", "1.2.3"] {
            assert_eq!(number(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_theme_file_must_be_a_small_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(read_theme_file(&fifo).unwrap_err(), "not a regular file");
        assert_eq!(
            read_theme_file(dir.path()).unwrap_err(),
            "not a regular file"
        );
        let big = dir.path().join("big.json");
        std::fs::write(&big, vec![b' '; THEME_FILE_LIMIT as usize + 1]).unwrap();
        assert!(read_theme_file(&big).unwrap_err().contains("larger than"));
        let binary = dir.path().join("bin.json");
        std::fs::write(&binary, [0xff, 0xfe]).unwrap();
        assert_eq!(read_theme_file(&binary).unwrap_err(), "not UTF-8 text");
    }
}
