#!/usr/bin/env bash
# `--remote` over a real OpenSSH server on loopback (throwaway sshds with
# their own keys and config in the sandbox, as the e2e tests start them):
#   - `snapshot --json` of a live Session: locally, through `--remote` on a
#     warm shared connection, and one bare `ssh true` on a warm shared
#     connection (the round trip); goal: warm ≤ local + round trip + 10 ms;
#   - the same `--remote snapshot` cold (`remote stop` before each run: a
#     full handshake plus the release check);
#   - `home list --remotes --json` with 3 remotes of 100 Homes each;
#   - output → dashboard: from `send-keys Enter` to the line showing in a
#     dashboard running in tmux, for a local Session, a remote one polled
#     with `snapshot` (this build has no `follow`), and a remote one
#     streamed by `follow` (a wrapper standing in for it with `tail -f`).
# Needs sshd (Debian: openssh-server) and tmux.
#
#   bench/remote.sh            release build
#   BENCH_DEBUG=1 bench/remote.sh   the debug build already in target/debug
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/homes.sh
if [ "${BENCH_DEBUG:-}" = 1 ]; then
  T=$PWD/target/debug/timeit A=$PWD/target/debug/agent-tty
  sandbox=$(mktemp -d)
  export HOME=$sandbox/user XDG_CACHE_HOME=$sandbox/cache XDG_DATA_HOME=$sandbox/data
  unset AGENT_TTY_PLUGIN_PATH AGENT_TTY_HOME
  mkdir -p "$HOME"
else
  bench_sandbox
fi
export XDG_STATE_HOME=$sandbox/state XDG_RUNTIME_DIR=$sandbox/run XDG_CONFIG_HOME=$sandbox/config
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
[ -x /usr/sbin/sshd ] || { echo "needs sshd: apt-get install openssh-server" >&2; exit 1; }
[ "$(id -u)" = 0 ] && [ ! -d /run/sshd ] && mkdir -m 0755 /run/sshd
pids=()
cleanup() {
  "$A" remote stop >/dev/null 2>&1 || true
  tmux -L agent-tty-bench kill-server 2>/dev/null || true
  for r in "$sandbox"/r*/user/.agent-tty; do
    for s in "$r"/sessions/*/; do
      [ -d "$s" ] && "$A" --home "$r" destroy "$(basename "$s")" --force >/dev/null 2>&1 || true
    done
  done
  [ -n "${local_id:-}" ] && "$A" --home "$sandbox/home" destroy "$local_id" --force >/dev/null 2>&1 || true
  for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
  rm -rf "$sandbox"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -f "$sandbox/user_key"
user=$(id -un)
: > "$sandbox/known_hosts"
# start_sshd N: a server whose remote side is $sandbox/rN; sets port.
start_sshd() {
  local n=$1 r=$sandbox/r$1 d=$sandbox/sshd$1
  mkdir -p "$d" "$r"/{user,state,data,cache,run} && chmod 700 "$r/run"
  ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
  cp "$sandbox/user_key.pub" "$d/authorized_keys"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$d/config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $d/host_key
PidFile $d/pid
AuthorizedKeysFile $d/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
LogLevel ERROR
MaxSessions 100
MaxStartups 100
SetEnv HOME=$r/user XDG_STATE_HOME=$r/state XDG_DATA_HOME=$r/data XDG_CACHE_HOME=$r/cache XDG_RUNTIME_DIR=$r/run
EOF
  echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$d/host_key.pub")" >> "$sandbox/known_hosts"
  setsid /usr/sbin/sshd -f "$d/config" -D -e 2>"$d/log" &
  pids+=($!)
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  "$A" --json remote add "box$n" "$user@127.0.0.1:$port" --agent-tty "$A" >/dev/null
}
export AGENT_TTY_SSH="ssh -F /dev/null -i $sandbox/user_key -o IdentitiesOnly=yes -o UserKnownHostsFile=$sandbox/known_hosts -o StrictHostKeyChecking=yes -o LogLevel=ERROR"
for n in 1 2 3; do start_sshd $n; done
box1_port=$(sed -n 's/^Port //p' "$sandbox/sshd1/config")

# A live bash Session on box1 (its Home is $sandbox/r1/user/.agent-tty, the
# same files the local command reads directly).
rhome=$sandbox/r1/user/.agent-tty
id=$("$A" --remote box1 --json create --cols 80 --rows 24 -- bash --norc --noprofile |
  sed -n 's/.*"sessionId": *"\([^"]*\)".*/\1/p')
"$A" --remote box1 run "$id" 'seq 1 200' >/dev/null

echo "## warm and cold --remote snapshot (load: $(uptime | sed 's/.*load average: //'))"
$T -n 30 --label "local snapshot --json                 " -- env -u AGENT_TTY_SSH "$A" --home "$rhome" --json snapshot "$id"
"$A" --remote box1 --json snapshot "$id" >/dev/null
# The bare round trip on a shared connection of its own.
cm=$sandbox/run/bench-cm
$AGENT_TTY_SSH -o ControlMaster=auto -o ControlPath="$cm" -o ControlPersist=60 -T -p "$box1_port" "$user@127.0.0.1" true
$T -n 30 --label "ssh true (warm shared connection)     " -- $AGENT_TTY_SSH -o ControlPath="$cm" -T -p "$box1_port" "$user@127.0.0.1" true
$AGENT_TTY_SSH -o ControlPath="$cm" -O exit -p "$box1_port" "$user@127.0.0.1" 2>/dev/null || true
$T -n 30 --label "--remote snapshot --json, warm        " -- "$A" --remote box1 --json snapshot "$id"
$T -n 15 -w 0 --label "--remote snapshot --json, cold        " -- sh -c "'$A' remote stop box1 >/dev/null; '$A' --remote box1 --json snapshot '$id'"
$T -n 15 -w 0 --label "  (remote stop alone, to subtract)    " -- "$A" remote stop box1

echo "## home list --remotes, 3 remotes x 100 Homes"
template=$sandbox/template
mkdir -p "$template/sessions/01JD3Z6X8K4M2N5P7Q9R1S3T01"
printf '{"version":1,"sessionId":"01JD3Z6X8K4M2N5P7Q9R1S3T01","createdAt":"2026-11-24T03:50:02.677Z","updatedAt":"2026-11-24T03:50:02.677Z","status":"exited","command":["bash"],"cwd":"/tmp","cols":80,"rows":24,"hostPid":null,"childPid":null,"exitCode":0,"exitSignal":null}\n' \
  > "$template/sessions/01JD3Z6X8K4M2N5P7Q9R1S3T01/session.json"
for n in 1 2 3; do
  many_homes "$template" "$sandbox/fleet$n" 100
  cp "$sandbox/fleet$n/state/agent-tty/homes.json" "$sandbox/r$n/state/agent-tty/homes.json" 2>/dev/null ||
    { mkdir -p "$sandbox/r$n/state/agent-tty"; cp "$sandbox/fleet$n/state/agent-tty/homes.json" "$sandbox/r$n/state/agent-tty/"; }
done
rows=$("$A" home list --remotes --all --json | grep -c '"machine"')
echo "rows listed: $rows (expected >= 300)"
$T -n 20 --label "home list --remotes --all --json (warm)" -- "$A" home list --remotes --all --json
$T -n 10 -w 0 --label "home list --remotes --all --json (cold)" -- sh -c "'$A' remote stop >/dev/null; '$A' home list --remotes --all --json"

echo "## output -> dashboard (tmux, 120x40)"
# seen TEXT: waits (at most 10 s) until the dashboard's pane shows TEXT;
# prints ms since $t0, or "timeout".
seen() {
  local deadline=$(( $(date +%s) + 10 ))
  while ! { tmux -L agent-tty-bench capture-pane -p -t bench 2>/dev/null || true; } | grep -qF "$1"; do
    [ "$(date +%s)" -gt "$deadline" ] && { echo timeout; return; }
    sleep 0.002
  done
  echo $(( ($(date +%s%N) - t0) / 1000000 ))
}
latency() { # label, home args for `type`, dashboard args, session id
  local label=$1 typeargs=$2 dash=$3 sid=$4 all=()
  tmux -L agent-tty-bench kill-server 2>/dev/null || true
  sleep 0.5 # let the previous server finish exiting
  tmux -L agent-tty-bench new-session -d -s bench -x 120 -y 40 \
    "env AGENT_TTY_SSH='$AGENT_TTY_SSH' HOME=$HOME XDG_STATE_HOME=$XDG_STATE_HOME XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR XDG_CONFIG_HOME=$XDG_CONFIG_HOME XDG_CACHE_HOME=$XDG_CACHE_HOME $A $dash dashboard --session $sid"
  sleep 2
  for i in $(seq 1 15); do
    # The typed line shows `$((40+2))`; only the output shows `42`.
    "$A" $typeargs type "$sid" "echo mark-$i-\$((40+2))" >/dev/null
    t0=$(date +%s%N)
    "$A" $typeargs send-keys "$sid" Enter >/dev/null
    all+=("$(seen "mark-$i-42")")
  done
  printf '%s: median %s ms from send-keys Enter (15 runs; ms: %s)\n' "$label" \
    "$(printf '%s\n' "${all[@]}" | sort -n | sed -n 8p)" "${all[*]}"
}
mkdir -p "$sandbox/home"
local_id=$("$A" --home "$sandbox/home" --json create --cols 80 --rows 24 -- bash --norc --noprofile |
  sed -n 's/.*"sessionId": *"\([^"]*\)".*/\1/p')
$T -n 15 --label "  (send-keys alone, included above)   " -- "$A" --home "$sandbox/home" send-keys "$local_id" Right
latency "local Session, file notification    " "--home $sandbox/home" "--home $sandbox/home" "$local_id"
latency "remote Session, snapshot polling     " "--home $rhome" "--remote box1" "$id"
cat > "$sandbox/with-follow" <<EOF
#!/bin/sh
case " \$* " in
*' plugins '*) echo '{"ok":true,"command":"plugins","result":{"plugins":[{"name":"sessions","commands":["follow"]}]}}';;
*' follow '*) n=; for a do [ "\$n" = 1 ] && { sid=\$a; break; }; [ "\$a" = follow ] && n=1; done
  exec tail -n +1 -f "\$HOME/.agent-tty/sessions/\$sid/events.jsonl";;
*) exec '$A' "\$@";;
esac
EOF
chmod +x "$sandbox/with-follow"
port2=$(sed -n 's/^Port //p' "$sandbox/sshd1/config")
"$A" --json remote add boxf "$user@127.0.0.1:$port2" --agent-tty "$sandbox/with-follow" >/dev/null
latency "remote Session, follow stream        " "--home $rhome" "--remote boxf" "$id"
tmux -L agent-tty-bench kill-server 2>/dev/null || true
