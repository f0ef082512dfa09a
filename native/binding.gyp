# Builds kata_native.node: the system calls the TypeScript code needs and Node
# lacks (AF_VSOCK, process control, uevent netlink, mount, clock, host ptys,
# descriptor passing); see src/addon.c. `npm ci` / `npm install` run this
# through the package's "install" script. TypeScript loads it through
# ../src/native/addon.ts.
{
  "targets": [
    {
      "target_name": "kata_native",
      "sources": [
        "src/addon.c",
        "src/napi-util.c",
        "src/vsock.c",
        "src/process.c",
        "src/netlink.c",
        "src/mount.c",
        "src/clock.c",
        "src/pty.c",
        "src/fdpass.c"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-Werror"]
    }
  ]
}
