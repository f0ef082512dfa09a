// Modules the agent bundle loads on first use instead of when the module
// importing them is evaluated.
//
// Why: the image carries a V8 startup snapshot of the agent (see
// startup-snapshot.ts), built by evaluating every module of the bundle and
// saving the heap. What module-level code computes then is frozen into every
// boot, so two kinds of modules must not be evaluated while it is built:
//
// - node built-ins that Node does not vouch for in snapshots (Node 20 warns
//   "not yet fully verified"; `http` even fails to load there): their state
//   may not survive the trip;
// - npm packages whose module-level code reads the clock or the process
//   (prom-client takes the process start time when it is loaded).
//
// Each such import gets a stand-in: an object whose properties are those of
// the real module (names listed when the bundle is made, so listing them
// needs nothing loaded) and which loads the real module the first time one
// of them is read. Code that only keeps a reference at module level, as
// `import { spawn } from 'node:child_process'` does once bundled, loads
// nothing until it calls. The snapshot build checks that no built-in Node
// does not vouch for was loaded anyway (snapshot-guard.ts).
import { createRequire, isBuiltin } from 'node:module';
import type { Plugin } from 'esbuild';

/**
 * Built-ins Node 20 supports in user-land snapshots (the list of its
 * snapshot builder): these are loaded as usual.
 */
export const SNAPSHOT_SAFE_BUILTINS: ReadonlySet<string> = new Set([
  '_stream_duplex', '_stream_passthrough', '_stream_readable', '_stream_transform', '_stream_wrap', '_stream_writable',
  'assert', 'assert/strict', 'buffer', 'console', 'constants', 'crypto', 'dns', 'events', 'fs', 'fs/promises',
  'os', 'path', 'path/posix', 'path/win32', 'process', 'punycode', 'querystring', 'stream', 'stream/promises',
  'string_decoder', 'sys', 'timers', 'timers/promises', 'url', 'util', 'util/types', 'v8', 'zlib',
]);

/** npm packages loaded on first use, and why. */
export const LAZY_PACKAGES: ReadonlyMap<string, string> = new Map([
  ['prom-client', 'takes the process start time (process_start_time_seconds) when loaded'],
]);

/** The esbuild namespace of the stand-ins (their metafile inputs are "kata-ts-lazy:<module>"). */
export const LAZY_NAMESPACE = 'kata-ts-lazy';

/** The module name a stand-in loads: "node:child_process", "prom-client". */
export function lazyTarget(specifier: string): string | undefined {
  if (isBuiltin(specifier)) {
    const id = specifier.replace(/^node:/, '');
    return SNAPSHOT_SAFE_BUILTINS.has(id) ? undefined : `node:${id}`;
  }
  return LAZY_PACKAGES.has(specifier) ? specifier : undefined;
}

/**
 * The stand-in's source (CommonJS): a Proxy over an empty object. Reading a
 * property loads the real module; listing the keys or describing one (what
 * esbuild's interop helpers do when a module is imported as a namespace or
 * a default) does not.
 */
export function lazyModuleSource(target: string, keys: readonly string[]): string {
  const spec = JSON.stringify(target);
  return `// Stand-in for ${target}: loaded on first use (src/image/lazy-modules.ts).
let real;
const load = () => {
  real ??= require(${spec});
  return real;
};
const keys = ${JSON.stringify(keys)};
module.exports = new Proxy({}, {
  get: (_, key) => load()[key],
  has: (_, key) => keys.includes(key) || key in load(),
  ownKeys: () => [...keys],
  getOwnPropertyDescriptor: (_, key) =>
    keys.includes(key) ? { configurable: true, enumerable: true, get: () => load()[key] } : undefined,
});
`;
}

/**
 * The esbuild plugin putting the stand-ins in. `root` is the checkout, from
 * which packages are resolved (and loaded once, here, to list their keys).
 */
export function lazyModulesPlugin(root: string): Plugin {
  const requireFromRoot = createRequire(`${root}/`);
  return {
    name: 'kata-ts-lazy-modules',
    setup(build) {
      build.onResolve({ filter: /^[a-z@_]/ }, (args) => {
        // The stand-in's own require of the real module resolves as usual.
        if (args.namespace === LAZY_NAMESPACE) return undefined;
        const target = lazyTarget(args.path);
        return target === undefined ? undefined : { path: target, namespace: LAZY_NAMESPACE };
      });
      build.onLoad({ filter: /.*/, namespace: LAZY_NAMESPACE }, (args) => {
        const real = requireFromRoot(args.path) as object;
        return { contents: lazyModuleSource(args.path, Object.getOwnPropertyNames(real)), loader: 'js', resolveDir: root };
      });
    },
  };
}
