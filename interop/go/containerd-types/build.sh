#!/bin/sh
# Builds kata-containerd-types, the Go program that checks our containerd
# .proto files against containerd's own Go types, and prints the path of the
# binary on stdout (progress goes to stderr).
#
# The build is offline and uses Debian's Go packages only:
#   golang-go  golang-github-containerd-containerd-dev  golang-github-containerd-cgroups-dev
# (the containerd package pulls in typeurl, gogo protobuf, runtime-spec, ...).
# Go runs in GOPATH mode (no modules, no proxy) over the packaged sources in
# /usr/share/gocode; nothing is generated. Build products stay out of git:
#   ../build/containerd-types/   GOPATH with a copy of the sources, Go's cache
#   ../bin/kata-containerd-types the binary
# Nothing is rebuilt while the sources are unchanged; set
# KATA_CONTAINERD_TYPES_REBUILD=1 to force a build.
#
# Exit status 3 means a prerequisite (Go or a Debian package) is missing, so
# that the test can tell "cannot build here" from "the build is broken".
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build="$here/../build/containerd-types"
bin="$here/../bin/kata-containerd-types"
gocode=/usr/share/gocode

if ! command -v go >/dev/null 2>&1; then
  echo "build.sh: go not found; install the Debian package golang-go" >&2
  exit 3
fi
for dir in containerd/containerd/runtime/v2/task containerd/cgroups/stats/v1; do
  if [ ! -d "$gocode/src/github.com/$dir" ]; then
    echo "build.sh: $gocode/src/github.com/$dir missing; install the Debian packages golang-github-containerd-containerd-dev golang-github-containerd-cgroups-dev" >&2
    exit 3
  fi
done

mkdir -p "$build" "$(dirname "$bin")"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$build/lock"
  flock 9
fi

stamp=$(cat "$0" "$here"/*.go | sha256sum | cut -d' ' -f1)
if [ "${KATA_CONTAINERD_TYPES_REBUILD:-0}" != 1 ] && [ -x "$bin" ] && [ -f "$build/stamp" ] \
  && [ "$(cat "$build/stamp")" = "$stamp" ]; then
  echo "$bin"
  exit 0
fi

echo "build.sh: building kata-containerd-types" >&2
pkg="$build/gopath/src/containerdtypes"
rm -rf "$build/gopath"
mkdir -p "$pkg"
cp "$here"/*.go "$pkg/"
(
  cd "$pkg"
  GO111MODULE=off GOPATH="$build/gopath:$gocode" GOCACHE="$build/gocache" \
    GOPROXY=off GOFLAGS= CGO_ENABLED=0 \
    go build -trimpath -o "$bin" .
)
echo "$stamp" > "$build/stamp"
echo "$bin"
