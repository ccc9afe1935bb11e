//! End-to-end tests of `screenshot` and `record export`: real bash
//! Sessions, and a Session recorded by agent-tty 0.5, captured through the
//! built binary, then every artifact decoded by a decoder that is not ours
//! (the `png` and `gif` crates' decoders; asciinema and ffprobe under CI)
//! and its *content* checked against what the screen engine says.

use agent_tty_e2e::{bash_session, create_session, required_under_ci, Sandbox};
use agent_tty_render::{Renderer, PADDING};
use agent_tty_term::profile::REFERENCE_DARK;
use rstest::rstest;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(super) const FIXTURE_ID: &str = "01M8PJ1DE3T96EGQAZHTXVB5QJ";

pub(super) fn run(sandbox: &Sandbox, home: &Path, id: &str, command: &str) {
    let r = sandbox
        .run_in(home, &["run", id, command])
        .expect_code(0)
        .result();
    assert_eq!(r["completed"], true, "{r}");
}

/// agent-tty 0.5's Home with its driven Session, copied to a temp dir
/// outside the sandbox (its manifest names pids from another machine that
/// the sandbox's clean-up must never signal).
pub(super) fn fixture_home() -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/agent-tty-0.5-capture");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sessions").join(FIXTURE_ID);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["events.jsonl", "session.json"] {
        std::fs::copy(src.join("sessions").join(FIXTURE_ID).join(f), dir.join(f)).unwrap();
    }
    let home = tmp.path().to_owned();
    (tmp, home)
}

/// A PNG (ours: a palette PNG; ffmpeg's: RGB) decoded by the `png` crate,
/// which shares no code with our writer, as RGB.
pub(super) fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

pub(super) fn rgb_at(width: u32, rgb: &[u8], x: u32, y: u32) -> [u8; 3] {
    let i = ((y * width + x) * 3) as usize;
    [rgb[i], rgb[i + 1], rgb[i + 2]]
}

pub(super) fn sha256_of(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn artifact_entries(home: &Path, id: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(
        home.join("sessions")
            .join(id)
            .join("artifacts")
            .join("manifest.json"),
    )
    .unwrap();
    let manifest: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(manifest["version"], 1);
    assert_eq!(manifest["sessionId"], id);
    manifest["artifacts"].as_array().unwrap().clone()
}

/// What the screen engine says about a Session now: its visible lines,
/// cursor and last seq (read from its files, as every capture is).
pub(super) struct Engine {
    pub(super) lines: Vec<String>,
    cursor: (u16, u16),
    pub(super) seq: u64,
}

pub(super) fn engine(home: &Path, id: &str) -> Engine {
    let dir = home.join("sessions").join(id);
    let manifest = agent_tty_core::manifest::read_manifest(&dir).unwrap();
    let replay = agent_tty_core::screen::replay_session(&dir, &manifest).unwrap();
    Engine {
        lines: replay.visible_lines(),
        cursor: replay.cursor(),
        seq: replay.last_seq().unwrap_or(0),
    }
}

/// Where `needle` is on the screen, as `(row, col)`.
fn position_of(screen: &Engine, needle: &str) -> (u16, u16) {
    for (row, text) in screen.lines.iter().enumerate() {
        if let Some(byte) = text.find(needle) {
            let col = text[..byte].chars().count() as u16;
            return (row as u16, col);
        }
    }
    panic!("{needle:?} is not on the screen: {:#?}", screen.lines);
}

#[test]
fn screenshot_of_a_live_session_shows_colours_cursor_and_wide_characters() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &["--cols", "60", "--rows", "12"]);
    run(&sandbox, &home, &id, "PS1='$ '");
    run(
        &sandbox,
        &home,
        &id,
        r"printf 'red:\033[48;2;255;0;0mRR\033[0m cjk:\033[44m界\033[0m|\n'",
    );

    let snap = engine(&home, &id);
    let shot = sandbox
        .run_in(&home, &["screenshot", &id, "--show-cursor"])
        .expect_code(0)
        .result();

    // Result fields and the artifact store.
    let path = PathBuf::from(shot["artifactPath"].as_str().unwrap());
    let seq = shot["capturedAtSeq"].as_u64().unwrap();
    assert_eq!(seq, snap.seq);
    assert_eq!(
        path,
        home.join("sessions")
            .join(&id)
            .join("artifacts")
            .join(format!("screenshot-{seq}-reference-dark.png"))
    );
    assert_eq!(shot["profileName"], "reference-dark");
    assert_eq!(
        (shot["cols"].as_u64(), shot["rows"].as_u64()),
        (Some(60), Some(12))
    );
    assert_eq!(shot["cursorVisible"], true);
    let bytes = std::fs::metadata(&path).unwrap().len();
    assert_eq!(shot["pngSizeBytes"].as_u64(), Some(bytes));
    assert_eq!(shot["sha256"].as_str().unwrap(), sha256_of(&path));
    assert_eq!(shot["renderProfileHash"].as_str().unwrap().len(), 64);
    let entries = artifact_entries(&home, &id);
    let entry = entries.last().unwrap();
    assert_eq!(entry["kind"], "screenshot");
    assert_eq!(
        entry["filename"],
        format!("screenshot-{seq}-reference-dark.png")
    );
    assert_eq!(entry["sha256"], shot["sha256"]);
    assert_eq!(entry["bytes"].as_u64(), Some(bytes));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // The PNG, decoded: cols × rows cells plus padding.
    let (w, h, rgb) = decode_png(&path);
    let renderer = Renderer::new(&REFERENCE_DARK);
    let cell = renderer.cell_size();
    assert_eq!(
        (w, h),
        (
            60 * cell.width + 2 * PADDING,
            12 * cell.height + 2 * PADDING
        )
    );
    assert_eq!(
        (shot["pixelWidth"].as_u64(), shot["pixelHeight"].as_u64()),
        (Some(w.into()), Some(h.into()))
    );
    assert_eq!(rgb_at(w, &rgb, 0, 0), REFERENCE_DARK.background);
    // The same screen again: the same bytes.
    let again = sandbox
        .run_in(
            &home,
            &[
                "screenshot",
                &id,
                "--show-cursor",
                "--out",
                &home.join("again.png").to_string_lossy(),
            ],
        )
        .expect_code(0)
        .result();
    if again["capturedAtSeq"] == shot["capturedAtSeq"] {
        assert_eq!(again["sha256"], shot["sha256"]);
    }
    // ffmpeg's decoder reads it too.
    if tool("ffprobe") {
        let probe = ffprobe(&path, &["stream=codec_name,width,height"]);
        let stream = &probe["streams"][0];
        assert_eq!(stream["codec_name"], "png");
        assert_eq!(
            (stream["width"].as_u64(), stream["height"].as_u64()),
            (Some(w.into()), Some(h.into()))
        );
    }

    // The red-background cells are red, edge to edge.
    // (The command line typed shows the same characters amid escapes; the
    // output line is the one with them side by side.)
    let (row, col) = position_of(&snap, "red:RR");
    let col = col + 4;
    let (x, y) = renderer.cell_origin(row, col);
    for (dx, dy) in [
        (0, 0),
        (2 * cell.width - 1, 0),
        (0, cell.height - 1),
        (cell.width, cell.height / 2),
    ] {
        let p = rgb_at(w, &rgb, x + dx, y + dy);
        assert!(
            p[0] > 200 && p[1] < 60 && p[2] < 60,
            "not red at +{dx},+{dy}: {p:?}"
        );
    }

    // The CJK character's blue background spans exactly two cells.
    let (row, col) = position_of(&snap, "cjk:界");
    let col = col + 4;
    let blue = REFERENCE_DARK.ansi[4];
    let (x, y) = renderer.cell_origin(row, col);
    assert_eq!(rgb_at(w, &rgb, x, y), blue);
    assert_eq!(rgb_at(w, &rgb, x + 2 * cell.width - 1, y), blue);
    assert_ne!(rgb_at(w, &rgb, x + 2 * cell.width, y), blue);
    // ...and the glyph (or its fallback box) inks both halves.
    let inked = |x0: u32| {
        (x0..x0 + cell.width)
            .flat_map(|x| (y..y + cell.height).map(move |y| (x, y)))
            .filter(|(x, y)| rgb_at(w, &rgb, *x, *y) != blue)
            .count()
    };
    assert!(inked(x) > 0 && inked(x + cell.width) > 0);

    // The cursor is a block where the engine says it is.
    let (cr, cc) = snap.cursor;
    let (x, y) = renderer.cell_origin(cr, cc);
    assert_eq!(rgb_at(w, &rgb, x, y), REFERENCE_DARK.cursor);
    assert_eq!(
        rgb_at(w, &rgb, x + cell.width - 1, y + cell.height - 1),
        REFERENCE_DARK.cursor
    );

    // Without --show-cursor the cursor is left out. The relative --out is
    // resolved against the working directory: the sandbox, so the PNG never
    // lands in the source tree.
    let hidden: agent_tty_e2e::Run = sandbox
        .command([
            "--json",
            "--home",
            home.to_str().unwrap(),
            "screenshot",
            &id,
            "--profile",
            "reference-light",
            "--out",
            "x.png",
        ])
        .current_dir(sandbox.root())
        .output()
        .expect("agent-tty runs")
        .into();
    let hidden = hidden.expect_code(0).result();
    assert_eq!(
        Path::new(hidden["artifactPath"].as_str().unwrap()),
        std::fs::canonicalize(sandbox.root()).unwrap().join("x.png")
    );
    assert_eq!(hidden["cursorVisible"], false);
    let (w2, _, rgb2) = decode_png(Path::new(hidden["artifactPath"].as_str().unwrap()));
    assert_eq!(
        rgb_at(w2, &rgb2, 0, 0),
        agent_tty_term::profile::REFERENCE_LIGHT.background
    );
    assert_ne!(
        rgb_at(w2, &rgb2, x, y),
        agent_tty_term::profile::REFERENCE_LIGHT.cursor
    );
    sandbox.kill_all();
}

#[rstest]
#[case(&["screenshot", "ID", "--show-cursor", "--hide-cursor"], 2, "INVALID_INPUT", "--show-cursor and --hide-cursor are mutually exclusive.")]
#[case(&["screenshot", "ID", "--profile", "nope"], 2, "INVALID_INPUT", "unknown render profile: nope")]
#[case(&["screenshot", "../x"], 2, "INVALID_SESSION_ID", "")]
#[case(&["screenshot", "01M8PJ1DE3T96EGQAZHTXVB5QX"], 3, "SESSION_NOT_FOUND", "")]
#[case(&["record", "export", "ID", "--format", "mp4"], 2, "INVALID_INPUT", "Record export format must be one of: asciicast, gif, webm.")]
#[case(&["record", "export", "ID"], 2, "INVALID_INPUT", "Record export format must be one of")]
#[case(&["record", "export", "ID", "--format", "asciicast", "--timing", "slow"], 2, "INVALID_INPUT", "Replay timing mode must be one of: recorded, accelerated, max-speed.")]
#[case(&["record", "export", "ID", "--format", "gif", "--speed", "0"], 2, "INVALID_INPUT", "--speed")]
#[case(&["record", "export", "ID", "--format", "asciicast", "--idle-time-limit", "0"], 2, "INVALID_INPUT", "--idle-time-limit must be")]
#[case(&["record", "export", "ID", "--format", "gif", "--idle-time-limit", "soon"], 2, "INVALID_INPUT", "--idle-time-limit must be")]
#[case(&["record", "export", "ID", "--format", "asciicast", "--out", "/nonexistent-dir/x.cast"], 7, "EXPORT_ERROR", "Failed to export session \"01M8PJ1DE3T96EGQAZHTXVB5QJ\" as asciicast.")]
fn bad_requests_fail_with_the_contract_codes(
    #[case] args: &[&str],
    #[case] exit: i32,
    #[case] code: &str,
    #[case] message: &str,
) {
    let sandbox = Sandbox::new();
    let (_tmp, home) = fixture_home();
    let args: Vec<&str> = args
        .iter()
        .map(|a| if *a == "ID" { FIXTURE_ID } else { a })
        .collect();
    let before = agent_tty_e2e::snapshot_tree(&home);
    let r = sandbox.run_in(&home, &args);
    r.expect_code(exit);
    let v = r.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["code"], code, "{v:#}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains(message),
        "{v:#}"
    );
    // A refused capture writes nothing.
    assert_eq!(agent_tty_e2e::snapshot_tree(&home), before);
}

#[test]
fn asciicast_of_a_0_5_session_matches_what_0_5_exported() {
    let sandbox = Sandbox::new();
    let (_tmp, home) = fixture_home();
    let r = sandbox
        .run_in(
            &home,
            &["record", "export", FIXTURE_ID, "--format", "asciicast"],
        )
        .expect_code(0)
        .result();
    let path = PathBuf::from(r["artifactPath"].as_str().unwrap());
    assert_eq!(
        path,
        home.join("sessions")
            .join(FIXTURE_ID)
            .join("artifacts/recording-24-asciicast.cast")
    );
    assert_eq!(r["capturedAtSeq"], 24);
    assert_eq!(
        r["bytes"].as_u64(),
        Some(std::fs::metadata(&path).unwrap().len())
    );
    assert_eq!(r["sha256"].as_str().unwrap(), sha256_of(&path));
    let ours = std::fs::read_to_string(&path).unwrap();
    let theirs = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/agent-tty-0.5-capture/drive.cast"),
    )
    .unwrap();
    // Header: the same keys in the same order; only toolVersion differs.
    let header = |s: &str| -> Vec<(String, Value)> {
        let v: serde_json::Map<String, Value> =
            serde_json::from_str(s.lines().next().unwrap()).unwrap();
        v.into_iter().filter(|(k, _)| k != "toolVersion").collect()
    };
    assert_eq!(header(&ours), header(&theirs));
    // 0.5 exported at seq 21; our log goes on to seq 24, so theirs is a prefix.
    let our_events: Vec<&str> = ours.lines().skip(1).collect();
    let their_events: Vec<&str> = theirs.lines().skip(1).collect();
    assert_eq!(&our_events[..their_events.len()], &their_events[..]);
    assert!(!ours.contains("__AT_MARKER_"));
    let entry = artifact_entries(&home, FIXTURE_ID).pop().unwrap();
    assert_eq!(entry["kind"], "recording");
    assert_eq!(entry["metadata"]["format"], "asciicast");
    assert_eq!(entry["metadata"]["markerCount"], 1);
}

/// Tools that a test needs beyond the Rust toolchain: required under CI
/// (where `.ci/run` installs them), skipped with a message elsewhere.
pub(super) fn tool(name: &str) -> bool {
    // ffmpeg's tools spell it `-version`.
    let version_flag = if name.starts_with("ff") {
        "-version"
    } else {
        "--version"
    };
    let found = Command::new(name)
        .arg(version_flag)
        .output()
        .is_ok_and(|o| o.status.success());
    required_under_ci(
        name,
        found,
        "apt-get install ffmpeg librsvg2-bin / pip install asciinema",
    )
}

/// `ffprobe -show_entries ENTRIES -of json` of the first video stream,
/// counting frames; fails the test when ffprobe refuses the file.
fn ffprobe(path: &Path, entries: &[&str]) -> Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_frames"])
        .args(["-show_entries", &entries.join(":")])
        .args(["-of", "json"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffprobe refused {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn recordings_of_a_live_session_decode_to_its_screens() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let id = bash_session(&sandbox, &home, &["--cols", "40", "--rows", "8"]);
    run(&sandbox, &home, &id, "PS1='$ '");
    run(
        &sandbox,
        &home,
        &id,
        r"for i in 1 2 3; do printf 'step-%s \033[48;2;255;0;0m    \033[0m|\n' $i; sleep 0.3; done",
    );
    let snap = engine(&home, &id);

    // GIF: several frames; the last composed frame shows the red cells.
    let gif = sandbox
        .run_in(&home, &["record", "export", &id, "--format", "gif"])
        .expect_code(0)
        .result();
    let gif_path = PathBuf::from(gif["artifactPath"].as_str().unwrap());
    assert!(gif_path.ends_with(format!(
        "artifacts/recording-{}-gif.gif",
        gif["capturedAtSeq"]
    )));
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options
        .read_info(std::fs::File::open(&gif_path).unwrap())
        .unwrap();
    let (gw, gh) = (u32::from(decoder.width()), u32::from(decoder.height()));
    let renderer = Renderer::new(&REFERENCE_DARK);
    let cell = renderer.cell_size();
    assert_eq!(
        (gw, gh),
        (40 * cell.width + 2 * PADDING, 8 * cell.height + 2 * PADDING)
    );
    let mut canvas = vec![0u8; (gw * gh * 4) as usize];
    let mut frames = 0;
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        frames += 1;
        for y in 0..u32::from(frame.height) {
            for x in 0..u32::from(frame.width) {
                let src = ((y * u32::from(frame.width) + x) * 4) as usize;
                let dst =
                    (((y + u32::from(frame.top)) * gw + x + u32::from(frame.left)) * 4) as usize;
                canvas[dst..dst + 4].copy_from_slice(&frame.buffer[src..src + 4]);
            }
        }
    }
    assert!(frames >= 3, "only {frames} GIF frames");
    assert_eq!(gif["metadata"]["frameCount"].as_u64(), Some(frames));
    // Four red blank cells follow `step-3 `; look at the second.
    let (row, col) = position_of(&snap, "step-3 ");
    let col = col + 8;
    let (x, y) = renderer.cell_origin(row, col);
    let i = (((y + 1) * gw + x + 1) * 4) as usize;
    let p = &canvas[i..i + 3];
    assert!(
        p[0] > 200 && p[1] < 60 && p[2] < 60,
        "GIF's last frame is not red there: {p:?}"
    );
    // ffmpeg's GIF decoder reads every frame.
    if tool("ffprobe") {
        let probe = ffprobe(&gif_path, &["stream=codec_name,nb_read_frames"]);
        assert_eq!(probe["streams"][0]["codec_name"], "gif");
        let read: u64 = probe["streams"][0]["nb_read_frames"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(read, frames);
    }
    // Faster timings are never longer than the recorded one.
    let recorded_ms = gif["metadata"]["videoDurationMs"].as_u64().unwrap();
    for timing in ["accelerated", "max-speed"] {
        let faster = sandbox
            .run_in(
                &home,
                &[
                    "record",
                    "export",
                    &id,
                    "--format",
                    "gif",
                    "--timing",
                    timing,
                    "--out",
                    &home.join("fast.gif").to_string_lossy(),
                ],
            )
            .expect_code(0)
            .result();
        let ms = faster["metadata"]["videoDurationMs"].as_u64().unwrap();
        assert!(
            ms <= recorded_ms,
            "{timing}: {ms} ms > recorded {recorded_ms} ms"
        );
    }

    // WebM: a real AV1 stream whose length is the timeline's.
    let webm = sandbox
        .run_in(&home, &["record", "export", &id, "--format", "webm"])
        .expect_code(0)
        .result();
    let webm_path = PathBuf::from(webm["artifactPath"].as_str().unwrap());
    let bytes = std::fs::read(&webm_path).unwrap();
    assert_eq!(&bytes[..4], &[0x1a, 0x45, 0xdf, 0xa3], "not an EBML file");
    // agent-tty 0.5's WebM metadata, key for key (its readers compare
    // whole results); the pixel size and length are the GIF's.
    let mut keys: Vec<&str> = webm["metadata"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "height",
            "outputEventCount",
            "profileName",
            "renderProfileHash",
            "rendererBackend",
            "resizeEventCount",
            "timingMode",
            "width"
        ]
    );
    if tool("ffprobe") {
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0", "-count_frames"])
            .args(["-show_entries", "stream=codec_type,codec_name,width,height,nb_read_frames:format=duration,format_name"])
            .args(["-of", "json"])
            .arg(&webm_path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let probe: Value = serde_json::from_slice(&out.stdout).unwrap();
        let stream = &probe["streams"][0];
        assert_eq!(stream["codec_type"], "video");
        assert_eq!(stream["codec_name"], "av1");
        // 4:2:0 video has even sizes.
        assert_eq!(
            stream["width"].as_u64(),
            gif["metadata"]["pixelWidth"]
                .as_u64()
                .map(|w| w.next_multiple_of(2))
        );
        assert!(probe["format"]["format_name"]
            .as_str()
            .unwrap()
            .contains("webm"));
        let frames: u64 = stream["nb_read_frames"].as_str().unwrap().parse().unwrap();
        assert!(frames >= 3, "{probe:#}");
        let duration: f64 = probe["format"]["duration"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        // A GIF caps idle gaps at 2 s by default, a WebM does not: compare
        // with a GIF made without the cap (the same timeline otherwise).
        let uncapped = sandbox
            .run_in(
                &home,
                &[
                    "record",
                    "export",
                    &id,
                    "--format",
                    "gif",
                    "--idle-time-limit",
                    "86400",
                    "--out",
                    webm_path.with_extension("uncapped.gif").to_str().unwrap(),
                ],
            )
            .expect_code(0)
            .result();
        let expected = uncapped["metadata"]["videoDurationMs"].as_f64().unwrap() / 1000.0;
        assert!(
            (duration - expected).abs() < 0.1,
            "ffprobe says {duration} s, expected {expected} s"
        );
        // The recorded gaps are kept: three steps 0.3 s apart at least.
        assert!(duration > 1.5, "{duration}");
        // And its last frame, decoded by ffmpeg, shows the red cells.
        let png_path = webm_path.with_extension("last.png");
        let st = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-sseof", "-0.3", "-i"])
            .arg(&webm_path)
            .args(["-frames:v", "1", "-update", "1"])
            .arg(&png_path)
            .status()
            .unwrap();
        assert!(st.success());
        let (w, _, rgb) = decode_png(&png_path);
        let p = rgb_at(w, &rgb, x + cell.width / 2, y + cell.height / 2);
        assert!(
            p[0] > 170 && p[1] < 90 && p[2] < 90,
            "video's last frame is not red there: {p:?}"
        );
    }

    // asciicast: asciinema itself plays it back to the Session's screen.
    let cast = sandbox
        .run_in(
            &home,
            &[
                "record",
                "export",
                &id,
                "--format",
                "asciicast",
                "--out",
                &home.join("demo.cast").to_string_lossy(),
            ],
        )
        .expect_code(0)
        .result();
    let cast_path = PathBuf::from(cast["artifactPath"].as_str().unwrap());
    assert_eq!(cast_path, home.join("demo.cast"));
    if tool("asciinema") {
        let out = Command::new("asciinema")
            .arg("cat")
            .arg(&cast_path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut parser = vt100::Parser::new(8, 40, 0);
        parser.process(&out.stdout);
        let replayed: Vec<String> = parser
            .screen()
            .rows(0, 40)
            .map(|r| r.trim_end().to_owned())
            .collect();
        assert_eq!(replayed, snap.lines);
    }

    // --idle-time-limit: every pause in the cast becomes at most 0.05 s,
    // and asciinema still plays it to the same screen.
    let limited_path = home.join("limited.cast");
    sandbox
        .run_in(
            &home,
            &[
                "record",
                "export",
                &id,
                "--format",
                "asciicast",
                "--idle-time-limit",
                "0.05",
                "--out",
                &limited_path.to_string_lossy(),
            ],
        )
        .expect_code(0);
    let times = |path: &Path| -> Vec<f64> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()[0]
                    .as_f64()
                    .unwrap()
            })
            .collect()
    };
    let (full, limited) = (times(&cast_path), times(&limited_path));
    assert_eq!(full.len(), limited.len());
    // The sleeps left pauses longer than the limit.
    assert!(full.windows(2).any(|w| w[1] - w[0] > 0.06), "{full:?}");
    assert!(
        limited
            .windows(2)
            .all(|w| w[1] >= w[0] && w[1] - w[0] <= 0.05 + 1e-9),
        "{limited:?}"
    );
    assert!(limited.last() < full.last(), "{limited:?} {full:?}");
    if tool("asciinema") {
        let out = Command::new("asciinema")
            .arg("cat")
            .arg(&limited_path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut parser = vt100::Parser::new(8, 40, 0);
        parser.process(&out.stdout);
        let replayed: Vec<String> = parser
            .screen()
            .rows(0, 40)
            .map(|r| r.trim_end().to_owned())
            .collect();
        assert_eq!(replayed, snap.lines);
    }
    sandbox.kill_all();
}

#[test]
fn exports_work_on_an_ended_session_and_a_0_5_one() {
    let sandbox = Sandbox::new();
    let home = sandbox.home("h");
    let (id, _) = create_session(&sandbox, &home, &["--", "sh", "-c", "printf 'bye\\n'"]);
    let ended = agent_tty_e2e::eventually(std::time::Duration::from_secs(10), || {
        let m = sandbox.run_in(&home, &["inspect", &id]).result();
        (m["status"] != "running").then_some(())
    });
    assert!(ended.is_some(), "the Session never ended");
    let (_fixture, fixture) = fixture_home();
    for (home, id) in [(home.clone(), id.clone()), (fixture, FIXTURE_ID.to_owned())] {
        let shot = sandbox
            .run_in(&home, &["screenshot", &id])
            .expect_code(0)
            .result();
        assert!(Path::new(shot["artifactPath"].as_str().unwrap()).is_file());
        for format in ["asciicast", "gif", "webm"] {
            let r = sandbox
                .run_in(
                    &home,
                    &[
                        "record",
                        "export",
                        &id,
                        "--format",
                        format,
                        "--timing",
                        "max-speed",
                    ],
                )
                .expect_code(0)
                .result();
            assert!(r["bytes"].as_u64().unwrap() > 0, "{r}");
        }
        let kinds: Vec<String> = artifact_entries(&home, &id)
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            kinds.ends_with(&[
                "screenshot".into(),
                "recording".into(),
                "video".into(),
                "video".into()
            ]),
            "{kinds:?}"
        );
    }
    sandbox.kill_all();
}

#[test]
fn a_missing_event_log_is_an_export_error_and_an_empty_one_a_header() {
    let sandbox = Sandbox::new();
    let (_tmp, home) = fixture_home();
    let log = home.join("sessions").join(FIXTURE_ID).join("events.jsonl");
    std::fs::remove_file(&log).unwrap();
    let r = sandbox.run_in(
        &home,
        &["record", "export", FIXTURE_ID, "--format", "asciicast"],
    );
    r.expect_code(7);
    let v = r.json();
    assert_eq!(v["error"]["code"], "EXPORT_ERROR");
    assert_eq!(v["error"]["details"]["sessionId"], FIXTURE_ID);
    assert_eq!(v["error"]["details"]["format"], "asciicast");

    std::fs::write(&log, "").unwrap();
    let r = sandbox
        .run_in(
            &home,
            &["record", "export", FIXTURE_ID, "--format", "asciicast"],
        )
        .expect_code(0)
        .result();
    assert_eq!(r["capturedAtSeq"], 0);
    assert_eq!(r["durationMs"], 0);
    let cast = std::fs::read_to_string(r["artifactPath"].as_str().unwrap()).unwrap();
    assert_eq!(cast.lines().count(), 1, "{cast}");
    assert!(cast.starts_with(r#"{"version":2,"width":100,"height":30,"timestamp":"#));
    // Pictures need at least one event.
    let r = sandbox.run_in(&home, &["record", "export", FIXTURE_ID, "--format", "webm"]);
    r.expect_code(7);
}
