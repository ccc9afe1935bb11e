//! `inspect <id>`: the manifest plus facts derived from it and the disk.

use crate::lookup::find_session;
use agent_tty_core::event_log::{self, event_log_path};
use agent_tty_core::liveness;
use agent_tty_core::text::escape;
use agent_tty_core::reconcile::{reconcile_session, ReconcileMode};
use agent_tty_plugin_api::{CommandOutput, Invocation, PluginError};
use serde_json::json;

pub(super) fn run(invocation: &Invocation) -> Result<CommandOutput, PluginError> {
    let dir = find_session(invocation)?.dir;
    // Like `list`, show the truth: an Active Session whose host died is
    // reconciled first.
    let outcome = reconcile_session(&dir, ReconcileMode::Apply)?;
    let m = outcome.manifest;
    let status = m.status;
    let sidecar = liveness::read_sidecar(&dir);
    let verdict = liveness::judge(&dir, &m, sidecar.as_ref());
    let log = event_log_path(&dir);
    let log_bytes = std::fs::metadata(&log).map(|md| md.len()).unwrap_or(0);
    // `seq` is contiguous from 0, so the last event's seq gives the count
    // without reading the whole log.
    let event_count = event_log::last_event(&log)?.map_or(0, |e| e.seq + 1);
    let host_alive = if status.is_terminal() {
        Some(false)
    } else {
        verdict.host_alive()
    };
    let derived = json!({
        "active": status.is_active(),
        "terminal": status.is_terminal(),
        "commandable": status.is_commandable(),
        "collectable": status.is_collectable(),
        "eventCount": event_count,
        "logBytes": log_bytes,
        "hostAlive": host_alive,
        "foreign": verdict.is_foreign(),
    });
    let mut human = format!(
        "Session {}{}\n  status       {}\n  command      {}\n  cwd          {}\n  size         {}x{}\n  created      {}\n  updated      {}\n",
        escape(&m.session_id),
        m.name
            .as_deref()
            .map(|n| format!(" ({})", escape(n)))
            .unwrap_or_default(),
        status.as_str(),
        escape(&m.command.join(" ")),
        escape(&m.cwd),
        m.cols,
        m.rows,
        escape(&m.created_at),
        escape(&m.updated_at),
    );
    if let Some(code) = m.exit_code {
        human.push_str(&format!("  exit code    {code}\n"));
    }
    if let Some(sig) = &m.exit_signal {
        human.push_str(&format!("  exit signal  {}\n", escape(sig)));
    }
    if let Some(reason) = &m.failure_reason {
        human.push_str(&format!("  failure      {}\n", escape(reason)));
    }
    human.push_str(&format!(
        "  host         {}\n  events       {event_count} ({log_bytes} bytes)\n",
        match host_alive {
            None => "on another machine (foreign)".to_owned(),
            Some(true) => format!("alive (pid {})", m.host_pid.unwrap_or_default()),
            Some(false) => "not running".to_owned(),
        }
    ));
    Ok(CommandOutput::new(
        json!({ "manifest": m, "derived": derived }),
        human,
    ))
}
