#!/usr/bin/env bash
# Re-records the real-program Event Logs the conformance suite replays
# (core/tests/conformance/recordings/). Each program runs in a real PTY
# through agent-tty; the Session's Event Log is copied here as NAME.jsonl.
# Needs vim less htop dialog tig nano vttest python3 and a built agent-tty
# (`cargo build`). The expected screens (NAME.screen) are then written by
#   UPDATE_RECORDINGS=1 cargo test -p agent-tty-core --test conformance
# and must be checked by eye before committing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin=${AGENT_TTY:-$root/target/debug/agent-tty}
out=$here/recordings
sandbox=$(mktemp -d)
trap 'rm -rf "$sandbox"' EXIT
export HOME=$sandbox/home XDG_STATE_HOME=$sandbox/state XDG_RUNTIME_DIR=$sandbox/run
export AGENT_TTY_HOME=$sandbox/agent-tty LANG=C.UTF-8 LC_ALL=C.UTF-8
mkdir -p "$HOME" "$XDG_STATE_HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
work=$sandbox/work
mkdir -p "$work"
seq 1 200 | sed 's/^/line /' >"$work/numbers.txt"
printf 'first line\nsecond line\nthird line\n' >"$work/notes.txt"
(
  cd "$work" && git init -q repo && cd repo
  export GIT_AUTHOR_NAME=Ann GIT_AUTHOR_EMAIL=ann@example.invalid GIT_COMMITTER_NAME=Ann
  export GIT_COMMITTER_EMAIL=ann@example.invalid
  export GIT_AUTHOR_DATE='2026-01-02T03:04:05Z' GIT_COMMITTER_DATE='2026-01-02T03:04:05Z'
  echo one >a && git add a && git commit -qm 'Add a'
  echo two >b && git add b && git commit -qm 'Add b, the second file'
)

# `record.sh` records them all; `record.sh NAME...` only those.
wanted=" $* "
want() { [[ $wanted == "  " || $wanted == *" $1 "* ]]; }

at() { "$bin" "$@"; }
stable() { at wait "$1" --screen-stable-ms "${2:-700}" --timeout 15000 >/dev/null; }

# record NAME COLS ROWS -- COMMAND...; then drive it with `at` and `stable`,
# then `finish NAME`.
start() {
  local name=$1 cols=$2 rows=$3
  shift 4
  id=$(at create --cwd "$work" --cols "$cols" --rows "$rows" --env TERM=xterm-256color -- "$@")
  stable "$id" 1000
}
finish() {
  local name=$1
  cp "$AGENT_TTY_HOME/sessions/$id/events.jsonl" "$out/$name.jsonl"
  at destroy "$id" --force >/dev/null
  echo "recorded $name: $(wc -c <"$out/$name.jsonl") bytes"
}

if want vim; then
  start vim 80 24 -- vim -u NONE -N -i NONE notes.txt
  at send-keys "$id" j j o >/dev/null
  at type "$id" 'added by the test' >/dev/null
  at send-keys "$id" Escape >/dev/null
  at type "$id" ':set number' >/dev/null
  at send-keys "$id" Enter >/dev/null
  stable "$id"
  finish vim
fi

if want less; then
  start less 80 24 -- less numbers.txt
  at send-keys "$id" Space >/dev/null
  stable "$id"
  at type "$id" '/line 60' >/dev/null
  at send-keys "$id" Enter >/dev/null
  stable "$id"
  finish less
fi

if want htop; then
  start htop 100 30 -- htop -d 600 -u nobody
  stable "$id" 1500
  at send-keys "$id" F1 >/dev/null
  stable "$id"
  finish htop
fi

if want dialog; then
  start dialog 60 16 -- dialog --title 'Pick one' --menu 'Choose a fruit' 12 40 3 a Apple b Banana c Cherry
  at send-keys "$id" Down >/dev/null
  stable "$id"
  finish dialog
fi

if want dialog-ascii; then
  start dialog-ascii 60 16 -- env LANG=C LC_ALL=C dialog --msgbox 'Plain ASCII locale' 7 30
  stable "$id"
  finish dialog-ascii
fi

if want tig; then
  start tig 80 20 -- tig -C repo
  stable "$id" 1000
  finish tig
fi

if want nano; then
  start nano 80 20 -- nano --ignorercfile notes.txt
  at send-keys "$id" Down Down End >/dev/null
  at type "$id" ' and more' >/dev/null
  stable "$id"
  finish nano
fi

if want python; then
  start python 80 12 -- python3 -q
  at type "$id" 'print("hi " * 3)' >/dev/null
  at send-keys "$id" Enter >/dev/null
  at type "$id" 'for i in range(3):' >/dev/null
  at send-keys "$id" Enter >/dev/null
  at type "$id" '    print(i * i)' >/dev/null
  at send-keys "$id" Enter Enter >/dev/null
  stable "$id"
  finish python
fi

if want vttest; then
  start vttest 80 24 -- vttest
  at send-keys "$id" Enter >/dev/null
  stable "$id"
  at type "$id" '1' >/dev/null
  at send-keys "$id" Enter >/dev/null
  stable "$id" 1000
  finish vttest
fi

if want vttest-wrap; then
  start vttest-wrap 80 24 -- vttest
  at send-keys "$id" Enter >/dev/null
  stable "$id"
  at type "$id" '1' >/dev/null
  at send-keys "$id" Enter >/dev/null
  stable "$id" 1000
  at send-keys "$id" Enter >/dev/null
  stable "$id" 1000
  at send-keys "$id" Enter >/dev/null
  stable "$id" 1000
  finish vttest-wrap
fi
