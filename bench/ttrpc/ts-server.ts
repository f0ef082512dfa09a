// Our ttRPC server for the benchmark, in its own process (as the Go server is):
// the interop fixture handlers (grpc.Health/Check is the probe) on a unix
// socket. Prints "listening on PATH" once ready; stops on SIGTERM/SIGINT or
// when stdin closes (so it never outlives run.ts).
//
//   node --import tsx bench/ttrpc/ts-server.ts --socket /tmp/x.sock
import { parseArgs } from 'node:util';

import { Server } from '../../src/ttrpc/index.js';
import { loadAgentFixture } from '../../test/interop/agent-fixture.js';
import { registerFixtureHandlers } from '../../test/interop/fixture-server.js';

const { values } = parseArgs({ options: { socket: { type: 'string' } } });
if (!values.socket) {
  console.error('usage: ts-server.ts --socket PATH');
  process.exit(2);
}

const server = new Server();
registerFixtureHandlers(server, loadAgentFixture());
await server.listen(`unix://${values.socket}`);
console.log(`listening on ${values.socket}`);

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await server.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.resume();
