#!/usr/bin/env bash
# What a Session's host costs: CPU and memory (PSS, from smaps_rollup) of the
# `_host` process
#   1. while its command prints about 50 MB/s of text (python3 paces it),
#   2. idle, after 10,000 lines went into the live screen's scrollback, and
#      after 12,000 full-width ones.
# The host keeps a live screen (for answering terminal questions) and writes
# the Event Log, so both scale with output. Goal: idle PSS <= 4 MB.
# Needs the Rust toolchain, bash, coreutils and python3 (Linux /proc).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${NO_BUILD:-}" ] || cargo build --release -q --workspace
A=target/release/agent-tty
sandbox=$(mktemp -d)
home=$sandbox/home
export HOME=$sandbox XDG_CACHE_HOME=$sandbox/cache XDG_DATA_HOME=$sandbox/data XDG_STATE_HOME=$sandbox/state
export XDG_RUNTIME_DIR=$sandbox/run
mkdir -p "$XDG_RUNTIME_DIR"
unset AGENT_TTY_PLUGIN_PATH AGENT_TTY_HOME
ids=()
cleanup() {
    for id in "${ids[@]}"; do
        "$A" --home "$home" destroy "$id" --force >/dev/null 2>&1 || true
    done
    rm -rf "$sandbox"
}
trap cleanup EXIT

seconds=${SECONDS_OF_OUTPUT:-4}
rate=${RATE_MB:-50}

create() {
    "$A" --home "$home" --json create --cols 120 --rows 40 -- "$@" |
        sed -n 's/.*"sessionId": *"\([^"]*\)".*/\1/p'
}
host_pid() {
    sed -n 's/.*"hostPid": *\([0-9]*\).*/\1/p' "$home/sessions/$1/session.json"
}
# utime + stime of a process, in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
pss_kb() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
hz=$(getconf CLK_TCK)

# 1. 50 MB/s of output.
cat >"$sandbox/firehose.py" <<PY
import os, sys, time
line = b"compiling crate number 00000 with a reasonably long line of build output text\r\n"
chunk = line * (64 * 1024 // len(line))
per_tick = $rate * 1024 * 1024 // 100
start = time.time(); sent = 0
while time.time() - start < $seconds:
    due = (time.time() - start) * 100 * per_tick
    while sent < due:
        os.write(1, chunk); sent += len(chunk)
    time.sleep(0.002)
sys.stderr.flush()
os.write(1, b"\r\nfirehose-done %d\r\n" % sent)
time.sleep(3600)
PY
id=$(create python3 "$sandbox/firehose.py")
ids+=("$id")
pid=$(host_pid "$id")
log=$home/sessions/$id/events.jsonl
t0=$(ticks "$pid"); w0=$(date +%s.%N); peak=0
while ! tail -c 300 "$log" 2>/dev/null | grep -q 'firehose-done'; do
    p=$(pss_kb "$pid"); [ "$p" -gt "$peak" ] && peak=$p
    sleep 0.1
done
t1=$(ticks "$pid"); w1=$(date +%s.%N)
bytes=$(tail -c 300 "$log" | grep -o 'firehose-done [0-9]*' | awk '{print $2}')
awk -v t=$((t1 - t0)) -v hz="$hz" -v w0="$w0" -v w1="$w1" -v b="$bytes" -v peak="$peak" -v end="$(pss_kb "$pid")" 'BEGIN {
    wall = w1 - w0
    printf "firehose: %.1f MB in %.2f s = %.1f MB/s; host CPU %.0f%% of one core; PSS peak %.1f MB, after %.1f MB\n",
        b / 1048576, wall, b / 1048576 / wall, 100 * t / hz / wall, peak / 1024, end / 1024
}'

# 2. Idle, with a full scrollback.
id=$(create bash --norc --noprofile)
ids+=("$id")
pid=$(host_pid "$id")
"$A" --home "$home" run "$id" 'seq 1 10000' >/dev/null
sleep 1
t0=$(ticks "$pid")
sleep 5
t1=$(ticks "$pid")
echo "idle: PSS $(awk -v k="$(pss_kb "$pid")" 'BEGIN {printf "%.2f", k / 1024}') MB with 10,000 lines of scrollback; CPU over 5 s: $((t1 - t0)) ticks"
# Full-width lines past 10,000: what a longer history would cost (readers
# that show scrollback keep 10,000 lines; the host keeps MIN_HISTORY).
"$A" --home "$home" run "$id" 'for i in $(seq 1 12000); do printf "%0119d\n" "$i"; done' --timeout 120000 >/dev/null
sleep 1
echo "idle: PSS $(awk -v k="$(pss_kb "$pid")" 'BEGIN {printf "%.2f", k / 1024}') MB after 12,000 more lines of 119 columns"
id=$(create bash --norc --noprofile)
ids+=("$id")
sleep 1
echo "idle, fresh bash: PSS $(awk -v k="$(pss_kb "$(host_pid "$id")")" 'BEGIN {printf "%.2f", k / 1024}') MB"
