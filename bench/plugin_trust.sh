#!/usr/bin/env bash
# The start-up cost of the plugin trust checks (ADR 0014): every searched
# directory is resolved component by component (an `lstat` each, a link
# followed only when no one else controls it), opened and `fstat`-ed, and
# every library `lstat`-ed, before anything is opened.
#
#   bench/plugin_trust.sh [BASELINE_BINARY]
#
# Prints `version --json` (descriptions from the cache, so the checks are
# most of the plugin work) with the plugins beside the binary, and with the
# same plugins reached through three symlinked directories on
# AGENT_TTY_PLUGIN_PATH; then the file-status system calls one start-up
# makes (strace, when installed). BASELINE_BINARY (an `agent-tty` built
# without the checks, e.g. from the commit before them, beside its plugins)
# is timed the same way for the difference. PROFILE=debug measures the
# debug build instead of building release.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-release}
if [ "$profile" = release ]; then cargo build --release -q --workspace; else cargo build -q --workspace; fi
T=target/$profile/timeit
A=target/$profile/agent-tty
sandbox=$(mktemp -d); trap 'rm -rf "$sandbox"' EXIT
export HOME=$sandbox XDG_CACHE_HOME=$sandbox/cache XDG_DATA_HOME=$sandbox/data XDG_STATE_HOME=$sandbox/state
unset AGENT_TTY_PLUGIN_PATH AGENT_TTY_HOME
$A version --json > /dev/null # fills the description cache
$T -n 200 --label "version --json, plugins beside the binary      " -- $A version --json
if [ -n "${1:-}" ]; then
    "$1" version --json > /dev/null
    $T -n 200 --label "version --json, baseline (no trust checks)    " -- "$1" version --json
fi
# The same plugins through three levels of symlinked directories.
mkdir -p "$sandbox/real/plugins" "$sandbox/alone"
cp target/$profile/libagent_tty_plugin_*.so "$sandbox/real/plugins/"
cp $A "$sandbox/alone/"
ln -s "$sandbox/real" "$sandbox/l1"; ln -s "$sandbox/l1" "$sandbox/l2"; ln -s "$sandbox/l2/plugins" "$sandbox/l3"
export AGENT_TTY_PLUGIN_PATH=$sandbox/l3
"$sandbox/alone/agent-tty" version --json > /dev/null
$T -n 200 --label "version --json, plugins through 3 symlinks    " -- "$sandbox/alone/agent-tty" version --json
unset AGENT_TTY_PLUGIN_PATH
if command -v strace > /dev/null; then
    echo "file-status system calls of one \`version --json\` (plugins beside the binary):"
    strace -f -c -e trace=lstat,stat,newfstatat,statx,fstat,openat,getdents64 \
        $A version --json 2>&1 >/dev/null | sed -n '/^% time/,$p'
fi
