import type { Logger } from 'pino';
import { ConnectionClosedError, request, RequestTimeoutError, type Labels, type Timers } from '../protocol/index.js';
import { isClusterSource, type Connection, type ConnectionMeta } from './connection.js';
import { checkLimit, surplusConnections, UNLIMITED_RULE, type ConnectionLimitRule, type LimitVerdict } from './control/limit-rule.js';
import { StreamEnd } from './transport/types.js';
import { ShedPacer, ShedPriority, type ShedOptions, type ShedPacerOptions, type ShedProgress } from './control/shed-pacer.js';

/** Why a connection was unregistered: a closed set, so it can label metrics. */
export const UnregisterReason = {
  TRANSPORT_CLOSED: 'transport closed',
  STREAM_ENDED: StreamEnd.ENDED_BY_CLIENT,
  STREAM_CANCELLED: StreamEnd.CANCELLED,
  STREAM_ERROR: StreamEnd.ERROR,
  EJECTED: 'ejected',
  OUTBOUND_OVERFLOW: 'outbound buffer overflow',
  CLOSED_WHILE_RESETTING: 'closed while resetting',
  SHUTDOWN: 'server shutting down',
} as const;
export type UnregisterReason = (typeof UnregisterReason)[keyof typeof UnregisterReason];

/**
 * Closes this server makes of its own accord: they say nothing of whether the client was moving, so
 * a reset whose ack timed out does not make them moves, and they are not timed as the client's.
 * (An ejection is ours too, but it is its own departure.)
 */
const SERVER_CLOSES: ReadonlySet<UnregisterReason> = new Set([UnregisterReason.SHUTDOWN, UnregisterReason.OUTBOUND_OVERFLOW]);

/**
 * How a connection left, for the layers above (naming holds a moved client's instances for a
 * grace, docs/naming.md): `moved` when this member had sent it a ConnectResetRequest that was
 * still awaiting its ack, or it acked one at most the move window before the close, or a reset's
 * ack timed out at most the move window before a close that was not ours ({@link SERVER_CLOSES});
 * `ejected` when the ejector found it dead; `closed` otherwise.
 */
export const Departure = { MOVED: 'moved', EJECTED: 'ejected', CLOSED: 'closed' } as const;
export type Departure = (typeof Departure)[keyof typeof Departure];

/** Told of every registration and unregistration, in order; a throwing listener is isolated. */
export interface ConnectionListener {
  readonly name: string;
  onConnected?(connection: Connection): void;
  /**
   * `sinceResetAckMs`: the connection had acknowledged a ConnectResetRequest (or its ack had timed
   * out) this long before it left, the latest of the two (metrics: how long clients take to move,
   * against the move window). Undefined when no reset settled within twice the move window, while a
   * reset awaits its ack, and for closes of our own ({@link SERVER_CLOSES}).
   */
  onDisconnected?(connection: Connection, reason: UnregisterReason, departure: Departure, sinceResetAckMs?: number): void;
}

export type RegisterResult = { readonly ok: true } | { readonly ok: false; readonly reason: 'closed' | Exclude<LimitVerdict, 'ok'> };

/**
 * Which address per-client-IP limits count: the one the client reports in its setup (Nacos), or the
 * transport's peer address, which a client cannot choose.
 */
export type ClientIpCounting = 'reported' | 'transport';

/** How long `loadSingle` waits for the client to acknowledge its ConnectResetRequest (Nacos: 3 s). */
export const RESET_ACK_TIMEOUT_MS = 3000;

/**
 * A connection closed within this of acking its ConnectResetRequest has moved. A client closes the
 * old connection once its new one is confirmed, which may take a while: our RpcClient's connect
 * alone may take 6.1 s with its default timeouts, and clients on a loaded host took up to 20 s in
 * the 3,000-client rebalance benchmark. Too short a window turns slow moves into closes (each a
 * removal subscribers see); too long holds, for the move grace, a client that gave up its move and
 * then died within it.
 */
export const DEFAULT_MOVE_WINDOW_MS = 30_000;

/**
 * The ConnectResetRequests sent to one connection. The last ack is kept apart from the newer
 * resets' outcomes: a drain asks again, and shutdown once more, a client already switching, and a
 * late or refused answer to those must not make its move look like a close.
 */
interface SentResets {
  /** Resets awaiting their ack. */
  pending: number;
  /** When the client last acknowledged one. */
  ackedAt: number | undefined;
  /** When a reset's ack last timed out: a client stalled past the timeout may still act on it. */
  timedOutAt: number | undefined;
}

/** A reset settled longer ago than this many move windows is as none: it explains no close. */
const RESET_MEMORY_WINDOWS = 2;

/**
 * Registered connections by id, with per-client-IP (reported, or transport: see
 * {@link ClientIpCounting}) and per-app counts, limits, traced IPs and
 * listeners (spec 5.6). Node runs this on one thread, so check-then-insert in `register` is
 * atomic: concurrent setups cannot overshoot a limit.
 */
export class ConnectionManager {
  private readonly connections = new Map<string, Connection>();
  private readonly perClientIp = new Map<string, number>();
  private readonly perApp = new Map<string, number>();
  /** Connections that count towards limits (all but trusted cluster members). */
  private limitedCount = 0;
  private readonly listeners: ConnectionListener[] = [];
  private rule: ConnectionLimitRule = UNLIMITED_RULE;
  private readonly shedPacer: ShedPacer;
  /** Resets sent to registered connections, by id: what tells a move from a close. */
  private readonly resets = new Map<string, SentResets>();
  /** Told when an operator moves clients (the balancer holds off then). */
  onOperatorMove: (() => void) | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly timers: Timers,
    shedOptions: ShedPacerOptions,
    private readonly countClientIpBy: ClientIpCounting = 'reported',
    /** See {@link DEFAULT_MOVE_WINDOW_MS}. */
    private readonly moveWindowMs: number = DEFAULT_MOVE_WINDOW_MS,
  ) {
    this.shedPacer = new ShedPacer(
      {
        sheddableIds: () => this.sheddable().map((c) => c.id),
        resetConnection: (id, redirect) => this.loadSingle(id, redirect),
      },
      timers,
      shedOptions,
      logger,
    );
  }

  get limitRule(): ConnectionLimitRule {
    return this.rule;
  }

  /** Replaces the rule; new limits apply to the next registration. */
  setLimitRule(rule: ConnectionLimitRule): void {
    this.rule = rule;
    for (const connection of this.connections.values()) connection.traced = this.traced(connection.meta.clientIp);
  }

  /**
   * Replaces the rule and sheds what is now over it (total, per client IP, per app) as one paced
   * budget. Returns how many connections are to move.
   * @throws ShedBusyError (rule unchanged) while a drain owns this member's shedding
   */
  applyLimitRule(rule: ConnectionLimitRule, redirectAddress?: string): number {
    this.shedPacer.assertCanStart(ShedPriority.OPERATOR);
    this.setLimitRule(rule);
    const counted = this.sheddable().map((c) => ({ id: c.id, meta: { clientIp: this.countedIp(c.meta), appName: c.meta.appName } }));
    const surplus = surplusConnections(counted, rule, {
      total: this.limitedCount,
      forClientIp: (ip) => this.perClientIp.get(ip) ?? 0,
      forApp: (app) => this.perApp.get(app) ?? 0,
    });
    this.shedPacer.start(surplus.size, { redirect: redirectAddress, eligible: (id) => surplus.has(id), priority: ShedPriority.OPERATOR });
    if (surplus.size > 0) this.onOperatorMove?.();
    return surplus.size;
  }

  /** Adds a listener; returns a function that removes it. */
  addListener(listener: ConnectionListener): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  register(connection: Connection): RegisterResult {
    if (!connection.connected) return { ok: false, reason: 'closed' };
    const { meta } = connection;
    if (this.connections.has(meta.connectionId)) return { ok: true };
    if (!meta.trustedCluster) {
      const ip = this.countedIp(meta);
      const verdict = checkLimit(this.rule, ip, meta.appName, {
        total: this.limitedCount,
        forClientIp: this.perClientIp.get(ip) ?? 0,
        forApp: this.perApp.get(meta.appName) ?? 0,
      });
      if (verdict !== 'ok') return { ok: false, reason: verdict };
      this.limitedCount++;
      increment(this.perClientIp, ip, 1);
      increment(this.perApp, meta.appName, 1);
    }
    connection.traced = this.traced(meta.clientIp);
    this.connections.set(meta.connectionId, connection);
    this.logger.info(
      { connectionId: meta.connectionId, clientIp: meta.clientIp, appName: meta.appName, version: meta.version },
      'connection registered',
    );
    this.notify((listener) => listener.onConnected?.(connection));
    return { ok: true };
  }

  /** Removes a connection, closes its stream and transport, and tells the listeners. */
  unregister(connectionId: string, reason: UnregisterReason): boolean {
    const connection = this.connections.get(connectionId);
    if (connection === undefined) return false;
    const { departure, sinceResetAckMs } = this.departureOf(connectionId, reason);
    this.connections.delete(connectionId);
    this.resets.delete(connectionId);
    const { meta } = connection;
    if (!meta.trustedCluster) {
      this.limitedCount--;
      increment(this.perClientIp, this.countedIp(meta), -1);
      increment(this.perApp, meta.appName, -1);
    }
    connection.close();
    this.logger.info({ connectionId, clientIp: meta.clientIp, appName: meta.appName, reason, departure, sinceResetAckMs }, 'connection unregistered');
    this.notify((listener) => listener.onDisconnected?.(connection, reason, departure, sinceResetAckMs));
    return true;
  }

  private departureOf(connectionId: string, reason: UnregisterReason): { departure: Departure; sinceResetAckMs?: number } {
    const reset = this.resets.get(connectionId);
    const ours = SERVER_CLOSES.has(reason);
    const ackedAgo = this.settledAgo(reset?.ackedAt);
    const timedOutAgo = this.settledAgo(reset?.timedOutAt);
    const latestAgo = ackedAgo === undefined || timedOutAgo === undefined ? (ackedAgo ?? timedOutAgo) : Math.min(ackedAgo, timedOutAgo);
    const sinceResetAckMs = ours ? undefined : latestAgo;
    let departure: Departure = Departure.CLOSED;
    if (reason === UnregisterReason.EJECTED) departure = Departure.EJECTED;
    // Awaiting an ack: a client may switch (and close this connection) before its ack is read. Acked:
    // it is switching, whoever closes. Timed out: a stalled client may act late, if it is the one closing.
    else if ((reset?.pending ?? 0) > 0 || this.withinWindow(ackedAgo) || (!ours && this.withinWindow(timedOutAgo))) departure = Departure.MOVED;
    return sinceResetAckMs === undefined ? { departure } : { departure, sinceResetAckMs };
  }

  /** How long ago a reset settled at `at`; undefined when it did not, or too long ago to count. */
  private settledAgo(at: number | undefined): number | undefined {
    if (at === undefined) return undefined;
    // The clock may step back: never a negative age.
    const ago = Math.max(0, this.timers.now() - at);
    return ago <= RESET_MEMORY_WINDOWS * this.moveWindowMs ? ago : undefined;
  }

  private withinWindow(ago: number | undefined): boolean {
    return ago !== undefined && ago <= this.moveWindowMs;
  }

  /**
   * Whether the connection acknowledged a reset within the move window: it is switching, and
   * asking again only holds up a client that handles resets one at a time (nacos-sdk-go).
   */
  isMoving(connectionId: string): boolean {
    return this.withinWindow(this.settledAgo(this.resets.get(connectionId)?.ackedAt));
  }

  /** Whether the total limit refuses the next connection now. */
  refusesNewConnections(): boolean {
    return checkLimit(this.rule, '', '', { total: this.limitedCount, forClientIp: 0, forApp: 0 }) === 'total';
  }

  checkValid(connectionId: string): boolean {
    return this.connections.has(connectionId);
  }

  get(connectionId: string): Connection | undefined {
    return this.connections.get(connectionId);
  }

  /** A snapshot of the registered connections, oldest first. */
  list(): Connection[] {
    return [...this.connections.values()];
  }

  get count(): number {
    return this.connections.size;
  }

  /** Connections whose labels contain every given entry (case-sensitive values). */
  currentClientsCount(filter: Labels = {}): number {
    const entries = Object.entries(filter);
    if (entries.length === 0) return this.connections.size;
    let n = 0;
    for (const connection of this.connections.values()) {
      if (entries.every(([k, v]) => connection.meta.labels[k] === v)) n++;
    }
    return n;
  }

  /** `source=sdk` connections, as Nacos's `currentSdkClientCount`. */
  currentSdkClientCount(): number {
    return this.currentClientsCount({ source: 'sdk' });
  }

  /**
   * Connections that may be shed: SDK ones, and those claiming `source=cluster` without being a
   * trusted member (decision 10.11). Unlabelled connections are left alone, as Nacos does.
   */
  sheddable(): Connection[] {
    return this.list().filter((c) => this.isSheddable(c));
  }

  private isSheddable(c: Connection): boolean {
    return !c.meta.trustedCluster && (c.isSdkSource || isClusterSource(c.meta.labels));
  }

  /** The address per-client-IP limits count for a connection (see {@link ClientIpCounting}). */
  countedIp(meta: Pick<ConnectionMeta, 'clientIp' | 'remoteIp'>): string {
    return this.countClientIpBy === 'transport' ? meta.remoteIp : meta.clientIp;
  }

  /** Limited connections per counted IP (the reported one unless counting by transport). */
  countForClientIp(clientIp: string): number {
    return this.perClientIp.get(clientIp) ?? 0;
  }

  clientIpCounts(): ReadonlyMap<string, number> {
    return this.perClientIp;
  }

  traced(clientIp: string): boolean {
    return this.rule.monitorIpList.includes(clientIp);
  }

  /**
   * Asks one connection to move (ConnectResetRequest, to `redirectAddress` when it is `ip:port`)
   * and waits `ackTimeoutMs` for its ack. A connection found closed is unregistered (as moved: it
   * was told to go). Resolves true on an ack; the connection's close within the move window after
   * it is then a move ({@link Departure}), whatever later resets get, and so is the client's own
   * close within the window after the ack timed out: a client stalled past the timeout acts on the
   * reset all the same. An error answer undoes a timeout, not an earlier ack. Every path that moves
   * clients comes through here.
   * `unackedLogLevel`: a shutdown, which resets every connection at once, logs each at debug and
   * sums them up itself.
   */
  async loadSingle(
    connectionId: string,
    redirectAddress?: string,
    ackTimeoutMs = RESET_ACK_TIMEOUT_MS,
    unackedLogLevel: 'warn' | 'debug' = 'warn',
  ): Promise<boolean> {
    const connection = this.connections.get(connectionId);
    if (connection === undefined || !this.isSheddable(connection)) return false;
    let resets = this.resets.get(connectionId);
    if (resets === undefined) {
      resets = { pending: 0, ackedAt: undefined, timedOutAt: undefined };
      this.resets.set(connectionId, resets);
    }
    resets.pending++;
    try {
      await connection.request(request('ConnectResetRequest', splitRedirect(redirectAddress)), ackTimeoutMs);
      resets.ackedAt = this.timers.now();
      return true;
    } catch (error) {
      if (error instanceof ConnectionClosedError || !connection.connected) {
        this.unregister(connectionId, UnregisterReason.CLOSED_WHILE_RESETTING);
      } else {
        // Timed out: the client may yet act on it (the 3,000-client rebalance's stalled clients
        // closed 9 s later), so the window runs from now. Refused: a later close is not this reset's doing.
        resets.timedOutAt = error instanceof RequestTimeoutError ? this.timers.now() : undefined;
        this.logger[unackedLogLevel]({ connectionId, err: error }, 'connection reset not acknowledged');
      }
      return false;
    } finally {
      resets.pending--;
    }
  }

  /**
   * An operator's move (reloadCurrent, ServerReloadRequest): sheds connections down to `target` as
   * a one-shot paced budget of (SDK connections − target) acknowledged resets (decision 10.13).
   * Returns the budget; 0 when already at or below target.
   * @throws ShedBusyError while a drain owns this member's shedding
   */
  loadCount(target: number, redirectAddress?: string): number {
    const budget = this.currentSdkClientCount() - Math.max(0, target);
    this.shedPacer.start(budget, { redirect: redirectAddress, priority: ShedPriority.OPERATOR });
    if (budget > 0) this.onOperatorMove?.();
    return Math.max(0, budget);
  }

  /** An operator's move of one connection (reloadClient); resolves true when it acknowledged. */
  reloadClient(connectionId: string, redirectAddress?: string): Promise<boolean> {
    this.onOperatorMove?.();
    return this.loadSingle(connectionId, redirectAddress);
  }

  /**
   * Sheds `budget` connections with the given choices (the balancer and drain use this).
   * @throws ShedBusyError when a budget of higher priority runs
   */
  shed(budget: number, options: ShedOptions): void {
    this.shedPacer.start(budget, options);
  }

  /** @throws ShedBusyError when a budget of higher priority than `priority` (default operator) runs or is reserved */
  assertCanShed(priority: ShedPriority = ShedPriority.OPERATOR): void {
    this.shedPacer.assertCanStart(priority);
  }

  /** Keeps lower-priority budgets out until the returned release is called (a drain's whole run). */
  reserveShedding(priority: ShedPriority): () => void {
    return this.shedPacer.reserve(priority);
  }

  get shedProgress(): ShedProgress {
    return this.shedPacer.progress;
  }

  /** Stops any shedding in progress (on close). */
  stopShedding(): void {
    this.shedPacer.stop();
  }

  private notify(call: (listener: ConnectionListener) => void): void {
    for (const listener of [...this.listeners]) {
      try {
        call(listener);
      } catch (error) {
        this.logger.error({ err: error, listener: listener.name }, 'connection listener failed');
      }
    }
  }
}

function increment(map: Map<string, number>, key: string, delta: number): void {
  const next = (map.get(key) ?? 0) + delta;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
}

/** `ip:port` → ConnectResetRequest fields; anything without a port means "anywhere" (spec 5.6). */
export function splitRedirect(redirectAddress: string | undefined): { serverIp?: string; serverPort?: string } {
  if (!redirectAddress) return {};
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(redirectAddress);
  if (bracketed) return { serverIp: bracketed[1]!, serverPort: bracketed[2]! };
  const colon = redirectAddress.lastIndexOf(':');
  // No colon, or an unbracketed IPv6 address: there is no port to split off.
  if (colon <= 0 || redirectAddress.indexOf(':') !== colon) return {};
  return { serverIp: redirectAddress.slice(0, colon), serverPort: redirectAddress.slice(colon + 1) };
}
