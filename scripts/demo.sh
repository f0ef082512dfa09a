#!/usr/bin/env bash
# The main job: on a fresh Debian 12 machine, install what is missing, build
# the guest image if needed, then run a busybox container inside its own VM.
# The container prints the kernel it runs on (the guest's, not this host's)
# and the block devices it sees.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "kata-ts demo: installing what is missing and building the guest image (the first time takes a few minutes)..." >&2
if ! { bash scripts/install-deps.sh && bin/kata-ts-image build; } >"$dir/setup.log" 2>&1; then
  cat "$dir/setup.log" >&2
  exit 1
fi
mkdir -p "$dir/bundle/rootfs/bin" "$dir/bundle/rootfs/proc" "$dir/bundle/rootfs/sys" "$dir/bundle/rootfs/dev" "$dir/bundle/rootfs/tmp"
cp /bin/busybox "$dir/bundle/rootfs/bin/busybox"
for applet in sh uname cat ls echo; do ln -s busybox "$dir/bundle/rootfs/bin/$applet"; done
(cd "$dir/bundle" && runc spec)
node -e '
  const fs = require("fs");
  const file = process.argv[1];
  const spec = JSON.parse(fs.readFileSync(file, "utf8"));
  spec.process.terminal = false;
  spec.process.args = ["sh", "-c",
    "echo \"host kernel:  '"$(uname -r)"'\"; echo \"guest kernel: $(uname -r)\"; echo \"block devices:\"; cat /proc/partitions; ls -l /dev/xvda"];
  // A disk image hot-plugged into the VM and given to the container as /dev/xvda.
  // The spec names it with made-up host numbers; the guest agent remaps them.
  spec.linux.devices = [{ path: "/dev/xvda", type: "b", major: 7, minor: 200, fileMode: 0o660, uid: 0, gid: 0 }];
  spec.linux.resources.devices.push({ allow: true, type: "b", major: 7, minor: 200, access: "r" });
  spec.annotations = { "io.kata-ts.block-source./dev/xvda": process.argv[2] };
  fs.writeFileSync(file, JSON.stringify(spec, null, 2));
' "$dir/bundle/config.json" "$dir/disk.img"
truncate -s 8M "$dir/disk.img"

bin/kata-ts-runtime --root "$dir/state" run --bundle "$dir/bundle" "demo-$$"
