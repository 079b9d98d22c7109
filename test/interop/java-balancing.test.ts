import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ClusterScenario, describeFailures, Fleet } from '../support/cluster-scenario.js';
import { HarnessProcess } from '../support/harness-process.js';
import { eventually } from '../support/raw-peer.js';

const javaDir = fileURLToPath(new URL('../../interop/java/', import.meta.url));

interface ClusterLoad {
  detail: { address: string; metric: Record<string, string> }[];
  total: number;
}

/** Server-side SDK counts, Java clients included, from a live member's /cluster. */
async function sdkCounts(scenario: ClusterScenario, via: number): Promise<Record<string, number>> {
  const load = (await (await fetch(`http://${scenario.nodes[via]!.address}/nacos/v2/core/loader/cluster`)).json()) as ClusterLoad;
  return Object.fromEntries(load.detail.map((d) => [d.address, Number(d.metric['sdkConCount'])]));
}

function within(counts: Record<string, number>, addresses: readonly string[], total: number): boolean {
  const even = total / addresses.length;
  return addresses.every((a) => Math.abs((counts[a] ?? 0) - even) <= Math.max(1, even * 0.1));
}

describe('interop: Java clients among the clients, a member killed and restarted', { timeout: 300_000 }, () => {
  const scenario = new ClusterScenario();
  let fleet: Fleet | undefined;
  const javas: HarnessProcess[] = [];
  after(async () => {
    await Promise.all(javas.map((j) => j.stop()));
    await fleet?.stop();
    await scenario.dispose();
  });

  it('the cluster still evens out, Java clients following the balancer\'s redirects', async () => {
    execFileSync(`${javaDir}build.sh`, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
    await scenario.start({ balancer: { intervalMs: 500, warmupMs: 1000, settleMs: 1000, cooldownMs: 5000 } });
    const addresses = scenario.addresses;
    // Six Java clients, their lists rotated so they start spread; 60 of ours.
    for (let i = 0; i < 6; i++) {
      const list = [...addresses.slice(i % 3), ...addresses.slice(0, i % 3)];
      javas.push(
        new HarnessProcess('java', ['-Xmx96m', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-jar', `${javaDir}target/nacos-interop-java.jar`, '--servers', list.join(','), '--name', `java-${i}`]),
      );
    }
    await Promise.all(javas.map((j) => j.waitForEvent((e) => e.event === 'connected', 120_000, 'java connected')));
    fleet = new Fleet(60, addresses);
    await fleet.ready();
    const total = 66;
    await eventually(async () => within(await sdkCounts(scenario, 1), addresses, total), 60_000, 'balanced start');

    const victim = scenario.nodes[0]!;
    await victim.stop('SIGKILL');
    await eventually(async () => {
      const counts = await sdkCounts(scenario, 1);
      return (counts[addresses[1]!] ?? 0) + (counts[addresses[2]!] ?? 0) === total;
    }, 90_000, 'every client, Java too, reconnected to the live members');
    await victim.start();
    let last: Record<string, number> = {};
    await eventually(async () => within((last = await sdkCounts(scenario, 1)), addresses, total), 90_000, () => `even again: ${JSON.stringify(last)}`);
    for (const j of javas) {
      const health = await j.command('health', (e) => e.event === 'response' || e.event === 'error', 20_000);
      assert.equal(health['resultCode'], 200, JSON.stringify(health));
    }
    const stats = await fleet.stats();
    assert.equal(stats.failed, 0, `no failed request among our clients${describeFailures(stats)}`);
  });
});
