#!/usr/bin/env bash
# `batch` of 20 steps against a live bash Session vs the same 20 commands run
# one by one (one agent-tty process each), wall time of the whole sequence.
# The steps: 5 x (type "echo step-N", send-keys Enter, run 'true',
# wait --text step-N). Also `doctor --json` (see doctor.sh for it alone).
#
#   bench/batch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/homes.sh
bench_live_sandbox
bench_bash_session

plan='['
script=''
for n in 1 2 3 4 5; do
  [ "$n" -gt 1 ] && plan+=','
  plan+="{\"type\":\"echo step-$n\"},{\"sendKeys\":[\"Enter\"]},{\"run\":\"true\"},{\"wait\":{\"text\":\"step-$n\"}}"
  script+="'$A' --home '$home' type '$id' 'echo step-$n' >/dev/null && "
  script+="'$A' --home '$home' send-keys '$id' Enter >/dev/null && "
  script+="'$A' --home '$home' run '$id' true >/dev/null && "
  script+="'$A' --home '$home' wait '$id' --text step-$n >/dev/null && "
done
plan+=']'
script+='true'

steps=$("$A" --home "$home" --json batch "$id" "$plan" | grep -o '"completedCount": [0-9]*' | grep -o '[0-9]*$')
[ "$steps" = 20 ] || { echo "expected 20 completed steps, got $steps" >&2; exit 1; }

$T -n 30 --label "batch, 20 steps (one process)" -- "$A" --home "$home" batch "$id" "$plan"
$T -n 30 --label "the same 20 commands one by one (20 processes, via bash -c)" -- bash -c "$script"
$T -n 30 --label "bash -c true (the shell's own cost, for reference)" -- bash -c true
