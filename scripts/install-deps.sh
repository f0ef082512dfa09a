#!/usr/bin/env bash
# Installs what kata-ts needs on a Debian 12 machine: Debian packages for the
# tests and the VM, then the npm dependencies (which also builds the native
# addon and compiles the TypeScript). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: run as root (apt-get install, cgroups and namespaces need it)" >&2
    exit 1
  fi
}

# Node.js 20 or newer is required; Debian 12's own nodejs is 18.
if ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "install-deps: Node.js >= 20 is required (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "install-deps: install it from your distribution or nodejs.org, then run this again." >&2
  exit 1
fi

PACKAGES=(
  # native addon build
  python3 make g++
  # the OCI runtimes the agent drives, and the busybox used for test rootfs
  crun runc busybox-static util-linux mount procps iproute2 e2fsprogs kmod
  # the reference ttRPC implementation for interop tests and benchmarks
  golang-go golang-github-containerd-ttrpc-dev golang-github-gogo-protobuf-dev gogoprotobuf protobuf-compiler
  # containerd's own Go types, to check our copies of its shim API against
  golang-github-containerd-containerd-dev golang-github-containerd-cgroups-dev
  # guest image builder and VMs
  qemu-system-x86 cpio xz-utils binutils
  # OCI command line contract tests
  bats bats-assert bats-support jq
  # container managers driving kata-ts-runtime and the shim in tests
  containerd podman conmon
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  need_root
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm ci (which also builds the native addon) only when the lock file changed
# since the last install; the TypeScript is compiled every time.
stamp=node_modules/.kata-ts-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -f native/build/Release/kata_native.node ]; then
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
else
  npm run --silent build
fi
