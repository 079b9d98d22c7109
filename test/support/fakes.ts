/**
 * Socket-free stand-ins for the server's transport seam (src/server/transport/types.ts), and
 * builders for connections and managers over them. Shared by the acceptor, manager and ejector
 * tests so no test copies its own fakes.
 */
import {
  decodePayload,
  encodePayload,
  MessageRegistry,
  type Labels,
  type Message,
  type RequestMessage,
  type ResponseMessage,
  type Timers,
} from '../../src/protocol/index.js';
import { PayloadType } from './payload-proto.js';
import { Connection, type ConnectionMeta } from '../../src/server/connection.js';
import { ConnectionManager, type ConnectionListener } from '../../src/server/connection-manager.js';
import type { ShedPacerOptions } from '../../src/server/control/shed-pacer.js';
import type { StreamSink, Transport } from '../../src/server/transport/types.js';
import { testLogger } from './server.js';

let portSeq = 40_000;

/** A Transport that records closes; `closed` may also be set by a test to simulate a lost socket. */
export class FakeTransport implements Transport {
  readonly id: string;
  readonly encrypted = false;
  closed = false;
  closeCalls = 0;

  constructor(
    readonly remoteIp = '127.0.0.1',
    readonly remotePort = ++portSeq,
    readonly port: 'sdk' | 'cluster' = 'sdk',
    readonly localPort = 9848,
    id?: string,
  ) {
    this.id = id ?? `1700000000000_${remoteIp}_${remotePort}`;
  }

  close(): void {
    this.closeCalls++;
    this.closed = true;
  }
}

/** A StreamSink that keeps every written payload; flushes at once. */
export class FakeSink implements StreamSink {
  readonly written: Uint8Array[] = [];
  ended = false;
  endCalls = 0;
  /** Called after each write with the decoded message (e.g. to acknowledge it). */
  onWrite: ((message: Message) => void) | undefined;

  constructor(private readonly registry: MessageRegistry = MessageRegistry.connectionLayer()) {}

  write(bytes: Uint8Array, onFlushed: (error?: Error | null) => void): void {
    this.written.push(bytes);
    onFlushed(null);
    this.onWrite?.(decodePayload(bytes, this.registry));
  }

  end(): void {
    this.endCalls++;
    this.ended = true;
  }

  /** Everything written, decoded. */
  get messages(): Message[] {
    return this.written.map((bytes) => decodePayload(bytes, this.registry));
  }

  /** Pushed requests, optionally of one type. */
  pushes(type?: string): RequestMessage[] {
    return this.messages.filter((m): m is RequestMessage => m.kind === 'request' && (type === undefined || m.type === type));
  }
}

/** Process-wide decimal push ids, as the server's. */
let requestSeq = 0;
export const nextRequestId = (): string => String(++requestSeq);

export interface FakeConnectionOptions {
  timers: Timers;
  /** The IP the client reported at setup (default: the transport's remote IP). */
  clientIp?: string;
  remoteIp?: string;
  labels?: Labels;
  /** Default: label AppName, or "-". */
  appName?: string;
  version?: string;
  trustedCluster?: boolean;
  transport?: FakeTransport;
  sink?: FakeSink;
  registry?: MessageRegistry;
  maxOutboundBytes?: number;
  onOverflow?: (connection: Connection) => void;
}

export interface FakeConnection {
  readonly connection: Connection;
  readonly transport: FakeTransport;
  readonly sink: FakeSink;
}

/** A Connection over a fake transport and sink, as the bi-stream acceptor would build it. */
export function fakeConnection(options: FakeConnectionOptions): FakeConnection {
  const registry = options.registry ?? MessageRegistry.connectionLayer();
  const transport = options.transport ?? new FakeTransport(options.remoteIp ?? '127.0.0.1');
  const sink = options.sink ?? new FakeSink(registry);
  const labels = options.labels ?? { source: 'sdk' };
  const meta: ConnectionMeta = {
    connectionId: transport.id,
    connectType: 'GRPC',
    clientIp: options.clientIp ?? transport.remoteIp,
    remoteIp: transport.remoteIp,
    tls: transport.encrypted,
    remotePort: transport.remotePort,
    localPort: transport.localPort,
    version: options.version ?? 'Nacos-Test-Client:v1',
    appName: options.appName ?? labels['AppName'] ?? '-',
    tenant: '',
    labels: { ...labels },
    createTime: options.timers.now(),
    trustedCluster: options.trustedCluster ?? false,
  };
  const connection = new Connection(meta, transport, sink, {
    nextRequestId,
    registry,
    timers: options.timers,
    maxOutboundBytes: options.maxOutboundBytes ?? 64 * 1024 * 1024,
    onOverflow: options.onOverflow ?? ((c) => c.close()),
  });
  return { connection, transport, sink };
}

/** A successful `<X>Response` answering a `<X>Request` push (same requestId). */
export function answerTo(push: RequestMessage, overrides: Partial<ResponseMessage> = {}): ResponseMessage {
  return {
    kind: 'response',
    type: push.type.replace(/Request$/, 'Response'),
    resultCode: 200,
    errorCode: 0,
    ...(push.requestId === undefined ? {} : { requestId: push.requestId }),
    body: {},
    ...overrides,
  };
}

/** Makes the client behind `fake` answer every push at once, successfully. */
export function autoAck(fake: FakeConnection): void {
  fake.sink.onWrite = (message) => {
    if (message.kind === 'request') fake.connection.acknowledge(answerTo(message));
  };
}

/** Acknowledges every push of `type` the connection has received and not yet answered. */
export function ackAll(fake: FakeConnection, type?: string): number {
  let n = 0;
  for (const push of fake.sink.pushes(type)) if (fake.connection.acknowledge(answerTo(push))) n++;
  return n;
}

export const DEFAULT_TEST_SHED: ShedPacerOptions = { ratePerSecond: 100, tickMs: 100 };

/** A real ConnectionManager on the given clock with a silent logger. */
export function newManager(timers: Timers, shed: ShedPacerOptions = DEFAULT_TEST_SHED): ConnectionManager {
  return new ConnectionManager(testLogger, timers, shed);
}

/** A listener that appends `name:connected:id` / `name:disconnected:id:reason` to `events`. */
export function recordingListener(name: string, events: string[]): ConnectionListener {
  return {
    name,
    onConnected: (c) => events.push(`${name}:connected:${c.id}`),
    onDisconnected: (c, reason) => events.push(`${name}:disconnected:${c.id}:${reason}`),
  };
}

/** Payload bytes with any type and any (possibly invalid) JSON body text. */
export function rawPayload(type: string, json: string, clientIp = ''): Uint8Array {
  return PayloadType.encode({
    metadata: { type, ...(clientIp === '' ? {} : { clientIp }) },
    body: { type_url: '', value: Buffer.from(json, 'utf8') },
  }).finish();
}

/** Encodes a message as a client would (request clientIp in metadata). */
export function clientPayload(message: Message, clientIp = '10.0.0.1', registry?: MessageRegistry): Uint8Array {
  return encodePayload(message, { clientIp, ...(registry === undefined ? {} : { registry }) });
}
