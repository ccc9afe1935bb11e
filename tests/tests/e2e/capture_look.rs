//! End-to-end tests of `screenshot --format svg` and the look flags
//! (`--theme`, `--padding`, `--font-size`, `--line-height`,
//! `--window-bar`): real Sessions captured through the built binary, every
//! SVG read by parsers that are not ours (Python's `xml.etree`,
//! `rsvg-convert`), every PNG by the `png` crate.

use super::capture::{
    artifact_entries, decode_png, engine, fixture_home, rgb_at, run, sha256_of, tool, FIXTURE_ID,
};
use agent_tty_e2e::{bash_session, Sandbox};
use rstest::rstest;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// An SVG as Python's standard XML parser reads it: its size, the text of
/// each `<text>` row in order, and its `<style>` text.
fn parse_svg(path: &Path) -> Value {
    const SCRIPT: &str = r#"
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = '{http://www.w3.org/2000/svg}'
assert root.tag == ns + 'svg', root.tag
print(json.dumps({
    'width': int(root.get('width')),
    'height': int(root.get('height')),
    'rows': [''.join(t.itertext()) for t in root.iter(ns + 'text')],
    'style': ''.join(''.join(s.itertext()) for s in root.iter(ns + 'style')),
}))
"#;
    let out = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "xml.etree refused {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The SVG drawn by `rsvg-convert` (librsvg), decoded: `(width, height,
/// RGB)`; `None` when rsvg-convert is not installed (outside CI).
fn rasterise(svg: &Path) -> Option<(u32, u32, Vec<u8>)> {
    if !tool("rsvg-convert") {
        return None;
    }
    let png = svg.with_extension("rsvg.png");
    let out = Command::new("rsvg-convert")
        .arg("-o")
        .arg(&png)
        .arg(svg)
        .output()
        .expect("rsvg-convert runs");
    assert!(
        out.status.success(),
        "rsvg-convert refused {}: {}",
        svg.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::fs::File::open(&png).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    // librsvg writes RGB for an opaque picture, RGBA otherwise.
    let rgb = match info.color_type {
        png::ColorType::Rgb => buf,
        png::ColorType::Rgba => buf
            .chunks_exact(4)
            .flat_map(|p| {
                assert_eq!(p[3], 255, "the picture is opaque");
                [p[0], p[1], p[2]]
            })
            .collect(),
        other => panic!("rsvg-convert wrote {other:?}"),
    };
    Some((info.width, info.height, rgb))
}

/// A bash Session that printed coloured text and markup-like text a
/// hostile program could print.
fn session_with_text(sandbox: &Sandbox, home: &Path) -> String {
    let id = bash_session(sandbox, home, &["--cols", "50", "--rows", "8"]);
    run(sandbox, home, &id, "PS1='$ '");
    run(sandbox, home, &id, "clear");
    run(
        sandbox,
        home,
        &id,
        r#"printf '\033[1;32mhello\033[0m svg \033[4mworld\033[0m 界\n%s\nnon-xml:\357\277\276\357\277\277.\n' '</text><b a="1">&amp; ]]> '\''q'\'''"#,
    );
    id
}

#[test]
fn an_svg_screenshot_keeps_every_row_as_text_and_other_decoders_accept_it() {
    if !tool("python3") {
        return;
    }
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = session_with_text(&sandbox, &home);
    let screen = engine(&home, &id);
    let shot = sandbox
        .run_in(
            &home,
            &["screenshot", &id, "--format", "svg", "--show-cursor"],
        )
        .expect_code(0)
        .result();

    // The result and the artifact list, as for a PNG.
    let path = PathBuf::from(shot["artifactPath"].as_str().unwrap());
    let seq = screen.seq;
    assert_eq!(
        path,
        home.join("sessions")
            .join(&id)
            .join("artifacts")
            .join(format!("screenshot-{seq}-reference-dark.svg"))
    );
    assert_eq!(shot["format"], "svg");
    let bytes = std::fs::metadata(&path).unwrap().len();
    assert_eq!(shot["sizeBytes"].as_u64(), Some(bytes));
    assert!(shot.get("pngSizeBytes").is_none(), "{shot:#}");
    assert_eq!(shot["sha256"].as_str().unwrap(), sha256_of(&path));
    let entries = artifact_entries(&home, &id);
    let entry = entries.last().unwrap();
    assert_eq!(entry["kind"], "screenshot");
    assert_eq!(
        entry["filename"],
        format!("screenshot-{seq}-reference-dark.svg")
    );
    assert_eq!(entry["sha256"], shot["sha256"]);
    assert_eq!(entry["bytes"].as_u64(), Some(bytes));
    assert_eq!(entry["metadata"]["format"], "svg");

    // Python's parser reads it, and every non-blank row of the screen is
    // there as text, in order, exactly as the engine has it: the markup
    // the program printed included; U+FFFE and U+FFFF, which XML cannot
    // hold, as U+FFFD.
    let svg = parse_svg(&path);
    assert_eq!(
        (svg["width"].as_u64(), svg["height"].as_u64()),
        (shot["pixelWidth"].as_u64(), shot["pixelHeight"].as_u64())
    );
    let expected: Vec<String> = screen
        .lines
        .iter()
        .map(|l| l.trim_end().replace(['\u{FFFE}', '\u{FFFF}'], "\u{FFFD}"))
        .filter(|l| !l.is_empty())
        .collect();
    let rows: Vec<&str> = svg["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(rows, expected);
    assert!(rows.contains(&"hello svg world 界"), "{rows:#?}");
    assert!(
        rows.contains(&r#"</text><b a="1">&amp; ]]> 'q'"#),
        "{rows:#?}"
    );
    assert!(rows.contains(&"non-xml:\u{FFFD}\u{FFFD}."), "{rows:#?}");

    // librsvg draws it at the size the result says, in the profile's
    // background, with the text inked.
    if let Some((w, h, rgb)) = rasterise(&path) {
        assert_eq!(
            (u64::from(w), u64::from(h)),
            (
                shot["pixelWidth"].as_u64().unwrap(),
                shot["pixelHeight"].as_u64().unwrap()
            )
        );
        let bg = agent_tty_term::profile::REFERENCE_DARK.background;
        assert_eq!(rgb_at(w, &rgb, 0, 0), bg);
        let inked = rgb.chunks_exact(3).filter(|p| p[..] != bg[..]).count();
        assert!(
            inked > 500,
            "only {inked} pixels differ from the background"
        );
    }
    sandbox.kill_all();
}

#[test]
fn embedded_fonts_are_subsets_and_the_svg_goes_to_stdout_too() {
    if !tool("python3") {
        return;
    }
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = session_with_text(&sandbox, &home);
    let out = sandbox.root().join("embedded.svg");
    let shot = sandbox
        .run_in(
            &home,
            &[
                "screenshot",
                &id,
                "--format",
                "svg",
                "--embed-fonts",
                "--out",
                out.to_str().unwrap(),
            ],
        )
        .expect_code(0)
        .result();
    assert_eq!(
        Path::new(shot["artifactPath"].as_str().unwrap()),
        std::fs::canonicalize(&out).unwrap()
    );
    let svg = parse_svg(&out);
    let style = svg["style"].as_str().unwrap();
    // Regular and bold (the green "hello") are used; italic is not.
    assert_eq!(style.matches("@font-face").count(), 2, "{style}");
    assert!(!style.contains("italic"));
    // Each embedded face is a TrueType font far smaller than the bundled
    // face it was cut from (DejaVu Sans Mono, ~340 KB).
    const SCRIPT: &str = r#"
import base64, re, sys
for data in re.findall(r'base64,([A-Za-z0-9+/=]+)', sys.stdin.read()):
    font = base64.b64decode(data)
    assert font[:4] == b'\x00\x01\x00\x00', font[:4]
    print(len(font))
"#;
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(style.as_bytes())
        .unwrap();
    let sizes = child.wait_with_output().unwrap();
    assert!(sizes.status.success());
    let sizes: Vec<u64> = String::from_utf8(sizes.stdout)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(sizes.len(), 2);
    assert!(sizes.iter().all(|&s| s > 1000 && s < 40_000), "{sizes:?}");
    rasterise(&out);

    // `--out -`: the SVG on stdout, no file, no artifact entry.
    let before = artifact_entries(&home, &id).len();
    let piped = sandbox.run_in(&home, &["screenshot", &id, "--format", "svg", "--out", "-"]);
    piped.expect_code(0);
    assert!(piped.stdout.starts_with("<?xml"), "{}", piped.stdout);
    assert!(piped.stdout.contains("hello"));
    assert_eq!(artifact_entries(&home, &id).len(), before);
    // Its result, on stderr, is the one a file gets, with no path.
    let piped = sandbox.run_in(
        &home,
        &[
            "screenshot",
            &id,
            "--format",
            "svg",
            "--embed-fonts",
            "--out",
            "-",
            "--json",
        ],
    );
    piped.expect_code(0);
    let summary: serde_json::Value = serde_json::from_str(&piped.stderr).unwrap();
    let summary = &summary["result"];
    assert_eq!(summary["artifactPath"], serde_json::Value::Null);
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(summary), keys(&shot));
    for key in ["sha256", "sizeBytes", "pixelWidth", "renderProfileHash"] {
        assert_eq!(summary[key], shot[key], "{key}");
    }
    sandbox.kill_all();
}

/// Each theme paints the background its authors publish (the corner pixel
/// is padding), in the PNG and in the SVG.
#[rstest]
#[case("reference-dark", [0x1e, 0x1e, 0x2e])]
#[case("reference-light", [0xef, 0xf1, 0xf5])]
#[case("dracula", [0x28, 0x2a, 0x36])]
#[case("solarized-dark", [0x00, 0x2b, 0x36])]
#[case("solarized-light", [0xfd, 0xf6, 0xe3])]
#[case("nord", [0x2e, 0x34, 0x40])]
#[case("gruvbox-dark", [0x28, 0x28, 0x28])]
#[case("one-dark", [0x28, 0x2c, 0x34])]
#[case("monokai", [0x27, 0x28, 0x22])]
fn each_theme_paints_its_background(#[case] theme: &str, #[case] background: [u8; 3]) {
    let sandbox = Sandbox::new();
    let (_tmp, home) = fixture_home();
    let png = sandbox.root().join(format!("{theme}.png"));
    let shot = sandbox
        .run_in(
            &home,
            &[
                "screenshot",
                FIXTURE_ID,
                "--theme",
                theme,
                "--out",
                png.to_str().unwrap(),
            ],
        )
        .expect_code(0)
        .result();
    assert_eq!(shot["theme"], theme);
    assert_eq!(shot["format"], "png");
    let (w, _, rgb) = decode_png(&png);
    assert_eq!(rgb_at(w, &rgb, 0, 0), background);
    let svg = sandbox.root().join(format!("{theme}.svg"));
    sandbox
        .run_in(
            &home,
            &[
                "screenshot",
                FIXTURE_ID,
                "--theme",
                theme,
                "--format",
                "svg",
                "--out",
                svg.to_str().unwrap(),
            ],
        )
        .expect_code(0);
    let text = std::fs::read_to_string(&svg).unwrap();
    let hex = format!(
        "fill=\"#{:02x}{:02x}{:02x}\"",
        background[0], background[1], background[2]
    );
    assert!(text.contains(&hex), "{hex} not in the SVG");
}

/// The size of the fixture's screenshot with `flags`, as the result says
/// and as the PNG decodes; the SVG with the same flags is as big.
fn size_with(sandbox: &Sandbox, home: &Path, flags: &[&str]) -> (u32, u32) {
    let png = sandbox.root().join("size.png");
    let mut args = vec!["screenshot", FIXTURE_ID, "--out", png.to_str().unwrap()];
    args.extend_from_slice(flags);
    let shot = sandbox.run_in(home, &args).expect_code(0).result();
    let (w, h, _) = decode_png(&png);
    assert_eq!(
        (shot["pixelWidth"].as_u64(), shot["pixelHeight"].as_u64()),
        (Some(w.into()), Some(h.into()))
    );
    let svg = sandbox.root().join("size.svg");
    let mut args = vec![
        "screenshot",
        FIXTURE_ID,
        "--format",
        "svg",
        "--out",
        svg.to_str().unwrap(),
    ];
    args.extend_from_slice(flags);
    let svg_shot = sandbox.run_in(home, &args).expect_code(0).result();
    assert_eq!(
        (
            svg_shot["pixelWidth"].as_u64(),
            svg_shot["pixelHeight"].as_u64()
        ),
        (Some(w.into()), Some(h.into()))
    );
    (w, h)
}

#[test]
fn padding_font_size_line_height_and_the_window_bar_change_the_size_as_documented() {
    let sandbox = Sandbox::new();
    let (_tmp, home) = fixture_home();
    let (w, h) = size_with(&sandbox, &home, &[]);
    // The default look is 0.5's: 8 px of padding, no bar, the result has
    // exactly 0.5's keys.
    let default = sandbox
        .run_in(&home, &["screenshot", FIXTURE_ID])
        .expect_code(0)
        .result();
    assert!(default.get("format").is_none() && default.get("theme").is_none());
    assert!(default.get("pngSizeBytes").is_some());

    assert_eq!(
        size_with(&sandbox, &home, &["--padding", "0"]),
        (w - 16, h - 16)
    );
    assert_eq!(
        size_with(&sandbox, &home, &["--padding", "20"]),
        (w + 24, h + 24)
    );
    // The bar is twice the font size high.
    assert_eq!(size_with(&sandbox, &home, &["--window-bar"]), (w, h + 28));
    assert_eq!(
        size_with(
            &sandbox,
            &home,
            &["--window-title", "demo", "--font-size", "20"]
        )
        .1 - size_with(&sandbox, &home, &["--font-size", "20"]).1,
        40
    );
    let (tw, th) = size_with(&sandbox, &home, &["--line-height", "2"]);
    assert_eq!(tw, w);
    // Rows twice as high (the font's line height is whole pixels).
    assert_eq!(th, 2 * (h - 16) + 16);
    // Twice the font size: about twice the cells (each rounded up).
    let (bw, bh) = size_with(&sandbox, &home, &["--font-size", "28"]);
    assert!(
        bw > (w - 16) * 19 / 10 && bh > (h - 16) * 19 / 10,
        "{bw}×{bh} vs {w}×{h}"
    );
}

#[rstest]
#[case(&["--format", "jpg"], "--format must be png or svg")]
#[case(&["--embed-fonts"], "--embed-fonts applies to --format svg only")]
#[case(&["--theme", "nope"], "unknown theme \"nope\"")]
#[case(&["--theme", "/dev/null"], "not a regular file")]
#[case(&["--theme", "/nonexistent/theme.json"], "cannot read theme file")]
#[case(&["--padding=-1"], "--padding must be a whole number")]
#[case(&["--padding", "257"], "--padding must be between 0 and 256")]
#[case(&["--font-size", "0"], "--font-size must be between 6 and 72")]
#[case(&["--font-size", "1e9"], "--font-size must be a number")]
#[case(&["--font-size", "73"], "--font-size must be between 6 and 72")]
#[case(&["--line-height", "0.5"], "--line-height must be between 1 and 3")]
#[case(&["--line-height", "NaN"], "--line-height must be a number")]
#[case(&["--window-title", &"t".repeat(201)], "--window-title must be at most 200 characters")]
#[case(&["--format", "svg", "--out", "/dev/null"], "--out only creates or replaces a regular file")]
fn bad_look_values_are_refused_before_anything_is_written(
    #[case] flags: &[&str],
    #[case] message: &str,
) {
    let sandbox = Sandbox::new();
    let (_tmp, home) = fixture_home();
    let before = agent_tty_e2e::snapshot_tree(&home);
    let mut args = vec!["screenshot", FIXTURE_ID];
    args.extend_from_slice(flags);
    let r = sandbox.run_in(&home, &args);
    r.expect_code(2);
    let v = r.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["code"], "INVALID_INPUT", "{v:#}");
    let got = v["error"]["message"].as_str().unwrap();
    assert!(got.starts_with("Screenshot request is invalid: "), "{got}");
    assert!(got.contains(message), "{got}");
    assert_eq!(agent_tty_e2e::snapshot_tree(&home), before);
}

/// A theme file is the user's data: a good one paints its colours, and a
/// hostile one (markup, binary, the wrong shape, too big) is refused with
/// the reason, nothing written.
#[test]
fn a_theme_file_is_used_or_refused_with_the_reason() {
    let sandbox = Sandbox::new();
    let (_tmp, home) = fixture_home();
    let ansi: Vec<String> = (0..16).map(|i| format!("#{i:02x}{i:02x}{i:02x}")).collect();
    let good = sandbox.root().join("mine.json");
    std::fs::write(
        &good,
        serde_json::json!({"name": "mine", "background": "#123456", "foreground": "#fedcba", "ansi": ansi})
            .to_string(),
    )
    .unwrap();
    let png = sandbox.root().join("mine.png");
    let shot = sandbox
        .run_in(
            &home,
            &[
                "screenshot",
                FIXTURE_ID,
                "--theme",
                good.to_str().unwrap(),
                "--out",
                png.to_str().unwrap(),
            ],
        )
        .expect_code(0)
        .result();
    // The file's name, never its directory (a local path in a shareable
    // artifact).
    assert_eq!(
        shot["theme"],
        good.file_name().unwrap().to_str().unwrap(),
        "{shot}"
    );
    let (w, _, rgb) = decode_png(&png);
    assert_eq!(rgb_at(w, &rgb, 0, 0), [0x12, 0x34, 0x56]);

    let before = agent_tty_e2e::snapshot_tree(&home);
    for (content, why) in [
        (
            br##"{"background":"</svg><script>","foreground":"#ffffff"}"##.to_vec(),
            "\"background\" must be a colour written #rrggbb",
        ),
        (vec![0xff, 0x00, 0xfe], "not UTF-8 text"),
        (b"{\"background\": ".to_vec(), "not valid JSON"),
        (vec![b' '; 70_000], "larger than 65536 bytes"),
        (
            br##"{"background":"#000000","foreground":"#ffffff","ansi":["#000000"]}"##.to_vec(),
            "exactly 16 colours",
        ),
    ] {
        let bad = sandbox.root().join("bad.json");
        std::fs::write(&bad, &content).unwrap();
        let r = sandbox.run_in(
            &home,
            &["screenshot", FIXTURE_ID, "--theme", bad.to_str().unwrap()],
        );
        r.expect_code(2);
        let v = r.json();
        assert_eq!(v["error"]["code"], "INVALID_INPUT");
        let got = v["error"]["message"].as_str().unwrap();
        assert!(got.contains(why), "{got}");
        assert!(!got.contains('\0'));
    }
    assert_eq!(agent_tty_e2e::snapshot_tree(&home), before);
}

/// `record export --format gif` takes the same look flags: the GIF is
/// sized by them, its first frame is in the theme's colours, and its
/// metadata names the theme; a bad value is refused in the export's words.
#[test]
fn a_gif_export_is_drawn_in_the_look_asked_for() {
    let sandbox = Sandbox::new();
    let (_tmp, home) = fixture_home();
    let export = |flags: &[&str], name: &str| -> (Value, (u32, u32), Vec<u8>) {
        let path = sandbox.root().join(name);
        let mut args = vec![
            "record",
            "export",
            FIXTURE_ID,
            "--format",
            "gif",
            "--out",
            path.to_str().unwrap(),
        ];
        args.extend_from_slice(flags);
        let result = sandbox.run_in(&home, &args).expect_code(0).result();
        let mut options = gif::DecodeOptions::new();
        options.set_color_output(gif::ColorOutput::RGBA);
        let mut decoder = options
            .read_info(std::fs::File::open(&path).unwrap())
            .unwrap();
        let size = (u32::from(decoder.width()), u32::from(decoder.height()));
        let first = decoder.read_next_frame().unwrap().unwrap().buffer.to_vec();
        (result, size, first)
    };
    let (plain, (w, h), _) = export(&[], "plain.gif");
    let (themed, size, first) = export(
        &["--theme", "gruvbox-dark", "--padding", "0", "--window-bar"],
        "themed.gif",
    );
    assert_eq!(size, (w - 16, h - 16 + 28));
    assert_eq!(themed["metadata"]["theme"], "gruvbox-dark");
    assert_eq!(themed["metadata"]["profileName"], "reference-dark");
    assert_ne!(
        themed["metadata"]["renderProfileHash"],
        plain["metadata"]["renderProfileHash"]
    );
    assert!(plain["metadata"].get("theme").is_none());
    // The bottom-left pixel is the grid's background (no padding, and the
    // fixture's last row is blank at its start): gruvbox's #282828, give or
    // take the GIF palette's quantising.
    let i = (((size.1 - 1) * size.0) * 4) as usize;
    let px = &first[i..i + 3];
    assert!(
        px.iter().all(|&c| c.abs_diff(0x28) <= 4),
        "bottom-left pixel {px:?}"
    );

    let r = sandbox.run_in(
        &home,
        &[
            "record",
            "export",
            FIXTURE_ID,
            "--format",
            "gif",
            "--font-size",
            "99",
        ],
    );
    r.expect_code(2);
    let v = r.json();
    assert_eq!(v["error"]["code"], "INVALID_INPUT");
    assert_eq!(
        v["error"]["message"],
        "Record export request is invalid: --font-size must be between 6 and 72 pixels, not 99."
    );
}
