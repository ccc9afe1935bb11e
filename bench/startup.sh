#!/usr/bin/env bash
# Whole-process time of `agent-tty version --json` with every plugin loaded,
# and the plugins' share of it (the same binary alone in an empty directory).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --workspace
T=target/release/timeit
sandbox=$(mktemp -d); trap 'rm -rf "$sandbox"' EXIT
export HOME=$sandbox XDG_DATA_HOME=$sandbox/data XDG_STATE_HOME=$sandbox/state
unset AGENT_TTY_PLUGIN_PATH AGENT_TTY_HOME
mkdir -p "$sandbox/alone" && cp target/release/agent-tty "$sandbox/alone/"
$T -n 100 --label "version --json, all plugins" -- target/release/agent-tty version --json
$T -n 100 --label "version --json, no plugins " -- "$sandbox/alone/agent-tty" version --json
