// Hand-written fast paths for the commonest ttRPC envelope: the response to
// a call that succeeded.
//
// A server sends one for nearly every call, so building a Response message
// and serializing it with protobuf-es (a few objects and a copy per call)
// shows up in profiles as garbage-collector time. Its encoding is short and
// fixed, so it is written by hand straight into the frame:
//
//   0a 00                field 1 (status), length-delimited, 0 bytes: an empty Status
//   12 <varint n> <n>    field 2 (payload); left out when the payload is empty
//
// These are exactly the bytes protobuf-es and containerd's Go ttrpc (gogo
// protobuf) produce for Response{status: {}, payload}: fields in number order,
// the status present even when empty, a proto3 bytes field left out when empty.
// Every other response (any non-OK status) goes through protobuf-es.

import { MESSAGE_HEADER_LENGTH, MESSAGE_LENGTH_MAX, MessageType, writeHeader } from './frame.js';
import { MessageTooLargeError } from './status.js';

/** Tag of Response.status (field 1, wire type 2 = length-delimited). */
const TAG_STATUS = 0x0a;
/** Tag of Response.payload (field 2, wire type 2). */
const TAG_PAYLOAD = 0x12;

/** Bytes the varint encoding of `n` takes (n < 2^32). */
function varintLength(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    bytes++;
  }
  return bytes;
}

/** Writes `n` (< 2^32) as a varint at `offset`; returns the offset after it. */
function writeVarint(buf: Buffer, offset: number, n: number): number {
  while (n >= 0x80) {
    buf[offset++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[offset++] = n;
  return offset;
}

/** Length of the encoded Response{status: {}, payload}. */
export function okResponseLength(payloadLength: number): number {
  const status = 2;
  return payloadLength === 0 ? status : status + 1 + varintLength(payloadLength) + payloadLength;
}

/**
 * The whole response frame (header and Response{status: {}, payload}) for a
 * call that succeeded. Throws MessageTooLargeError (RESOURCE_EXHAUSTED) when
 * the encoded Response is over 4 MiB, as encodeFrame does.
 */
export function encodeOkResponseFrame(streamId: number, payload: Uint8Array): Buffer {
  const length = okResponseLength(payload.length);
  if (length > MESSAGE_LENGTH_MAX) throw new MessageTooLargeError(length, MESSAGE_LENGTH_MAX);
  const frame = Buffer.allocUnsafe(MESSAGE_HEADER_LENGTH + length);
  writeHeader(frame, { length, streamId, type: MessageType.Response, flags: 0 });
  let offset = MESSAGE_HEADER_LENGTH;
  frame[offset++] = TAG_STATUS;
  frame[offset++] = 0;
  if (payload.length > 0) {
    frame[offset++] = TAG_PAYLOAD;
    offset = writeVarint(frame, offset, payload.length);
    frame.set(payload, offset);
  }
  return frame;
}

/**
 * If `body` is exactly an encoded Response{status: {}, payload} (the form
 * above, as every OK response from Go, Rust or us is), returns the payload
 * (a view into `body`, as protobuf-es returns it). Returns undefined for
 * anything else (an error status, fields in another order, unknown fields,
 * a malformed message): the caller then decodes with protobuf-es, which
 * handles the general case and reports malformed input.
 */
export function decodeOkResponse(body: Uint8Array): Uint8Array | undefined {
  if (body.length < 2 || body[0] !== TAG_STATUS || body[1] !== 0) return undefined;
  if (body.length === 2) return body.subarray(2, 2);
  if (body[2] !== TAG_PAYLOAD) return undefined;
  // Read the payload length; at most 5 varint bytes for a 32-bit value.
  let n = 0;
  let scale = 1;
  let offset = 3;
  for (let i = 0; ; i++) {
    if (i === 5 || offset >= body.length) return undefined;
    const byte = body[offset++]!;
    n += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) break;
  }
  // The payload must end the message exactly; trailing fields take the slow path.
  if (offset + n !== body.length) return undefined;
  return body.subarray(offset);
}
