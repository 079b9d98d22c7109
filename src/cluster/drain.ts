import type { Logger } from 'pino';
import { sleep, type Timers } from '../protocol/index.js';
import type { ConnectionManager } from '../server/connection-manager.js';
import { ShedPriority } from '../server/control/shed-pacer.js';
import { pickWeighted, type Deficit } from './balancer.js';
import { isOutOfBalance, sdkCountOf, type ClusterLoad } from './loader-metrics.js';

export interface DrainDeps {
  readonly self: string;
  readonly manager: ConnectionManager;
  /** The cluster as seen now (members that answered). */
  load(): Promise<ClusterLoad>;
  /** Other members that are up. */
  upOthers(): string[];
  readonly timers: Timers;
  readonly random: () => number;
  readonly logger: Logger;
}

/**
 * Where this member's clients should go: the other up members that take clients, weighted by how
 * far each is below the share it will have once this member is empty. Each gets at least weight 1.
 */
export function drainTargets(load: ClusterLoad, self: string, up: readonly string[]): Deficit[] {
  const others = load.detail.filter((d) => d.address !== self && up.includes(d.address) && !isOutOfBalance(d.metric));
  const counts = new Map(others.map((d) => [d.address, sdkCountOf(d.metric) ?? 0]));
  const outOfBalance = new Set(load.detail.filter((d) => isOutOfBalance(d.metric)).map((d) => d.address));
  for (const address of up) if (!counts.has(address) && !outOfBalance.has(address)) counts.set(address, 0);
  if (counts.size === 0) return [];
  const total = load.detail.reduce((sum, d) => sum + (sdkCountOf(d.metric) ?? 0), 0);
  const share = Math.ceil(total / counts.size);
  return [...counts].map(([address, count]) => ({ address, deficit: Math.max(1, share - count) }));
}

/**
 * One redirect target for a client that must leave this member (a refusal, a shutdown), spread as
 * a drain spreads: over the other up members that are neither draining nor starting, weighted by
 * {@link drainTargets}. Undefined when there is none (the client then picks for itself).
 */
export function spreadRedirect(load: ClusterLoad | undefined, self: string, up: readonly string[], random: () => number): string | undefined {
  if (up.length === 0) return undefined;
  return pickWeighted(drainTargets(load ?? EMPTY_LOAD, self, up), random);
}

const EMPTY_LOAD: ClusterLoad = { detail: [], memberCount: 0, metricsCount: 0, completed: false, max: 0, min: -1, total: 0, avg: 0, threshold: 0 };

/**
 * Moves every client of this member to the other members, spread by their deficits, paced over
 * `windowMs`; resolves when none is left or the window (plus a grace) has passed. Clients keep
 * their old connection until the new one is confirmed, so no request fails.
 */
export async function drainClients(deps: DrainDeps, windowMs: number): Promise<void> {
  const up = deps.upOthers();
  const count = deps.manager.sheddable().length;
  if (up.length === 0 || count === 0) return;
  // The drain owns this member's shedding until it ends: operator and balancer budgets are refused.
  const release = deps.manager.reserveShedding(ShedPriority.DRAIN);
  try {
    await moveAll(deps, windowMs, count, up);
  } finally {
    deps.manager.stopShedding();
    release();
  }
  deps.logger.info({ left: deps.manager.sheddable().length }, 'draining: done');
}

async function moveAll(deps: DrainDeps, windowMs: number, count: number, up: readonly string[]): Promise<void> {
  const targets = drainTargets(await deps.load(), deps.self, up);
  const ratePerSecond = Math.max(1, count / Math.max(0.001, windowMs / 1000));
  deps.logger.info({ clients: count, windowMs, targets }, 'draining: moving clients to the other members');
  // Each reset picks its target at random, weighted by deficit. A client that acknowledged but
  // could not move (its new connection failed) is asked again once the budget has run out.
  const redirect = () => pickWeighted(targets, deps.random);
  const deadline = deps.timers.now() + windowMs + 5000;
  let round = 0;
  let idleSince: number | undefined;
  while (deps.manager.sheddable().length > 0 && deps.timers.now() < deadline) {
    const now = deps.timers.now();
    if (deps.manager.shedProgress.active) idleSince = undefined;
    else idleSince ??= now;
    // The first round pre-empts whatever runs; later ones give clients that just acknowledged a
    // second to finish moving before asking again.
    if (round === 0 || (idleSince !== undefined && now - idleSince >= 1000)) {
      idleSince = undefined;
      const left = deps.manager.sheddable().length;
      deps.manager.shed(left, { ratePerSecond: round === 0 ? ratePerSecond : Math.max(ratePerSecond, left), redirect, priority: ShedPriority.DRAIN });
      round++;
    }
    await sleep(deps.timers, 100);
  }
}
