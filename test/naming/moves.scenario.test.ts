import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { NamingClient, type InstancesChangeEvent } from '../../src/client/index.js';
import { ClusterScenario, isEven } from '../support/cluster-scenario.js';
import { HarnessProcess, type HarnessEvent } from '../support/harness-process.js';
import { metricValue, parsePrometheus } from '../support/prometheus.js';
import { runNamingCommand } from '../support/naming-interop-suite.js';
import { freezeProcess } from '../support/freeze.js';
import { eventually } from '../support/raw-peer.js';
import { javaNaming224 } from '../support/real-naming-clients.js';
import { testLogger } from '../support/server.js';

/**
 * Issue 13's scenarios: 3 member processes, a fleet of naming clients each registering one
 * instance of a shared service, and a subscriber on every member recording every list it is
 * given. The issue asks for 90 clients; 30 of ours and, in the balancer and drain scenarios, 2
 * real Java nacos-client 2.2.4 ones keep a shared 2-core machine responsive (raise them where
 * there are cores to spare).
 */
const FLEET_SIZE = 30;
const JAVA_CLIENTS = 2;
const SERVICE = 'movers';
const GRACE_MS = 10_000;
// Short balancer intervals so a scenario runs in seconds; the logic is the production one.
const BALANCER = { intervalMs: 500, warmupMs: 1000, settleMs: 1000, cooldownMs: 10_000 };
const fleetScript = fileURLToPath(new URL('../support/naming-fleet.ts', import.meta.url));

function clusterConfig(moveGraceMs: number, balancing: boolean): Record<string, unknown> {
  return {
    naming: { moveGraceMs, sync: { verifyIntervalMs: 1000 } },
    balancer: { ...BALANCER, enabled: balancing },
    drainWindowMs: 2000,
    // Member links patient enough for a loaded machine: a member wrongly marked down for longer
    // than the grace has its clients' instances removed on the others until its link is back.
    memberClient: { keepAliveMs: 1000, healthCheckTimeoutMs: 2000 },
  };
}

/** A NamingClient pinned to each member, subscribed to the service, keeping every list it is told. */
class PushLog {
  readonly lists = new Map<string, string[][]>();
  /** When each list was told, ms after the log started, to place a lacking list among the steps. */
  private readonly times = new Map<string, number[]>();
  private readonly startedAt = Date.now();
  /** What the test did when, for the same purpose. */
  readonly steps: string[] = [];
  private readonly clients: NamingClient[] = [];

  step(what: string): void {
    this.steps.push(`${Date.now() - this.startedAt} ms: ${what}`);
  }

  async start(addresses: readonly string[]): Promise<void> {
    for (const address of addresses) {
      const naming = new NamingClient({ serverAddresses: [address], logger: testLogger, keepAliveMs: 1000, healthCheckTimeoutMs: 2000, redoIntervalMs: 500 });
      this.clients.push(naming);
      this.lists.set(address, []);
      this.times.set(address, []);
      await naming.start();
      await naming.subscribe(SERVICE, (event: InstancesChangeEvent) => {
        this.lists.get(address)!.push(event.instances.map((i) => `${i.ip}:${i.port}`));
        this.times.get(address)!.push(Date.now() - this.startedAt);
      });
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
      if (first < 0) continue;
      for (const [i, list] of lists.entries()) {
        const missing = instances.filter((x) => !list.includes(x));
        if (i > first && missing.length > 0) {
          found.push(`${address} at ${this.times.get(address)![i]} ms: ${list.length} listed, ${missing.length} missing (${missing.slice(0, 3).join(', ')}...)`);
        }
      }
    }
    return found;
  }

  describe(): string {
    const lists = JSON.stringify(Object.fromEntries([...this.lists].map(([a, told]) => [a, `${told.length} lists, last ${told.at(-1)?.length ?? 0}`])));
    return `${lists}; steps: ${this.steps.join('; ')}`;
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

/** Real Java 2.2.4 NamingServices over every member, each registering one instance (`10.42.0.<i>:8080`). */
async function startJavaClients(count: number, addresses: readonly string[], cacheRoot: string): Promise<{ harnesses: HarnessProcess[]; instances: string[] }> {
  const harnesses: HarnessProcess[] = [];
  const instances: string[] = [];
  if (count === 0) return { harnesses, instances };
  execFileSync(javaNaming224.build, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
  for (let i = 1; i <= count; i++) {
    const harness = new HarnessProcess(...javaNaming224.command(addresses.join(','), mkdtempSync(join(cacheRoot, 'client-'))));
    harnesses.push(harness);
    await harness.waitForEvent((e) => e.event === 'started', 60_000, `${javaNaming224.name} started`);
    await runNamingCommand(harness, `register ${SERVICE} 10.42.0.${i} 8080`);
    instances.push(`10.42.0.${i}:8080`);
  }
  return { harnesses, instances };
}

/** A cluster, the subscribers and a fleet (and Java clients) over every member, all listed everywhere. */
async function setUp(moveGraceMs: number, balancing: boolean, javaClients: number, onTearDown: (tearDown: () => Promise<void>) => void) {
  const scenario = new ClusterScenario();
  const log = new PushLog();
  const fleets: NamingFleet[] = [];
  const cacheRoot = mkdtempSync(join(tmpdir(), 'nacos-remote-moves-'));
  let java: HarnessProcess[] = [];
  const tearDown = async (): Promise<void> => {
    await Promise.all([...fleets.map((f) => f.process.stop()), ...java.map((h) => h.stop())]);
    await log.shutdown();
    await scenario.dispose();
    rmSync(cacheRoot, { recursive: true, force: true });
  };
  onTearDown(tearDown);
  await scenario.start(clusterConfig(moveGraceMs, balancing));
  await log.start(scenario.addresses);
  const fleet = new NamingFleet(FLEET_SIZE, scenario.addresses, '10.40');
  fleets.push(fleet);
  await fleet.ready();
  const started = await startJavaClients(javaClients, scenario.addresses, cacheRoot);
  java = started.harnesses;
  // Every registered instance: ours and Java's.
  const instances = [...fleet.instances, ...started.instances];
  await eventually(() => log.allList(instances), 30_000, () => `every instance listed on every member: ${log.describe()}`);
  return { scenario, log, fleet, fleets, instances };
}

/** SIGKILLs the first member, waits for its clients to reconnect elsewhere, and starts it again. */
async function killAndRestart(scenario: ClusterScenario, fleet: NamingFleet, log: PushLog): Promise<string> {
  const victim = scenario.nodes[0]!;
  log.step(`SIGKILL ${victim.address}`);
  await victim.stop('SIGKILL');
  await eventually(async () => {
    const counts = await fleet.perServer();
    return !counts[victim.address] && !counts['unconnected'];
  }, 60_000, 'the killed member\'s clients reconnected elsewhere');
  log.step('its clients reconnected elsewhere');
  await victim.start();
  log.step(`${victim.address} started again`);
  return victim.address;
}

/** Every subscriber lists every instance again and no hold is left to run out. */
async function settled(scenario: ClusterScenario, log: PushLog, instances: readonly string[]): Promise<void> {
  await eventually(async () => log.allList(instances) && (await heldAnywhere(scenario)) === 0, GRACE_MS + 60_000, () => `settled: ${log.describe()}`);
}

type Setup = Awaited<ReturnType<typeof setUp>>;

/** One scenario in a describe of its own: its own cluster, subscribers and fleet, torn down after. */
function scenario(
  title: string,
  name: string,
  config: { moveGraceMs: number; balancing: boolean; javaClients?: number },
  body: (setup: Setup) => Promise<void>,
): void {
  describe(title, { timeout: 300_000 }, () => {
    let tearDown: (() => Promise<void>) | undefined;
    after(() => tearDown?.());
    it(name, async () => {
      // Handed over before anything starts, so after() cleans up a set-up that failed half way too.
      const setup = await setUp(config.moveGraceMs, config.balancing, config.javaClients ?? 0, (t) => (tearDown = t));
      await body(setup);
    });
  });
}

/** SIGKILL and restart the first member, wait for the balancer to even out and for the holds to run out. */
async function restartAndEvenOut({ scenario: cluster, log, fleet, instances }: Setup): Promise<void> {
  await killAndRestart(cluster, fleet, log);
  let counts: Record<string, number> = {};
  await eventually(async () => isEven((counts = await fleet.perServer()), cluster.addresses, 0.2), 90_000, () => `even again: ${JSON.stringify(counts)}`);
  log.step('even again');
  await settled(cluster, log, instances);
}

scenario(
  'naming through moves: a member SIGKILLed and restarted, the balancer evens out',
  '(a) every subscriber ends with every instance, and no list lacked a live instance',
  { moveGraceMs: GRACE_MS, balancing: true, javaClients: JAVA_CLIENTS },
  async (setup) => {
    await restartAndEvenOut(setup);
    assert.deepEqual(setup.log.lacking(setup.instances), [], setup.log.describe());
  },
);

scenario(
  'naming through moves: balancer off, smartReloadCluster by hand',
  '(b) every subscriber ends with every instance, and no list lacked a live instance',
  { moveGraceMs: GRACE_MS, balancing: false },
  async ({ scenario: cluster, log, fleet, instances }) => {
    const victim = await killAndRestart(cluster, fleet, log);
    const other = cluster.addresses.find((a) => a !== victim)!;
    let counts: Record<string, number> = {};
    await eventually(async () => {
      const reply = await fetch(`http://${other}/nacos/v2/core/loader/smartReloadCluster?loaderFactor=0.1`, { method: 'POST' });
      assert.equal(reply.status, 200);
      counts = await fleet.perServer();
      return (counts[victim] ?? 0) >= FLEET_SIZE / 3 / 2;
    }, 90_000, () => `smartReloadCluster moved clients to the restarted member: ${JSON.stringify(counts)}`);
    await settled(cluster, log, instances);
    assert.deepEqual(log.lacking(instances), [], log.describe());
  },
);

scenario(
  'naming through moves: a rolling restart by drain',
  '(c) each member drained (SIGTERM) and started again in turn: no list lacked a live instance',
  { moveGraceMs: GRACE_MS, balancing: true, javaClients: JAVA_CLIENTS },
  async ({ scenario: cluster, log, instances }) => {
    for (const node of cluster.nodes) {
      log.step(`SIGTERM ${node.address}`);
      assert.equal(await node.stop('SIGTERM'), 0, `${node.address} exited 0 after its drain`);
      log.step(`${node.address} drained and exited`);
      await node.start();
      log.step(`${node.address} started again`);
      await settled(cluster, log, instances);
    }
    assert.deepEqual(log.lacking(instances), [], log.describe());
  },
);

scenario(
  'naming through member failures: a member SIGKILLed with its clients',
  '(d) the clients first, then their member, which sends no delete: their instances are held and gone from every other member after the grace, within grace + 5 s',
  { moveGraceMs: GRACE_MS, balancing: true },
  async ({ scenario: cluster, log, fleet, fleets }) => {
    const victim = cluster.nodes[0]!;
    const doomed = new NamingFleet(5, [victim.address], '10.41');
    fleets.push(doomed);
    await doomed.ready();
    await eventually(() => log.allList([...fleet.instances, ...doomed.instances]), 30_000, () => `the doomed instances listed: ${log.describe()}`);
    // Stopped first, so it cannot send the deletes of its clients' connections: else they race its
    // kill, and when they win the instances go at once, by the path this case does not test.
    await freezeProcess(victim.pid!);
    await doomed.process.kill();
    await victim.stop('SIGKILL');
    const killedAt = Date.now();
    const others = cluster.addresses.filter((a) => a !== victim.address);
    const gone = () => others.every((a) => doomed.instances.every((x) => !(log.lists.get(a)!.at(-1) ?? []).includes(x)));
    let mostHeld = 0;
    await eventually(
      async () => {
        mostHeld = Math.max(mostHeld, await heldAnywhere(cluster));
        return gone();
      },
      GRACE_MS + 30_000,
      () => `the doomed instances gone on ${others.join(', ')}: ${log.describe()}`,
    );
    const tookMs = Date.now() - killedAt;
    console.log(`(d) the killed member's clients' instances gone from the others ${tookMs} ms after the kill`);
    assert.ok(mostHeld > 0, 'the others held the killed member\'s clients');
    // The hold starts when the others find the member down, after the kill: never before the grace.
    assert.ok(tookMs >= GRACE_MS - 1000, `gone ${tookMs} ms after the kill: before the grace (${GRACE_MS} ms), so not by the hold`);
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
    assert.ok(setup.log.lacking(setup.instances).length > 0, `flaps expected without the grace: ${setup.log.describe()}`);
  },
);
