// The commands that describe rather than run: `spec` (a template
// config.json), `features` (what kata-ts supports, as JSON), `check` (what
// this host offers, with a verdict) and `env` (the effective configuration
// and versions, as JSON).
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { runChecks, formatCheckReport } from '../../oci/check.js';
import { collectEnv } from '../../oci/env.js';
import { featuresDocument, formatFeatures } from '../../oci/features.js';
import { readImageFacts } from '../../oci/image-facts.js';
import { defaultSpec, SpecFileExistsError, writeSpecFile } from '../../oci/spec-template.js';
import { CliError, type Context } from '../context.js';
import type { CommandRunner } from './types.js';

async function config(ctx: Context) {
  return loadConfig(ctx.opts.config).catch((err: unknown) => {
    throw new CliError((err as Error).message);
  });
}

export function register(program: Command, run: CommandRunner): void {
  program
    .command('spec')
    .description('write a template config.json into the bundle directory')
    .option('-b, --bundle <dir>', 'bundle directory', '.')
    .option('--rootless', 'a template for a rootless container')
    .action((o: { bundle: string; rootless?: boolean }) =>
      run(async () => {
        try {
          await writeSpecFile(o.bundle, defaultSpec({ rootless: o.rootless === true }));
        } catch (err) {
          if (err instanceof SpecFileExistsError) throw new CliError(err.message);
          throw err;
        }
      }),
    );

  program
    .command('features')
    .description('print what this runtime supports (JSON)')
    .action(() =>
      run(async (ctx) => {
        const image = await config(ctx)
          .then((c) => readImageFacts(c))
          .catch(() => undefined);
        process.stdout.write(formatFeatures(featuresDocument(image)));
      }),
    );

  program
    .command('check')
    .description('check whether this host can run kata-ts VMs')
    .option('--json', 'print the report as JSON')
    .action((o: { json?: boolean }) =>
      run(async (ctx) => {
        const report = await runChecks(await config(ctx));
        process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatCheckReport(report));
        return report.exitCode;
      }),
    );

  program
    .command('env')
    .description('print the effective configuration and versions (JSON)')
    .action(() =>
      run(async (ctx) => {
        process.stdout.write(`${JSON.stringify(await collectEnv(await config(ctx)), null, 2)}\n`);
      }),
    );
}
