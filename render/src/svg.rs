//! A screen as SVG: the same picture as the PNG, with the text kept as
//! text (selectable, searchable, copyable).
//!
//! Layout is the PNG's, from the same [`Renderer`] (cell size, padding,
//! window bar, colours): the background is runs of `<rect>`s, each row is
//! one `<text>` whose `<tspan>`s carry an `x` for every character, so each
//! character sits in its cell whatever font the viewer ends up using.
//! Underline and strikethrough are rects at the PNG's positions rather than
//! `text-decoration`, whose placement differs between viewers.
//!
//! Everything on a screen came from a program, so every character is
//! escaped for XML and characters XML cannot hold are replaced (U+FFFD);
//! the output is always well-formed, whatever the program printed.

use crate::font::Face;
use crate::{hex, Renderer, Screen};
use agent_tty_term::cells::{Cell, CellWidth};
use agent_tty_term::profile::Rgb;
use std::collections::BTreeSet;
use std::fmt::Write;

/// The CSS font-family list the SVG names: the PNG's bundled fallback
/// chain (text font, Nerd Font symbols, Noto Emoji) in its order, then
/// generic monospace, where the viewer's own fonts take the characters
/// the PNG finds in system fonts.
pub fn font_family_stack() -> &'static str {
    "'DejaVu Sans Mono', 'Symbols Nerd Font', 'Noto Emoji', monospace"
}

/// A face's CSS weight and style.
fn face_css(face: Face) -> (&'static str, &'static str) {
    match face {
        Face::Regular => ("normal", "normal"),
        Face::Bold => ("bold", "normal"),
        Face::Italic => ("normal", "italic"),
        Face::BoldItalic => ("bold", "italic"),
    }
}

/// The bundled TrueType bytes of `face`.
fn face_bytes(face: Face) -> &'static [u8] {
    use dejavu::sans_mono;
    match face {
        Face::Regular => sans_mono::regular(),
        Face::Bold => sans_mono::bold(),
        Face::Italic => sans_mono::oblique(),
        Face::BoldItalic => sans_mono::bold_oblique(),
    }
}

/// What one character run shares: colour and face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Style {
    fill: Rgb,
    face: Face,
}

impl Renderer {
    /// `screen` as an SVG document. With `embed_fonts`, the faces the
    /// screen uses are embedded as `@font-face` data, subset to the
    /// characters shown, so the SVG looks the same where the font is not
    /// installed.
    pub fn render_svg(&self, screen: &Screen<'_>, embed_fonts: bool) -> String {
        let rows = screen.cells.len() as u16;
        let cols = screen.cells.first().map_or(0, |r| r.len()) as u16;
        let (width, height) = self.image_size(cols, rows);
        let mut out = String::with_capacity(256 + usize::from(cols) * usize::from(rows) * 4);
        let background = self.look.colors.background;
        let _ = write!(
            out,
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                "\n",
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" "#,
                r#"font-family="{family}" font-size="{size}">"#,
                "\n"
            ),
            w = width,
            h = height,
            family = font_family_stack(),
            size = self.look.font_size,
        );

        // Whether the block cursor is on cell (r, c) of `span` columns; one
        // past the last column it is drawn on the last cell, as in the PNG.
        let cursor_at = |r: usize, c: usize, span: usize| {
            screen.cursor.is_some_and(|(cr, cc)| {
                let (cr, cc) = (usize::from(cr), usize::from(cc));
                cr == r && (cc == c || (span == 2 && cc == c + 1))
                    || (cr == r
                        && cc >= usize::from(cols)
                        && cols > 0
                        && c + span == usize::from(cols))
            })
        };

        let mut used: [BTreeSet<char>; 4] = Default::default();
        let mut rects = String::new();
        let mut text = String::new();
        for (r, row) in screen.cells.iter().enumerate() {
            let (_, y) = self.cell_origin(r as u16, 0);
            // Background runs: neighbouring cells of one colour, one rect.
            let mut run: Option<(u32, u32, Rgb)> = None;
            let flush = |run: &mut Option<(u32, u32, Rgb)>, rects: &mut String| {
                if let Some((x, w, color)) = run.take() {
                    let _ = writeln!(
                        rects,
                        r#"<rect x="{x}" y="{y}" width="{w}" height="{}" fill="{}"/>"#,
                        self.cell.height,
                        hex(color)
                    );
                }
            };
            let mut spans: Vec<(Style, Vec<(u32, String)>)> = Vec::new();
            for (c, cell) in row.iter().enumerate() {
                if cell.width == CellWidth::WideSpacer {
                    continue;
                }
                let span = if cell.width == CellWidth::Wide { 2 } else { 1 };
                let is_cursor = cursor_at(r, c, span);
                let (fg, bg) = self.cell_colors(cell, is_cursor);
                let (x, _) = self.cell_origin(r as u16, c as u16);
                let w = self.cell.width * span as u32;
                if bg != background || is_cursor {
                    match &mut run {
                        Some((rx, rw, color)) if *color == bg && *rx + *rw == x => *rw += w,
                        _ => {
                            flush(&mut run, &mut rects);
                            run = Some((x, w, bg));
                        }
                    }
                } else {
                    flush(&mut run, &mut rects);
                }
                self.decorations(&mut text, cell, (x, y, w), fg);
                let face = Face::of(cell.bold, cell.italic);
                let shown = if cell.text.is_empty() {
                    " "
                } else {
                    &cell.text
                };
                if shown != " " {
                    used[face as usize].extend(shown.chars());
                }
                let style = Style { fill: fg, face };
                // A blank shows no colour or face: it joins whatever run
                // it follows, so a coloured word amid spaces stays one span.
                match spans.last_mut() {
                    Some((s, chars)) if *s == style || shown == " " => {
                        chars.push((x, shown.to_owned()))
                    }
                    _ => spans.push((style, vec![(x, shown.to_owned())])),
                }
            }
            flush(&mut run, &mut rects);
            // Trailing blanks carry nothing to select; leading ones keep
            // indentation when the text is copied.
            while let Some((_, chars)) = spans.last_mut() {
                while chars.last().is_some_and(|(_, s)| s == " ") {
                    chars.pop();
                }
                if chars.is_empty() {
                    spans.pop();
                } else {
                    break;
                }
            }
            if spans.is_empty() {
                continue;
            }
            let _ = write!(
                text,
                r#"<text y="{}" xml:space="preserve">"#,
                y + self.baseline()
            );
            for (style, chars) in &spans {
                write_spans(&mut text, *style, chars, self.look.colors.foreground);
            }
            text.push_str("</text>\n");
        }

        if embed_fonts {
            self.write_font_faces(&mut out, &used);
        }
        let _ = writeln!(
            out,
            r#"<rect width="{width}" height="{height}" fill="{}"/>"#,
            hex(background)
        );
        self.write_window_bar(&mut out, width);
        out.push_str("<g shape-rendering=\"crispEdges\">\n");
        out.push_str(&rects);
        let _ = writeln!(
            out,
            "</g>\n<g fill=\"{}\">",
            hex(self.look.colors.foreground)
        );
        out.push_str(&text);
        out.push_str("</g>\n</svg>\n");
        out
    }

    /// Underline and strikethrough as rects, where the PNG draws them.
    fn decorations(&self, out: &mut String, cell: &Cell, (x, y, w): (u32, u32, u32), fg: Rgb) {
        let thickness = (self.cell.height / 16).max(1);
        let h = self.cell.height;
        let mut line = |top: u32| {
            let _ = writeln!(
                out,
                r#"<rect x="{x}" y="{top}" width="{w}" height="{thickness}" fill="{}"/>"#,
                hex(fg)
            );
        };
        if cell.underline {
            let uy = y + self.baseline() + thickness + 1;
            line(uy.min(y + h - thickness));
        }
        if cell.strikethrough {
            line(y + self.baseline() - self.fonts.x_height() / 2);
        }
    }

    /// The window bar: a rect, three circles, the title as text.
    fn write_window_bar(&self, out: &mut String, width: u32) {
        let bar = self.look.bar_height();
        if bar == 0 {
            return;
        }
        let _ = writeln!(
            out,
            r#"<rect width="{width}" height="{bar}" fill="{}"/>"#,
            hex(self.look.bar_color())
        );
        let (centres, r, colors) = self.look.bar_dots();
        for ((cx, cy), color) in centres.into_iter().zip(colors) {
            let _ = writeln!(
                out,
                r#"<circle cx="{cx}" cy="{cy}" r="{r}" fill="{}"/>"#,
                hex(color)
            );
        }
        if let Some(title) = self.look.bar_title() {
            let (x, y) = self.title_origin(&title, width);
            let chars: Vec<(u32, String)> = title
                .chars()
                .enumerate()
                .map(|(i, c)| (x + i as u32 * self.cell.width, c.to_string()))
                .collect();
            let _ = write!(
                out,
                r#"<text y="{}" fill="{}" xml:space="preserve">"#,
                y + self.baseline(),
                hex(self.look.colors.foreground)
            );
            let style = Style {
                fill: self.look.colors.foreground,
                face: Face::Regular,
            };
            write_spans(out, style, &chars, self.look.colors.foreground);
            out.push_str("</text>\n");
        }
    }

    /// `<style>` with an `@font-face` per face used, each a subset of the
    /// bundled face holding only the characters shown.
    fn write_font_faces(&self, out: &mut String, used: &[BTreeSet<char>; 4]) {
        use base64::Engine as _;
        let mut css = String::new();
        let family = crate::FONT_FAMILY;
        let faces = [Face::Regular, Face::Bold, Face::Italic, Face::BoldItalic];
        for (face, chars) in faces.into_iter().zip(used) {
            if chars.is_empty() {
                continue;
            }
            let Some(subset) = crate::subset::subset_truetype(face_bytes(face), chars) else {
                continue;
            };
            let (weight, style) = face_css(face);
            let _ = writeln!(
                css,
                "@font-face{{font-family:'{family}';font-weight:{weight};font-style:{style};\
                 src:url(data:font/ttf;base64,{}) format('truetype')}}",
                base64::engine::general_purpose::STANDARD.encode(subset)
            );
        }
        if !css.is_empty() {
            let _ = writeln!(out, "<style>\n{css}</style>");
        }
    }
}

/// The characters of one style as `<tspan>`s: runs of single BMP
/// characters share one tspan whose `x` lists a position per character;
/// anything else (a combining sequence, a character outside the BMP, which
/// viewers count differently) gets a tspan of its own with one `x`.
fn write_spans(out: &mut String, style: Style, chars: &[(u32, String)], default_fill: Rgb) {
    let single = |s: &str| {
        let mut it = s.chars();
        matches!((it.next(), it.next()), (Some(c), None) if (c as u32) < 0x10000)
    };
    let mut i = 0;
    while i < chars.len() {
        let mut end = i + 1;
        if single(&chars[i].1) {
            while end < chars.len() && single(&chars[end].1) {
                end += 1;
            }
        }
        out.push_str("<tspan x=\"");
        for (n, (x, _)) in chars[i..end].iter().enumerate() {
            if n > 0 {
                out.push(' ');
            }
            let _ = write!(out, "{x}");
        }
        out.push('"');
        if style.fill != default_fill {
            let _ = write!(out, " fill=\"{}\"", hex(style.fill));
        }
        let (weight, font_style) = face_css(style.face);
        if weight != "normal" {
            let _ = write!(out, " font-weight=\"{weight}\"");
        }
        if font_style != "normal" {
            let _ = write!(out, " font-style=\"{font_style}\"");
        }
        out.push('>');
        for (_, s) in &chars[i..end] {
            escape_into(out, s);
        }
        out.push_str("</tspan>");
        i = end;
    }
}

/// `s` as XML character data: markup characters escaped, and characters
/// XML 1.0 cannot hold at all (C0 controls but tab, U+FFFE, U+FFFF) made
/// U+FFFD. Tab, CR and LF would be folded into spaces by a parser, so they
/// become U+FFFD too: a cell never holds one.
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
#[path = "svg_tests.rs"]
mod tests;
