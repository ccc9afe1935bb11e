#!/usr/bin/env bash
# Capture benchmarks (issue 12):
#  - `screenshot` of an 80×24 and a 200×60 screen full of coloured text,
#    against `snapshot --format text` of the same Session (goal: within 3×);
#  - `record export --format gif|webm` of a 60 s Session with output every
#    100 ms (goal: faster than real time, i.e. < 60 s, on 2 cores);
#  - `screenshot --format svg` (with and without --embed-fonts) of the
#    same screens;
#  - the sizes of the artifacts.
# The Sessions are Event Logs written here (no live host needed): what a
# capture reads is the manifest and the log.
#
#   bench/capture.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/homes.sh
bench_sandbox
home=$sandbox/home
export AGENT_TTY_HOME=$home

manifest() { # id cols rows
  printf '{\n  "version": 1,\n  "sessionId": "%s",\n  "createdAt": "2026-11-24T03:50:00.000Z",\n  "updatedAt": "2026-11-24T03:51:00.000Z",\n  "status": "exited",\n  "command": [\n    "bash"\n  ],\n  "cwd": "/tmp",\n  "shell": "/bin/bash",\n  "term": "xterm-256color",\n  "cols": %s,\n  "rows": %s,\n  "creationCols": %s,\n  "creationRows": %s,\n  "hostPid": null,\n  "childPid": null,\n  "exitCode": 0,\n  "exitSignal": null\n}\n' "$1" "$2" "$3" "$2" "$3"
}

ts() { # ms since 03:50:00
  local ms=$1 s=$(( $1 / 1000 ))
  printf '2026-11-24T03:%02d:%02d.%03dZ' $((50 + s / 60)) $((s % 60)) $((ms % 1000))
}

# full_screen ID COLS ROWS: a screen of coloured words, every row filled.
full_screen() {
  local id=$1 cols=$2 rows=$3 dir=$home/sessions/$1 line r c seq=0
  mkdir -p "$dir"
  manifest "$id" "$cols" "$rows" > "$dir/session.json"
  : > "$dir/events.jsonl"
  for ((r = 0; r < rows; r++)); do
    line=""
    for ((c = 0; c + 8 <= cols; c += 8)); do
      line+="\\u001b[38;5;$(( (r * 7 + c) % 256 ))mword$(( (r + c) % 10 ))\\u001b[0m ~ "
    done
    [ "$r" -lt $((rows - 1)) ] && line+="\\r\\n"
    printf '{"seq":%d,"ts":"%s","type":"output","payload":{"data":"%s"}}\n' \
      "$seq" "$(ts $((seq * 10)))" "$line" >> "$dir/events.jsonl"
    seq=$((seq + 1))
  done
}

# sixty_seconds ID: 80×24, a counter line with a coloured bar every 100 ms.
sixty_seconds() {
  local id=$1 dir=$home/sessions/$1 i bar
  mkdir -p "$dir"
  manifest "$id" 80 24 > "$dir/session.json"
  : > "$dir/events.jsonl"
  for ((i = 0; i <= 600; i++)); do
    bar=$(printf '%*s' $(( i % 60 )) '' | tr ' ' '#')
    printf '{"seq":%d,"ts":"%s","type":"output","payload":{"data":"tick %03d \\u001b[4%dm%s\\u001b[0m\\r\\n"}}\n' \
      "$i" "$(ts $((i * 100)))" "$i" $(( i % 8 )) "$bar" >> "$dir/events.jsonl"
  done
}

small=01JD3Z6X8K4M2N5P7Q9R1S3T01
large=01JD3Z6X8K4M2N5P7Q9R1S3T02
minute=01JD3Z6X8K4M2N5P7Q9R1S3T03
full_screen "$small" 80 24
full_screen "$large" 200 60
sixty_seconds "$minute"

for id in "$small" "$large"; do
  size=$([ "$id" = "$small" ] && echo 80x24 || echo 200x60)
  $T -n 30 --label "snapshot --format text, $size  " -- "$A" snapshot "$id" --format text --json
  $T -n 30 --label "screenshot,                $size" -- "$A" screenshot "$id" --json
  png=$(ls "$home/sessions/$id/artifacts/"screenshot-*.png)
  echo "  PNG $size: $(stat -c %s "$png") bytes"
  $T -n 30 --label "screenshot --format svg,   $size" -- "$A" screenshot "$id" --format svg --json
  svg=$(ls "$home/sessions/$id/artifacts/"screenshot-*.svg)
  echo "  SVG $size: $(stat -c %s "$svg") bytes"
  "$A" screenshot "$id" --format svg --embed-fonts --out "$sandbox/embedded.svg" --json >/dev/null
  echo "  SVG --embed-fonts $size: $(stat -c %s "$sandbox/embedded.svg") bytes"
done

for format in gif webm asciicast; do
  $T -n 3 -w 1 --label "record export --format $format, 60 s Session (goal < 60000 ms)" -- \
    "$A" record export "$minute" --format "$format" --json
  file=$(ls "$home/sessions/$minute/artifacts/"recording-*-"$format".*)
  echo "  $format: $(stat -c %s "$file") bytes"
done
