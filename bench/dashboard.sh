#!/usr/bin/env bash
# The Session Dashboard in a real PTY: with 1000 registered Homes, how soon
# the Home picker is usable after `H`; how soon a line appended to an Event
# Log shows in the Live View; and the CPU an idle dashboard uses.
# Usage: bench/dashboard.sh [--homes N] [--runs N] [--idle-secs S] [--only picker]
# (`--only picker`: the picker figure and its CPU alone, against its goal)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --workspace
cargo build --release -q -p agent-tty-dashboard-probe
target/release/dashboard-probe --exe target/release/agent-tty "$@"
