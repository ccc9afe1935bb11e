#!/usr/bin/env bash
# `doctor --json`: every check (PTY spawn, socket, Home, state dir, registry
# lock, 0.5 socket location, plugins, terminal engine), whole-process time.
#
#   bench/doctor.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/homes.sh
bench_sandbox
export XDG_STATE_HOME=$sandbox/state XDG_RUNTIME_DIR=$sandbox/run
mkdir -p "$XDG_RUNTIME_DIR"
"$A" --home "$sandbox/home" doctor >/dev/null
$T -n 50 --label "doctor --json" -- "$A" --home "$sandbox/home" --json doctor
$T -n 50 --label "version --json (start-up, for reference)" -- "$A" --json version
