#!/usr/bin/env bash
# The agent loop's latencies, end to end through the real binary and plugins:
#   1. `run` of a trivial command in a live bash Session (types it, waits for
#      the completion marker), `wait --text` on its output, and both together;
#   2. `snapshot` of an ended Session whose Event Log is 10 MB (goal <= 100 ms).
# Medians come from bench/timeit. Only the Rust toolchain, bash and awk needed.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/homes.sh
bench_live_sandbox

# 1. run + wait --text in a live Session.
bench_bash_session
$T -n 50 --label "run 'echo answer-\$((6*7))'" -- \
    "$A" --home "$home" run "$id" 'echo answer-$((6*7))'
$T -n 50 --label "wait --text answer-42 (already shown)" -- \
    "$A" --home "$home" wait "$id" --text answer-42
$T -n 50 --label "run + wait --text, together" -- bash -c \
    "'$A' --home '$home' run '$id' 'echo answer-\$((6*7))' && '$A' --home '$home' wait '$id' --text answer-42"

# 2. snapshot of a 10 MB Event Log (an ended Session in agent-tty 0.5's format).
big=01JBENCH00000000000000000A
dir=$home/sessions/$big
mkdir -p "$dir"
cat >"$dir/session.json" <<JSON
{
  "version": 1,
  "sessionId": "$big",
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
awk -v target=$((10 * 1024 * 1024)) 'BEGIN {
    filler = "compiling crate number with a reasonably long line of build output text"
    size = 0; seq = 0
    while (size < target) {
        if (seq % 500 == 0)
            line = sprintf("{\"seq\":%d,\"ts\":\"2026-11-20T10:00:00.000Z\",\"type\":\"input_keys\",\"payload\":{\"keys\":[\"Enter\"]}}", seq)
        else
            line = sprintf("{\"seq\":%d,\"ts\":\"2026-11-20T10:00:00.000Z\",\"type\":\"output\",\"payload\":{\"data\":\"\\u001b[32m%6d\\u001b[0m %s %s\\r\\n\\u001b[1;34mstatus\\u001b[0m: \\u00e9t\\u00e9 ok %d\\r\\n\"}}", seq, seq, filler, filler, seq)
        print line
        size += length(line) + 1
        seq++
    }
    printf("{\"seq\":%d,\"ts\":\"2026-11-20T10:00:01.000Z\",\"type\":\"exit\",\"payload\":{\"exitCode\":0,\"exitSignal\":null}}\n", seq)
}' >"$dir/events.jsonl"
echo "Event Log: $(wc -c <"$dir/events.jsonl") bytes, $(wc -l <"$dir/events.jsonl") events"
$T -n 20 --label "snapshot --format text, 10 MB Event Log" -- \
    "$A" --home "$home" --json snapshot "$big" --format text
$T -n 20 --label "snapshot --format structured --include-scrollback, 10 MB" -- \
    "$A" --home "$home" --json snapshot "$big" --format structured --include-scrollback
