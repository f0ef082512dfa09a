// `kata-ts-agent-ctl remap-spec` as a user runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binPath, run } from '../helpers/processes.js';

const CTL = binPath('kata-ts-agent-ctl');

// Host numbers chosen so that /dev/a's guest numbers are /dev/b's host numbers:
// a one-at-a-time rewrite would move /dev/a's read-only rule twice.
const SPEC = {
  ociVersion: '1.2.0',
  linux: {
    devices: [
      { path: '/dev/a', type: 'b', major: 7, minor: 1 },
      { path: '/dev/b', type: 'b', major: 7, minor: 2 },
    ],
    resources: {
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'b', major: 7, minor: 1, access: 'r' },
        { allow: true, type: 'b', major: 7, minor: 2, access: 'rw' },
      ],
    },
  },
};

test('remap-spec prints the rewritten config.json; --explain prints the table', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kata-remap-'));
  try {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(SPEC));
    const r = await run(CTL, ['remap-spec', '--spec', file, '--update', '/dev/a=b:7:2', '--update', '/dev/b=b:254:0']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as typeof SPEC;
    assert.deepEqual(out.linux.devices.map((d) => [d.path, d.major, d.minor]), [['/dev/a', 7, 2], ['/dev/b', 254, 0]]);
    assert.deepEqual(out.linux.resources.devices, [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'b', major: 7, minor: 2, access: 'r' },
      { allow: true, type: 'b', major: 254, minor: 0, access: 'rw' },
    ]);

    const e = await run(CTL, ['remap-spec', '--spec', file, '--update', '/dev/a=b:7:2', '--update', '/dev/b=b:254:0', '--explain']);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, /allow b 7:1 r\s+allow b 7:2 r\s+matched original \(b,7,1\) of device \/dev\/a/);

    // stdin works too
    const s = await run(CTL, ['remap-spec', '--spec', '-', '--update', '/dev/a=b:9:9'], { input: JSON.stringify(SPEC) });
    assert.equal(s.code, 0, s.stderr);
    assert.equal((JSON.parse(s.stdout) as typeof SPEC).linux.devices[0]!.major, 9);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('remap-spec errors: non-zero exit, message on stderr, nothing on stdout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kata-remap-'));
  try {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(SPEC));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{not json');
    const cases: Array<[string[], RegExp]> = [
      [['--spec', file, '--update', '/dev/zz=b:1:1'], /not in linux\.devices: \/dev\/zz/],
      [['--spec', file, '--update', '/dev/a=b:1:1', '--update', '/dev/a=b:1:2'], /\/dev\/a/],
      [['--spec', file, '--update', '/dev/a=q:1:1'], /TYPE "q"/],
      [['--spec', bad, '--update', '/dev/a=b:1:1'], /not valid JSON/],
      [['--spec', join(dir, 'absent.json')], /absent\.json/],
    ];
    for (const [args, re] of cases) {
      const r = await run(CTL, ['remap-spec', ...args]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
      assert.match(r.stderr, re, args.join(' '));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
