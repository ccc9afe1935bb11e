use super::*;
use crate::font::FontOrigin;
use agent_tty_core::event_log::{Event, EventBody};
use agent_tty_core::screen::ScreenReplay;
use agent_tty_term::profile::{REFERENCE_DARK, REFERENCE_LIGHT};

pub(crate) fn screen_of(cols: u16, rows: u16, bytes: &str) -> ScreenReplay {
    let mut replay = ScreenReplay::new(cols, rows);
    replay.apply(&Event {
        seq: 0,
        ts: "2026-01-01T00:00:00.000Z".into(),
        body: EventBody::Output { data: bytes.into() },
    });
    replay
}

/// `bytes` written to a fresh `cols` × `rows` screen, drawn by `r`.
fn draw(r: &mut Renderer, cols: u16, rows: u16, bytes: &str, cursor: Option<(u16, u16)>) -> Image {
    let cells = screen_of(cols, rows, bytes).visible_cells();
    r.render(&Screen {
        cells: &cells,
        cursor,
    })
}

/// [`draw`] as a PNG screenshot draws: shades fitted to a 256-colour
/// palette.
fn draw_for_png(r: &mut Renderer, cols: u16, rows: u16, bytes: &str) -> Image {
    let cells = screen_of(cols, rows, bytes).visible_cells();
    let screen = Screen {
        cells: &cells,
        cursor: None,
    };
    r.fit_shades_to_palette(&screen, 256);
    r.render(&screen)
}

fn count(image: &Image, x0: u32, y0: u32, w: u32, h: u32, pred: impl Fn(Rgb) -> bool) -> u32 {
    let mut n = 0;
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            if pred(image.pixel(x, y)) {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn image_size_follows_the_grid_and_cell_size() {
    let mut r = Renderer::new(&REFERENCE_DARK);
    let cell = r.cell_size();
    assert!(cell.width >= 7 && cell.height >= 14, "{cell:?}");
    let image = draw(&mut r, 80, 24, "hello", None);
    assert_eq!(image.width, 80 * cell.width + 2 * PADDING);
    assert_eq!(image.height, 24 * cell.height + 2 * PADDING);
    assert_eq!(image.rgb.len(), (image.width * image.height * 3) as usize);
    // A blank corner is the profile's background.
    assert_eq!(image.pixel(0, 0), REFERENCE_DARK.background);
}

#[test]
fn colours_inverse_and_text_land_in_their_cells() {
    let mut r = Renderer::new(&REFERENCE_DARK);
    let image = draw(
        &mut r,
        10,
        2,
        "\x1b[48;2;255;0;0m  \x1b[0m\x1b[7mX\x1b[0m\x1b[48;5;21m \x1b[0mM",
        None,
    );
    let cell = r.cell_size();
    let (x, y) = r.cell_origin(0, 0);
    // The red cells are red all over.
    assert_eq!(
        count(&image, x, y, 2 * cell.width, cell.height, |p| p
            == [255, 0, 0]),
        2 * cell.width * cell.height
    );
    // Inverse: default fg as the background.
    let (x, y) = r.cell_origin(0, 2);
    assert_eq!(image.pixel(x, y), REFERENCE_DARK.foreground);
    // 256-colour 21 is pure blue in the xterm cube.
    let (x, y) = r.cell_origin(0, 3);
    assert_eq!(image.pixel(x + 1, y + 1), [0, 0, 255]);
    // `M` put some foreground-ish ink in its cell.
    let (x, y) = r.cell_origin(0, 4);
    assert!(
        count(&image, x, y, cell.width, cell.height, |p| p
            != REFERENCE_DARK.background)
            > 10
    );
}

#[test]
fn the_cursor_is_a_block_where_the_engine_says() {
    let mut r = Renderer::new(&REFERENCE_LIGHT);
    let replay = screen_of(10, 3, "ab\r\ncd");
    let (row, col) = replay.cursor();
    assert_eq!((row, col), (1, 2));
    let cells = replay.visible_cells();
    let image = r.render(&Screen {
        cells: &cells,
        cursor: Some((row, col)),
    });
    let (x, y) = r.cell_origin(row, col);
    let cell = r.cell_size();
    assert_eq!(
        count(&image, x, y, cell.width, cell.height, |p| p
            == REFERENCE_LIGHT.cursor),
        cell.width * cell.height
    );
    let hidden = r.render(&Screen {
        cells: &cells,
        cursor: None,
    });
    assert_eq!(hidden.pixel(x + 1, y + 1), REFERENCE_LIGHT.background);
}

#[test]
fn a_wide_character_spans_two_cells() {
    let mut r = Renderer::new(&REFERENCE_DARK);
    let replay = screen_of(10, 1, "\x1b[41m界\x1b[0m");
    let cells = replay.visible_cells();
    assert_eq!(cells[0][0].width, CellWidth::Wide);
    let image = r.render(&Screen {
        cells: &cells,
        cursor: None,
    });
    let cell = r.cell_size();
    let (x, y) = r.cell_origin(0, 0);
    let red = REFERENCE_DARK.ansi[1];
    // The background covers both columns...
    assert_eq!(image.pixel(x + 2 * cell.width - 1, y), red);
    // ...the third column is untouched...
    assert_eq!(
        image.pixel(x + 2 * cell.width, y),
        REFERENCE_DARK.background
    );
    // ...and the glyph (or its fallback box) has ink in both halves.
    let ink = |p: Rgb| p != red;
    assert!(count(&image, x, y, cell.width, cell.height, ink) > 0);
    assert!(count(&image, x + cell.width, y, cell.width, cell.height, ink) > 0);
}

#[test]
fn missing_glyphs_draw_a_visible_box() {
    let mut r = Renderer::new(&REFERENCE_DARK);
    // U+E000 is a private-use character no bundled face has.
    let image = draw(&mut r, 4, 1, "\u{e000}", None);
    let cell = r.cell_size();
    let (x, y) = r.cell_origin(0, 0);
    let fg = REFERENCE_DARK.foreground;
    assert!(count(&image, x, y, cell.width, cell.height, |p| p == fg) >= cell.height);
}

#[test]
fn attributes_change_pixels() {
    let mut r = Renderer::new(&REFERENCE_DARK);
    let render = |r: &mut Renderer, s: &str| draw(r, 4, 1, s, None);
    let plain = render(&mut r, "A");
    for styled in ["\x1b[1mA", "\x1b[3mA", "\x1b[4mA", "\x1b[2mA", "\x1b[9mA"] {
        // strikethrough is only visible where the engine tracks it.
        let image = render(&mut r, styled);
        if styled == "\x1b[9mA" {
            continue;
        }
        assert_ne!(image, plain, "{styled:?} looks like plain text");
    }
}

#[test]
fn png_encoding_round_trips() {
    let mut r = Renderer::new(&REFERENCE_DARK);
    let image = draw(&mut r, 20, 5, "png", Some((0, 3)));
    let (width, height, rgb) = decode(&image.to_png());
    assert_eq!((width, height), (image.width, image.height));
    assert_eq!(&rgb[..3], &REFERENCE_DARK.background);
    // Few colours: a palette holds them all, every pixel survives.
    assert_eq!(rgb, image.rgb);
}

/// A PNG decoded by the `png` crate (which shares no code with our
/// writer), palettes expanded: `(width, height, rgb)`.
fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// The bench's worst case: a 200×60 screen of words in all 256 colours,
/// tens of thousands of shades once anti-aliased; with `fit`, drawn as a
/// PNG screenshot draws it (shades fitted to the palette).
fn colourful_screen(r: &mut Renderer, fit: bool) -> Image {
    let (cols, rows) = (200u16, 60u16);
    let mut s = String::new();
    for row in 0..u32::from(rows) {
        for col in (0..u32::from(cols) - 7).step_by(8) {
            let colour = (row * 7 + col) % 256;
            s += &format!("\x1b[38;5;{colour}mword{}\x1b[0m ~ ", (row + col) % 10);
        }
        if row + 1 < u32::from(rows) {
            s += "\r\n";
        }
    }
    if fit {
        draw_for_png(r, cols, rows, &s)
    } else {
        draw(r, cols, rows, &s, None)
    }
}

#[test]
fn a_many_coloured_screen_as_png_is_exact_small_and_deterministic() {
    let mut r = Renderer::new(&REFERENCE_DARK);
    let image = colourful_screen(&mut r, true);
    let bytes = image.to_png();
    // The same bytes however many threads compress it, and every time.
    assert_eq!(bytes, png_file::encode_on(&image, 1));
    assert_eq!(bytes, png_file::encode_on(&image, 3));
    assert_eq!(bytes, colourful_screen(&mut r, true).to_png());
    // The shades were fitted to the palette: every pixel survives.
    let (width, height, rgb) = decode(&bytes);
    assert_eq!((width, height), (image.width, image.height));
    assert!(rgb == image.rgb, "pixels changed by the palette");
    // Far smaller than its RGB (5.6 MB): the goal.
    assert!(bytes.len() <= 250_000, "{} bytes", bytes.len());
}

#[test]
fn a_screen_with_more_colours_than_the_palette_is_decodable_and_close() {
    let mut r = Renderer::new(&REFERENCE_DARK);
    // Shades not fitted (as a recording's frames are drawn).
    let image = colourful_screen(&mut r, false);
    let bytes = image.to_png();
    assert_eq!(bytes, png_file::encode_on(&image, 1));
    let (width, height, rgb) = decode(&bytes);
    assert_eq!((width, height), (image.width, image.height));
    // 256 colours kept of tens of thousands: the background and the flat
    // colours exact, the shades at glyph edges near.
    let exact = rgb
        .chunks_exact(3)
        .zip(image.rgb.chunks_exact(3))
        .filter(|(a, b)| a == b)
        .count();
    let pixels = rgb.len() / 3;
    assert!(exact * 10 > pixels * 8, "{exact} of {pixels} exact");
    let worst = rgb
        .iter()
        .zip(&image.rgb)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(worst < 128, "a channel off by {worst}");
}

/// A screen whose shades fit the palette is drawn as rasterised; more
/// colours of text get fewer levels, so the PNG stays exact.
#[test]
fn fitted_shades_keep_a_png_exact() {
    let one = "plain text, one colour: $ ls -la ~/src";
    let plain = draw(&mut Renderer::new(&REFERENCE_DARK), 40, 2, one, None);
    let fitted = draw_for_png(&mut Renderer::new(&REFERENCE_DARK), 40, 2, one);
    assert!(plain == fitted, "one colour of text was quantised");
    let mut sixteen = String::from("\x1b[31mred\x1b[0m plain \x1b[1;32mbold\x1b[0m\r\n");
    for i in 0..16 {
        sixteen += &format!("\x1b[38;5;{i}mw{i}@ ");
    }
    for text in [&sixteen[..sixteen.find('\r').unwrap()], &sixteen] {
        let image = draw_for_png(&mut Renderer::new(&REFERENCE_DARK), 80, 2, text);
        let (_, _, rgb) = decode(&image.to_png());
        assert!(rgb == image.rgb, "{text:?} lost a shade");
    }
}

#[test]
fn profile_hashes_differ_and_are_stable() {
    let dark = render_profile_hash(&REFERENCE_DARK);
    assert_eq!(dark.len(), 64);
    assert_eq!(dark, render_profile_hash(&REFERENCE_DARK));
    assert_ne!(dark, render_profile_hash(&REFERENCE_LIGHT));
}

#[test]
fn changed_rect_and_yuv_of_two_frames() {
    let mut r = Renderer::new(&REFERENCE_DARK);
    let ia = draw(&mut r, 10, 3, "one", None);
    let ib = draw(&mut r, 10, 3, "one\r\n  x", None);
    assert_eq!(ia.changed_rect(&ia), None);
    let (left, top, w, h) = ia.changed_rect(&ib).unwrap();
    let (x, y) = r.cell_origin(1, 2);
    let cell = r.cell_size();
    assert!(left >= x && left + w <= x + cell.width, "{left} {w}");
    assert!(top >= y && top + h <= y + cell.height);
    assert_eq!(ib.crop((left, top, w, h)).len(), (w * h * 3) as usize);
    let yuv = ia.to_yuv420(ia.width as usize + 1, ia.height as usize);
    assert_eq!(yuv.y.len(), (ia.width as usize + 1) * ia.height as usize);
    // The dark background is dark in luma.
    assert!(yuv.y[0] < 50, "{}", yuv.y[0]);
}

/// The bounding box of the pixels of `image` that are not `bg`, within
/// `(x0, y0, w, h)`, as `(left, top, right, bottom)` (inclusive).
fn ink_bounds(image: &Image, (x0, y0, w, h): Rect, bg: Rgb) -> Option<(u32, u32, u32, u32)> {
    let mut bounds: Option<(u32, u32, u32, u32)> = None;
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            if image.pixel(x, y) != bg {
                let b = bounds.get_or_insert((x, y, x, y));
                *b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
            }
        }
    }
    bounds
}

#[test]
fn fallback_glyphs_stay_inside_their_cells() {
    let mut r = Renderer::new(&REFERENCE_DARK);
    let cell = r.cell_size();
    let bg = REFERENCE_DARK.background;
    // A wide emoji in cells 1–2 and a Nerd Font icon (single) in cell 4.
    let image = draw(&mut r, 8, 1, " 😀 \u{f09b}", None);
    assert!(r.missing_glyphs().is_empty(), "{:?}", r.missing_glyphs());
    let (x, y) = r.cell_origin(0, 0);
    let whole = (x, y, 8 * cell.width, cell.height);
    let (ox, _) = r.cell_origin(0, 1);
    let emoji = ink_bounds(&image, (ox, y, 2 * cell.width, cell.height), bg).unwrap();
    // The emoji is drawn across both of its cells, about centred...
    assert!(
        emoji.0 < ox + cell.width && emoji.2 >= ox + cell.width,
        "{emoji:?}"
    );
    // ...and nothing of it spills into the cells around it.
    let (ix, _) = r.cell_origin(0, 4);
    assert_eq!(
        ink_bounds(&image, (x, y, ox - x, cell.height), bg),
        None,
        "ink left of the emoji"
    );
    assert_eq!(
        ink_bounds(
            &image,
            (
                ox + 2 * cell.width,
                y,
                ix - ox - 2 * cell.width,
                cell.height
            ),
            bg
        ),
        None,
        "ink between the emoji and the icon"
    );
    let icon = ink_bounds(&image, (ix, y, cell.width, cell.height), bg).unwrap();
    assert!(
        icon.2 - icon.0 + 1 >= cell.width / 2,
        "a legible icon: {icon:?}"
    );
    assert_eq!(
        ink_bounds(&image, whole, bg).unwrap().2,
        icon.2,
        "the icon is the last ink"
    );
}

#[test]
fn joiners_and_variation_selectors_draw_nothing_and_are_not_missing() {
    let mut r = Renderer::new(&REFERENCE_DARK);
    let plain = draw(&mut r, 6, 1, "❤ a", None);
    let with_marks = draw(&mut r, 6, 1, "❤\u{fe0e} a\u{200d}", None);
    assert_eq!(plain, with_marks);
    assert!(r.missing_glyphs().is_empty(), "{:?}", r.missing_glyphs());
}

#[test]
fn each_character_names_what_draws_it() {
    let mut r = Renderer::new(&REFERENCE_DARK);
    assert_eq!(r.glyph_source('─', false, false), GlyphSource::Procedural);
    assert_eq!(r.glyph_source('⣿', true, false), GlyphSource::Procedural);
    assert_eq!(
        r.glyph_source('\u{200d}', false, false),
        GlyphSource::Invisible
    );
    let family = |s: GlyphSource| match s {
        GlyphSource::Font(info) => {
            assert_eq!(info.origin, FontOrigin::Bundled);
            info.family
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(family(r.glyph_source('a', true, true)), FONT_FAMILY);
    assert_eq!(family(r.glyph_source('😀', false, false)), "Noto Emoji");
    assert_eq!(
        family(r.glyph_source('\u{e0a0}', false, false)),
        BUNDLED_FAMILIES[1]
    );
    // A noncharacter-free private-use code point of plane 16 no font has.
    assert_eq!(
        r.glyph_source('\u{10fffd}', false, false),
        GlyphSource::Missing
    );
    let image = draw(&mut r, 4, 1, "\u{10fffd}", None);
    assert_eq!(r.missing_glyphs(), ['\u{10fffd}']);
    assert_ne!(
        image.pixel(PADDING + 1, PADDING + 2),
        REFERENCE_DARK.background
    );
}

#[test]
fn a_cjk_character_comes_from_a_system_font_when_one_has_it() {
    let mut r = Renderer::new(&REFERENCE_DARK);
    match r.glyph_source('日', false, false) {
        GlyphSource::Font(info) => {
            assert!(matches!(info.origin, FontOrigin::System { .. }), "{info:?}");
            let image = draw(&mut r, 4, 1, "日", None);
            let cell = r.cell_size();
            let (x, y) = r.cell_origin(0, 0);
            let ink = ink_bounds(
                &image,
                (x, y, 2 * cell.width, cell.height),
                REFERENCE_DARK.background,
            );
            assert!(ink.is_some());
            assert!(r.missing_glyphs().is_empty());
        }
        GlyphSource::Missing => {
            // .ci/install-tools installs it: under CI its absence is a failure.
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "no system font has CJK under CI=true"
            );
            eprintln!("SKIPPED: no system font has CJK here (apt-get install fonts-noto-cjk)");
        }
        other => panic!("{other:?}"),
    }
}

/// The same screen of bundled-font characters gives these exact pixels on
/// every machine: no system font, no clock, no map order reaches them. (A
/// deliberate change of the drawing changes this hash; update it then.)
#[test]
fn bundled_font_pixels_are_pinned() {
    let mut r = Renderer::bundled_only(&REFERENCE_DARK);
    let image = draw(
        &mut r,
        24,
        4,
        "Hi é ✅ 😀 \u{e0b0}\u{e0a0}\r\n─┼─ ╭─╮ ▀▄█░ ⣿⡇\r\n\x1b[1;31mbold\x1b[0;3m it\x1b[0m",
        None,
    );
    assert!(r.missing_glyphs().is_empty(), "{:?}", r.missing_glyphs());
    assert_eq!(
        agent_tty_core::artifacts::sha256_hex(&image.rgb),
        "e55d6dbf75c398cb4c911b315933a05dcf28a5d45a158a2fcbef8c4e9edf686b"
    );
}

/// Whether a pixel is off the line from the background to the foreground
/// (not text, nor its anti-aliased edge: another colour).
fn is_other_colour(p: Rgb) -> bool {
    let (fg, bg) = (REFERENCE_DARK.foreground, REFERENCE_DARK.background);
    !(0..=255).any(|a| {
        let m = mix(fg, bg, a);
        (0..3).all(|i| p[i].abs_diff(m[i]) <= 3)
    })
}

#[test]
fn emoji_are_drawn_in_colour_when_a_colour_emoji_font_is_installed() {
    let mut r = Renderer::new(&REFERENCE_DARK);
    let Some(font) = r.fonts().colour_emoji_font().cloned() else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "no colour emoji font under CI=true"
        );
        eprintln!("SKIPPED: no colour emoji font here (apt-get install fonts-noto-color-emoji)");
        return;
    };
    assert!(matches!(font.origin, FontOrigin::System { .. }), "{font:?}");
    let cell = r.cell_size();
    // 😀 and ✅ (wide), a flag (two cells), and plain text beside them.
    let image = draw(&mut r, 12, 1, "😀✅🇯🇵ab", None);
    assert!(r.missing_glyphs().is_empty(), "{:?}", r.missing_glyphs());
    let bg = REFERENCE_DARK.background;
    for col in [0, 2, 4] {
        let (x, y) = r.cell_origin(0, col);
        let area = (x, y, 2 * cell.width, cell.height);
        let colourful = count(&image, x, y, 2 * cell.width, cell.height, is_other_colour);
        assert!(colourful > 10, "cell {col}: {colourful} coloured pixels");
        assert!(ink_bounds(&image, area, bg).is_some());
    }
    // The text stays in its foreground colour.
    let (x, y) = r.cell_origin(0, 6);
    assert_eq!(
        count(&image, x, y, 2 * cell.width, cell.height, is_other_colour),
        0
    );
    // Without system fonts the same emoji are monochrome (in the text colour).
    let mono = draw(
        &mut Renderer::bundled_only(&REFERENCE_DARK),
        12,
        1,
        "😀",
        None,
    );
    let (x, y) = r.cell_origin(0, 0);
    assert!(ink_bounds(&mono, (x, y, 2 * cell.width, cell.height), bg).is_some());
    assert_eq!(
        count(&mono, x, y, 2 * cell.width, cell.height, is_other_colour),
        0
    );
}

#[test]
fn a_regional_indicator_pair_is_drawn_as_one_flag_across_its_cells() {
    let mut r = Renderer::new(&REFERENCE_DARK);
    let cell = r.cell_size();
    let bg = REFERENCE_DARK.background;
    let (x, y) = r.cell_origin(0, 0);
    let area = (x, y, 2 * cell.width, cell.height);
    // The engine keeps 🇯🇵 as two one-column cells.
    let flag = draw(&mut r, 4, 1, "🇯🇵", None);
    let letters = {
        // The same two letters, each alone (a space between them).
        let mut alone = Renderer::new(&REFERENCE_DARK);
        draw(&mut alone, 4, 1, "🇯 🇵", None)
    };
    assert!(r.missing_glyphs().is_empty());
    let ink = ink_bounds(&flag, area, bg).unwrap();
    assert!(ink.0 < x + cell.width && ink.2 >= x + cell.width, "{ink:?}");
    assert_ne!(flag.crop(area), letters.crop(area));
    // A pair that is no flag stays two letters, as does a lone one.
    let no_flag = draw(&mut r, 4, 1, "🇯🇯", None);
    let (x1, _) = r.cell_origin(0, 1);
    let first = ink_bounds(&no_flag, (x, y, cell.width, cell.height), bg).unwrap();
    let second = ink_bounds(&no_flag, (x1, y, cell.width, cell.height), bg).unwrap();
    assert_eq!(
        (first.2 - first.0, first.3 - first.1),
        (second.2 - second.0, second.3 - second.1)
    );
    assert!(r.missing_glyphs().is_empty());
}

#[test]
fn an_svg_reports_the_characters_a_png_would_draw_as_boxes() {
    let replay = screen_of(6, 1, "ab\u{10fffd}日");
    let cells = replay.visible_cells();
    let screen = Screen {
        cells: &cells,
        cursor: None,
    };
    let mut r = Renderer::new(&REFERENCE_DARK);
    r.note_missing(&screen);
    let svg = r.render_svg(&screen, false);
    assert!(svg.contains("ab"), "{svg}");
    let missing = r.missing_glyphs();
    assert!(missing.contains(&'\u{10fffd}'), "{missing:?}");
    assert!(!missing.contains(&'a'), "{missing:?}");
}

#[test]
fn an_image_too_large_for_its_arithmetic_is_refused_with_the_reason() {
    let mut look = crate::look::Look::of(&REFERENCE_DARK);
    assert!(Renderer::with_look(look.clone())
        .checked_image_size(1000, 1000)
        .is_ok());
    look.font_size = 72.0;
    look.line_height = 3.0;
    let why = Renderer::with_look(look)
        .checked_image_size(1000, 1000)
        .unwrap_err();
    assert!(why.contains("--font-size"), "{why}");
}

/// Drawing a PNG screenshot straight into palette indices gives the pixels
/// of drawing it in RGB (and the same bytes every time): with a window bar
/// (its dots' smooth edges), a cursor, underlines, boxes for missing
/// characters, wide cells, many colours fitted to the palette, and a screen
/// whose colours do not fit (drawn in RGB then, the RGB PNG's bytes).
#[test]
fn a_png_drawn_in_palette_indices_has_the_rgb_pictures_pixels() {
    let mut barred = Look::of(&REFERENCE_DARK);
    barred.window_bar = Some(look::WindowBar {
        title: Some("build — 日本".into()),
    });
    let mixed = "\x1b[4munder\x1b[0m \x1b[7minverse\x1b[0m \x1b[2mdim\x1b[0m 日本 \u{e000} \
                 \x1b[1;31mbold\x1b[0m ┌─┐ ▒ \x1b[48;5;22m\x1b[38;5;229m on green \x1b[0m";
    let check = |r: &mut Renderer, cols: u16, rows: u16, text: &str, cursor, fit: bool| {
        let cells = screen_of(cols, rows, text).visible_cells();
        let screen = Screen {
            cells: &cells,
            cursor,
        };
        if fit {
            r.fit_shades_to_palette(&screen, 256);
        }
        let (bytes, size) = r.render_png(&screen);
        let image = r.render(&screen);
        assert_eq!(size, (image.width, image.height));
        assert!(
            decode(&bytes) == decode(&image.to_png()),
            "{text:?}: other pixels"
        );
        assert!(bytes == r.render_png(&screen).0, "{text:?}: other bytes");
        if !fit {
            assert!(bytes == image.to_png(), "{text:?}: not the RGB PNG");
        }
        // Fitted screens take the paletted path, the others fall back.
        let background = r.look().colors.background;
        let mut paletted = indexed::Paletted::filled(image.width, image.height, background);
        r.draw_screen(&screen, &mut paletted);
        assert_eq!(png_file::encode_paletted(&paletted).is_some(), fit);
    };
    let mut plain = Renderer::bundled_only(&REFERENCE_DARK);
    check(&mut plain, 60, 3, mixed, Some((1, 4)), true);
    let mut r = Renderer::with_look(barred);
    r.fonts().use_bundled_only();
    check(&mut r, 60, 3, mixed, None, true);
    let mut colourful = String::new();
    for row in 0..40u32 {
        for col in (0..72u32).step_by(8) {
            colourful += &format!("\x1b[38;5;{}mword{} ~ ", (row * 7 + col) % 256, col % 10);
        }
        colourful += "\r\n";
    }
    let mut r = Renderer::bundled_only(&REFERENCE_DARK);
    check(&mut r, 80, 40, &colourful, None, true);
    // Not fitted: thousands of shades, more than a palette holds.
    let mut r = Renderer::bundled_only(&REFERENCE_DARK);
    check(&mut r, 80, 40, &colourful, None, false);
}
