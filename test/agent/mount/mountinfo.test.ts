import { test } from 'node:test';
import assert from 'node:assert/strict';

import { mountsAt, parseMountInfo, readMountInfo, unescapeMountInfoField } from '../../../src/agent/mount/mountinfo.js';

const SAMPLE = [
  '22 27 0:21 / /proc rw,relatime shared:5 - proc proc rw',
  '36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
  '40 27 0:40 / /run/with\\040space rw,nosuid,nodev - tmpfs tmp\\011fs rw,size=1024k,mode=755',
  '41 27 0:41 / /run/with\\040space ro - overlay overlay ro,lowerdir=/a:/b',
  '',
].join('\n');

test('parses every field, optional fields and escapes', () => {
  const [proc, ext3, tmpfs] = parseMountInfo(SAMPLE);
  assert.deepEqual(proc, {
    mountId: 22,
    parentId: 27,
    device: '0:21',
    root: '/',
    mountPoint: '/proc',
    mountOptions: ['rw', 'relatime'],
    optionalFields: ['shared:5'],
    fstype: 'proc',
    source: 'proc',
    superOptions: ['rw'],
  });
  assert.equal(ext3!.root, '/mnt1');
  assert.deepEqual(ext3!.optionalFields, ['master:1']);
  assert.deepEqual(ext3!.superOptions, ['rw', 'errors=continue']);
  assert.equal(tmpfs!.mountPoint, '/run/with space');
  assert.equal(tmpfs!.source, 'tmp\tfs');
  assert.deepEqual(tmpfs!.optionalFields, []);
});

test('mountsAt lists stacked mounts, topmost last', () => {
  const at = mountsAt(parseMountInfo(SAMPLE), '/run/with space');
  assert.deepEqual(at.map((e) => e.fstype), ['tmpfs', 'overlay']);
});

test('escapes: backslash and newline', () => {
  assert.equal(unescapeMountInfoField('a\\134b\\012c'), 'a\\b\nc');
});

test('a malformed line is an error, not a silent skip', () => {
  assert.throws(() => parseMountInfo('1 2 3'), /malformed mountinfo line/);
});

test('this process sees / mounted', async () => {
  const entries = await readMountInfo();
  assert.ok(entries.some((e) => e.mountPoint === '/'));
});
