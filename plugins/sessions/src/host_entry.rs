//! The hidden `_host <id>` command: runs a Session's host
//! ([`agent_tty_session_host::SessionHost`]) in the process `create`
//! started, and answers the agent-tty 0.5 requests that read the screen
//! (`waitForRender`, `snapshot`, `screenshot`) with the agent loop and the
//! renderer, exactly as the CLI commands of the same names do.

use crate::agent_loop::snapshot::{screen_hash, snapshot_of, Format};
use crate::agent_loop::target::Target;
use crate::agent_loop::wait::{follow, wait_limit, Condition, Render, WaitEnd, Waiter};
use crate::lookup::home_of;
use agent_tty_core::screen::ScreenReplay;
use agent_tty_plugin_api::{
    ArgSpec, CommandOutput, CommandSpec, CommandTable, Invocation, PluginError,
};
use agent_tty_session_host::legacy_rpc::{
    opt_bool, opt_int, opt_string, renderer_name, rpc_error, strict, Identity, Params,
};
use agent_tty_session_host::readiness::ReadySignal;
use agent_tty_session_host::{ScreenQueries, SessionHost};
use agent_tty_term::profile::DEFAULT_PROFILE;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

/// The hidden `_host` entry: its spec beside its handler (`run` below).
pub fn commands() -> CommandTable {
    CommandTable::new().command(
        CommandSpec::new(
            &["_host"],
            "Run a Session's PTY host (internal: started by `create`)",
        )
        .hidden()
        .arg(ArgSpec::positional("id", "The Session id")),
        |_, invocation| run(invocation),
    )
}

fn run(invocation: &Invocation) -> Result<CommandOutput, PluginError> {
    let signal = ReadySignal::from_env();
    let started = (|| {
        let home = home_of(invocation)?;
        let id = invocation
            .value("id")
            .ok_or_else(|| PluginError::usage("_host needs a Session id"))?;
        SessionHost::start(&home, id, Arc::new(AgentLoopQueries)).map_err(PluginError::from)
    })();
    match started {
        Ok(host) => {
            signal.ready();
            let (code, signal_name) = host.run();
            Ok(CommandOutput::new(
                json!({ "exitCode": code, "exitSignal": signal_name }),
                "",
            ))
        }
        Err(e) => {
            signal.failed(&e);
            Err(e)
        }
    }
}

/// 0.5's screen-reading requests, answered by the agent loop.
struct AgentLoopQueries;

/// The Session as the shared wait code sees it.
fn target(me: &Identity) -> Result<Target, PluginError> {
    Target::read(
        me.home.clone(),
        me.session_id.clone(),
        me.session_dir.clone(),
    )
}

impl ScreenQueries for AgentLoopQueries {
    fn wait_for_render(&self, me: &Identity, p: &Params) -> Result<Value, PluginError> {
        strict(
            p,
            &[
                "text",
                "regex",
                "screenStableMs",
                "cursorRow",
                "cursorCol",
                "afterSeq",
                "timeoutMs",
                "rendererName",
            ],
        )?;
        let text = opt_string(p, "text")?;
        let regex = opt_string(p, "regex")?;
        let stable = opt_int(p, "screenStableMs", 1)?;
        let cursor_row = opt_int(p, "cursorRow", 0)?;
        let cursor_col = opt_int(p, "cursorCol", 0)?;
        let after_seq = opt_int(p, "afterSeq", 0)?;
        let limit = wait_limit(opt_int(p, "timeoutMs", 1)?);
        renderer_name(p)?;
        let render = Render::build(
            text,
            regex.as_deref(),
            stable,
            cursor_row,
            cursor_col,
            after_seq,
        )?;
        let target = target(me)?;
        let started = Instant::now();
        let mut waiter = Waiter::new(
            &target.event_log(),
            ScreenReplay::for_manifest_with_scrollback(&target.manifest, 0),
            Condition::Render(render),
            started,
        );
        let end = follow(&target, &mut waiter, limit, started)?;
        let replay = waiter.replay();
        let captured = replay.last_seq().unwrap_or(0);
        Ok(match end {
            WaitEnd::Matched(found) => {
                let (row, col) = replay.cursor();
                let mut r = json!({ "matched": true, "timedOut": false });
                if let Some(found) = found {
                    r["matchedText"] = json!(found);
                }
                r["cursorRow"] = json!(row);
                r["cursorCol"] = json!(col);
                r["capturedAtSeq"] = json!(captured);
                r["screenHash"] = json!(screen_hash(&replay.visible_lines()));
                r
            }
            WaitEnd::TimedOut | WaitEnd::Unreachable => {
                json!({ "matched": false, "timedOut": true, "capturedAtSeq": captured })
            }
        })
    }

    /// `snapshot` in 0.5's shapes (§3.13): exactly what our `snapshot --json`
    /// returns, rebuilt from the Event Log. Unlike 0.5 it writes no artifact
    /// (reading never writes).
    fn snapshot(&self, me: &Identity, p: &Params) -> Result<Value, PluginError> {
        strict(
            p,
            &[
                "format",
                "includeScrollback",
                "includeCells",
                "rendererName",
            ],
        )?;
        let format = opt_string(p, "format")?.unwrap_or_else(|| "structured".into());
        if format != "structured" && format != "text" {
            return Err(rpc_error("params.format: expected structured or text"));
        }
        let with_scrollback = opt_bool(p, "includeScrollback")?.unwrap_or(false);
        let with_cells = opt_bool(p, "includeCells")?.unwrap_or(false);
        renderer_name(p)?;
        let format = if format == "text" {
            Format::Text
        } else {
            Format::Structured
        };
        let target = target(me)?;
        Ok(snapshot_of(&target, format, with_scrollback, with_cells)?.result)
    }

    /// `screenshot {profile?, showCursor?, rendererName?}`: the screen drawn
    /// by our renderer and stored as `artifacts/screenshot-<seq>-<profile>.png`
    /// with its artifact entry; an unknown profile is `INVALID_INPUT`, as 0.5's
    /// host answers it.
    fn screenshot(&self, me: &Identity, p: &Params) -> Result<Value, PluginError> {
        strict(p, &["profile", "showCursor", "rendererName"])?;
        let profile = opt_string(p, "profile")?;
        if profile
            .as_ref()
            .is_some_and(|n| !(1..=100).contains(&n.chars().count()))
        {
            return Err(rpc_error("params.profile: expected 1 to 100 characters"));
        }
        let show_cursor = opt_bool(p, "showCursor")?.unwrap_or(false);
        renderer_name(p)?;
        let target = target(me)?;
        let shot = agent_tty_render::screenshot::take(&agent_tty_render::screenshot::Request {
            session_dir: &target.dir,
            session_id: &target.id,
            manifest: &target.manifest,
            profile_name: profile.as_deref().unwrap_or(DEFAULT_PROFILE),
            show_cursor,
            out: None,
        })?;
        Ok(shot.result())
    }
}
