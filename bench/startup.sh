#!/usr/bin/env bash
# Whole-process time of `agent-tty version --json` with every plugin installed
# (known from the description cache, and opened when there is no cache), and
# the plugins' share of it (the same binary alone in an empty directory).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --workspace
T=target/release/timeit
sandbox=$(mktemp -d); trap 'rm -rf "$sandbox"' EXIT
export HOME=$sandbox XDG_CACHE_HOME=$sandbox/cache XDG_DATA_HOME=$sandbox/data XDG_STATE_HOME=$sandbox/state
unset AGENT_TTY_PLUGIN_PATH AGENT_TTY_HOME
mkdir -p "$sandbox/alone" && cp target/release/agent-tty "$sandbox/alone/"
# All six plugins installed: known from the plugin description cache (the
# usual case; ADR 0010), then with no usable cache, so every run opens and
# describes every plugin (the first run after an install or upgrade); then
# the binary alone.
target/release/agent-tty version --json > /dev/null # fills the cache
$T -n 100 --label "version --json, all plugins, cached " -- target/release/agent-tty version --json
: > "$sandbox/not-a-dir"
XDG_CACHE_HOME=$sandbox/not-a-dir \
  $T -n 100 --label "version --json, all plugins opened" -- target/release/agent-tty version --json
$T -n 100 --label "version --json, no plugins        " -- "$sandbox/alone/agent-tty" version --json

# Every command's start-up against `version --json` (issue 10: within 1 ms):
# each command is run up to its first real work (an empty Home, or a Session
# that does not exist), so the figure is parsing, context resolution (Home,
# config.json, flags) and dispatch to its plugin.
home=$sandbox/home; mkdir -p "$home/sessions"
echo '{"logLevel":"info","idleTimeoutMs":0}' > "$home/config.json"
A=target/release/agent-tty
id=01JD3Z6X8K4M2N5P7Q9R1S3T5V
startup() { $T -n 100 --label "$(printf '%-28s' "$1")" -- $A --json --home "$home" "${@:2}"; }
startup "version" version
startup "list" list
startup "ls --all" ls --all
startup "create (refused: --cols 0)" create --cols 0 -- true
startup "inspect (no such Session)" inspect $id
startup "destroy (no such Session)" destroy $id
startup "type (no such Session)" type $id hello
startup "paste (no such Session)" paste $id hello
startup "send-keys (no such Session)" send-keys $id Down Down Enter
startup "resize (no such Session)" resize $id --cols 80 --rows 24
startup "wait (no such Session)" wait $id --text x
startup "snapshot (no such Session)" snapshot $id
