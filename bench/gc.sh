#!/usr/bin/env bash
# `gc --dry-run --json` over many registered Homes of 5 Terminal Sessions
# each (nothing is removed, so every run sees the same Homes).
# Goal: ≤ 30 ms median for 100 Homes (agent-tty 0.5: about 2.2 s).
#
#   bench/gc.sh [HOME_COUNTS...]     default: 100 1000
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/homes.sh
bench_sandbox

template=$sandbox/template
for i in 1 2 3 4 5; do
  id=01JD3Z6X8K4M2N5P7Q9R1S3T0$i
  mkdir -p "$template/sessions/$id"
  printf '{\n  "version": 1,\n  "sessionId": "%s",\n  "createdAt": "2026-11-24T03:50:02.677Z",\n  "updatedAt": "2026-11-24T03:51:02.677Z",\n  "status": "exited",\n  "command": [\n    "bash"\n  ],\n  "cwd": "/tmp",\n  "cols": 120,\n  "rows": 40,\n  "hostPid": null,\n  "childPid": null,\n  "exitCode": 0,\n  "exitSignal": null\n}\n' "$id" \
    > "$template/sessions/$id/session.json"
  printf '{"seq":0,"ts":"2026-11-24T03:50:02.700Z","type":"output","payload":{"data":"$ "}}\n' \
    > "$template/sessions/$id/events.jsonl"
done

for count in ${@:-100 1000}; do
  root=$sandbox/n$count
  many_homes "$template" "$root" "$count"
  export XDG_STATE_HOME=$root/state
  would=$("$A" gc --dry-run --json | grep -o '"removedSessionCount": [0-9]*' | grep -o '[0-9]*$')
  [ "$would" = $((count * 5)) ] || { echo "expected $((count * 5)) would-remove, got $would" >&2; exit 1; }
  $T -n 30 --label "gc --dry-run --json, $count Homes x 5 Terminal Sessions" -- "$A" gc --dry-run --json
done
