// The agent bundle, run on this host from a directory laid out as in the
// guest (/opt/kata-ts): it serves Health and reports the checkout's version,
// and bundled modules find package.json and the native addon where the image
// puts them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import {
  buildStartupSnapshot,
  bundleAgent,
  codeCacheFileOf,
  NATIVE_ADDON,
  scriptFileOf,
  snapshotBuildArgs,
  snapshotFileOf,
  snapshotRunArgs,
  writeCodeCache,
} from '../../src/image/agent-bundle.js';
import { SNAPSHOT_REFUSED_STATUS } from '../../src/image/init-script.js';
import { repoRoot } from '../../src/image/paths.js';
import { Client, connect, createClient } from '../../src/ttrpc/index.js';
import { Health, HealthCheckResponse_ServingStatus } from '../../src/protocols/gen/health_pb.js';
import { AgentService } from '../../src/protocols/gen/agent_pb.js';
import { start, stop, waitForPath } from '../helpers/processes.js';

const ROOT = repoRoot();
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** A temporary /opt/kata-ts: package.json, and the addon unless told otherwise. */
function guestDir(withAddon: boolean): { base: string; dir: string } {
  const base = mkdtempSync(join(tmpdir(), 'kata-bundle-'));
  const dir = join(base, 'opt', 'kata-ts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'kata-ts', version: VERSION }));
  if (withAddon) {
    mkdirSync(dirname(join(dir, NATIVE_ADDON)), { recursive: true });
    copyFileSync(join(ROOT, NATIVE_ADDON), join(dir, NATIVE_ADDON));
  }
  return { base, dir };
}

describe('agent bundle', () => {
  test('a loader and one script that serve Health and GetGuestDetails with the checkout version, with and without a code cache', async () => {
    const { base, dir } = guestDir(true);
    const bundleFile = join(dir, 'agent.mjs');
    try {
      const bundle = await bundleAgent(ROOT, bundleFile);
      assert.ok(bundle.inputs.includes('src/agent/main.ts'));
      assert.ok(bundle.inputs.includes('src/image/agent-entry.ts'));
      assert.ok(bundle.inputs.some((p) => p.startsWith('node_modules/pino/')), 'pino is bundled in');
      for (const name of ['pino', 'prom-client', 'commander', 'zod', '@bufbuild/protobuf']) {
        assert.ok(bundle.npmPackages.some((p) => p.name === name), `${name} listed with its version`);
      }
      assert.equal(bundle.bytes, readFileSync(scriptFileOf(bundleFile)).length);
      await serves([bundleFile], base, 'no cache');

      await writeCodeCache(bundleFile, process.execPath);
      assert.ok(statSync(codeCacheFileOf(bundleFile)).size > 0, 'code cache written');
      await serves([bundleFile], base, 'with the cache');

      // A cache V8 rejects (another node, or damaged) only costs time.
      writeFileSync(codeCacheFileOf(bundleFile), 'not a code cache');
      await serves([bundleFile], base, 'with a bad cache');
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  test('a startup snapshot of the script (made with this node, on this CPU) serves the same; node refuses one made with other V8 flags', async () => {
    const { base, dir } = guestDir(true);
    const bundleFile = join(dir, 'agent.mjs');
    try {
      await bundleAgent(ROOT, bundleFile);
      const blob = await buildStartupSnapshot(bundleFile, process.execPath);
      assert.equal(blob, snapshotFileOf(bundleFile));
      await serves(snapshotRunArgs(blob, []), base, 'from the snapshot');
      // Arguments reach the agent's command line (commander prints the version and exits).
      const version = spawnSync(process.execPath, snapshotRunArgs(blob, ['--version']), { encoding: 'utf8' });
      assert.equal(version.status, 0, version.stderr);
      assert.equal(version.stdout.trim(), VERSION);

      // Another V8 flag at build time: node refuses the snapshot before running anything (what /init relies on).
      const other = join(dir, 'other.blob');
      const made = spawnSync(process.execPath, ['--no-enable-avx', ...snapshotBuildArgs(scriptFileOf(bundleFile), other)], { cwd: dir, encoding: 'utf8' });
      assert.equal(made.status, 0, made.stderr);
      const refused = spawnSync(process.execPath, snapshotRunArgs(other, ['--version']), { encoding: 'utf8' });
      assert.equal(refused.status, SNAPSHOT_REFUSED_STATUS, refused.stderr);
      assert.equal(refused.stdout, '');
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  /** Runs node with `args` and the agent's own flags; checks it serves, reports the version, and exits 0 on SIGTERM. */
  async function serves(args: string[], base: string, what: string): Promise<void> {
    const sock = join(base, 'agent.sock');
    {
      const agent = start(process.execPath, [...args, '--server-addr', `unix://${sock}`, '--state-dir', join(base, 'state'), '--no-kernel-cmdline']);
      try {
        await waitForPath(sock);
        const client = new Client(await connect(`unix://${sock}`, { timeoutMs: 10_000 }));
        try {
          assert.equal((await createClient(client, Health).check({})).status, HealthCheckResponse_ServingStatus.SERVING);
          const details = await createClient(client, AgentService).getGuestDetails({});
          assert.equal(details.agentDetails?.version, VERSION, 'version read from the package.json next to the bundle');
        } finally {
          await client.close();
        }
        const [code] = await stop(agent.child, 'SIGTERM');
        assert.equal(code, 0, `${what}: ${agent.output()}`);
      } finally {
        await stop(agent.child, 'SIGKILL');
      }
    }
  }

  test('bundled modules find the addon and package.json below the bundle directory', async () => {
    for (const withAddon of [true, false]) {
      const { base, dir } = guestDir(withAddon);
      try {
        const probe = join(dir, 'probe.mjs');
        await bundleAgent(ROOT, probe, 'test/image/fixtures/addon-probe.ts');
        const res = spawnSync(process.execPath, [probe], { encoding: 'utf8' });
        assert.equal(res.status, 0, res.stderr);
        const out = JSON.parse(res.stdout) as { version: string; addon: string[] | string; url: string };
        assert.equal(out.version, VERSION);
        assert.equal(out.url, pathToFileURL(join(dir, 'test/image/fixtures/addon-probe.ts')).href, "a module's URL is its place under the bundle directory");
        if (withAddon) {
          assert.ok(Array.isArray(out.addon) && out.addon.length > 0, `addon loaded: ${JSON.stringify(out.addon)}`);
        } else {
          assert.match(String(out.addon), /native\/build\/Release\/kata_native\.node could not be loaded/);
        }
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    }
  });
});
