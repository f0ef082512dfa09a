import { test } from 'node:test';
import assert from 'node:assert/strict';

import { UnknownStorageDriverError } from '../../../src/agent/storage/errors.js';
import type { StorageHandler } from '../../../src/agent/storage/handler.js';
import { STORAGE_HANDLERS, buildHandlerTable, storageHandlerFor, storageHandlerNames } from '../../../src/agent/storage/registry.js';

test('GetGuestDetails storage_handlers: every driver name, sorted', () => {
  assert.deepEqual(storageHandlerNames(), ['9p', 'bind', 'blk', 'ephemeral', 'local', 'mmioblk', 'nvdimm', 'overlayfs', 'scsi', 'virtio-fs']);
});

test('each name maps to the handler that lists it', () => {
  for (const [driver, handler] of STORAGE_HANDLERS) assert.ok(handler.driverTypes.includes(driver), driver);
  assert.equal(storageHandlerFor('blk'), storageHandlerFor('scsi'), 'one handler for the block family');
  assert.notEqual(storageHandlerFor('9p'), storageHandlerFor('virtio-fs'));
});

test('an unknown driver is a named INVALID_ARGUMENT error about the driver field', () => {
  assert.throws(
    () => storageHandlerFor('watchable-bind'),
    (e: unknown) =>
      e instanceof UnknownStorageDriverError &&
      e.driver === 'watchable-bind' &&
      e.code === 'INVALID_ARGUMENT' &&
      e.message === 'driver: unknown storage driver "watchable-bind"' &&
      e.atIndex(4).message === 'storages[4].driver: unknown storage driver "watchable-bind"',
  );
});

test('a driver served by two handlers is a programming error', () => {
  const fake = (driverTypes: string[]): StorageHandler => ({ driverTypes, mount: async () => '' });
  assert.throws(() => buildHandlerTable([fake(['a', 'b']), fake(['b'])]), /storage driver "b" has two handlers/);
  assert.deepEqual(storageHandlerNames(buildHandlerTable([fake(['z', 'a'])])), ['a', 'z']);
});
