// Namespace paths of the wrong kind are refused on the host, naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkNamespacePaths } from '../../../src/runtime/sandbox/namespace-paths.js';
import type { Spec } from '../../../src/oci/spec.js';

const spec = (namespaces: { type: string; path?: string }[]) => ({ ociVersion: '1.0.2', linux: { namespaces } }) as Spec;

test('paths of the right kind pass; no path is fine', async () => {
  await checkNamespacePaths(spec([{ type: 'pid' }, { type: 'network', path: '/proc/self/ns/net' }, { type: 'mount', path: '/proc/self/ns/mnt' }]));
});

test('a path of another kind is refused, naming the entry and what it is', async () => {
  await assert.rejects(checkNamespacePaths(spec([{ type: 'uts' }, { type: 'ipc', path: '/proc/self/ns/mnt' }])), /^SandboxError: linux\.namespaces\[1\]\.path: \/proc\/self\/ns\/mnt is mnt:\[\d+\], not a ipc namespace$/);
});

test('a path that does not exist is refused', async () => {
  await assert.rejects(checkNamespacePaths(spec([{ type: 'net', path: '/nonexistent/ns' }])), /linux\.namespaces\[0\]\.path: \/nonexistent\/ns: ENOENT/);
});
