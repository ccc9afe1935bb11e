//! One row of the Session list, as the `sessions.list` capability returns it.

use serde::Deserialize;
use serde_json::Value;

/// A Session as listed by `sessions.list`. Unknown fields are ignored and
/// missing optional ones default, so a newer sessions plugin never breaks
/// the dashboard.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRow {
    /// The Session's id (a ULID).
    pub session_id: String,
    /// `running`, `exited`, `failed`, …
    pub status: String,
    /// The command it runs.
    #[serde(default)]
    pub command: Vec<String>,
    /// When it was created (ISO-8601).
    #[serde(default)]
    pub created_at: String,
    /// Its name, if it was given one.
    #[serde(default)]
    pub name: Option<String>,
    /// How it exited, once it has.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// The signal that ended it, if one did.
    #[serde(default)]
    pub exit_signal: Option<String>,
    /// Why it failed (`host-death`, …), if it did.
    #[serde(default)]
    pub failure_origin: Option<String>,
    /// Its host runs on another machine.
    #[serde(default)]
    pub foreign: bool,
    /// When its manifest last changed (ISO-8601).
    #[serde(default)]
    pub updated_at: String,
    /// Who has taken it over with `attach`, when someone has.
    #[serde(default)]
    pub control: Option<Control>,
}

/// A person attached to a Session (`attach`), as `sessions.list` reports it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Control {
    /// Who: the user and their terminal.
    #[serde(default)]
    pub holder: String,
    /// Since when (ISO-8601).
    #[serde(default)]
    pub since: String,
}

impl SessionRow {
    /// Whether the Session is still Active (running, exiting or destroying).
    pub fn is_active(&self) -> bool {
        self.status
            .parse::<agent_tty_core::manifest::Status>()
            .is_ok_and(agent_tty_core::manifest::Status::is_active)
    }

    /// The status as the CLI's `list` words it (`running`, `exited (0)`,
    /// `killed (SIGKILL)`): one wording across the CLI and the dashboard.
    pub fn status_text(&self) -> String {
        agent_tty_core::text::status_wording(
            &self.status,
            self.exit_code,
            self.exit_signal.as_deref(),
            self.foreign,
        )
    }

    /// How a Session ended, for the Live View's badge: the status wording,
    /// plus why it failed when it did; `None` while it is Active.
    pub fn end_badge(&self) -> Option<String> {
        if self.is_active() {
            return None;
        }
        Some(match &self.failure_origin {
            Some(origin) if self.status == "failed" => {
                format!("{} · {origin}", self.status_text())
            }
            _ => self.status_text(),
        })
    }
}

/// Decodes the `sessions.list` answer `{"sessions": [...]}`.
pub fn parse_listing(value: Value) -> Result<Vec<SessionRow>, String> {
    #[derive(Deserialize)]
    struct Listing {
        sessions: Vec<SessionRow>,
    }
    serde_json::from_value::<Listing>(value)
        .map(|l| l.sessions)
        .map_err(|e| format!("the sessions plugin answered with an unexpected listing: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_listing_decodes_and_badges_ended_sessions() {
        let rows = parse_listing(json!({"sessions": [
            {"sessionId": "01A", "status": "running", "command": ["sh"], "createdAt": "x", "pid": 5},
            {"sessionId": "01B", "status": "exited", "command": ["true"], "createdAt": "x", "exitCode": 0},
            {"sessionId": "01C", "status": "failed", "command": ["x"], "createdAt": "x", "failureOrigin": "host-death"},
            {"sessionId": "01D", "status": "exited", "command": ["sleep"], "createdAt": "x", "exitCode": 0, "exitSignal": "9"}
        ]}))
        .unwrap();
        let badges: Vec<_> = rows.iter().map(SessionRow::end_badge).collect();
        assert_eq!(
            badges,
            [
                None,
                Some("exited (0)".into()),
                Some("failed · host-death".into()),
                // A signal's end never reads as a clean exit.
                Some("killed (SIGKILL)".into())
            ]
        );
    }

    #[test]
    fn a_malformed_listing_is_an_error_not_a_panic() {
        assert!(parse_listing(json!({"nope": 1})).is_err());
    }
}
