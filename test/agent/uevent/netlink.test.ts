// The real kernel uevent socket: creating a loop device makes the kernel
// announce a new block device, which must reach the monitor.
//
// We attach a file to a loop device number that does not exist yet
// (losetup creates it through /dev/loop-control), so the kernel sends
// "add@/devices/virtual/block/loopN". Cleanup detaches it and removes the
// device again (LOOP_CTL_REMOVE, through perl, which Debian always has),
// which must produce the matching "remove".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readDeviceNode } from '../../../src/agent/device/device-node.js';
import { VirtioBlkMmioMatcher } from '../../../src/agent/uevent/matchers.js';
import { UeventMonitor } from '../../../src/agent/uevent/monitor.js';
import type { Uevent } from '../../../src/agent/uevent/uevent.js';

const LOOP_MAJOR = 7;
const LOOP_CTL_REMOVE = 0x4c81;

const canRun = process.getuid?.() === 0 && existsSync('/dev/loop-control') && hasCommand('losetup') && hasCommand('perl');

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A loop device number nobody uses, high enough to stay clear of losetup -f. */
function unusedLoopNumber(): number {
  const taken = new Set(readdirSync('/sys/class/block'));
  for (;;) {
    const n = 200 + Math.floor(Math.random() * 700);
    if (!taken.has(`loop${n}`) && !existsSync(`/dev/loop${n}`)) return n;
  }
}

/** Removes loop device n; retries while the kernel is still releasing it. */
async function removeLoopDevice(n: number): Promise<void> {
  const script = `open(my $f, "+<", "/dev/loop-control") or die "$!\\n"; ioctl($f, ${LOOP_CTL_REMOVE}, ${n}) or die "$!\\n";`;
  for (let attempt = 0; ; attempt++) {
    try {
      execFileSync('perl', ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
      return;
    } catch (err) {
      const stderr = String((err as { stderr?: Buffer }).stderr ?? '');
      if (/No such device/.test(stderr)) return; // already gone
      if (attempt >= 100) throw err;
      await sleep(20); // detaching finishes asynchronously: try again
    }
  }
}

test(
  'a new loop device is announced on the uevent socket (add, then remove)',
  { skip: canRun ? false : 'needs root, /dev/loop-control, losetup and perl', timeout: 30_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kata-ts-uevent-'));
    const backing = join(dir, 'disk.img');
    await writeFile(backing, Buffer.alloc(1024 * 1024));
    const n = unusedLoopNumber();
    const name = `loop${n}`;
    const devpath = `/devices/virtual/block/${name}`;
    const monitor = new UeventMonitor();
    let attached = false;
    let created = false;
    try {
      monitor.startNetlink();
      assert.equal(monitor.listening, true);
      const removed = new Promise<Uevent>((resolve) => {
        monitor.onEvent((e) => {
          if (e.action === 'remove' && e.devpath === devpath) resolve(e);
        });
      });

      created = true;
      execFileSync('losetup', [`/dev/${name}`, backing]);
      attached = true;

      const matcher = new VirtioBlkMmioMatcher(name); // "a block device called loopN"
      const added = await monitor.waitFor(matcher, 10_000, `loop device ${name}`);
      assert.equal(added.action, 'add');
      assert.equal(added.devpath, devpath);
      assert.equal(added.subsystem, 'block');
      assert.equal(added.devname, name);
      assert.equal(added.env.MAJOR, String(LOOP_MAJOR));
      assert.equal(added.env.MINOR, String(n));
      assert.match(added.seqnum, /^\d+$/);
      // The node devtmpfs made for it has the numbers the event announced.
      assert.deepEqual(await readDeviceNode(`/dev/${name}`), { type: 'b', major: LOOP_MAJOR, minor: n });

      execFileSync('losetup', ['-d', `/dev/${name}`]);
      attached = false;
      await removeLoopDevice(n);
      created = false;
      const gone = await removed;
      assert.equal(gone.subsystem, 'block');
      assert.equal(monitor.find(matcher), undefined, 'a removed device is forgotten');
    } finally {
      monitor.close();
      assert.equal(monitor.listening, false);
      if (attached) execFileSync('losetup', ['-d', `/dev/${name}`], { stdio: 'ignore' });
      if (created) await removeLoopDevice(n);
      await rm(dir, { recursive: true, force: true });
    }
  },
);
