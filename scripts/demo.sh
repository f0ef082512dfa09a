#!/usr/bin/env bash
# The main job for now: start a kata-ts agent on a unix socket and drive it
# with agent-ctl. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null
dir=$(mktemp -d)
trap 'kill "$agent" 2>/dev/null || true; wait "$agent" 2>/dev/null || true; rm -rf "$dir"' EXIT
bin/kata-ts-agent --server-addr "unix://$dir/agent.sock" --state-dir "$dir/state" --no-kernel-cmdline 2>"$dir/agent.log" &
agent=$!
bin/kata-ts-agent-ctl connect --server-address "unix://$dir/agent.sock" --timeout 10s \
  -c Check -c Version -c GetGuestDetails
