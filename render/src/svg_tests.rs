//! The SVG and the look, drawn from real screens (the engine's replay of
//! bytes a program printed).

use crate::look::{builtin_theme, Look, WindowBar};
use crate::tests::screen_of;
use crate::{Renderer, Screen, PADDING};
use agent_tty_term::profile::REFERENCE_DARK;

fn svg_of(look: Look, cols: u16, rows: u16, bytes: &str, cursor: Option<(u16, u16)>) -> String {
    let cells = screen_of(cols, rows, bytes).visible_cells();
    Renderer::with_look(look).render_svg(
        &Screen {
            cells: &cells,
            cursor,
        },
        false,
    )
}

/// A small screen with colours, bold, italic, underline, inverse, a wide
/// character and the cursor, as the SVG a viewer gets.
#[test]
fn a_small_screen_as_svg() {
    let svg = svg_of(
        Look::of(&REFERENCE_DARK),
        12,
        3,
        "\x1b[1mbold\x1b[0m \x1b[3;31mit\x1b[0m\r\n\x1b[4mu\x1b[0m \x1b[7minv\x1b[0m 界\r\n$ ",
        Some((2, 2)),
    );
    insta::assert_snapshot!(svg);
}

/// Whatever a program prints, the SVG stays well-formed: markup is
/// escaped, characters XML cannot hold are replaced, and nothing the
/// program wrote can close an element or open a new one.
#[test]
fn hostile_text_is_escaped() {
    let svg = svg_of(
        Look::of(&REFERENCE_DARK),
        60,
        2,
        "<script>alert('&amp;')</script> ]]> \"q\" \u{FFFF}",
        None,
    );
    let body = svg.split_once("<g fill=").unwrap().1;
    assert!(body.contains("&lt;script&gt;alert(&apos;&amp;amp;&apos;)&lt;/script&gt;"));
    assert!(body.contains("]]&gt;"));
    assert!(body.contains("&quot;q&quot;"));
    assert!(!body.contains("<script"));
    assert!(!svg.contains('\u{FFFF}'));
    let mut escaped = String::new();
    super::escape_into(&mut escaped, "a\x07b\x1bc\u{FFFE}");
    assert_eq!(escaped, "a\u{FFFD}b\u{FFFD}c\u{FFFD}");
}

/// Every character of a row is placed in its own cell: one `x` per
/// character of a run, a tspan of its own for a character outside the BMP.
#[test]
fn each_character_is_placed_in_its_cell() {
    let look = Look::of(&REFERENCE_DARK);
    let r = Renderer::with_look(look.clone());
    let w = r.cell_size().width;
    let svg = svg_of(look, 10, 1, "ab 😀c", None);
    let x = |col: u32| PADDING + col * w;
    assert!(
        svg.contains(&format!(
            r#"<tspan x="{} {} {}">ab </tspan>"#,
            x(0),
            x(1),
            x(2)
        )),
        "{svg}"
    );
    assert!(
        svg.contains(&format!(r#"<tspan x="{}">😀</tspan>"#, x(3))),
        "{svg}"
    );
    assert!(
        svg.contains(&format!(r#"<tspan x="{}">c</tspan>"#, x(5))),
        "{svg}"
    );
}

#[test]
fn embedded_fonts_hold_only_the_faces_used() {
    let cells = screen_of(20, 1, "plain \x1b[1mbold").visible_cells();
    let svg = Renderer::new(&REFERENCE_DARK).render_svg(
        &Screen {
            cells: &cells,
            cursor: None,
        },
        true,
    );
    assert_eq!(svg.matches("@font-face").count(), 2, "regular and bold");
    assert!(svg.contains("font-weight:bold;font-style:normal"));
    assert!(!svg.contains("font-style:italic"));
    // Far smaller than the two faces (~330 KB each), base64 and all: each subset is mostly its `name` table, the copyright and licence kept.
    assert!(svg.len() < 40_000, "{} bytes", svg.len());
}

#[test]
fn padding_font_size_line_height_and_the_bar_change_the_geometry() {
    let default = Renderer::new(&REFERENCE_DARK);
    let cell = default.cell_size();
    assert_eq!(
        default.image_size(10, 2),
        (10 * cell.width + 16, 2 * cell.height + 16)
    );

    let mut look = Look::of(&REFERENCE_DARK);
    look.padding = 0;
    look.line_height = 1.5;
    look.window_bar = Some(WindowBar::default());
    let r = Renderer::with_look(look.clone());
    let tall = r.cell_size();
    assert_eq!(tall.width, cell.width);
    assert_eq!(tall.height, (cell.height as f32 * 1.5).round() as u32);
    assert_eq!(look.bar_height(), 28);
    assert_eq!(r.image_size(10, 2), (10 * cell.width, 28 + 2 * tall.height));
    assert_eq!(r.cell_origin(1, 1), (cell.width, 28 + tall.height));

    look.font_size = 28.0;
    let big = Renderer::with_look(look);
    assert!(big.cell_size().width >= 2 * cell.width - 1);
    assert_eq!(big.look().bar_height(), 56);
}

#[test]
fn a_theme_changes_the_background_and_the_palette() {
    let mut look = Look::of(&REFERENCE_DARK);
    let dracula = builtin_theme("dracula").unwrap();
    look.colors = dracula.clone();
    look.theme = Some("dracula".into());
    let cells = screen_of(4, 1, "\x1b[31mR").visible_cells();
    let mut r = Renderer::with_look(look);
    let image = r.render(&Screen {
        cells: &cells,
        cursor: None,
    });
    assert_eq!(image.pixel(0, 0), dracula.background);
    let cell = r.cell_size();
    let (x, y) = r.cell_origin(0, 0);
    let red = (x..x + cell.width)
        .flat_map(|x| (y..y + cell.height).map(move |y| (x, y)))
        .any(|(x, y)| image.pixel(x, y) == dracula.ansi[1]);
    assert!(red, "the R is drawn in Dracula's red");
}

#[test]
fn the_window_bar_has_three_dots_and_a_title() {
    let mut look = Look::of(&REFERENCE_DARK);
    look.window_bar = Some(WindowBar {
        title: Some("demo\x1b]0;x".into()),
    });
    assert_eq!(look.bar_title().as_deref(), Some("demo]0;x"));
    let (centres, _, colors) = look.bar_dots();
    let cells = screen_of(20, 2, "").visible_cells();
    let screen = Screen {
        cells: &cells,
        cursor: None,
    };
    let mut r = Renderer::with_look(look);
    let image = r.render(&screen);
    for ((cx, cy), color) in centres.into_iter().zip(colors) {
        assert_eq!(image.pixel(cx, cy), color);
    }
    let svg = r.render_svg(&screen, false);
    assert_eq!(svg.matches("<circle").count(), 3);
    assert!(svg.contains(">demo]0;x</tspan>"), "{svg}");
}
