// `kata-ts-runtime`: the host runtime's command line.
//
//   kata-ts-runtime run --bundle DIR [--config FILE] [--root DIR] ID
//
// Exit status: the container's exit status; 125 when the runtime itself
// failed (bad configuration or bundle, VM or agent failure), as podman and
// docker do; 128 + n when signal n ended the run before the container started.
import { Command } from 'commander';
import { createLogger } from '../../common/logger.js';
import { KATA_TS_VERSION } from '../../common/version.js';
import { constants as osConstants } from 'node:os';
import { RunCancelledError, runBundle } from './run.js';

export const RUNTIME_FAILURE_STATUS = 125;
export const DEFAULT_ROOT = '/run/kata-ts';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('kata-ts-runtime')
    .description('Runs OCI containers, each in its own lightweight VM (QEMU)')
    .version(KATA_TS_VERSION)
    .showHelpAfterError();

  program
    .command('run')
    .description('run the bundle in a new VM in the foreground; exits with the container\'s status')
    .argument('<id>', 'container (and sandbox) id')
    .requiredOption('-b, --bundle <dir>', 'OCI bundle directory (holds config.json)')
    .option('--config <file>', 'configuration file (default /etc/kata-ts/configuration.toml, if it exists)')
    .option('--root <dir>', 'directory for sandbox state', DEFAULT_ROOT)
    .option('--log-level <level>', 'log level on stderr: trace, debug, info, warn, error', 'warn')
    .action(async (id: string, o: { bundle: string; config?: string; root: string; logLevel: string }) => {
      const logger = createLogger('kata-ts-runtime', o.logLevel);
      try {
        process.exitCode = await runBundle({
          bundle: o.bundle,
          id,
          ...(o.config !== undefined ? { configPath: o.config } : {}),
          root: o.root,
          logger,
          stdin: process.stdin,
          stdout: process.stdout,
          stderr: process.stderr,
        });
      } catch (err) {
        if (err instanceof RunCancelledError) {
          process.exitCode = 128 + osConstants.signals[err.signal];
          return;
        }
        process.stderr.write(`kata-ts-runtime: ${(err as Error).message}\n`);
        logger.debug({ err }, 'run failed');
        process.exitCode = RUNTIME_FAILURE_STATUS;
      }
    });

  await program.parseAsync(argv);
}
