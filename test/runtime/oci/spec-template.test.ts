// The template against the installed runc's own: `runc spec` runs for real
// in a temporary directory, and the two files are compared field by field
// and byte by byte, the deliberate differences (spec-template.ts) aside.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSpec } from '../../../src/oci/spec.js';
import {
  SpecFileExistsError,
  TEMPLATE_HOSTNAME,
  defaultSpec,
  specFileText,
  writeSpecFile,
} from '../../../src/runtime/oci/spec-template.js';

const runcMissing = spawnSync('runc', ['--version']).status === 0 ? undefined : 'runc is not installed';

/** Runs `runc spec [args]` in `dir`; returns the status and runc's stderr. */
function runcSpec(dir: string, args: string[] = []): { status: number | null; stderr: string } {
  const res = spawnSync('runc', ['spec', ...args], { cwd: dir, encoding: 'utf8' });
  return { status: res.status, stderr: res.stderr };
}

/** runc's template with our deliberate differences applied. */
function expectedFrom(runcText: string): unknown {
  const runc = JSON.parse(runcText) as Record<string, unknown>;
  assert.equal(runc.hostname, 'runc');
  runc.hostname = TEMPLATE_HOSTNAME;
  return runc;
}

describe('the spec template', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-spec-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('it is a valid spec by our own validation', () => {
    parseSpec(defaultSpec());
    parseSpec(defaultSpec({ rootless: true }));
  });

  test('it matches runc spec field by field and byte by byte (hostname aside)', { skip: runcMissing }, async () => {
    const d = join(dir, 'runc-plain');
    await mkdir(d);
    assert.equal(runcSpec(d).status, 0);
    const runcText = await readFile(join(d, 'config.json'), 'utf8');
    const ours = defaultSpec();
    // Field by field first, so a difference is reported where it is.
    const expected = expectedFrom(runcText) as Record<string, unknown>;
    for (const key of new Set([...Object.keys(expected), ...Object.keys(ours)])) {
      assert.deepEqual((ours as Record<string, unknown>)[key], expected[key], `field ${key}`);
    }
    // Then the text: same key order, same indentation, no final newline.
    assert.equal(specFileText(ours), runcText.replace('"hostname": "runc"', `"hostname": "${TEMPLATE_HOSTNAME}"`));
  });

  test('the rootless variant matches runc spec --rootless', { skip: runcMissing }, async () => {
    const d = join(dir, 'runc-rootless');
    await mkdir(d);
    assert.equal(runcSpec(d, ['--rootless']).status, 0);
    const runcText = await readFile(join(d, 'config.json'), 'utf8');
    // runc maps root to the calling user, as our default does.
    assert.deepEqual(defaultSpec({ rootless: true }), expectedFrom(runcText));
    assert.equal(specFileText(defaultSpec({ rootless: true })), runcText.replace('"hostname": "runc"', `"hostname": "${TEMPLATE_HOSTNAME}"`));
  });

  test('rootless maps root to the given ids', () => {
    const spec = defaultSpec({ rootless: true, uid: 1000, gid: 1001 });
    assert.deepEqual(spec.linux?.uidMappings, [{ containerID: 0, hostID: 1000, size: 1 }]);
    assert.deepEqual(spec.linux?.gidMappings, [{ containerID: 0, hostID: 1001, size: 1 }]);
    assert.ok(!spec.linux?.namespaces?.some((n) => n.type === 'network'));
  });

  test('each call gives a fresh object', () => {
    const a = defaultSpec();
    a.process!.capabilities!.bounding!.push('CAP_SYS_ADMIN');
    assert.deepEqual(defaultSpec().process!.capabilities!.bounding, ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']);
  });

  test('writing: the file as runc writes it (content and mode), and never over an existing one', { skip: runcMissing }, async () => {
    const ours = join(dir, 'ours');
    const theirs = join(dir, 'theirs');
    await mkdir(ours);
    await mkdir(theirs);
    const path = await writeSpecFile(ours, defaultSpec());
    assert.equal(path, join(ours, 'config.json'));
    assert.equal(await readFile(path, 'utf8'), specFileText(defaultSpec()));
    assert.equal(runcSpec(theirs).status, 0);
    assert.equal((await stat(path)).mode & 0o777, (await stat(join(theirs, 'config.json'))).mode & 0o777);

    // A second time: refused, with runc's words, and the file is untouched.
    await writeFile(path, 'precious');
    await assert.rejects(writeSpecFile(ours, defaultSpec()), (err: unknown) => {
      assert.ok(err instanceof SpecFileExistsError);
      assert.equal(err.path, path);
      const again = runcSpec(theirs);
      assert.equal(again.status, 1);
      assert.match(again.stderr, new RegExp(`msg="${err.message.replace(/\./g, '\\.')}"`));
      return true;
    });
    assert.equal(await readFile(path, 'utf8'), 'precious');
  });

  test('writing into a missing directory says which file could not be created', async () => {
    const missing = join(dir, 'no-such-bundle');
    await assert.rejects(writeSpecFile(missing, defaultSpec()), {
      message: new RegExp(`^cannot create ${missing}/config\\.json: ENOENT`),
    });
  });
});
