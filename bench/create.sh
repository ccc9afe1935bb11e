#!/usr/bin/env bash
# Wall time of `create --json -- sleep 300` until the ready envelope, with
# every plugin loaded (the release build). Each run starts a real host, PTY
# and command; all of them are killed at the end.
# Goal: median <= 40 ms (agent-tty 0.5: about 2.1 s).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --workspace
T=target/release/timeit
B=$PWD/target/release/agent-tty
sandbox=$(mktemp -d)
home=$sandbox/home
cleanup() {
    for m in "$home"/sessions/*/session.json; do
        [ -e "$m" ] || continue
        for key in childPid hostPid; do
            pid=$(sed -n "s/.*\"$key\": \([0-9][0-9]*\).*/\1/p" "$m")
            [ -n "$pid" ] && { kill -9 -- "-$pid" 2>/dev/null || true; kill -9 "$pid" 2>/dev/null || true; }
        done
    done
    rm -rf "$sandbox"
}
trap cleanup EXIT
export HOME=$sandbox XDG_CACHE_HOME=$sandbox/cache XDG_DATA_HOME=$sandbox/data XDG_STATE_HOME=$sandbox/state \
    XDG_RUNTIME_DIR=$sandbox/run SHELL=/bin/sh
mkdir -p "$XDG_RUNTIME_DIR"
unset AGENT_TTY_PLUGIN_PATH AGENT_TTY_HOME
$T -n 40 --label "create --json -- sleep 300" -- "$B" --json --home "$home" create -- sleep 300
$T -n 40 --label "create --json (default shell)" -- "$B" --json --home "$home" create
