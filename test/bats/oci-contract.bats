#!/usr/bin/env bats
# The OCI runtime command-line contract, as runc defines it and as container
# managers (containerd's runc shim, podman/conmon, cri-o) rely on it.
#
# The same file runs against any runc-compatible runtime:
#   RUNTIME=runc bats test/bats/oci-contract.bats
#   RUNTIME=/path/to/kata-ts-runtime bats test/bats/oci-contract.bats
# Each run uses a private --root and a busybox bundle; see helpers.bash for
# the other settings. Nothing waits a fixed time: every step polls with a
# generous deadline, because a VM runtime boots a VM at `create`.

load helpers

# A test that hangs is stopped (and reported) instead of blocking the suite.
: "${BATS_TEST_TIMEOUT:=600}"

setup_file() {
  setup_work_area
}

teardown_file() {
  cleanup_containers
  local left
  left=$(leftovers)
  [ -n "${WORK:-}" ] && rm -rf "$WORK"
  if [ -n "$left" ]; then
    printf 'oci-contract: left behind:\n%s\n' "$left" >&2
    return 1
  fi
}

setup() {
  CONSOLE_RECEIVER_PID=''
}

teardown() {
  if [ -n "$CONSOLE_RECEIVER_PID" ]; then
    kill "$CONSOLE_RECEIVER_PID" 2>/dev/null || true
    wait "$CONSOLE_RECEIVER_PID" 2>/dev/null || true
  fi
  cleanup_containers
}

# A process that says so on its stdout as soon as it runs, then waits.
SAY_STARTED_AND_WAIT='echo started; exec sleep 100000'

@test "spec writes a config.json and refuses to overwrite it" {
  local dir="$WORK/spec-$BATS_TEST_NUMBER"
  mkdir -p "$dir"
  run rt spec --bundle "$dir"
  assert_success
  [ -f "$dir/config.json" ] || fail "no config.json in $dir"
  jq -e '(.ociVersion | type) == "string" and (.process.args | type) == "array"
         and (.root.path | type) == "string"' "$dir/config.json" >/dev/null ||
    fail "config.json lacks ociVersion, process.args or root.path: $(cat "$dir/config.json")"

  local before
  before=$(sha256sum <"$dir/config.json")
  run rt spec --bundle "$dir"
  assert_failure
  assert_equal "$(sha256sum <"$dir/config.json")" "$before"
}

@test "features prints a JSON document with the supported OCI versions" {
  run rt features
  assert_success
  jq -e '(.ociVersionMin | type) == "string" and (.ociVersionMax | type) == "string"' <<<"$output" >/dev/null ||
    fail "features output lacks ociVersionMin/ociVersionMax: $output"
  if jq -e 'has("hooks")' <<<"$output" >/dev/null; then
    jq -e '.hooks | index("prestart") != null and index("poststop") != null' <<<"$output" >/dev/null ||
      fail "features.hooks does not list prestart and poststop: $output"
  fi
}

@test "create, start, kill, delete: the state at each step; the process waits for start" {
  local id
  id=$(cid)
  new_bundle life sh -c "$SAY_STARTED_AND_WAIT"

  rt_to "$BUNDLE/create" create --bundle "$BUNDLE" "$id"
  assert_state "$id" created "$BUNDLE"
  local created_pid
  created_pid=$(json_get "$STATE_JSON" .pid)
  # The container's process exists but has not run its program yet.
  [ ! -s "$BUNDLE/create.out" ] || fail "the process ran before start: $(cat "$BUNDLE/create.out")"

  run rt start "$id"
  assert_success
  wait_for_line "$BUNDLE/create.out" started
  assert_state "$id" running "$BUNDLE"
  assert_equal "$(json_get "$STATE_JSON" .pid)" "$created_pid"

  # Starting twice is an error.
  run rt start "$id"
  assert_failure

  run rt kill "$id" KILL
  assert_success
  wait_for_status "$id" stopped
  assert_state "$id" stopped "$BUNDLE"

  # There is nothing left to signal.
  run rt kill "$id" KILL
  assert_failure

  run rt delete "$id"
  assert_success
  run rt state "$id"
  assert_failure
  run rt list -q
  assert_success
  if grep -qxF -- "$id" <<<"$output"; then fail "list -q still shows $id: $output"; fi
}

@test "delete of a running container fails without --force and succeeds with it" {
  local id
  id=$(cid)
  new_bundle del sh -c "$SAY_STARTED_AND_WAIT"
  rt_to "$BUNDLE/create" create --bundle "$BUNDLE" "$id"
  run rt start "$id"
  assert_success
  wait_for_line "$BUNDLE/create.out" started

  run rt delete "$id"
  assert_failure
  assert_state "$id" running "$BUNDLE"

  run rt delete --force "$id"
  assert_success
  run rt state "$id"
  assert_failure
}

@test "delete --force removes a created container that never started" {
  local id
  id=$(cid)
  new_bundle delcreated sh -c "$SAY_STARTED_AND_WAIT"
  rt_to "$BUNDLE/create" create --bundle "$BUNDLE" "$id"
  assert_state "$id" created "$BUNDLE"

  run rt delete --force "$id"
  assert_success
  run rt state "$id"
  assert_failure
  [ ! -s "$BUNDLE/create.out" ] || fail "the process ran although never started: $(cat "$BUNDLE/create.out")"
}

@test "kill of a created container stops it; start then fails and delete works" {
  local id
  id=$(cid)
  new_bundle killcreated sh -c "$SAY_STARTED_AND_WAIT"
  rt_to "$BUNDLE/create" create --bundle "$BUNDLE" "$id"
  assert_state "$id" created "$BUNDLE"

  run rt kill "$id" KILL
  assert_success
  wait_for_status "$id" stopped
  run rt start "$id"
  assert_failure
  run rt delete "$id"
  assert_success
  [ ! -s "$BUNDLE/create.out" ] || fail "the process ran although never started: $(cat "$BUNDLE/create.out")"
}

@test "changes to config.json after create do not affect the container" {
  local id
  id=$(cid)
  new_bundle cfgupdate sh -c "$SAY_STARTED_AND_WAIT"
  rt_to "$BUNDLE/create" create --bundle "$BUNDLE" "$id"
  assert_state "$id" created "$BUNDLE"
  echo '{ "ociVersion": "1.0.0" }' >"$BUNDLE/config.json"

  run rt start "$id"
  assert_success
  wait_for_line "$BUNDLE/create.out" started
  run rt delete --force "$id"
  assert_success
}

@test "commands on a container that does not exist fail with status 1" {
  local id
  id=$(cid nosuch)
  run rt delete "$id"
  assert_failure 1
  run rt state "$id"
  assert_failure
  run rt start "$id"
  assert_failure
  run rt kill "$id" KILL
  assert_failure
}

@test "run returns the container's exit status and passes its output" {
  local id
  id=$(cid)
  new_bundle exit7 sh -c 'echo out-of-run; echo err-of-run >&2; exit 7'
  run rt run --bundle "$BUNDLE" "$id" </dev/null
  assert_failure 7
  assert_line out-of-run
  assert_line err-of-run
  # A foreground run deletes its container.
  run rt state "$id"
  assert_failure
}

@test "run --detach leaves a running container" {
  local id
  id=$(cid)
  new_bundle rund sh -c "$SAY_STARTED_AND_WAIT"
  rt_to "$BUNDLE/run" run --detach --bundle "$BUNDLE" "$id"
  wait_for_line "$BUNDLE/run.out" started
  assert_state "$id" running "$BUNDLE"
}

@test "create --pid-file writes the pid of a live process" {
  local id
  id=$(cid)
  new_bundle pidfile sh -c "$SAY_STARTED_AND_WAIT"
  rt_to "$BUNDLE/create" create --bundle "$BUNDLE" --pid-file "$BUNDLE/pid" "$id"
  [ -f "$BUNDLE/pid" ] || fail "no pid file after create"
  local pid
  pid=$(cat "$BUNDLE/pid")
  [[ "$pid" =~ ^[1-9][0-9]*$ ]] || fail "the pid file holds '$pid', not a pid"
  kill -0 "$pid" || fail "process $pid from the pid file is not alive while created"

  run rt start "$id"
  assert_success
  wait_for_line "$BUNDLE/create.out" started
  kill -0 "$pid" || fail "process $pid from the pid file is not alive while running"
}

@test "--console-socket receives the terminal's master; the container's output comes through it" {
  command -v python3 >/dev/null || skip "python3 is needed for the console receiver"
  local id
  id=$(cid)
  new_bundle console sh -c '[ -t 0 ] && [ -t 1 ] && echo stdio-is-a-terminal; read -r line; echo "read: $line"'
  edit_config '.process.terminal = true'
  local sock="$BUNDLE/console.sock"
  python3 "$BATS_TEST_DIRNAME/console-receiver.py" "$sock" "$BUNDLE/console.log" $'hello-tty\n' \
    </dev/null >"$BUNDLE/receiver.out" 2>&1 3>&- &
  CONSOLE_RECEIVER_PID=$!
  local end=$((SECONDS + DEADLINE))
  until [ -S "$sock" ]; do
    [ "$SECONDS" -lt "$end" ] || fail "the console receiver did not listen: $(cat "$BUNDLE/receiver.out")"
    sleep 0.1
  done

  rt_to "$BUNDLE/create" create --bundle "$BUNDLE" --console-socket "$sock" "$id"
  assert_state "$id" created "$BUNDLE"
  run rt start "$id"
  assert_success

  wait_for_exit "$CONSOLE_RECEIVER_PID"
  wait "$CONSOLE_RECEIVER_PID" || fail "the console receiver failed: $(cat "$BUNDLE/receiver.out")"
  CONSOLE_RECEIVER_PID=''
  local log
  log=$(tr -d '\r' <"$BUNDLE/console.log")
  [[ "$log" == *stdio-is-a-terminal* ]] || fail "stdio was not a terminal; console output: $log"
  [[ "$log" == *"read: hello-tty"* ]] || fail "the container did not read from the terminal; console output: $log"
  wait_for_status "$id" stopped
}

@test "exec runs a process with --env and --cwd and returns its status" {
  local id
  id=$(cid)
  new_bundle exec sh -c "$SAY_STARTED_AND_WAIT"
  rt_to "$BUNDLE/create" create --bundle "$BUNDLE" "$id"
  run rt start "$id"
  assert_success
  wait_for_line "$BUNDLE/create.out" started

  run rt exec --env A=from-exec --cwd /tmp "$id" sh -c 'echo "A=$A"; pwd' </dev/null
  assert_success
  assert_output $'A=from-exec\n/tmp'

  run rt exec "$id" sh -c 'exit 3' </dev/null
  assert_failure 3
}

@test "exec --process runs the process described by a JSON file" {
  local id
  id=$(cid)
  new_bundle execp sh -c "$SAY_STARTED_AND_WAIT"
  rt_to "$BUNDLE/create" create --bundle "$BUNDLE" "$id"
  run rt start "$id"
  assert_success
  wait_for_line "$BUNDLE/create.out" started

  jq -n '{
    terminal: false,
    user: { uid: 0, gid: 0 },
    args: ["sh", "-c", "echo \"$WHO in $(pwd)\""],
    env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "WHO=process-file"],
    cwd: "/tmp"
  }' >"$BUNDLE/process.json"
  run rt exec --process "$BUNDLE/process.json" "$id" </dev/null
  assert_success
  assert_output 'process-file in /tmp'
}

@test "exec --detach --pid-file leaves a live process and returns" {
  local id
  id=$(cid)
  new_bundle execd sh -c "$SAY_STARTED_AND_WAIT"
  rt_to "$BUNDLE/create" create --bundle "$BUNDLE" "$id"
  run rt start "$id"
  assert_success
  wait_for_line "$BUNDLE/create.out" started

  rt_to "$BUNDLE/exec" exec --detach --pid-file "$BUNDLE/exec.pid" "$id" sh -c 'echo exec-started; exec sleep 100000'
  [ -f "$BUNDLE/exec.pid" ] || fail "no pid file after exec --detach"
  local pid
  pid=$(cat "$BUNDLE/exec.pid")
  [[ "$pid" =~ ^[1-9][0-9]*$ ]] || fail "the pid file holds '$pid', not a pid"
  kill -0 "$pid" || fail "process $pid from the exec pid file is not alive"
  wait_for_line "$BUNDLE/exec.out" exec-started
}

@test "ps --format json lists the container's processes as a JSON array" {
  local id
  id=$(cid)
  new_bundle ps sh -c "$SAY_STARTED_AND_WAIT"
  rt_to "$BUNDLE/create" create --bundle "$BUNDLE" "$id"
  run rt start "$id"
  assert_success
  wait_for_line "$BUNDLE/create.out" started
  rt_to "$BUNDLE/exec" exec --detach "$id" sh -c 'echo exec-started; exec sleep 100000'
  wait_for_line "$BUNDLE/exec.out" exec-started

  run rt ps --format json "$id"
  assert_success
  jq -e 'type == "array" and length == 2 and all(.[]; type == "number" and . > 0)' <<<"$output" >/dev/null ||
    fail "expected a JSON array of the 2 processes' pids, got: $output"
}

@test "list shows every container in a table and as JSON" {
  local a b bundle_a
  a=$(cid a)
  b=$(cid b)
  new_bundle list-a sh -c "$SAY_STARTED_AND_WAIT"
  bundle_a=$BUNDLE
  rt_to "$BUNDLE/create" create --bundle "$BUNDLE" "$a"
  run rt start "$a"
  assert_success
  wait_for_line "$BUNDLE/create.out" started
  new_bundle list-b sh -c "$SAY_STARTED_AND_WAIT"
  rt_to "$BUNDLE/create" create --bundle "$BUNDLE" "$b"

  run rt list
  assert_success
  assert_line --index 0 --regexp '^ID +PID +STATUS +BUNDLE +CREATED +OWNER'
  assert_line --regexp "^$a +[0-9]+ +running +$bundle_a "
  assert_line --regexp "^$b +[0-9]+ +created +$BUNDLE "

  run rt list -q
  assert_success
  assert_equal "$(sort <<<"$output")" "$(printf '%s\n%s' "$a" "$b" | sort)"

  run rt list --format json
  assert_success
  jq -e --arg a "$a" --arg b "$b" --arg ba "$bundle_a" --arg bb "$BUNDLE" '
    type == "array" and length == 2
    and any(.[]; .id == $a and .status == "running" and .bundle == $ba and .pid > 0)
    and any(.[]; .id == $b and .status == "created" and .bundle == $bb and .pid > 0)' <<<"$output" >/dev/null ||
    fail "list --format json does not describe both containers: $output"
}

@test "pause and resume: the state goes paused and back to running" {
  local id
  id=$(cid)
  new_bundle pause sh -c "$SAY_STARTED_AND_WAIT"
  rt_to "$BUNDLE/create" create --bundle "$BUNDLE" "$id"
  run rt start "$id"
  assert_success
  wait_for_line "$BUNDLE/create.out" started

  run rt pause "$id"
  assert_success
  assert_state "$id" paused "$BUNDLE"

  run rt resume "$id"
  assert_success
  assert_state "$id" running "$BUNDLE"
  # The container still works after resuming.
  run rt exec "$id" echo still-alive </dev/null
  assert_success
  assert_output still-alive
}

@test "update --resources changes the container's cgroup limits" {
  local id
  id=$(cid)
  new_bundle update sh -c "$SAY_STARTED_AND_WAIT"
  rt_to "$BUNDLE/create" create --bundle "$BUNDLE" "$id"
  run rt start "$id"
  assert_success
  wait_for_line "$BUNDLE/create.out" started

  echo '{ "memory": { "limit": 268435456 }, "pids": { "limit": 99 } }' >"$BUNDLE/resources.json"
  run rt update --resources "$BUNDLE/resources.json" "$id"
  assert_success

  # The container's own cgroup: under /sys/fs/cgroup/<controller> with cgroup
  # v1 (runc on a v1 host binds its own); with cgroup v2 (a VM's guest) at its
  # path from /proc/self/cgroup ("0::/" with a cgroup namespace).
  local v2='$(sed -n "s/^0:://p" /proc/self/cgroup)'
  run rt exec "$id" sh -c "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup$v2/memory.max" </dev/null
  assert_success
  assert_output 268435456
  run rt exec "$id" sh -c "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup$v2/pids.max" </dev/null
  assert_success
  assert_output 99

  run rt update --resources "$BUNDLE/no-such-file.json" "$id"
  assert_failure
}

@test "events --stats prints one JSON line of type stats" {
  local id
  id=$(cid)
  new_bundle events sh -c "$SAY_STARTED_AND_WAIT"
  rt_to "$BUNDLE/create" create --bundle "$BUNDLE" "$id"
  run rt start "$id"
  assert_success
  wait_for_line "$BUNDLE/create.out" started

  run rt events --stats "$id"
  assert_success
  assert_equal "${#lines[@]}" 1
  jq -e --arg id "$id" '.type == "stats" and .id == $id and (.data | type) == "object"' <<<"${lines[0]}" >/dev/null ||
    fail "not a stats event for $id: $output"
}

@test "hooks get the container's state on stdin (prestart, poststart, poststop)" {
  local id
  id=$(cid)
  new_bundle hooks sh -c "$SAY_STARTED_AND_WAIT"
  local hook
  edit_config '.hooks = {
      prestart:  [{ path: "/bin/sh", args: ["sh", "-c", ("cat > " + $dir + "/prestart.json")] }],
      poststart: [{ path: "/bin/sh", args: ["sh", "-c", ("cat > " + $dir + "/poststart.json")] }],
      poststop:  [{ path: "/bin/sh", args: ["sh", "-c", ("cat > " + $dir + "/poststop.json")] }]
    }' --arg dir "$BUNDLE"

  rt_to "$BUNDLE/create" create --bundle "$BUNDLE" "$id"
  [ -f "$BUNDLE/prestart.json" ] || fail "the prestart hook did not run at create"
  jq -e --arg id "$id" --arg b "$BUNDLE" '.id == $id and .bundle == $b and .pid > 0
      and (.status == "creating" or .status == "created")' "$BUNDLE/prestart.json" >/dev/null ||
    fail "prestart hook state: $(cat "$BUNDLE/prestart.json")"

  # The spec runs poststart after the user's process started and before
  # `start` returns. (runc 1.1 already runs it at `create`, with status
  # "created": so its presence before `start` is not checked here.)
  run rt start "$id"
  assert_success
  [ -s "$BUNDLE/poststart.json" ] || fail "the poststart hook had not run when start returned"
  wait_for_line "$BUNDLE/create.out" started
  jq -e --arg id "$id" --arg b "$BUNDLE" '.id == $id and .bundle == $b and .pid > 0
      and (.status == "created" or .status == "running")' "$BUNDLE/poststart.json" >/dev/null ||
    fail "poststart hook state: $(cat "$BUNDLE/poststart.json")"

  run rt kill "$id" KILL
  assert_success
  wait_for_status "$id" stopped
  run rt delete "$id"
  assert_success
  [ -f "$BUNDLE/poststop.json" ] || fail "the poststop hook did not run at delete"
  jq -e --arg id "$id" --arg b "$BUNDLE" '.id == $id and .bundle == $b and .status == "stopped"' \
    "$BUNDLE/poststop.json" >/dev/null ||
    fail "poststop hook state: $(cat "$BUNDLE/poststop.json")"
  for hook in prestart poststart poststop; do
    jq -e '(.ociVersion | type) == "string"' "$BUNDLE/$hook.json" >/dev/null ||
      fail "$hook hook state has no ociVersion: $(cat "$BUNDLE/$hook.json")"
  done
}

@test "kill takes signal names with and without SIG and numbers; default is TERM" {
  local id
  id=$(cid)
  # Traps interrupt `wait`, so each signal is reported at once.
  new_bundle kill sh -c '
    trap "echo got-USR1" USR1
    trap "echo got-USR2" USR2
    trap "echo got-HUP" HUP
    trap "echo got-TERM; exit 0" TERM
    echo started
    while :; do sleep 1 & wait $!; done'
  rt_to "$BUNDLE/create" create --bundle "$BUNDLE" "$id"
  run rt start "$id"
  assert_success
  wait_for_line "$BUNDLE/create.out" started

  run rt kill "$id" USR1
  assert_success
  wait_for_line "$BUNDLE/create.out" got-USR1
  run rt kill "$id" SIGHUP
  assert_success
  wait_for_line "$BUNDLE/create.out" got-HUP
  run rt kill "$id" "$(kill -l USR2)"
  assert_success
  wait_for_line "$BUNDLE/create.out" got-USR2

  run rt kill "$id" NOT-A-SIGNAL
  assert_failure
  assert_state "$id" running "$BUNDLE"

  run rt kill "$id"
  assert_success
  wait_for_line "$BUNDLE/create.out" got-TERM
  wait_for_status "$id" stopped

  run rt kill "$id" TERM
  assert_failure
}

# Last, so that it sees what every other test left: the per-test cleanup
# only force-deletes containers; this checks that deleting them released
# everything (processes, state, cgroups).
@test "nothing is left behind (containers, state, processes, cgroups)" {
  local left
  left=$(leftovers)
  [ -z "$left" ] || fail "left behind: $left"
}
