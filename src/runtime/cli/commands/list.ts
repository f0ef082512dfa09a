// `list [--format table|json] [--quiet]`: the containers under --root.
import type { Command } from 'commander';
import { readdir } from 'node:fs/promises';
import { VM_DIRS } from '../../monitor/layout.js';
import { loadContainer, ociState, type Container } from '../containers.js';
import { CliError, type Context } from '../context.js';
import type { CommandRunner } from './types.js';

async function allContainers(ctx: Context): Promise<Container[]> {
  let names: string[];
  try {
    names = await readdir(ctx.opts.root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const found: Container[] = [];
  for (const name of names.sort()) {
    if (name === VM_DIRS || name.startsWith('.')) continue;
    // A directory without a readable state is not (or no longer) a container.
    const c = await loadContainer(ctx, name).catch(() => undefined);
    if (c) found.push(c);
  }
  return found;
}

export function register(program: Command, run: CommandRunner): void {
  program
    .command('list')
    .alias('ls')
    .description('list containers')
    .option('-f, --format <format>', 'table or json', 'table')
    .option('-q, --quiet', 'only the ids')
    .action((o: { format: string; quiet?: boolean }) =>
      run(async (ctx) => {
        if (o.format !== 'table' && o.format !== 'json') throw new CliError(`invalid format option ${JSON.stringify(o.format)}`);
        const containers = await allContainers(ctx);
        if (o.quiet) {
          process.stdout.write(containers.map((c) => `${c.id}\n`).join(''));
          return;
        }
        const docs = containers.map((c) => {
          const s = ociState(c);
          return { ...s, pid: s.pid ?? 0, rootfs: c.state.rootfs };
        });
        if (o.format === 'json') {
          process.stdout.write(`${JSON.stringify(docs)}\n`);
          return;
        }
        const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...docs.map((d) => [d.id, String(d.pid), d.status, d.bundle, d.created, d.owner])];
        const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
        process.stdout.write(rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join('').trimEnd() + '\n').join(''));
      }),
    );
}
