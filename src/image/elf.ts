// Just enough ELF reading to check what the builder produces: the magic, and
// the notes in PT_NOTE segments (the kernel's PVH entry point is one).

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]); // "\x7fELF"
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const PT_NOTE = 4;

/** Xen's note owner; QEMU's PVH boot looks for this owner's PHYS32_ENTRY note. */
export const XEN_NOTE_OWNER = 'Xen';
/** XEN_ELFNOTE_PHYS32_ENTRY: the 32-bit physical entry point used by PVH boot. */
export const XEN_ELFNOTE_PHYS32_ENTRY = 18;

export interface ElfNote {
  owner: string;
  type: number;
  desc: Buffer;
}

export function hasElfMagic(data: Uint8Array): boolean {
  return data.length >= 4 && Buffer.from(data.buffer, data.byteOffset, 4).equals(ELF_MAGIC);
}

/** The notes of every PT_NOTE segment of a 64-bit little-endian ELF file. */
export function readElfNotes(data: Buffer): ElfNote[] {
  if (!hasElfMagic(data)) throw new Error('not an ELF file (no \\x7fELF magic)');
  if (data[4] !== ELFCLASS64 || data[5] !== ELFDATA2LSB) throw new Error('not a 64-bit little-endian ELF file');
  const phoff = Number(data.readBigUInt64LE(0x20));
  const phentsize = data.readUInt16LE(0x36);
  const phnum = data.readUInt16LE(0x38);
  const notes: ElfNote[] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 0x28 > data.length) throw new Error(`ELF program header ${i} lies outside the file`);
    if (data.readUInt32LE(ph) !== PT_NOTE) continue;
    const offset = Number(data.readBigUInt64LE(ph + 0x08));
    const size = Number(data.readBigUInt64LE(ph + 0x20));
    if (offset + size > data.length) throw new Error(`ELF note segment ${i} lies outside the file`);
    notes.push(...parseNotes(data.subarray(offset, offset + size)));
  }
  return notes;
}

/** Splits a note segment: namesz, descsz, type (u32 each), then name and desc, each padded to 4 bytes. */
function parseNotes(seg: Buffer): ElfNote[] {
  const notes: ElfNote[] = [];
  let pos = 0;
  while (pos + 12 <= seg.length) {
    const namesz = seg.readUInt32LE(pos);
    const descsz = seg.readUInt32LE(pos + 4);
    const type = seg.readUInt32LE(pos + 8);
    const nameStart = pos + 12;
    const descStart = nameStart + align4(namesz);
    const end = descStart + align4(descsz);
    if (end > seg.length) throw new Error('truncated ELF note');
    // The name is NUL-terminated and namesz counts the NUL.
    const owner = seg.subarray(nameStart, nameStart + namesz).toString('latin1').replace(/\0+$/, '');
    notes.push({ owner, type, desc: seg.subarray(descStart, descStart + descsz) });
    pos = end;
  }
  return notes;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** True if the ELF file carries the PVH entry note, so QEMU can boot it directly with -kernel. */
export function hasPvhNote(data: Buffer): boolean {
  return readElfNotes(data).some((n) => n.owner === XEN_NOTE_OWNER && n.type === XEN_ELFNOTE_PHYS32_ENTRY);
}
