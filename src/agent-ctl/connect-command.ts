// `agent-ctl connect`: open one ttRPC connection to an agent and run the
// given commands in order, printing each result as one line of JSON.
import { setTimeout as sleep } from 'node:timers/promises';
import { toJson } from '@bufbuild/protobuf';
import { Client, connect, isTtrpcError, codeName } from '../ttrpc/index.js';
import { parseCommand, CommandSyntaxError, type Command } from './command-language.js';
import { apiNames, lookupApi } from './api-table.js';
import { buildRequest, Session } from './request-builder.js';

export interface ConnectOptions {
  serverAddress: string;
  hybridVsock: boolean;
  hybridVsockPort: number;
  /** Per-call deadline in ms; 0 = none. */
  timeoutMs: number;
  commands: string[];
  autoValues: boolean;
  ignoreErrors: boolean;
  /** Default OCI bundle for CreateContainer/ExecProcess (its config.json). */
  bundleDir?: string;
  out: (line: string) => void;
}

/** Adds the hvsock scheme when --hybrid-vsock says a unix:// address is a hybrid vsock socket. */
export function effectiveAddress(address: string, hybridVsock: boolean, port: number): string {
  if (!hybridVsock) return address;
  if (address.startsWith('unix://')) return `hvsock://${address.slice('unix://'.length)}:${port}`;
  return address;
}

/** Runs the commands; resolves to the process exit code. */
export async function runConnect(opts: ConnectOptions): Promise<number> {
  // Parse everything first so a typo fails before anything is sent.
  let commands: Command[];
  try {
    commands = opts.commands.map(parseCommand);
    for (const c of commands) {
      if (c.kind === 'api' && !lookupApi(c.name)) throw new CommandSyntaxError(`unknown API command "${c.name}" (try "help")`);
    }
  } catch (err) {
    throw err instanceof CommandSyntaxError ? err : new CommandSyntaxError(String(err));
  }

  const address = effectiveAddress(opts.serverAddress, opts.hybridVsock, opts.hybridVsockPort);
  const stream = await connect(address, { timeoutMs: opts.timeoutMs > 0 ? opts.timeoutMs : undefined, hybridVsockPort: opts.hybridVsockPort });
  const client = new Client(stream);
  const session = new Session(opts.autoValues, opts.bundleDir);
  const metadata = opts.autoValues ? { 'agent-ctl-cfg': 'auto-values' } : undefined;
  let failed = false;
  try {
    let repeat = 1;
    for (const cmd of commands) {
      if (cmd.kind === 'repeat') {
        repeat = cmd.count;
        continue;
      }
      for (let i = 0; repeat < 0 || i < repeat; i++) {
        if (cmd.kind === 'quit') return failed ? 1 : 0;
        if (cmd.kind === 'sleep') await sleep(cmd.ms);
        else if (cmd.kind === 'echo') opts.out(JSON.stringify({ echo: cmd.text }));
        else if (cmd.kind === 'help') opts.out(JSON.stringify({ commands: apiNames(), builtins: ['echo', 'help', 'quit', 'repeat', 'sleep'] }));
        else if (cmd.kind === 'api') {
          const method = lookupApi(cmd.name)!;
          const request = buildRequest(method.input, cmd, session);
          try {
            const response = await client.call(method, request, { timeoutMs: opts.timeoutMs > 0 ? opts.timeoutMs : undefined, metadata });
            const result: Record<string, unknown> = {
              command: method.name,
              response: toJson(method.output, response as never, { useProtoFieldName: true, alwaysEmitImplicit: true }),
            };
            // Process output is bytes (base64 in JSON); show it as text too, for people.
            const data = (response as { data?: unknown }).data;
            if (data instanceof Uint8Array && (method.name === 'ReadStdout' || method.name === 'ReadStderr')) {
              result.text = Buffer.from(data).toString('utf8');
            }
            opts.out(JSON.stringify(result));
          } catch (err) {
            if (!isTtrpcError(err)) throw err;
            failed = true;
            opts.out(JSON.stringify({ command: method.name, error: { code: codeName(err.code), message: err.message } }));
            if (!opts.ignoreErrors) return 1;
          }
        }
      }
      repeat = 1;
    }
    return failed ? 1 : 0;
  } finally {
    await client.close();
  }
}
