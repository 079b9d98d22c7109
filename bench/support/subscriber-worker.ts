// A driver process holding subscribing connections (forked by subscriber-fleet.ts): each is a
// registered raw node:http2 connection that subscribes to one naming service or listens to one
// config key, acks every push as an SDK does, and notes when the push a watch waits for arrived.
// Protocol over IPC: open → opened; watch → watching, later seen; exit on disconnect.
import { decodeEnvelope, encodePayload, type Message } from '../../src/protocol/index.js';
import { readPayload, type PayloadRead } from '../../src/protocol/payload-reader.js';
import type { H2BiStream, H2GrpcConnection } from './h2-grpc-client.js';
import { ConnectionRamp, type OpenPlan } from './open-lanes.js';
import { epochNow } from './standalone.js';
import { namingRequest, SDK_REGISTRY } from './unary-calls.js';

/** What each connection subscribes to. */
export type Subscription =
  | { readonly kind: 'naming'; readonly serviceName: string }
  | {
      readonly kind: 'config';
      readonly dataId: string;
      readonly group: string;
      /** The md5 the listener holds (of the content published before). */
      readonly md5: string;
    };

/** The push a watch waits for on every connection. */
export type Expectation =
  /**
   * A NotifySubscriberRequest that lists `ip:port` (`present`) or does not. Changes are new
   * addresses, not new metadata: r-nacos 0.8.8 keeps an instance's first metadata on a re-register.
   */
  | { readonly kind: 'instance'; readonly ip: string; readonly port: number; readonly present: boolean }
  /** A ConfigChangeNotifyRequest for the data id. */
  | { readonly kind: 'config-changed'; readonly dataId: string };

export type ToSubscriberWorker =
  | ({ readonly type: 'open'; readonly subscription: Subscription } & OpenPlan)
  | { readonly type: 'watch'; readonly expect: Expectation; readonly timeoutMs: number };

export type FromSubscriberWorker =
  | { readonly type: 'opened'; readonly opened: number; readonly errors: number; readonly firstError?: string }
  | { readonly type: 'watching' }
  /** When the first and the last connection got the push (epoch ms); `missing`: never got it. */
  | { readonly type: 'seen'; readonly count: number; readonly missing: number; readonly firstAt: number; readonly lastAt: number }
  | { readonly type: 'failed'; readonly error: string };

interface Watch {
  readonly expect: Expectation;
  /** The instance's IP as a JSON string's bytes: a push without them cannot list it. */
  readonly ipNeedle: Buffer | undefined;
  readonly arrivals: Map<number, number>;
  readonly done: () => void;
}

const connections: H2GrpcConnection[] = [];
const ramp = new ConnectionRamp();
let watch: Watch | undefined;

type JsonObject = Record<string, unknown>;

/**
 * Pushes are read as little as a watch needs, the same way for every server measured: the
 * requestId for the ack is found in the JSON's bytes, and the body is parsed only when it may
 * hold what the watch waits for. Parsing every push's body and encoding each ack as a message
 * were about a quarter of a driver's CPU, which shares the machine with the server measured.
 */
const REQUEST_ID_KEY = Buffer.from('"requestId":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The requestId as compact JSON writes it (ours, Jackson, serde); undefined when not found so. */
function requestIdOf(body: Buffer): string | undefined {
  const at = body.indexOf(REQUEST_ID_KEY);
  if (at < 0) return undefined;
  const start = at + REQUEST_ID_KEY.length;
  const end = body.indexOf(QUOTE, start);
  if (end < 0 || body.subarray(start, end).includes(BACKSLASH)) return undefined;
  return body.toString('latin1', start, end);
}

const parseBody = (body: Buffer): JsonObject => JSON.parse(body.toString('utf8')) as JsonObject;

/** `parsed`: the body if parsed already. (No closure per push: tsx names each one it makes, a cost per call.) */
function matches(current: Watch, type: string, body: Buffer, parsed: JsonObject | undefined): boolean {
  const expect = current.expect;
  if (expect.kind === 'config-changed') return type === 'ConfigChangeNotifyRequest' && (parsed ?? parseBody(body))['dataId'] === expect.dataId;
  if (type !== 'NotifySubscriberRequest') return false;
  // Without the IP's string anywhere, the push cannot list the instance.
  if (current.ipNeedle !== undefined && !body.includes(current.ipNeedle)) return !expect.present;
  const info = (parsed ?? parseBody(body))['serviceInfo'] as { hosts?: { ip: string; port: number }[] } | undefined;
  return (info?.hosts ?? []).some((h) => h.ip === expect.ip && h.port === expect.port) === expect.present;
}

function onPayload(index: number, stream: H2BiStream, payload: Buffer): void {
  const at = epochNow();
  let read: PayloadRead;
  try {
    read = readPayload(payload);
  } catch {
    return; // never acked nor counted: the watch reports it missing
  }
  const body = Buffer.from(read.body.buffer, read.body.byteOffset, read.body.byteLength);
  let parsed: JsonObject | undefined;
  if (read.type.endsWith('Request')) {
    let requestId: unknown = requestIdOf(body);
    if (requestId === undefined) requestId = (parsed = parseBody(body))['requestId'];
    if (typeof requestId === 'string') stream.ack(read.type, requestId);
  }
  if (watch === undefined || watch.arrivals.has(index) || !matches(watch, read.type, body, parsed)) return;
  watch.arrivals.set(index, at);
  if (watch.arrivals.size === connections.length) watch.done();
}

const SUBSCRIBED: Record<Subscription['kind'], string> = { naming: 'SubscribeServiceResponse', config: 'ConfigChangeBatchListenResponse' };

function subscribeMessage(subscription: Subscription): Message {
  if (subscription.kind === 'naming') {
    return namingRequest('SubscribeServiceRequest', { serviceName: subscription.serviceName, subscribe: true, clusters: '' });
  }
  return {
    kind: 'request',
    type: 'ConfigBatchListenRequest',
    headers: {},
    body: { listen: true, configListenContexts: [{ dataId: subscription.dataId, group: subscription.group, tenant: '', md5: subscription.md5 }] },
  };
}

async function open(message: Extract<ToSubscriberWorker, { type: 'open' }>): Promise<FromSubscriberWorker> {
  const subscribe = subscribeMessage(message.subscription);
  const tally = await ramp.open(message, async (connection) => {
    const index = connections.length;
    connections.push(connection);
    // The bi-stream first, with our decoder: register() reuses it, and every push is acked.
    const stream: H2BiStream = connection.openBiStream({ onPayload: (payload) => onPayload(index, stream, payload) });
    await connection.register({ source: 'sdk', module: message.subscription.kind });
    const reply = await connection.unary(encodePayload(subscribe, { clientIp: connection.localAddress, registry: SDK_REGISTRY }), 10_000);
    const replyType = decodeEnvelope(reply).type;
    if (replyType !== SUBSCRIBED[message.subscription.kind]) throw new Error(`subscription answered ${replyType}`);
  });
  return { type: 'opened', ...tally };
}

/** Arms a watch (answered `watching` at once) and resolves `seen` once every connection got the push, or at the timeout. */
function startWatch(expect: Expectation, timeoutMs: number): Promise<FromSubscriberWorker> {
  return new Promise((resolve) => {
    const arrivals = new Map<number, number>();
    const finish = () => {
      clearTimeout(timer);
      watch = undefined;
      const times = [...arrivals.values()];
      resolve({ type: 'seen', count: times.length, missing: connections.length - times.length, firstAt: Math.min(...times), lastAt: Math.max(...times) });
    };
    const timer = setTimeout(finish, timeoutMs);
    watch = { expect, ipNeedle: expect.kind === 'instance' ? Buffer.from(JSON.stringify(expect.ip)) : undefined, arrivals, done: finish };
    if (connections.length === 0) finish();
  });
}

// Whatever ends this process is told to the parent, whose wait then fails with it (not just an exit code).
const fail = (error: unknown) => {
  process.send?.({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies FromSubscriberWorker, () => process.exit(1));
};
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
process.on('message', (message: ToSubscriberWorker) => {
  const reply = (work: Promise<FromSubscriberWorker>) => work.then((result) => process.send!(result), fail);
  if (message.type === 'open') {
    reply(open(message));
  } else {
    const seen = startWatch(message.expect, message.timeoutMs);
    process.send!({ type: 'watching' } satisfies FromSubscriberWorker);
    reply(seen);
  }
});
// The parent went away: the connections go with this process.
process.on('disconnect', () => process.exit(0));
