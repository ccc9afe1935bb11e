#!/usr/bin/env bash
# `snapshot --since-seq` against a full `snapshot` on a 200x60 screen where
# one row changed since the given seq: time (timeit medians) and the size of
# the JSON each prints.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/homes.sh
bench_live_sandbox

id=$("$A" --home "$home" --json create --cols 200 --rows 60 -- \
    sh -c 'i=1; while [ $i -le 58 ]; do printf "row %03d %0180d\n" $i $i; i=$((i+1)); done; read x; printf changed-row; sleep 600' |
  sed -n 's/.*"sessionId": *"\([^"]*\)".*/\1/p')
"$A" --home "$home" wait "$id" --text "row 058" >/dev/null
seq=$("$A" --home "$home" --json snapshot "$id" | sed -n 's/.*"capturedAtSeq": *\([0-9]*\).*/\1/p')
"$A" --home "$home" send-keys "$id" Enter >/dev/null
"$A" --home "$home" wait "$id" --text changed-row >/dev/null
changed=$("$A" --home "$home" --json snapshot "$id" --since-seq "$seq" | grep -c '"row":' || true)
echo "rows in --since-seq: $changed (the typed Enter moved the cursor; one row of text changed)"

full=$("$A" --home "$home" --json snapshot "$id" | wc -c)
since=$("$A" --home "$home" --json snapshot "$id" --since-seq "$seq" | wc -c)
echo "JSON size: full snapshot $full bytes, --since-seq $since bytes"
$T -n 50 --label "snapshot (full, 200x60)" -- "$A" --home "$home" --json snapshot "$id"
$T -n 50 --label "snapshot --since-seq (one changed row)" -- \
    "$A" --home "$home" --json snapshot "$id" --since-seq "$seq"
