#!/usr/bin/env bash
# Issue 26's "Measure" list (ADR 0015), one figure per line with its goal:
#
# - `snapshot` and `record export asciicast` of an Event Log with one
#   LINE_MB (default 1024) MB line: time and peak RSS. Goal: peak ≤ 256 MB
#   whatever the line's size. The line is a hole in a sparse file (it costs
#   no disk), between two real events;
# - `list --all --json`, `gc --dry-run --json` and `gc --json` over one Home
#   of SESSIONS (default 100,000) Terminal Sessions: time and peak RSS
#   (goal: seconds, not minutes; memory in tens of MB);
# - the dashboard's key latency during a LOG_MB (default 1024) MB replay and
#   its overview's memory with SESSIONS Sessions (`bounds-probe`; goal:
#   ≤ 50 ms whatever the replay, a screenful of tiles).
#
#   bench/bounds.sh [LINE_MB [SESSIONS [LOG_MB]]]
#
# Everything goes in a temp directory removed at the end (about 1.7 GB of
# disk at the peak for 100,000 Sessions and a 1 GB replay log).
set -euo pipefail
cd "$(dirname "$0")/.."
line_mb=${1:-1024}
sessions=${2:-100000}
log_mb=${3:-1024}
cargo build --release -q -p agent-tty -p agent-tty-plugin-sessions -p agent-tty-plugin-capture \
  -p agent-tty-plugin-gc-sweeper -p agent-tty-plugin-registry
cargo build --release -q -p agent-tty-dashboard-probe --bin bounds-probe
A=$PWD/target/release/agent-tty
sandbox=$(mktemp -d)
trap 'rm -rf "$sandbox"' EXIT
export HOME=$sandbox/user XDG_CACHE_HOME=$sandbox/cache XDG_DATA_HOME=$sandbox/data \
  XDG_STATE_HOME=$sandbox/state XDG_RUNTIME_DIR=$sandbox/run
unset AGENT_TTY_PLUGIN_PATH AGENT_TTY_HOME
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"

# measure LABEL CMD...: wall time and peak RSS of one run.
measure() {
  local label=$1 secs kib
  shift
  /usr/bin/time -f '%e %M' -o "$sandbox/time" "$@" >"$sandbox/out" 2>"$sandbox/err" || {
    echo "$label: FAILED"; cat "$sandbox/err"; return 1; }
  read -r secs kib <"$sandbox/time"
  echo "$label: ${secs} s, peak RSS $((kib / 1024)) MiB"
}

# session DIR ID STATUS: a manifest of agent-tty 0.5's shape.
manifest() {
  printf '{"version":1,"sessionId":"%s","createdAt":"2026-11-24T03:50:02.677Z","updatedAt":"2026-11-24T03:51:02.677Z","status":"exited","command":["sh"],"cwd":"/tmp","cols":80,"rows":24,"hostPid":null,"childPid":null,"exitCode":0,"exitSignal":null}\n' "$1"
}

# One huge line.
home=$sandbox/huge
id=01JD3Z6X8K4M2N5P7Q9R1S3T01
dir=$home/sessions/$id
mkdir -p "$dir"
manifest "$id" >"$dir/session.json"
log=$dir/events.jsonl
printf '{"seq":0,"ts":"2026-11-24T03:50:02.700Z","type":"output","payload":{"data":"before\\r\\n"}}\n' >"$log"
truncate -s "+$((line_mb * 1024 * 1024))" "$log"
printf '\n{"seq":1,"ts":"2026-11-24T03:50:03.700Z","type":"output","payload":{"data":"after\\r\\n"}}\n' >>"$log"
measure "snapshot, one ${line_mb} MB line (goal: peak <= 256 MiB)" \
  "$A" --json --home "$home" snapshot "$id"
grep -q after "$sandbox/out" || { echo "snapshot lost the event after the line"; exit 1; }
measure "record export asciicast, one ${line_mb} MB line (goal: peak <= 256 MiB)" \
  "$A" --json --home "$home" record export "$id" --format asciicast --out "$sandbox/rec.cast"
rm -rf "$home"

# Many Sessions in one Home.
home=$sandbox/many
python3 - "$home" "$sessions" <<'PY'
import os, sys
home, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    sid = "01JD%022d" % i
    d = os.path.join(home, "sessions", sid)
    os.makedirs(d)
    with open(os.path.join(d, "session.json"), "w") as f:
        f.write('{"version":1,"sessionId":"%s","createdAt":"2026-11-24T03:50:02.677Z","updatedAt":"2026-11-24T03:51:02.677Z","status":"exited","command":["sh"],"cwd":"/tmp","cols":80,"rows":24,"hostPid":null,"childPid":null,"exitCode":0,"exitSignal":null}\n' % sid)
    with open(os.path.join(d, "events.jsonl"), "w") as f:
        f.write('{"seq":0,"ts":"2026-11-24T03:50:02.700Z","type":"output","payload":{"data":"$ "}}\n')
PY
measure "list --all --json, ${sessions} Sessions" "$A" --json --home "$home" list --all
measure "gc --dry-run --json, ${sessions} Sessions" "$A" --json --home "$home" gc --dry-run
measure "gc --json, ${sessions} Sessions (removes them)" "$A" --json --home "$home" gc
rm -rf "$home"

target/release/bounds-probe --exe "$A" --sessions "$sessions" --log-mb "$log_mb"
