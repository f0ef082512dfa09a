// kata-ts-runtime against runc, side by side, on the same busybox bundle.
//
//   node --import tsx bench/runtime/run.ts [--rounds 3] [--exec-rounds 10] [--json]
//
// Needs root, runc, busybox-static, QEMU, the guest image
// (`bin/kata-ts-image build`) and the compiled runtime (`npm run build`).
//
//   run         `run --bundle B id` of /bin/true, start to exit, timed whole;
//               for kata-ts-runtime also in steps, from separate commands:
//               create (the VM boots: QEMU, kernel, agent, CreateContainer),
//               start + the process's exit (polled with `state`), delete
//               (the VM stops). runc's steps are timed the same way.
//   exec        `exec id /bin/true` into a running `sleep` container.
//   state       `state id` of that container: the command line's own cost
//               (process start-up, reading the state), no VM involved.
// Rounds alternate which runtime goes first; the tables show medians.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { busyboxSpec, createBusyboxRootfs } from '../../test/helpers/busybox-rootfs.js';
import { binPath } from '../../test/helpers/processes.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'exec-rounds': { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const EXEC_ROUNDS = Number(values['exec-rounds']);

interface Runtime {
  name: string;
  command: string;
  root: string;
}

async function cmd(rt: Runtime, args: string[]): Promise<number> {
  const child = spawn(rt.command, ['--root', rt.root, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  const [code] = (await once(child, 'exit')) as [number | null];
  return code ?? -1;
}

async function must(rt: Runtime, args: string[]): Promise<void> {
  const code = await cmd(rt, args);
  if (code !== 0) throw new Error(`${rt.name} ${args.join(' ')}: exit status ${code}`);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function status(rt: Runtime, id: string): Promise<string> {
  const child = spawn(rt.command, ['--root', rt.root, 'state', id], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  await once(child, 'exit');
  return (JSON.parse(out) as { status: string }).status;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kata-ts-bench-runtime-'));
  const rootfs = await createBusyboxRootfs();
  const results: Record<string, Record<string, number[]>> = {};
  const record = (rt: string, what: string, ms: number) => ((results[rt] ??= {})[what] ??= []).push(ms);
  try {
    const bundle = async (name: string, args: string[]) => {
      const b = join(dir, name);
      await mkdir(b);
      await writeFile(join(b, 'config.json'), JSON.stringify(busyboxSpec({ rootfs: rootfs.rootfs, args })));
      return b;
    };
    const trueBundle = await bundle('true', ['/bin/true']);
    const sleepBundle = await bundle('sleep', ['sleep', '100000']);
    const runtimes: Runtime[] = [
      { name: 'runc', command: 'runc', root: join(dir, 'runc-root') },
      { name: 'kata-ts', command: binPath('kata-ts-runtime'), root: join(dir, 'kata-root') },
    ];

    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? runtimes : [...runtimes].reverse();
      for (const rt of order) {
        record(rt.name, 'run', await timed(() => must(rt, ['run', '--bundle', trueBundle, `r${round}`])));
        const id = `s${round}`;
        record(rt.name, 'create', await timed(() => must(rt, ['create', '--bundle', trueBundle, id])));
        record(
          rt.name,
          'start+exit',
          await timed(async () => {
            await must(rt, ['start', id]);
            while ((await status(rt, id)) !== 'stopped') await sleep(10);
          }),
        );
        record(rt.name, 'delete', await timed(() => must(rt, ['delete', id])));
        process.stderr.write(`round ${round + 1}/${ROUNDS} ${rt.name} done\n`);
      }
    }

    for (const rt of runtimes) await must(rt, ['run', '--detach', '--bundle', sleepBundle, 'x']);
    for (let i = 0; i < EXEC_ROUNDS; i++) {
      const order = i % 2 === 0 ? runtimes : [...runtimes].reverse();
      for (const rt of order) {
        record(rt.name, 'exec', await timed(() => must(rt, ['exec', 'x', '/bin/true'])));
        record(rt.name, 'state', await timed(() => must(rt, ['state', 'x'])));
      }
    }
    for (const rt of runtimes) await must(rt, ['delete', '--force', 'x']);

    const rows = ['run', 'create', 'start+exit', 'delete', 'exec', 'state'].map((what) => {
      const k = median(results['kata-ts']![what]!);
      const r = median(results.runc![what]!);
      return { what, kataMs: k, runcMs: r, ratio: k / r };
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ rounds: ROUNDS, execRounds: EXEC_ROUNDS, rows }, null, 2)}\n`);
      return;
    }
    process.stdout.write(`medians of ${ROUNDS} rounds (exec: ${EXEC_ROUNDS}); ratio = kata-ts / runc\n`);
    process.stdout.write(`${'step'.padEnd(12)}${'kata-ts'.padStart(12)}${'runc'.padStart(12)}${'ratio'.padStart(10)}\n`);
    for (const r of rows) {
      process.stdout.write(`${r.what.padEnd(12)}${`${r.kataMs.toFixed(0)} ms`.padStart(12)}${`${r.runcMs.toFixed(1)} ms`.padStart(12)}${`${r.ratio.toFixed(1)}x`.padStart(10)}\n`);
    }
  } finally {
    await rootfs.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
