import type { RequestMessage, ResponseMessage, Timers } from '../protocol/index.js';
import { groupKey, type ConfigKey } from '../protocol/config/index.js';
import type { ListenContext } from './listen-context.js';

/** Nacos's RpcConfigChangeNotifier numbers: 3 s per push, try n+1 after 2n s, 50 tries. */
export interface NotifyOptions {
  /** How long one push waits for the client's answer. */
  readonly timeoutMs: number;
  /** After failed try n the next waits n × this. */
  readonly retryStepMs: number;
  /** Tries before the connection is dropped. */
  readonly maxAttempts: number;
}

export const DEFAULT_NOTIFY_OPTIONS: NotifyOptions = { timeoutMs: 3000, retryStepMs: 2000, maxAttempts: 50 };

/** How the notifier reaches connections: the server's push, liveness and unregister. */
export interface NotifyTransport {
  push(connectionId: string, request: RequestMessage, timeoutMs: number): Promise<ResponseMessage>;
  isConnected(connectionId: string): boolean;
  /** Unregisters (closes) a connection that did not answer `maxAttempts` pushes. */
  drop(connectionId: string): void;
}

export type NotifyOutcome = 'acked' | 'failed' | 'dropped';

/** Called for every push settled; `elapsedMs` from the change to this outcome. */
export type NotifyObserver = (outcome: NotifyOutcome, elapsedMs: number) => void;

/** One connection's pending notification of one key. */
interface NotifyTask {
  readonly connectionId: string;
  readonly key: ConfigKey;
  attempt: number;
  /** When the change this task delivers happened. */
  changedAt: number;
  /** Another change came while a push was on the wire: push again once it settles. */
  again: boolean;
  inFlight: boolean;
  cancelRetry: (() => void) | undefined;
}

/** Builds the ConfigChangeNotifyRequest for a key, its namespace named as the listener named it. */
export function changeNotifyRequest(key: ConfigKey, tenant = key.tenant): RequestMessage {
  return { kind: 'request', type: 'ConfigChangeNotifyRequest', headers: {}, body: { dataId: key.dataId, group: key.group, tenant } };
}

/**
 * Tells every listening connection that a key changed and retries as Nacos does. One task per
 * connection and key: a change while a retry waits rides on that retry, and a change while a push
 * is on the wire sends one more after it (the client reads the key when told, so one notify after
 * the last change is what it needs).
 */
export class ConfigNotifier {
  private readonly tasks = new Map<string, Map<string, NotifyTask>>();
  private stopped = false;

  constructor(
    private readonly context: ListenContext,
    private readonly transport: NotifyTransport,
    private readonly timers: Timers,
    private readonly options: NotifyOptions = DEFAULT_NOTIFY_OPTIONS,
    private readonly observe: NotifyObserver = () => undefined,
  ) {}

  /** A key changed: notify its listeners. */
  changed(key: ConfigKey): void {
    if (this.stopped) return;
    const gk = groupKey(key);
    const now = this.timers.now();
    for (const connectionId of this.context.listeners(gk)) {
      let byKey = this.tasks.get(connectionId);
      if (byKey === undefined) this.tasks.set(connectionId, (byKey = new Map()));
      const existing = byKey.get(gk);
      if (existing !== undefined) {
        if (existing.inFlight) existing.again = true;
        continue;
      }
      const task: NotifyTask = { connectionId, key, attempt: 0, changedAt: now, again: false, inFlight: false, cancelRetry: undefined };
      byKey.set(gk, task);
      this.attempt(task);
    }
  }

  /** A connection closed: its pending retries stop. */
  connectionClosed(connectionId: string): void {
    const byKey = this.tasks.get(connectionId);
    if (byKey === undefined) return;
    for (const task of byKey.values()) task.cancelRetry?.();
    this.tasks.delete(connectionId);
  }

  /** Pending tasks (waiting to retry or on the wire). */
  get pendingCount(): number {
    let count = 0;
    for (const byKey of this.tasks.values()) count += byKey.size;
    return count;
  }

  /** Stops every retry; pushes on the wire settle and are not retried. */
  stop(): void {
    this.stopped = true;
    for (const connectionId of [...this.tasks.keys()]) this.connectionClosed(connectionId);
  }

  private attempt(task: NotifyTask): void {
    task.cancelRetry = undefined;
    if (this.stopped || !this.transport.isConnected(task.connectionId)) {
      this.finish(task);
      return;
    }
    task.attempt++;
    task.inFlight = true;
    task.again = false;
    const tenant = this.context.spelledTenantOf(task.connectionId, groupKey(task.key));
    this.transport.push(task.connectionId, changeNotifyRequest(task.key, tenant), this.options.timeoutMs).then(
      () => this.settled(task, true),
      () => this.settled(task, false),
    );
  }

  private settled(task: NotifyTask, ok: boolean): void {
    task.inFlight = false;
    if (!this.isCurrent(task)) return;
    this.observe(ok ? 'acked' : 'failed', this.timers.now() - task.changedAt);
    if (ok) {
      if (!task.again) {
        this.finish(task);
        return;
      }
      // A newer change: deliver it as a fresh task would.
      task.attempt = 0;
      task.changedAt = this.timers.now();
      this.attempt(task);
      return;
    }
    if (task.attempt >= this.options.maxAttempts) {
      this.finish(task);
      this.observe('dropped', this.timers.now() - task.changedAt);
      this.transport.drop(task.connectionId);
      return;
    }
    task.cancelRetry = this.timers.setTimeout(() => this.attempt(task), task.attempt * this.options.retryStepMs);
  }

  /** Whether the task is still the one registered (not cleared by a close or stop). */
  private isCurrent(task: NotifyTask): boolean {
    return this.tasks.get(task.connectionId)?.get(groupKey(task.key)) === task;
  }

  private finish(task: NotifyTask): void {
    const byKey = this.tasks.get(task.connectionId);
    if (byKey === undefined) return;
    byKey.delete(groupKey(task.key));
    if (byKey.size === 0) this.tasks.delete(task.connectionId);
  }
}
