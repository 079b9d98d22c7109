import {
  ConnectionClosedError,
  encodePayload,
  isSuccess,
  MAX_TIMER_DELAY_MS,
  RemoteResponseError,
  RequestTimeoutError,
  type ClientAbilities,
  type Labels,
  type MessageRegistry,
  type RequestMessage,
  type ResponseMessage,
  type Timers,
} from '../protocol/index.js';
import type { StreamSink, Transport } from './transport/types.js';

/** What the server knows of a registered connection (Nacos `ConnectionMeta`, spec 5.5). */
export interface ConnectionMeta {
  readonly connectionId: string;
  readonly connectType: 'GRPC';
  /** The IP the client reported in its setup's metadata, not the socket address. */
  readonly clientIp: string;
  readonly remoteIp: string;
  readonly remotePort: number;
  readonly localPort: number;
  /** Arrived over TLS: what the transport saw, whatever the `tls.enable` label claims. */
  readonly tls: boolean;
  /** e.g. `Nacos-Java-Client:v2.2.4`. */
  readonly version: string;
  /** Label `AppName`, or "-". */
  readonly appName: string;
  readonly tenant: string;
  readonly labels: Labels;
  readonly abilities?: ClientAbilities;
  readonly createTime: number;
  /** Arrived on the cluster port from a configured member with `source=cluster` (decision 10.11). */
  readonly trustedCluster: boolean;
}

/** Label `source` equals `sdk`, ignoring case (Nacos `isSdkSource`). */
export function isSdkSource(labels: Labels): boolean {
  return labels['source']?.toLowerCase() === 'sdk';
}

/** Label `source` equals `cluster`, ignoring case. */
export function isClusterSource(labels: Labels): boolean {
  return labels['source']?.toLowerCase() === 'cluster';
}

export interface PushOptions {
  /** Process-wide decimal request ids (Nacos `PushAckIdGenerator`). */
  nextRequestId: () => string;
  registry: MessageRegistry;
  timers: Timers;
  /** Outbound bytes not yet flushed past which the connection is closed. */
  maxOutboundBytes: number;
  /** Called when the outbound cap is exceeded, to unregister and close. */
  onOverflow: (connection: Connection) => void;
  /** Observes each awaited push: sent, then acked, failed (error answer or closed) or timeout. */
  observePush?: (type: string, outcome: PushOutcome) => void;
}

export type PushOutcome = 'sent' | 'acked' | 'failed' | 'timeout';

/**
 * A push encoded once, under one requestId, for any number of connections: a push to every
 * subscriber of a service is then one encode, not one per subscriber. Each connection matches
 * its ack by the id (Nacos draws an id per connection; clients only echo it). No two pushes
 * awaiting an ack on one connection share an id: the sequence only grows, and a prepared push
 * sent again while its ack is awaited goes under an id of its own there. Sent again after its
 * ack timed out, it keeps the id, so a late ack of the first send settles the second: both
 * carried the same bytes.
 */
export interface PreparedPush {
  readonly message: RequestMessage;
  readonly requestId: string;
  /** The encoded Payload: never changed once made, so every stream may write it. */
  readonly bytes: Uint8Array;
}

/** Draws a requestId and encodes the push under it. */
export function preparePush(message: RequestMessage, options: Pick<PushOptions, 'nextRequestId' | 'registry'>): PreparedPush {
  const requestId = options.nextRequestId();
  return { message, requestId, bytes: encodePayload({ ...message, requestId }, { registry: options.registry }) };
}

/** How a push ended: its successful answer, or why it failed (ConnectionClosedError, RequestTimeoutError, RemoteResponseError). */
export type PushSettled = (error: Error | undefined, response: ResponseMessage | undefined) => void;

/** A push sent with a callback, as a promise of its successful answer. */
export function answerOf(send: (settled: PushSettled) => void): Promise<ResponseMessage> {
  return new Promise((resolve, reject) => send((error, response) => (error === undefined ? resolve(response!) : reject(error))));
}

interface PendingPush {
  readonly requestId: string;
  readonly type: string;
  readonly settled: PushSettled;
  /** When it has timed out (timers.monotonicNow() time: a stepped wall clock moves no deadline). */
  readonly deadline: number;
  readonly timeoutMs: number;
}

/**
 * A registered (or being registered) long connection: its meta, its stream for pushes, and the
 * acks it awaits. Closing it fails every pending push at once.
 */
export class Connection {
  readonly meta: ConnectionMeta;
  lastActiveTime: number;
  traced = false;
  /** Pushes awaiting their ack, by requestId. */
  private readonly pending = new Map<string, PendingPush>();
  /**
   * Per timeout, its pushes in the order they were sent, so due in that order: expiring stops at
   * the first not yet due (a connection that stopped reading costs what is due, not every push in
   * flight, each time the timer fires). An ack leaves its push here, for expiry to pass over
   * (cheaper than removing it from the middle); all is dropped once nothing is pending.
   */
  private readonly sentByTimeout = new Map<number, PendingPush[]>();
  /**
   * One timer per connection, not one per push (setting and clearing a timer was a share of a
   * push's cost): it fires at the earliest deadline it knows of; an ack leaves it be, and when it
   * fires it fails what is due and is set again for what still waits.
   */
  private deadlineTimer: { readonly at: number; readonly cancel: () => void } | undefined;
  private outboundBytes = 0;
  private closedFlag = false;

  constructor(
    meta: ConnectionMeta,
    private readonly transport: Transport,
    private readonly sink: StreamSink,
    private readonly options: PushOptions,
  ) {
    this.meta = meta;
    this.lastActiveTime = options.timers.now();
  }

  get id(): string {
    return this.meta.connectionId;
  }

  get isSdkSource(): boolean {
    return isSdkSource(this.meta.labels);
  }

  /** Open as long as neither the stream nor the transport has ended. */
  get connected(): boolean {
    return !this.closedFlag && !this.transport.closed && !this.sink.ended;
  }

  get pendingPushCount(): number {
    return this.pending.size;
  }

  freshActiveTime(): void {
    this.lastActiveTime = this.options.timers.now();
  }

  /**
   * Pushes a request down the stream and resolves with the client's successful response.
   * @throws ConnectionClosedError, RequestTimeoutError, RemoteResponseError
   */
  request(message: RequestMessage, timeoutMs: number): Promise<ResponseMessage> {
    return answerOf((settled) => this.push(message, timeoutMs, settled));
  }

  /**
   * {@link request} with a callback, called once, never before this returns: a push to every
   * subscriber of a service makes no promise and no microtasks per subscriber (they were a
   * tenth of a fan-out's CPU).
   */
  push(message: RequestMessage | PreparedPush, timeoutMs: number, settled: PushSettled): void {
    if (!this.connected) {
      const error = new ConnectionClosedError(`connection ${this.id} is closed`);
      queueMicrotask(() => settled(error, undefined));
      return;
    }
    let prepared = 'bytes' in message ? message : preparePush(message, this.options);
    // Sent here before and still unanswered: this one gets an id of its own, or the two would share an ack.
    if (this.pending.has(prepared.requestId)) prepared = preparePush(prepared.message, this.options);
    const { requestId, message: request } = prepared;
    const deadline = this.options.timers.monotonicNow() + timeoutMs;
    const push: PendingPush = { requestId, type: request.type, settled, deadline, timeoutMs };
    this.pending.set(requestId, push);
    const sent = this.sentByTimeout.get(timeoutMs);
    if (sent === undefined) this.sentByTimeout.set(timeoutMs, [push]);
    else sent.push(push);
    if (this.deadlineTimer === undefined || deadline < this.deadlineTimer.at) this.setDeadlineTimer(deadline);
    this.options.observePush?.(request.type, 'sent');
    this.write(prepared.bytes);
  }

  private setDeadlineTimer(at: number): void {
    this.deadlineTimer?.cancel();
    // A Node timer holds 24.8 days at most (longer fires at once): a later deadline is timed in steps.
    const delayMs = Math.min(at - this.options.timers.monotonicNow(), MAX_TIMER_DELAY_MS);
    const cancel = this.options.timers.setTimeout(() => this.expirePushes(), delayMs);
    this.deadlineTimer = { at, cancel };
  }

  /** Fails the pushes past their deadline; the timer is set again for the earliest that still waits. */
  private expirePushes(): void {
    this.deadlineTimer = undefined;
    const now = this.options.timers.monotonicNow();
    let next = Infinity;
    for (const [timeoutMs, sent] of this.sentByTimeout) {
      let passed = 0;
      for (; passed < sent.length; passed++) {
        const push = sent[passed]!;
        // Acked already (or failed by an error answer): nothing to expire.
        if (this.pending.get(push.requestId) !== push) continue;
        if (push.deadline > now) {
          next = Math.min(next, push.deadline);
          break;
        }
        this.pending.delete(push.requestId);
        this.options.observePush?.(push.type, 'timeout');
        push.settled(new RequestTimeoutError(`no answer to ${push.type} (requestId ${push.requestId}) within ${push.timeoutMs} ms`), undefined);
      }
      if (passed === sent.length) this.sentByTimeout.delete(timeoutMs);
      else sent.splice(0, passed);
    }
    if (this.pending.size === 0) this.sentByTimeout.clear();
    if (next !== Infinity) this.setDeadlineTimer(next);
  }

  /** Pushes a request without awaiting an answer (used when refusing a setup). */
  sendWithoutAck(message: RequestMessage): void {
    if (this.connected) this.write(preparePush(message, this.options).bytes);
  }

  /** Settles the pending push that a response on the stream answers (Nacos `ackNotify`). */
  acknowledge(response: ResponseMessage): boolean {
    const requestId = response.requestId;
    if (requestId === undefined) return false;
    const push = this.pending.get(requestId);
    if (push === undefined) return false;
    this.pending.delete(requestId);
    // Nothing pending: what expiry would pass over goes now, so a quiet connection holds none of it.
    if (this.pending.size === 0) this.sentByTimeout.clear();
    const ok = isSuccess(response);
    this.options.observePush?.(push.type, ok ? 'acked' : 'failed');
    if (ok) push.settled(undefined, response);
    else push.settled(new RemoteResponseError(response.errorCode, response.message ?? `${response.type} failed`), undefined);
    return true;
  }

  /** Ends the stream, closes the transport and fails pending pushes. Idempotent. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    // Built only when a push waits: an Error's stack trace is a measurable cost per close.
    const error = this.pending.size > 0 ? new ConnectionClosedError(`connection ${this.id} closed`) : undefined;
    this.deadlineTimer?.cancel();
    this.deadlineTimer = undefined;
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.sentByTimeout.clear();
    for (const push of pending) this.options.observePush?.(push.type, 'failed');
    // Told after this close and what runs with it (a connection's release from naming), as a
    // rejected promise was: a push engine then sees the subscriber gone, and retries nothing.
    if (pending.length > 0) queueMicrotask(() => pending.forEach((push) => push.settled(error, undefined)));
    this.sink.end();
    this.transport.close();
  }

  private write(bytes: Uint8Array): void {
    this.outboundBytes += bytes.byteLength;
    this.sink.write(bytes, () => {
      this.outboundBytes -= bytes.byteLength;
    });
    // A client that stops reading must not grow our memory without bound.
    if (this.outboundBytes > this.options.maxOutboundBytes) this.options.onOverflow(this);
  }
}
