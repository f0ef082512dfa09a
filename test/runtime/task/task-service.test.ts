// The task API's wire layer against a real ttRPC client on a unix socket:
// bad requests are refused with the status containerd expects and a message
// naming the field, before any VM is started; Connect and Checkpoint answer
// as documented. (Tasks in real VMs: test/runtime/cli and test/managers.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectUnix, createClient, Client, Code, isTtrpcError, Server, type ServiceClient } from '../../../src/ttrpc/index.js';
import { Task } from '../../../src/protocols/gen/containerd/runtime/v2/task/shim_pb.js';
import { packAny, packJsonAny } from '../../../src/protocols/any.js';
import { MountSchema } from '../../../src/protocols/gen/containerd/types/mount_pb.js';
import { parseConfigText } from '../../../src/runtime/config/load.js';
import { openTaskIo } from '../../../src/runtime/task/open-io.js';
import { TaskManager } from '../../../src/runtime/task/task-manager.js';
import { EXEC_OWNER_METADATA, OCI_PROCESS_TYPE_URL, taskService } from '../../../src/runtime/task/task-service.js';
import { KATA_TS_VERSION } from '../../../src/common/version.js';

describe('task service (containerd.task.v2.Task) without a VM', () => {
  let dir: string;
  let server: Server;
  let client: Client;
  let task: ServiceClient<typeof Task>;
  let shutdowns = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-tasksvc-'));
    // A configuration whose VM could never boot: nothing here may try.
    const config = parseConfigText('[hypervisor.qemu]\npath = "/nonexistent/qemu"\n');
    const manager = new TaskManager({ sandboxId: 'sb', config, runDir: join(dir, 'vm'), openIo: openTaskIo });
    server = new Server();
    server.register(Task, taskService({ manager, ownPid: 4242, onShutdown: () => shutdowns++ }));
    await server.listen(`unix://${join(dir, 'task.sock')}`);
    client = new Client(await connectUnix(join(dir, 'task.sock')));
    task = createClient(client, Task);
    const bundle = join(dir, 'bundle');
    await mkdir(join(bundle, 'rootfs'), { recursive: true });
    await writeFile(join(bundle, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', process: { args: ['true'], cwd: '/' }, root: { path: 'rootfs' } }));
  });
  after(async () => {
    await client?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function failure(call: Promise<unknown>): Promise<{ code: Code; message: string }> {
    try {
      await call;
    } catch (err) {
      assert.ok(isTtrpcError(err), String(err));
      return { code: err.code, message: err.message };
    }
    assert.fail('the call succeeded');
  }

  test('State, Kill, Wait, Delete, Pids of an unknown task: NOT_FOUND naming it', async () => {
    for (const call of [task.state({ id: 'nope' }), task.kill({ id: 'nope', signal: 9 }), task.wait({ id: 'nope' }), task.delete({ id: 'nope' }), task.pids({ id: 'nope' })]) {
      const f = await failure(call);
      assert.equal(f.code, Code.NOT_FOUND);
      assert.match(f.message, /task nope not found/);
    }
  });

  test('a missing id: INVALID_ARGUMENT "id: required"', async () => {
    const f = await failure(task.state({ id: '' }));
    assert.equal(f.code, Code.INVALID_ARGUMENT);
    assert.equal(f.message, 'id: required');
  });

  test('Create refuses bad fields before booting anything', async () => {
    const bundle = join(dir, 'bundle');
    const cases: [Parameters<typeof task.create>[0], RegExp][] = [
      [{ id: 'bad/id', bundle }, /^id: /],
      [{ id: 'c1', bundle: 'relative/dir' }, /^bundle: must be an absolute path/],
      [{ id: 'c1', bundle: join(dir, 'missing') }, /^bundle: cannot read .*missing\/config\.json/],
      [{ id: 'c1', bundle, stdout: 'binary:///usr/bin/logger' }, /^stdout: binary:\/\/ log drivers are not supported/],
      [{ id: 'c1', bundle, stdin: 'tcp://host:1' }, /^stdin: /],
      [{ id: 'c1', bundle, rootfs: [{ type: '', source: 'x', options: [] }] }, /^rootfs\[0\]\.type: empty/],
    ];
    for (const [req, message] of cases) {
      const f = await failure(task.create(req));
      assert.equal(f.code, Code.INVALID_ARGUMENT, `${JSON.stringify(req)}: ${f.message}`);
      assert.match(f.message, message);
    }
    const c = await failure(task.create({ id: 'c1', bundle, checkpoint: '/some/checkpoint' }));
    assert.equal(c.code, Code.UNIMPLEMENTED);
    // Nothing was created: no VM directory, the id is free again.
    assert.deepEqual((await readdir(dir)).sort(), ['bundle', 'task.sock']);
    assert.equal((await failure(task.state({ id: 'c1' }))).code, Code.NOT_FOUND);
  });

  test('Exec and Update check their Any payloads; Start checks the owner pid', async () => {
    const wrongType = await failure(task.exec({ id: 'x', execId: 'e', spec: packAny(MountSchema, { type: 'bind' }) }));
    assert.equal(wrongType.code, Code.INVALID_ARGUMENT);
    assert.match(wrongType.message, /^spec/);
    const notJson = await failure(task.exec({ id: 'x', execId: 'e', spec: { typeUrl: OCI_PROCESS_TYPE_URL, value: new TextEncoder().encode('{nope') } }));
    assert.equal(notJson.code, Code.INVALID_ARGUMENT);
    const missing = await failure(task.update({ id: 'x' }));
    assert.equal(missing.code, Code.INVALID_ARGUMENT);
    assert.match(missing.message, /^resources/);
    const noTask = await failure(task.exec({ id: 'x', execId: 'e', spec: packJsonAny(OCI_PROCESS_TYPE_URL, { args: ['true'], cwd: '/' }) }));
    assert.equal(noTask.code, Code.NOT_FOUND);
    const badOwner = await failure(task.start({ id: 'x', execId: 'e' }, { metadata: { [EXEC_OWNER_METADATA]: 'abc' } }));
    assert.equal(badOwner.code, Code.INVALID_ARGUMENT);
    assert.match(badOwner.message, /exec-owner-pid: not a pid/);
  });

  test('Connect reports our pid and version; Checkpoint is UNIMPLEMENTED; Shutdown with no task ends', async () => {
    const c = await task.connect({ id: 'x' });
    assert.equal(c.shimPid, 4242);
    assert.equal(c.version, KATA_TS_VERSION);
    assert.equal((await failure(task.checkpoint({ id: 'x', path: '/p' }))).code, Code.UNIMPLEMENTED);
    await task.shutdown({ id: 'x' });
    assert.equal(shutdowns, 1);
  });
});
