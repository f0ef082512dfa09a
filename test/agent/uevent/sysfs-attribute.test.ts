// Writing sysfs attributes: never creates files (upstream test_online_device).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onlineDevice, writeSysfsAttribute } from '../../../src/agent/uevent/sysfs-attribute.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kata-ts-sysattr-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('onlineDevice writes "1" to the online file', async () => {
  const online = join(dir, 'online');
  await writeFile(online, '0');
  await onlineDevice(online);
  assert.equal(await readFile(online, 'utf8'), '1');
});

test('a missing attribute is an error and is not created', async () => {
  const missing = join(dir, 'memory99', 'online');
  await assert.rejects(onlineDevice(missing), { code: 'ENOENT' });
  const alsoMissing = join(dir, 'scan');
  await assert.rejects(writeSysfsAttribute(alsoMissing, '0 1 2'), { code: 'ENOENT' });
  await assert.rejects(access(alsoMissing), { code: 'ENOENT' });
});
