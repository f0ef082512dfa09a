// `kata-ts-agent-ctl remap-spec`: run device remapping on a config.json
// offline, to see what the agent would do to a spec.
//
//   remap-spec --spec config.json --update /dev/a=c:1:5 --update /dev/b=b:254:0@/dev/vdb [--explain]
//
// Each --update is PATH=TYPE:MAJOR:MINOR[@FINALPATH]: the device the spec
// calls PATH is, in the guest, TYPE (b or c) MAJOR:MINOR, and optionally gets
// renamed to FINALPATH. The output is the rewritten config.json, or with
// --explain a table of every device and rule: before, after and why.
import { explainDeviceRemap, formatExplainTable } from '../oci/devices/explain.js';
import { remapSpecDevices } from '../oci/devices/remap.js';
import type { DeviceUpdate, RemappableSpec } from '../oci/devices/types.js';

/** A command-line argument or input file that cannot be used. */
export class RemapSpecInputError extends Error {
  override readonly name = 'RemapSpecInputError';
}

const UPDATE_FORM = 'PATH=TYPE:MAJOR:MINOR[@FINALPATH], e.g. /dev/vda=b:254:0';

/** Parses one --update value. */
export function parseUpdateArg(s: string): DeviceUpdate {
  const bad = (why: string) => new RemapSpecInputError(`bad --update ${JSON.stringify(s)}: ${why} (expected ${UPDATE_FORM})`);
  const eq = s.indexOf('=');
  if (eq < 0) throw bad('no "="');
  const containerPath = s.slice(0, eq);
  if (!containerPath.startsWith('/')) throw bad(`PATH ${JSON.stringify(containerPath)} is not an absolute path`);

  let numbers = s.slice(eq + 1);
  let finalPath: string | undefined;
  const at = numbers.indexOf('@');
  if (at >= 0) {
    finalPath = numbers.slice(at + 1);
    numbers = numbers.slice(0, at);
    if (!finalPath.startsWith('/')) throw bad(`FINALPATH ${JSON.stringify(finalPath)} is not an absolute path`);
  }

  const parts = numbers.split(':');
  if (parts.length !== 3) throw bad(`${JSON.stringify(numbers)} is not TYPE:MAJOR:MINOR`);
  const [type, majorText, minorText] = parts as [string, string, string];
  if (type !== 'b' && type !== 'c') throw bad(`TYPE ${JSON.stringify(type)} is not "b" or "c"`);
  const major = parseDeviceNumber(majorText);
  if (major === undefined) throw bad(`MAJOR ${JSON.stringify(majorText)} is not a non-negative decimal integer`);
  const minor = parseDeviceNumber(minorText);
  if (minor === undefined) throw bad(`MINOR ${JSON.stringify(minorText)} is not a non-negative decimal integer`);

  const update: DeviceUpdate = { containerPath, type, major, minor };
  if (finalPath !== undefined) update.finalPath = finalPath;
  return update;
}

function parseDeviceNumber(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 0xffffffff ? n : undefined;
}

export interface RemapSpecOptions {
  /** The config.json text. */
  specText: string;
  /** The --update values, in order. */
  updates: readonly string[];
  /** Print the explanation table instead of the spec. */
  explain: boolean;
}

/**
 * Runs remap-spec and returns what it prints on stdout: the rewritten spec as
 * pretty JSON, or the explanation table. Throws RemapSpecInputError on bad
 * arguments or JSON, and the remapping's own errors (DeviceRemapError).
 */
export function runRemapSpec(opts: RemapSpecOptions): string {
  const updates = opts.updates.map(parseUpdateArg);
  let spec: unknown;
  try {
    spec = JSON.parse(opts.specText);
  } catch (err) {
    throw new RemapSpecInputError(`the spec is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new RemapSpecInputError('the spec must be a JSON object (an OCI config.json)');
  }
  const remappable = spec as RemappableSpec;
  if (opts.explain) return formatExplainTable(explainDeviceRemap(remappable, updates));
  return JSON.stringify(remapSpecDevices(remappable, updates), null, 2) + '\n';
}
