import type { Logger } from 'pino';
import type { RequestMessage, Timers } from '../../protocol/index.js';
import { notifySubscriberRequest } from '../../protocol/naming/index.js';
import { groupedName, selectServiceInfo, serviceKey, type ServiceName } from '../model.js';
import type { NamingChangeListener, NamingState } from '../naming-state.js';

/** Push timing. Nacos 2.2.4: delay 500 ms, timeout 5 s, retry after 1 s (`nacos.naming.push.*`). */
export interface PushEngineOptions {
  /**
   * A service's merge window: a change of a service that had no push within it goes at once, and
   * the changes that follow within it are merged into one push at its end.
   */
  readonly delayMs: number;
  /** A push not acknowledged within this has failed. */
  readonly timeoutMs: number;
  /** A failed push is retried to its subscriber after this, as long as it stays subscribed. */
  readonly retryDelayMs: number;
  /**
   * A push goes to at most this many subscribers before the event loop gets a turn (default
   * {@link DEFAULT_SENDS_PER_TURN}): what was written leaves then, and acks are read, while the
   * rest is written; not after the last subscriber's.
   */
  readonly sendsPerTurn?: number;
}

export const DEFAULT_SENDS_PER_TURN = 128;

/** Ours: a short merge window (docs/naming.md). */
export const DEFAULT_PUSH_ENGINE_OPTIONS: PushEngineOptions = { delayMs: 20, timeoutMs: 5000, retryDelayMs: 1000 };

/**
 * Where pushes go (NacosServer): a push is prepared once for all its subscribers (one encode),
 * then sent to each; `settled` is called once, with no error when it was acked, never before
 * `send` returns (no promise per subscriber). A failure because the connection ended is told
 * after that connection's release (its subscriptions gone), so it is not retried.
 */
export interface PushChannel<Prepared> {
  prepare(request: RequestMessage): Prepared;
  send(connectionId: string, push: Prepared, timeoutMs: number, settled: (error: Error | undefined) => void): void;
}

/** Told of every push's end; `elapsedMs` runs from the first change the push carries. */
export interface PushObserver {
  pushSettled?(outcome: 'acked' | 'failed', elapsedMs: number): void;
}

/**
 * A service's pushes: what waits to go (to every subscriber, or to some: a first subscribe, a
 * retry), and the window the latest push opened. Kept while either holds, so a quiet service
 * costs nothing. Its times are timers.monotonicNow()'s: a stepped wall clock holds nothing back.
 */
interface ServicePushes {
  readonly service: ServiceName;
  toAll: boolean;
  readonly targets: Set<string>;
  /** When the first change waiting was made; undefined when nothing waits. */
  firstQueuedAt: number | undefined;
  /** When what waits goes: the earliest it is due, not before the window ends; Infinity when nothing waits. */
  pushAt: number;
  /** The window the latest push opened ends here (now or earlier: no window). */
  windowEndsAt: number;
  /** The timer fires at pushAt, or, nothing waiting, at the window's end to forget the service. */
  timerAt: number;
  cancelTimer: () => void;
  /** A push is being written, over several turns: the next waits for it (a subscriber's pushes keep their order). */
  sending: boolean;
}

/**
 * Nacos's push/v2 on a member: a change of a service is pushed to each of its subscribers as a
 * NotifySubscriberRequest. A change of a service with no push in the last `delayMs` goes at once;
 * later ones are merged into one push at the window's end, so a burst still makes about one push
 * per window. Each push awaits its acknowledgement and a failed one is retried to that subscriber
 * after `retryDelayMs` while it stays subscribed (a connection's end releases its subscriptions,
 * so that stops retries too).
 */
export class PushEngine<Prepared = unknown> implements NamingChangeListener {
  private readonly services = new Map<string, ServicePushes>();
  private closed = false;

  constructor(
    private readonly state: NamingState,
    private readonly channel: PushChannel<Prepared>,
    private readonly timers: Timers,
    private readonly options: PushEngineOptions,
    private readonly logger: Logger,
    private readonly observer: PushObserver = {},
    /** Runs `fn` after the event loop's I/O (setImmediate; tests drive it). */
    private readonly nextTurn: (fn: () => void) => void = (fn) => setImmediate(fn),
  ) {}

  serviceChanged(service: ServiceName): void {
    this.enqueue(service, undefined, 0, this.timers.monotonicNow());
  }

  subscribed(service: ServiceName, clientId: string): void {
    this.enqueue(service, clientId, 0, this.timers.monotonicNow());
  }

  /** Services with a push waiting to go. */
  get pendingCount(): number {
    let waiting = 0;
    for (const pushes of this.services.values()) if (pushes.firstQueuedAt !== undefined) waiting++;
    return waiting;
  }

  /** Drops pending pushes; pushes in flight settle but are not retried. */
  close(): void {
    this.closed = true;
    for (const pushes of this.services.values()) pushes.cancelTimer();
    this.services.clear();
  }

  /**
   * Adds to what waits for the service's next push (`target` undefined: every subscriber), due
   * `delayMs` from now but not before the window of its latest push ends. A push goes at the
   * earliest time any of what it carries is due, so a pending retry never holds back a change
   * for everyone else. A due time of now is still a timer (of 0 ms): the caller's synchronous
   * changes (a batch, a connection's release) finish first and go in one push.
   */
  private enqueue(service: ServiceName, target: string | undefined, delayMs: number, since: number): void {
    if (this.closed) return;
    const key = serviceKey(service);
    const now = this.timers.monotonicNow();
    let pushes = this.services.get(key);
    if (pushes === undefined) {
      pushes = { service, toAll: false, targets: new Set(), firstQueuedAt: undefined, pushAt: Infinity, windowEndsAt: now, timerAt: Infinity, cancelTimer: () => {}, sending: false };
      this.services.set(key, pushes);
    }
    if (target === undefined) {
      pushes.toAll = true;
      pushes.targets.clear();
    } else if (!pushes.toAll) {
      pushes.targets.add(target);
    }
    pushes.firstQueuedAt = Math.min(pushes.firstQueuedAt ?? since, since);
    pushes.pushAt = Math.min(pushes.pushAt, Math.max(now + delayMs, pushes.windowEndsAt));
    // While a push is being written, its end sets the timer.
    if (!pushes.sending && pushes.pushAt < pushes.timerAt) this.setTimer(key, pushes, pushes.pushAt);
  }

  private setTimer(key: string, pushes: ServicePushes, at: number): void {
    pushes.cancelTimer();
    pushes.timerAt = at;
    pushes.cancelTimer = this.timers.setTimeout(() => this.timerFired(key), at - this.timers.monotonicNow());
  }

  /** The waiting push goes if due (after one being written), opening a window. */
  private timerFired(key: string): void {
    const pushes = this.services.get(key);
    if (pushes === undefined) return;
    pushes.timerAt = Infinity;
    if (pushes.sending) return;
    const now = this.timers.monotonicNow();
    if (pushes.pushAt > now) {
      this.setTimerOrForget(key, pushes, now);
      return;
    }
    pushes.pushAt = Infinity;
    pushes.windowEndsAt = now + this.options.delayMs;
    this.run(key, pushes);
  }

  /** The timer for what waits, or for the window's end; a quiet service past its window is forgotten. */
  private setTimerOrForget(key: string, pushes: ServicePushes, now: number): void {
    if (pushes.pushAt !== Infinity) this.setTimer(key, pushes, pushes.pushAt);
    else if (pushes.windowEndsAt > now) this.setTimer(key, pushes, pushes.windowEndsAt);
    else this.services.delete(key);
  }

  private run(key: string, pushes: ServicePushes): void {
    const { service } = pushes;
    const firstQueuedAt = pushes.firstQueuedAt!;
    const targets = pushes.toAll ? [...this.state.subscribersOf(service)] : [...pushes.targets];
    pushes.toAll = false;
    pushes.targets.clear();
    pushes.firstQueuedAt = undefined;
    const snapshot = this.state.snapshot(service);
    const lastRefTime = this.state.lastRefTimeOf(snapshot);
    // Subscribers mostly ask for the same clusters: one push per clusters string, not per
    // subscriber, so it is selected and encoded once.
    const prepared = new Map<string, Prepared>();
    const sendsPerTurn = this.options.sendsPerTurn ?? DEFAULT_SENDS_PER_TURN;
    let next = 0;
    const sendSome = (): void => {
      if (this.closed) return;
      for (const end = Math.min(targets.length, next + sendsPerTurn); next < end; next++) {
        const clientId = targets[next]!;
        // By the key made once per push (subscriptionOf makes it per call: a string per subscriber).
        const subscription = this.state.clientOf(clientId)?.subscription(key);
        // Gone or unsubscribed since: nobody to tell.
        if (subscription === undefined) continue;
        let push = prepared.get(subscription.clusters);
        if (push === undefined) {
          push = this.channel.prepare(notifySubscriberRequest(selectServiceInfo(snapshot, { clusters: subscription.clusters, healthyOnly: false }, lastRefTime)));
          prepared.set(subscription.clusters, push);
        }
        this.sendOne(service, clientId, push, firstQueuedAt);
      }
      if (next < targets.length) {
        pushes.sending = true;
        this.nextTurn(sendSome);
        return;
      }
      pushes.sending = false;
      // The window runs from the write's end too: a write longer than the window still leaves a
      // merge gap before the next push, rather than pushes back to back under steady change.
      const now = this.timers.monotonicNow();
      pushes.windowEndsAt = Math.max(pushes.windowEndsAt, now + this.options.delayMs);
      pushes.pushAt = Math.max(pushes.pushAt, pushes.windowEndsAt);
      this.setTimerOrForget(key, pushes, now);
    };
    sendSome();
  }

  private sendOne(service: ServiceName, clientId: string, push: Prepared, firstQueuedAt: number): void {
    this.channel.send(clientId, push, this.options.timeoutMs, (error) => {
      if (error === undefined) {
        this.observer.pushSettled?.('acked', this.timers.monotonicNow() - firstQueuedAt);
        return;
      }
      this.observer.pushSettled?.('failed', this.timers.monotonicNow() - firstQueuedAt);
      if (this.state.subscriptionOf(clientId, service) === undefined) return;
      this.logger.warn({ err: error, connectionId: clientId, service: groupedName(service) }, 'naming push failed; retrying');
      this.enqueue(service, clientId, this.options.retryDelayMs, firstQueuedAt);
    });
  }
}
