#!/usr/bin/env bash
# `home list --all --json` over many registered Homes of 5 Sessions each
# (1 running, 4 exited), against I/O floors measured in the same run:
#   - bench/io-floor: read the registry, list each Home's sessions/ and read
#     each session.json, on as many threads as the machine has (the least
#     agent-tty's scan must do); goal: home list within 1.2x of it;
#   - `find | xargs cat`: the same reads, single-threaded, for reference.
# Goal: ≤ 35 ms median for 1000 Homes (agent-tty 0.5: about 3.7 s), and
# within 1.2x of io-floor (the last line says whether it is; ADR 0023).
#
#   bench/home_list.sh [HOME_COUNTS...]     default: 1000 10000
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/homes.sh
bench_sandbox

manifest() { # id status
  printf '{\n  "version": 1,\n  "sessionId": "%s",\n  "createdAt": "2026-11-24T03:50:02.677Z",\n  "updatedAt": "2026-11-24T03:50:02.677Z",\n  "status": "%s",\n  "command": [\n    "bash"\n  ],\n  "cwd": "/tmp",\n  "shell": "/bin/bash",\n  "term": "xterm-256color",\n  "cols": 120,\n  "rows": 40,\n  "creationCols": 120,\n  "creationRows": 40,\n  "hostPid": null,\n  "childPid": null,\n  "exitCode": null,\n  "exitSignal": null\n}\n' "$1" "$2"
}

# One Home as a template, copied N times by many_homes.
template=$sandbox/template
for i in 1 2 3 4 5; do
  id=01JD3Z6X8K4M2N5P7Q9R1S3T0$i
  mkdir -p "$template/sessions/$id"
  status=exited; [ "$i" = 1 ] && status=running
  manifest "$id" "$status" > "$template/sessions/$id/session.json"
  printf '{"seq":0,"ts":"2026-11-24T03:50:02.700Z","type":"output","payload":{"data":"$ "}}\n' \
    > "$template/sessions/$id/events.jsonl"
done

for n in "${@:-1000 10000}"; do
  for count in $n; do
    root=$sandbox/n$count
    many_homes "$template" "$root" "$count"
    export XDG_STATE_HOME=$root/state
    listed=$("$A" home list --all --json | grep -c '"path"')
    [ "$listed" = "$count" ] || { echo "expected $count Homes, listed $listed" >&2; exit 1; }
    runs=30; [ "$count" -ge 10000 ] && runs=10
    timed "home list --all --json, $count Homes x 5 Sessions" $runs "$A" home list --all --json
    list=$median
    timed "io-floor ($(nproc) threads, $((count * 5)) manifests)      " $runs \
      "$PWD/target/release/io-floor" "$root/state/agent-tty/homes.json"
    floor=$median
    $T -n $runs --label "find | xargs cat ($((count * 5)) manifests)    " -- \
      sh -c "find '$root/homes' -name session.json -print0 | xargs -0 cat > /dev/null"
    goal_line "home list / io-floor, $count Homes" "$list" "$floor" 1.2
  done
done
