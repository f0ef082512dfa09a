// The explanation table: one row per device entry and rule, with the reason.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConflictingDeviceUpdateError,
  explainDeviceRemap,
  formatExplainTable,
  remapSpecDevices,
  type DeviceUpdate,
} from '../../../src/oci/devices/index.js';

const spec = {
  linux: {
    devices: [
      { path: '/dev/a', type: 'c', major: 1, minor: 3 },
      { path: '/dev/b', type: 'c', major: 1, minor: 5 },
      { path: '/dev/blk', type: 'b', major: 1, minor: 3 },
      { path: '/dev/vfio/12', type: 'c', major: 240, minor: 12 },
      { path: '/dev/keep', type: 'c', major: 4, minor: 4 },
    ],
    resources: {
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: null, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'r' },
        { allow: true, type: 'b', major: 1, minor: 3, access: 'rw' },
        { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
        { allow: true, type: 'c', major: 9, minor: 9 },
      ],
    },
  },
};
const updates: DeviceUpdate[] = [
  { containerPath: '/dev/a', type: 'c', major: 1, minor: 5 },
  { containerPath: '/dev/b', type: 'c', major: 1, minor: 7 },
  { containerPath: '/dev/vfio/12', type: 'c', major: 241, minor: 0, finalPath: '/dev/vfio/0' },
];

describe('explainDeviceRemap', () => {
  test('every entry and rule with before, after and why', () => {
    const rows = explainDeviceRemap(spec, updates);
    assert.deepEqual(
      rows.map((r) => [r.kind, r.index, r.before, r.after, r.reason]),
      [
        ['device', 0, 'c 1:3 /dev/a', 'c 1:5 /dev/a', 'matched by path'],
        ['device', 1, 'c 1:5 /dev/b', 'c 1:7 /dev/b', 'matched by path'],
        ['device', 2, 'b 1:3 /dev/blk', 'b 1:3 /dev/blk', 'untouched: no update for this path'],
        ['device', 3, 'c 240:12 /dev/vfio/12', 'c 241:0 /dev/vfio/0', 'matched by path'],
        ['device', 4, 'c 4:4 /dev/keep', 'c 4:4 /dev/keep', 'untouched: no update for this path'],
        ['rule', 0, 'deny a *:* rwm', 'deny a *:* rwm', 'untouched: type a'],
        ['rule', 1, 'allow c 1:* rwm', 'allow c 1:* rwm', 'untouched: wildcard'],
        ['rule', 2, 'allow c 1:3 r', 'allow c 1:5 r', 'matched original (c,1,3) of device /dev/a'],
        ['rule', 3, 'allow b 1:3 rw', 'allow b 1:3 rw', 'untouched: no updated device'],
        ['rule', 4, 'allow c 1:5 rwm', 'allow c 1:7 rwm', 'matched original (c,1,5) of device /dev/b'],
        ['rule', 5, 'allow c 9:9 -', 'allow c 9:9 -', 'untouched: no updated device'],
        ['appended rule', 6, '-', 'allow c 241:0 rwm', 'appended: no rule referenced device /dev/vfio/12'],
      ],
    );
  });

  test('agrees with what remapSpecDevices produces', () => {
    const out = remapSpecDevices(spec, updates);
    const rows = explainDeviceRemap(spec, updates);
    const deviceAfters = rows.filter((r) => r.kind === 'device').map((r) => r.after);
    assert.deepEqual(deviceAfters, out.linux.devices.map((d) => `${d.type} ${d.major}:${d.minor} ${d.path}`));
    assert.equal(rows.filter((r) => r.kind !== 'device').length, out.linux.resources.devices.length);
  });

  test('the table is aligned, with a header, one line per row', () => {
    const text = formatExplainTable(explainDeviceRemap(spec, updates));
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 1 + 12);
    assert.match(lines[0]!, /^WHAT\s+BEFORE\s+AFTER\s+WHY$/);
    const whyColumn = lines[0]!.indexOf('WHY');
    for (const line of lines.slice(1)) {
      assert.ok(line.length > whyColumn && line[whyColumn - 1] === ' ' && line[whyColumn] !== ' ', `aligned: ${line}`);
    }
    assert.match(text, /rule #2\s+allow c 1:3 r\s+allow c 1:5 r\s+matched original \(c,1,3\) of device \/dev\/a\n/);
  });

  test('throws what remapping throws', () => {
    assert.throws(
      () =>
        explainDeviceRemap(spec, [
          { containerPath: '/dev/a', type: 'c', major: 7, minor: 7 },
          { containerPath: '/dev/a', type: 'c', major: 7, minor: 7 },
        ]),
      /more than one device update for \/dev\/a/,
    );
    const twin = { linux: { devices: [{ path: '/x', type: 'c', major: 1, minor: 1 }, { path: '/y', type: 'c', major: 1, minor: 1 }] } };
    assert.throws(
      () =>
        explainDeviceRemap(twin, [
          { containerPath: '/x', type: 'c', major: 2, minor: 2 },
          { containerPath: '/y', type: 'c', major: 3, minor: 3 },
        ]),
      ConflictingDeviceUpdateError,
    );
  });
});
