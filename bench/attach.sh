#!/usr/bin/env bash
# `attach` key-to-echo latency: a key typed on the person's terminal (a
# pseudo-terminal of the benchmark's) to its echo drawn there, through the
# Session's host, its Event Log and attach's redraw (bench/lib/latency.py).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/homes.sh
bench_live_sandbox
id=$("$A" --home "$home" --json create -- cat | sed -n 's/.*"sessionId": *"\([^"]*\)".*/\1/p')
python3 bench/lib/latency.py attach "$A" "$home" "$id" 50
