#!/usr/bin/env bash
# `list` on a Home holding 500 Terminal Sessions written directly in the
# agent-tty 0.5 format (manifest + a small Event Log each, no sidecar).
# Goal: `list --all --json` median <= 15 ms (agent-tty 0.5: about 1.2 s).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --workspace
T=target/release/timeit
B=$PWD/target/release/agent-tty
sandbox=$(mktemp -d); trap 'rm -rf "$sandbox"' EXIT
home=$sandbox/home
export HOME=$sandbox XDG_CACHE_HOME=$sandbox/cache XDG_DATA_HOME=$sandbox/data XDG_STATE_HOME=$sandbox/state \
    XDG_RUNTIME_DIR=$sandbox/run
unset AGENT_TTY_PLUGIN_PATH AGENT_TTY_HOME
statuses=(exited failed destroyed)
for n in $(seq 1 500); do
    id=$(printf '01JD3Z6X8K4M2N5P7Q9R%06d' "$n")
    dir=$home/sessions/$id
    mkdir -p "$dir"
    status=${statuses[$((n % 3))]}
    ts=$(printf '2026-11-%02dT%02d:%02d:%02d.000Z' $((n % 28 + 1)) $((n % 24)) $((n % 60)) $((n % 60)))
    cat >"$dir/session.json" <<JSON
{
  "version": 1,
  "sessionId": "$id",
  "createdAt": "$ts",
  "updatedAt": "$ts",
  "status": "$status",
  "command": ["bash", "-lc", "make test"],
  "cwd": "/home/user/project",
  "name": "job-$n",
  "shell": "/bin/bash",
  "term": "xterm-256color",
  "cols": 120,
  "rows": 40,
  "creationCols": 120,
  "creationRows": 40,
  "hostPid": null,
  "childPid": null,
  "exitCode": 0,
  "exitSignal": null
}
JSON
    printf '{"seq":0,"ts":"%s","type":"output","payload":{"data":"ok\\r\\n"}}\n' "$ts" >"$dir/events.jsonl"
done
count=$("$B" --json --home "$home" list --all | grep -c '"sessionId"')
echo "listed $count Sessions"
$T -n 50 --label "list --all --json, 500 Terminal Sessions" -- "$B" --json --home "$home" list --all
$T -n 50 --label "list --json (Active only), same Home   " -- "$B" --json --home "$home" list
$T -n 50 --label "version --json (startup floor)          " -- "$B" --json version
