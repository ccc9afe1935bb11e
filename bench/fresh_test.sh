#!/usr/bin/env bash
# Wall time of the README's test command from a fresh clone: `git clone` of
# HEAD into a temp dir, then `cargo test --workspace` with nothing built
# (its own empty target directory; crates.io downloads are cached in
# ~/.cargo as on any developer machine). Prints the total and the cargo
# summary lines.
#
#   bench/fresh_test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
git clone -q . "$dir/agent-tty"
cd "$dir/agent-tty"
unset CARGO_TARGET_DIR
start=$(date +%s)
status=0
cargo test --workspace >"$dir/log" 2>&1 || status=$?
end=$(date +%s)
grep -E "^test result:" "$dir/log" | awk '{p+=$4; f+=$6; i+=$8} END {print p" passed, "f" failed, "i" ignored"}'
echo "cargo test --workspace from a fresh clone: $((end - start)) s (exit $status, $(nproc) cores)"
exit $status
