//! asciicast v2, exactly as agent-tty 0.5 wrote it (contract §6.1) and as
//! asciinema reads it: a header line, then one `[t, code, data]` line per
//! event.
//!
//! - header keys in 0.5's order: version, width, height (the manifest's
//!   *current* size), timestamp (first event, whole seconds), title and
//!   sessionId (the id), env.TERM (always `xterm-256color`), toolVersion;
//! - `o` for output, with the text the screen showed: `run`'s completion
//!   marker echo is removed by the same filter the screen replay uses
//!   ([`ShownOutput`]), so it never appears;
//! - `r` for a resize (`"<cols>x<rows>"`), `m` for a `mark` label;
//! - `t` is seconds since the first event with millisecond precision,
//!   printed as JavaScript prints numbers (`0`, `1.36`, `3.025`).

use super::{event_ms, iso_ms, Events, Generated, LogFacts};
use agent_tty_core::event_log::EventBody;
use agent_tty_core::manifest::Manifest;
use agent_tty_core::screen::ShownOutput;
use serde_json::{json, Map};

/// The version written in the header's `toolVersion`.
const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `ms / 1000` as JavaScript would print the number.
fn seconds(ms: u64) -> String {
    let (s, frac) = (ms / 1000, ms % 1000);
    if frac == 0 {
        s.to_string()
    } else {
        format!("{s}.{frac:03}").trim_end_matches('0').to_owned()
    }
}

fn line(out: &mut String, t: u64, code: &str, data: &str) {
    out.push('[');
    out.push_str(&seconds(t));
    out.push_str(",\"");
    out.push_str(code);
    out.push_str("\",");
    out.push_str(&serde_json::to_string(data).expect("strings serialise"));
    out.push_str("]\n");
}

/// The whole `.cast` file for a Session, in one pass over its events.
pub fn export(
    session_id: &str,
    manifest: &Manifest,
    events: &(impl Events + ?Sized),
    facts: &LogFacts,
) -> Result<Generated, String> {
    let first_ms = facts.first_ms;
    let timestamp = first_ms
        .or_else(|| iso_ms(&manifest.created_at))
        .map_or(0, |ms| ms / 1000);
    let header = json!({
        "version": 2,
        "width": manifest.cols,
        "height": manifest.rows,
        "timestamp": timestamp,
        "title": session_id,
        "sessionId": session_id,
        "env": { "TERM": "xterm-256color" },
        "toolVersion": TOOL_VERSION,
    });
    let mut out = serde_json::to_string(&header).expect("header serialises");
    out.push('\n');
    let (mut outputs, mut resizes, mut markers) = (0u64, 0u64, 0u64);
    let mut shown = ShownOutput::new();
    let first = first_ms.unwrap_or(0);
    events.try_each(&mut |event| {
        let t = event_ms(event).map_or(0, |ms| ms.saturating_sub(first));
        if let Some(text) = shown.shown(event) {
            line(&mut out, t, "o", &text);
            outputs += 1;
        }
        match &event.body {
            EventBody::Resize { cols, rows } => {
                line(&mut out, t, "r", &format!("{cols}x{rows}"));
                resizes += 1;
            }
            EventBody::Marker { label } => {
                line(&mut out, t, "m", label);
                markers += 1;
            }
            _ => {}
        }
        Ok(())
    })?;
    let mut metadata = Map::new();
    metadata.insert("width".into(), json!(manifest.cols));
    metadata.insert("height".into(), json!(manifest.rows));
    metadata.insert("title".into(), json!(session_id));
    metadata.insert("timestamp".into(), json!(timestamp));
    metadata.insert("outputEventCount".into(), json!(outputs));
    metadata.insert("resizeEventCount".into(), json!(resizes));
    metadata.insert("markerCount".into(), json!(markers));
    Ok(Generated {
        bytes: out.into_bytes(),
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::seconds;

    #[test]
    fn times_print_like_javascript_numbers() {
        assert_eq!(seconds(0), "0");
        assert_eq!(seconds(1360), "1.36");
        assert_eq!(seconds(3025), "3.025");
        assert_eq!(seconds(2000), "2");
        assert_eq!(seconds(100), "0.1");
    }
}
