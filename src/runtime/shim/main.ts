// containerd-shim-kata-ts-v2: the containerd runtime v2 shim of kata-ts
// (runtime name io.containerd.kata-ts.v2). containerd runs it three ways
// (see flags.ts): `start` (start.ts), `delete` (delete.ts), and, through
// `start`, without an action: the daemon (daemon.ts).
//
// Output contract: `start` prints only the socket address, `delete` only a
// protobuf DeleteResponse; on failure both print one line on stderr and
// exit 1. The daemon logs to containerd's `log` fifo (its stderr).
import { closeSync, readFileSync, writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { toBinary } from '@bufbuild/protobuf';
import { KATA_TS_VERSION } from '../../common/version.js';
import { DeleteResponseSchema } from '../../protocols/gen/containerd/runtime/v2/task/shim_pb.js';
import { loadConfig } from '../config/load.js';
import { ShimDaemon } from './daemon.js';
import { deleteShim } from './delete.js';
import { parseShimFlags, type ShimFlags } from './flags.js';
import { shimSocketAddress } from './layout.js';
import { SHIM_NAME, shimLogger } from './log.js';
import { CONFIG_ENV, READY_FD_ENV, selfCommand, startShim } from './start.js';

/** The environment variable containerd names its ttRPC socket in. */
export const TTRPC_ADDRESS_ENV = 'TTRPC_ADDRESS';

function writeOut(data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let off = 0;
  while (off < buf.length) off += writeSync(1, buf, off);
}

/** Whatever containerd wrote on stdin (the runtime options), or nothing. */
function readStdin(): Uint8Array {
  try {
    if (isatty(0)) return new Uint8Array();
    return readFileSync(0);
  } catch {
    return new Uint8Array();
  }
}

async function runDaemon(flags: ShimFlags): Promise<number> {
  const readyFd = process.env[READY_FD_ENV] ? Number(process.env[READY_FD_ENV]) : undefined;
  delete process.env[READY_FD_ENV];
  const report = (line: string) => {
    if (readyFd === undefined) return;
    try {
      writeSync(readyFd, `${line}\n`);
      closeSync(readyFd);
    } catch {
      // `start` is gone: nobody to tell
    }
  };
  const logger = shimLogger(flags.debug ? 'debug' : 'info').child({ namespace: flags.namespace, id: flags.id });
  let daemon: ShimDaemon;
  try {
    if (flags.id === '') throw new Error('-id is required');
    const config = await loadConfig(process.env[CONFIG_ENV] || undefined);
    daemon = new ShimDaemon({
      namespace: flags.namespace,
      id: flags.id,
      address: flags.socket ? `unix://${flags.socket}` : shimSocketAddress(flags.address, flags.namespace, flags.id),
      bundle: flags.bundle || process.cwd(),
      config,
      logger,
      grpcAddress: flags.address,
      publishBinary: flags.publishBinary,
      ttrpcAddress: process.env[TTRPC_ADDRESS_ENV] ?? '',
    });
    await daemon.start();
  } catch (err) {
    logger.error({ err }, 'shim failed to start');
    report(`error: ${(err as Error).message.split('\n')[0]}`);
    return 1;
  }
  const d = daemon;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => void d.finish(`${sig} received`));
  // Neither a closed log fifo nor a client going away may end the shim.
  process.on('SIGPIPE', () => {});
  process.on('SIGHUP', () => {});
  // A failure in one relay or call must not take down every container of the
  // pod (a crash would: the VM dies with the shim). Logged, and served on.
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  report('ready');
  return d.done;
}

export async function main(argv: readonly string[]): Promise<number> {
  let flags: ShimFlags;
  try {
    flags = parseShimFlags(argv);
  } catch (err) {
    process.stderr.write(`${SHIM_NAME}: ${(err as Error).message}\n`);
    return 2;
  }
  if (flags.version) {
    writeOut(`${SHIM_NAME}:\n  Version:  ${KATA_TS_VERSION}\n  Runtime:  io.containerd.kata-ts.v2\n`);
    return 0;
  }
  try {
    if (flags.namespace === '') throw new Error('shim namespace cannot be empty (-namespace)');
    switch (flags.action) {
      case 'start': {
        if (flags.id === '') throw new Error('-id is required');
        const address = await startShim({
          namespace: flags.namespace,
          id: flags.id,
          grpcAddress: flags.address,
          publishBinary: flags.publishBinary,
          bundle: flags.bundle || process.cwd(),
          debug: flags.debug,
          options: readStdin(),
          self: selfCommand(),
          env: process.env,
        });
        writeOut(address);
        return 0;
      }
      case 'delete': {
        if (flags.id === '') throw new Error('-id is required');
        const response = await deleteShim({
          namespace: flags.namespace,
          id: flags.id,
          grpcAddress: flags.address,
          bundle: flags.bundle || process.cwd(),
          // stderr is kept by containerd as "cleanup warnings".
          logger: shimLogger(flags.debug ? 'debug' : 'warn'),
        });
        writeOut(toBinary(DeleteResponseSchema, response));
        return 0;
      }
      case '':
        return await runDaemon(flags);
      default:
        throw new Error(`unknown action ${JSON.stringify(flags.action)} (expected start or delete)`);
    }
  } catch (err) {
    process.stderr.write(`${SHIM_NAME}: ${(err as Error).message}\n`);
    return 1;
  }
}
