//! The MCP server: `tools/list` from [`crate::tools`], `tools/call` by
//! running the same `agent-tty` command with `--json` (ADR 0016).
//!
//! A tool call is a child `agent-tty [--home H] --json <command> ...`: the
//! one implementation of each command, with its checks, defaults, error
//! codes and envelope, answers the agent exactly as it answers the CLI. The
//! envelope is the text content and the structured content; a failed
//! command (`ok: false`) is a tool error (`isError`) carrying it.

use crate::tools::{self, ToolDef, TOOLS};
use agent_tty_core::safe_fs::read_home_file;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

/// The largest screenshot attached as an image: far above any PNG of a
/// terminal screen; the path comes from a child's answer and is read as a
/// Home file (no symlink, FIFO or device, bounded), never trusted.
const MAX_SCREENSHOT_BYTES: u64 = 32 << 20;

/// How the server reaches agent-tty's commands.
#[derive(Debug, Clone)]
pub struct Runner {
    /// The `agent-tty` executable (the host running this plugin).
    pub exe: PathBuf,
    /// `--home`, when one was chosen explicitly; else the children resolve
    /// the Home as the server did (the same environment).
    pub home: Option<String>,
}

impl Runner {
    fn command(&self, words: &[String]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.exe);
        if let Some(home) = &self.home {
            cmd.arg("--home").arg(home);
        }
        cmd.arg("--json")
            .args(words)
            // The server's stdin is the MCP stream: a command must never read it.
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// Runs one command and returns its `--json` envelope. A command that
    /// printed no envelope (it crashed) gets one that says so.
    pub async fn envelope(&self, words: &[String]) -> Value {
        let name = words.first().cloned().unwrap_or_default();
        match self.command(words).output().await {
            Ok(out) => match serde_json::from_slice::<Value>(&out.stdout) {
                Ok(envelope) if envelope.get("ok").is_some() => envelope,
                _ => failure(
                    &name,
                    "INTERNAL_ERROR",
                    &format!(
                        "`agent-tty {name}` printed no JSON envelope (exit status {}): {}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr).trim()
                    ),
                ),
            },
            Err(e) => failure(
                &name,
                "INTERNAL_ERROR",
                &format!("could not start {}: {e}", self.exe.display()),
            ),
        }
    }

    /// The command words installed plugins mount (`"record export"`), from
    /// `agent-tty plugins --json`.
    pub async fn mounted_commands(&self) -> Vec<String> {
        let envelope = self.envelope(&["plugins".to_owned()]).await;
        envelope["result"]["plugins"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["status"] == "loaded")
            .flat_map(|p| p["commands"].as_array().cloned().unwrap_or_default())
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect()
    }
}

/// An envelope for a failure found before any command ran, in the shape the
/// CLI prints (`docs/CONTRACT.md`).
pub fn failure(command: &str, code: &str, message: &str) -> Value {
    json!({
        "ok": false,
        "command": command,
        "timestamp": agent_tty_core::time::now_iso(),
        "error": { "code": code, "message": message, "retryable": false, "details": {} },
    })
}

/// The MCP server handler.
pub struct AgentTtyServer {
    runner: Runner,
    /// The tools whose command an installed plugin mounts.
    tools: Vec<&'static ToolDef>,
}

impl AgentTtyServer {
    /// A server offering the tools whose commands are in `mounted`.
    pub fn new(runner: Runner, mounted: &[String]) -> Self {
        let tools = TOOLS
            .iter()
            .filter(|t| mounted.iter().any(|m| *m == t.command.join(" ")))
            .collect();
        AgentTtyServer { runner, tools }
    }

    /// The names of the tools offered.
    pub fn tool_names(&self) -> Vec<&'static str> {
        self.tools.iter().map(|t| t.name).collect()
    }

    async fn call(&self, tool: &ToolDef, args: serde_json::Map<String, Value>) -> CallToolResult {
        let envelope = match tools::argv(tool, &args) {
            Ok(words) => self.runner.envelope(&words).await,
            Err(bad) => failure(&tool.command.join(" "), "INVALID_INPUT", &bad.0),
        };
        let ok = envelope["ok"] == true;
        let mut content = vec![ContentBlock::text(envelope.to_string())];
        if ok && tool.name == "screenshot" {
            if let Some(png) = envelope["result"]["artifactPath"]
                .as_str()
                .and_then(|p| read_home_file(Path::new(p), MAX_SCREENSHOT_BYTES).ok())
            {
                use base64::Engine;
                let data = base64::engine::general_purpose::STANDARD.encode(png);
                content.push(ContentBlock::image(data, "image/png"));
            }
        }
        let mut result = if ok {
            CallToolResult::success(content)
        } else {
            CallToolResult::error(content)
        };
        result.structured_content = Some(envelope);
        result
    }
}

impl ServerHandler for AgentTtyServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("agent-tty", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Real, long-lived terminal Sessions. Start one with `create` (it returns \
                 sessionId), drive it with `run`, `type`, `send_keys`, read it with \
                 `snapshot` or `wait`, and end it with `destroy`. Every answer is agent-tty's \
                 JSON envelope: {ok, command, result} or {ok: false, error: {code, message, \
                 retryable}}.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            self.tools
                .iter()
                .map(|t| Tool::new(t.name, t.description, Arc::new(tools::input_schema(t))))
                .collect(),
        ))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools
            .iter()
            .find(|t| t.name == name)
            .map(|t| Tool::new(t.name, t.description, Arc::new(tools::input_schema(t))))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(tool) = self.tools.iter().find(|t| t.name == request.name) else {
            return Err(ErrorData::invalid_params(
                format!(
                    "no tool {:?}; this server offers: {}",
                    request.name,
                    self.tool_names().join(", ")
                ),
                None,
            ));
        };
        Ok(self
            .call(tool, request.arguments.unwrap_or_default())
            .await
            .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mounted_commands_become_tools() {
        let runner = Runner {
            exe: "agent-tty".into(),
            home: None,
        };
        let server = AgentTtyServer::new(runner, &["create".into(), "record export".into()]);
        assert_eq!(server.tool_names(), ["create", "record_export"]);
    }
}
