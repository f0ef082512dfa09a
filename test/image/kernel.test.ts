// vmlinux extraction: synthetic bzImages for each compression (with a decoy
// magic in front), and Debian's real kernel checked with readelf.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { extractBootableVmlinux, extractVmlinux, findCompressedStreams } from '../../src/image/kernel.js';
import { hasElfMagic, hasPvhNote, readElfNotes, XEN_ELFNOTE_PHYS32_ENTRY } from '../../src/image/elf.js';
import { makeElf, PVH_NOTE } from './elf-fixture.js';
import { fileFromDeb, kernelPackage, releaseOf } from './kernel-package.js';

function compress(tool: string, args: string[], data: Buffer): Buffer {
  const res = spawnSync(tool, args, { input: data, maxBuffer: 1 << 28 });
  assert.equal(res.status, 0, `${tool}: ${res.stderr}`);
  return res.stdout;
}

/** setup code with a false gzip magic, the compressed kernel, then trailing data (as a bzImage has). */
function fakeBzImage(compressed: Buffer): Buffer {
  const setup = Buffer.concat([randomBytes(300), Buffer.from([0x1f, 0x8b, 0x08]), randomBytes(200)]);
  return Buffer.concat([setup, compressed, Buffer.from([1, 2, 3, 4]), randomBytes(64)]);
}

describe('vmlinux extraction', () => {
  const elf = makeElf([{ owner: 'GNU', type: 3, desc: Buffer.alloc(20, 7) }, PVH_NOTE], 5000);

  for (const [name, tool, args] of [
    ['xz', 'xz', ['-c', '--check=crc32']],
    ['gzip', 'gzip', ['-c', '-9']],
    ['zstd', 'zstd', ['-c', '-q']],
  ] as const) {
    test(`finds the ${name} stream behind a decoy magic and returns the ELF file unchanged`, async () => {
      const image = fakeBzImage(compress(tool, [...args], elf));
      const hits = findCompressedStreams(image);
      assert.ok(hits.length >= 2, 'the decoy and the real stream are both candidates');
      const out = await extractVmlinux(image);
      assert.equal(out.compression, name);
      assert.ok(out.vmlinux.equals(elf), 'decompressed bytes equal the original ELF');
      assert.ok(hasPvhNote(out.vmlinux));
    });
  }

  test('notes are parsed with owner, type and descriptor', () => {
    const notes = readElfNotes(elf);
    assert.deepEqual(
      notes.map((n) => [n.owner, n.type, n.desc.length]),
      [
        ['GNU', 3, 20],
        ['Xen', 18, 4],
      ],
    );
  });

  test('an ELF kernel without the PVH note is refused, naming the note', async () => {
    const image = fakeBzImage(compress('xz', ['-c'], makeElf([{ owner: 'GNU', type: 3, desc: Buffer.alloc(4) }])));
    await assert.rejects(extractBootableVmlinux(image), /no PVH entry note/);
  });

  test('an image without any compressed ELF is reported with what was tried', async () => {
    await assert.rejects(extractVmlinux(randomBytes(4096).fill(0, 0, 4096)), /no compressed ELF kernel found .*no known magic bytes/);
    const junk = Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), randomBytes(100)]);
    await assert.rejects(extractVmlinux(junk), /tried xz@0/);
  });

  test("Debian's kernel: the extracted vmlinux is an ELF file with a PVH note (readelf agrees)", async (t) => {
    const { pkg, deb } = await kernelPackage();
    const bzImage = fileFromDeb(deb, `./boot/vmlinuz-${releaseOf(pkg)}`);
    assert.ok(!hasElfMagic(bzImage), 'vmlinuz is a bzImage, not ELF');
    const kernel = await extractBootableVmlinux(bzImage);
    assert.ok(hasElfMagic(kernel.vmlinux));
    assert.ok(kernel.vmlinux.length > 4 * bzImage.length, 'uncompressed is much larger');
    const pvh = readElfNotes(kernel.vmlinux).find((n) => n.owner === 'Xen' && n.type === XEN_ELFNOTE_PHYS32_ENTRY);
    assert.ok(pvh && pvh.desc.length >= 4, 'PHYS32_ENTRY note with an address');

    if (spawnSync('readelf', ['--version']).status !== 0) {
      t.diagnostic('readelf (binutils) not installed: cross-check skipped');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'kata-vmlinux-'));
    try {
      writeFileSync(join(dir, 'vmlinux'), kernel.vmlinux);
      const res = spawnSync('readelf', ['-h', '-n', join(dir, 'vmlinux')], { encoding: 'utf8', maxBuffer: 1 << 24 });
      assert.equal(res.status, 0, res.stderr);
      assert.match(res.stdout, /Class:\s+ELF64/);
      assert.match(res.stdout, /Type:\s+EXEC/);
      assert.match(res.stdout, /Xen\s+0x[0-9a-f]+\s+Unknown note type: \(0x00000012\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
