// Rebalance after a restart: 3 members on 127.0.0.1-3, N clients (default 3000) in a child
// process, each sending a HealthCheck every few seconds; SIGKILL one member, let its clients
// reconnect to the others, restart it, and time until every member is within ±10 % of even.
// Balancing on (median of R runs) against the baseline in the same run: balancing off with an
// operator calling smartReloadCluster every second (Nacos's manual tool). Connections per member
// are sampled throughout and plotted (bench/results/rebalance.svg), balancing on and off.
// Every client is a NamingClient that registers one instance of one service; a subscriber on each
// member that stays up counts the instances that vanish from its pushed list from the restart until
// the end of the run: subscriber-visible removals, what a caller of the service would see flap.
// The subscribers are observers, not part of the fleet: labelled as no SDK, so the balancer neither
// counts nor moves them (at 3,000 clients it had moved both in some runs, leaving none counted).
// Usage: node --import tsx bench/rebalance.ts [--clients 3000] [--runs 3] [--interval 5000]
//          [--limit 90] [--quick] [--skip-baseline]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterScenario, Fleet, isEven } from '../test/support/cluster-scenario.js';
import { NamingSubscribers } from '../test/support/naming-subscribers.js';
import { writeArtifact, writeResult } from './support/results.js';
import { median } from './support/stats.js';
import { lineChartSvg, type Panel } from './support/svg-plot.js';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '3000' },
    runs: { type: 'string', default: '3' },
    interval: { type: 'string', default: '5000' },
    limit: { type: 'string', default: '90' },
    quick: { type: 'boolean', default: false },
    'skip-baseline': { type: 'boolean', default: false },
  },
});
const config = {
  clients: args.quick ? 150 : Number(args.clients),
  runs: args.quick ? 1 : Number(args.runs),
  /** Each client's request interval: 3000 clients at 5 s are 600 requests/s besides health checks. */
  requestIntervalMs: args.quick ? 1000 : Number(args.interval),
  limitMs: (args.quick ? 20 : Number(args.limit)) * 1000,
  /** The quick run skips the baseline, which takes the whole limit when it never gets even. */
  baseline: !args.quick && !args['skip-baseline'],
  sampleMs: 500,
};

interface Sample {
  /** Seconds since the restart (negative: before it). */
  readonly t: number;
  readonly perServer: Record<string, number>;
}

const SERVICE = 'bench-rebalance';
/** Removals described in a run's output (which instance, when, its client's connection events). */
const MAX_REMOVALS_DESCRIBED = 6;

/**
 * A subscriber on each member that stays up (test/support/naming-subscribers.ts), counting the
 * instances that vanish from its list once counting starts. Its connection's `source` label is
 * not `sdk`, so the balancer leaves it where it is (it moves SDK connections only, as Nacos's
 * reloads do) and it does not count in the load being evened. Should it move all the same (its
 * member failed), what its list does then is its own move, not the fleet's: only a subscriber
 * still on the connection it counted from is counted (`stayed`).
 */
class RemovalCount {
  readonly subscribers = new NamingSubscribers({
    client: { labels: { source: 'bench-observer' } },
    onList: (address, instances, before) => this.told(address, instances, before),
  });
  private readonly removals = new Map<string, number>();
  /** The first removals seen (which instance, where, when), to say which client flapped and why. */
  readonly removed: { readonly address: string; readonly instance: string; readonly at: number }[] = [];
  /** The connection each subscriber counts on, from startCounting() on. */
  private countedOn: Map<string, string | undefined> | undefined;

  startCounting(): void {
    this.countedOn = new Map([...this.subscribers.clients].map(([address, naming]) => [address, naming.rpcClient.connectionId]));
  }

  /** Removals each subscriber still on the connection it counted from saw. */
  stayed(): number[] {
    const counted = [...(this.countedOn ?? [])].filter(([address, id]) => id !== undefined && this.subscribers.clients.get(address)?.rpcClient.connectionId === id);
    return counted.map(([address]) => this.removals.get(address) ?? 0);
  }

  /** Whether every subscriber lists all `count` instances. */
  allListed(count: number): boolean {
    return [...this.subscribers.clients.keys()].every((address) => this.subscribers.latest.get(address)?.length === count);
  }

  /** The instances some subscriber does not list. */
  missing(instances: readonly string[]): string[] {
    const lists = [...this.subscribers.latest.values()].map((list) => new Set(list));
    return instances.filter((x) => lists.some((listed) => !listed.has(x)));
  }

  private told(address: string, instances: readonly string[], before: readonly string[]): void {
    if (this.countedOn === undefined) return;
    const listed = new Set(instances);
    const gone = before.filter((x) => !listed.has(x));
    this.removals.set(address, (this.removals.get(address) ?? 0) + gone.length);
    for (const instance of gone) if (this.removed.length < MAX_REMOVALS_DESCRIBED) this.removed.push({ address, instance, at: Date.now() });
  }
}

interface Outcome {
  readonly seconds: number | null;
  readonly moves: number;
  readonly failed: number;
  /** Subscriber-visible removals from the restart on, per subscriber that stayed on its connection (one on each member that stayed up). */
  readonly removals: readonly number[];
  /** Subscribers the balancer moved: not counted. */
  readonly subscribersMoved: number;
  readonly timeline: Sample[];
  readonly addresses: string[];
}


async function until(check: () => Promise<boolean>, limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(200);
  }
  return false;
}

/** Where each instance a subscriber misses stands: listed by each live member's open API, and its client in the fleet. */
async function whereMissing(count: RemovalCount, scenario: ClusterScenario, fleet: Fleet): Promise<string> {
  const missing = count.missing(fleet.instances).slice(0, 10);
  const listedBy = new Map<string, Set<string>>();
  for (const node of scenario.nodes.slice(1)) {
    try {
      const reply = await fetch(`http://${node.address}/nacos/v2/ns/instance/list?serviceName=${SERVICE}`);
      const body = (await reply.json()) as { data?: { hosts?: { ip: string; port: number }[] } };
      listedBy.set(node.address, new Set((body.data?.hosts ?? []).map((h) => `${h.ip}:${h.port}`)));
    } catch (error) {
      listedBy.set(node.address, new Set([`(list failed: ${String(error)})`]));
    }
  }
  const lines: string[] = [];
  for (const instance of missing) {
    const members = [...listedBy].map(([address, listed]) => `${address} ${listed.has(instance) ? 'lists it' : `does not (lists ${listed.size})`}`);
    const owner = await fleet.whois(instance).catch((error: unknown) => ({ error: String(error) }));
    lines.push(`\n- ${instance}: ${members.join('; ')}\n  its client: ${JSON.stringify(owner)}`);
  }
  return lines.join('');
}

async function runOnce(balancing: boolean): Promise<Outcome> {
  const scenario = new ClusterScenario();
  let fleet: Fleet | undefined;
  let sampler: NodeJS.Timeout | undefined;
  const count = new RemovalCount();
  try {
    await scenario.start(balancing ? {} : { balancer: { enabled: false } });
    fleet = new Fleet(config.clients, scenario.addresses, { intervalMs: config.requestIntervalMs, service: SERVICE });
    const f = fleet;
    await f.ready(180_000);
    // Subscribers on the members that stay up (nodes[0] is the one killed).
    await count.subscribers.start(scenario.addresses.slice(1), SERVICE);
    const allListed = async () => count.allListed(config.clients);
    const fleetUp = Date.now();
    await until(async () => isEven((await f.stats()).perServer, scenario.addresses), 90_000);
    // Steady state before the failure: clients connected for longer than the balancer's cool-down,
    // as in production, where a restart finds long-lived connections.
    await sleep(Math.max(0, fleetUp + 11_000 - Date.now()));
    let restartedAt = Date.now();
    const timeline: Sample[] = [];
    sampler = setInterval(() => {
      const at = Date.now();
      void f.stats().then(
        (s) => timeline.push({ t: (at - restartedAt) / 1000, perServer: s.perServer }),
        () => undefined,
      );
    }, config.sampleMs);
    const victim = scenario.nodes[0]!;
    const killedAt = Date.now();
    await victim.stop('SIGKILL');
    await until(async () => {
      const s = await f.stats();
      return !s.perServer[victim.address] && !s.perServer['unconnected'];
    }, 90_000);
    // Every instance registered again elsewhere: removals from here on are the rebalance's.
    if (!(await until(allListed, 90_000))) {
      const sizes = [...count.subscribers.latest.values()].map((list) => list.length);
      throw new Error(`subscribers list ${sizes.join(', ')} of ${config.clients} instances after the kill${await whereMissing(count, scenario, f)}`);
    }
    const before = await scenario.resetsSent();
    const failedBefore = (await f.stats()).failed;
    count.startCounting();
    await victim.start();
    restartedAt = Date.now();
    // Samples taken before the restart was known: re-based on the restart time.
    const shift = (restartedAt - killedAt) / 1000;
    for (const [i, s] of timeline.entries()) if (s.t > 0) timeline[i] = { ...s, t: s.t - shift };
    let operator: NodeJS.Timeout | undefined;
    if (!balancing) {
      operator = setInterval(() => void fetch(`http://${scenario.nodes[1]!.address}/nacos/v2/core/loader/smartReloadCluster`).catch(() => undefined), 1000);
    }
    const even = await until(async () => isEven((await f.stats()).perServer, scenario.addresses), config.limitMs);
    const seconds = even ? (Date.now() - restartedAt) / 1000 : null;
    clearInterval(operator);
    await sleep(3000);
    // Instances removed and not yet back: waited for (a re-add ends the flap), up to the limit.
    await until(allListed, config.limitMs);
    clearInterval(sampler);
    const moves = (await scenario.resetsSent()) - before;
    const failed = (await f.stats()).failed - failedBefore;
    const removals = count.stayed();
    for (const { address, instance, at } of count.removed) {
      const owner = await f.whois(instance).catch((error: unknown) => ({ error: String(error) }));
      console.log(`    removal seen by ${address}: ${instance} ${((at - restartedAt) / 1000).toFixed(2)} s after the restart (${((at - killedAt) / 1000).toFixed(2)} s after the kill); its client: ${JSON.stringify(owner)}`);
    }
    return { seconds, moves, failed, removals, subscribersMoved: count.subscribers.clients.size - removals.length, timeline: [...timeline].sort((a, b) => a.t - b.t), addresses: scenario.addresses };
  } finally {
    clearInterval(sampler);
    await count.subscribers.shutdown();
    await fleet?.stop();
    await scenario.dispose();
  }
}

const minimum = Math.floor(config.clients / 3);
const summarize = (o: Outcome) => ({ seconds: o.seconds, moves: o.moves, failed: o.failed, removals: o.removals, subscribersMoved: o.subscribersMoved });
/** The median subscriber's removals; null when every subscriber was moved (none counted). */
const medianRemovals = (removals: readonly number[]): number | null => (removals.length === 0 ? null : median(removals));
/** Removals a subscriber saw (the median subscriber), and per moved client. */
const removalFigures = (outcomes: readonly Outcome[]) => {
  const perRun = outcomes.map((o) => medianRemovals(o.removals)).filter((r): r is number => r !== null);
  const moves = median(outcomes.map((o) => o.moves));
  const seen = medianRemovals(perRun);
  return { median: seen, perMovedClient: seen === null ? null : moves === 0 ? 0 : Math.round((seen / moves) * 100) / 100, runs: outcomes.map((o) => o.removals) };
};

console.log(
  `rebalance benchmark on ${os.cpus().length} cores: ${config.clients} clients (a request each ${config.requestIntervalMs} ms), 3 members, ` +
    `${config.runs} run(s) balancing on${config.baseline ? ' + baseline' : ''}`,
);
const on: Outcome[] = [];
for (let i = 0; i < config.runs; i++) {
  on.push(await runOnce(true));
  console.log(`  balancing on, run ${i + 1}: ${JSON.stringify(summarize(on.at(-1)!))}`);
}
const off = config.baseline ? await runOnce(false) : undefined;
if (off) console.log(`  balancing off + smartReloadCluster every 1 s: ${JSON.stringify(summarize(off))}`);

const onSeconds = on.map((o) => o.seconds ?? Infinity);
const onMedianSeconds = median(onSeconds);
const onMoves = median(on.map((o) => o.moves));
const result = {
  config,
  minimumMoves: minimum,
  balancingOn: {
    medianSeconds: Number.isFinite(onMedianSeconds) ? onMedianSeconds : null,
    medianMoves: onMoves,
    movesPerMinimum: Math.round((onMoves / minimum) * 100) / 100,
    failedRequests: on.reduce((s, o) => s + o.failed, 0),
    runs: on.map(summarize),
  },
  removals: removalFigures(on),
  baseline: off ? { ...summarize(off), movesPerMinimum: Math.round((off.moves / minimum) * 100) / 100, removalsPerSubscriber: medianRemovals(off.removals) } : null,
};
console.log(`\nrebalance, ${config.clients} clients, 3 members, restart of one (minimum moves = floor(total/3) = ${minimum})`);
console.log(
  `  balancing on  (median of ${config.runs}): ${Number.isFinite(onMedianSeconds) ? `${onMedianSeconds.toFixed(1)} s` : `not even within ${config.limitMs / 1000} s`} to ±10 %, ` +
    `moves ${onMoves} (${result.balancingOn.movesPerMinimum} × minimum), failed requests ${result.balancingOn.failedRequests} in all runs`,
);
console.log(
  result.removals.median === null
    ? '  subscriber-visible removals: not measured, the balancer moved every subscriber in every run'
    : `  subscriber-visible removals from the restart on (balancing on): ${result.removals.median} per subscriber, ${result.removals.perMovedClient} per moved client (goal 0)`,
);
if (off) {
  console.log(
    `  baseline, off + smartReloadCluster each second: ${off.seconds === null ? `not even within ${config.limitMs / 1000} s` : `${off.seconds.toFixed(1)} s`}, ` +
      `moves ${off.moves} (${result.baseline!.movesPerMinimum} × minimum), failed ${off.failed}, removals ${result.baseline!.removalsPerSubscriber} per subscriber`,
  );
}

// The plot: the first balancing-on run and the baseline, connections per member over time.
const COLORS = ['#d62728', '#1f77b4', '#2ca02c'];
const panelOf = (title: string, o: Outcome): Panel => {
  const even = config.clients / 3;
  return {
    title,
    series: o.addresses.map((address, i) => ({
      name: `${address}${i === 0 ? ' (restarted)' : ''}`,
      color: COLORS[i]!,
      points: o.timeline.map((s) => [s.t, s.perServer[address] ?? 0] as const),
    })),
    band: { from: even * 0.9, to: even * 1.1, label: 'even ±10 %' },
    markers: [[0, 'restart'], ...(o.seconds === null ? [] : [[o.seconds, `even at ${o.seconds.toFixed(1)} s`] as const])],
  };
};
const panels = [panelOf('balancing on', on[0]!), ...(off ? [panelOf('balancing off, smartReloadCluster every 1 s', off)] : [])];
const firstT = Math.min(...panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([t]) => t))));
const lastT = Math.max(...panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([t]) => t))));
const svg = lineChartSvg(panels, {
  xLabel: 's since the killed member restarted',
  yLabel: 'connected clients',
  xRange: [Math.floor(firstT), Math.ceil(lastT)],
  yRange: [0, Math.ceil((config.clients * 0.6) / 100) * 100],
});

const svgPath = writeArtifact('rebalance.svg', svg);
const jsonPath = writeResult('rebalance', { ...result, timelines: { on: on[0]!.timeline, off: off?.timeline ?? null } });
console.log(`\nwrote ${jsonPath} and ${svgPath}`);
process.exit(0);
