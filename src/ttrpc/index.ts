// ttRPC: the small RPC protocol of containerd and Kata Containers (protobuf
// messages over a framed byte stream). This package knows nothing about
// containers; see README.md for the protocol and the public API.

export { Client, createClient, type CallOptions, type ClientOptions, type ServiceClient } from './client.js';
export {
  decodeHeader,
  encodeFrame,
  encodeHeader,
  FrameDecoder,
  MESSAGE_HEADER_LENGTH,
  MESSAGE_LENGTH_MAX,
  MessageType,
  type DecodedFrame,
  type FrameHeader,
} from './frame.js';
export type { Logger } from './logger.js';
export type { Metadata, MetadataInit } from './metadata.js';
export {
  Server,
  type CallContext,
  type MethodImpl,
  type RawHandler,
  type ServerOptions,
  type ServiceImpl,
} from './server.js';
export {
  CancelledError,
  Code,
  codeName,
  ConnectionClosedError,
  DeadlineExceededError,
  isTtrpcError,
  MessageTooLargeError,
  statusOfError,
  TtrpcError,
  ttrpcError,
} from './status.js';
export {
  DEFAULT_AGENT_VSOCK_PORT,
  formatAddress,
  InvalidAddressError,
  parseAddress,
  VMADDR_CID_ANY,
  type Address,
} from './transport/address.js';
export { connect, DEFAULT_DIAL_TIMEOUT_MS, type ConnectOptions } from './transport/connect.js';
export { listen, type Listener, type ListenOptions, type StreamHandler } from './transport/listen.js';
// The transports one by one, for callers that need more control than listen()/connect().
export { FdDuplex, type FdDuplexOptions } from './transport/fd-duplex.js';
export {
  connectHybridVsock,
  HYBRID_VSOCK_HANDSHAKE_TIMEOUT_MS,
  HybridVsockHandshakeError,
  listenHybridVsock,
} from './transport/hybrid-vsock.js';
export { listenSerial, SerialChannel, type SerialOptions } from './transport/serial.js';
export { connectUnix, listenUnix } from './transport/unix.js';
export { connectVsock, listenVsock, VsockUnavailableError, type VsockListenOptions } from './transport/vsock.js';
