//! Named keys → the bytes a terminal sends for them: the one encoder behind
//! `send-keys` (the CLI validates with it before contacting a Session's host,
//! and the host encodes with it before writing to the PTY).
//!
//! Encodings are xterm's, which is what `TERM=xterm-256color` programs expect:
//! cursor keys as `CSI A`…, `F1`–`F4` as `SS3 P`…, the editing keys and
//! `F5`–`F12` as `CSI n ~`. Modifiers follow the two conventions terminals
//! actually use:
//!
//! - on characters and the "legacy" keys (Enter, Tab, Escape, Backspace,
//!   Space), `Ctrl` maps to the C0 control code (`Ctrl+C` → `0x03`) and `Alt`
//!   prefixes `ESC` (`Alt+x` → `ESC x`);
//! - on cursor, editing and function keys, any of `Shift`/`Alt`/`Ctrl` becomes
//!   xterm's modifier parameter (`Ctrl+Up` → `CSI 1;5A`, `Shift+F5` →
//!   `CSI 15;2~`).
//!
//! A combination with no encoding in either convention (`Ctrl+Enter`,
//! `Shift+1`) is rejected rather than silently sent as something else, so an
//! agent learns at once that the keystroke it meant cannot be expressed.
//!
//! Key names are case-insensitive (`enter`, `ENTER`, `ctrl+c`); a single
//! character stands for itself and keeps its case (`A` sends `A`).

use crate::{ErrorCode, PluginError};

type Result<T, E = PluginError> = std::result::Result<T, E>;

/// The valid forms, quoted in every `INVALID_KEYS` message so the user can fix
/// the call without looking anything up.
pub const VALID_FORMS: &str = "Enter, Escape, Tab, Backspace, Space, Up, Down, Left, Right, \
Home, End, PageUp, PageDown, Insert, Delete, F1–F12, a single character, or any of these \
prefixed with Ctrl+, Alt+ or Shift+ (e.g. Ctrl+C, Alt+x, Shift+Tab, Ctrl+Alt+Delete)";

/// Encodes keys into the bytes to write to a PTY, in order.
///
/// Either every key is valid and all their bytes are returned, or nothing is:
/// the first bad key is an `INVALID_KEYS` error naming it, its position, and
/// the valid forms.
pub fn encode(keys: &[String]) -> Result<Vec<u8>> {
    if keys.is_empty() {
        return Err(PluginError::new(
            ErrorCode::InvalidKeys,
            format!("no keys given; name at least one key: {VALID_FORMS}"),
        ));
    }
    let mut bytes = Vec::new();
    for (index, key) in keys.iter().enumerate() {
        let encoded = encode_one(key).map_err(|reason| {
            PluginError::new(
                ErrorCode::InvalidKeys,
                format!(
                    "{reason} (key {} of {}); nothing was sent. Valid keys: {VALID_FORMS}. \
                     To type text, use `agent-tty type`",
                    index + 1,
                    keys.len()
                ),
            )
        })?;
        bytes.extend_from_slice(&encoded);
    }
    Ok(bytes)
}

/// Modifier keys held with a key.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Modifiers {
    ctrl: bool,
    alt: bool,
    shift: bool,
}

impl Modifiers {
    fn any(self) -> bool {
        self.ctrl || self.alt || self.shift
    }

    /// xterm's modifier parameter: 1 + Shift(1) + Alt(2) + Ctrl(4).
    fn xterm_param(self) -> u8 {
        1 + u8::from(self.shift) + 2 * u8::from(self.alt) + 4 * u8::from(self.ctrl)
    }
}

/// How a named key is sent.
#[derive(Debug, Clone, Copy)]
enum Named {
    Enter,
    Escape,
    Tab,
    Backspace,
    Space,
    /// `CSI <final>`, or `CSI 1;<mod> <final>` when modified.
    Cursor(u8),
    /// `SS3 <final>`, or `CSI 1;<mod> <final>` when modified.
    Ss3(u8),
    /// `CSI <n> ~`, or `CSI <n>;<mod> ~` when modified.
    Tilde(u8),
}

/// Every key name (lower case) with its aliases.
const NAMES: &[(&str, Named)] = &[
    ("enter", Named::Enter),
    ("return", Named::Enter),
    ("escape", Named::Escape),
    ("esc", Named::Escape),
    ("tab", Named::Tab),
    ("backspace", Named::Backspace),
    ("bspace", Named::Backspace),
    ("space", Named::Space),
    ("up", Named::Cursor(b'A')),
    ("down", Named::Cursor(b'B')),
    ("right", Named::Cursor(b'C')),
    ("left", Named::Cursor(b'D')),
    ("home", Named::Cursor(b'H')),
    ("end", Named::Cursor(b'F')),
    ("insert", Named::Tilde(2)),
    ("ins", Named::Tilde(2)),
    ("delete", Named::Tilde(3)),
    ("del", Named::Tilde(3)),
    ("pageup", Named::Tilde(5)),
    ("pgup", Named::Tilde(5)),
    ("pagedown", Named::Tilde(6)),
    ("pgdn", Named::Tilde(6)),
    ("f1", Named::Ss3(b'P')),
    ("f2", Named::Ss3(b'Q')),
    ("f3", Named::Ss3(b'R')),
    ("f4", Named::Ss3(b'S')),
    ("f5", Named::Tilde(15)),
    ("f6", Named::Tilde(17)),
    ("f7", Named::Tilde(18)),
    ("f8", Named::Tilde(19)),
    ("f9", Named::Tilde(20)),
    ("f10", Named::Tilde(21)),
    ("f11", Named::Tilde(23)),
    ("f12", Named::Tilde(24)),
];

/// What a key spec names once its modifiers are stripped.
enum Base {
    Named(Named),
    Char(char),
}

const ESC: u8 = 0x1b;

fn encode_one(spec: &str) -> std::result::Result<Vec<u8>, String> {
    let (mods, rest) = split_modifiers(spec)?;
    let base = parse_base(rest).ok_or_else(|| {
        if rest.is_empty() {
            format!("empty key {spec:?}")
        } else {
            format!("unknown key {spec:?}")
        }
    })?;
    let unsupported = || format!("{spec:?} has no terminal encoding");
    match base {
        Base::Char(c) => encode_char(c, mods).ok_or_else(unsupported),
        Base::Named(named) => encode_named(named, mods).ok_or_else(unsupported),
    }
}

/// Strips `Ctrl+`/`Alt+`/`Shift+` prefixes (and their aliases), in any order.
/// A trailing `+` is the key itself (`Alt++` is Alt with `+`).
fn split_modifiers(spec: &str) -> std::result::Result<(Modifiers, &str), String> {
    let mut mods = Modifiers::default();
    let mut rest = spec;
    while let Some(plus) = rest.find('+') {
        let (word, after) = (&rest[..plus], &rest[plus + 1..]);
        if after.is_empty() {
            break;
        }
        let flag = match word.to_ascii_lowercase().as_str() {
            "ctrl" | "control" => &mut mods.ctrl,
            "alt" | "meta" => &mut mods.alt,
            "shift" => &mut mods.shift,
            _ => break,
        };
        if *flag {
            return Err(format!("modifier {word:?} repeated in key {spec:?}"));
        }
        *flag = true;
        rest = after;
    }
    Ok((mods, rest))
}

fn parse_base(rest: &str) -> Option<Base> {
    let mut chars = rest.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some(Base::Char(c)),
        (Some(_), Some(_)) => {
            let lower = rest.to_ascii_lowercase();
            NAMES
                .iter()
                .find(|(name, _)| *name == lower)
                .map(|(_, named)| Base::Named(*named))
        }
        (None, _) => None,
    }
}

fn encode_char(c: char, mods: Modifiers) -> Option<Vec<u8>> {
    let c = match (mods.shift, c.is_ascii_alphabetic()) {
        (true, true) => c.to_ascii_uppercase(),
        (true, false) => return None,
        (false, _) => c,
    };
    let mut out = Vec::with_capacity(4);
    if mods.alt {
        out.push(ESC);
    }
    if mods.ctrl {
        out.push(control_code(c)?);
    } else {
        let mut buf = [0; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    Some(out)
}

/// The C0 code `Ctrl+<c>` sends, as in every terminal since the VT100.
fn control_code(c: char) -> Option<u8> {
    match c {
        'a'..='z' | 'A'..='Z' => Some(c.to_ascii_uppercase() as u8 - b'@'),
        '@' | ' ' | '2' => Some(0x00),
        '[' | '3' => Some(0x1b),
        '\\' | '4' => Some(0x1c),
        ']' | '5' => Some(0x1d),
        '^' | '6' => Some(0x1e),
        '_' | '-' | '7' => Some(0x1f),
        '?' | '8' => Some(0x7f),
        _ => None,
    }
}

fn encode_named(named: Named, mods: Modifiers) -> Option<Vec<u8>> {
    let alt_prefixed = |bytes: &[u8]| {
        let mut out = Vec::with_capacity(bytes.len() + 1);
        if mods.alt {
            out.push(ESC);
        }
        out.extend_from_slice(bytes);
        out
    };
    match named {
        Named::Enter if !mods.ctrl && !mods.shift => Some(alt_prefixed(b"\r")),
        Named::Escape if !mods.ctrl && !mods.shift => Some(alt_prefixed(&[ESC])),
        Named::Tab if mods.ctrl => None,
        Named::Tab if mods.shift => Some(alt_prefixed(b"\x1b[Z")),
        Named::Tab => Some(alt_prefixed(b"\t")),
        Named::Backspace if mods.shift => None,
        Named::Backspace if mods.ctrl => Some(alt_prefixed(&[0x08])),
        Named::Backspace => Some(alt_prefixed(&[0x7f])),
        Named::Space => encode_char(
            ' ',
            Modifiers {
                shift: false,
                ..mods
            },
        ),
        Named::Enter | Named::Escape => None,
        Named::Cursor(fin) | Named::Ss3(fin) if mods.any() => {
            Some(format!("\x1b[1;{}{}", mods.xterm_param(), fin as char).into_bytes())
        }
        Named::Cursor(fin) => Some(vec![ESC, b'[', fin]),
        Named::Ss3(fin) => Some(vec![ESC, b'O', fin]),
        Named::Tilde(n) if mods.any() => {
            Some(format!("\x1b[{n};{}~", mods.xterm_param()).into_bytes())
        }
        Named::Tilde(n) => Some(format!("\x1b[{n}~").into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn enc(keys: &[&str]) -> Result<Vec<u8>> {
        encode(&keys.iter().map(|k| k.to_string()).collect::<Vec<_>>())
    }

    #[rstest]
    #[case("Enter", b"\r")]
    #[case("enter", b"\r")]
    #[case("RETURN", b"\r")]
    #[case("Escape", b"\x1b")]
    #[case("Esc", b"\x1b")]
    #[case("Tab", b"\t")]
    #[case("Backspace", b"\x7f")]
    #[case("Space", b" ")]
    #[case("Up", b"\x1b[A")]
    #[case("Down", b"\x1b[B")]
    #[case("Right", b"\x1b[C")]
    #[case("Left", b"\x1b[D")]
    #[case("Home", b"\x1b[H")]
    #[case("End", b"\x1b[F")]
    #[case("PageUp", b"\x1b[5~")]
    #[case("pagedown", b"\x1b[6~")]
    #[case("Insert", b"\x1b[2~")]
    #[case("Delete", b"\x1b[3~")]
    #[case("F1", b"\x1bOP")]
    #[case("f4", b"\x1bOS")]
    #[case("F5", b"\x1b[15~")]
    #[case("F10", b"\x1b[21~")]
    #[case("F11", b"\x1b[23~")]
    #[case("F12", b"\x1b[24~")]
    fn named_keys(#[case] key: &str, #[case] expected: &[u8]) {
        assert_eq!(enc(&[key]).unwrap(), expected);
    }

    #[rstest]
    #[case("a", b"a")]
    #[case("A", b"A")]
    #[case("+", b"+")]
    #[case("é", "é".as_bytes())]
    #[case("Ctrl+C", b"\x03")]
    #[case("ctrl+c", b"\x03")]
    #[case("CTRL+a", b"\x01")]
    #[case("Ctrl+Z", b"\x1a")]
    #[case("Control+d", b"\x04")]
    #[case("Ctrl+l", b"\x0c")]
    #[case("Ctrl+[", b"\x1b")]
    #[case("Ctrl+Space", b"\x00")]
    #[case("Ctrl+Shift+c", b"\x03")]
    #[case("Alt+x", b"\x1bx")]
    #[case("Meta+X", b"\x1bX")]
    #[case("Alt+Ctrl+c", b"\x1b\x03")]
    #[case("Ctrl+Alt+c", b"\x1b\x03")]
    #[case("Shift+a", b"A")]
    #[case("Alt++", b"\x1b+")]
    #[case("Alt+Enter", b"\x1b\r")]
    #[case("Alt+Backspace", b"\x1b\x7f")]
    #[case("Ctrl+Backspace", b"\x08")]
    #[case("Shift+Tab", b"\x1b[Z")]
    #[case("Alt+Space", b"\x1b ")]
    #[case("Ctrl+Up", b"\x1b[1;5A")]
    #[case("Shift+Left", b"\x1b[1;2D")]
    #[case("Alt+Home", b"\x1b[1;3H")]
    #[case("Ctrl+Alt+Delete", b"\x1b[3;7~")]
    #[case("Shift+F1", b"\x1b[1;2P")]
    #[case("Ctrl+F5", b"\x1b[15;5~")]
    #[case("Ctrl+Shift+Alt+PageUp", b"\x1b[5;8~")]
    fn characters_and_modifiers(#[case] key: &str, #[case] expected: &[u8]) {
        assert_eq!(enc(&[key]).unwrap(), expected);
    }

    #[test]
    fn a_sequence_is_concatenated_in_order() {
        assert_eq!(enc(&["l", "s", "Enter", "Ctrl+C"]).unwrap(), b"ls\r\x03");
    }

    #[rstest]
    #[case(&["NotAKey"], "\"NotAKey\"", 1)]
    #[case(&["Enter", "F13"], "\"F13\"", 2)]
    #[case(&["Ctrl+Enter"], "\"Ctrl+Enter\"", 1)]
    #[case(&["Shift+1"], "\"Shift+1\"", 1)]
    #[case(&["Ctrl+é"], "\"Ctrl+é\"", 1)]
    #[case(&["Ctrl+Ctrl+c"], "\"Ctrl\"", 1)]
    #[case(&["Hyper+x"], "\"Hyper+x\"", 1)]
    #[case(&[""], "\"\"", 1)]
    #[case(&["a", "b", "hello"], "\"hello\"", 3)]
    fn bad_keys_are_named_and_nothing_is_encoded(
        #[case] keys: &[&str],
        #[case] named: &str,
        #[case] position: usize,
    ) {
        let err = enc(keys).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidKeys);
        let message = err.to_string();
        assert!(message.contains(named), "{message}");
        assert!(
            message.contains(&format!("key {position} of {}", keys.len())),
            "{message}"
        );
        assert!(message.contains("Ctrl+C"), "lists valid forms: {message}");
    }

    #[test]
    fn no_keys_is_an_error() {
        assert_eq!(enc(&[]).unwrap_err().code, ErrorCode::InvalidKeys);
    }
}
