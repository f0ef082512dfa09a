#!/usr/bin/env bash
# Runs the OCI runtime-tools validation programs (validation/<name>/<name>.t,
# each a TAP producer) against one OCI runtime CLI and prints, per program,
# how many of its TAP tests passed, then totals.
#
# The runtime-tools checkout is NOT part of this repository: fetch and build
# it yourself (see bench/validation/README.md), then pass its path here.
#
# Usage:
#   scripts/validation-suite.sh [options] <runtime-tools-dir> <runtime> [runtime global flags...]
#
#   <runtime-tools-dir>  checkout holding the built runtimetest and validation/*/*.t
#   <runtime>            the runtime command (name on PATH or a path), e.g. runc, crun,
#                        bin/kata-ts-runtime. Any further words are global flags put
#                        before every subcommand (e.g. --root /run/x); the programs
#                        take a single executable, so the script writes a wrapper.
# Options:
#   -t, --timeout SECONDS  per-program limit (default 300: a VM-based runtime boots
#                          one VM per container, and some programs start several)
#   -p, --program NAME     run only this program (repeatable; default: all)
#   -l, --logs DIR         keep each program's TAP output (NAME.tap) and stderr (NAME.err)
#   --checkout-rootfs      use the rootfs-<arch>.tar.gz shipped in the checkout instead
#                          of building one from the host's static busybox
#   -h, --help
#
# Result per program, as a TAP consumer (prove) judges it:
#   ok       exit status 0, one plan 1..N with N > 0, N test lines, none "not ok"
#            (skipped tests count as passed; "not ok # TODO" is not a failure)
#   skip     the same but the plan is 1..0: the program ran no test. A TAP consumer
#            counts that as passing, but the hook programs report their verdict
#            only as an "error" diagnostic before 1..0: those are listed after
#            the totals
#   fail     anything else (non-zero exit, missing or repeated plan, a "not ok")
#   timeout  killed after the per-program limit
# Exit status: 0 when every program is ok or skip, 1 otherwise, 2 on a usage or
# set-up error.

set -uo pipefail

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; }
die() { echo "validation-suite: $*" >&2; exit 2; }

timeout_s=300
programs=()
logs=""
checkout_rootfs=0
while [ $# -gt 0 ]; do
  case "$1" in
    -t|--timeout) [ $# -ge 2 ] || die "$1 needs a value"; timeout_s="$2"; shift 2 ;;
    -p|--program) [ $# -ge 2 ] || die "$1 needs a value"; programs+=("$2"); shift 2 ;;
    -l|--logs) [ $# -ge 2 ] || die "$1 needs a value"; logs="$2"; shift 2 ;;
    --checkout-rootfs) checkout_rootfs=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || { usage >&2; exit 2; }
[[ "$timeout_s" =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive number of seconds, got '$timeout_s'"

tools_dir="$(cd "$1" 2>/dev/null && pwd)" || die "no such directory: $1"
runtime="$2"
shift 2
runtime_flags=("$@")

[ -x "$tools_dir/runtimetest" ] || die "$tools_dir/runtimetest is missing: build the checkout first"
if [[ "$runtime" != */* ]]; then
  runtime_path="$(command -v "$runtime")" || die "runtime '$runtime' not found on PATH"
else
  runtime_path="$(cd "$(dirname "$runtime")" && pwd)/$(basename "$runtime")"
fi
[ -x "$runtime_path" ] || die "runtime '$runtime_path' is not executable"

case "$(uname -m)" in
  x86_64) goarch=amd64 ;;
  aarch64) goarch=arm64 ;;
  i?86) goarch=386 ;;
  ppc64le) goarch=ppc64le ;;
  s390x) goarch=s390x ;;
  riscv64) goarch=riscv64 ;;
  *) die "unsupported machine $(uname -m)" ;;
esac

# Which programs: every validation/<name>/<name>.t, or the ones asked for.
if [ ${#programs[@]} -eq 0 ]; then
  for t in "$tools_dir"/validation/*/*.t; do
    [ -x "$t" ] || continue
    name="$(basename "$t" .t)"
    [ "$(basename "$(dirname "$t")")" = "$name" ] && programs+=("$name")
  done
  [ ${#programs[@]} -gt 0 ] || die "no validation/*/*.t programs in $tools_dir: build them first"
fi
for name in "${programs[@]}"; do
  [ -x "$tools_dir/validation/$name/$name.t" ] || die "no program validation/$name/$name.t"
done

# A scratch area: the programs read runtimetest and rootfs-<arch>.tar.gz from
# their working directory and make their bundles under TMPDIR, so both point here.
work="$(mktemp -d "${TMPDIR:-/tmp}/validation-suite.XXXXXX")" || die "mktemp failed"
run_dir="$work/run"
bundles="$work/tmp"
mkdir -p "$run_dir" "$bundles"
# Searchable by all: containers with a user namespace map root to another host
# uid, which must still reach the bundle (mktemp makes 0700 directories).
chmod 755 "$work" "$run_dir" "$bundles"

# Force-deletes the containers a program left behind (a killed program does
# not clean up): those whose bundle is under our scratch area. Needs the
# runtime's `list -q`; without it, leftovers stay listed by the runtime.
reap_leftovers() {
  local id state bundle
  for id in $("$runtime_path" "${runtime_flags[@]}" list -q 2>/dev/null); do
    state="$("$runtime_path" "${runtime_flags[@]}" state "$id" 2>/dev/null)" || continue
    bundle="$(printf '%s' "$state" | tr -d '\n' | sed -n 's/.*"bundle"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')"
    case "$bundle" in
      "$bundles"/*) "$runtime_path" "${runtime_flags[@]}" delete --force "$id" >/dev/null 2>&1 ;;
    esac
  done
}
# Unmounts whatever is mounted under directory $1, deepest first. A runtime
# that fails half-way through setting up a container without its own mount
# namespace leaves the rootfs, proc, sys and dev mounts on the host.
unmount_under() {
  local m
  awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || echo "validation-suite: warning: cannot unmount $m" >&2
  done
}
# Removes a directory tree without ever crossing into a mounted filesystem.
remove_tree() {
  unmount_under "$1"
  rm -rf --one-file-system "$1" 2>/dev/null \
    || echo "validation-suite: warning: could not remove all of $1" >&2
}
# The cgroup programs use the fixed cgroupsPath "/cgrouptest" and the relative
# "testdir/cgrouptest/container"; runtimes remove the leaf but leave its parents.
# rmdir removes only empty, unused cgroups, so nothing else is touched.
remove_test_cgroups() {
  local root
  for root in /sys/fs/cgroup /sys/fs/cgroup/*; do
    [ -d "$root" ] || continue
    rmdir "$root/testdir/cgrouptest/container" "$root/testdir/cgrouptest" "$root/testdir" \
      "$root/cgrouptest" 2>/dev/null
  done
  return 0
}
cleanup() {
  reap_leftovers
  remove_tree "$work"
  remove_test_cgroups
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || echo "validation-suite: warning: not root; most programs need root" >&2
remove_test_cgroups
cp "$tools_dir/runtimetest" "$run_dir/runtimetest" || die "cannot copy runtimetest"

if [ "$checkout_rootfs" = 1 ]; then
  tarball="$tools_dir/rootfs-$goarch.tar.gz"
  [ -f "$tarball" ] || die "$tarball is missing"
  cp "$tarball" "$run_dir/" || die "cannot copy $tarball"
else
  # A root filesystem from the host's static busybox: /bin/busybox, one
  # symlink per applet, the usual empty directories, passwd and group.
  busybox=""
  for b in /bin/busybox /usr/bin/busybox; do [ -x "$b" ] && { busybox="$b"; break; }; done
  [ -n "$busybox" ] || die "busybox not found: install busybox-static, or use --checkout-rootfs"
  rootfs="$work/rootfs"
  mkdir -p "$rootfs"/{bin,dev,proc,sys,etc,tmp,root}
  cp "$busybox" "$rootfs/bin/busybox"
  for applet in $("$busybox" --list); do
    case "$applet" in busybox|*/*) continue ;; esac
    ln -s busybox "$rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
  tar -C "$rootfs" -czf "$run_dir/rootfs-$goarch.tar.gz" . || die "cannot pack the rootfs"
fi

# The programs take one executable (RUNTIME); global flags need a wrapper.
runtime_cmd="$runtime_path"
if [ ${#runtime_flags[@]} -gt 0 ]; then
  runtime_cmd="$work/runtime"
  {
    echo '#!/bin/sh'
    printf 'exec'
    printf ' %q' "$runtime_path" "${runtime_flags[@]}"
    echo ' "$@"'
  } > "$runtime_cmd"
  chmod +x "$runtime_cmd"
fi

if [ -n "$logs" ]; then
  mkdir -p "$logs" || die "cannot create $logs"
fi

# Reads a TAP stream on stdin; prints "passed total result", result being ok,
# skip or fail (see the header for the rules). Only top-level lines count:
# programs that run tests inside the container embed that inner TAP indented.
# Some programs print two TAP documents (two plans): that is a fail, as for
# any TAP consumer; total is then the sum of the plans.
tap_summary() {
  awk -v rc="$1" '
    /^1\.\.[0-9]+/ { plans++; planned += substr($1, 4) + 0; next }
    /^ok([ \t]|$)/ { n++; passed++; next }
    /^not ok([ \t]|$)/ {
      n++
      if ($0 ~ /#[ \t]*[Tt][Oo][Dd][Oo]/) passed++; else failed++
      next
    }
    /^Bail out!/ { bailed = 1 }
    END {
      total = plans ? planned : n
      clean = (rc == 0 && plans == 1 && n == planned && failed == 0 && !bailed)
      result = "fail"
      if (clean) result = (planned > 0) ? "ok" : "skip"
      printf "%d %d %s\n", passed, total, result
    }'
}

printf '# runtime: %s' "$runtime_path"
[ ${#runtime_flags[@]} -gt 0 ] && printf ' %s' "${runtime_flags[@]}"
printf '\n# checkout: %s\n# timeout: %ss per program\n' "$tools_dir" "$timeout_s"
printf '%-36s %10s  %-7s %4s %6s\n' program pass/total result exit secs

n_ok=0 n_skip=0 n_fail=0 n_timeout=0 tests_passed=0 tests_total=0
skipped_with_error=()
for name in "${programs[@]}"; do
  out="$work/$name.tap"
  err="$work/$name.err"
  started=$SECONDS
  ( cd "$run_dir" && TMPDIR="$bundles" RUNTIME="$runtime_cmd" \
      exec timeout --kill-after=15 "$timeout_s" "$tools_dir/validation/$name/$name.t" ) >"$out" 2>"$err" </dev/null
  rc=$?
  secs=$((SECONDS - started))
  read -r passed total result < <(tap_summary "$rc" <"$out")
  # timeout(1) exits 124, or 137 when it had to SIGKILL.
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then result=timeout; fi
  reap_leftovers
  case "$result" in
    ok) n_ok=$((n_ok + 1)) ;;
    skip)
      n_skip=$((n_skip + 1))
      # The hook programs report their verdict only as a diagnostic before 1..0.
      grep -q '^ *"error":' "$out" && skipped_with_error+=("$name")
      ;;
    fail) n_fail=$((n_fail + 1)) ;;
    timeout) n_timeout=$((n_timeout + 1)) ;;
  esac
  tests_passed=$((tests_passed + passed))
  tests_total=$((tests_total + total))
  printf '%-36s %10s  %-7s %4s %6s\n' "$name" "$passed/$total" "$result" "$rc" "$secs"
  if [ -n "$logs" ]; then
    cp "$out" "$logs/$name.tap"
    cp "$err" "$logs/$name.err"
  fi
  remove_tree "$bundles"
  mkdir -p "$bundles" && chmod 755 "$bundles"
  rm -f "$out" "$err"
done

n_all=${#programs[@]}
printf '%s\n' "------------------------------------------------------------"
printf 'programs: %d/%d ok, %d skip, %d fail, %d timeout\n' "$n_ok" "$n_all" "$n_skip" "$n_fail" "$n_timeout"
printf 'tests:    %d/%d passed\n' "$tests_passed" "$tests_total"
if [ ${#skipped_with_error[@]} -gt 0 ]; then
  printf 'skipped after printing an "error" diagnostic: %s\n' "${skipped_with_error[*]}"
fi
[ $((n_ok + n_skip)) = "$n_all" ]
