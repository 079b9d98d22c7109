import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { NamingStats, PushObserver } from '../naming/index.js';
import { DEFAULT_MOVE_WINDOW_MS, type ConnectionManager } from '../server/connection-manager.js';
import type { PushOutcome } from '../server/connection.js';
import type { ServerObserver } from '../server/nacos-server.js';
import { TalliedCounter, type CounterTally } from './tallied-counter.js';
import { TalliedHistogram, type HistogramTally } from './tallied-histogram.js';

/** Client-chosen values (appName) are bounded: the top N by count keep their name, the rest are `other`. */
const TOP_APPS = 20;

/**
 * Buckets (s) for the time from a reset's ack to the close: fixed ones for quick moves, then
 * fractions of the move window up to twice it (the manager times nothing older), so any window
 * keeps its edge at a bucket bound.
 */
function resetAckToCloseBuckets(moveWindowMs: number): number[] {
  const windowSeconds = moveWindowMs / 1000;
  const bounds = [0.1, 0.5, 1, 2, 5, ...[0.25, 0.5, 1, 1.5, 2].map((f) => f * windowSeconds)].filter((b) => b > 0);
  return [...new Set(bounds)].sort((a, b) => a - b);
}

/** Which unary types get their own label value; anything else (client-chosen) is `other`. */
export type KnownType = (type: string) => boolean;

/** One unary type label's answers: counts by result code, and their handling times. */
interface UnaryTally {
  readonly label: string;
  readonly byCode: Map<number, CounterTally>;
  readonly latency: HistogramTally;
}

/**
 * The node's Prometheus metrics (prom-client), in a registry of its own so several nodes in one
 * process do not collide. Fed by the server's observer hooks and a connection listener.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  private readonly registrations: Counter;
  private readonly refusals: Counter<'reason'>;
  private readonly unregistrations: Counter<'reason' | 'departure'>;
  private readonly resetAckToClose: Histogram<'departure'>;
  private readonly pushes: TalliedCounter<'type' | 'outcome'>;
  private readonly unary: TalliedCounter<'type' | 'code'>;
  private readonly unaryLatency: TalliedHistogram;
  private readonly setupLatency: Histogram;
  private readonly namingPushes: Record<'acked' | 'failed', CounterTally>;
  private readonly namingPushLatency: HistogramTally;
  private naming: NamingStats | undefined;
  private manager: ConnectionManager | undefined;
  private knownType: KnownType = () => false;
  /**
   * Unary answers by type label, tallied (TalliedCounter, TalliedHistogram): prom-client's
   * labelled inc() and observe() hash the label object on every call, a measurable share of a
   * unary call. Bounded by the known types (anything else is `other`); a known type's label is
   * its name, so a call finds its tally with one lookup.
   */
  private readonly unaryByLabel = new Map<string, UnaryTally>();
  /** The same for pushes, by type: two increments per push, 10k pushes in a fan-out. */
  private readonly pushesByType = new Map<string, Record<PushOutcome, CounterTally>>();

  /** `moveWindowMs`: the server's (see `DEFAULT_MOVE_WINDOW_MS`), for the reset-ack-to-close buckets. */
  constructor(options: { readonly moveWindowMs?: number } = {}) {
    collectDefaultMetrics({ register: this.registry, prefix: 'nacos_remote_' });
    const registers = [this.registry];
    const metrics = this;
    new Gauge({
      name: 'nacos_remote_connections',
      help: 'Registered connections by label source and app (top apps by count, the rest as other)',
      labelNames: ['source', 'app'],
      registers,
      collect() {
        this.reset();
        for (const [key, n] of metrics.connectionBreakdown()) {
          const [source, app] = key.split('\u0000') as [string, string];
          this.set({ source, app }, n);
        }
      },
    });
    this.registrations = new Counter({ name: 'nacos_remote_registrations_total', help: 'Connections registered', registers });
    this.refusals = new Counter({ name: 'nacos_remote_refusals_total', help: 'Setups refused, by reason', labelNames: ['reason'], registers });
    this.unregistrations = new Counter({
      name: 'nacos_remote_unregistrations_total',
      help: 'Connections unregistered, by reason (ejections are reason "ejected") and departure (moved, ejected, closed: docs/naming.md, Moves)',
      labelNames: ['reason', 'departure'],
      registers,
    });
    this.resetAckToClose = new Histogram({
      name: 'nacos_remote_reset_ack_to_close_seconds',
      help:
        'From a connection\'s latest ack of a ConnectResetRequest (or an ack\'s timeout) to its close, by departure (moved; ' +
        'closed: past moveWindowMs; ejected). Not our own closes (shutdown, outbound overflow), nor resets over 2 windows old',
      labelNames: ['departure'],
      buckets: resetAckToCloseBuckets(options.moveWindowMs ?? DEFAULT_MOVE_WINDOW_MS),
      registers,
    });
    this.pushes = new TalliedCounter('nacos_remote_pushes_total', 'Awaited pushes: sent, acked, failed (error answer or closed), timeout', ['type', 'outcome'], registers);
    this.unary = new TalliedCounter('nacos_remote_unary_requests_total', 'Unary requests by type and result', ['type', 'code'], registers);
    this.unaryLatency = new TalliedHistogram(
      'nacos_remote_unary_request_seconds',
      'Unary request handling time',
      'type',
      [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    );
    this.setupLatency = new Histogram({
      name: 'nacos_remote_setup_seconds',
      help: 'ConnectionSetupRequest received to registered and listeners told',
      buckets: [0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05],
      registers,
    });
    new Gauge({
      name: 'nacos_remote_naming',
      help: 'Naming state: services with instances, instances, subscriptions, connections with naming state, clients held after a move or a member down (label what)',
      labelNames: ['what'],
      registers,
      collect() {
        this.reset();
        if (metrics.naming === undefined) return;
        for (const [what, n] of Object.entries(metrics.naming.stats())) this.set({ what }, n);
      },
    });
    const namingPushes = new TalliedCounter(
      'nacos_remote_naming_pushes_total',
      'NotifySubscriberRequest pushes settled: acked, or failed (error answer, timeout, closed; failures are retried)',
      ['outcome'],
      registers,
    );
    this.namingPushes = { acked: namingPushes.tally({ outcome: 'acked' }), failed: namingPushes.tally({ outcome: 'failed' }) };
    this.namingPushLatency = new TalliedHistogram(
      'nacos_remote_naming_push_seconds',
      'From the first change a naming push carries (merge window included) to its ack',
      undefined,
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    ).tally();
  }

  /** Hooks to pass to the naming push engine. */
  readonly namingPushObserver: PushObserver = {
    pushSettled: (outcome, elapsedMs) => {
      this.namingPushes[outcome].inc();
      if (outcome === 'acked') this.namingPushLatency.observe(elapsedMs / 1000);
    },
  };

  /** Reports a naming service's services, instances and subscribers at each scrape. */
  attachNaming(naming: NamingStats): void {
    this.naming = naming;
  }

  /** Hooks to pass as the server's `observer`. */
  readonly observer: ServerObserver = {
    setupHandled: (outcome, elapsedMs, reason) => {
      if (outcome === 'registered') this.setupLatency.observe(elapsedMs / 1000);
      else this.refusals.inc({ reason: reason ?? 'unknown' });
    },
    unaryAnswered: (type, resultCode, errorCode, elapsedMs) => {
      const tally = this.unaryByLabel.get(type) ?? this.unaryTallyOf(type);
      const code = resultCode === 200 ? 200 : errorCode;
      let count = tally.byCode.get(code);
      if (count === undefined) {
        count = this.unary.tally({ type: tally.label, code: String(code) });
        tally.byCode.set(code, count);
      }
      count.inc();
      tally.latency.observe(elapsedMs / 1000);
    },
    // Push types are chosen by server code, not by clients, so they are bounded already.
    pushObserved: (type: string, outcome: PushOutcome) => {
      (this.pushesByType.get(type) ?? this.pushTalliesOf(type))[outcome].inc();
    },
  };

  /** Starts counting a server's connections. */
  attach(manager: ConnectionManager, knownType: KnownType): void {
    this.manager = manager;
    this.knownType = knownType;
    manager.addListener({
      name: 'metrics',
      onConnected: () => this.registrations.inc(),
      onDisconnected: (_connection, reason, departure, sinceResetAckMs) => {
        this.unregistrations.inc({ reason, departure });
        if (sinceResetAckMs !== undefined) this.resetAckToClose.observe({ departure }, sinceResetAckMs / 1000);
      },
    });
  }

  /** The tally of a type not yet seen under its own name: its own if known, else `other`'s. */
  private unaryTallyOf(type: string): UnaryTally {
    const label = this.knownType(type) ? type : 'other';
    let tally = this.unaryByLabel.get(label);
    if (tally === undefined) {
      tally = { label, byCode: new Map(), latency: this.unaryLatency.tally(label) };
      this.unaryByLabel.set(label, tally);
    }
    return tally;
  }

  /** A push type's tallies (a count at 0 is not shown, as a label set prom-client never had incremented). */
  private pushTalliesOf(type: string): Record<PushOutcome, CounterTally> {
    const tallyOf = (outcome: PushOutcome) => this.pushes.tally({ type, outcome });
    const tallies = { sent: tallyOf('sent'), acked: tallyOf('acked'), failed: tallyOf('failed'), timeout: tallyOf('timeout') };
    this.pushesByType.set(type, tallies);
    return tallies;
  }

  /** Prometheus text exposition. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private connectionBreakdown(): Map<string, number> {
    const out = new Map<string, number>();
    if (!this.manager) return out;
    const connections = this.manager.list();
    const perApp = new Map<string, number>();
    for (const c of connections) perApp.set(c.meta.appName, (perApp.get(c.meta.appName) ?? 0) + 1);
    const top = new Set([...perApp.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP_APPS).map(([app]) => app));
    for (const c of connections) {
      const raw = c.meta.labels['source']?.toLowerCase();
      const source = raw === 'sdk' || raw === 'cluster' ? raw : raw === undefined ? 'none' : 'other';
      const app = top.has(c.meta.appName) ? c.meta.appName : 'other';
      const key = `${source}\u0000${app}`;
      out.set(key, (out.get(key) ?? 0) + 1);
    }
    return out;
  }
}
