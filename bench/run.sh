#!/usr/bin/env bash
# `run true` round trip, p50 and p99 over N runs (default 1000), in an
# integrated bash (the shell's own marks end each run) and through the
# completion line (a bash started as `sh -c 'exec bash --norc -i'`, which
# has no integration); then N runs in a row of which every tenth times out
# on purpose (`sleep 0.3` with `--timeout 50`), each run exiting with its
# own status: counts completions credited to the wrong run, from the run
# results and from the statuses the host kept (`run-exits.jsonl`).
#
#   bench/run.sh [N]                     # goal: 0 wrongly credited
#   BENCH_PROFILE=debug bench/run.sh     # use target/debug, build nothing
#
# Round trips are whole `agent-tty run` processes, timed with bash's
# EPOCHREALTIME (microseconds).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/homes.sh
runs=${1:-1000}
if [ "${BENCH_PROFILE:-release}" = debug ]; then
  bench_sandbox() {
    A=$PWD/target/debug/agent-tty
    sandbox=$(mktemp -d)
    trap 'rm -rf "$sandbox"' EXIT
    export HOME=$sandbox/user XDG_CACHE_HOME=$sandbox/cache XDG_DATA_HOME=$sandbox/data
    unset AGENT_TTY_PLUGIN_PATH AGENT_TTY_HOME
    mkdir -p "$HOME"
  }
fi
bench_live_sandbox
sessions=()
cleanup() {
  for s in "${sessions[@]}"; do "$A" --home "$home" destroy "$s" --force >/dev/null 2>&1 || true; done
  rm -rf "$sandbox"
}
trap cleanup EXIT

new_session() {
  local s
  s=$("$A" --home "$home" --json create --cols 120 -- "$@" |
    sed -n 's/.*"sessionId": *"\([^"]*\)".*/\1/p')
  sessions+=("$s")
  "$A" --home "$home" run "$s" 'true' >/dev/null
  echo "$s"
}

# percentile P FILE: the P-th percentile of the numbers in FILE (one a line).
percentile() {
  sort -n "$2" | awk -v p="$1" '{v[NR]=$1} END {i=int((NR*p+99)/100); if(i<1)i=1; printf "%.2f", v[i]/1000}'
}

round_trips() {
  local label=$1 s=$2 out=$sandbox/times-$2 i t0 t1 result
  : > "$out"
  for ((i = 0; i < runs; i++)); do
    t0=${EPOCHREALTIME/./}
    result=$("$A" --home "$home" --json run "$s" true)
    t1=${EPOCHREALTIME/./}
    case $result in *'"completed": true'*) ;; *) echo "run $i did not complete: $result" >&2; exit 1 ;; esac
    echo $((t1 - t0)) >> "$out"
  done
  printf '%-44s p50 %7s ms   p99 %7s ms   (%s runs)\n' "$label" \
    "$(percentile 50 "$out")" "$(percentile 99 "$out")" "$runs"
}

integrated=$(new_session bash --norc --noprofile)
fallback=$(new_session sh -c 'exec bash --norc -i')
round_trips "run true, integrated bash" "$integrated"
round_trips "run true, completion line (sh -c 'exec bash')" "$fallback"

# Every run exits with its own status; every tenth times out first.
s=$(new_session bash --norc --noprofile)
expected=$sandbox/expected
: > "$expected"
wrong_results=0 timed_out=0
for ((i = 0; i < runs; i++)); do
  status=$((i % 200))
  if ((i % 10 == 9)); then
    result=$("$A" --home "$home" --json run "$s" "sleep 0.3; (exit $status)" --timeout 50)
  else
    result=$("$A" --home "$home" --json run "$s" "(exit $status)")
  fi
  marker=$(sed -n 's/.*"marker": *"\([^"]*\)".*/\1/p' <<<"$result")
  echo "$marker $status" >> "$expected"
  case $result in
    *'"timedOut": true'*) timed_out=$((timed_out + 1)) ;;
    *"\"exitCode\": $status,"*) ;;
    *) wrong_results=$((wrong_results + 1)); echo "run $i: $result" >&2 ;;
  esac
done
# Let the last timed-out runs finish, then compare what the host kept.
"$A" --home "$home" run "$s" true --timeout 60000 >/dev/null
exits=$home/sessions/$s/run-exits.jsonl
wrong_kept=$(sed 's/.*"marker":"\([^"]*\)","exitCode":\(-\?[0-9]*\).*/\1 \2/' "$exits" |
  awk 'NR==FNR {want[$1]=$2; next} ($1 in want) && want[$1] != $2 {n++} END {print n+0}' "$expected" -)
kept=$(grep -c . "$exits")
echo "runs: $runs, timed out on purpose: $timed_out, statuses kept: $kept"
echo "completions credited to the wrong run: results $wrong_results, kept statuses $wrong_kept (goal: 0)"
[ "$wrong_results" = 0 ] && [ "$wrong_kept" = 0 ]
