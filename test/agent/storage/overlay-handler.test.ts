import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { unmount } from '../../../src/agent/mount/mount.js';
import { InvalidMountOptionError, InvalidStorageError, PathEscapeError } from '../../../src/agent/storage/errors.js';
import { OVERLAY_CREATE_DIR_OPTION, OVERLAY_RW_OPTION, OverlayfsHandler } from '../../../src/agent/storage/overlay-handler.js';
import { createTempRoot, kernelHasFilesystem, mountAt, mountTestsSkipReason, mountsBelow, storage, type TempRoot } from '../mount/helpers.js';
import { handlerContext } from './context.js';

const skip = mountTestsSkipReason() ?? ((await kernelHasFilesystem('overlay')) ? undefined : 'this kernel has no overlayfs');

describe('overlayfs handler (real overlay mounts)', { skip }, () => {
  let tmp: TempRoot;
  let lower: string;
  before(async () => {
    tmp = await createTempRoot('kata-ts-overlay-');
    lower = join(tmp.root, 'layers/lower');
    await mkdir(lower, { recursive: true });
    await writeFile(join(lower, 'from-lower'), 'lower');
    await mkdir(join(tmp.root, 'layers/upper'));
    await mkdir(join(tmp.root, 'layers/work'));
    await mkdir(join(tmp.root, 'a,b'));
    await symlink(join(tmp.root, 'a,b'), join(tmp.root, 'comma-link'));
    await symlink(tmp.outside, join(tmp.root, 'out-link'));
    await symlink('layers/lower', join(tmp.root, 'lower-link'));
  });
  after(() => tmp.cleanup());

  test('lower, upper and work given: lower files visible, writes land in upper', async () => {
    const path = await new OverlayfsHandler().mount(
      storage({
        driver: 'overlayfs',
        source: 'overlay',
        fstype: 'overlay',
        mountPoint: `${tmp.root}/c0/rootfs`,
        // lowerdir through a symlink: the kernel is given the canonical path
        options: [`lowerdir=${tmp.root}/lower-link`, `upperdir=${tmp.root}/layers/upper`, `workdir=${tmp.root}/layers/work`, 'index=off'],
      }),
      handlerContext(tmp, { containerId: 'c0' }),
    );
    assert.equal(await readFile(join(path, 'from-lower'), 'utf8'), 'lower');
    await writeFile(join(path, 'new'), 'new');
    assert.equal(await readFile(join(tmp.root, 'layers/upper/new'), 'utf8'), 'new');
    await assert.rejects(stat(join(lower, 'new')), { code: 'ENOENT' });
    const m = await mountAt(path);
    assert.equal(m?.fstype, 'overlay');
    assert.ok(m?.superOptions.includes(`lowerdir=${lower}`), m?.superOptions.join(','));
    unmount(path);
  });

  test('overlay-rw: upper and work made under <root>/<container id>; the marker is not passed on', async () => {
    const ctx = handlerContext(tmp, { containerId: 'c1' });
    const path = await new OverlayfsHandler().mount(
      storage({ driver: 'overlayfs', source: 'overlay', fstype: 'overlay', mountPoint: `${tmp.root}/c1/rootfs`, options: [`lowerdir=${lower}`, OVERLAY_RW_OPTION] }),
      ctx,
    );
    assert.ok(ctx.createdPaths.includes(join(tmp.root, 'c1/upper')));
    assert.ok(ctx.createdPaths.includes(join(tmp.root, 'c1/work')));
    await writeFile(join(path, 'rw'), 'rw');
    assert.equal(await readFile(join(tmp.root, 'c1/upper/rw'), 'utf8'), 'rw');
    const m = await mountAt(path);
    assert.ok(m?.superOptions.includes(`upperdir=${join(tmp.root, 'c1/upper')}`), m?.superOptions.join(','));
    assert.ok(!m?.superOptions.some((o) => o.includes('katacontainers')));
    unmount(path);
  });

  test('create_directory driver options make the upper and work directories first', async () => {
    const up = `${tmp.root}/writable/upper`;
    const wk = `${tmp.root}/writable/work`;
    const path = await new OverlayfsHandler().mount(
      storage({
        driver: 'overlayfs',
        source: 'overlay',
        fstype: 'overlay',
        mountPoint: `${tmp.root}/c2/rootfs`,
        driverOptions: [`${OVERLAY_CREATE_DIR_OPTION}=${up}`, `${OVERLAY_CREATE_DIR_OPTION}=${wk}`],
        options: [`lowerdir=${lower}`, `upperdir=${up}`, `workdir=${wk}`],
      }),
      handlerContext(tmp, { containerId: 'c2' }),
    );
    await writeFile(join(path, 'x'), 'x');
    assert.equal(await readFile(join(up, 'x'), 'utf8'), 'x');
    unmount(path);
  });

  test('refused, with nothing mounted: directories outside the root, smuggled commas, bad ids', async () => {
    const cases: Array<[string, ReturnType<typeof storage>, string | undefined, (e: unknown) => boolean]> = [
      [
        'lowerdir outside',
        storage({ driver: 'overlayfs', mountPoint: `${tmp.root}/e1`, options: [`lowerdir=${lower}:${tmp.outside}`] }),
        'e1',
        (e) => e instanceof PathEscapeError && e.message.startsWith('options: '),
      ],
      [
        'upperdir through a symlink out',
        storage({ driver: 'overlayfs', mountPoint: `${tmp.root}/e2`, options: [`lowerdir=${lower}`, `upperdir=${tmp.root}/out-link`, `workdir=${tmp.root}/layers/work`] }),
        'e2',
        (e) => e instanceof PathEscapeError && /through the symlink/.test(e.message),
      ],
      [
        'a directory whose canonical name has a comma',
        storage({ driver: 'overlayfs', mountPoint: `${tmp.root}/e3`, options: [`lowerdir=${tmp.root}/comma-link`] }),
        'e3',
        (e) => e instanceof InvalidMountOptionError && /must not contain ","/.test(e.message),
      ],
      [
        'create_directory outside',
        storage({ driver: 'overlayfs', mountPoint: `${tmp.root}/e4`, driverOptions: [`${OVERLAY_CREATE_DIR_OPTION}=${tmp.outside}/made`], options: [`lowerdir=${lower}`] }),
        'e4',
        (e) => e instanceof PathEscapeError && e.message.startsWith('driver_options: '),
      ],
      [
        'overlay-rw for the sandbox',
        storage({ driver: 'overlayfs', mountPoint: `${tmp.root}/e5`, options: [`lowerdir=${lower}`, OVERLAY_RW_OPTION] }),
        undefined,
        (e) => e instanceof InvalidStorageError && /needs a container/.test(e.message),
      ],
      [
        'overlay-rw with an id that is not a name',
        storage({ driver: 'overlayfs', mountPoint: `${tmp.root}/e6`, options: [`lowerdir=${lower}`, OVERLAY_RW_OPTION] }),
        '../x',
        (e) => e instanceof InvalidStorageError && /cannot name an overlay directory/.test(e.message),
      ],
      [
        'another fstype',
        storage({ driver: 'overlayfs', fstype: 'ext4', mountPoint: `${tmp.root}/e7`, options: [`lowerdir=${lower}`] }),
        'e7',
        (e) => e instanceof InvalidStorageError && e.message.startsWith('fstype: '),
      ],
    ];
    for (const [what, s, cid, check] of cases) {
      await assert.rejects(new OverlayfsHandler().mount(s, handlerContext(tmp, { containerId: cid })), check, what);
    }
    assert.deepEqual(await mountsBelow(tmp.root), []);
    await assert.rejects(stat(join(tmp.outside, 'made')), { code: 'ENOENT' });
  });
});
