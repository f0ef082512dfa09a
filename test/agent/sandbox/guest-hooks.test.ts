// Guest hooks: scanning a hook directory (temp dirs) and merging the hooks
// into container specs.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { appendGuestHooks, findGuestHooks, hasGuestHooks, validateGuestHookPath } from '../../../src/agent/sandbox/guest-hooks.js';
import { SandboxError } from '../../../src/agent/sandbox/errors.js';
import type { Spec } from '../../../src/oci/spec.js';

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'kata-hooks-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

async function script(path: string, mode: number): Promise<void> {
  await writeFile(path, '#!/bin/sh\nexit 0\n');
  await chmod(path, mode);
}

describe('guest hooks', () => {
  test('finds the executable regular files of each kind, sorted, with argv [name, kind]', async () => {
    const root = join(work, 'hooks');
    await mkdir(join(root, 'prestart'), { recursive: true });
    await mkdir(join(root, 'poststop'), { recursive: true });
    // no poststart directory at all
    await script(join(root, 'prestart', 'b-second'), 0o755);
    await script(join(root, 'prestart', 'a-first'), 0o700);
    await script(join(root, 'prestart', 'group-exec'), 0o610);
    await script(join(root, 'prestart', 'not-executable'), 0o644);
    await mkdir(join(root, 'prestart', 'a-directory'));
    await symlink(join(root, 'prestart', 'a-first'), join(root, 'prestart', 'a-link'));
    await script(join(root, 'poststop', 'cleanup'), 0o755);
    await script(join(root, 'unrelated'), 0o755);

    const hooks = await findGuestHooks(root);
    assert.deepEqual(hooks, {
      prestart: [
        { path: join(root, 'prestart', 'a-first'), args: ['a-first', 'prestart'] },
        { path: join(root, 'prestart', 'b-second'), args: ['b-second', 'prestart'] },
        { path: join(root, 'prestart', 'group-exec'), args: ['group-exec', 'prestart'] },
      ],
      poststart: [],
      poststop: [{ path: join(root, 'poststop', 'cleanup'), args: ['cleanup', 'poststop'] }],
    });
    assert.ok(hasGuestHooks(hooks));
  });

  test('a missing directory or an empty path gives no hooks', async () => {
    const none = await findGuestHooks(join(work, 'absent'));
    assert.deepEqual(none, { prestart: [], poststart: [], poststop: [] });
    assert.equal(hasGuestHooks(none), false);
    assert.deepEqual(await findGuestHooks(''), none);
  });

  test('a relative path or a NUL is refused, naming guest_hook_path', async () => {
    const isBad = (err: unknown) => err instanceof SandboxError && err.grpcCode === 3 && err.message.startsWith('create_sandbox.guest_hook_path: ');
    await assert.rejects(findGuestHooks('relative/hooks'), isBad);
    assert.throws(() => validateGuestHookPath('/x\0y'), isBad);
    assert.throws(() => validateGuestHookPath('./x'), isBad);
  });

  test('appends guest hooks after the spec own hooks, kind by kind, without changing the input', () => {
    const spec: Spec = {
      ociVersion: '1.1.0',
      hooks: { prestart: [{ path: '/own/pre', args: ['pre'] }], createRuntime: [{ path: '/own/cr' }] },
    };
    const before = structuredClone(spec);
    const hooks = {
      prestart: [{ path: '/g/prestart/x', args: ['x', 'prestart'] }],
      poststart: [{ path: '/g/poststart/y', args: ['y', 'poststart'] }],
      poststop: [],
    };
    const out = appendGuestHooks(spec, hooks);
    assert.deepEqual(out.hooks, {
      prestart: [{ path: '/own/pre', args: ['pre'] }, { path: '/g/prestart/x', args: ['x', 'prestart'] }],
      createRuntime: [{ path: '/own/cr' }],
      poststart: [{ path: '/g/poststart/y', args: ['y', 'poststart'] }],
    });
    assert.deepEqual(spec, before);
    // A spec without hooks gets them; no guest hooks leaves the spec as it is.
    assert.deepEqual(appendGuestHooks({ ociVersion: '1.1.0' }, hooks).hooks?.poststart, hooks.poststart);
    const bare: Spec = { ociVersion: '1.1.0' };
    assert.equal(appendGuestHooks(bare, { prestart: [], poststart: [], poststop: [] }), bare);
  });
});
