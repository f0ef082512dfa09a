// Whether the agent may change machine-wide settings: on a host (these
// tests, not pid 1, in init's namespaces) it may not, unless declared the
// guest's own agent (--guest, as the guest image's init starts it).
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { ownsMachine, ownsNamespace, setGuestAgent } from '../../../src/agent/sandbox/namespaces.js';

afterEach(() => setGuestAgent(false));

test('in host mode the agent owns neither the machine nor init\'s namespaces', async () => {
  assert.equal(ownsMachine(), false);
  assert.equal(await ownsNamespace('uts'), false);
  assert.equal(await ownsNamespace('mnt'), false);
});

test('--guest: the machine and its namespaces are the agent\'s', async () => {
  setGuestAgent(true);
  assert.equal(ownsMachine(), true);
  assert.equal(await ownsNamespace('uts'), true);
});

test('namespaces of its own are the agent\'s even in host mode (a fake /proc with differing links)', async () => {
  const { mkdtemp, mkdir, symlink, rm } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const proc = await mkdtemp(join(tmpdir(), 'kata-ts-proc-'));
  try {
    await mkdir(join(proc, 'self', 'ns'), { recursive: true });
    await mkdir(join(proc, '1', 'ns'), { recursive: true });
    await symlink('uts:[4026531838]', join(proc, 'self', 'ns', 'uts'));
    await symlink('uts:[4026532999]', join(proc, '1', 'ns', 'uts'));
    assert.equal(await ownsNamespace('uts', proc), true);
  } finally {
    await rm(proc, { recursive: true, force: true });
  }
});
