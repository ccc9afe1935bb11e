//! The `mcp` plugin: `agent-tty mcp`, a Model Context Protocol server on
//! stdio whose tools are agent-tty's own commands (ADR 0016).
//!
//! - `tools`: the tool table (names, parameters, the command each runs).
//! - `server`: the rmcp handler; a tool call runs the command as a child
//!   `agent-tty --json ...` and answers with its envelope.
//! - `stdio`: the stream in front of rmcp, answering lines that are not
//!   JSON-RPC messages as JSON-RPC 2.0 asks.

use agent_tty_plugin_api::{
    export_plugin, CommandOutput, CommandSpec, CommandTable, ErrorCode, Host, Invocation, Plugin,
    PluginError,
};
use rmcp::ServiceExt;

pub mod server;
pub mod stdio;
pub mod tools;

/// The plugin.
#[derive(Default)]
pub struct McpPlugin;

impl Plugin for McpPlugin {
    /// None: the host need not open this plugin to announce anything.
    fn events(&self) -> Vec<String> {
        Vec::new()
    }

    fn commands(&self) -> CommandTable {
        CommandTable::new().command(
            CommandSpec::new(
                &["mcp"],
                "Serve agent-tty's commands as Model Context Protocol tools on stdin/stdout",
            ),
            serve,
        )
    }
}

/// `mcp`: serves until the client closes the stream, then ends the process
/// (below) so nothing but MCP messages ever reaches stdout.
fn serve(_host: &Host, inv: &Invocation) -> Result<CommandOutput, PluginError> {
    let exe = match inv.context.exe.as_str() {
        "" => std::env::current_exe().map_err(|e| {
            PluginError::new(
                ErrorCode::InternalError,
                format!("cannot find the agent-tty executable: {e}"),
            )
        })?,
        exe => exe.into(),
    };
    let home = inv
        .context
        .home
        .as_ref()
        .filter(|h| h.explicit)
        .map(|h| h.path.clone());
    let runner = server::Runner { exe, home };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            PluginError::new(
                ErrorCode::InternalError,
                format!("cannot start the MCP server's runtime: {e}"),
            )
        })?;
    let served: Result<(), String> = runtime.block_on(async {
        let mounted = runner.mounted_commands().await;
        let handler = server::AgentTtyServer::new(runner, &mounted);
        let (stdin, stdout) = rmcp::transport::stdio();
        let stream = stdio::filtered(stdin, stdout);
        let served = match handler.serve((stream.read, stream.write)).await {
            Ok(service) => service.waiting().await.map(drop).map_err(|e| e.to_string()),
            Err(e) => Err(format!(
                "the MCP client did not initialise the session: {e}"
            )),
        };
        // rmcp has closed its side: every answer is written once this ends.
        let _ = stream.writer.await;
        served
    });
    // The client closed the stream (or never spoke MCP). The host would print
    // an envelope on stdout, which an MCP client must never see; end here.
    // tokio's stdin reader may still be blocked in read(2), so the runtime
    // is not dropped (that would wait for it).
    std::mem::forget(runtime);
    match served {
        Ok(()) => std::process::exit(0),
        Err(message) => {
            eprintln!("agent-tty mcp: {message}");
            std::process::exit(1)
        }
    }
}

export_plugin!("mcp", McpPlugin::default);

#[cfg(test)]
mod tests {
    use super::*;
    use agent_tty_plugin_api::test_support::PluginHarness;

    #[test]
    fn declares_the_mcp_command_once() {
        let d = PluginHarness::new(McpPlugin).describe();
        let paths: Vec<_> = d.commands.iter().map(|c| c.path.join(" ")).collect();
        assert_eq!(paths, ["mcp"]);
    }
}
