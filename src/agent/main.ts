// `kata-ts-agent`: the guest agent's command line.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { ConfigError, LOG_LEVELS, resolveConfig } from './config.js';
import { setGuestAgent } from './sandbox/namespaces.js';
import { startAgent } from './agent-server.js';
import { createLogger } from '../common/logger.js';
import { KATA_TS_VERSION } from '../common/version.js';

export interface Flags {
  serverAddr?: string;
  logLevel?: string;
  hotplugTimeout?: string;
  ociRuntime?: string;
  stateDir?: string;
  netns?: string;
  guest?: boolean;
  kernelCmdline: string | false;
}

function readKernelCmdline(path: string | false): string | undefined {
  if (path === false) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // not Linux, or /proc not mounted yet
  }
}

/** The agent's command line. */
function agentProgram(): Command {
  return new Command('kata-ts-agent')
    .description('Kata Containers guest agent: serves grpc.AgentService and grpc.Health over ttRPC')
    .version(KATA_TS_VERSION)
    .option('--server-addr <uri>', 'listen address: unix:///path, unix://@name, vsock://-1:1024, serial:///dev/virtio-ports/agent.channel.0 (env KATA_AGENT_SERVER_ADDR, kernel agent.server_addr)')
    .addOption(new Option('--log-level <level>', 'log level (kernel agent.log)').choices([...LOG_LEVELS, 'warning']))
    .option('--hotplug-timeout <duration>', 'how long to wait for hot-plugged devices, e.g. 3s (kernel agent.hotplug_timeout)')
    .option('--oci-runtime <name|path>', 'OCI runtime binary (kernel agent.oci_runtime)')
    .option('--state-dir <dir>', 'state directory (default /run/kata-containers)')
    .option('--netns <name>', 'network namespace the network RPCs act on (host mode; default: the agent\'s own)')
    .option('--guest', 'this is the guest\'s agent (started by the image\'s init): it sets the machine\'s hostname, DNS and clock')
    .option('--kernel-cmdline <file>', 'where to read agent.* parameters from', '/proc/cmdline')
    .option('--no-kernel-cmdline', 'ignore the kernel command line')
    .showHelpAfterError();
}

/**
 * The flags in `argv` (node, script, arguments...). A bad argument, --help or
 * --version print and exit, as commander does.
 */
export function parseAgentArgs(argv: readonly string[]): Flags {
  return agentProgram().parse([...argv]).opts<Flags>();
}

export async function main(argv: string[]): Promise<void> {
  const flags = parseAgentArgs(argv);
  setGuestAgent(flags.guest === true);

  let config;
  try {
    config = resolveConfig({
      flags: {
        serverAddr: flags.serverAddr,
        logLevel: flags.logLevel,
        hotplugTimeout: flags.hotplugTimeout,
        ociRuntime: flags.ociRuntime,
        stateDir: flags.stateDir,
        netns: flags.netns,
      },
      env: process.env,
      kernelCmdline: readKernelCmdline(flags.kernelCmdline),
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kata-ts-agent: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }

  const logger = createLogger('kata-ts-agent', config.logLevel);
  logger.debug({ config }, 'configuration');
  let agent;
  try {
    agent = await startAgent(config, logger, { lateModules: process.env.KATA_TS_LATE_MODULES });
  } catch (err) {
    logger.fatal({ err, address: config.serverAddr }, 'cannot listen');
    process.exitCode = 1;
    return;
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    void agent.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
