// Cleaning up after a dead monitor: mounts under the VM directory are
// undone before anything is removed, so the files bound there survive.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountsBelow, removeVmLeftovers } from '../../../src/runtime/monitor/cleanup.js';

const root = process.getuid?.() === 0;

describe('VM leftovers cleanup', { skip: root ? false : 'needs root to mount' }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-cleanup-'));
  });
  after(async () => {
    for (const m of await mountsBelow(dir)) execFileSync('umount', ['-l', m]);
    await rm(dir, { recursive: true, force: true });
  });

  test('unmounts nested bind mounts deepest first, removes the directory and socket, keeps the bound files', async () => {
    const precious = join(dir, 'rootfs');
    await mkdir(precious);
    await writeFile(join(precious, 'keep-me'), 'data');
    const vmDir = join(dir, '.vm', 'abc');
    const shared = join(vmDir, 'shared');
    const target = join(shared, 'c1', 'rootfs');
    await mkdir(target, { recursive: true });
    execFileSync('mount', ['--bind', shared, shared]);
    execFileSync('mount', ['--bind', precious, target]);
    const socket = `${vmDir}.sock`;
    await writeFile(socket, '');
    assert.deepEqual(await mountsBelow(vmDir), [target, shared]);

    await removeVmLeftovers({ vmDir, taskSocket: socket });
    assert.deepEqual(await mountsBelow(dir), []);
    assert.equal(existsSync(vmDir), false);
    assert.equal(existsSync(socket), false);
    assert.equal(existsSync(join(dir, '.vm')), false, 'the empty parent goes too');
    assert.equal(await readFile(join(precious, 'keep-me'), 'utf8'), 'data');
  });
});
