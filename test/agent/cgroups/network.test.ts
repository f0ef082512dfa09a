import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { join } from 'node:path';
import { CgroupError, networkStats, parseNetDev } from '../../../src/agent/cgroups/index.js';
import { makeFakeTree, removeFakeTree } from './helpers.js';

const SAMPLE = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0
  eth0:18446744073709551615 4547 1 2 3 4 5 6 256837 2679 7 8 9 10 11 12
`;

describe('/proc/net/dev', () => {
  let root: string | undefined;
  after(async () => removeFakeTree(root));

  test('parseNetDev reads all sixteen columns as uint64, even without a space after the colon', () => {
    const devs = parseNetDev(SAMPLE);
    assert.deepEqual(devs.map((d) => d.name), ['lo', 'eth0']);
    const eth0 = devs[1]!;
    assert.equal(eth0.rxBytes, 2n ** 64n - 1n);
    assert.deepEqual(
      [eth0.rxPackets, eth0.rxErrors, eth0.rxDropped, eth0.rxFifo, eth0.rxFrame, eth0.rxCompressed, eth0.rxMulticast],
      [4547n, 1n, 2n, 3n, 4n, 5n, 6n],
    );
    assert.deepEqual(
      [eth0.txBytes, eth0.txPackets, eth0.txErrors, eth0.txDropped, eth0.txFifo, eth0.txColls, eth0.txCarrier, eth0.txCompressed],
      [256837n, 2679n, 7n, 8n, 9n, 10n, 11n, 12n],
    );
  });

  test('networkStats maps to the NetworkStats fields', async () => {
    root = await makeFakeTree({ 'net/dev': SAMPLE });
    const stats = await networkStats(join(root, 'net/dev'));
    assert.deepEqual(stats[1], {
      name: 'eth0',
      rxBytes: 2n ** 64n - 1n,
      rxPackets: 4547n,
      rxErrors: 1n,
      rxDropped: 2n,
      txBytes: 256837n,
      txPackets: 2679n,
      txErrors: 7n,
      txDropped: 8n,
    });
  });

  test('the real file lists the loopback interface', async () => {
    const stats = await networkStats();
    assert.ok(stats.some((s) => s.name === 'lo'));
  });

  test('an unreadable file is a CgroupError naming it', async () => {
    await assert.rejects(networkStats('/nonexistent/net/dev'), (err: unknown) => {
      assert.ok(err instanceof CgroupError);
      assert.match(err.message, /\/nonexistent\/net\/dev/);
      return true;
    });
  });
});
