# Shared set-up of the benchmarks: sandboxes, a live bash Session, and many
# registered Homes for the benchmarks that scan them (gc.sh,
# home_list.sh). Source it from the repository root; it defines functions only.

# bench_sandbox
#   Builds the release binaries (the debug ones with BENCH_PROFILE=debug;
#   none with NO_BUILD=1) and sets T (timeit), A (agent-tty) and
#   sandbox (a temp dir removed on exit), with HOME and XDG_DATA_HOME inside
#   it so no benchmark touches the real ~/.agent-tty or plugins.
#   BENCH_FEATURES (cargo's --features syntax) builds with those features.
bench_sandbox() {
  # BENCH_PROFILE=debug measures the debug build instead (no release build
  # needed; its figures say so).
  local profile=${BENCH_PROFILE:-release}
  local features=()
  [ -n "${BENCH_FEATURES:-}" ] && features=(--features "$BENCH_FEATURES")
  # NO_BUILD=1 measures the binaries already built (after a `cargo build
  # --release --workspace` of one's own), as host_ingest.sh does.
  if [ -n "${NO_BUILD:-}" ]; then
    :
  elif [ "$profile" = release ]; then
    cargo build --release -q --workspace "${features[@]}"
  else
    cargo build -q --workspace "${features[@]}"
  fi
  T=$PWD/target/$profile/timeit
  A=$PWD/target/$profile/agent-tty
  sandbox=$(mktemp -d)
  trap 'rm -rf "$sandbox"' EXIT
  # A later `cargo` (gc.sh builds a second gc plugin) still finds the
  # toolchain once HOME is the sandbox's.
  export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup} CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
  export HOME=$sandbox/user XDG_CACHE_HOME=$sandbox/cache XDG_DATA_HOME=$sandbox/data
  unset AGENT_TTY_PLUGIN_PATH AGENT_TTY_HOME
  mkdir -p "$HOME"
}

# bench_live_sandbox
#   bench_sandbox plus XDG_STATE_HOME and XDG_RUNTIME_DIR inside it and
#   home (the Home the benchmark's live Sessions run in). On exit, the Session
#   whose id is in $id (see bench_bash_session) is destroyed, then the sandbox
#   removed.
bench_live_sandbox() {
  bench_sandbox
  export XDG_STATE_HOME=$sandbox/state XDG_RUNTIME_DIR=$sandbox/run
  mkdir -p "$XDG_RUNTIME_DIR"
  home=$sandbox/home
  id=""
  trap bench_live_cleanup EXIT
}

bench_live_cleanup() {
  [ -n "$id" ] && "$A" --home "$home" destroy "$id" --force >/dev/null 2>&1 || true
  rm -rf "$sandbox"
}

# bench_bash_session
#   Creates a bash Session without rc files in $home, sets id to it and runs
#   `true` in it once, so the shell is ready before anything is timed.
bench_bash_session() {
  id=$("$A" --home "$home" --json create -- bash --norc --noprofile |
    sed -n 's/.*"sessionId": *"\([^"]*\)".*/\1/p')
  "$A" --home "$home" run "$id" 'true' >/dev/null
}

# many_homes TEMPLATE ROOT COUNT
#   Copies the Home TEMPLATE to ROOT/homes/h0 … h<COUNT-1> (copying one Home
#   is much faster than writing each) and registers every copy in the Home
#   Registry ROOT/state/agent-tty/homes.json: export XDG_STATE_HOME=ROOT/state
#   to make agent-tty use it.
many_homes() {
  local template=$1 root=$2 count=$3 h
  mkdir -p "$root/homes" "$root/state/agent-tty"
  for ((h = 0; h < count; h++)); do cp -r "$template" "$root/homes/h$h"; done
  {
    printf '{\n  "version": 1,\n  "homes": ['
    for ((h = 0; h < count; h++)); do
      [ "$h" -gt 0 ] && printf ','
      printf '\n    {\n      "path": "%s",\n      "lastSeenAt": "2026-11-24T03:50:02.677Z"\n    }' "$root/homes/h$h"
    done
    printf '\n  ]\n}\n'
  } > "$root/state/agent-tty/homes.json"
}

# timed LABEL RUNS CMD...
#   Runs timeit and prints its line; sets `median` to the median in ms.
timed() {
  local label=$1 runs=$2 line
  shift 2
  line=$($T -n "$runs" --label "$label" -- "$@")
  echo "$line"
  median=$(sed -n 's/.*median \([0-9.]*\) ms.*/\1/p' <<<"$line")
}

# goal_line WHAT FIGURE_MS REFERENCE_MS GOAL_RATIO
#   Prints the figure against its reference and the goal, side by side:
#   "WHAT: 1.07x (goal <= 1.20x) met".
goal_line() {
  awk -v what="$1" -v a="$2" -v b="$3" -v goal="$4" 'BEGIN {
    r = a / b
    printf "%s: %.2fx (goal <= %.2fx) %s\n", what, r, goal, (r <= goal ? "met" : "NOT met")
  }'
}
