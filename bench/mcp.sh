#!/usr/bin/env bash
# The MCP server's overhead per tool call: `run {command: "true"}` through
# the official MCP Python client (`pip install mcp`) against the same CLI
# command, `agent-tty run <id> true --output`, in a live bash Session.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/homes.sh
bench_live_sandbox
python3 -c 'import mcp' 2>/dev/null || { echo "needs the MCP Python SDK: pip install mcp" >&2; exit 1; }

bench_bash_session
$T -n 50 --label "CLI run <id> true --output" -- \
    "$A" --home "$home" --json run "$id" true --output
python3 bench/lib/mcp_calls.py "$A" "$home" 50
