// Runs, while the agent's startup snapshot is built, the pure code the agent
// runs as it starts and answers its first calls: parsing its command line
// and configuration, logging, and a Health.Check round trip through a ttRPC
// server and client over an in-memory stream, plus protobuf encoding of the
// first AgentService requests.
//
// Why: V8 keeps in the snapshot the compiled code of the functions that ran
// while it was built; any other function is compiled from source when it is
// first called, which is slow under TCG. Nothing here opens a file, device,
// socket or timer, and nothing it creates is kept.
import { Duplex } from 'node:stream';
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape } from '@bufbuild/protobuf';
import { pino } from 'pino';
import { parseAgentArgs } from '../agent/main.js';
import { resolveConfig } from '../agent/config.js';
import { healthService } from '../agent/rpc/health-service.js';
import { CreateSandboxRequestSchema, GuestDetailsRequestSchema, GuestDetailsResponseSchema } from '../protocols/gen/agent_pb.js';
import { Health } from '../protocols/gen/health_pb.js';
import { Client, createClient, Server } from '../ttrpc/index.js';

/** Two streams, each delivering what is written to it to the other. */
function streamPair(): [Duplex, Duplex] {
  let a!: Duplex;
  let b!: Duplex;
  const end = (to: () => Duplex) => (chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void) => {
    to().push(chunk);
    done();
  };
  a = new Duplex({ read() {}, write: end(() => b), final: (done) => (b.push(null), done()) });
  b = new Duplex({ read() {}, write: end(() => a), final: (done) => (a.push(null), done()) });
  return [a, b];
}

function roundTrip<D extends DescMessage>(schema: D, init: MessageInitShape<D>): void {
  fromBinary(schema, toBinary(schema, create(schema, init)));
}

/** Runs the agent's start-up code paths on throwaway objects. */
export async function warmUpAgentStart(): Promise<void> {
  const argv = ['node', 'agent', '--server-addr', 'serial:///dev/virtio-ports/agent.channel.0', '--log-level', 'info', '--oci-runtime', 'crun'];
  const flags = parseAgentArgs(argv);
  const config = resolveConfig({
    flags: { serverAddr: flags.serverAddr, logLevel: flags.logLevel, ociRuntime: flags.ociRuntime },
    env: {},
    kernelCmdline: 'console=ttyS0 agent.log=debug agent.hotplug_timeout=3 agent.server_addr=serial:///dev/virtio-ports/agent.channel.0',
  });
  // The agent's loggers write JSON lines to a stream; this one drops them.
  const logger = pino({ name: 'kata-ts-agent', level: 'debug', base: { pid: 0, name: 'kata-ts-agent' } }, { write: () => {} });
  logger.debug({ config }, 'configuration');
  logger.info({ address: config.serverAddr }, 'agent listening');

  const server = new Server({ logger });
  server.register(Health, healthService());
  const [serverSide, clientSide] = streamPair();
  const served = server.handleConnection(serverSide);
  const client = new Client(clientSide);
  const health = createClient(client, Health);
  await health.check({ service: '' });
  await health.version({});
  await client.close();
  await server.close();
  await served;

  roundTrip(GuestDetailsRequestSchema, { memBlockSize: true, memHotplugProbe: true });
  roundTrip(GuestDetailsResponseSchema, { memBlockSizeBytes: 128n << 20n, agentDetails: { version: '0', storageHandlers: ['9p'] } });
  roundTrip(CreateSandboxRequestSchema, {
    hostname: 'sandbox',
    dns: ['nameserver 192.0.2.1'],
    storages: [{ driver: '9p', source: 'kataShared', fstype: '9p', options: ['trans=virtio'], mountPoint: '/run/kata-containers/shared/containers' }],
    sandboxId: 'sandbox',
  });
}
