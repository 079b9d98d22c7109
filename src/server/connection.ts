import {
  ConnectionClosedError,
  encodePayload,
  isSuccess,
  MAX_TIMER_DELAY_MS,
  RemoteResponseError,
  RequestTimeoutError,
  type ClientAbilities,
  type Labels,
  type Message,
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

interface PendingPush {
  readonly type: string;
  readonly resolve: (response: ResponseMessage) => void;
  readonly reject: (error: Error) => void;
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
  /**
   * Pending pushes by their timeout, each map in the order they were sent: pushes of one timeout
   * are due in that order, so expiring stops at the first not yet due (a connection that stopped
   * reading costs what is due, not every push in flight, each time the timer fires). Few timeouts
   * are in use, so an ack looks in each.
   */
  private readonly pendingByTimeout = new Map<number, Map<string, PendingPush>>();
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
    let count = 0;
    for (const pushes of this.pendingByTimeout.values()) count += pushes.size;
    return count;
  }

  freshActiveTime(): void {
    this.lastActiveTime = this.options.timers.now();
  }

  /**
   * Pushes a request down the stream and resolves with the client's successful response.
   * @throws ConnectionClosedError, RequestTimeoutError, RemoteResponseError
   */
  request(message: RequestMessage, timeoutMs: number): Promise<ResponseMessage> {
    if (!this.connected) return Promise.reject(new ConnectionClosedError(`connection ${this.id} is closed`));
    const requestId = this.options.nextRequestId();
    return new Promise<ResponseMessage>((resolve, reject) => {
      const deadline = this.options.timers.monotonicNow() + timeoutMs;
      let pushes = this.pendingByTimeout.get(timeoutMs);
      if (pushes === undefined) this.pendingByTimeout.set(timeoutMs, (pushes = new Map()));
      pushes.set(requestId, { type: message.type, resolve, reject, deadline, timeoutMs });
      if (this.deadlineTimer === undefined || deadline < this.deadlineTimer.at) this.setDeadlineTimer(deadline);
      this.options.observePush?.(message.type, 'sent');
      this.writeMessage({ ...message, requestId });
    });
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
    for (const [timeoutMs, pushes] of this.pendingByTimeout) {
      for (const [requestId, push] of pushes) {
        if (push.deadline > now) {
          next = Math.min(next, push.deadline);
          break;
        }
        pushes.delete(requestId);
        this.options.observePush?.(push.type, 'timeout');
        push.reject(new RequestTimeoutError(`no answer to ${push.type} (requestId ${requestId}) within ${push.timeoutMs} ms`));
      }
      if (pushes.size === 0) this.pendingByTimeout.delete(timeoutMs);
    }
    if (next !== Infinity) this.setDeadlineTimer(next);
  }

  /** Pushes a request without awaiting an answer (used when refusing a setup). */
  sendWithoutAck(message: RequestMessage): void {
    if (this.connected) this.writeMessage({ ...message, requestId: this.options.nextRequestId() });
  }

  /** Settles the pending push that a response on the stream answers (Nacos `ackNotify`). */
  acknowledge(response: ResponseMessage): boolean {
    const requestId = response.requestId;
    if (requestId === undefined) return false;
    const push = this.takePending(requestId);
    if (push === undefined) return false;
    const ok = isSuccess(response);
    this.options.observePush?.(push.type, ok ? 'acked' : 'failed');
    if (ok) push.resolve(response);
    else push.reject(new RemoteResponseError(response.errorCode, response.message ?? `${response.type} failed`));
    return true;
  }

  private takePending(requestId: string): PendingPush | undefined {
    for (const [timeoutMs, pushes] of this.pendingByTimeout) {
      const push = pushes.get(requestId);
      if (push === undefined) continue;
      pushes.delete(requestId);
      if (pushes.size === 0) this.pendingByTimeout.delete(timeoutMs);
      return push;
    }
    return undefined;
  }

  /** Ends the stream, closes the transport and fails pending pushes. Idempotent. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    // Built only when a push waits: an Error's stack trace is a measurable cost per close.
    const error = this.pendingByTimeout.size > 0 ? new ConnectionClosedError(`connection ${this.id} closed`) : undefined;
    this.deadlineTimer?.cancel();
    this.deadlineTimer = undefined;
    for (const pushes of this.pendingByTimeout.values()) {
      for (const push of pushes.values()) {
        this.options.observePush?.(push.type, 'failed');
        push.reject(error!);
      }
    }
    this.pendingByTimeout.clear();
    this.sink.end();
    this.transport.close();
  }

  private writeMessage(message: Message): void {
    const bytes = encodePayload(message, { registry: this.options.registry });
    this.outboundBytes += bytes.byteLength;
    this.sink.write(bytes, () => {
      this.outboundBytes -= bytes.byteLength;
    });
    // A client that stops reading must not grow our memory without bound.
    if (this.outboundBytes > this.options.maxOutboundBytes) this.options.onOverflow(this);
  }
}
