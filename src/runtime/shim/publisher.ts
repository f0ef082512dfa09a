// Task events back to containerd, in the order they happened.
//
// Two routes, as containerd 1.6 offers them:
// 1. ttRPC: containerd serves containerd.services.events.ttrpc.v1.Events on
//    the socket it names in the shim's TTRPC_ADDRESS environment variable;
//    one Forward call per event, with an Envelope {timestamp, namespace,
//    topic, event}. One connection, reopened when it breaks.
// 2. The publish binary (-publish-binary, containerd itself):
//      <binary> --address <containerd gRPC socket> publish --topic T --namespace NS
//    with the event's Any, protobuf-encoded, on stdin.
// Each event is tried on the ttRPC route, then on the binary; if both fail
// it is tried again a few times, then dropped with an error in the log.
// Events wait behind the one being delivered, so containerd sees them in
// order; publishing never throws and never stops the shim.
import { spawn } from 'node:child_process';
import { create, toBinary } from '@bufbuild/protobuf';
import { AnySchema, timestampFromDate, type Any } from '@bufbuild/protobuf/wkt';
import type { Logger } from '../../common/logger.js';
import { silentLogger } from '../../common/logger.js';
import { Events } from '../../protocols/gen/containerd/services/ttrpc/events/v1/events_pb.js';
import { Client, connect, createClient, type ServiceClient } from '../../ttrpc/index.js';
import type { EventSink, TaskEvent } from '../task/events.js';
import { packEvent } from './event-messages.js';

/** The ttRPC metadata key containerd reads a request's namespace from. */
export const TTRPC_NAMESPACE_KEY = 'containerd-namespace-ttrpc';

export interface PublisherOptions {
  namespace: string;
  /** containerd's ttRPC socket (TTRPC_ADDRESS); '' when containerd gave none. */
  ttrpcAddress: string;
  /** containerd's gRPC socket (-address), for the publish binary. */
  grpcAddress: string;
  /** The publish binary (-publish-binary); '' to never use it. */
  publishBinary: string;
  logger?: Logger;
  /** Attempts per event (each tries both routes); default 3. */
  attempts?: number;
  /** Pause before attempt n+1 is n times this; default 500 ms. */
  retryDelayMs?: number;
  /** Deadline of one Forward call or one run of the publish binary; default 5 s. */
  callTimeoutMs?: number;
}

interface Pending {
  topic: string;
  event: Any;
  timestamp: Date;
}

export class EventPublisher implements EventSink {
  private readonly logger: Logger;
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  private client: Client | null = null;
  private events: ServiceClient<typeof Events> | null = null;
  private closed = false;
  /** Events delivered, by route (for logs and tests). */
  readonly delivered = { ttrpc: 0, binary: 0, dropped: 0 };

  constructor(private readonly opts: PublisherOptions) {
    this.logger = opts.logger ?? silentLogger;
  }

  publish(e: TaskEvent): void {
    let packed;
    try {
      packed = packEvent(e);
    } catch (err) {
      this.logger.error({ err, topic: e.topic }, 'cannot encode event');
      return;
    }
    this.enqueue(packed.topic, packed.event);
  }

  /** Queues an already packed event (its timestamp is now). */
  enqueue(topic: string, event: Any): void {
    if (this.closed) {
      this.logger.warn({ topic }, 'event after the publisher closed: dropped');
      return;
    }
    const item: Pending = { topic, event, timestamp: new Date() };
    this.queued++;
    this.tail = this.tail
      .then(() => this.deliver(item))
      .catch((err: unknown) => this.logger.error({ err, topic }, 'publishing an event failed unexpectedly'))
      .finally(() => this.queued--);
  }

  /** Events not yet delivered or dropped. */
  get backlog(): number {
    return this.queued;
  }

  /** Resolves once every queued event is delivered or dropped, or after `timeoutMs`. Returns whether the queue is empty. */
  async drain(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.tail, timeout]);
    clearTimeout(timer);
    return this.queued === 0;
  }

  /** Drains (bounded), then closes the connection; later events are dropped. */
  async close(timeoutMs = 5_000): Promise<void> {
    if (!(await this.drain(timeoutMs))) this.logger.error({ backlog: this.queued }, 'events not delivered before the shim exits');
    this.closed = true;
    this.dropClient();
  }

  private async deliver(item: Pending): Promise<void> {
    const attempts = this.opts.attempts ?? 3;
    const delay = this.opts.retryDelayMs ?? 500;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const errors: string[] = [];
      if (this.opts.ttrpcAddress !== '') {
        try {
          await this.forward(item);
          this.delivered.ttrpc++;
          return;
        } catch (err) {
          errors.push(`ttrpc: ${(err as Error).message}`);
        }
      }
      if (this.opts.publishBinary !== '') {
        try {
          await this.runPublishBinary(item);
          this.delivered.binary++;
          if (this.opts.ttrpcAddress !== '') this.logger.warn({ topic: item.topic, errors }, 'event published by the publish binary');
          return;
        } catch (err) {
          errors.push(`${this.opts.publishBinary}: ${(err as Error).message}`);
        }
      }
      if (errors.length === 0) errors.push('no route: neither TTRPC_ADDRESS nor a publish binary');
      this.logger.warn({ topic: item.topic, attempt, errors }, 'publishing an event failed');
      if (attempt < attempts) await new Promise((r) => setTimeout(r, attempt * delay));
    }
    this.delivered.dropped++;
    this.logger.error({ topic: item.topic }, `event dropped after ${attempts} attempts`);
  }

  /** One Forward call; a broken connection is reopened once. */
  private async forward(item: Pending): Promise<void> {
    const request = {
      envelope: { timestamp: timestampFromDate(item.timestamp), namespace: this.opts.namespace, topic: item.topic, event: item.event },
    };
    const options = { timeoutMs: this.opts.callTimeoutMs ?? 5_000, metadata: { [TTRPC_NAMESPACE_KEY]: this.opts.namespace } };
    const reused = this.events !== null;
    try {
      await (await this.eventsClient()).forward(request, options);
    } catch (err) {
      this.dropClient();
      if (!reused) throw err;
      // The old connection may have gone stale (containerd restarted): once more on a fresh one.
      await (await this.eventsClient()).forward(request, options);
    }
  }

  private async eventsClient(): Promise<ServiceClient<typeof Events>> {
    if (this.events) return this.events;
    const path = this.opts.ttrpcAddress.replace(/^unix:\/\//, '');
    const stream = await connect(`unix://${path}`, { timeoutMs: 1_000 });
    const client = new Client(stream, {
      logger: this.logger,
      onClose: () => {
        if (this.client === client) {
          this.client = null;
          this.events = null;
        }
      },
    });
    this.client = client;
    this.events = createClient(client, Events);
    return this.events;
  }

  private dropClient(): void {
    const client = this.client;
    this.client = null;
    this.events = null;
    void client?.close().catch(() => {});
  }

  private runPublishBinary(item: Pending): Promise<void> {
    const args = ['--address', this.opts.grpcAddress, 'publish', '--topic', item.topic, '--namespace', this.opts.namespace];
    const payload = toBinary(AnySchema, create(AnySchema, item.event));
    return new Promise((resolve, reject) => {
      const child = spawn(this.opts.publishBinary, args, { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
      const timer = setTimeout(() => child.kill('SIGKILL'), this.opts.callTimeoutMs ?? 5_000);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`${signal ? `killed by ${signal}` : `exit status ${code}`}: ${stderr.trim()}`));
      });
      child.stdin.on('error', () => {});
      child.stdin.end(payload);
    });
  }
}
