import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ClusterScenario } from '../support/cluster-scenario.js';
import { HarnessProcess } from '../support/harness-process.js';
import { isPushOf, runNamingCommand, type RealNamingClient } from '../support/naming-interop-suite.js';
import { NamingSubscriberPool } from '../support/naming-subscribers.js';
import { eventually } from '../support/raw-peer.js';
import { goNaming, javaNaming224, javaNaming310 } from '../support/real-naming-clients.js';

const publisherScript = fileURLToPath(new URL('../support/naming-publisher.ts', import.meta.url));

/** Whether the member at `address` holds a connection whose client version is `version`. */
async function holdsClient(address: string, version: string): Promise<boolean> {
  try {
    const connections = (await (await fetch(`http://${address}/nacos/v2/core/loader/current`)).json()) as Record<string, { metaInfo?: { version?: string } }>;
    return JSON.stringify(connections).includes(`"${version}"`);
  } catch {
    return false; // a member that is down holds nothing
  }
}

describe('real Java 2.2.4, Java 3.1.0 and Go naming clients on a 3-member cluster (processes)', { timeout: 300_000 }, () => {
  const scenario = new ClusterScenario();
  const harnesses: HarnessProcess[] = [];
  const subscribers = new NamingSubscriberPool(() => scenario.addresses);
  let cacheRoot = '';

  before(async () => {
    for (const build of new Set([javaNaming224.build, javaNaming310.build, goNaming.build])) {
      execFileSync(build, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
    }
    cacheRoot = mkdtempSync(join(tmpdir(), 'nacos-remote-naming-cache-'));
    // A crashed member's clients expire on the others after expireMs (3 minutes by default): short
    // here, so the redo test can see them go and know the instances still listed were redone.
    await scenario.start({ naming: { sync: { verifyIntervalMs: 1000, expireMs: 6000 } } });
  });
  after(async () => {
    await Promise.all(harnesses.map((h) => h.stop()));
    await subscribers.shutdown();
    await scenario.dispose();
    if (cacheRoot) rmSync(cacheRoot, { recursive: true, force: true });
  });

  /** A real client's harness on these members, with a service cache of its own. */
  async function startHarness(real: RealNamingClient, servers: readonly string[]): Promise<HarnessProcess> {
    const harness = new HarnessProcess(...real.command(servers.join(','), mkdtempSync(join(cacheRoot, 'client-'))));
    harnesses.push(harness);
    await harness.waitForEvent((e) => e.event === 'started', 60_000, `${real.name} started`);
    return harness;
  }

  it('each registers through its own member and is pushed the others; a registering process SIGKILLed is pushed gone on every member', async () => {
    const reals = [javaNaming224, javaNaming310, goNaming];
    const instances = ['10.5.0.1:8080', '10.5.0.2:8080', '10.5.0.3:8080'];
    const watching = await subscribers.everywhere('mesh');
    const clients = await Promise.all(reals.map((real, i) => startHarness(real, [scenario.addresses[i]!])));
    for (const [i, client] of clients.entries()) {
      await runNamingCommand(client, 'subscribe mesh');
      await runNamingCommand(client, `register mesh ${instances[i]!.replace(':', ' ')}`);
    }
    for (const [i, client] of clients.entries()) {
      await client.waitForEvent(isPushOf(instances), 20_000, `${reals[i]!.name} pushed all three`);
    }
    await eventually(() => scenario.addresses.every((a) => instances.every((x) => watching.lists(a, x))), 15_000, () => `all listed on every member: ${watching.describe()}`);

    const [java224, java310, go] = clients;
    const left = instances.slice(0, 2);
    const fromJava224 = java224!.events.length;
    const fromJava310 = java310!.events.length;
    await go!.kill();
    await java224!.waitForEvent(isPushOf(left), 20_000, 'Java 2.2.4 pushed the Go instance gone', fromJava224);
    await java310!.waitForEvent(isPushOf(left), 20_000, 'Java 3.1.0 pushed the Go instance gone', fromJava310);
    await eventually(() => scenario.addresses.every((a) => watching.lists(a, instances[2]!, false)), 15_000, () => `gone on every member: ${watching.describe()}`);
    await Promise.all(clients.map((c) => c.stop()));
  });

  it('the member a registering Java client is on is SIGKILLed: the client reconnects, redoes, and subscribers on the live members end with its instance listed', async () => {
    const watching = await subscribers.everywhere('movers');
    const java224 = await startHarness(javaNaming224, scenario.addresses);
    const java310 = await startHarness(javaNaming310, scenario.addresses);
    await runNamingCommand(java224, 'register movers 10.6.0.1 8080');
    await runNamingCommand(java310, 'register movers 10.6.0.2 8080');
    const movers = ['10.6.0.1:8080', '10.6.0.2:8080'];
    await eventually(() => scenario.addresses.every((a) => movers.every((x) => watching.lists(a, x))), 15_000, () => `listed on every member: ${watching.describe()}`);

    const version = 'Nacos-Java-Client:v2.2.4';
    let victimAddress: string | undefined;
    await eventually(async () => {
      for (const a of scenario.addresses) if (await holdsClient(a, version)) victimAddress = a;
      return victimAddress !== undefined;
    }, 10_000, () => 'the Java 2.2.4 client found on a member');
    const victim = scenario.nodes.find((n) => n.address === victimAddress)!;
    // A client that knows only the victim cannot redo anywhere: its instance going on the live
    // members shows the victim's clients have expired there.
    const stranded = new HarnessProcess(process.execPath, ['--import', 'tsx', publisherScript, victim.address, 'movers', '10.6.0.9', '8080']);
    harnesses.push(stranded);
    await stranded.waitForEvent((e) => e.event === 'registered', 30_000, 'the stranded client registered');
    await eventually(() => scenario.addresses.every((a) => watching.lists(a, '10.6.0.9:8080')), 15_000, () => `stranded listed: ${watching.describe()}`);

    await victim.stop('SIGKILL');
    const live = scenario.addresses.filter((a) => a !== victim.address);
    await eventually(async () => (await Promise.all(live.map((a) => holdsClient(a, version)))).includes(true), 30_000, () => 'the Java 2.2.4 client reconnected to a live member');
    await eventually(() => live.every((a) => watching.lists(a, '10.6.0.9:8080', false)), 30_000, () => `the victim's clients expired: ${watching.describe()}`);
    assert.ok(live.every((a) => movers.every((x) => watching.lists(a, x))), `redone instances listed on every live member: ${watching.describe()}`);
    assert.deepEqual((await runNamingCommand(java224, 'list movers'))['hosts'], movers);
  });
});
