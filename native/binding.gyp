# Builds kata_vsock.node, the AF_VSOCK syscalls Node lacks (see vsock.c).
# `npm ci` / `npm install` run this through the package's "install" script.
{
  "targets": [
    {
      "target_name": "kata_vsock",
      "sources": ["vsock.c", "src/process.c", "src/mount.c", "src/netlink.c", "src/clock.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-Werror"]
    }
  ]
}
