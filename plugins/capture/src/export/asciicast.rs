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
//!   printed as JavaScript prints numbers (`0`, `1.36`, `3.025`); with
//!   `--idle-time-limit` every gap between two events is shortened to the
//!   limit first, as `asciinema rec --idle-time-limit` records them.

use super::{event_ms, iso_ms, Events, Failure, LogFacts};
use agent_tty_core::event_log::EventBody;
use agent_tty_core::manifest::Manifest;
use agent_tty_core::screen::ShownOutput;
use serde_json::{json, Map, Value};
use std::io::{self, Write};

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

fn line(out: &mut dyn Write, t: u64, code: &str, data: &str) -> io::Result<()> {
    write!(out, "[{},\"{code}\",", seconds(t))?;
    serde_json::to_writer(&mut *out, data)?;
    out.write_all(b"]\n")
}

/// Writes the `.cast` file for a Session to `out` as it goes, in one pass
/// over its events: memory stays that of one event, whatever the log's size.
/// Returns the result's `metadata`.
pub fn export(
    session_id: &str,
    manifest: &Manifest,
    events: &(impl Events + ?Sized),
    facts: &LogFacts,
    idle_limit_ms: Option<u64>,
    out: &mut dyn Write,
) -> Result<Map<String, Value>, Failure> {
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
    serde_json::to_writer(&mut *out, &header).map_err(io::Error::from)?;
    out.write_all(b"\n")?;
    let (mut outputs, mut resizes, mut markers) = (0u64, 0u64, 0u64);
    let mut shown = ShownOutput::new();
    let first = first_ms.unwrap_or(0);
    // Time since the first event with every gap capped: (last event's real
    // time, its time in the cast).
    let mut clock = (first, 0u64);
    // The events' callback speaks `String`; a write error waits here so it
    // is reported as the destination's, not the Event Log's.
    let mut write_error = None;
    let read = events.try_each(&mut |event| {
        // Every event passes the filter (it keeps state); only those that
        // write a line move the clock, so the limit caps the gaps between
        // lines, not between events the cast leaves out.
        let text = shown.shown(event);
        if text.is_none()
            && !matches!(
                event.body,
                EventBody::Resize { .. } | EventBody::Marker { .. }
            )
        {
            return Ok(());
        }
        let t = match (event_ms(event), idle_limit_ms) {
            (None, _) => 0,
            (Some(ms), None) => ms.saturating_sub(first),
            (Some(ms), Some(limit)) => {
                let gap = ms.saturating_sub(clock.0).min(limit);
                clock = (ms.max(clock.0), clock.1 + gap);
                clock.1
            }
        };
        let mut write = || -> io::Result<()> {
            if let Some(text) = &text {
                line(out, t, "o", text)?;
                outputs += 1;
            }
            match &event.body {
                EventBody::Resize { cols, rows } => {
                    line(out, t, "r", &format!("{cols}x{rows}"))?;
                    resizes += 1;
                }
                EventBody::Marker { label } => {
                    line(out, t, "m", label)?;
                    markers += 1;
                }
                _ => {}
            }
            Ok(())
        };
        write().map_err(|e| {
            let why = e.to_string();
            write_error = Some(e);
            why
        })
    });
    match (read, write_error) {
        (_, Some(e)) => return Err(Failure::Write(e)),
        (Err(why), None) => return Err(Failure::Log(why)),
        (Ok(_), None) => {}
    }
    let mut metadata = Map::new();
    metadata.insert("width".into(), json!(manifest.cols));
    metadata.insert("height".into(), json!(manifest.rows));
    metadata.insert("title".into(), json!(session_id));
    metadata.insert("timestamp".into(), json!(timestamp));
    metadata.insert("outputEventCount".into(), json!(outputs));
    metadata.insert("resizeEventCount".into(), json!(resizes));
    metadata.insert("markerCount".into(), json!(markers));
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_tty_core::event_log::Event;
    use std::path::Path;

    #[test]
    fn times_print_like_javascript_numbers() {
        assert_eq!(seconds(0), "0");
        assert_eq!(seconds(1360), "1.36");
        assert_eq!(seconds(3025), "3.025");
        assert_eq!(seconds(2000), "2");
        assert_eq!(seconds(100), "0.1");
    }

    /// agent-tty 0.5's recorded Session (a `run` with its marker echo, a
    /// mark, a resize), then output that JSON must escape.
    fn events() -> Vec<Event> {
        let log = Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../../tests/fixtures/agent-tty-0.5-capture/sessions/01M8PJ1DE3T96EGQAZHTXVB5QJ/events.jsonl",
        );
        let mut events: Vec<Event> = std::fs::read_to_string(log)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let at = |seq: u64, body| Event {
            seq,
            ts: format!("2026-11-30T15:45:0{}.{:03}Z", seq % 10, seq * 7 % 1000),
            body,
        };
        events.extend([
            at(
                25,
                EventBody::Output {
                    data: "quote \" backslash \\ tab \t bell \u{7} é 漢 🦀\r\n".into(),
                },
            ),
            at(
                26,
                EventBody::Resize {
                    cols: 132,
                    rows: 43,
                },
            ),
            at(
                27,
                EventBody::Marker {
                    label: "a \"mark\"\n".into(),
                },
            ),
            at(
                28,
                EventBody::Output {
                    data: "\u{1b}[31mred\u{1b}[0m\u{0}".into(),
                },
            ),
        ]);
        events
    }

    fn manifest() -> Manifest {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../../tests/fixtures/agent-tty-0.5-capture/sessions/01M8PJ1DE3T96EGQAZHTXVB5QJ/session.json",
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn the_streamed_file_is_byte_for_byte_the_golden_one() {
        let (events, manifest) = (events(), manifest());
        let facts = LogFacts::gather(&events[..]).unwrap();
        let mut out = Vec::new();
        let metadata = export("S1", &manifest, &events[..], &facts, None, &mut out).unwrap();
        // The golden file was written by the in-memory export this one
        // replaced; only `toolVersion` follows the crate's version.
        let golden = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("src/export/testdata/small.cast"),
        )
        .unwrap()
        .replace(
            "\"toolVersion\":\"0.1.0\"",
            &format!("\"toolVersion\":\"{TOOL_VERSION}\""),
        );
        assert_eq!(String::from_utf8(out).unwrap(), golden);
        assert_eq!(metadata["resizeEventCount"], 2);
        assert_eq!(metadata["markerCount"], 2);
    }

    /// `--idle-time-limit`: every gap shortened to the limit, the rest as
    /// recorded.
    #[test]
    fn an_idle_time_limit_caps_every_gap() {
        let at = |seq: u64, ms: u64, data: &str| Event {
            seq,
            ts: format!(
                "2026-11-30T15:4{}:{:02}.{:03}Z",
                ms / 60_000,
                ms / 1000 % 60,
                ms % 1000
            ),
            body: EventBody::Output { data: data.into() },
        };
        let events = [
            at(0, 0, "a"),
            at(1, 300, "b"),
            // Left out of the cast, halfway through the long pause: the
            // limit still caps the pause between the lines around it.
            Event {
                seq: 2,
                ts: "2026-11-30T15:40:30.300Z".into(),
                body: EventBody::InputText { data: "x".into() },
            },
            at(3, 60_300, "c"),
            at(4, 60_500, "d"),
        ];
        let facts = LogFacts::gather(&events[..]).unwrap();
        let times = |limit| {
            let mut out = Vec::new();
            export("S1", &manifest(), &events[..], &facts, limit, &mut out).unwrap();
            String::from_utf8(out)
                .unwrap()
                .lines()
                .skip(1)
                .map(|l| serde_json::from_str::<Value>(l).unwrap()[0].to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(times(None), ["0", "0.3", "60.3", "60.5"]);
        assert_eq!(times(Some(2000)), ["0", "0.3", "2.3", "2.5"]);
        assert_eq!(times(Some(100)), ["0", "0.1", "0.2", "0.3"]);
    }

    /// A destination that fails is reported as the destination's failure,
    /// not the Event Log's.
    #[test]
    fn a_write_error_is_the_destinations() {
        /// Takes 1000 bytes: the header, then fails among the events.
        struct Full(usize);
        impl Write for Full {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0 += buf.len();
                if self.0 > 1000 {
                    return Err(io::Error::other("disk full"));
                }
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (events, manifest) = (events(), manifest());
        let facts = LogFacts::gather(&events[..]).unwrap();
        let failure = export("S1", &manifest, &events[..], &facts, None, &mut Full(0)).unwrap_err();
        assert!(matches!(failure, Failure::Write(e) if e.to_string() == "disk full"));
    }
}
