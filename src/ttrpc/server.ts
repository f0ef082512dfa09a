// The ttRPC server: a table of handlers keyed by service and method name, and
// the connections it serves.
//
//   const server = new Server({ logger });
//   server.register(AgentService, { createContainer: async (req, ctx) => ({}) });
//   await server.listen('vsock://-1:1024');
//   ...
//   await server.close();
//
// Handlers are async functions. To fail a call with a chosen status, throw a
// TtrpcError; any other exception is answered with UNKNOWN and its message.

import type { Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, DescService, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import { silentLogger, type Logger } from './logger.js';
import { ServerConnection, type CallContext, type Dispatcher, type RawHandler } from './server-connection.js';
import { Code, TtrpcError } from './status.js';
import { listen, type Listener } from './transport/listen.js';

export type { CallContext, RawHandler } from './server-connection.js';

export interface ServerOptions {
  /** Receives debug and warning events (a pino logger fits). */
  logger?: Logger;
  /**
   * Status code for a request naming an unknown service or method.
   * NOT_FOUND (the default) is what Kata's runtime expects; containerd's ttrpc
   * v1.1 answers UNIMPLEMENTED.
   */
  unknownMethodCode?: Code;
}

/** The typed handler for one method: decoded request in, response (or its init object) out. */
export type MethodImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  ctx: CallContext,
) => Promise<MessageInitShape<O>> | MessageInitShape<O>;

/**
 * Handlers for a protobuf-es service, by method localName ("createContainer").
 * Every method is optional: one without a handler is not registered, so calls
 * to it get the unknown-method status.
 */
export type ServiceImpl<S extends DescService> = {
  [K in keyof S['method']]?: S['method'][K] extends {
    input: infer I extends DescMessage;
    output: infer O extends DescMessage;
  }
    ? MethodImpl<I, O>
    : never;
};

export class Server {
  private readonly handlers = new Map<string, Map<string, RawHandler>>();
  private readonly connections = new Set<ServerConnection>();
  private readonly listeners = new Set<Listener>();
  private readonly dispatcher: Dispatcher;
  private closing = false;
  readonly logger: Logger;

  constructor(options: ServerOptions = {}) {
    this.logger = options.logger ?? silentLogger;
    const unknownCode = options.unknownMethodCode ?? Code.NOT_FOUND;
    this.dispatcher = {
      logger: this.logger,
      resolve: (service, method) => {
        const methods = this.handlers.get(service);
        if (!methods) return new TtrpcError(unknownCode, `service ${service}`);
        return methods.get(method) ?? new TtrpcError(unknownCode, `method ${method}`);
      },
    };
  }

  /** Registers a handler on raw bytes for `service`/`method` (e.g. "grpc.AgentService", "CreateContainer"). */
  registerRaw(service: string, method: string, handler: RawHandler): this {
    let methods = this.handlers.get(service);
    if (!methods) {
      methods = new Map();
      this.handlers.set(service, methods);
    }
    if (methods.has(method)) throw new Error(`ttrpc: ${service}/${method} is already registered`);
    methods.set(method, handler);
    return this;
  }

  /**
   * Registers the methods of a protobuf-es service that `impl` provides.
   * Requests are decoded with the method's input schema (a payload that does
   * not decode is answered with INVALID_ARGUMENT) and results encoded with its
   * output schema. Only unary methods can be served.
   */
  register<S extends DescService>(service: S, impl: ServiceImpl<S>): this {
    const provided = impl as Record<string, MethodImpl<DescMessage, DescMessage> | undefined>;
    const known = new Set(service.methods.map((m) => m.localName));
    for (const name of Object.keys(provided)) {
      if (!known.has(name)) throw new Error(`ttrpc: ${service.typeName} has no method "${name}"`);
    }
    for (const method of service.methods) {
      const fn = provided[method.localName];
      if (fn === undefined) continue;
      if (method.methodKind !== 'unary') {
        throw new Error(`ttrpc: ${service.typeName}/${method.name} is ${method.methodKind}; only unary methods are supported`);
      }
      const { input, output } = method;
      this.registerRaw(service.typeName, method.name, async (payload, ctx) => {
        let request: MessageShape<DescMessage>;
        try {
          request = fromBinary(input, payload);
        } catch (err) {
          throw new TtrpcError(
            Code.INVALID_ARGUMENT,
            `cannot decode ${input.typeName} payload: ${(err as Error).message}`,
          );
        }
        const result = await fn.call(impl, request, ctx);
        return toBinary(output, create(output, result));
      });
    }
    return this;
  }

  /**
   * Serves one connection (any byte stream). Returns a promise that settles
   * when the connection has closed.
   */
  handleConnection(stream: Duplex): Promise<void> {
    const conn = new ServerConnection(stream, this.dispatcher);
    if (this.closing) {
      conn.close('server closing');
      return conn.closedPromise;
    }
    // Keep the connection until its handlers have returned, so close() can wait for them.
    this.connections.add(conn);
    void conn.closedPromise.then(() => conn.settled()).then(() => this.connections.delete(conn));
    return conn.closedPromise;
  }

  /**
   * Accepts connections on `target`: an address ("unix:///run/agent.sock",
   * "vsock://-1:1024", "hvsock:///path:1024", "serial:///dev/vport0p1"; see
   * transport/address.ts), or a net.Server the caller set up.
   */
  async listen(target: string | NetServer): Promise<Listener> {
    if (this.closing) throw new Error('ttrpc: server is closed');
    let listener: Listener;
    if (typeof target === 'string') {
      listener = await listen(target, (stream) => void this.handleConnection(stream), { logger: this.logger });
    } else {
      const onConnection = (socket: Socket) => void this.handleConnection(socket);
      target.on('connection', onConnection);
      const where = target.address();
      listener = {
        address: typeof where === 'string' ? where : JSON.stringify(where),
        close: async () => {
          // Stop accepting; our connections are closed by Server.close().
          target.off('connection', onConnection);
          if (target.listening) target.close();
        },
      };
    }
    this.listeners.add(listener);
    return listener;
  }

  /**
   * Stops listening, closes every connection (aborting the signals of calls in
   * flight; their results are dropped) and waits for all handlers to return.
   */
  async close(): Promise<void> {
    this.closing = true;
    const listeners = [...this.listeners];
    this.listeners.clear();
    await Promise.allSettled(listeners.map((l) => l.close()));
    const connections = [...this.connections];
    for (const conn of connections) conn.close('server closing');
    await Promise.all(connections.map((conn) => conn.settled()));
  }
}
