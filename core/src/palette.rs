//! The colours of the default profile, `reference-dark` (agent-tty 0.5's
//! name for it): what a program learns when it asks the terminal for its
//! colours (OSC 10/11/4), and what a renderer paints with by default.
//!
//! Foreground and background are 0.5's (`#cdd6f4` on `#1e1e2e`); the 16 ANSI
//! colours are the matching Catppuccin Mocha terminal palette, and 16–255
//! are xterm's standard 6×6×6 cube and grey ramp.

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// The X11 form terminals answer colour queries with, each byte doubled:
    /// `rgb:1e1e/1e1e/2e2e`.
    pub fn x11(self) -> String {
        let Rgb(r, g, b) = self;
        format!("rgb:{r:02x}{r:02x}/{g:02x}{g:02x}/{b:02x}{b:02x}")
    }
}

/// Default text colour.
pub const FOREGROUND: Rgb = Rgb(0xcd, 0xd6, 0xf4);
/// Default background colour.
pub const BACKGROUND: Rgb = Rgb(0x1e, 0x1e, 0x2e);
/// Cursor colour.
pub const CURSOR: Rgb = Rgb(0xf5, 0xe0, 0xdc);

/// ANSI colours 0–15.
pub const ANSI: [Rgb; 16] = [
    Rgb(0x45, 0x47, 0x5a),
    Rgb(0xf3, 0x8b, 0xa8),
    Rgb(0xa6, 0xe3, 0xa1),
    Rgb(0xf9, 0xe2, 0xaf),
    Rgb(0x89, 0xb4, 0xfa),
    Rgb(0xf5, 0xc2, 0xe7),
    Rgb(0x94, 0xe2, 0xd5),
    Rgb(0xba, 0xc2, 0xde),
    Rgb(0x58, 0x5b, 0x70),
    Rgb(0xf3, 0x8b, 0xa8),
    Rgb(0xa6, 0xe3, 0xa1),
    Rgb(0xf9, 0xe2, 0xaf),
    Rgb(0x89, 0xb4, 0xfa),
    Rgb(0xf5, 0xc2, 0xe7),
    Rgb(0x94, 0xe2, 0xd5),
    Rgb(0xa6, 0xad, 0xc8),
];

/// Colour `index` of the 256-colour palette.
pub fn indexed(index: u8) -> Rgb {
    match index {
        0..=15 => ANSI[usize::from(index)],
        16..=231 => {
            let i = index - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
            Rgb(level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        _ => {
            let grey = 8 + 10 * (index - 232);
            Rgb(grey, grey, grey)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_answered_in_0_5s_colours() {
        assert_eq!(BACKGROUND.x11(), "rgb:1e1e/1e1e/2e2e");
        assert_eq!(FOREGROUND.x11(), "rgb:cdcd/d6d6/f4f4");
    }

    #[test]
    fn the_256_colour_palette_is_xterms() {
        assert_eq!(indexed(16), Rgb(0, 0, 0));
        assert_eq!(indexed(196), Rgb(255, 0, 0));
        assert_eq!(indexed(231), Rgb(255, 255, 255));
        assert_eq!(indexed(232), Rgb(8, 8, 8));
        assert_eq!(indexed(255), Rgb(238, 238, 238));
    }
}
