// The guest's /init: a busybox shell script, run by the kernel as PID 1.
//
// It mounts the kernel filesystems, loads the modules the agent's channel
// needs in the order the image builder computed (the agent loads the others
// once it listens, and holds AgentService RPCs until they are in), names the
// virtio-serial ports (there is no udev), brings up lo and runs the agent. The agent finds its address, log level and
// hotplug timeout on the kernel command line itself (agent.server_addr=,
// agent.log=, agent.hotplug_timeout=). When the agent exits, the VM powers
// off, so QEMU exits too.
//
// When the image has the agent's V8 startup snapshot (startup-snapshot.ts),
// the agent starts from it; node refuses a snapshot made for another CPU
// (exit status 14, before running anything), e.g. the TCG one under KVM, and
// the agent then starts from its script.
//
// `agent.debug_console` on the kernel command line starts the agent in the
// background and a shell on ttyS0 in the foreground instead; leaving the
// shell powers off.

export interface InitOptions {
  /** Guest file listing module files to insmod before the agent starts, one per line. */
  moduleList: string;
  /**
   * Guest file listing the other module files. The agent loads them once it
   * is listening (KATA_TS_LATE_MODULES): under TCG, insmod of the block and
   * filesystem modules takes about half a second.
   */
  lateModuleList?: string;
  /** How to start the agent from its script (program and arguments); the agent's arguments follow. */
  agentCommand: readonly string[];
  /** The agent's own arguments. */
  agentArgs?: readonly string[];
  /**
   * The agent's startup snapshot, tried first when the file exists: `command`
   * (program and arguments) starts the agent from it; the agent's arguments follow.
   */
  snapshot?: { blob: string; command: readonly string[] };
  /** --oci-runtime passed to the agent unless the kernel command line has agent.oci_runtime=. */
  ociRuntime: string;
  /** How long to wait for the agent's virtio-serial port to be named, in seconds. */
  portWaitSeconds?: number;
}

/** Quotes a value for the shell. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** libuv pool threads for the agent (see agent-entry.ts). */
export const AGENT_THREADPOOL_SIZE = 16;

/** node's exit status when it refuses a startup snapshot (made by another node, or for another CPU or V8 flags). */
export const SNAPSHOT_REFUSED_STATUS = 14;

/**
 * The shell function `run_agent ARGS...`: starts the agent with ARGS from
 * its startup snapshot when there is one that node takes, else from its
 * script; returns the agent's exit status.
 */
export function renderRunAgent(opts: Pick<InitOptions, 'agentCommand' | 'snapshot'>): string {
  const fromScript = opts.agentCommand.map(shellQuote).join(' ');
  const lines = ['run_agent() {', '  read -r uptime _ < /proc/uptime'];
  if (opts.snapshot !== undefined) {
    const blob = shellQuote(opts.snapshot.blob);
    lines.push(
      `  if [ -e ${blob} ]; then`,
      '    log "starting the agent from its startup snapshot (uptime $uptime s)"',
      `    ${opts.snapshot.command.map(shellQuote).join(' ')} "$@"`,
      '    status=$?',
      `    [ "$status" -eq ${SNAPSHOT_REFUSED_STATUS} ] || return "$status"`,
      '    log "node refused the startup snapshot (made for another CPU or node); starting the agent from its script"',
      '  else',
      '    log "starting the agent (uptime $uptime s)"',
      '  fi',
    );
  } else {
    lines.push('  log "starting the agent (uptime $uptime s)"');
  }
  lines.push(`  ${fromScript} "$@"`, '}');
  return lines.join('\n');
}

export function renderInit(opts: InitOptions): string {
  const waitTicks = Math.round((opts.portWaitSeconds ?? 10) * 50); // 20 ms each
  return `#!/bin/sh
# kata-ts guest init (written by kata-ts-image).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=linux

log() { echo "kata-ts-init: $*"; }

mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o nosuid,noexec,gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /dev/shm
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /tmp
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr

# Kernel modules, dependencies first (computed when the image was built).
load_modules() {
  while read -r module; do
    [ -n "$module" ] || continue
    insmod "$module" || log "insmod $module failed"
  done < "$1"
}
load_modules ${shellQuote(opts.moduleList)}

mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup || log "cannot mount cgroup2"
ip link set lo up || log "cannot bring up lo"

# What init itself takes from the kernel command line.
debug_console=
server_addr=
oci_runtime=
set -f # no globbing of the command line's words
for word in $(cat /proc/cmdline); do
  case "$word" in
    agent.debug_console|agent.debug_console=1|agent.debug_console=true|agent.debug_console=yes) debug_console=1 ;;
    agent.server_addr=*) server_addr=\${word#agent.server_addr=} ;;
    agent.oci_runtime=*) oci_runtime=\${word#agent.oci_runtime=} ;;
  esac
done
set +f

# /dev/virtio-ports/<name> links, as udev makes them. The host names a port
# shortly after the driver finds it, so wait for the agent's port to be named.
link_virtio_ports() {
  mkdir -p /dev/virtio-ports
  for port in /sys/class/virtio-ports/vport*; do
    [ -r "$port/name" ] || continue
    name=$(cat "$port/name")
    [ -n "$name" ] && ln -sfn "../\${port##*/}" "/dev/virtio-ports/$name"
  done
}
link_virtio_ports
case "$server_addr" in
  serial:///dev/virtio-ports/*)
    want=\${server_addr#serial:///dev/virtio-ports/}
    tick=0
    while [ ! -e "/dev/virtio-ports/$want" ] && [ "$tick" -lt ${waitTicks} ]; do
      sleep 0.02
      tick=$((tick + 1))
      link_virtio_ports
    done
    [ -e "/dev/virtio-ports/$want" ] || log "virtio-serial port $want did not appear"
    ;;
esac

${opts.lateModuleList === undefined ? '' : `# The other modules: the agent loads them once it is listening.\nexport KATA_TS_LATE_MODULES=${shellQuote(opts.lateModuleList)}\n`}
# Blocking reads of vsock and virtio-serial descriptors each hold a libuv pool
# thread: the agent wants more than the default 4. Set here, before node
# starts, because node already uses the pool while it loads the loader module.
export UV_THREADPOOL_SIZE=${AGENT_THREADPOOL_SIZE}

${renderRunAgent(opts)}
set --${(opts.agentArgs ?? []).map((a) => ` ${shellQuote(a)}`).join('')}
[ -n "$oci_runtime" ] || set -- "$@" --oci-runtime ${shellQuote(opts.ociRuntime)}

if [ -n "$debug_console" ]; then
  log "agent.debug_console: agent in the background, shell on ttyS0 (exit it to power off)"
  run_agent "$@" &
  setsid sh -c 'exec sh </dev/ttyS0 >/dev/ttyS0 2>&1'
else
  run_agent "$@"
  log "agent exited with status $?; powering off"
fi
sync
poweroff -f
`;
}
