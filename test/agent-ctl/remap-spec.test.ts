// The remap-spec command's argument parsing and output.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUpdateArg, RemapSpecInputError, runRemapSpec } from '../../src/agent-ctl/remap-spec.js';
import { DeviceNotInSpecError } from '../../src/oci/devices/index.js';

describe('parseUpdateArg', () => {
  test('PATH=TYPE:MAJOR:MINOR and the @FINALPATH form', () => {
    assert.deepEqual(parseUpdateArg('/dev/vda=b:254:0'), { containerPath: '/dev/vda', type: 'b', major: 254, minor: 0 });
    assert.deepEqual(parseUpdateArg('/dev/vfio/12=c:241:0@/dev/vfio/0'), {
      containerPath: '/dev/vfio/12',
      type: 'c',
      major: 241,
      minor: 0,
      finalPath: '/dev/vfio/0',
    });
    assert.equal(parseUpdateArg('/dev/x=c:1:2@/dev/a@b').finalPath, '/dev/a@b', 'only the first @ splits');
  });

  test('each bad part gets its own message, quoting the argument', () => {
    const cases: [string, RegExp][] = [
      ['/dev/vda', /no "="/],
      ['dev/vda=b:1:2', /PATH "dev\/vda" is not an absolute path/],
      ['/dev/vda=b:1', /"b:1" is not TYPE:MAJOR:MINOR/],
      ['/dev/vda=b:1:2:3', /is not TYPE:MAJOR:MINOR/],
      ['/dev/vda=x:1:2', /TYPE "x" is not "b" or "c"/],
      ['/dev/vda=b:-1:2', /MAJOR "-1" is not a non-negative decimal integer/],
      ['/dev/vda=b:1:0x2', /MINOR "0x2"/],
      ['/dev/vda=b:1:', /MINOR ""/],
      ['/dev/vda=b:1:99999999999', /MINOR "99999999999"/],
      ['/dev/vda=b:1:2@rel', /FINALPATH "rel" is not an absolute path/],
    ];
    for (const [arg, re] of cases) {
      assert.throws(
        () => parseUpdateArg(arg),
        (e: unknown) => e instanceof RemapSpecInputError && re.test(e.message) && e.message.includes(JSON.stringify(arg)),
        arg,
      );
    }
  });
});

describe('runRemapSpec', () => {
  const specText = JSON.stringify({
    ociVersion: '1.0.2',
    process: { args: ['sh'] },
    linux: {
      devices: [{ path: '/dev/vda', type: 'b', major: 8, minor: 0, fileMode: 432 }],
      resources: { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 8, minor: 0, access: 'rw' }] },
    },
  });

  test('prints the rewritten config.json, pretty, other fields kept', () => {
    const out = runRemapSpec({ specText, updates: ['/dev/vda=b:254:0'], explain: false });
    assert.ok(out.endsWith('}\n'));
    assert.match(out, /^\{\n {2}"ociVersion": "1.0.2",/);
    const spec = JSON.parse(out);
    assert.deepEqual(spec.linux.devices, [{ path: '/dev/vda', type: 'b', major: 254, minor: 0, fileMode: 432 }]);
    assert.deepEqual(spec.linux.resources.devices[1], { allow: true, type: 'b', major: 254, minor: 0, access: 'rw' });
    assert.deepEqual(spec.process, { args: ['sh'] });
  });

  test('--explain prints the table', () => {
    const out = runRemapSpec({ specText, updates: ['/dev/vda=b:254:0'], explain: true });
    assert.match(out, /^WHAT/);
    assert.match(out, /device #0\s+b 8:0 \/dev\/vda\s+b 254:0 \/dev\/vda\s+matched by path/);
    assert.match(out, /rule #1\s+allow b 8:0 rw\s+allow b 254:0 rw\s+matched original \(b,8,0\) of device \/dev\/vda/);
  });

  test('errors: bad JSON, non-object, bad update, remapping errors', () => {
    assert.throws(() => runRemapSpec({ specText: '{', updates: [], explain: false }), /not valid JSON/);
    assert.throws(() => runRemapSpec({ specText: '[]', updates: [], explain: false }), /must be a JSON object/);
    assert.throws(() => runRemapSpec({ specText, updates: ['nope'], explain: false }), RemapSpecInputError);
    assert.throws(() => runRemapSpec({ specText, updates: ['/dev/vdb=b:1:1'], explain: true }), DeviceNotInSpecError);
  });

  test('no updates prints the spec unchanged', () => {
    assert.deepEqual(JSON.parse(runRemapSpec({ specText, updates: [], explain: false })), JSON.parse(specText));
  });
});
