// Builds an API request message from agent-ctl's arguments: automatic values,
// then a json:// or file:// request, then name=value pairs (which win).
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  create,
  fromJson,
  ScalarType,
  type DescField,
  type DescMessage,
  type JsonValue,
  type Message,
} from '@bufbuild/protobuf';
import { CommandSyntaxError } from './command-language.js';
import { parseSpec, type Spec } from '../oci/spec.js';
import { processToProto, specToProto } from '../oci/convert.js';
import { SpecValidationError } from '../oci/validation-error.js';

/** Short names upstream accepts for request fields. */
const ALIASES: Record<string, string> = { cid: 'container_id', sid: 'sandbox_id' };

/** Values that carry over from one command to the next, as upstream's do. */
export class Session {
  readonly values = new Map<string, string>();
  /**
   * @param autoValues fill ids and other fields automatically (upstream's default)
   * @param bundleDir where `spec=` defaults to (its config.json), as upstream's --bundle-dir
   */
  constructor(
    readonly autoValues: boolean,
    readonly bundleDir?: string,
  ) {}

  /** The container id in use, generated once if none was given. */
  containerId(): string {
    let cid = this.values.get('container_id');
    if (cid === undefined) {
      cid = randomBytes(32).toString('hex');
      this.values.set('container_id', cid);
    }
    return cid;
  }

  sandboxId(): string {
    let sid = this.values.get('sandbox_id');
    if (sid === undefined) {
      sid = randomBytes(32).toString('hex');
      this.values.set('sandbox_id', sid);
    }
    return sid;
  }
}

/** A signal by number ("9") or name ("KILL", "SIGKILL", "kill"). */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const name = text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
  const n = (osConstants.signals as Record<string, number>)[name];
  if (n === undefined) throw new CommandSyntaxError(`signal: unknown signal ${JSON.stringify(text)}`);
  return n;
}

function parseScalar(field: DescField & { fieldKind: 'scalar' }, text: string): unknown {
  const bad = () => new CommandSyntaxError(`${field.name}: invalid value ${JSON.stringify(text)} for a ${ScalarType[field.scalar].toLowerCase()} field`);
  switch (field.scalar) {
    case ScalarType.STRING:
      return text;
    case ScalarType.BOOL:
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      throw bad();
    case ScalarType.BYTES:
      return new TextEncoder().encode(text);
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT: {
      const n = Number(text);
      if (!Number.isFinite(n)) throw bad();
      return n;
    }
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      if (!/^-?\d+$/.test(text)) throw bad();
      return BigInt(text);
    default:
      if (!/^-?\d+$/.test(text)) throw bad();
      return Number(text);
  }
}

function setArg(msg: Record<string, unknown>, field: DescField, text: string): void {
  if (field.name === 'signal' && field.fieldKind === 'scalar') {
    msg[field.localName] = parseSignal(text);
  } else if (field.fieldKind === 'scalar') {
    msg[field.localName] = parseScalar(field, text);
  } else if (field.fieldKind === 'enum') {
    const v = field.enum.values.find((e) => e.name === text || String(e.number) === text);
    if (!v) throw new CommandSyntaxError(`${field.name}: unknown value ${JSON.stringify(text)}`);
    msg[field.localName] = v.number;
  } else if (field.fieldKind === 'list' && field.listKind === 'scalar') {
    const item = { ...field, fieldKind: 'scalar' } as unknown as DescField & { fieldKind: 'scalar' };
    msg[field.localName] = text === '' ? [] : text.split(',').map((t) => parseScalar(item, t));
  } else {
    throw new CommandSyntaxError(`${field.name}: cannot be given as name=value; use json:// or file://`);
  }
}

export interface RequestArgs {
  args: Map<string, string>;
  json?: string;
  file?: string;
}

/** Reads and validates an OCI config.json named by `spec=file:///path` (or a plain path). */
export function loadSpecFile(ref: string): Spec {
  const path = ref.startsWith('file://') ? ref.slice('file://'.length) : ref;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CommandSyntaxError(`spec: cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return parseSpec(json);
  } catch (err) {
    if (err instanceof SpecValidationError) throw new CommandSyntaxError(`spec ${path}: ${err.message}`);
    throw err;
  }
}

/**
 * `spec=` fills the request's OCI spec (CreateContainer) or its process
 * (ExecProcess, from the spec's process section).
 */
function applySpec(schema: DescMessage, fields: Record<string, unknown>, ref: string): void {
  const spec = loadSpecFile(ref);
  const byName = new Map(schema.fields.map((f) => [f.name, f]));
  const oci = byName.get('OCI');
  const proc = byName.get('process');
  if (oci) fields[oci.localName] = specToProto(spec);
  else if (proc) {
    if (!spec.process) throw new CommandSyntaxError(`spec ${ref}: has no process section`);
    fields[proc.localName] = processToProto(spec.process);
  }
}

/** Builds `schema`'s request for one command. Throws CommandSyntaxError on bad arguments. */
export function buildRequest<Desc extends DescMessage>(schema: Desc, input: RequestArgs, session: Session): Message {
  const byName = new Map(schema.fields.map((f) => [f.name, f]));

  // Arguments of this command must name fields of its request (or be known aliases).
  for (const key of input.args.keys()) {
    if (key === 'spec' && (byName.has('OCI') || byName.has('process'))) continue;
    const name = ALIASES[key] ?? key;
    if (!byName.has(name)) {
      throw new CommandSyntaxError(`${schema.typeName} has no field "${key}" (fields: ${[...byName.keys()].join(', ') || 'none'})`);
    }
    session.values.set(name, input.args.get(key)!);
  }

  let msg: Message;
  if (input.json !== undefined || input.file !== undefined) {
    const text = input.json ?? readFileSync(input.file!, 'utf8');
    let json: JsonValue;
    try {
      json = JSON.parse(text) as JsonValue;
    } catch (err) {
      throw new CommandSyntaxError(`request JSON: ${(err as Error).message}`);
    }
    try {
      msg = fromJson(schema, json);
    } catch (err) {
      throw new CommandSyntaxError(`request JSON for ${schema.typeName}: ${(err as Error).message}`);
    }
  } else {
    msg = create(schema);
  }
  const fields = msg as unknown as Record<string, unknown>;

  const fromJsonInput = input.json !== undefined || input.file !== undefined;
  const explicit = new Set([...input.args.keys()].map((k) => ALIASES[k] ?? k));
  const auto = session.autoValues && !fromJsonInput;

  if (auto) {
    for (const f of schema.fields) {
      if (explicit.has(f.name)) continue;
      if (f.name === 'container_id') fields[f.localName] = session.containerId();
      if (f.name === 'sandbox_id') fields[f.localName] = session.sandboxId();
      if (f.name === 'exec_id') fields[f.localName] = session.values.get('exec_id') ?? session.containerId();
      // GetGuestDetails: ask for everything.
      if (f.name === 'mem_block_size' || f.name === 'mem_hotplug_probe') fields[f.localName] = true;
    }
  }

  // name=value pairs given now always apply; remembered ones only fill a
  // request built from automatic values.
  for (const [name, value] of session.values) {
    const field = byName.get(name);
    if (field && (explicit.has(name) || auto)) setArg(fields, field, value);
  }

  // spec=file:///path/config.json, or the bundle's config.json by default.
  const specRef = input.args.get('spec') ?? (auto && session.bundleDir !== undefined ? `${session.bundleDir}/config.json` : undefined);
  if (specRef !== undefined && (byName.has('OCI') || byName.has('process'))) applySpec(schema, fields, specRef);
  return msg;
}
