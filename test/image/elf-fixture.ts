// Tiny hand-made ELF64 files for the kernel extraction tests: a header, one
// PT_NOTE program header, and the notes.

export interface NoteSpec {
  owner: string;
  type: number;
  desc: Buffer;
}

function align4(b: Buffer): Buffer {
  return Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
}

export function encodeNotes(notes: readonly NoteSpec[]): Buffer {
  return Buffer.concat(
    notes.map((n) => {
      const name = Buffer.from(`${n.owner}\0`, 'latin1');
      const head = Buffer.alloc(12);
      head.writeUInt32LE(name.length, 0);
      head.writeUInt32LE(n.desc.length, 4);
      head.writeUInt32LE(n.type, 8);
      return Buffer.concat([head, align4(name), align4(n.desc)]);
    }),
  );
}

/** An ELF64 little-endian executable whose only segment is a PT_NOTE with `notes`. */
export function makeElf(notes: readonly NoteSpec[], padding = 256): Buffer {
  const ehsize = 64;
  const phentsize = 56;
  const noteData = encodeNotes(notes);
  const noteOffset = ehsize + phentsize;
  const elf = Buffer.alloc(noteOffset + noteData.length + padding);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0); // magic, ELFCLASS64, little-endian, version
  elf.writeUInt16LE(2, 16); // ET_EXEC
  elf.writeUInt16LE(62, 18); // EM_X86_64
  elf.writeUInt32LE(1, 20);
  elf.writeBigUInt64LE(BigInt(ehsize), 0x20); // e_phoff
  elf.writeUInt16LE(ehsize, 0x34);
  elf.writeUInt16LE(phentsize, 0x36);
  elf.writeUInt16LE(1, 0x38); // e_phnum
  const ph = ehsize;
  elf.writeUInt32LE(4, ph); // PT_NOTE
  elf.writeBigUInt64LE(BigInt(noteOffset), ph + 0x08);
  elf.writeBigUInt64LE(BigInt(noteData.length), ph + 0x20);
  elf.writeBigUInt64LE(BigInt(noteData.length), ph + 0x28);
  noteData.copy(elf, noteOffset);
  // Recognizable filler so that a wrong decompression cannot pass by chance.
  for (let i = noteOffset + noteData.length; i < elf.length; i++) elf[i] = i & 0xff;
  return elf;
}

/** The PVH note QEMU looks for: Xen's PHYS32_ENTRY (type 18) with a 32-bit entry address. */
export const PVH_NOTE: NoteSpec = { owner: 'Xen', type: 18, desc: Buffer.from([0x50, 0x08, 0x00, 0x01]) };
