//! Dashboard panes: plain data in, plain data out. No ratatui or crossterm
//! type crosses the plugin boundary; the host converts keys in and frames out.

use serde::{Deserialize, Serialize};

/// A key, as the host delivers it to a pane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyEvent {
    /// Which key.
    pub code: KeyCode,
    /// Control was held.
    #[serde(default)]
    pub ctrl: bool,
    /// Alt was held.
    #[serde(default)]
    pub alt: bool,
}

impl KeyEvent {
    /// A key with no modifiers.
    pub fn plain(code: KeyCode) -> Self {
        KeyEvent {
            code,
            ctrl: false,
            alt: false,
        }
    }
}

/// The keys a pane can receive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "key", content = "char", rename_all = "camelCase")]
#[allow(missing_docs)]
pub enum KeyCode {
    Char(char),
    Enter,
    Esc,
    Backspace,
    Tab,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    /// A key newer than this build; panes ignore it.
    #[serde(other)]
    Unsupported,
}

/// What the dashboard tells a pane when it opens it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaneContext {
    /// The canonical path of the Home the dashboard is showing.
    pub current_home: String,
    /// Whether the dashboard's scope is "all" (else "active").
    pub scope_all: bool,
}

/// What a pane asks the dashboard to do after a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum PaneAction {
    /// Nothing; redraw.
    None,
    /// Close the pane without change.
    Close,
    /// Close the pane and show this Home.
    #[serde(rename_all = "camelCase")]
    SwitchHome {
        /// Canonical Home path.
        home: String,
    },
    /// The shared active/all scope changed.
    #[serde(rename_all = "camelCase")]
    SetScope {
        /// `true` for all, `false` for active only.
        all: bool,
    },
    /// An action newer than this build; the dashboard treats it as `None`.
    #[serde(other)]
    Unsupported,
}

/// A pane's drawing: one styled line per row, top to bottom.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PaneFrame {
    /// Rows; missing rows are blank, extra rows are clipped.
    pub lines: Vec<PaneLine>,
    /// A text field of the pane has focus, so printable keys (`q` too) are
    /// the pane's. Otherwise the dashboard keeps `q` and `?` for itself:
    /// `q` quits from every view. Absent in older plugins' frames (false).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub text_input: bool,
    /// The pane's key hints (`j/k move · Enter open · Esc back`), drawn in
    /// the dashboard's one footer line instead of its generic `<title> · q
    /// quits`, so a pane needs no hint line of its own. Absent in older
    /// plugins' frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
}

/// One row of styled text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PaneLine {
    /// Spans left to right.
    pub spans: Vec<PaneSpan>,
}

impl PaneLine {
    /// A line of unstyled text.
    pub fn raw(text: impl Into<String>) -> Self {
        PaneLine {
            spans: vec![PaneSpan {
                text: text.into(),
                style: PaneStyle::default(),
            }],
        }
    }
}

/// Text with one style.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PaneSpan {
    /// The text.
    pub text: String,
    /// Its style.
    #[serde(default, skip_serializing_if = "PaneStyle::is_plain")]
    pub style: PaneStyle,
}

/// A span's style.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct PaneStyle {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_color"
    )]
    pub fg: Option<Color>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_color"
    )]
    pub bg: Option<Color>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bold: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dim: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub italic: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub underline: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reversed: bool,
}

impl PaneStyle {
    fn is_plain(&self) -> bool {
        *self == PaneStyle::default()
    }
}

/// A colour this build does not know (a newer peer's) is "no colour", the
/// terminal's default, rather than a frame that fails to decode.
fn lenient_color<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Color>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}

/// A colour: the 16 named ones, a 256-colour index, or RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub enum Color {
    Black,
    Red,
    Green,
    Yellow,
    Blue,
    Magenta,
    Cyan,
    Gray,
    DarkGray,
    LightRed,
    LightGreen,
    LightYellow,
    LightBlue,
    LightMagenta,
    LightCyan,
    White,
    Indexed(u8),
    Rgb(u8, u8, u8),
}

#[cfg(feature = "ratatui")]
mod ratatui_bridge {
    use super::*;
    use ratatui::buffer::Buffer;
    use ratatui::style::{Color as RColor, Modifier, Style};

    impl From<Color> for RColor {
        fn from(c: Color) -> RColor {
            match c {
                Color::Black => RColor::Black,
                Color::Red => RColor::Red,
                Color::Green => RColor::Green,
                Color::Yellow => RColor::Yellow,
                Color::Blue => RColor::Blue,
                Color::Magenta => RColor::Magenta,
                Color::Cyan => RColor::Cyan,
                Color::Gray => RColor::Gray,
                Color::DarkGray => RColor::DarkGray,
                Color::LightRed => RColor::LightRed,
                Color::LightGreen => RColor::LightGreen,
                Color::LightYellow => RColor::LightYellow,
                Color::LightBlue => RColor::LightBlue,
                Color::LightMagenta => RColor::LightMagenta,
                Color::LightCyan => RColor::LightCyan,
                Color::White => RColor::White,
                Color::Indexed(i) => RColor::Indexed(i),
                Color::Rgb(r, g, b) => RColor::Rgb(r, g, b),
            }
        }
    }

    fn color_from(c: RColor) -> Option<Color> {
        Some(match c {
            RColor::Reset => return None,
            RColor::Black => Color::Black,
            RColor::Red => Color::Red,
            RColor::Green => Color::Green,
            RColor::Yellow => Color::Yellow,
            RColor::Blue => Color::Blue,
            RColor::Magenta => Color::Magenta,
            RColor::Cyan => Color::Cyan,
            RColor::Gray => Color::Gray,
            RColor::DarkGray => Color::DarkGray,
            RColor::LightRed => Color::LightRed,
            RColor::LightGreen => Color::LightGreen,
            RColor::LightYellow => Color::LightYellow,
            RColor::LightBlue => Color::LightBlue,
            RColor::LightMagenta => Color::LightMagenta,
            RColor::LightCyan => Color::LightCyan,
            RColor::White => Color::White,
            RColor::Indexed(i) => Color::Indexed(i),
            RColor::Rgb(r, g, b) => Color::Rgb(r, g, b),
        })
    }

    impl From<PaneStyle> for Style {
        fn from(s: PaneStyle) -> Style {
            let mut style = Style::default();
            if let Some(fg) = s.fg {
                style = style.fg(fg.into());
            }
            if let Some(bg) = s.bg {
                style = style.bg(bg.into());
            }
            let flags = [
                (s.bold, Modifier::BOLD),
                (s.dim, Modifier::DIM),
                (s.italic, Modifier::ITALIC),
                (s.underline, Modifier::UNDERLINED),
                (s.reversed, Modifier::REVERSED),
            ];
            for (on, modifier) in flags {
                if on {
                    style = style.add_modifier(modifier);
                }
            }
            style
        }
    }

    impl From<Style> for PaneStyle {
        fn from(s: Style) -> PaneStyle {
            let m = s.add_modifier;
            PaneStyle {
                fg: s.fg.and_then(color_from),
                bg: s.bg.and_then(color_from),
                bold: m.contains(Modifier::BOLD),
                dim: m.contains(Modifier::DIM),
                italic: m.contains(Modifier::ITALIC),
                underline: m.contains(Modifier::UNDERLINED),
                reversed: m.contains(Modifier::REVERSED),
            }
        }
    }

    impl PaneFrame {
        /// Converts a ratatui buffer a pane drew into, merging runs of equal
        /// style into spans.
        pub fn from_buffer(buffer: &Buffer) -> PaneFrame {
            let area = buffer.area;
            let mut lines = Vec::with_capacity(area.height as usize);
            for y in area.top()..area.bottom() {
                let mut spans: Vec<PaneSpan> = Vec::new();
                for x in area.left()..area.right() {
                    let cell = &buffer[(x, y)];
                    let style = PaneStyle::from(cell.style());
                    match spans.last_mut() {
                        Some(last) if last.style == style => last.text.push_str(cell.symbol()),
                        _ => spans.push(PaneSpan {
                            text: cell.symbol().to_owned(),
                            style,
                        }),
                    }
                }
                lines.push(PaneLine { spans });
            }
            PaneFrame {
                lines,
                ..PaneFrame::default()
            }
        }
    }
}
