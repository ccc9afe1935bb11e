#!/usr/bin/env bash
# The terminal engine's costs on big Event Logs:
#   1. `snapshot` and `wait --text` on ended Sessions whose Event Logs are
#      1 MB, 100 MB and 1 GB: the first reader (no screen checkpoint yet: a
#      full replay, which leaves a checkpoint) and later readers (resume from
#      the checkpoint). Goal: the 1 GB case within 2x of the 1 MB case.
#   2. Replay throughput in MB/s, today's engine (alacritty_terminal) against
#      the one it replaced (vt100), in-process (bench/replay-throughput).
# `screen_replay.sh 1 100` runs only the sizes given (in MB). The 1 GB log
# needs about 1.1 GB in $TMPDIR; everything is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1 100 1024}")
read -r -a sizes <<<"${sizes[*]}"
cargo build --release -q -p agent-tty -p agent-tty-plugin-sessions -p agent-tty-timeit \
    -p replay-throughput
T=target/release/timeit
A=$PWD/target/release/agent-tty
sandbox=$(mktemp -d)
trap 'rm -rf "$sandbox"' EXIT
home=$sandbox/home
export HOME=$sandbox XDG_CACHE_HOME=$sandbox/cache XDG_DATA_HOME=$sandbox/data XDG_STATE_HOME=$sandbox/state
export XDG_RUNTIME_DIR=$sandbox/run
mkdir -p "$XDG_RUNTIME_DIR"
unset AGENT_TTY_PLUGIN_PATH AGENT_TTY_HOME

# An ended Session in agent-tty 0.5's format whose log is $1 MB of build
# output (colours, wrapped lines, a prompt redraw now and then), ending with
# "all done" on screen.
make_session() {
    local mb=$1 id
    id=$(printf '01JBENCH%018d' "$mb")
    local dir=$home/sessions/$id
    mkdir -p "$dir"
    cat >"$dir/session.json" <<JSON
{
  "version": 1,
  "sessionId": "$id",
  "createdAt": "2026-11-20T10:00:00.000Z",
  "updatedAt": "2026-11-20T10:00:00.000Z",
  "status": "exited",
  "command": ["bash"],
  "cwd": "/tmp",
  "cols": 120,
  "rows": 40,
  "hostPid": null,
  "childPid": null,
  "exitCode": 0,
  "exitSignal": null
}
JSON
    awk -v target=$((mb * 1024 * 1024)) 'BEGIN {
        filler = "compiling crate number with a reasonably long line of build output text"
        size = 0; seq = 0
        while (size < target) {
            if (seq % 500 == 0)
                line = sprintf("{\"seq\":%d,\"ts\":\"2026-11-20T10:00:00.000Z\",\"type\":\"output\",\"payload\":{\"data\":\"\\r\\u001b[K\\u001b[1;32m$\\u001b[0m make \\u001b[7mtest\\u001b[0m\\r\\n\"}}", seq)
            else
                line = sprintf("{\"seq\":%d,\"ts\":\"2026-11-20T10:00:00.000Z\",\"type\":\"output\",\"payload\":{\"data\":\"\\u001b[32m%6d\\u001b[0m %s %s\\r\\n\\u001b[1;34mstatus\\u001b[0m: \\u00e9t\\u00e9 ok %d\\r\\n\"}}", seq, seq, filler, filler, seq)
            print line
            size += length(line) + 1
            seq++
        }
        printf("{\"seq\":%d,\"ts\":\"2026-11-20T10:00:01.000Z\",\"type\":\"output\",\"payload\":{\"data\":\"all done\\r\\n\"}}\n", seq)
        printf("{\"seq\":%d,\"ts\":\"2026-11-20T10:00:01.000Z\",\"type\":\"exit\",\"payload\":{\"exitCode\":0,\"exitSignal\":null}}\n", seq + 1)
    }' >"$dir/events.jsonl"
    echo "$id"
}

for mb in "${sizes[@]}"; do
    id=$(make_session "$mb")
    dir=$home/sessions/$id
    echo "== Event Log of $(($(wc -c <"$dir/events.jsonl") / 1024 / 1024)) MB, $(wc -l <"$dir/events.jsonl") events"
    target/release/replay-throughput --runs 1 "$dir/events.jsonl" 120 40 | sed 's/^/replay: /'
    rm -f "$dir/screen.checkpoint"
    $T -n 1 -w 0 --label "snapshot, first reader (full replay, writes the checkpoint)" -- \
        "$A" --home "$home" --json snapshot "$id" --format text
    $T -n 10 --label "snapshot, later readers" -- \
        "$A" --home "$home" --json snapshot "$id" --format text
    $T -n 10 --label "snapshot --include-scrollback, later readers" -- \
        "$A" --home "$home" --json snapshot "$id" --format structured --include-scrollback
    rm -f "$dir/screen.checkpoint"
    $T -n 1 -w 0 --label "wait --text 'all done', first reader" -- \
        "$A" --home "$home" wait "$id" --text 'all done' --timeout 600000
    $T -n 10 --label "wait --text 'all done', later readers" -- \
        "$A" --home "$home" wait "$id" --text 'all done'
    if [ -e "$dir/screen.checkpoint" ]; then
        echo "checkpoint: $(wc -c <"$dir/screen.checkpoint") bytes"
    else
        echo "checkpoint: none (the log is under 4 MiB: a full replay is cheap)"
    fi
    rm -rf "$dir"
done
