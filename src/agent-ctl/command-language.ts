// agent-ctl's command language, as upstream's kata-agent-ctl has it: each
// `-c` string is one command, run in order.
//
//   Check                                 an API call with automatic values
//   WaitProcess cid=abc exec_id=abc       name=value arguments
//   GetGuestDetails json://{"mem_block_size":true}   a request as JSON (proto field names)
//   CreateContainer file:///tmp/req.json  the same, read from a file
//   sleep 2s | repeat 3 | echo text | help | quit     built-ins (lower-case)

export type Command =
  | { kind: 'api'; name: string; args: Map<string, string>; json?: string; file?: string }
  | { kind: 'sleep'; ms: number }
  | { kind: 'repeat'; count: number }
  | { kind: 'echo'; text: string }
  | { kind: 'help' }
  | { kind: 'quit' };

export class CommandSyntaxError extends Error {
  override name = 'CommandSyntaxError';
}

/** Parses "500ms", "2s", "1m", "1h" or a bare number of seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new CommandSyntaxError(`invalid duration ${JSON.stringify(text)} (expected e.g. 500ms, 2s, 1m)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h']);
}

export function parseCommand(line: string): Command {
  const text = line.trim();
  if (text === '') throw new CommandSyntaxError('empty command');
  const space = text.search(/\s/);
  const name = space < 0 ? text : text.slice(0, space);
  const rest = space < 0 ? '' : text.slice(space + 1).trim();

  // Built-ins start with a lower-case letter; API names with an upper-case one.
  if (/^[a-z]/.test(name)) {
    switch (name) {
      case 'sleep':
        if (!rest) throw new CommandSyntaxError('sleep: needs a duration, e.g. "sleep 2s"');
        return { kind: 'sleep', ms: parseDuration(rest) };
      case 'repeat': {
        if (!/^-?\d+$/.test(rest) || Number(rest) < -1) {
          throw new CommandSyntaxError(`repeat: needs a count (-1 = forever), got ${JSON.stringify(rest)}`);
        }
        return { kind: 'repeat', count: Number(rest) };
      }
      case 'echo':
        return { kind: 'echo', text: rest };
      case 'help':
      case 'list':
        return { kind: 'help' };
      case 'quit':
      case 'exit':
        return { kind: 'quit' };
      default:
        throw new CommandSyntaxError(`unknown built-in command "${name}" (try "help")`);
    }
  }
  if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) throw new CommandSyntaxError(`invalid command name ${JSON.stringify(name)}`);

  const cmd: Command & { kind: 'api' } = { kind: 'api', name, args: new Map() };
  if (rest.startsWith('json://')) {
    cmd.json = rest.slice('json://'.length);
    return cmd;
  }
  for (const word of rest.split(/\s+/).filter(Boolean)) {
    if (word.startsWith('file://') && cmd.file === undefined && !word.includes('=')) {
      cmd.file = word.slice('file://'.length);
      continue;
    }
    const eq = word.indexOf('=');
    if (eq <= 0) throw new CommandSyntaxError(`${name}: argument ${JSON.stringify(word)} is not name=value`);
    cmd.args.set(word.slice(0, eq), word.slice(eq + 1));
  }
  return cmd;
}
