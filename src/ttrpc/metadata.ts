// Call metadata: string key/value pairs sent with a request, like gRPC headers.
//
// On the wire it is a repeated KeyValue list (a key may repeat). Keys are
// lower-cased on both sides, as containerd's ttrpc MD helpers do, so lookups
// do not depend on the sender's spelling. Unknown keys are passed along.

import { create } from '@bufbuild/protobuf';
import { KeyValueSchema, type KeyValue } from '../protocols/gen/ttrpc_pb.js';

/** What a caller may pass as metadata: a Map or a plain object, one value or several per key. */
export type MetadataInit =
  | ReadonlyMap<string, string | readonly string[]>
  | Readonly<Record<string, string | readonly string[]>>;

/** Metadata as a handler sees it: lower-cased key -> values in the order received. */
export type Metadata = Map<string, string[]>;

/** The KeyValue list for a request. */
export function metadataToKeyValues(init: MetadataInit | undefined): KeyValue[] {
  if (init === undefined) return [];
  const entries = init instanceof Map ? [...init.entries()] : Object.entries(init);
  const out: KeyValue[] = [];
  for (const [key, value] of entries) {
    const values: readonly string[] = typeof value === 'string' ? [value] : value;
    for (const v of values) out.push(create(KeyValueSchema, { key: key.toLowerCase(), value: v }));
  }
  return out;
}

/** Groups a request's KeyValue list by lower-cased key. */
export function metadataFromKeyValues(pairs: readonly KeyValue[]): Metadata {
  const md: Metadata = new Map();
  for (const { key, value } of pairs) {
    const k = key.toLowerCase();
    const list = md.get(k);
    if (list) list.push(value);
    else md.set(k, [value]);
  }
  return md;
}
