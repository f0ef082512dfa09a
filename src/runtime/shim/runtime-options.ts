// The runtime options containerd hands a shim: a google.protobuf.Any on the
// stdin of `start` (and again in CreateTaskRequest.options). For a runtime
// that is not runc, containerd's CRI plugin (from the `options` table of
// the runtime in its config) and `ctr run --runtime-config-path` both send
// containerd's generic message
//
//   runtimeoptions.v1.Options { string type_url = 1; string config_path = 2; }
//
// whose config_path names our configuration file. Other option types are
// ignored (they are meant for other shims).
import { fromBinary } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

export const RUNTIME_OPTIONS_TYPE = 'runtimeoptions.v1.Options';

export interface RuntimeOptions {
  /** The Any's type URL, whatever it was. */
  typeUrl: string;
  /** runtimeoptions.v1.Options.config_path, when the options are of that type and set it. */
  configPath?: string;
}

/** Decodes the bytes containerd wrote on stdin; undefined for none. Throws on bytes that are not an Any. */
export function decodeRuntimeOptions(data: Uint8Array): RuntimeOptions | undefined {
  if (data.length === 0) return undefined;
  let any;
  try {
    any = fromBinary(AnySchema, data);
  } catch (err) {
    throw new Error(`runtime options on stdin are not a protobuf Any: ${(err as Error).message}`, { cause: err });
  }
  const name = any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1);
  if (name !== RUNTIME_OPTIONS_TYPE) return { typeUrl: any.typeUrl };
  let configPath: string | undefined;
  try {
    const reader = new BinaryReader(any.value);
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field === 2 && wireType === WireType.LengthDelimited) configPath = reader.string();
      else reader.skip(wireType, field);
    }
  } catch (err) {
    throw new Error(`invalid ${RUNTIME_OPTIONS_TYPE} in the runtime options: ${(err as Error).message}`, { cause: err });
  }
  return { typeUrl: any.typeUrl, ...(configPath ? { configPath } : {}) };
}
