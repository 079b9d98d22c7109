import type { Logger } from 'pino';
import type { RequestMessage, ResponseMessage, Timers } from '../../protocol/index.js';
import { notifySubscriberRequest } from '../../protocol/naming/index.js';
import { groupedName, selectServiceInfo, serviceKey, type ServiceName } from '../model.js';
import type { NamingChangeListener, NamingState } from '../naming-state.js';

/** Push timing. Nacos 2.2.4: delay 500 ms, timeout 5 s, retry after 1 s (`nacos.naming.push.*`). */
export interface PushEngineOptions {
  /** Changes of one service within this window go out as one push. */
  readonly delayMs: number;
  /** A push not acknowledged within this has failed. */
  readonly timeoutMs: number;
  /** A failed push is retried to its subscriber after this, as long as it stays subscribed. */
  readonly retryDelayMs: number;
}

/** Ours: a short merge window, so subscribers hear of a change promptly (docs/naming.md). */
export const DEFAULT_PUSH_ENGINE_OPTIONS: PushEngineOptions = { delayMs: 20, timeoutMs: 5000, retryDelayMs: 1000 };

/** Sends a push to a connection and resolves with its successful answer (NacosServer.push). */
export type PushSender = (connectionId: string, request: RequestMessage, timeoutMs: number) => Promise<ResponseMessage>;

/** Told of every push's end; `elapsedMs` runs from the first change the push carries. */
export interface PushObserver {
  pushSettled?(outcome: 'acked' | 'failed', elapsedMs: number): void;
}

/** A service's pending push: to every subscriber, or to some (a first subscribe, a retry). */
interface PendingPush {
  readonly service: ServiceName;
  toAll: boolean;
  readonly targets: Set<string>;
  firstQueuedAt: number;
  dueAt: number;
  cancel: () => void;
}

/**
 * Nacos's push/v2 on a member: a change of a service is pushed to each of its subscribers as a
 * NotifySubscriberRequest, changes merged over `delayMs`; each push awaits its acknowledgement and
 * a failed one is retried to that subscriber after `retryDelayMs` while it stays subscribed (a
 * connection's end releases its subscriptions, so that stops retries too).
 */
export class PushEngine implements NamingChangeListener {
  private readonly pending = new Map<string, PendingPush>();
  private closed = false;

  constructor(
    private readonly state: NamingState,
    private readonly send: PushSender,
    private readonly timers: Timers,
    private readonly options: PushEngineOptions,
    private readonly logger: Logger,
    private readonly observer: PushObserver = {},
  ) {}

  serviceChanged(service: ServiceName): void {
    this.enqueue(service, undefined, this.options.delayMs, this.timers.now());
  }

  subscribed(service: ServiceName, clientId: string): void {
    this.enqueue(service, clientId, this.options.delayMs, this.timers.now());
  }

  /** Services with a push waiting for its window. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Drops pending pushes; pushes in flight settle but are not retried. */
  close(): void {
    this.closed = true;
    for (const push of this.pending.values()) push.cancel();
    this.pending.clear();
  }

  /**
   * Merges into the service's pending push, or schedules one; `target` undefined means every
   * subscriber. A merged push goes at the earlier of the two times, so a pending retry never
   * holds back a change for everyone else.
   */
  private enqueue(service: ServiceName, target: string | undefined, delayMs: number, since: number): void {
    if (this.closed) return;
    const key = serviceKey(service);
    const dueAt = this.timers.now() + delayMs;
    const existing = this.pending.get(key);
    if (existing !== undefined) {
      if (target === undefined) {
        existing.toAll = true;
        existing.targets.clear();
      } else if (!existing.toAll) {
        existing.targets.add(target);
      }
      existing.firstQueuedAt = Math.min(existing.firstQueuedAt, since);
      if (dueAt < existing.dueAt) {
        existing.cancel();
        existing.dueAt = dueAt;
        existing.cancel = this.timers.setTimeout(() => this.run(key), delayMs);
      }
      return;
    }
    const cancel = this.timers.setTimeout(() => this.run(key), delayMs);
    const targets = new Set<string>(target === undefined ? [] : [target]);
    this.pending.set(key, { service, toAll: target === undefined, targets, firstQueuedAt: since, dueAt, cancel });
  }

  private run(key: string): void {
    const push = this.pending.get(key);
    if (push === undefined) return;
    this.pending.delete(key);
    const { service } = push;
    const snapshot = this.state.snapshot(service);
    const targets = push.toAll ? [...this.state.subscribersOf(service)] : [...push.targets];
    // Subscribers mostly ask for the same clusters: one push per clusters string, not per
    // subscriber, so it is selected and encoded once (its body is shared).
    const pushes = new Map<string, RequestMessage>();
    for (const clientId of targets) {
      const subscription = this.state.subscriptionOf(clientId, service);
      // Gone or unsubscribed since: nobody to tell.
      if (subscription === undefined) continue;
      let request = pushes.get(subscription.clusters);
      if (request === undefined) {
        request = notifySubscriberRequest(selectServiceInfo(snapshot, { clusters: subscription.clusters, healthyOnly: false }, this.timers.now()));
        pushes.set(subscription.clusters, request);
      }
      this.send(clientId, request, this.options.timeoutMs).then(
        () => this.observer.pushSettled?.('acked', this.timers.now() - push.firstQueuedAt),
        (error: unknown) => {
          this.observer.pushSettled?.('failed', this.timers.now() - push.firstQueuedAt);
          if (this.state.subscriptionOf(clientId, service) === undefined) return;
          this.logger.warn({ err: error, connectionId: clientId, service: groupedName(service) }, 'naming push failed; retrying');
          this.enqueue(service, clientId, this.options.retryDelayMs, push.firstQueuedAt);
        },
      );
    }
  }
}
