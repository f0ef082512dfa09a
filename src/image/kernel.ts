// The guest kernel: the uncompressed ELF `vmlinux` taken out of a bzImage.
//
// QEMU can enter an ELF kernel that carries a PVH note directly, skipping the
// bzImage's real-mode setup and self-decompression (seconds under TCG).
// A bzImage holds the compressed vmlinux somewhere after its setup code; as
// the kernel's own extract-vmlinux script does, we look for every
// compression format's magic bytes, try to decompress from each hit, and keep
// the first result that is an ELF file.
import { hasElfMagic, hasPvhNote } from './elf.js';
import { run } from './command.js';
import { ImageBuildError, ToolMissingError } from './errors.js';

interface Compression {
  name: string;
  magic: Buffer;
  /** Decompresses stdin to stdout; trailing data after the stream is tolerated (see below). */
  program: string;
  args: string[];
}

/** The formats a Linux bzImage may use (CONFIG_KERNEL_*), with a tool each. */
export const KERNEL_COMPRESSIONS: readonly Compression[] = [
  { name: 'xz', magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), program: 'xz', args: ['-dc', '--single-stream'] },
  { name: 'zstd', magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), program: 'zstd', args: ['-dcq'] },
  { name: 'gzip', magic: Buffer.from([0x1f, 0x8b, 0x08]), program: 'gzip', args: ['-dcq'] },
  { name: 'lz4', magic: Buffer.from([0x02, 0x21, 0x4c, 0x18]), program: 'lz4', args: ['-dcq'] },
  { name: 'bzip2', magic: Buffer.from('BZh'), program: 'bzip2', args: ['-dcq'] },
];

/** How many candidate offsets are tried before giving up (false hits are rare). */
const MAX_ATTEMPTS = 32;

export interface ExtractedKernel {
  vmlinux: Buffer;
  /** Which format the bzImage used, e.g. "xz". */
  compression: string;
  /** Where the compressed stream starts in the bzImage. */
  offset: number;
}

/** Every offset where one of the formats' magic bytes occurs, in file order. */
export function findCompressedStreams(image: Buffer): { offset: number; compression: Compression }[] {
  const hits: { offset: number; compression: Compression }[] = [];
  for (const compression of KERNEL_COMPRESSIONS) {
    for (let at = image.indexOf(compression.magic); at >= 0; at = image.indexOf(compression.magic, at + 1)) {
      hits.push({ offset: at, compression });
    }
  }
  return hits.sort((a, b) => a.offset - b.offset);
}

/**
 * Finds the compressed kernel inside `bzImage` and decompresses it.
 * Throws ImageBuildError if no stream decompresses to an ELF file.
 */
export async function extractVmlinux(bzImage: Buffer): Promise<ExtractedKernel> {
  if (hasElfMagic(bzImage)) return { vmlinux: bzImage, compression: 'none', offset: 0 };
  const tried: string[] = [];
  for (const { offset, compression } of findCompressedStreams(bzImage).slice(0, MAX_ATTEMPTS)) {
    tried.push(`${compression.name}@${offset}`);
    // The stream is followed by the rest of the bzImage, which the tools
    // report as trailing garbage (exit status 1 or 2): the output is what counts.
    let out: Buffer;
    try {
      out = (await run(compression.program, compression.args, { input: bzImage.subarray(offset), okCodes: [1, 2] })).stdout;
    } catch (err) {
      if (err instanceof ToolMissingError) {
        tried[tried.length - 1] += ` (${err.program} not installed)`;
        continue;
      }
      throw err;
    }
    if (hasElfMagic(out)) return { vmlinux: out, compression: compression.name, offset };
  }
  throw new ImageBuildError(
    `no compressed ELF kernel found in the bzImage (tried ${tried.length > 0 ? tried.join(', ') : 'nothing: no known magic bytes'})`,
  );
}

/** Extracts and checks that the result can be booted the PVH way. */
export async function extractBootableVmlinux(bzImage: Buffer): Promise<ExtractedKernel> {
  const kernel = await extractVmlinux(bzImage);
  if (!hasPvhNote(kernel.vmlinux)) {
    throw new ImageBuildError('the extracted vmlinux has no PVH entry note (Xen PHYS32_ENTRY): QEMU cannot boot it with -kernel');
  }
  return kernel;
}
