// `kata-ts-agent-ctl`: a low-level client for the Kata agent API, in the
// spirit of upstream's kata-agent-ctl, plus offline helpers.
import { Command, InvalidArgumentError } from 'commander';
import { KATA_TS_VERSION } from '../common/version.js';
import { parseDuration, CommandSyntaxError } from './command-language.js';
import { runConnect } from './connect-command.js';
import { runRemapSpec } from './remap-spec.js';
import { readFileSync } from 'node:fs';

function durationArg(value: string): number {
  try {
    return value === '0' ? 0 : parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function portArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError(`invalid port ${JSON.stringify(value)}`);
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function fail(message: string): never {
  process.stderr.write(`kata-ts-agent-ctl: ${message}\n`);
  process.exit(1);
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('kata-ts-agent-ctl')
    .description('Low-level client for the Kata agent API (grpc.AgentService and grpc.Health over ttRPC)')
    .version(KATA_TS_VERSION)
    .showHelpAfterError();

  program
    .command('connect')
    .description('connect to an agent and run commands in order, printing each result as a JSON line')
    .requiredOption('--server-address <uri>', 'agent address: unix:///path, unix://@name, vsock://CID:PORT, hvsock://PATH:PORT')
    .option('--hybrid-vsock', 'the unix:// address is a hybrid vsock socket (CONNECT/OK handshake)', false)
    .option('--hybrid-vsock-port <port>', 'guest port for the hybrid vsock handshake', portArg, 1024)
    .option('--timeout <duration>', 'deadline for each call (and for connecting), e.g. 5s; 0 = none', durationArg, 5000)
    .option('-c, --cmd <command>', 'a command: an API name with arguments, or a built-in (repeatable)', collect, [])
    .option('-n, --no-auto-values', 'do not fill in container and sandbox ids and other values automatically')
    .option('--ignore-errors', 'keep going after a failed call', false)
    .option('--bundle-dir <dir>', "OCI bundle whose config.json CreateContainer and ExecProcess use unless spec= is given")
    .addHelpText(
      'after',
      `
Commands:
  <Api> [name=value ...]     e.g. Check, Version, GetGuestDetails, WaitProcess cid=ID exec_id=ID,
                             CreateContainer cid=ID spec=file:///bundle/config.json, SignalProcess signal=TERM
  <Api> json://{...}         the request as JSON with proto field names
  <Api> file:///path.json    the same, from a file
  sleep <duration> | repeat <n> | echo <text> | help | quit

Example:
  kata-ts-agent-ctl connect --server-address unix:///run/agent.sock -c Check -c Version -c GetGuestDetails`,
    )
    .action(async (o: { serverAddress: string; hybridVsock: boolean; hybridVsockPort: number; timeout: number; cmd: string[]; autoValues: boolean; ignoreErrors: boolean; bundleDir?: string }) => {
      if (o.cmd.length === 0) fail('connect: give at least one command with -c');
      try {
        process.exitCode = await runConnect({
          serverAddress: o.serverAddress,
          hybridVsock: o.hybridVsock,
          hybridVsockPort: o.hybridVsockPort,
          timeoutMs: o.timeout,
          commands: o.cmd,
          autoValues: o.autoValues,
          ignoreErrors: o.ignoreErrors,
          bundleDir: o.bundleDir,
          out: (line) => process.stdout.write(`${line}\n`),
        });
      } catch (err) {
        fail(err instanceof CommandSyntaxError ? err.message : (err as Error).message);
      }
    });

  program
    .command('remap-spec')
    .description("apply the agent's device remapping to a config.json offline and print the result")
    .requiredOption('--spec <file>', 'the OCI config.json to rewrite ("-" for stdin)')
    .option('--update <PATH=TYPE:MAJOR:MINOR[@FINALPATH]>', 'a device update with its guest numbers (repeatable)', collect, [])
    .option('--explain', 'print a table of every device and rule, before -> after and why, instead of the spec', false)
    .action((o: { spec: string; update: string[]; explain: boolean }) => {
      let out: string;
      try {
        const specText = readFileSync(o.spec === '-' ? 0 : o.spec, 'utf8');
        out = runRemapSpec({ specText, updates: o.update, explain: o.explain });
      } catch (err) {
        fail(`remap-spec: ${(err as Error).message}`);
      }
      process.stdout.write(out);
    });

  await program.parseAsync(argv);
}
