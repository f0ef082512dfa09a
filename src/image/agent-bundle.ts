// The agent as one file for the guest: src/image/agent-entry.ts and
// everything it imports (our sources, pino, prom-client, protobuf, zod...)
// bundled by esbuild for Node 20, as a CommonJS script (agent.cjs) started by
// a small ESM loader (the output file, agent.mjs).
//
// Why the loader: compiling the bundle is a large part of the agent's start
// under TCG, and Node 20 can reuse V8's compiled code only for scripts
// (vm.Script cachedData), not for ES modules. The loader compiles agent.cjs
// with the code cache agent.cjs.cache when there is one (the image builder
// writes it with writeCodeCache(), with the same node binary the guest gets);
// without one, or with one V8 rejects (another node), it compiles from source.
//
// Bundling puts every module in one file, so `import.meta.url` would be the
// bundle's URL everywhere. Some modules find files relative to their own
// place in the tree (package.json for the version, the native addon), so each
// of our modules (not those in node_modules) gets an import.meta.url as if it
// sat at its place under the bundle's directory: in the guest, src/native/addon.ts looks for
// ../../native/build/Release/kata_native.node from /opt/kata-ts/src/native/,
// which is /opt/kata-ts/native/build/Release/kata_native.node, where the image
// puts the addon. No source file needs to know it is bundled.
//
// The same script is also what the image's V8 startup snapshot is built from
// (startup-snapshot.ts): some imports are replaced by stand-ins that load the
// module on first use (lazy-modules.ts), which changes nothing when it runs
// from the loader.
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { run } from './command.js';
import { NATIVE_ADDON_FILE } from '../native/addon.js';
import { ImageBuildError } from './errors.js';
import { LAZY_NAMESPACE, lazyModulesPlugin } from './lazy-modules.js';

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

/** The script beside the loader, and its code cache. */
export function scriptFileOf(loaderFile: string): string {
  return loaderFile.replace(/\.mjs$/, '') + '.cjs';
}
export function codeCacheFileOf(loaderFile: string): string {
  return `${scriptFileOf(loaderFile)}.cache`;
}
/** The startup snapshot beside the loader. */
export function snapshotFileOf(loaderFile: string): string {
  return loaderFile.replace(/\.mjs$/, '') + '.blob';
}

/** node's arguments that build the startup snapshot `blobFile` from the bundle script `scriptFile`. */
export function snapshotBuildArgs(scriptFile: string, blobFile: string): string[] {
  return ['--snapshot-blob', blobFile, '--build-snapshot', scriptFile];
}

/** node's arguments that start the agent from the startup snapshot `blobFile` with `agentArgs`. */
export function snapshotRunArgs(blobFile: string, agentArgs: readonly string[]): string[] {
  return ['--snapshot-blob', blobFile, '--', ...agentArgs];
}

/**
 * The loader: compiles the script with its code cache (if any) and runs it as
 * CommonJS. With KATA_TS_WRITE_CODE_CACHE set, it only evaluates the modules
 * (the entry does not start the agent) and then writes the cache, which then
 * holds the functions that ran too.
 */
function loaderSource(scriptName: string): string {
  return `// kata-ts agent loader (written by kata-ts-image): runs ${scriptName} with V8's code cache.
import { readFileSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const dir = dirname(fileURLToPath(import.meta.url));
const file = join(dir, ${JSON.stringify(scriptName)});
const cacheFile = file + '.cache';
const writing = process.env.KATA_TS_WRITE_CODE_CACHE !== undefined;
let cachedData;
if (!writing) {
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // no cache: compile from source
  }
}
const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
const module = { exports: {}, filename: file, id: '.', loaded: false };
globalThis.__kataTsWarmOnly = writing;
script.runInThisContext()(module.exports, createRequire(file), module, file, dir);
if (writing) {
  await globalThis.__kataTsLoaded;
  writeFileSync(cacheFile, script.createCachedData());
}
`;
}

/** Bundles the agent (or another `entry`, relative to `root`) from the checkout at `root` into `outFile`. */
export async function bundleAgent(root: string, outFile: string, entry = AGENT_ENTRY): Promise<AgentBundle> {
  const scriptFile = scriptFileOf(outFile);
  const esbuild = await import('esbuild').catch((err: unknown) => {
    throw new ImageBuildError('esbuild is not installed (it is a devDependency: run npm ci)', { cause: err });
  });
  const ours = (path: string) => path.startsWith(root + sep) && !path.includes(`${sep}node_modules${sep}`);
  const result = await esbuild.build({
    absWorkingDir: root,
    // Keep paths as found under the checkout (a linked node_modules stays "node_modules/...").
    preserveSymlinks: true,
    entryPoints: [join(root, entry)],
    outfile: scriptFile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    metafile: true,
    logLevel: 'silent',
    plugins: [
      lazyModulesPlugin(root),
      {
        name: 'kata-ts-module-url',
        setup(build) {
          build.onLoad({ filter: /\.ts$/ }, async (args) => {
            if (!ours(args.path)) return undefined;
            const rel = relative(root, args.path).split(sep).join('/');
            const text = await readFile(args.path, 'utf8');
            // __dirname: the script's directory (the loader passes it).
            const url = `require("node:url").pathToFileURL(require("node:path").join(__dirname, ${JSON.stringify(rel)})).href`;
            return { contents: text.replaceAll('import.meta.url', url), loader: 'ts' };
          });
        },
      },
    ],
  }).catch((err: unknown) => {
    throw new ImageBuildError(`bundling the agent failed: ${(err as Error).message}`, { cause: err });
  });

  // With absWorkingDir set, metafile paths are relative to the checkout. The
  // stand-ins of lazy-modules.ts are generated, not read.
  const inputs = Object.keys(result.metafile.inputs)
    .filter((input) => !input.startsWith(`${LAZY_NAMESPACE}:`))
    .sort();
  for (const input of inputs) {
    if (input.startsWith('..') || input.startsWith('/') || input.includes(':')) {
      throw new ImageBuildError(`the agent bundle includes ${input}, which is outside the checkout`);
    }
  }
  if (result.warnings.length > 0) {
    throw new ImageBuildError(`bundling the agent: ${result.warnings.map((w) => w.text).join('; ')}`);
  }
  const output = Object.values(result.metafile.outputs)[0];
  await writeFile(outFile, loaderSource(basename(scriptFile)));
  return { inputs, npmPackages: await npmPackagesOf(root, inputs), bytes: output?.bytes ?? 0 };
}

/**
 * Writes the code cache of the bundle whose loader is `loaderFile` by running
 * it with `node` (the binary the guest runs: V8 rejects another's cache).
 */
export async function writeCodeCache(loaderFile: string, node: string): Promise<void> {
  await run(node, [loaderFile], { env: { ...process.env, KATA_TS_WRITE_CODE_CACHE: '1' } }).catch((err: unknown) => {
    throw new ImageBuildError(`writing the agent's code cache failed: ${(err as Error).message}`, { cause: err });
  });
}

/**
 * Builds the startup snapshot of the bundle whose loader is `loaderFile`
 * with `node`, in the bundle's directory (what module-level code computes
 * from its place is kept in the snapshot). V8 accepts a snapshot only from
 * the same node, V8 flags and CPU features: the image builder runs this in
 * the guest (startup-snapshot.ts); tests run it on the host.
 */
export async function buildStartupSnapshot(loaderFile: string, node: string): Promise<string> {
  const blob = snapshotFileOf(loaderFile);
  await run(node, snapshotBuildArgs(scriptFileOf(loaderFile), blob), { cwd: dirname(loaderFile) }).catch((err: unknown) => {
    throw new ImageBuildError(`building the agent's startup snapshot failed: ${(err as Error).message}`, { cause: err });
  });
  return blob;
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
