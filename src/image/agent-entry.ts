// Entry point of the agent bundle the image carries (/opt/kata-ts/agent.cjs),
// doing what bin/kata-ts-agent does for the compiled tree. It runs in one of
// three ways:
//
// - from the loader (agent.mjs, see agent-bundle.ts): the modules are
//   evaluated, then the agent starts with process.argv;
// - from the loader with __kataTsWarmOnly set (the image builder writing the
//   V8 code cache): the modules are evaluated, the agent is not started, and
//   __kataTsLoaded tells the loader when the modules are in;
// - as node's snapshot builder script (`node --snapshot-blob agent.blob
//   --build-snapshot agent.cjs`, see startup-snapshot.ts): the modules are
//   evaluated, the agent's start-up code is run on throwaway objects so that
//   its compiled code is kept (agent-warm-up.ts), and the heap is saved;
//   `node --snapshot-blob agent.blob -- ARGS` later starts from that heap and
//   runs the function set below, which starts the agent with ARGS.
//
// The bundle is a CommonJS script: no top-level await.
import { startupSnapshot } from 'node:v8';
import { AGENT_THREADPOOL_SIZE } from './init-script.js';
import { checkUnverifiedBuiltins, unverifiedBuiltin } from './snapshot-guard.js';

// Blocking reads of vsock and virtio-serial descriptors each hold a libuv pool
// thread, so the pool must be larger than its default of 4 before its first
// use. node reads UV_THREADPOOL_SIZE then, and loading the loader module
// (agent.mjs) already uses the pool: the guest's /init sets it in the
// environment. From a snapshot nothing has used the pool when the function
// below runs, so it sets the default there too (a value set while the
// snapshot is built is lost).

const state = globalThis as { __kataTsWarmOnly?: boolean; __kataTsLoaded?: Promise<unknown> };

/** As an uncaught error would: reported, exit status 1. */
function fail(err: unknown): never {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}

const building = startupSnapshot.isBuildingSnapshot();
const unverified: string[] = [];
const onWarning = (warning: Error) => {
  const builtin = unverifiedBuiltin(warning);
  if (builtin !== undefined) unverified.push(builtin);
};
if (building) process.on('warning', onWarning);

const modules = import('../agent/main.js');

if (building) {
  // Commander wants argv as [node, script, ...arguments]; a snapshot's argv
  // is [node, ...arguments after "--"]. The builder's argv[1] is this script.
  const script = process.argv[1] ?? 'agent.cjs';
  // Warnings are emitted on the next tick: check once they are all in.
  state.__kataTsLoaded = modules
    .then(() => import('./agent-warm-up.js'))
    .then(({ warmUpAgentStart }) => warmUpAgentStart())
    .then(() => new Promise((resolve) => setImmediate(resolve)))
    .then(() => {
      process.off('warning', onWarning);
      checkUnverifiedBuiltins(unverified);
    });
  startupSnapshot.setDeserializeMainFunction(() => {
    process.env.UV_THREADPOOL_SIZE ??= String(AGENT_THREADPOOL_SIZE);
    modules.then(({ main }) => main([process.argv[0]!, script, ...process.argv.slice(1)])).catch(fail);
  });
} else {
  state.__kataTsLoaded = modules.then(async ({ main }) => {
    if (state.__kataTsWarmOnly !== true) await main(process.argv);
  });
}
state.__kataTsLoaded.catch(fail);
