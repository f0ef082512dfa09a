// The agent as one ESM file for the guest: src/image/agent-entry.ts and
// everything it imports (our sources, pino, prom-client, protobuf, zod...)
// bundled by esbuild for Node 20.
//
// Bundling puts every module in one file, so `import.meta.url` would be the
// bundle's URL everywhere. Some modules find files relative to their own
// place in the tree (package.json for the version, the native addon), so each
// of our modules (not those in node_modules) gets an import.meta.url as if it
// sat at its place under the bundle's directory: in the guest, src/native/addon.ts looks for
// ../../native/build/Release/kata_native.node from /opt/kata-ts/src/native/,
// which is /opt/kata-ts/native/build/Release/kata_native.node, where the image
// puts the addon. No source file needs to know it is bundled.
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { NATIVE_ADDON_FILE } from '../native/addon.js';
import { ImageBuildError } from './errors.js';

/** The bundle's entry, relative to the checkout. */
export const AGENT_ENTRY = 'src/image/agent-entry.ts';

/** Files the guest needs next to the bundle, relative to both the checkout and the bundle's directory. */
export const NATIVE_ADDON = NATIVE_ADDON_FILE;

export interface AgentBundle {
  /** Checkout-relative paths of every source file in the bundle, sorted. */
  inputs: string[];
  /** npm packages bundled, with their versions. */
  npmPackages: { name: string; version: string }[];
  bytes: number;
}

/** Some CommonJS dependencies call require() for Node built-ins; ESM has none, so the bundle defines one. */
const REQUIRE_SHIM = "import { createRequire as __kataTsCreateRequire } from 'node:module';\nconst require = __kataTsCreateRequire(import.meta.url);";

/** Bundles the agent (or another `entry`, relative to `root`) from the checkout at `root` into `outFile`. */
export async function bundleAgent(root: string, outFile: string, entry = AGENT_ENTRY): Promise<AgentBundle> {
  const esbuild = await import('esbuild').catch((err: unknown) => {
    throw new ImageBuildError('esbuild is not installed (it is a devDependency: run npm ci)', { cause: err });
  });
  const ours = (path: string) => path.startsWith(root + sep) && !path.includes(`${sep}node_modules${sep}`);
  const result = await esbuild.build({
    absWorkingDir: root,
    // Keep paths as found under the checkout (a linked node_modules stays "node_modules/...").
    preserveSymlinks: true,
    entryPoints: [join(root, entry)],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    metafile: true,
    logLevel: 'silent',
    banner: { js: REQUIRE_SHIM },
    plugins: [
      {
        name: 'kata-ts-module-url',
        setup(build) {
          build.onLoad({ filter: /\.ts$/ }, async (args) => {
            if (!ours(args.path)) return undefined;
            const rel = relative(root, args.path).split(sep).join('/');
            const text = await readFile(args.path, 'utf8');
            const url = `new URL(${JSON.stringify(`./${rel}`)}, import.meta.url).href`;
            return { contents: text.replaceAll('import.meta.url', url), loader: 'ts' };
          });
        },
      },
    ],
  }).catch((err: unknown) => {
    throw new ImageBuildError(`bundling the agent failed: ${(err as Error).message}`, { cause: err });
  });

  // With absWorkingDir set, metafile paths are relative to the checkout.
  const inputs = Object.keys(result.metafile.inputs).sort();
  for (const input of inputs) {
    if (input.startsWith('..') || input.startsWith('/') || input.includes(':')) {
      throw new ImageBuildError(`the agent bundle includes ${input}, which is outside the checkout`);
    }
  }
  const output = Object.values(result.metafile.outputs)[0];
  return { inputs, npmPackages: await npmPackagesOf(root, inputs), bytes: output?.bytes ?? 0 };
}

/** The npm packages that bundled files belong to ("node_modules/@scope/name/..."), with versions. */
async function npmPackagesOf(root: string, inputs: readonly string[]): Promise<{ name: string; version: string }[]> {
  const dirs = new Map<string, string>(); // package directory -> name
  for (const input of inputs) {
    const m = /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(input);
    if (m) dirs.set(m[1]!, m[2]!);
  }
  const packages: { name: string; version: string }[] = [];
  for (const [dir, name] of dirs) {
    const pkg = JSON.parse(await readFile(join(root, dir, 'package.json'), 'utf8')) as { version?: string };
    packages.push({ name, version: pkg.version ?? 'unknown' });
  }
  return packages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : 1));
}
