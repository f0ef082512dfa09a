// Interoperability with the reference ttRPC implementation, containerd's Go
// ttrpc, through the Go peer in interop/go (built here with its build.sh from
// Debian's Go packages: golang-go golang-github-containerd-ttrpc-dev
// golang-github-gogo-protobuf-dev gogoprotobuf protobuf-compiler).
//
// Both directions exchange the fixture messages of
// interop/fixtures/agent-fixture.json, which both sides load independently:
// - the Go client runs its checks against our Server;
// - our Client calls the Go server, and every field must arrive intact.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { clone } from '@bufbuild/protobuf';

import {
  AgentService,
  CreateContainerRequestSchema,
  GuestDetailsResponseSchema,
  type CreateContainerRequest,
} from '../../src/protocols/gen/agent_pb.js';
import { Health, HealthCheckResponse_ServingStatus } from '../../src/protocols/gen/health_pb.js';
import { Client, Code, connect, createClient, Server, TtrpcError, type ServiceClient } from '../../src/ttrpc/index.js';
import { firstDifference, loadAgentFixture } from './agent-fixture.js';
import { registerFixtureHandlers } from './fixture-server.js';
import { buildGoPeer, goInstalled, runGoPeer, startGoServer, type GoServer } from './go-peer.js';

const GO_PACKAGES =
  'golang-go golang-github-containerd-ttrpc-dev golang-github-gogo-protobuf-dev gogoprotobuf protobuf-compiler';
const haveGo = goInstalled();
if (!haveGo) {
  console.error(
    `\n*** SKIPPING the Go ttrpc interop tests: "go" is not installed. ***\n` +
      `*** Install the Debian packages: ${GO_PACKAGES} (scripts/install-deps.sh does) ***\n`,
  );
}

/** Rejects unless `promise` fails with a TtrpcError of `code`; returns that error. */
async function rejectsWith(promise: Promise<unknown>, code: Code): Promise<TtrpcError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof TtrpcError, `want a TtrpcError, got ${String(err)}`);
    assert.equal(err.codeName, Code[code], `unexpected status: ${err.message}`);
    return err;
  }
  assert.fail(`want ${Code[code]}, the call succeeded`);
}

describe('interop with containerd Go ttrpc', { skip: haveGo ? false : `go is not installed (needs ${GO_PACKAGES})` }, () => {
  let binary: string;
  let dir: string;

  before(() => {
    binary = buildGoPeer();
    dir = mkdtempSync(join(tmpdir(), 'kata-ttrpc-interop-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('the Go client against our server', () => {
    let server: Server;
    let socket: string;
    const received: CreateContainerRequest[] = [];

    before(async () => {
      socket = join(dir, 'ours.sock');
      server = new Server();
      registerFixtureHandlers(server, loadAgentFixture(), { onCreateContainer: (req) => received.push(req) });
      await server.listen(`unix://${socket}`);
    });
    after(async () => {
      await server?.close();
    });

    test('passes every check: fixtures both ways, error codes, metadata, deadlines, 100 concurrent calls', async () => {
      const result = await runGoPeer(binary, ['client', '--socket', socket, '--concurrency', '100']);
      assert.equal(result.code, 0, `Go client failed:\n${result.stdout}${result.stderr}`);
      assert.match(
        result.stdout,
        /^PASS: 10 checks \(check, version, guest-details, create-container, create-container-mismatch, unknown-method, unknown-service, metadata, deadline, concurrent\)$/m,
      );
    });

    test('the CreateContainer request Go encoded decodes to the fixture, field for field', () => {
      const fixture = loadAgentFixture().CreateContainerRequest;
      // In check order: the exact fixture, then the copy with one field changed.
      assert.ok(received.length >= 2, `only ${received.length} CreateContainer requests arrived`);
      assert.deepStrictEqual(received[0], fixture);
      assert.equal(
        firstDifference(CreateContainerRequestSchema, fixture, received[1]!),
        'OCI.Linux.Resources.Devices[0].Major: want -1, got 0',
      );
      // The concurrent check sent about a third of its 100 calls as CreateContainer.
      assert.ok(received.length >= 2 + 33, `${received.length} CreateContainer requests`);
      for (const request of received.slice(2)) assert.deepStrictEqual(request, fixture);
    });

    test('the Go client notices a reply that differs from the fixture, and names the field', async () => {
      const wrongSocket = join(dir, 'wrong.sock');
      const wrong = new Server();
      const fixture = loadAgentFixture();
      const altered = clone(GuestDetailsResponseSchema, fixture.GuestDetailsResponse);
      altered.agentDetails!.storageHandlers[3] = 'not-mmioblk';
      registerFixtureHandlers(wrong, { ...fixture, GuestDetailsResponse: altered });
      await wrong.listen(`unix://${wrongSocket}`);
      try {
        const result = await runGoPeer(binary, ['client', '--socket', wrongSocket, '--checks', 'guest-details']);
        assert.equal(result.code, 1);
        assert.match(
          result.stderr,
          /FAIL guest-details: GuestDetailsResponse field agent_details\.storage_handlers\[3\]: want "mmioblk", got "not-mmioblk"/,
        );
      } finally {
        await wrong.close();
      }
    });
  });

  describe('our client against the Go server', () => {
    let goServer: GoServer;
    let client: Client;
    let health: ServiceClient<typeof Health>;
    let agent: ServiceClient<typeof AgentService>;

    before(async () => {
      goServer = await startGoServer(binary, join(dir, 'go.sock'));
      client = new Client(await connect(`unix://${goServer.socket}`, { timeoutMs: 5000 }));
      health = createClient(client, Health);
      agent = createClient(client, AgentService);
    });
    after(async () => {
      await client?.close();
      await goServer?.stop();
      if (goServer) assert.equal(existsSync(goServer.socket), false, 'the Go server left its socket behind');
    });

    test('Check answers SERVING', async () => {
      const reply = await health.check(loadAgentFixture().CheckRequest);
      assert.equal(reply.status, HealthCheckResponse_ServingStatus.SERVING);
    });

    test('Version and GetGuestDetails replies arrive intact', async () => {
      const fixture = loadAgentFixture();
      assert.deepStrictEqual(await health.version(fixture.CheckRequest), fixture.VersionCheckResponse);
      // The Go server also checks our request against its fixture.
      assert.deepStrictEqual(await agent.getGuestDetails(fixture.GuestDetailsRequest), fixture.GuestDetailsResponse);
    });

    test('CreateContainer: the Go server finds every field of our request intact', async () => {
      const fixture = loadAgentFixture();
      assert.deepStrictEqual(await agent.createContainer(fixture.CreateContainerRequest), {
        $typeName: 'google.protobuf.Empty',
      });
    });

    test('CreateContainer: a request differing in one deep field is refused with INVALID_ARGUMENT naming it', async () => {
      const request = loadAgentFixture().CreateContainerRequest;
      request.storages[1]!.fsGroup!.groupId = 65533;
      const err = await rejectsWith(agent.createContainer(request), Code.INVALID_ARGUMENT);
      assert.equal(err.message, 'CreateContainerRequest field storages[1].fs_group.group_id: want 65534, got 65533');

      const seccomp = loadAgentFixture().CreateContainerRequest;
      seccomp.OCI!.Linux!.Seccomp!.Syscalls[0]!.ErrnoRet = { case: undefined };
      const oneofErr = await rejectsWith(agent.createContainer(seccomp), Code.INVALID_ARGUMENT);
      assert.equal(oneofErr.message, 'CreateContainerRequest field OCI.Linux.Seccomp.Syscalls[0].ErrnoRet: want set, got unset');
    });

    test('an unknown method or service gets UNIMPLEMENTED (Go ttrpc 1.1; our server answers NOT_FOUND)', async () => {
      const empty = new Uint8Array(0);
      const method = await rejectsWith(client.callRaw('grpc.AgentService', 'NoSuchMethod', empty), Code.UNIMPLEMENTED);
      assert.equal(method.message, 'method NoSuchMethod');
      const service = await rejectsWith(client.callRaw('grpc.NoSuchService', 'Check', empty), Code.UNIMPLEMENTED);
      assert.equal(service.message, 'service grpc.NoSuchService');
    });

    test('metadata reaches the Go server with lower-cased keys', async () => {
      const reply = await health.version(
        { service: 'metadata' },
        { metadata: { 'Agent-Ctl-Cfg': 'auto-values', 'x-interop': ['one', 'two'] } },
      );
      assert.equal(reply.grpcVersion, 'agent-ctl-cfg=auto-values;x-interop=one;x-interop=two');
    });

    test('the deadline travels as timeout_nano, and a call past it fails with DEADLINE_EXCEEDED', async () => {
      // The Go server answers how many ms were left of the deadline it derived.
      const timed = await agent.waitProcess({ containerId: 'deadline-probe', execId: '0s' }, { timeoutMs: 5000 });
      assert.ok(timed.status > 0 && timed.status <= 5000, `the Go server saw ${timed.status} ms left of 5000`);
      const untimed = await agent.waitProcess({ containerId: 'deadline-probe', execId: '0s' });
      assert.equal(untimed.status, -1);

      await rejectsWith(
        agent.waitProcess({ containerId: 'deadline-probe', execId: '10s' }, { timeoutMs: 200 }),
        Code.DEADLINE_EXCEEDED,
      );
      // The connection carries on.
      assert.equal((await health.check({})).status, HealthCheckResponse_ServingStatus.SERVING);
    });

    test('100 concurrent calls of four kinds each get their own correct reply', async () => {
      const fixture = loadAgentFixture();
      const calls = Array.from({ length: 100 }, async (_, i) => {
        switch (i % 4) {
          case 0:
            assert.equal((await health.check({})).status, HealthCheckResponse_ServingStatus.SERVING);
            break;
          case 1:
            assert.deepStrictEqual(await health.version(fixture.CheckRequest), fixture.VersionCheckResponse);
            break;
          case 2:
            assert.deepStrictEqual(await agent.getGuestDetails(fixture.GuestDetailsRequest), fixture.GuestDetailsResponse);
            break;
          default:
            await agent.createContainer(fixture.CreateContainerRequest);
        }
      });
      await Promise.all(calls);
      assert.equal(client.pendingCalls, 0);
    });
  });
});
