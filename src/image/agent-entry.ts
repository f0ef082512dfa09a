// Entry point of the agent bundle the image carries (/opt/kata-ts/agent.mjs),
// doing what bin/kata-ts-agent does for the compiled tree.
//
// Blocking reads of vsock and virtio-serial descriptors each hold a libuv pool
// thread, so the pool is made larger than its default of 4 before first use
// (the agent module is imported only after that).
process.env.UV_THREADPOOL_SIZE ??= '16';
const { main } = await import('../agent/main.js');
await main(process.argv);
