#!/usr/bin/env bash
# A Session's host under a program printing flat out, and the readers and
# memory it leaves behind (issue 21, rows 2-4; docs/adr/0022-host-ingest.md):
#   flood   `yes … | head -c 100000000` in a Session against the same command
#           under bench/pty-floor (a bare PTY reader that discards what it
#           reads): wall time of each, the host's CPU per MB (when the log holds
#           everything, and 5 s later, once the checkpoint thread is done);
#           FLOOD_RUNS pairs (default 3) and their medians.
#           Goal: <= 1.3x the bare reader; <= 6 ms of host CPU per MB.
#   big     first `snapshot` and first `wait --text` of the log a host wrote
#           for `seq 1 15000000` (~170 MB) against a 1 MB one (`seq 1 150000`).
#           Goal: <= 2x the 1 MB case, first reader included.
#   idle    the host's PSS once idle after `seq 1 10000` in bash, against a
#           fresh bash Session. Goal: <= 4 MB.
# `host_ingest.sh [flood|big|idle]...` runs the rows given (default: all).
# MB=N changes the flood's size; NO_BUILD=1 skips the build. Needs the Rust
# toolchain, bash, coreutils, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=("${@:-flood big idle}")
read -r -a rows <<<"${rows[*]}"
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p agent-tty -p agent-tty-plugin-sessions \
    -p agent-tty-timeit -p agent-tty-pty-floor
# AGENT_TTY=/path/to/agent-tty measures another build (its plugins beside it).
A=${AGENT_TTY:-$PWD/target/release/agent-tty}
T=$PWD/target/release/timeit
F=$PWD/target/release/pty-floor
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
hz=$(getconf CLK_TCK)
echo "load: $(uptime | sed 's/.*load average: //')"

create() {
    "$A" --home "$home" --json create --cols 120 --rows 40 -- "$@" |
        sed -n 's/.*"sessionId": *"\([^"]*\)".*/\1/p'
}
host_pid() {
    sed -n 's/.*"hostPid": *\([0-9]*\).*/\1/p' "$home/sessions/$1/session.json"
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
pss_kb() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
now() { date +%s.%N; }
# Waits until the Session's command has ended and its host recorded it.
wait_exited() {
    while ! grep -q '"status": *"exited"' "$home/sessions/$1/session.json"; do sleep 0.02; done
}

# One flood in a Session and one under the bare reader, back to back.
flood_once() {
    local mb=${MB:-100} bytes line
    bytes=$((mb * 1000000))
    line='compiling crate number 00000 with a reasonably long line of build output text'
    local cmd="yes '$line' | head -c $bytes"
    local floor floor_cpu report
    report=$("$F" -- sh -c "$cmd" 2>&1 >/dev/null)
    floor=$(sed -n 's/.*"wallSeconds":\([0-9.]*\).*/\1/p' <<<"$report")
    floor_cpu=$(sed -n 's/.*"cpuSeconds":\([0-9.]*\).*/\1/p' <<<"$report")
    # The Session's command stays (sleeping) after the flood, so the host's
    # CPU can be read once the log holds everything.
    local id pid t0 w0 w1 t1
    w0=$(now)
    id=$(create sh -c "$cmd; printf '\\r\\nflood-done\\r\\n'; exec sleep 3600")
    ids+=("$id")
    pid=$(host_pid "$id")
    t0=0
    local log=$home/sessions/$id/events.jsonl
    # Watched from one process that forks nothing: a shell loop of `tail`,
    # `grep` and `sleep` every 10 ms took a core's worth of forks from the
    # 2-core machine and slowed the bare reader itself by 25-40 %.
    w1=$(python3 - "$log" <<'PY'
import sys, time
path = sys.argv[1]
while True:
    try:
        with open(path, "rb") as log:
            log.seek(0, 2)
            log.seek(max(0, log.tell() - 200))
            if b"flood-done" in log.read():
                break
    except FileNotFoundError:
        pass
    time.sleep(0.01)
print("%.6f" % time.time())
PY
)
    t1=$(ticks "$pid")
    # The checkpoint thread (nice 19) apart: it replays what was logged.
    checkpoint_ticks() {
        local tc=0 t
        for t in /proc/"$pid"/task/*; do
            [ "$(cat "$t/comm" 2>/dev/null)" = checkpoints ] && tc=$((tc + $(awk '{print $14 + $15}' "$t/stat")))
        done
        echo "$tc"
    }
    local tc t2 tc2
    tc=$(checkpoint_ticks)
    # The checkpoint thread (nice 19) may still be catching up: its passes
    # over the end of the flood count too, so the host is read again once
    # it had 5 s to finish them.
    sleep 5
    t2=$(ticks "$pid")
    tc2=$(checkpoint_ticks)
    awk -v floor="$floor" -v fc="$floor_cpu" -v w0="$w0" -v w1="$w1" -v t=$((t1 - t0)) -v tc="$tc" -v t2="$t2" -v tc2="$tc2" -v hz="$hz" -v mb="$mb" \
        -v logmb="$(($(wc -c <"$log") / 1000000))" 'BEGIN {
        wall = w1 - w0
        printf "flood %d MB: Session %.2f s (create to logged), bare PTY reader %.2f s: %.2fx (goal <= 1.3x); host CPU %.1f ms/MB (goal <= 6), of which %.1f checkpoint thread (the bare reader: %.1f); log %d MB\n",
            mb, wall, floor, wall / floor, 1000 * t / hz / mb, 1000 * tc / hz / mb, 1000 * fc / mb, logmb
        printf "flood %d MB, 5 s later: host CPU %.1f ms/MB (goal <= 6), of which %.1f checkpoint thread\n",
            mb, 1000 * t2 / hz / mb, 1000 * tc2 / hz / mb
    }'
    "$A" --home "$home" destroy "$id" --force >/dev/null 2>&1 || true
}

# FLOOD_RUNS pairs (default 3; the bare reader alone swings by 2x from one
# run to the next on a shared machine), each printed, then their medians.
flood() {
    local runs=${FLOOD_RUNS:-3} out ratios=() cpus=() i
    for ((i = 0; i < runs; i++)); do
        # Not in a subshell: the Session it creates stays in $ids for cleanup.
        flood_once >"$sandbox/flood.out"
        out=$(<"$sandbox/flood.out")
        echo "$out"
        ratios+=("$(sed -n 's/^flood [0-9]* MB: .*: \([0-9.]*\)x (goal.*/\1/p' <<<"$out")")
        cpus+=("$(sed -n 's/^flood [0-9]* MB, 5 s later: host CPU \([0-9.]*\) ms.*/\1/p' <<<"$out")")
    done
    median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
    echo "flood ${MB:-100} MB, median of $runs: Session / bare reader $(median "${ratios[@]}")x (goal <= 1.3x); host CPU $(median "${cpus[@]}") ms/MB (goal <= 6)"
}

big() {
    local small large
    first() { # $1: lines; prints "snapshot_ms wait_ms log_mb checkpoint?"
        local id dir s w
        id=$(create seq 1 "$1")
        ids+=("$id")
        wait_exited "$id"
        dir=$home/sessions/$id
        s=$("$T" -n 1 -w 0 -- "$A" --home "$home" --json snapshot "$id" --format text |
            sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
        # A second, separate first reader: `wait` on a copy of the log with
        # what the host wrote beside it, without the snapshot's checkpoint.
        "$A" --home "$home" --json snapshot "$id" --format text |
            grep -q "\"$1\"\|$1" || echo "warning: snapshot does not show $1" >&2
        w=$("$T" -n 1 -w 0 -- "$A" --home "$home" wait "$id" --text "$1" --timeout 600000 |
            sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
        echo "$s $w $(awk -v b="$(wc -c <"$dir/events.jsonl")" 'BEGIN {printf "%.1f", b / 1000000}')"
    }
    read -r s1 w1 m1 <<<"$(first 150000)"
    read -r s2 w2 m2 <<<"$(first 15000000)"
    awk -v s1="$s1" -v w1="$w1" -v m1="$m1" -v s2="$s2" -v w2="$w2" -v m2="$m2" 'BEGIN {
        printf "big log, first reader: snapshot %.0f ms for %.1f MB vs %.0f ms for %.1f MB: %.2fx (goal <= 2x)\n", s2, m2, s1, m1, s2 / s1
        printf "big log, next reader: wait --text %.0f ms for %.1f MB vs %.0f ms for %.1f MB: %.2fx\n", w2, m2, w1, m1, w2 / w1
    }'
}

idle() {
    # Both hosts stay up while measured: the pages of the binary and the
    # plugin are shared between them (PSS splits them), as between the
    # Sessions of any real Home; Anonymous is what one host holds alone.
    local id pid fresh_pid
    id=$(create bash --norc --noprofile)
    ids+=("$id")
    "$A" --home "$home" run "$id" 'seq 1 10000' >/dev/null
    pid=$(host_pid "$id")
    id=$(create bash --norc --noprofile)
    ids+=("$id")
    fresh_pid=$(host_pid "$id")
    # Idle: the live screen is put away after 1 s without output, the code
    # pages released 10 s later (session-host/src/memory.rs).
    sleep 12
    anon_kb() { awk '/^Anonymous:/ {print $2}' "/proc/$1/smaps_rollup"; }
    awk -v f="$(pss_kb "$pid")" -v fa="$(anon_kb "$pid")" -v z="$(pss_kb "$fresh_pid")" \
        -v za="$(anon_kb "$fresh_pid")" 'BEGIN {
        printf "idle host, 10,000 lines of scrollback: PSS %.2f MB (goal <= 4 MB), anonymous %.2f MB; fresh bash Session: PSS %.2f MB, anonymous %.2f MB\n", f / 1024, fa / 1024, z / 1024, za / 1024
    }'
}

for row in "${rows[@]}"; do "$row"; done
