//! The look of a capture: its colours (a theme), padding, font size, line
//! height and an optional window bar. What VHS and freeze users ask for,
//! kept apart from the drawing so the PNG and the SVG read the same numbers.
//!
//! The default [`Look`] of a profile is agent-tty 0.5's: the profile's
//! colours, [`PADDING`](crate::PADDING) pixels around the grid, a
//! [`FONT_SIZE_PX`](crate::FONT_SIZE_PX) font, the font's own line height
//! and no bar; its pixels and [`Look::profile_hash`] are what they were
//! before looks existed.
//!
//! A theme is a built-in name ([`THEMES`]) or a JSON theme file
//! ([`Palette::from_json`]): the colours are data a user hands us, so
//! every field is checked and anything unexpected is refused with a reason.

use agent_tty_term::profile::{palette_color, RenderProfile, Rgb, REFERENCE_DARK, REFERENCE_LIGHT};

/// The colours a capture draws with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Palette {
    /// The default background.
    pub background: Rgb,
    /// The default foreground.
    pub foreground: Rgb,
    /// The block cursor's colour.
    pub cursor: Rgb,
    /// ANSI colours 0–15; 16–255 are xterm's cube and grey ramp.
    pub ansi: [Rgb; 16],
}

impl Palette {
    /// `profile`'s colours.
    pub fn of(profile: &RenderProfile) -> Palette {
        Palette {
            background: profile.background,
            foreground: profile.foreground,
            cursor: profile.cursor,
            ansi: profile.ansi,
        }
    }

    /// Palette colour `index` (0–255).
    pub fn color(&self, index: u8) -> Rgb {
        palette_color(&self.ansi, index)
    }

    /// `"dark"` or `"light"`, from the background's luminance.
    pub fn brightness(&self) -> &'static str {
        let [r, g, b] = self.background.map(u32::from);
        if 299 * r + 587 * g + 114 * b < 128_000 {
            "dark"
        } else {
            "light"
        }
    }

    /// A theme file's colours (see `docs/USAGE.md`, "Themes"):
    ///
    /// ```json
    /// {"background": "#282a36", "foreground": "#f8f8f2", "cursor": "#f8f8f2",
    ///  "ansi": ["#000000", ... 16 colours]}
    /// ```
    ///
    /// `cursor` may be left out (the foreground is used); any other key,
    /// a colour not spelled `#rrggbb`, or not exactly 16 ANSI colours is
    /// refused with the reason.
    pub fn from_json(text: &str) -> Result<Palette, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))?;
        let object = value
            .as_object()
            .ok_or("a theme file is a JSON object with background, foreground, cursor and ansi")?;
        for key in object.keys() {
            if !["name", "background", "foreground", "cursor", "ansi"].contains(&key.as_str()) {
                return Err(format!(
                    "unknown key {key:?} (a theme has name, background, foreground, cursor and ansi)"
                ));
            }
        }
        if let Some(name) = object.get("name") {
            name.as_str().ok_or("\"name\" must be a string")?;
        }
        let color = |key: &str| -> Result<Option<Rgb>, String> {
            object
                .get(key)
                .map(|v| {
                    v.as_str()
                        .and_then(parse_hex)
                        .ok_or_else(|| format!("{key:?} must be a colour written #rrggbb"))
                })
                .transpose()
        };
        let background = color("background")?.ok_or("\"background\" is missing")?;
        let foreground = color("foreground")?.ok_or("\"foreground\" is missing")?;
        let cursor = color("cursor")?.unwrap_or(foreground);
        let list = object
            .get("ansi")
            .ok_or("\"ansi\" is missing (16 colours: black, red, ... bright white)")?
            .as_array()
            .filter(|a| a.len() == 16)
            .ok_or("\"ansi\" must be a list of exactly 16 colours")?;
        let mut ansi = [[0; 3]; 16];
        for (i, (slot, v)) in ansi.iter_mut().zip(list).enumerate() {
            *slot = v
                .as_str()
                .and_then(parse_hex)
                .ok_or_else(|| format!("ansi[{i}] must be a colour written #rrggbb"))?;
        }
        Ok(Palette {
            background,
            foreground,
            cursor,
            ansi,
        })
    }
}

/// `#rrggbb` as a colour.
fn parse_hex(s: &str) -> Option<Rgb> {
    let hex = s.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// A built-in theme.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinTheme {
    /// The name `--theme` takes.
    pub name: &'static str,
    /// Background, foreground, cursor, then ANSI 0–15, as `0xrrggbb`.
    colors: [u32; 19],
}

impl BuiltinTheme {
    /// Its colours.
    pub fn palette(&self) -> Palette {
        let rgb = |c: u32| [(c >> 16) as u8, (c >> 8) as u8, c as u8];
        let mut ansi = [[0; 3]; 16];
        for (slot, c) in ansi.iter_mut().zip(&self.colors[3..]) {
            *slot = rgb(*c);
        }
        Palette {
            background: rgb(self.colors[0]),
            foreground: rgb(self.colors[1]),
            cursor: rgb(self.colors[2]),
            ansi,
        }
    }
}

/// The built-in themes besides the two reference profiles, written from
/// each theme's published colour values.
pub const THEMES: [BuiltinTheme; 7] = [
    BuiltinTheme {
        name: "dracula",
        colors: [
            0x282a36, 0xf8f8f2, 0xf8f8f2, //
            0x21222c, 0xff5555, 0x50fa7b, 0xf1fa8c, 0xbd93f9, 0xff79c6, 0x8be9fd, 0xf8f8f2,
            0x6272a4, 0xff6e6e, 0x69ff94, 0xffffa5, 0xd6acff, 0xff92df, 0xa4ffff, 0xffffff,
        ],
    },
    BuiltinTheme {
        name: "solarized-dark",
        colors: [
            0x002b36, 0x839496, 0x93a1a1, //
            0x073642, 0xdc322f, 0x859900, 0xb58900, 0x268bd2, 0xd33682, 0x2aa198, 0xeee8d5,
            0x002b36, 0xcb4b16, 0x586e75, 0x657b83, 0x839496, 0x6c71c4, 0x93a1a1, 0xfdf6e3,
        ],
    },
    BuiltinTheme {
        name: "solarized-light",
        colors: [
            0xfdf6e3, 0x657b83, 0x586e75, //
            0x073642, 0xdc322f, 0x859900, 0xb58900, 0x268bd2, 0xd33682, 0x2aa198, 0xeee8d5,
            0x002b36, 0xcb4b16, 0x586e75, 0x657b83, 0x839496, 0x6c71c4, 0x93a1a1, 0xfdf6e3,
        ],
    },
    BuiltinTheme {
        name: "nord",
        colors: [
            0x2e3440, 0xd8dee9, 0xd8dee9, //
            0x3b4252, 0xbf616a, 0xa3be8c, 0xebcb8b, 0x81a1c1, 0xb48ead, 0x88c0d0, 0xe5e9f0,
            0x4c566a, 0xbf616a, 0xa3be8c, 0xebcb8b, 0x81a1c1, 0xb48ead, 0x8fbcbb, 0xeceff4,
        ],
    },
    BuiltinTheme {
        name: "gruvbox-dark",
        colors: [
            0x282828, 0xebdbb2, 0xebdbb2, //
            0x282828, 0xcc241d, 0x98971a, 0xd79921, 0x458588, 0xb16286, 0x689d6a, 0xa89984,
            0x928374, 0xfb4934, 0xb8bb26, 0xfabd2f, 0x83a598, 0xd3869b, 0x8ec07c, 0xebdbb2,
        ],
    },
    BuiltinTheme {
        name: "one-dark",
        colors: [
            0x282c34, 0xabb2bf, 0x528bff, //
            0x282c34, 0xe06c75, 0x98c379, 0xe5c07b, 0x61afef, 0xc678dd, 0x56b6c2, 0xabb2bf,
            0x5c6370, 0xe06c75, 0x98c379, 0xe5c07b, 0x61afef, 0xc678dd, 0x56b6c2, 0xffffff,
        ],
    },
    BuiltinTheme {
        name: "monokai",
        colors: [
            0x272822, 0xf8f8f2, 0xf8f8f0, //
            0x272822, 0xf92672, 0xa6e22e, 0xf4bf75, 0x66d9ef, 0xae81ff, 0xa1efe4, 0xf8f8f2,
            0x75715e, 0xf92672, 0xa6e22e, 0xf4bf75, 0x66d9ef, 0xae81ff, 0xa1efe4, 0xf9f8f5,
        ],
    },
];

/// Every name `--theme` knows: the two reference profiles, then [`THEMES`].
pub fn theme_names() -> Vec<&'static str> {
    [REFERENCE_DARK.name, REFERENCE_LIGHT.name]
        .into_iter()
        .chain(THEMES.iter().map(|t| t.name))
        .collect()
}

/// The built-in theme called `name` (a reference profile's name included).
pub fn builtin_theme(name: &str) -> Option<Palette> {
    if let Some(profile) = RenderProfile::named(name) {
        return Some(Palette::of(profile));
    }
    THEMES.iter().find(|t| t.name == name).map(|t| t.palette())
}

/// The macOS-style bar drawn above the grid: three dots and a title.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WindowBar {
    /// Centred in the bar when given (control characters left out).
    pub title: Option<String>,
}

/// The ranges the look's numbers are checked against.
pub mod limits {
    /// `--font-size`, in pixels.
    pub const FONT_SIZE: (f32, f32) = (6.0, 72.0);
    /// `--padding`, in pixels.
    pub const PADDING: u32 = 256;
    /// `--line-height`, a factor of the font's own line height.
    pub const LINE_HEIGHT: (f32, f32) = (1.0, 3.0);
    /// `--window-title`, in characters.
    pub const TITLE_CHARS: usize = 200;
}

/// Everything that decides how a capture looks.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    /// The profile the capture is named after (its name, light or dark).
    pub profile: &'static RenderProfile,
    /// The theme's name when `--theme` was given, `None` for the profile's
    /// own colours.
    pub theme: Option<String>,
    /// The colours.
    pub colors: Palette,
    /// Pixels around the grid on every side.
    pub padding: u32,
    /// Pixels per em.
    pub font_size: f32,
    /// Row height as a factor of the font's own line height (1.0 = as is).
    pub line_height: f32,
    /// The bar above the grid, if any.
    pub window_bar: Option<WindowBar>,
}

impl Look {
    /// agent-tty 0.5's look for `profile`.
    pub fn of(profile: &'static RenderProfile) -> Look {
        Look {
            profile,
            theme: None,
            colors: Palette::of(profile),
            padding: crate::PADDING,
            font_size: crate::FONT_SIZE_PX,
            line_height: 1.0,
            window_bar: None,
        }
    }

    /// Checks the numbers against [`limits`]; the error says which flag
    /// and what range.
    pub fn validate(&self) -> Result<(), String> {
        let (lo, hi) = limits::FONT_SIZE;
        if !(lo..=hi).contains(&self.font_size) {
            return Err(format!(
                "--font-size must be between {lo} and {hi} pixels, not {}",
                self.font_size
            ));
        }
        if self.padding > limits::PADDING {
            return Err(format!(
                "--padding must be between 0 and {} pixels, not {}",
                limits::PADDING,
                self.padding
            ));
        }
        let (lo, hi) = limits::LINE_HEIGHT;
        if !(lo..=hi).contains(&self.line_height) {
            return Err(format!(
                "--line-height must be between {lo} and {hi}, not {}",
                self.line_height
            ));
        }
        if let Some(title) = self.window_bar.as_ref().and_then(|b| b.title.as_ref()) {
            if title.chars().count() > limits::TITLE_CHARS {
                return Err(format!(
                    "--window-title must be at most {} characters",
                    limits::TITLE_CHARS
                ));
            }
        }
        Ok(())
    }

    /// Height of the window bar in pixels (0 without one): twice the font
    /// size, so it scales with the text.
    pub fn bar_height(&self) -> u32 {
        if self.window_bar.is_some() {
            (self.font_size * 2.0).round() as u32
        } else {
            0
        }
    }

    /// The bar's background: the theme's background moved a little toward
    /// its foreground, so the bar reads as chrome in light and dark themes.
    pub fn bar_color(&self) -> Rgb {
        crate::mix(self.colors.foreground, self.colors.background, 24)
    }

    /// The three dots' centres `(x, y)`, radius, and colours (close,
    /// minimise, zoom).
    pub fn bar_dots(&self) -> ([(u32, u32); 3], u32, [Rgb; 3]) {
        let r = (self.font_size * 0.43).round().max(2.0) as u32;
        let gap = (self.font_size * 0.57).round() as u32;
        let left = self.padding.max(gap + r);
        let y = self.bar_height() / 2;
        let x = |i: u32| left + r + i * (2 * r + gap);
        (
            [(x(0), y), (x(1), y), (x(2), y)],
            r,
            [[0xff, 0x5f, 0x57], [0xfe, 0xbc, 0x2e], [0x28, 0xc8, 0x40]],
        )
    }

    /// The bar's title with control characters left out.
    pub fn bar_title(&self) -> Option<String> {
        let title = self.window_bar.as_ref()?.title.as_ref()?;
        let clean: String = title.chars().filter(|c| !c.is_control()).collect();
        (!clean.is_empty()).then_some(clean)
    }

    /// A fingerprint of the look: the sha256 hex of a JSON description
    /// shaped like agent-tty 0.5's `renderProfileHash` input. A default
    /// look hashes exactly as 0.5's profile did; what a default look does
    /// not have (a theme name, a line height, a bar) is added only when set.
    pub fn profile_hash(&self) -> String {
        let c = &self.colors;
        let palette: Vec<String> = c.ansi.iter().map(|c| crate::hex(*c)).collect();
        let theme = if self.theme.is_some() {
            self.colors.brightness()
        } else {
            self.profile.theme.as_str()
        };
        let mut description = format!(
            concat!(
                r#"{{"name":{:?},"theme":{:?},"fontFamily":{:?},"fontAssetIdentity":{:?},"#,
                r#""fontSize":{},"cursorStyle":"block","backgroundColor":{:?},"foregroundColor":{:?},"#,
                r#""cursorColor":{:?},"palette":{:?},"padding":{}"#
            ),
            self.profile.name,
            theme,
            crate::FONT_FAMILY,
            crate::FONT_ASSET_IDENTITY,
            self.font_size,
            crate::hex(c.background),
            crate::hex(c.foreground),
            crate::hex(c.cursor),
            palette,
            self.padding,
        );
        if let Some(name) = &self.theme {
            description.push_str(&format!(r#","themeName":{}"#, serde_json::json!(name)));
        }
        if self.line_height != 1.0 {
            description.push_str(&format!(r#","lineHeight":{}"#, self.line_height));
        }
        if self.window_bar.is_some() {
            let title = serde_json::json!(self.bar_title());
            description.push_str(&format!(r#","windowBar":{{"title":{title}}}"#));
        }
        description.push('}');
        agent_tty_core::artifacts::sha256_hex(description.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn every_builtin_theme_is_found_and_distinct() {
        let names = theme_names();
        assert_eq!(names.len(), 9);
        let backgrounds: std::collections::HashSet<Rgb> = names
            .iter()
            .map(|n| builtin_theme(n).unwrap().background)
            .collect();
        assert_eq!(
            backgrounds.len(),
            names.len(),
            "two themes share a background"
        );
        assert_eq!(
            builtin_theme("reference-dark"),
            Some(Palette::of(&REFERENCE_DARK))
        );
        assert_eq!(builtin_theme("nope"), None);
        assert_eq!(builtin_theme("dracula").unwrap().brightness(), "dark");
        assert_eq!(
            builtin_theme("solarized-light").unwrap().brightness(),
            "light"
        );
    }

    #[test]
    fn the_default_look_hashes_as_the_profile_did() {
        // The description 0.5 hashed, written out: a default look must not
        // change any existing artifact's renderProfileHash.
        let expected = agent_tty_core::artifacts::sha256_hex(
            format!(
                r##"{{"name":"reference-dark","theme":"dark","fontFamily":"DejaVu Sans Mono","fontAssetIdentity":{:?},"fontSize":14,"cursorStyle":"block","backgroundColor":"#1e1e2e","foregroundColor":"#cdd6f4","cursorColor":"#f5e0dc","palette":{:?},"padding":8}}"##,
                crate::FONT_ASSET_IDENTITY,
                REFERENCE_DARK.ansi.iter().map(|c| crate::hex(*c)).collect::<Vec<_>>()
            )
            .as_bytes(),
        );
        assert_eq!(Look::of(&REFERENCE_DARK).profile_hash(), expected);
        let mut themed = Look::of(&REFERENCE_DARK);
        themed.theme = Some("nord".into());
        themed.colors = builtin_theme("nord").unwrap();
        assert_ne!(themed.profile_hash(), expected);
    }

    #[test]
    fn a_theme_file_is_read_strictly() {
        let ansi: Vec<String> = (0..16).map(|i| format!("#0000{i:02x}")).collect();
        let good = serde_json::json!({"name": "mine", "background": "#102030", "foreground": "#FFFFFF", "ansi": ansi});
        let p = Palette::from_json(&good.to_string()).unwrap();
        assert_eq!(p.background, [0x10, 0x20, 0x30]);
        assert_eq!(p.cursor, [0xff, 0xff, 0xff]);
        assert_eq!(p.color(15), [0, 0, 15]);
    }

    #[rstest]
    #[case("", "not valid JSON")]
    #[case("[]", "JSON object")]
    #[case(
        r##"{"background":"#000000","foreground":"#ffffff","ansi":[]}"##,
        "exactly 16"
    )]
    #[case(
        r##"{"background":"red","foreground":"#ffffff"}"##,
        "\"background\" must be a colour"
    )]
    #[case(
        r##"{"background":"#00000g","foreground":"#ffffff"}"##,
        "\"background\" must be"
    )]
    #[case(r##"{"foreground":"#ffffff"}"##, "\"background\" is missing")]
    #[case(
        r##"{"background":"#000000","foreground":"#ffffff"}"##,
        "\"ansi\" is missing"
    )]
    #[case(
        r##"{"background":"#000000","foreground":"#ffffff","font":"x"}"##,
        "unknown key \"font\""
    )]
    #[case(r##"{"name":7}"##, "\"name\" must be a string")]
    #[case(r##"{"background":"#000000","foreground":"#ffffff","ansi":["#000000",1,"#000000","#000000","#000000","#000000","#000000","#000000","#000000","#000000","#000000","#000000","#000000","#000000","#000000","#000000"]}"##, "ansi[1]")]
    fn a_bad_theme_file_says_why(#[case] text: &str, #[case] why: &str) {
        let e = Palette::from_json(text).unwrap_err();
        assert!(e.contains(why), "{e}");
    }

    #[rstest]
    #[case(|l: &mut Look| l.font_size = 5.0, "--font-size must be between 6 and 72")]
    #[case(|l: &mut Look| l.font_size = f32::NAN, "--font-size")]
    #[case(|l: &mut Look| l.padding = 257, "--padding must be between 0 and 256")]
    #[case(|l: &mut Look| l.line_height = 0.5, "--line-height must be between 1 and 3")]
    #[case(|l: &mut Look| l.window_bar = Some(WindowBar { title: Some("x".repeat(201)) }), "--window-title")]
    fn out_of_range_numbers_are_refused(#[case] change: fn(&mut Look), #[case] why: &str) {
        let mut look = Look::of(&REFERENCE_DARK);
        assert_eq!(look.validate(), Ok(()));
        change(&mut look);
        let e = look.validate().unwrap_err();
        assert!(e.contains(why), "{e}");
    }
}
