#!/usr/bin/env bash
# 128 `create`s at once, each in its own Home: every Home must end up in the
# Home Registry and every Session running (the host lock and the registry
# lock under contention). Prints the wall time of the burst; everything is
# destroyed at the end.
#
#   bench/parallel_create.sh [N]     default: 128
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --workspace
B=$PWD/target/release/agent-tty
n=${1:-128}
sandbox=$(mktemp -d)
export HOME=$sandbox XDG_CACHE_HOME=$sandbox/cache XDG_DATA_HOME=$sandbox/data XDG_STATE_HOME=$sandbox/state \
    XDG_RUNTIME_DIR=$sandbox/run SHELL=/bin/sh
mkdir -p "$XDG_RUNTIME_DIR"
unset AGENT_TTY_PLUGIN_PATH AGENT_TTY_HOME
cleanup() {
    for h in "$sandbox"/h*; do
        for d in "$h"/sessions/*/; do
            [ -d "$d" ] && "$B" --home "$h" destroy --force "$(basename "$d")" >/dev/null 2>&1 || true
        done
    done
    rm -rf "$sandbox"
}
trap cleanup EXIT
start=$(date +%s%N)
for i in $(seq 1 "$n"); do
    "$B" --json --home "$sandbox/h$i" create -- sleep 300 >"$sandbox/out$i" 2>&1 &
done
wait
end=$(date +%s%N)
ok=$(grep -l '"ok": true' "$sandbox"/out* | wc -l)
registered=$("$B" --json home list --all | grep -c '"path"')
running=0
for i in $(seq 1 "$n"); do
    running=$((running + $("$B" --json --home "$sandbox/h$i" list | grep -c '"status": "running"')))
done
echo "$n parallel creates in $(((end - start) / 1000000)) ms: $ok succeeded, $registered Homes registered, $running Sessions running"
[ "$ok" = "$n" ] && [ "$registered" = "$n" ] && [ "$running" = "$n" ]
