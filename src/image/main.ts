// `kata-ts-image`: builds the guest image (kernel + initramfs with the agent).
import { Command } from 'commander';
import { buildImage } from './build.js';
import { ImageBuildError } from './errors.js';
import { defaultCacheDir, defaultImageDir } from './paths.js';
import { stderrProgress } from './progress.js';
import { KATA_TS_VERSION } from '../common/version.js';

interface BuildFlags {
  out?: string;
  cacheDir?: string;
  force?: boolean;
  kernelPackage?: string;
  startupSnapshot?: boolean;
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('kata-ts-image')
    .description('Builds the kata-ts guest image: vmlinux, initrd.img, kernel-version and manifest.json')
    .version(KATA_TS_VERSION)
    .showHelpAfterError();
  program
    .command('build')
    .description(
      'build the image from Debian packages and this checkout (does nothing if the inputs have not changed)',
    )
    .option('--out <dir>', `image directory (default ${defaultImageDir()}, where the runtime looks)`)
    .option('--cache-dir <dir>', `downloaded packages and the prepared kernel (default ${defaultCacheDir()})`)
    .option('--force', 'build even if the image is up to date')
    .option('--kernel-package <name>', 'kernel image package (default: the one linux-image-amd64 depends on)')
    .option('--no-startup-snapshot', "skip the agent's V8 startup snapshot (made by booting the image once under QEMU's TCG)")
    .action(async (flags: BuildFlags) => {
      const result = await buildImage({
        outDir: flags.out,
        cacheDir: flags.cacheDir,
        force: flags.force === true,
        config: {
          ...(flags.kernelPackage !== undefined ? { kernelPackage: flags.kernelPackage } : {}),
          ...(flags.startupSnapshot === false ? { startupSnapshot: false } : {}),
        },
        progress: stderrProgress,
      });
      process.stdout.write(`${result.outDir}\n`);
    });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof ImageBuildError) {
      process.stderr.write(`kata-ts-image: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}
