#!/usr/bin/env bash
# Replay throughput (issue 21, ADR 0021): how fast a first reader rebuilds
# a screen from an Event Log with no checkpoint, and where the time goes.
#
#   bench/replay_throughput.sh            the build-output log (100 MB), then
#                                         every vtebench/termbench-style stream
#   bench/replay_throughput.sh build      the build-output log only (the
#                                         table's first row: its two goals)
#   bench/replay_throughput.sh STREAM...  the streams named
#                                         (`replay-throughput --list-streams`)
#
# MB=N sets the size of each generated log (default 100), RUNS=N the runs
# per figure (default 3; the median is printed, with its CPU time). Each
# log is generated in $TMPDIR from a fixed seed and removed after.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p replay-throughput
R=target/release/replay-throughput
streams=("$@")
if [ ${#streams[@]} -eq 0 ]; then
    mapfile -t streams < <("$R" --list-streams | cut -d' ' -f1)
fi
echo "load: $(uptime | sed 's/.*load average/load average/')"
for stream in "${streams[@]}"; do
    "$R" --runs "${RUNS:-3}" --stream "$stream" --mb "${MB:-100}" 120 40
done
