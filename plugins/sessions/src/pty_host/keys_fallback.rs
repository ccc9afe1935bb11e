//! Temporary key encoder with the signature of `agent_tty_core::keys::encode`
//! (being written for the agent loop). Removed when that lands on main.

use agent_tty_core::{Error, Result};
use agent_tty_plugin_api::ErrorCode;

/// Encodes named keys as the bytes a terminal sends for them.
pub fn encode(keys: &[String]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for key in keys {
        out.extend(encode_one(key).ok_or_else(|| {
            Error::invalid(
                ErrorCode::InvalidKeys,
                format!("unknown key {key:?}; use names such as Enter, Up, F5, Ctrl+C, Alt+x"),
            )
        })?);
    }
    Ok(out)
}

fn encode_one(key: &str) -> Option<Vec<u8>> {
    let named: &[u8] = match key {
        "Enter" => b"\r",
        "Escape" | "Esc" => b"\x1b",
        "Tab" => b"\t",
        "Backspace" => b"\x7f",
        "Space" => b" ",
        "Up" => b"\x1b[A",
        "Down" => b"\x1b[B",
        "Right" => b"\x1b[C",
        "Left" => b"\x1b[D",
        "Home" => b"\x1b[H",
        "End" => b"\x1b[F",
        "PageUp" => b"\x1b[5~",
        "PageDown" => b"\x1b[6~",
        "Delete" => b"\x1b[3~",
        "F1" => b"\x1bOP",
        "F2" => b"\x1bOQ",
        "F3" => b"\x1bOR",
        "F4" => b"\x1bOS",
        "F5" => b"\x1b[15~",
        "F6" => b"\x1b[17~",
        "F7" => b"\x1b[18~",
        "F8" => b"\x1b[19~",
        "F9" => b"\x1b[20~",
        "F10" => b"\x1b[21~",
        "F11" => b"\x1b[23~",
        "F12" => b"\x1b[24~",
        _ => b"",
    };
    if !named.is_empty() {
        return Some(named.to_vec());
    }
    if let Some(x) = key.strip_prefix("Ctrl+") {
        let mut chars = x.chars();
        let c = chars.next()?.to_ascii_uppercase();
        return (chars.next().is_none() && ('@'..='_').contains(&c)).then(|| vec![c as u8 & 0x1f]);
    }
    if let Some(x) = key.strip_prefix("Alt+") {
        let mut inner = encode_one(x)?;
        inner.insert(0, 0x1b);
        return Some(inner);
    }
    let mut chars = key.chars();
    let c = chars.next()?;
    chars.next().is_none().then(|| c.to_string().into_bytes())
}
