#!/usr/bin/env bash
# `follow --json` latency: from a program printing a line in a live bash
# Session to that record's line on follow's stdout (bench/lib/latency.py).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/homes.sh
bench_live_sandbox
bench_bash_session
python3 bench/lib/latency.py follow "$A" "$home" "$id" 100
