// Field-by-field comparison of decoded messages for the containerd tests:
// walks a message by its descriptor and names the first field that differs
// (proto field names, e.g. "envelope.event<containerd.events.TaskExit>.pid").
//
// Anys are compared by type URL and then by content: a type our registry
// knows is unpacked and compared field by field; a runtime-spec JSON value
// is parsed and compared as JSON; anything else byte for byte.
import { isDeepStrictEqual } from 'node:util';
import type { DescField, DescMessage, MessageShape } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';

import { anyTypeName, containerdRegistry, unpackAny } from '../../src/protocols/any.js';

type Fields = Record<string, unknown>;

const ANY = 'google.protobuf.Any';

function isJsonTypeUrl(url: string): boolean {
  return url.startsWith('types.containerd.io/');
}

function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `bytes(${Buffer.from(v).toString('hex')})`;
  return JSON.stringify(v);
}

function diffScalar(path: string, got: unknown, want: unknown): string | undefined {
  if (got instanceof Uint8Array && want instanceof Uint8Array) {
    return Buffer.from(got).equals(Buffer.from(want)) ? undefined : `${path}: ${show(got)}, want ${show(want)}`;
  }
  return got === want ? undefined : `${path}: ${show(got)}, want ${show(want)}`;
}

function diffAny(path: string, got: Any | undefined, want: Any | undefined): string | undefined {
  if (got === undefined || want === undefined) {
    return got === want ? undefined : `${path}: ${got === undefined ? 'unset' : 'set'}, want ${want === undefined ? 'unset' : 'set'}`;
  }
  if (got.typeUrl !== want.typeUrl) return `${path}.type_url: ${show(got.typeUrl)}, want ${show(want.typeUrl)}`;
  const inner = containerdRegistry.getMessage(anyTypeName(got));
  if (inner !== undefined) {
    return firstDifference(inner, unpackAny(got, inner, path), unpackAny(want, inner, path), `${path}<${got.typeUrl}>`);
  }
  if (isJsonTypeUrl(got.typeUrl)) {
    const g: unknown = JSON.parse(new TextDecoder().decode(got.value));
    const w: unknown = JSON.parse(new TextDecoder().decode(want.value));
    return isDeepStrictEqual(g, w) ? undefined : `${path}<${got.typeUrl}>: JSON ${JSON.stringify(g)}, want ${JSON.stringify(w)}`;
  }
  return diffScalar(`${path}.value`, got.value, want.value);
}

function diffField(field: DescField, path: string, got: unknown, want: unknown): string | undefined {
  switch (field.fieldKind) {
    case 'scalar':
    case 'enum':
      return diffScalar(path, got, want);
    case 'message':
      if (field.message.typeName === ANY) return diffAny(path, got as Any | undefined, want as Any | undefined);
      if (got === undefined || want === undefined) {
        return got === want ? undefined : `${path}: ${got === undefined ? 'unset' : 'set'}, want ${want === undefined ? 'unset' : 'set'}`;
      }
      return firstDifference(field.message, got as MessageShape<DescMessage>, want as MessageShape<DescMessage>, path);
    case 'list': {
      const g = got as unknown[];
      const w = want as unknown[];
      if (g.length !== w.length) return `${path}: ${g.length} elements, want ${w.length}`;
      for (let i = 0; i < w.length; i++) {
        const at = `${path}[${i}]`;
        const d =
          field.listKind === 'message'
            ? field.message.typeName === ANY
              ? diffAny(at, g[i] as Any, w[i] as Any)
              : firstDifference(field.message, g[i] as MessageShape<DescMessage>, w[i] as MessageShape<DescMessage>, at)
            : diffScalar(at, g[i], w[i]);
        if (d !== undefined) return d;
      }
      return undefined;
    }
    case 'map': {
      const g = got as Record<string, unknown>;
      const w = want as Record<string, unknown>;
      const gk = Object.keys(g).sort();
      const wk = Object.keys(w).sort();
      if (!isDeepStrictEqual(gk, wk)) return `${path}: keys ${JSON.stringify(gk)}, want ${JSON.stringify(wk)}`;
      for (const k of wk) {
        const at = `${path}[${JSON.stringify(k)}]`;
        const d =
          field.mapKind === 'message'
            ? firstDifference(field.message, g[k] as MessageShape<DescMessage>, w[k] as MessageShape<DescMessage>, at)
            : diffScalar(at, g[k], w[k]);
        if (d !== undefined) return d;
      }
      return undefined;
    }
  }
}

/** The first difference between two messages of `schema`, or undefined. */
export function firstDifference(
  schema: DescMessage,
  got: MessageShape<DescMessage>,
  want: MessageShape<DescMessage>,
  path = schema.name,
): string | undefined {
  for (const field of schema.fields) {
    if (field.oneof !== undefined) throw new Error(`${path}.${field.name}: oneof fields are not supported here`);
    const d = diffField(field, `${path}.${field.name}`, (got as Fields)[field.localName], (want as Fields)[field.localName]);
    if (d !== undefined) return d;
  }
  return undefined;
}

function isZeroScalar(v: unknown): boolean {
  return v === 0 || v === 0n || v === '' || v === false || (v instanceof Uint8Array && v.length === 0);
}

/**
 * The paths of the fields left at their zero value, descending into nested
 * messages and into Anys of types our registry knows.
 */
export function unsetFields(schema: DescMessage, msg: MessageShape<DescMessage>, path = schema.name): string[] {
  const out: string[] = [];
  for (const field of schema.fields) {
    const at = `${path}.${field.name}`;
    const v = (msg as Fields)[field.localName];
    switch (field.fieldKind) {
      case 'scalar':
      case 'enum':
        if (isZeroScalar(v)) out.push(at);
        break;
      case 'message':
        if (v === undefined) out.push(at);
        else out.push(...unsetInMessage(field.message, v as MessageShape<DescMessage>, at));
        break;
      case 'list': {
        const list = v as unknown[];
        if (list.length === 0) out.push(at);
        if (field.listKind === 'message') {
          list.forEach((e, i) => out.push(...unsetInMessage(field.message, e as MessageShape<DescMessage>, `${at}[${i}]`)));
        }
        break;
      }
      case 'map':
        if (Object.keys(v as object).length === 0) out.push(at);
        break;
    }
  }
  return out;
}

function unsetInMessage(schema: DescMessage, msg: MessageShape<DescMessage>, path: string): string[] {
  if (schema.typeName !== ANY) return unsetFields(schema, msg, path);
  const any = msg as Any;
  if (any.typeUrl === '') return [path];
  const inner = containerdRegistry.getMessage(anyTypeName(any));
  if (inner !== undefined) return unsetFields(inner, unpackAny(any, inner, path), `${path}<${any.typeUrl}>`);
  return any.value.length === 0 ? [`${path}.value`] : [];
}
