#!/usr/bin/env bash
# Capture benchmarks (issues 12 and 22). Every line prints the figure and its
# goal side by side:
#  - `screenshot` of an 80×24 and two 200×60 screens full of coloured text
#    (words in all 256 colours, the worst case; in the 16 ANSI colours, the
#    usual one) against `snapshot --format text` of the same Session
#    (goal: ≤ 3×), the PNG's size (200×60 goal: ≤ 250 KB) and whether two
#    screenshots are the same bytes;
#  - `screenshot --format svg` when this build has it (time and size);
#  - `record export --format gif|webm|asciicast` of a 60 s Session with output
#    every 100 ms (goals: GIF ≤ 1.5 s and ≤ 3 MB, WebM ≤ 12 s) and of a
#    Session that printed 52 MB in a 2.8 s burst (goal: GIF ≤ 10 s and
#    ≤ 20 MB), with frames drawn per second of export;
#  - `--timing accelerated` against `recorded` (goal: never longer).
# The Sessions are Event Logs written here (no live host needed): what a
# capture reads is the manifest and the log.
#
# With `nasm` on the PATH the capture plugin is built with its `asm` feature
# (rav1e's assembly, ADR 0025: same bytes, a WebM in ~40% of the CPU time);
# BENCH_ASM=0 measures the portable build.
#
#   bench/capture.sh            # everything
#   bench/capture.sh quick      # without the 52 MB burst
#   NO_BUILD=1 bench/capture.sh # the release build as it is (no cargo build)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/homes.sh
asm=no
if [ "${BENCH_ASM:-1}" != 0 ] && command -v nasm >/dev/null; then
  asm=yes
  BENCH_FEATURES=agent-tty-plugin-capture/asm
fi
bench_sandbox
home=$sandbox/home
export AGENT_TTY_HOME=$home
mode=${1:-all}

manifest() { # id cols rows
  printf '{\n  "version": 1,\n  "sessionId": "%s",\n  "createdAt": "2026-11-24T03:50:00.000Z",\n  "updatedAt": "2026-11-24T03:51:00.000Z",\n  "status": "exited",\n  "command": [\n    "bash"\n  ],\n  "cwd": "/tmp",\n  "shell": "/bin/bash",\n  "term": "xterm-256color",\n  "cols": %s,\n  "rows": %s,\n  "creationCols": %s,\n  "creationRows": %s,\n  "hostPid": null,\n  "childPid": null,\n  "exitCode": 0,\n  "exitSignal": null\n}\n' "$1" "$2" "$3" "$2" "$3"
}

ts() { # ms since 03:50:00
  local ms=$1 s=$(( $1 / 1000 ))
  printf '2026-11-24T03:%02d:%02d.%03dZ' $((50 + s / 60)) $((s % 60)) $((ms % 1000))
}

# full_screen ID COLS ROWS PALETTE: a screen of coloured words, every row
# filled; PALETTE colours (256: the 256-colour palette, 16: the ANSI ones).
full_screen() {
  local id=$1 cols=$2 rows=$3 palette=$4 dir=$home/sessions/$1 line r c seq=0
  mkdir -p "$dir"
  manifest "$id" "$cols" "$rows" > "$dir/session.json"
  : > "$dir/events.jsonl"
  for ((r = 0; r < rows; r++)); do
    line=""
    for ((c = 0; c + 8 <= cols; c += 8)); do
      line+="\\u001b[38;5;$(( (r * 7 + c) % palette ))mword$(( (r + c) % 10 ))\\u001b[0m ~ "
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

# burst ID: 80×24, a prompt, then 14,000 writes of 50 coloured lines each
# (52.5 MB of output) within 2.8 s, as `cat` of a big file leaves it, then a prompt.
burst() {
  local id=$1 dir=$home/sessions/$1
  mkdir -p "$dir"
  manifest "$id" 80 24 > "$dir/session.json"
  awk 'BEGIN {
    ts = "2026-11-24T03:50:%02d.%03dZ"
    printf "{\"seq\":0,\"ts\":\"" ts "\",\"type\":\"output\",\"payload\":{\"data\":\"$ cat big.log\\r\\n\"}}\n", 0, 0
    for (i = 1; i <= 14000; i++) {
      data = ""
      for (k = 0; k < 50; k++)
        data = data sprintf("\\u001b[3%dm%06d.%02d\\u001b[0m INFO request served in %3d ms path=/api/v1/items/%05d\\r\\n", (i + k) % 8, i, k, (i * 7 + k) % 997, (i * 31 + k) % 99991)
      ms = 1000 + int(i / 5)
      printf "{\"seq\":%d,\"ts\":\"" ts "\",\"type\":\"output\",\"payload\":{\"data\":\"%s\"}}\n", i, int(ms / 1000), ms % 1000, data
    }
    printf "{\"seq\":14001,\"ts\":\"" ts "\",\"type\":\"output\",\"payload\":{\"data\":\"$ \"}}\n", 5, 0
  }' > "$dir/events.jsonl"
}

# median LABEL RUNS WARMUP -- COMMAND...: timeit's line, and its median in
# ms in $median.
median() {
  local label=$1 runs=$2 warmup=$3 line
  shift 4
  line=$("$T" -n "$runs" -w "$warmup" --label "$label" -- "$@")
  echo "$line"
  median=$(sed -n 's/.* median \([0-9.]*\) ms.*/\1/p' <<< "$line")
}

# verdict FIGURE OP GOAL: "ok" or "MISSED" (awk compares the numbers).
verdict() {
  awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
    ok = (op == "<=") ? (a <= b) : (a >= b); print ok ? "ok" : "MISSED" }'
}

field() { # NAME JSON: a number field of a result
  sed -n "s/.*\"$1\": *\([0-9.]*\).*/\1/p" <<< "$2" | head -1
}

small=01JD3Z6X8K4M2N5P7Q9R1S3T01
large=01JD3Z6X8K4M2N5P7Q9R1S3T02
minute=01JD3Z6X8K4M2N5P7Q9R1S3T03
ansi=01JD3Z6X8K4M2N5P7Q9R1S3T04
flood=01JD3Z6X8K4M2N5P7Q9R1S3T05
full_screen "$small" 80 24 256
full_screen "$large" 200 60 256
full_screen "$ansi" 200 60 16
sixty_seconds "$minute"
[ "$mode" = quick ] || burst "$flood"
echo "load: $(uptime | sed 's/.*load average: //'); rav1e assembly: $asm"

svg=no
"$A" screenshot --help 2>&1 | grep -q -- '--format' && svg=yes
for id in "$small" "$large" "$ansi"; do
  case $id in
    "$small") size="80x24        " ;;
    "$large") size="200x60 (256c)" ;;
    *) size="200x60 (16c) " ;;
  esac
  median "snapshot --format text, $size" 30 3 -- "$A" snapshot "$id" --format text --json
  snap=$median
  median "screenshot,                $size" 30 3 -- "$A" screenshot "$id" --json
  ratio=$(awk -v a="$median" -v b="$snap" 'BEGIN { printf "%.1f", a / b }')
  echo "  screenshot/snapshot: ${ratio}× (goal ≤ 3×: $(verdict "$ratio" '<=' 3))"
  png=$("$A" screenshot "$id" --out "$sandbox/a.png" --json)
  "$A" screenshot "$id" --out "$sandbox/b.png" --json > /dev/null
  bytes=$(field pngSizeBytes "$png")
  same=$(cmp -s "$sandbox/a.png" "$sandbox/b.png" && echo "same bytes" || echo "DIFFERENT bytes")
  if [ "$id" = "$small" ]; then
    echo "  PNG: $bytes bytes, $same twice"
  else
    echo "  PNG: $bytes bytes (goal ≤ 250000: $(verdict "$bytes" '<=' 250000)), $same twice"
  fi
  if [ "$svg" = yes ]; then
    median "screenshot --format svg,   $size" 30 3 -- "$A" screenshot "$id" --format svg --out "$sandbox/s.svg" --json
    # The two 200×60 SVGs are the same size but not the same file: every
    # text colour is written as a 7-character fill="#rrggbb", so 256 or 16
    # colours take the same bytes (the distinct fills say which Session).
    echo "  SVG: $(stat -c %s "$sandbox/s.svg") bytes, $(grep -o 'fill="#[0-9a-f]*"' "$sandbox/s.svg" | sort -u | wc -l) distinct fills"
    "$A" screenshot "$id" --format svg --embed-fonts --out "$sandbox/embedded.svg" --json >/dev/null
    echo "  SVG --embed-fonts: $(stat -c %s "$sandbox/embedded.svg") bytes"
  else
    echo "  SVG: n/a (this build has no screenshot --format svg)"
  fi
done

# export ID FORMAT RUNS GOAL_MS GOAL_BYTES [ARGS...]: time, size, frames/s.
export_line() {
  local id=$1 format=$2 runs=$3 goal_ms=$4 goal_bytes=$5 label=$6 result bytes frames
  shift 6
  median "record export --format $format, $label" "$runs" 1 -- \
    "$A" record export "$id" --format "$format" --out "$sandbox/rec.$format" --json "$@"
  result=$("$A" record export "$id" --format "$format" --out "$sandbox/rec.$format" --json "$@")
  bytes=$(field bytes "$result")
  frames=$(field frameCount "$result")
  local line="  $format: $median ms"
  [ "$goal_ms" != - ] && line+=" (goal ≤ $goal_ms: $(verdict "$median" '<=' "$goal_ms"))"
  line+=", $bytes bytes"
  [ "$goal_bytes" != - ] && line+=" (goal ≤ $goal_bytes: $(verdict "$bytes" '<=' "$goal_bytes"))"
  [ -n "$frames" ] && line+=", $frames frames, $(awk -v f="$frames" -v m="$median" 'BEGIN { printf "%.0f", f * 1000 / m }') frames/s"
  echo "$line"
}

export_line "$minute" gif 5 1500 3000000 "60 s Session"
export_line "$minute" webm 3 12000 - "60 s Session"
export_line "$minute" asciicast 5 - - "60 s Session"
if [ "$mode" != quick ]; then
  echo "burst Session: $(stat -c %s "$home/sessions/$flood/events.jsonl") bytes of Event Log"
  export_line "$flood" gif 3 10000 20000000 "52 MB burst"
  export_line "$flood" webm 1 - - "52 MB burst"
fi

# --timing: accelerated and max-speed never longer than recorded.
for id in "$minute" $([ "$mode" = quick ] || echo "$flood"); do
  lengths=""
  for timing in recorded accelerated max-speed; do
    r=$("$A" record export "$id" --format gif --timing "$timing" --out "$sandbox/t.gif" --json)
    lengths+="$timing $(field videoDurationMs "$r") ms, "
  done
  echo "timing ($([ "$id" = "$minute" ] && echo "60 s Session" || echo "burst")): ${lengths%, } (goal: accelerated ≤ recorded)"
done
