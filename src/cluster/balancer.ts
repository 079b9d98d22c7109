import type { Logger } from 'pino';
import type { Timers } from '../protocol/index.js';
import { ShedBusyError } from '../server/control/shed-pacer.js';
import { ExtraLoaderMetric } from '../server/handlers/server-loader-info.js';
import { isOutOfBalance, sdkCountOf, type ClusterLoad } from './loader-metrics.js';

/** The balancer's knobs (docs/balancing.md). */
export interface BalancerOptions {
  readonly enabled: boolean;
  /** How often a member looks at the cluster. */
  readonly intervalMs: number;
  /** Shed only above avg × (1 + band). */
  readonly band: number;
  /** A budget is paced to take about this long (so a large surplus moves faster than a small one)... */
  readonly spreadMs: number;
  /** ...at no less than this many moves per second... */
  readonly minMemberRatePerSecond: number;
  /** ...and no more than the member's share of this cluster-wide rate (what the receivers get)... */
  readonly clusterRatePerSecond: number;
  /** ...nor than this. */
  readonly maxMemberRatePerSecond: number;
  /** A connection younger than this (it just moved here) is not moved again. */
  readonly cooldownMs: number;
  /** A member that just started does not shed for this long. */
  readonly warmupMs: number;
  /** After a shed budget ends, wait this long for counts to settle before looking again. */
  readonly settleMs: number;
  /** After an operator moves clients on any member, every member's balancer holds this long. */
  readonly operatorHoldMs: number;
}

export const DEFAULT_BALANCER_OPTIONS: BalancerOptions = {
  enabled: true,
  intervalMs: 1000,
  band: 0.1,
  spreadMs: 5000,
  minMemberRatePerSecond: 30,
  clusterRatePerSecond: 300,
  maxMemberRatePerSecond: 150,
  cooldownMs: 10_000,
  warmupMs: 3000,
  settleMs: 1500,
  operatorHoldMs: 60_000,
};

/** How many more clients a member takes before its limit refuses them (Infinity: no limit). */
export function roomOf(metric: Readonly<Record<string, string>>): number {
  if (metric[ExtraLoaderMetric.REFUSING] === 'true') return 0;
  const limit = Number.parseInt(metric[ExtraLoaderMetric.COUNT_LIMIT] ?? '', 10);
  if (!Number.isFinite(limit) || limit < 0) return Number.POSITIVE_INFINITY;
  return Math.max(0, limit - sdkOf(metric));
}

/** An under-loaded member and how many clients it lacks. */
export interface Deficit {
  readonly address: string;
  readonly deficit: number;
}

export type Decision =
  | { readonly action: 'hold'; readonly reason: string }
  | { readonly action: 'shed'; readonly budget: number; readonly ratePerSecond: number; readonly targets: readonly Deficit[] };

/** What the balancer knows at one look. */
export interface BalanceInput {
  readonly self: string;
  /** Members that answered (down members are not in it). */
  readonly load: ClusterLoad;
  readonly now: number;
  readonly startedAt: number;
  /** Own SDK count at the previous look, to tell whether clients are arriving. */
  readonly previousCount: number | undefined;
  /** Own connections old enough to be moved (past the cool-down). */
  readonly movable: number;
}

const sdkOf = (metric: Readonly<Record<string, string>>): number => sdkCountOf(metric) ?? 0;

/**
 * The longest operator hold another member reports, in ms (0: none), at most `maxMs`: no hold is
 * longer than this member's own, so one bad or skewed report cannot stop balancing for good.
 */
function reportedHoldMs(load: ClusterLoad, self: string, maxMs: number): number {
  let longest = 0;
  for (const d of load.detail) {
    if (d.address === self) continue;
    const ms = Number.parseInt(d.metric[ExtraLoaderMetric.OPERATOR_HOLD_MS] ?? '', 10);
    if (Number.isFinite(ms)) longest = Math.max(longest, ms);
  }
  return Math.min(longest, maxMs);
}

/**
 * One member's decision (pure, so it is unit-tested with plain numbers). When it is above the
 * band, or another member is below it while this one is above the cluster's share
 * ceil(total / members), it sheds its surplus over that share: triggering at the band and aiming
 * at the mean is the hysteresis, and shedding only the surplus keeps moves near the minimum.
 * A member that is receiving clients, or still warming up, holds.
 */
export function decide(input: BalanceInput, options: BalancerOptions): Decision {
  const { self } = input;
  // A draining member's clients are not ours to balance, and neither it nor a starting member is a target.
  const load = { ...input.load, detail: input.load.detail.filter((d) => !isOutOfBalance(d.metric)) };
  const members = load.detail.length;
  if (members < 2) return { action: 'hold', reason: 'alone' };
  if (input.now - input.startedAt < options.warmupMs) return { action: 'hold', reason: 'warming up' };
  const mine = load.detail.find((d) => d.address === self);
  if (mine === undefined) return { action: 'hold', reason: 'not in the view' };
  const count = sdkOf(mine.metric);
  if (input.previousCount !== undefined && count > input.previousCount) return { action: 'hold', reason: 'receiving clients' };
  const total = load.detail.reduce((sum, d) => sum + sdkOf(d.metric), 0);
  const mean = total / members;
  const share = Math.ceil(mean);
  const floor = Math.floor(mean);
  // Out of the band on either side: this member too loaded, or another too empty while this one is above its share.
  const starved = load.detail.some((d) => sdkOf(d.metric) < mean * (1 - options.band));
  if (count <= mean * (1 + options.band) && !(starved && count > share)) return { action: 'hold', reason: 'inside the band' };
  // A member's limit caps what it is sent: clients sent beyond it would only be refused.
  const targets = load.detail
    .filter((d) => d.address !== self)
    .map((d) => ({ address: d.address, deficit: Math.min(floor - sdkOf(d.metric), roomOf(d.metric)) }))
    .filter((d) => d.deficit > 0);
  if (targets.length === 0) return { action: 'hold', reason: 'nobody is under-loaded' };
  const budget = Math.min(count - share, input.movable, targets.reduce((sum, t) => sum + t.deficit, 0));
  if (budget <= 0) return { action: 'hold', reason: 'nothing movable' };
  const cap = Math.min(options.maxMemberRatePerSecond, options.clusterRatePerSecond / members);
  const paced = Math.max(options.minMemberRatePerSecond, budget / (options.spreadMs / 1000));
  const ratePerSecond = Math.max(1, Math.min(cap, paced));
  return { action: 'shed', budget, ratePerSecond, targets };
}

/** Picks a target at random, weighted by deficit, so several shedding members spread their clients. */
export function pickWeighted(targets: readonly Deficit[], random: () => number): string | undefined {
  const total = targets.reduce((sum, t) => sum + Math.max(0, t.deficit), 0);
  if (total <= 0) return undefined;
  let point = random() * total;
  for (const t of targets) {
    point -= Math.max(0, t.deficit);
    if (point < 0) return t.address;
  }
  return targets.at(-1)?.address;
}

/**
 * A redirect chooser over under-loaded members: weighted by deficit, and each pick lowers that
 * member's deficit, so one shedding member does not overfill one target.
 */
export function deficitPicker(targets: readonly Deficit[], random: () => number): () => string | undefined {
  const remaining = targets.map((t) => ({ address: t.address, deficit: t.deficit }));
  return () => {
    const address = pickWeighted(remaining, random);
    const target = remaining.find((t) => t.address === address);
    if (target !== undefined) target.deficit--;
    return address;
  };
}

/** What the balancer acts through. */
export interface BalancerDeps {
  readonly self: string;
  load(): Promise<ClusterLoad>;
  /** Own connections that may be moved now (past the cool-down), by id. */
  movableIds(cooldownMs: number): Set<string>;
  /** Starts a paced shed of `budget` of the eligible connections, each redirected as chosen. */
  shed(budget: number, ratePerSecond: number, eligible: (id: string) => boolean, redirect: () => string | undefined): void;
  /** Whether a shed budget is still running. */
  shedding(): boolean;
  readonly timers: Timers;
  readonly random: () => number;
  readonly logger: Logger;
}

/**
 * Automatic balancing on one member: looks at the cluster every interval (with jitter) and, when
 * `decide` says so, sheds its surplus toward under-loaded members, weighted by their deficits.
 */
export class Balancer {
  private cancel: (() => void) | undefined;
  private readonly startedAt: number;
  private previousCount: number | undefined;
  private quietUntil = 0;
  /** Until when an operator's move on this member holds the cluster's balancers (this member reports it). */
  private ownHoldUntil = 0;
  /** Until when a hold reported by another member keeps this balancer still. */
  private reportedHoldUntil = 0;
  private stopped = true;
  /** Moves this member started, for metrics and the demo. */
  moves = 0;
  /** Looks at the cluster taken, and what the last one decided (for tests and operators). */
  looks = 0;
  lastDecision: Decision | undefined;

  constructor(
    private readonly deps: BalancerDeps,
    private readonly options: BalancerOptions,
  ) {
    this.startedAt = deps.timers.now();
  }

  start(): void {
    if (!this.options.enabled || !this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.cancel?.();
    this.cancel = undefined;
  }

  /**
   * An operator moved clients on this member: this balancer holds for `operatorHoldMs`, and reports
   * the hold with its loader metrics so every other member's balancer holds too.
   */
  holdForOperator(): void {
    this.ownHoldUntil = this.deps.timers.now() + this.options.operatorHoldMs;
    this.deps.logger.info({ holdMs: this.options.operatorHoldMs }, 'balancing: holding after an operator move');
  }

  /** Until when this balancer holds for an operator's move (its own or one another member reported); 0 when not. */
  get operatorHoldUntil(): number {
    const until = Math.max(this.ownHoldUntil, this.reportedHoldUntil);
    return until > this.deps.timers.now() ? until : 0;
  }

  /** What this member adds to its loader metrics: the operator hold it started, while it lasts. */
  loaderMetrics(): Record<string, string> {
    const left = this.ownHoldUntil - this.deps.timers.now();
    return left > 0 ? { [ExtraLoaderMetric.OPERATOR_HOLD_MS]: String(left) } : {};
  }

  /** One look at the cluster; returns what was decided. */
  async runOnce(): Promise<Decision> {
    const { deps, options } = this;
    const now = deps.timers.now();
    if (deps.shedding()) {
      this.quietUntil = now + options.settleMs;
      return { action: 'hold', reason: 'shedding' };
    }
    if (now < this.quietUntil) return { action: 'hold', reason: 'settling' };
    const load = await deps.load();
    // Only holds that members started themselves are reported, so an adopted hold never echoes back longer.
    this.reportedHoldUntil = Math.max(this.reportedHoldUntil, now + reportedHoldMs(load, deps.self, options.operatorHoldMs));
    if (this.operatorHoldUntil > 0) return { action: 'hold', reason: 'operator hold' };
    const input = { self: deps.self, load, now, startedAt: this.startedAt, previousCount: this.previousCount };
    let decision = decide({ ...input, movable: Number.POSITIVE_INFINITY }, options);
    // The movable set is a pass over every connection: built only when there is something to shed.
    const movable = decision.action === 'shed' ? deps.movableIds(options.cooldownMs) : new Set<string>();
    if (decision.action === 'shed') decision = decide({ ...input, movable: movable.size }, options);
    const mine = load.detail.find((d) => d.address === deps.self);
    this.previousCount = mine === undefined ? undefined : sdkOf(mine.metric);
    if (decision.action === 'shed') {
      deps.logger.info({ budget: decision.budget, rate: decision.ratePerSecond, targets: decision.targets }, 'balancing: shedding surplus');
      try {
        // Targets' deficits shrink as they are picked, so one target is not overfilled by this member.
        deps.shed(decision.budget, decision.ratePerSecond, (id) => movable.has(id), deficitPicker(decision.targets, deps.random));
      } catch (error) {
        // An operator's or a drain's budget started while this look was under way: theirs wins.
        if (error instanceof ShedBusyError) return { action: 'hold', reason: 'shedding' };
        throw error;
      }
      this.moves += decision.budget;
      this.quietUntil = now + options.settleMs;
    }
    return decision;
  }

  private schedule(): void {
    if (this.stopped) return;
    // Jitter, so the members do not all look at the same moment.
    const delay = this.options.intervalMs * (0.75 + this.deps.random() * 0.5);
    this.cancel = this.deps.timers.setTimeout(() => {
      this.cancel = undefined;
      this.runOnce()
        .then((decision) => {
          this.looks++;
          this.lastDecision = decision;
        })
        .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'balancer run failed'))
        .finally(() => this.schedule());
    }, delay);
  }
}
