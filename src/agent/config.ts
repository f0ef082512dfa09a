// Agent configuration: where it listens, how much it logs, and the few knobs
// the host runtime passes on the guest kernel command line.
//
// Precedence, highest first: command-line flags, environment
// (KATA_AGENT_SERVER_ADDR, as upstream), kernel command line (`agent.*`
// parameters, read when running as the VM's agent), built-in defaults.

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

export interface AgentConfig {
  /** ttRPC listen address: unix:///path, unix://@name, vsock://CID:PORT, serial:///dev/... */
  serverAddr: string;
  logLevel: LogLevel;
  /** How long to wait for a hot-plugged device to appear, in milliseconds. */
  hotplugTimeoutMs: number;
  /** OCI runtime binary (name on PATH or absolute path). */
  ociRuntime: string;
  /** Where the agent keeps bundles and shared mounts. */
  stateDir: string;
  /**
   * Network namespace (a name under /run/netns) the network RPCs act on.
   * Empty: the agent's own, which is right in a VM; on a host ("host mode")
   * give one so that UpdateInterface/UpdateRoutes cannot touch the host's.
   */
  netns: string;
}

/** In a VM the agent listens on vsock port 1024 on any CID, as Kata does. */
export const DEFAULT_SERVER_ADDR = 'vsock://-1:1024';

export const DEFAULTS: AgentConfig = {
  serverAddr: DEFAULT_SERVER_ADDR,
  logLevel: 'info',
  hotplugTimeoutMs: 3000,
  ociRuntime: 'crun',
  stateDir: '/run/kata-containers',
  netns: '',
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The `agent.*` parameters found on a kernel command line, keyed without the prefix. */
export function parseKernelCmdline(cmdline: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const word of cmdline.trim().split(/\s+/)) {
    if (!word.startsWith('agent.')) continue;
    const eq = word.indexOf('=');
    const key = (eq < 0 ? word : word.slice(0, eq)).slice('agent.'.length);
    params.set(key, eq < 0 ? '' : word.slice(eq + 1));
  }
  return params;
}

/**
 * Parses a duration as the kernel command line carries it: a bare number is
 * seconds (upstream's `agent.hotplug_timeout=3`); `ms`, `s`, `m` suffixes are
 * accepted too.
 */
export function parseDurationMs(text: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new ConfigError(`${field}: invalid duration ${JSON.stringify(text)}`);
  const value = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000;
  return Math.round(value * factor);
}

export function parseLogLevel(text: string, field: string): LogLevel {
  const level = text.toLowerCase() === 'warning' ? 'warn' : text.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`${field}: unknown log level ${JSON.stringify(text)} (expected one of ${LOG_LEVELS.join(', ')})`);
  }
  return level as LogLevel;
}

export interface ConfigSources {
  flags: Partial<Record<'serverAddr' | 'logLevel' | 'hotplugTimeout' | 'ociRuntime' | 'stateDir' | 'netns', string>>;
  env: NodeJS.ProcessEnv;
  /** Contents of the kernel command line, or undefined when not running in a VM. */
  kernelCmdline?: string;
}

export function resolveConfig(src: ConfigSources): AgentConfig {
  const cfg: AgentConfig = { ...DEFAULTS };
  const kernel = src.kernelCmdline !== undefined ? parseKernelCmdline(src.kernelCmdline) : new Map<string, string>();

  const fromKernel = (key: string) => kernel.get(key);
  const serverAddr = src.flags.serverAddr ?? src.env.KATA_AGENT_SERVER_ADDR ?? fromKernel('server_addr');
  if (serverAddr !== undefined) cfg.serverAddr = serverAddr;

  const level = src.flags.logLevel ?? fromKernel('log');
  if (level !== undefined) cfg.logLevel = parseLogLevel(level, src.flags.logLevel !== undefined ? '--log-level' : 'agent.log');

  const hotplug = src.flags.hotplugTimeout ?? fromKernel('hotplug_timeout');
  if (hotplug !== undefined) {
    cfg.hotplugTimeoutMs = parseDurationMs(hotplug, src.flags.hotplugTimeout !== undefined ? '--hotplug-timeout' : 'agent.hotplug_timeout');
  }

  const runtime = src.flags.ociRuntime ?? fromKernel('oci_runtime');
  if (runtime !== undefined) cfg.ociRuntime = runtime;

  if (src.flags.stateDir !== undefined) cfg.stateDir = src.flags.stateDir;
  if (src.flags.netns !== undefined) cfg.netns = src.flags.netns;
  return cfg;
}
