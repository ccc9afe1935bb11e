//! Render profiles: the colours a terminal shows by default, in one place.
//!
//! The same numbers appear in two places a user can compare: the host's
//! answers to OSC 10/11 ("what are your default foreground/background
//! colours?") and the pixels of `screenshot` / `record export`. A program
//! that picks a light or dark theme from the OSC 11 reply must then look in
//! the picture as it looked to itself, so both read these constants.
//!
//! The two profiles are agent-tty 0.5's: `reference-dark` (the default) and
//! `reference-light`, with the default colours 0.5 used (Catppuccin Mocha
//! and Latte). The 16 ANSI colours follow the same themes; colours 16–255
//! are the standard xterm cube and grey ramp, computed by [`palette_color`].

/// A colour as red, green, blue.
pub type Rgb = [u8; 3];

/// Whether a profile is a light or a dark theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    /// Light text on a dark background.
    Dark,
    /// Dark text on a light background.
    Light,
}

impl Theme {
    /// The word agent-tty 0.5 used (`"dark"` / `"light"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Dark => "dark",
            Theme::Light => "light",
        }
    }
}

/// A render profile: a name and the colours it draws with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderProfile {
    /// The name users pass to `--profile`.
    pub name: &'static str,
    /// Light or dark.
    pub theme: Theme,
    /// The default background (what OSC 11 reports).
    pub background: Rgb,
    /// The default foreground (what OSC 10 reports).
    pub foreground: Rgb,
    /// The cursor's colour.
    pub cursor: Rgb,
    /// ANSI colours 0–15 (black, red, green, yellow, blue, magenta, cyan,
    /// white, then their bright forms).
    pub ansi: [Rgb; 16],
}

/// The name of the profile used when none is asked for.
pub const DEFAULT_PROFILE: &str = "reference-dark";

/// `reference-dark`: Catppuccin Mocha, bg `#1e1e2e`, fg `#cdd6f4`.
pub const REFERENCE_DARK: RenderProfile = RenderProfile {
    name: "reference-dark",
    theme: Theme::Dark,
    background: [0x1e, 0x1e, 0x2e],
    foreground: [0xcd, 0xd6, 0xf4],
    cursor: [0xf5, 0xe0, 0xdc],
    ansi: [
        [0x45, 0x47, 0x5a],
        [0xf3, 0x8b, 0xa8],
        [0xa6, 0xe3, 0xa1],
        [0xf9, 0xe2, 0xaf],
        [0x89, 0xb4, 0xfa],
        [0xf5, 0xc2, 0xe7],
        [0x94, 0xe2, 0xd5],
        [0xba, 0xc2, 0xde],
        [0x58, 0x5b, 0x70],
        [0xf3, 0x8b, 0xa8],
        [0xa6, 0xe3, 0xa1],
        [0xf9, 0xe2, 0xaf],
        [0x89, 0xb4, 0xfa],
        [0xf5, 0xc2, 0xe7],
        [0x94, 0xe2, 0xd5],
        [0xa6, 0xad, 0xc8],
    ],
};

/// `reference-light`: Catppuccin Latte, bg `#eff1f5`, fg `#4c4f69`.
pub const REFERENCE_LIGHT: RenderProfile = RenderProfile {
    name: "reference-light",
    theme: Theme::Light,
    background: [0xef, 0xf1, 0xf5],
    foreground: [0x4c, 0x4f, 0x69],
    cursor: [0xdc, 0x8a, 0x78],
    ansi: [
        [0x5c, 0x5f, 0x77],
        [0xd2, 0x0f, 0x39],
        [0x40, 0xa0, 0x2b],
        [0xdf, 0x8e, 0x1d],
        [0x1e, 0x66, 0xf5],
        [0xea, 0x76, 0xcb],
        [0x17, 0x92, 0x99],
        [0xac, 0xb0, 0xbe],
        [0x6c, 0x6f, 0x85],
        [0xd2, 0x0f, 0x39],
        [0x40, 0xa0, 0x2b],
        [0xdf, 0x8e, 0x1d],
        [0x1e, 0x66, 0xf5],
        [0xea, 0x76, 0xcb],
        [0x17, 0x92, 0x99],
        [0xbc, 0xc0, 0xcc],
    ],
};

/// Every profile, default first.
pub const PROFILES: [&RenderProfile; 2] = [&REFERENCE_DARK, &REFERENCE_LIGHT];

/// The profile called `name`, or `INVALID_INPUT` in agent-tty 0.5's words
/// (`unknown render profile: NAME`), details `{profile, known}`.
pub fn resolve(name: &str) -> Result<&'static RenderProfile, crate::PluginError> {
    RenderProfile::named(name).ok_or_else(|| {
        let known: Vec<&str> = PROFILES.iter().map(|p| p.name).collect();
        crate::PluginError::new(
            crate::ErrorCode::InvalidInput,
            format!("unknown render profile: {name}"),
        )
        .with_details(serde_json::json!({ "profile": name, "known": known }))
    })
}

/// `name` made safe for a file name: runs of anything but `A-Za-z0-9._-`
/// become `-`, and `-` is trimmed from both ends (agent-tty 0.5's rule).
pub fn file_safe(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    out.trim_matches('-').to_owned()
}

impl RenderProfile {
    /// The profile called `name`, if there is one.
    pub fn named(name: &str) -> Option<&'static RenderProfile> {
        PROFILES.iter().copied().find(|p| p.name == name)
    }

    /// The default profile ([`REFERENCE_DARK`]).
    pub fn default_profile() -> &'static RenderProfile {
        &REFERENCE_DARK
    }

    /// Palette colour `index` (0–255) in this profile.
    pub fn palette(&self, index: u8) -> Rgb {
        palette_color(&self.ansi, index)
    }
}

/// Formats a colour the way xterm answers OSC 10/11:
/// `rgb:rrrr/gggg/bbbb` (each channel doubled to 16 bits).
pub fn xterm_rgb_spec(color: Rgb) -> String {
    let [r, g, b] = color;
    format!("rgb:{r:02x}{r:02x}/{g:02x}{g:02x}/{b:02x}{b:02x}")
}

/// Colour `index` of the 256-colour palette whose first 16 entries are
/// `ansi`: 16–231 the 6×6×6 cube, 232–255 the grey ramp (xterm's values).
pub fn palette_color(ansi: &[Rgb; 16], index: u8) -> Rgb {
    match index {
        0..=15 => ansi[index as usize],
        16..=231 => {
            let i = index - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            [level(i / 36), level((i / 6) % 6), level(i % 6)]
        }
        232..=255 => {
            let v = 8 + (index - 232) * 10;
            [v, v, v]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_become_file_safe() {
        assert_eq!(file_safe("reference-dark"), "reference-dark");
        assert_eq!(file_safe("  my profile/../x "), "my-profile-..-x");
        assert_eq!(file_safe("é"), "");
    }

    #[test]
    fn an_unknown_profile_is_named_in_0_5s_words() {
        let e = resolve("nope").unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::InvalidInput);
        assert_eq!(e.message, "unknown render profile: nope");
    }

    #[test]
    fn profiles_are_found_by_name_and_default_is_dark() {
        assert_eq!(
            RenderProfile::named("reference-dark"),
            Some(&REFERENCE_DARK)
        );
        assert_eq!(
            RenderProfile::named("reference-light"),
            Some(&REFERENCE_LIGHT)
        );
        assert_eq!(RenderProfile::named("nope"), None);
        assert_eq!(RenderProfile::default_profile().name, DEFAULT_PROFILE);
    }

    #[test]
    fn osc_replies_double_each_channel() {
        assert_eq!(
            xterm_rgb_spec(REFERENCE_DARK.background),
            "rgb:1e1e/1e1e/2e2e"
        );
        assert_eq!(
            xterm_rgb_spec(REFERENCE_DARK.foreground),
            "rgb:cdcd/d6d6/f4f4"
        );
    }

    #[test]
    fn the_256_palette_follows_xterm() {
        let p = &REFERENCE_DARK;
        assert_eq!(p.palette(1), p.ansi[1]);
        assert_eq!(p.palette(16), [0, 0, 0]);
        assert_eq!(p.palette(196), [255, 0, 0]);
        assert_eq!(p.palette(231), [255, 255, 255]);
        assert_eq!(p.palette(232), [8, 8, 8]);
        assert_eq!(p.palette(255), [238, 238, 238]);
    }
}
