// Entry point of the agent bundle the image carries (/opt/kata-ts/agent.mjs),
// doing what bin/kata-ts-agent does for the compiled tree.
//
// Blocking reads of vsock and virtio-serial descriptors each hold a libuv pool
// thread, so the pool is made larger than its default of 4 before first use
// (the agent module is imported only after that).
process.env.UV_THREADPOOL_SIZE ??= '16';
//
// The bundle is a CommonJS script (see agent-bundle.ts): no top-level await.
// When the image builder writes the code cache, the loader sets
// __kataTsWarmOnly: the modules are evaluated, the agent is not started, and
// __kataTsLoaded tells the loader when the modules are in.
const state = globalThis as { __kataTsWarmOnly?: boolean; __kataTsLoaded?: Promise<unknown> };
state.__kataTsLoaded = import('../agent/main.js').then(async ({ main }) => {
  if (state.__kataTsWarmOnly !== true) await main(process.argv);
});
state.__kataTsLoaded.catch((err: unknown) => {
  // As an uncaught error would: reported, exit status 1.
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
