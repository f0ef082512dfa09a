// Choosing the agent channel: virtio-serial when asked, vsock only when
// /dev/vhost-vsock can be opened, "auto" falling back with the reason. The
// device path is a parameter, so both cases run here whatever the host has:
// a missing path stands for a host without vhost-vsock, a file we may open
// read-write for one with it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseAgentChannel, probeVhostVsock, randomGuestCid, VHOST_VSOCK_DEVICE } from '../../../src/runtime/qemu/agent-channel.js';
import { VmStartError } from '../../../src/runtime/qemu/errors.js';

describe('agent channel', () => {
  let dir: string;
  let usable: string;
  let missing: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-channel-'));
    usable = join(dir, 'vhost-vsock');
    await writeFile(usable, '');
    missing = join(dir, 'absent');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('"virtio-serial" as configured, without looking at vhost-vsock', async () => {
    const d = await chooseAgentChannel('virtio-serial', { device: missing });
    assert.deepEqual(d, { channel: { kind: 'virtio-serial' }, reason: 'configured (agent.channel = "virtio-serial")' });
  });

  test('"auto" without vhost-vsock: virtio-serial, and the reason says what is missing', async () => {
    const d = await chooseAgentChannel('auto', { device: missing });
    assert.deepEqual(d.channel, { kind: 'virtio-serial' });
    assert.equal(d.reason, `vsock unavailable, using virtio-serial: ${missing} is not usable: ENOENT (the host has no vhost-vsock: load the vhost_vsock module)`);
  });

  test('"auto" with vhost-vsock: vsock with the configured CID, or a random one from 3', async () => {
    const fixed = await chooseAgentChannel('auto', { device: usable, guestCid: 77 });
    assert.deepEqual(fixed, { channel: { kind: 'vsock', guestCid: 77 }, reason: `${usable} works` });
    const picked = await chooseAgentChannel('auto', { device: usable });
    assert.equal(picked.channel.kind, 'vsock');
    const cid = (picked.channel as { guestCid: number }).guestCid;
    assert.ok(Number.isInteger(cid) && cid >= 3 && cid <= 0x7fff_ffff, String(cid));
  });

  test('"vsock" without vhost-vsock: an error that says why and what to set instead', async () => {
    await assert.rejects(chooseAgentChannel('vsock', { device: missing }), (err: unknown) => {
      assert.ok(err instanceof VmStartError, String(err));
      assert.equal(
        err.message,
        `agent.channel = "vsock" but ${missing} is not usable: ENOENT (the host has no vhost-vsock: load the vhost_vsock module); set agent.channel = "virtio-serial" or "auto"`,
      );
      return true;
    });
    const d = await chooseAgentChannel('vsock', { device: usable, guestCid: 5 });
    assert.deepEqual(d, { channel: { kind: 'vsock', guestCid: 5 }, reason: 'configured (agent.channel = "vsock")' });
  });

  test('a device we may not open is reported with its error code', async () => {
    // A directory cannot be opened for writing: EISDIR.
    assert.equal(await probeVhostVsock(dir), `${dir} is not usable: EISDIR`);
    assert.equal(await probeVhostVsock(usable), undefined);
  });

  test('random CIDs stay in 3..2^31-1 and differ', () => {
    const cids = new Set(Array.from({ length: 50 }, () => randomGuestCid()));
    for (const cid of cids) assert.ok(cid >= 3 && cid <= 0x7fff_ffff, String(cid));
    assert.ok(cids.size > 45, 'drawn at random');
  });

  test('on this host, the real device decides "auto"', { skip: existsSync(VHOST_VSOCK_DEVICE) ? 'this host has vhost-vsock' : false }, async () => {
    const d = await chooseAgentChannel('auto');
    assert.deepEqual(d.channel, { kind: 'virtio-serial' });
    assert.match(d.reason, /\/dev\/vhost-vsock is not usable: ENOENT/);
  });
});
