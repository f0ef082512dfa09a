#!/bin/sh
# Builds kata-ttrpc-peer, the Go program of our ttRPC interop tests and
# benchmarks, and prints the path of the binary on stdout (progress goes to
# stderr).
#
# The build is offline and uses Debian's Go packages only:
#   golang-go  golang-github-containerd-ttrpc-dev  golang-github-gogo-protobuf-dev
#   gogoprotobuf  protobuf-compiler
# Go runs in GOPATH mode (no modules, no proxy): the libraries come from
# /usr/share/gocode, and everything we generate lives in interop/go/build/,
# which is not committed:
#   build/protos/    our .proto files, adapted for gogo (see below)
#   build/gopath/    GOPATH with the generated message types and a copy of the
#                    program's sources and fixture file
#   build/gocache/   Go's build cache
# The binary goes to interop/go/bin/kata-ttrpc-peer.
#
# When none of the inputs changed since the last build, this only prints the
# path. Set KATA_TTRPC_PEER_REBUILD=1 to force a rebuild.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
protos="$root/src/protocols/protos"
fixture="$root/interop/fixtures/agent-fixture.json"
build="$here/build"
bin="$here/bin/kata-ttrpc-peer"
gocode=/usr/share/gocode

for tool in go protoc protoc-gen-gogofast; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "build.sh: $tool not found; install the Debian packages golang-go golang-github-containerd-ttrpc-dev golang-github-gogo-protobuf-dev gogoprotobuf protobuf-compiler" >&2
    exit 1
  fi
done
if [ ! -d "$gocode/src/github.com/containerd/ttrpc" ]; then
  echo "build.sh: $gocode/src/github.com/containerd/ttrpc missing; install golang-github-containerd-ttrpc-dev" >&2
  exit 1
fi

# One build at a time (a test run and a benchmark may start together).
mkdir -p "$build"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$build/lock"
  flock 9
fi

# Everything the binary depends on, hashed: skip the work when unchanged.
stamp=$(cat "$0" "$here"/*.go "$fixture" "$protos"/agent.proto "$protos"/health.proto \
  "$protos"/oci.proto "$protos"/types.proto | sha256sum | cut -d' ' -f1)
if [ "${KATA_TTRPC_PEER_REBUILD:-0}" != 1 ] && [ -x "$bin" ] && [ -f "$build/stamp" ] \
  && [ "$(cat "$build/stamp")" = "$stamp" ]; then
  echo "$bin"
  exit 0
fi

echo "build.sh: building kata-ttrpc-peer" >&2
rm -rf "$build/protos" "$build/gopath"
pkg="$build/gopath/src/ttrpcpeer"
mkdir -p "$build/protos" "$pkg/gen/grpc" "$pkg/gen/types" "$pkg/cmd/kata-ttrpc-peer" "$here/bin"

# protoc-gen-gogo predates proto3 `optional` and refuses files that use it
# (agent.proto's mem-agent configs do). Dropping the keyword keeps the field
# numbers and types, so the wire format of every message is unchanged; only
# the presence tracking of those few scalar fields is lost, which this
# program does not use.
for file in agent health oci types; do
  sed -E 's/^([[:space:]]*)optional[[:space:]]+/\1/' "$protos/$file.proto" > "$build/protos/$file.proto"
done

# One protoc run per Go package: package grpc (agent, health, oci) and
# package types. The M options map each .proto file to its Go import path.
# google/protobuf/empty.proto comes from the gogo package's copy, so
# libprotobuf-dev (only recommended by protobuf-compiler) is not needed.
map="Magent.proto=ttrpcpeer/gen/grpc,Mhealth.proto=ttrpcpeer/gen/grpc,Moci.proto=ttrpcpeer/gen/grpc"
map="$map,Mtypes.proto=ttrpcpeer/gen/types,Mgoogle/protobuf/empty.proto=github.com/gogo/protobuf/types"
(
  cd "$build/protos"
  protoc -I . -I "$gocode/src/github.com/gogo/protobuf/protobuf" --gogofast_out="$map:$pkg/gen/types" types.proto
  protoc -I . -I "$gocode/src/github.com/gogo/protobuf/protobuf" --gogofast_out="$map:$pkg/gen/grpc" agent.proto health.proto oci.proto
)

cp "$here"/*.go "$fixture" "$pkg/cmd/kata-ttrpc-peer/"

(
  cd "$pkg/cmd/kata-ttrpc-peer"
  GO111MODULE=off GOPATH="$build/gopath:$gocode" GOCACHE="$build/gocache" \
    GOPROXY=off GOFLAGS= CGO_ENABLED=0 \
    go build -trimpath -o "$bin" .
)
echo "$stamp" > "$build/stamp"
echo "$bin"
