// The features document against the installed runc's `runc features`: the
// same structure wherever a field exists in both, and values that hold for
// kata-ts (hook kinds it runs, names the guest's crun accepts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolveConfig } from '../../../src/runtime/config/index.js';
import { FEATURE_ANNOTATIONS, featuresDocument, formatFeatures, type Features } from '../../../src/runtime/oci/features.js';
import { HOST_HOOK_KINDS } from '../../../src/runtime/oci/hooks.js';
import { readImageFacts } from '../../../src/runtime/oci/image-facts.js';
import { TEMPLATE_OCI_VERSION } from '../../../src/runtime/oci/spec-template.js';

function runcFeatures(): Record<string, unknown> | undefined {
  const res = spawnSync('runc', ['features'], { encoding: 'utf8' });
  return res.status === 0 ? (JSON.parse(res.stdout) as Record<string, unknown>) : undefined;
}
const runc = runcFeatures();
const runcMissing = runc ? undefined : 'runc (with the features command) is not installed';

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** Compares key sets and value kinds of two objects, recursively; returns the differences. */
function structureDiff(ours: unknown, theirs: unknown, path = ''): string[] {
  if (kind(ours) !== kind(theirs)) return [`${path || '(top)'}: ${kind(ours)} here, ${kind(theirs)} in runc's`];
  if (kind(ours) !== 'object' || path === '.annotations') return []; // annotation keys are the implementation's own
  const a = ours as Record<string, unknown>;
  const b = theirs as Record<string, unknown>;
  const diffs: string[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (!(key in a)) diffs.push(`${path}.${key}: only in runc's`);
    else if (!(key in b)) diffs.push(`${path}.${key}: only here`);
    else diffs.push(...structureDiff(a[key], b[key], `${path}.${key}`));
  }
  return diffs;
}

describe('the features document', () => {
  const doc = featuresDocument();

  test('the printed form is JSON that reads back as the document', () => {
    const text = formatFeatures(doc);
    assert.ok(text.endsWith('}\n'));
    assert.deepEqual(JSON.parse(text), doc);
  });

  test('its structure is runc features\' structure', { skip: runcMissing }, () => {
    assert.deepEqual(structureDiff(doc, runc), []);
  });

  test('the values are runc-compatible names, and what kata-ts does', { skip: runcMissing }, () => {
    const r = runc as unknown as Features;
    const subset = (ours: string[], theirs: string[], what: string) => {
      const unknown = ours.filter((x) => !theirs.includes(x));
      assert.deepEqual(unknown, [], `${what} runc does not know`);
    };
    subset(doc.hooks, r.hooks, 'hook kinds');
    assert.deepEqual(doc.hooks, [...HOST_HOOK_KINDS]);
    subset(doc.linux.namespaces, r.linux.namespaces, 'namespaces');
    subset(doc.linux.capabilities, r.linux.capabilities, 'capabilities');
    subset(doc.linux.seccomp.actions, r.linux.seccomp.actions, 'seccomp actions');
    assert.deepEqual([...doc.linux.seccomp.operators].sort(), [...r.linux.seccomp.operators].sort());
    // runc lists the architectures it maps itself; the guest's libseccomp resolves a few more.
    subset(r.linux.seccomp.archs, doc.linux.seccomp.archs, 'runc seccomp architectures missing here:');
    // Mount options runc knows that are not listed are ones crun 1.8 would pass to mount(2) as data.
    assert.ok(doc.mountOptions.includes('rbind') && doc.mountOptions.includes('tmpcopyup'));
    assert.deepEqual(doc.mountOptions, [...doc.mountOptions].sort());
  });

  test('versions: the template\'s version is accepted, and the guest\'s crun 1.8 accepts the maximum', () => {
    assert.equal(doc.ociVersionMax, TEMPLATE_OCI_VERSION);
    // crun 1.8 refuses any ociVersion without "1.0" in it ("unknown version specified").
    assert.ok(doc.ociVersionMin.includes('1.0') && doc.ociVersionMax.includes('1.0'));
  });

  test('with the guest image\'s manifest, the annotations name the guest\'s versions', async (t) => {
    const image = await readImageFacts(resolveConfig({}));
    if (!image.manifest) {
      t.skip('no guest image manifest (run bin/kata-ts-image build)');
      return;
    }
    const manifest = JSON.parse(await readFile(image.manifest.path, 'utf8')) as {
      kernel: { release: string };
      config: { ociRuntime: string };
      debianPackages: { name: string; version: string }[];
    };
    const withImage = featuresDocument(image);
    assert.equal(withImage.annotations[FEATURE_ANNOTATIONS.guestKernel], manifest.kernel.release);
    const runtimeName = manifest.config.ociRuntime.split('/').pop()!;
    const runtimePkg = manifest.debianPackages.find((p) => p.name === runtimeName);
    const ociRuntime = withImage.annotations[FEATURE_ANNOTATIONS.guestOciRuntime]!;
    assert.ok(ociRuntime.startsWith(`${runtimeName} `) || ociRuntime === runtimeName);
    if (runtimePkg) assert.ok(runtimePkg.version.includes(ociRuntime.split(' ')[1]!), `${ociRuntime} vs ${runtimePkg.version}`);
    const seccomp = manifest.debianPackages.find((p) => p.name === 'libseccomp2');
    if (seccomp) {
      const v = withImage.annotations[FEATURE_ANNOTATIONS.libseccompVersion]!;
      assert.match(v, /^\d+\.\d+\.\d+$/);
      assert.ok(seccomp.version.includes(v));
    }
    // Without an image the document still has the runtime's own annotations, and no guest ones.
    assert.equal(doc.annotations[FEATURE_ANNOTATIONS.guestKernel], undefined);
    assert.ok(doc.annotations[FEATURE_ANNOTATIONS.version]);
  });
});
