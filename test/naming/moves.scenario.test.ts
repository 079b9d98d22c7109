import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { NamingClient, type InstancesChangeEvent } from '../../src/client/index.js';
import { ClusterScenario, isEven } from '../support/cluster-scenario.js';
import { HarnessProcess, type HarnessEvent } from '../support/harness-process.js';
import { metricValue, parsePrometheus } from '../support/prometheus.js';
import { eventually } from '../support/raw-peer.js';
import { testLogger } from '../support/server.js';

/**
 * Issue 13's scenarios: 3 member processes, a fleet of naming clients each registering one
 * instance of a shared service, and a subscriber on every member recording every list it is
 * given. The issue asks for 90 clients; 30 keep a shared 2-core machine responsive (raise it
 * where there are cores to spare).
 */
const FLEET_SIZE = 30;
const SERVICE = 'movers';
const GRACE_MS = 10_000;
// Short balancer intervals so a scenario runs in seconds; the logic is the production one.
const BALANCER = { intervalMs: 500, warmupMs: 1000, settleMs: 1000, cooldownMs: 10_000 };
const fleetScript = fileURLToPath(new URL('../support/naming-fleet.ts', import.meta.url));

function clusterConfig(moveGraceMs: number, balancing: boolean): Record<string, unknown> {
  return { naming: { moveGraceMs, sync: { verifyIntervalMs: 1000 } }, balancer: { ...BALANCER, enabled: balancing }, drainWindowMs: 2000 };
}

/** A NamingClient pinned to each member, subscribed to the service, keeping every list it is told. */
class PushLog {
  readonly lists = new Map<string, string[][]>();
  private readonly clients: NamingClient[] = [];

  async start(addresses: readonly string[]): Promise<void> {
    for (const address of addresses) {
      const naming = new NamingClient({ serverAddresses: [address], logger: testLogger, keepAliveMs: 1000, healthCheckTimeoutMs: 500, redoIntervalMs: 500 });
      this.clients.push(naming);
      this.lists.set(address, []);
      await naming.start();
      await naming.subscribe(SERVICE, (event: InstancesChangeEvent) => this.lists.get(address)!.push(event.instances.map((i) => `${i.ip}:${i.port}`)));
    }
  }

  /** Whether every subscriber's latest list holds every instance given (and, with `absent`, none of those). */
  allList(instances: readonly string[], absent: readonly string[] = []): boolean {
    return [...this.lists.values()].every((lists) => {
      const last = lists.at(-1) ?? [];
      return instances.every((x) => last.includes(x)) && absent.every((x) => !last.includes(x));
    });
  }

  /** Lists told after a subscriber first had every instance that lacked one of them. */
  lacking(instances: readonly string[]): string[] {
    const found: string[] = [];
    for (const [address, lists] of this.lists) {
      const first = lists.findIndex((list) => instances.every((x) => list.includes(x)));
      for (const list of lists.slice(Math.max(0, first))) {
        const missing = instances.filter((x) => !list.includes(x));
        if (first >= 0 && missing.length > 0) found.push(`${address}: ${list.length} listed, ${missing.length} missing (${missing.slice(0, 3).join(', ')}...)`);
      }
    }
    return found;
  }

  describe(): string {
    return JSON.stringify(Object.fromEntries([...this.lists].map(([a, lists]) => [a, `${lists.length} lists, last ${lists.at(-1)?.length ?? 0}`])));
  }

  shutdown(): Promise<void[]> {
    return Promise.all(this.clients.map((c) => c.shutdown()));
  }
}

/** A naming fleet process (test/support/naming-fleet.ts). */
class NamingFleet {
  readonly process: HarnessProcess;
  instances: string[] = [];

  constructor(count: number, servers: readonly string[], prefix: string) {
    this.process = new HarnessProcess(process.execPath, ['--import', 'tsx', fleetScript, String(count), servers.join(','), SERVICE, prefix]);
  }

  async ready(): Promise<this> {
    const ready = await this.process.waitForEvent((e) => e.event === 'ready', 60_000, 'naming fleet registered');
    this.instances = ready['instances'] as string[];
    return this;
  }

  async perServer(): Promise<Record<string, number>> {
    const stats: HarnessEvent = await this.process.command('stats', (e) => e.event === 'stats');
    return stats['perServer'] as Record<string, number>;
  }
}

/** Held clients on every live member, from /metrics (a member that is down holds nothing). */
async function heldAnywhere(scenario: ClusterScenario): Promise<number> {
  let held = 0;
  for (const node of scenario.nodes) {
    try {
      held += metricValue(parsePrometheus(await (await fetch(`http://${node.address}/metrics`)).text()), 'nacos_remote_naming', { what: 'held' });
    } catch {
      // down
    }
  }
  return held;
}

/** A cluster, the subscribers and a fleet over every member, all listed everywhere. */
async function setUp(moveGraceMs: number, balancing: boolean) {
  const scenario = new ClusterScenario();
  const log = new PushLog();
  const fleets: NamingFleet[] = [];
  await scenario.start(clusterConfig(moveGraceMs, balancing));
  await log.start(scenario.addresses);
  const fleet = new NamingFleet(FLEET_SIZE, scenario.addresses, '10.40');
  fleets.push(fleet);
  await fleet.ready();
  await eventually(() => log.allList(fleet.instances), 30_000, () => `every instance listed on every member: ${log.describe()}`);
  const tearDown = async (): Promise<void> => {
    await Promise.all(fleets.map((f) => f.process.stop()));
    await log.shutdown();
    await scenario.dispose();
  };
  return { scenario, log, fleet, fleets, tearDown };
}

/** SIGKILLs the first member, waits for its clients to reconnect elsewhere, and starts it again. */
async function killAndRestart(scenario: ClusterScenario, fleet: NamingFleet): Promise<string> {
  const victim = scenario.nodes[0]!;
  await victim.stop('SIGKILL');
  await eventually(async () => {
    const counts = await fleet.perServer();
    return !counts[victim.address] && !counts['unconnected'];
  }, 60_000, 'the killed member\'s clients reconnected elsewhere');
  await victim.start();
  return victim.address;
}

/** Every subscriber lists every instance again and no hold is left to run out. */
async function settled(scenario: ClusterScenario, log: PushLog, fleet: NamingFleet): Promise<void> {
  await eventually(async () => log.allList(fleet.instances) && (await heldAnywhere(scenario)) === 0, GRACE_MS + 60_000, () => `settled: ${log.describe()}`);
}

type Setup = Awaited<ReturnType<typeof setUp>>;

/** One scenario in a describe of its own: its own cluster, subscribers and fleet, torn down after. */
function scenario(title: string, name: string, config: { moveGraceMs: number; balancing: boolean }, body: (setup: Setup) => Promise<void>): void {
  describe(title, { timeout: 300_000 }, () => {
    let tearDown: (() => Promise<void>) | undefined;
    after(() => tearDown?.());
    it(name, async () => {
      const setup = await setUp(config.moveGraceMs, config.balancing);
      tearDown = setup.tearDown;
      await body(setup);
    });
  });
}

/** SIGKILL and restart the first member, wait for the balancer to even out and for the holds to run out. */
async function restartAndEvenOut({ scenario: cluster, log, fleet }: Setup): Promise<void> {
  await killAndRestart(cluster, fleet);
  let counts: Record<string, number> = {};
  await eventually(async () => isEven((counts = await fleet.perServer()), cluster.addresses, 0.2), 90_000, () => `even again: ${JSON.stringify(counts)}`);
  await settled(cluster, log, fleet);
}

scenario(
  'naming through moves: a member SIGKILLed and restarted, the balancer evens out',
  '(a) every subscriber ends with every instance, and no list lacked a live instance',
  { moveGraceMs: GRACE_MS, balancing: true },
  async (setup) => {
    await restartAndEvenOut(setup);
    assert.deepEqual(setup.log.lacking(setup.fleet.instances), []);
  },
);

scenario(
  'naming through moves: balancer off, smartReloadCluster by hand',
  '(b) every subscriber ends with every instance, and no list lacked a live instance',
  { moveGraceMs: GRACE_MS, balancing: false },
  async ({ scenario: cluster, log, fleet }) => {
    const victim = await killAndRestart(cluster, fleet);
    const other = cluster.addresses.find((a) => a !== victim)!;
    let counts: Record<string, number> = {};
    await eventually(async () => {
      const reply = await fetch(`http://${other}/nacos/v2/core/loader/smartReloadCluster?loaderFactor=0.1`, { method: 'POST' });
      assert.equal(reply.status, 200);
      counts = await fleet.perServer();
      return (counts[victim] ?? 0) >= FLEET_SIZE / 3 / 2;
    }, 90_000, () => `smartReloadCluster moved clients to the restarted member: ${JSON.stringify(counts)}`);
    await settled(cluster, log, fleet);
    assert.deepEqual(log.lacking(fleet.instances), []);
  },
);

scenario(
  'naming through moves: a rolling restart by drain',
  '(c) each member drained (SIGTERM) and started again in turn: no list lacked a live instance',
  { moveGraceMs: GRACE_MS, balancing: true },
  async ({ scenario: cluster, log, fleet }) => {
    for (const node of cluster.nodes) {
      assert.equal(await node.stop('SIGTERM'), 0, `${node.address} exited 0 after its drain`);
      await node.start();
      await settled(cluster, log, fleet);
    }
    assert.deepEqual(log.lacking(fleet.instances), []);
  },
);

scenario(
  'naming through member failures: a member SIGKILLed with its clients',
  '(d) the clients first, then their member: their instances are gone from every other member within grace + 5 s',
  { moveGraceMs: GRACE_MS, balancing: true },
  async ({ scenario: cluster, log, fleet, fleets }) => {
    const victim = cluster.nodes[0]!;
    const doomed = new NamingFleet(5, [victim.address], '10.41');
    fleets.push(doomed);
    await doomed.ready();
    await eventually(() => log.allList([...fleet.instances, ...doomed.instances]), 30_000, () => `the doomed instances listed: ${log.describe()}`);
    await doomed.process.kill();
    await victim.stop('SIGKILL');
    const killedAt = Date.now();
    const others = cluster.addresses.filter((a) => a !== victim.address);
    const gone = () => others.every((a) => doomed.instances.every((x) => !(log.lists.get(a)!.at(-1) ?? []).includes(x)));
    await eventually(gone, GRACE_MS + 30_000, () => `the doomed instances gone on ${others.join(', ')}: ${log.describe()}`);
    const tookMs = Date.now() - killedAt;
    // About the grace when the member died before its deletes went out; far less when they did.
    console.log(`(d) the killed member's clients' instances gone from the others ${tookMs} ms after the kill`);
    assert.ok(tookMs <= GRACE_MS + 5000, `gone ${tookMs} ms after the kill (grace ${GRACE_MS} ms + 5 s)`);
    assert.ok(others.every((a) => fleet.instances.every((x) => (log.lists.get(a)!.at(-1) ?? []).includes(x))), 'the live fleet still listed');
  },
);

scenario(
  'naming through moves with grace 0 (Nacos\'s behaviour)',
  '(e) the same kill, restart and evening out as (a) shows lists lacking moved instances: the scenarios can fail',
  { moveGraceMs: 0, balancing: true },
  async (setup) => {
    await restartAndEvenOut(setup);
    assert.ok(setup.log.lacking(setup.fleet.instances).length > 0, `flaps expected without the grace: ${setup.log.describe()}`);
  },
);
