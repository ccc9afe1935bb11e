#!/usr/bin/env bash
# `gc --dry-run --json` over many registered Homes of 5 Terminal Sessions
# each (nothing is removed, so every run sees the same Homes).
# Goal: ≤ 30 ms median for 100 Homes (agent-tty 0.5: about 2.2 s).
#
# What the ownership checks cost (ADR 0023): the same gc plugin built with
# `--cfg agent_tty_bench_unchecked` (into target/bench-unchecked, so
# the real build is never touched) is run with the checks on and with
# AGENT_TTY_BENCH_SKIP_TRUST_CHECKS=1, runs interleaved; goal: the checks
# add at most 10 %.
#
#   bench/gc.sh [HOME_COUNTS...]     default: 100 1000
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/homes.sh
bench_sandbox
profile=${BENCH_PROFILE:-release}
flag=--release; [ "$profile" = release ] || flag=
RUSTFLAGS="${RUSTFLAGS:-} --cfg agent_tty_bench_unchecked" \
  cargo build $flag -q -p agent-tty-plugin-gc-sweeper --target-dir target/bench-unchecked
# agent-tty and its plugins, with that gc plugin in place of the real one.
unchecked=$sandbox/unchecked
mkdir -p "$unchecked"
cp "$A" target/"$profile"/*.so "$unchecked"/
cp target/bench-unchecked/"$profile"/libagent_tty_plugin_gc_sweeper.so "$unchecked"/

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
  # Checks on and off, interleaved in rounds so load changes hit both.
  on=() off=()
  for round in 1 2 3; do
    timed "  checks on  (round $round)" 10 \
      env AGENT_TTY_BENCH_SKIP_TRUST_CHECKS=0 "$unchecked/agent-tty" gc --dry-run --json
    on+=("$median")
    timed "  checks off (round $round)" 10 \
      env AGENT_TTY_BENCH_SKIP_TRUST_CHECKS=1 "$unchecked/agent-tty" gc --dry-run --json
    off+=("$median")
  done
  mid() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
  goal_line "gc --dry-run with / without the ownership checks, $count Homes" \
    "$(mid "${on[@]}")" "$(mid "${off[@]}")" 1.1
done
