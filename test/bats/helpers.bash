# Shared by the OCI command-line contract tests (oci-contract.bats): which
# runtime to drive, a busybox bundle builder, polling helpers, cleanup and
# the check that nothing was left behind.
#
# Environment (all optional):
#   RUNTIME                the runc-compatible runtime: a command name on PATH
#                          or a path (default: runc)
#   RUNTIME_ARGS           extra global options put before every subcommand,
#                          split on spaces (e.g. "--log-level debug")
#   OCI_TEST_DEADLINE      seconds to wait for a state change, an output line
#                          or a file (default 120; a VM runtime boots a VM at
#                          `create`)
#   OCI_TEST_CMD_TIMEOUT   seconds one runtime command may take (default 180)
#   OCI_TEST_TAG           prefix of every container id (default: random),
#                          to find a run's leftovers (cgroups, processes)
#   BATS_LIB_PATH          where bats-support and bats-assert are installed
#                          (Debian's bats defaults to /usr/lib/bats)

# --- bats libraries ----------------------------------------------------------

# Debian's packages bats-support and bats-assert install under /usr/lib/bats;
# other installs commonly use /usr/local/lib/bats. BATS_LIB_PATH comes first.
for _dir in /usr/lib/bats /usr/local/lib/bats; do
  case ":${BATS_LIB_PATH:-}:" in
    *":$_dir:"*) ;;
    *) BATS_LIB_PATH="${BATS_LIB_PATH:+$BATS_LIB_PATH:}$_dir" ;;
  esac
done

for _lib in bats-support bats-assert; do
  if ! bats_load_library_safe "$_lib" 2>/dev/null; then
    printf 'oci-contract: the bats library %s was not found in BATS_LIB_PATH=%s\n' "$_lib" "$BATS_LIB_PATH" >&2
    printf 'oci-contract: install the Debian packages bats-support and bats-assert, or point BATS_LIB_PATH at them\n' >&2
    exit 1
  fi
done
unset _lib _dir

# --- the runtime under test --------------------------------------------------

RUNTIME="${RUNTIME:-runc}"
read -r -a RUNTIME_GLOBAL_ARGS <<<"${RUNTIME_ARGS:-}"
DEADLINE="${OCI_TEST_DEADLINE:-120}"
CMD_TIMEOUT="${OCI_TEST_CMD_TIMEOUT:-180}"

# Runs the runtime with the private state root. Descriptor 3 (bats's own
# output) is closed so that nothing the runtime leaves running keeps bats
# waiting. A command that hangs is stopped after CMD_TIMEOUT seconds (status
# 124, as `timeout` reports it).
rt() {
  timeout --kill-after=10 "$CMD_TIMEOUT" \
    "$RUNTIME" "${RUNTIME_GLOBAL_ARGS[@]}" --root "$ROOT" "$@" 3>&-
}

# For commands that leave a container process behind (`create`, `run -d`,
# `exec -d`): that process inherits the runtime's stdio, so it must not be a
# pipe that bats reads to the end. Usage: rt_to FILE_PREFIX ARGS...; stdout
# goes to FILE_PREFIX.out, stderr to FILE_PREFIX.err, stdin is /dev/null.
# On failure the captured stderr is printed (bats shows it).
rt_to() {
  local prefix=$1
  shift
  local status=0
  rt "$@" >"$prefix.out" 2>"$prefix.err" </dev/null || status=$?
  if [ "$status" -ne 0 ]; then
    printf '%s %s: exit status %d; stderr:\n' "$RUNTIME" "$*" "$status" >&2
    cat "$prefix.err" >&2
  fi
  return "$status"
}

# --- JSON --------------------------------------------------------------------

# json_get JSON FILTER: prints the raw value of a jq filter.
json_get() {
  jq -r "$2" <<<"$1"
}

# --- the work area and the busybox root filesystem ---------------------------

# Called from setup_file: a private directory holding the root filesystem
# (shared read-only by every container), the runtime's state root and the
# bundles. Exported so the tests (separate processes) see them.
setup_work_area() {
  command -v jq >/dev/null || { echo 'oci-contract: jq is required (Debian package jq)' >&2; return 1; }
  command -v "$RUNTIME" >/dev/null || { echo "oci-contract: runtime not found: $RUNTIME" >&2; return 1; }
  WORK=$(mktemp -d "${BATS_TMPDIR:-/tmp}/oci.XXXXXX")
  ROOT="$WORK/state"
  ROOTFS="$WORK/rootfs"
  # Container ids carry this tag, so leftovers (cgroups, processes) of this
  # run can be told apart from anything else on the machine.
  TAG="${OCI_TEST_TAG:-oci$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')}"
  export WORK ROOT ROOTFS TAG
  mkdir -p "$ROOT" "$WORK/bundles"
  build_busybox_rootfs "$ROOTFS"
}

# A minimal root filesystem: a static busybox with one symlink per applet,
# the mount points the config uses, /etc/passwd and /etc/group.
build_busybox_rootfs() {
  local dir=$1 busybox='' candidate applet
  for candidate in /bin/busybox /usr/bin/busybox; do
    [ -x "$candidate" ] && { busybox=$candidate; break; }
  done
  [ -n "$busybox" ] || { echo 'oci-contract: busybox not found (Debian package busybox-static)' >&2; return 1; }
  mkdir -p "$dir"/{bin,proc,dev,sys,tmp,etc,root}
  cp "$busybox" "$dir/bin/busybox"
  for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$dir/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
}

# new_bundle NAME ARG...: creates $WORK/bundles/NAME/config.json whose
# process runs ARG... (non-interactive, no terminal) and sets BUNDLE to the
# directory. The shape is what `runc spec` writes, with the shared read-only
# busybox root filesystem.
new_bundle() {
  local name=$1
  shift
  BUNDLE="$WORK/bundles/$name"
  mkdir -p "$BUNDLE"
  # Each argument becomes a JSON string on its own (jq --args would take
  # arguments such as -c for its own options).
  local args arg
  args=$(for arg in "$@"; do printf '%s' "$arg" | jq -Rs .; done | jq -cs .)
  jq -n --arg rootfs "$ROOTFS" --argjson args "$args" '{
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: $args,
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: {
        bounding: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        effective: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        permitted: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        ambient: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
      },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true
    },
    root: { path: $rootfs, readonly: true },
    hostname: "oci-contract",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
      { destination: "/dev/shm", type: "tmpfs", source: "shm",
        options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue",
        options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs",
        options: ["nosuid", "noexec", "nodev", "ro"] },
      { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
        options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
      { destination: "/tmp", type: "tmpfs", source: "tmpfs",
        options: ["nosuid", "nodev", "mode=1777"] }
    ],
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" },
                   { type: "uts" }, { type: "mount" }],
      maskedPaths: ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                    "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                      "/proc/sysrq-trigger"]
    }
  }' >"$BUNDLE/config.json"
}

# edit_config JQ_FILTER [JQ_OPTIONS...]: rewrites $BUNDLE/config.json.
edit_config() {
  local filter=$1
  shift
  jq "$@" "$filter" "$BUNDLE/config.json" >"$BUNDLE/config.json.new"
  mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

# cid [SUFFIX]: a container id unique to this run and test.
cid() {
  printf '%s-%s%s' "$TAG" "$BATS_TEST_NUMBER" "${1:+-$1}"
}

# --- polling (never a fixed sleep: a VM runtime may be slow) -----------------

# wait_for_status ID STATUS: polls `state` until the status is STATUS.
wait_for_status() {
  local id=$1 want=$2 end=$((SECONDS + DEADLINE)) json='' got=''
  while :; do
    json=$(rt state "$id" 2>&1) && got=$(json_get "$json" .status 2>/dev/null) || got=''
    [ "$got" = "$want" ] && return 0
    if [ "$SECONDS" -ge "$end" ]; then
      fail "container $id did not become '$want' within ${DEADLINE}s; last state: $json"
      return 1
    fi
    sleep 0.2
  done
}

# wait_for_line FILE LINE: polls until FILE has the exact line LINE.
wait_for_line() {
  local file=$1 line=$2 end=$((SECONDS + DEADLINE))
  until [ -f "$file" ] && grep -qxF -- "$line" "$file"; do
    if [ "$SECONDS" -ge "$end" ]; then
      fail "no line '$line' in $file within ${DEADLINE}s; it holds: $(cat "$file" 2>&1)"
      return 1
    fi
    sleep 0.2
  done
}

# wait_for_file FILE: polls until FILE exists and is not empty.
wait_for_file() {
  local file=$1 end=$((SECONDS + DEADLINE))
  until [ -s "$file" ]; do
    if [ "$SECONDS" -ge "$end" ]; then
      fail "$file did not appear within ${DEADLINE}s"
      return 1
    fi
    sleep 0.2
  done
}

# wait_for_exit PID: polls until the process PID (one we started) is gone.
wait_for_exit() {
  local pid=$1 end=$((SECONDS + DEADLINE))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$end" ]; then
      fail "process $pid still running after ${DEADLINE}s"
      return 1
    fi
    sleep 0.2
  done
}

# --- checks on the state document --------------------------------------------

# assert_state ID STATUS BUNDLE: `state ID` succeeds and says id, status,
# bundle and an ociVersion; while created or running pid is > 0. Leaves
# the document in STATE_JSON.
assert_state() {
  local id=$1 want_status=$2 bundle=$3
  run rt state "$id"
  assert_success
  STATE_JSON=$output
  jq -e 'type == "object"' <<<"$STATE_JSON" >/dev/null || fail "state is not a JSON object: $STATE_JSON"
  assert_equal "$(json_get "$STATE_JSON" .id)" "$id"
  assert_equal "$(json_get "$STATE_JSON" .status)" "$want_status"
  assert_equal "$(json_get "$STATE_JSON" .bundle)" "$bundle"
  [[ "$(json_get "$STATE_JSON" .ociVersion)" =~ ^1\.[0-9]+\.[0-9]+ ]] ||
    fail "state.ociVersion is not a 1.x.y version: $STATE_JSON"
  if [ "$want_status" = created ] || [ "$want_status" = running ]; then
    jq -e '(.pid | type) == "number" and .pid > 0' <<<"$STATE_JSON" >/dev/null ||
      fail "state.pid is not a positive number while $want_status: $STATE_JSON"
  fi
}

# --- cleanup and leftovers ---------------------------------------------------

# Force-deletes every container the runtime knows under ROOT (by `list` and
# by the state directories, in case `list` itself is broken).
cleanup_containers() {
  [ -n "${ROOT:-}" ] && [ -d "$ROOT" ] || return 0
  local ids id dir
  ids=$(rt list -q 2>/dev/null) || ids=''
  for dir in "$ROOT"/*; do
    [ -d "$dir" ] && ids+=$'\n'"${dir##*/}"
  done
  for id in $(printf '%s\n' "$ids" | sort -u); do
    rt delete --force "$id" >/dev/null 2>&1 </dev/null || true
  done
}

# Prints what this run left behind: containers the runtime still lists,
# entries in the state root, processes whose command line, root or working
# directory is in the work area or whose cgroup is named with the run's tag,
# and cgroups named with the tag.
leftovers() {
  local ids p pid stat cmd why
  # Without a work area (setup_file failed early) there is nothing to look for.
  [ -n "${WORK:-}" ] && [ -n "${TAG:-}" ] || return 0
  ids=$(rt list -q 2>&1) || echo "list failed: $ids"
  [ -z "$ids" ] || echo "containers still listed: $ids"
  if [ -d "$ROOT" ] && [ -n "$(ls -A "$ROOT")" ]; then
    echo "state root not empty: $(ls -A "$ROOT" | tr '\n' ' ')"
  fi
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    { [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ]; } && continue
    # A process that ended meanwhile is skipped, and so is a zombie: it is
    # dead, only not yet reaped by its parent (often init, not us).
    { read -r stat <"$p/stat" && cmd=$(tr '\0' ' ' <"$p/cmdline"); } 2>/dev/null || continue
    stat=${stat##*) }
    [ "${stat%% *}" = Z ] && continue
    why=''
    [[ "$cmd" == *"$WORK"* ]] && why='command line'
    [[ "$(readlink "$p/root" 2>/dev/null)" == "$WORK"* ]] && why='root directory'
    [[ "$(readlink "$p/cwd" 2>/dev/null)" == "$WORK"* ]] && why='working directory'
    grep -qF -- "$TAG" "$p/cgroup" 2>/dev/null && why='cgroup'
    [ -z "$why" ] || echo "process left running ($why in this run): $pid $cmd"
  done
  if [ -d /sys/fs/cgroup ]; then
    find /sys/fs/cgroup -maxdepth 6 -type d -name "*$TAG*" 2>/dev/null | sed 's/^/cgroup left: /'
  fi
}
