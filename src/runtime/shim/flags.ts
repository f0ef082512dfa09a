// The command line containerd gives a shim v2 binary, parsed the way Go's
// `flag` package does (containerd's shim library uses it, so these are the
// forms containerd and people typing by hand use):
//
//   containerd-shim-kata-ts-v2 -namespace NS -address /run/containerd/containerd.sock \
//       -publish-binary /usr/bin/containerd -id ID [-debug] start
//   containerd-shim-kata-ts-v2 -namespace NS -address ... -publish-binary ... \
//       -id ID -bundle /path/to/bundle delete
//   containerd-shim-kata-ts-v2 -namespace NS -id ID -address ... [-socket PATH]   (the daemon)
//
// A flag is `-name value`, `-name=value`, or the same with `--`; a boolean
// flag is `-name` or `-name=true|false`. Parsing stops at the first argument
// that is not a flag (the action) or after `--`. An unknown flag is an error.

export interface ShimFlags {
  /** containerd namespace of the task (required for every action). */
  namespace: string;
  /** Task (container) id. */
  id: string;
  /** containerd's gRPC socket path (the events fallback and the socket name use it). */
  address: string;
  /** The binary that publishes an event given on stdin (containerd itself). */
  publishBinary: string;
  /** The socket to serve on in daemon mode (default: the one computed from address, namespace, id). */
  socket: string;
  /** The bundle directory, when it is not the working directory (delete). */
  bundle: string;
  debug: boolean;
  /** Print the version and exit. */
  version: boolean;
  /** `start`, `delete`, or '' for the daemon. */
  action: string;
  /** Arguments after the action (ignored, as containerd's shims do). */
  rest: string[];
}

export class FlagError extends Error {
  override name = 'FlagError';
}

type StringFlag = 'namespace' | 'id' | 'address' | 'publishBinary' | 'socket' | 'bundle';
type BoolFlag = 'debug' | 'version';

const STRING_FLAGS: Record<string, StringFlag> = {
  namespace: 'namespace',
  id: 'id',
  address: 'address',
  'publish-binary': 'publishBinary',
  socket: 'socket',
  bundle: 'bundle',
};

const BOOL_FLAGS: Record<string, BoolFlag> = {
  debug: 'debug',
  v: 'version',
};

/** What Go's strconv.ParseBool accepts. */
function parseBool(name: string, text: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(text)) return false;
  throw new FlagError(`invalid boolean value ${JSON.stringify(text)} for -${name}`);
}

export function parseShimFlags(argv: readonly string[]): ShimFlags {
  const flags: ShimFlags = {
    namespace: '',
    id: '',
    address: '',
    publishBinary: 'containerd',
    socket: '',
    bundle: '',
    debug: false,
    version: false,
    action: '',
    rest: [],
  };
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (arg.length < 2 || !arg.startsWith('-')) break;
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    if (body === '' || body.startsWith('-') || body.startsWith('=')) throw new FlagError(`bad flag syntax: ${arg}`);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    i++;
    const boolKey = BOOL_FLAGS[name];
    if (boolKey) {
      flags[boolKey] = inline === undefined ? true : parseBool(name, inline);
      continue;
    }
    const key = STRING_FLAGS[name];
    if (!key) throw new FlagError(`flag provided but not defined: -${name}`);
    if (inline !== undefined) {
      flags[key] = inline;
      continue;
    }
    if (i >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
    flags[key] = argv[i++]!;
  }
  flags.action = argv[i] ?? '';
  flags.rest = argv.slice(i + 1);
  return flags;
}
