// What the agent's startup snapshot may load while it is built.
//
// Node's snapshot builder warns when a built-in it does not vouch for is
// loaded ("not yet fully verified whether built-in module X works in user
// snapshot builder scripts"). The stand-ins of lazy-modules.ts keep most of
// those unloaded while the snapshot is built (only module-level code runs
// then), but a few are read at module level. Those are listed here with the
// reason, and are checked by the VM tests, which run the agent from the
// snapshot; a warning about any other makes the snapshot build fail.

/** Built-ins the snapshot build may load, and who reads them at module level. */
export const LOADED_WHILE_BUILDING: ReadonlyMap<string, string> = new Map([
  ['child_process', 'src/agent/rpc/container-rpcs.ts promisifies execFile'],
  ['module', "pino's transport module takes createRequire"],
  ['worker_threads', 'pino and thread-stream read isMainThread and Worker'],
]);

/** The built-in a snapshot builder warning is about ("node:" dropped), or undefined for other warnings. */
export function unverifiedBuiltin(warning: Error): string | undefined {
  const m = /built-in module "([^"]+)" works in user snapshot/.exec(warning.message);
  return m ? m[1]!.replace(/^node:/, '') : undefined;
}

/** Throws if `unverified` names a built-in the snapshot build must not load. */
export function checkUnverifiedBuiltins(unverified: readonly string[]): void {
  const unexpected = [...new Set(unverified)].filter((m) => !LOADED_WHILE_BUILDING.has(m));
  if (unexpected.length > 0) {
    throw new Error(
      `building the startup snapshot loaded ${unexpected.join(', ')}, which node does not vouch for in snapshots; ` +
        'defer that use to run time (src/image/lazy-modules.ts), or list it in src/image/snapshot-guard.ts once the VM tests pass with it',
    );
  }
}
