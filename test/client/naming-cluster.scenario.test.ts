import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ClusterScenario } from '../support/cluster-scenario.js';
import { HarnessProcess } from '../support/harness-process.js';
import { NamingSubscriberPool } from '../support/naming-subscribers.js';
import { eventually } from '../support/raw-peer.js';

const publisherScript = fileURLToPath(new URL('../support/naming-publisher.ts', import.meta.url));

describe('NamingClient on a 3-member cluster (processes)', { timeout: 180_000 }, () => {
  const scenario = new ClusterScenario();
  const publishers: HarnessProcess[] = [];
  const subscribers = new NamingSubscriberPool(() => scenario.addresses);

  // A crashed member's clients expire on the others after expireMs (3 minutes by default): short
  // here, so a test can see them go and know that the instances still listed were redone.
  before(() => scenario.start({ naming: { sync: { verifyIntervalMs: 1000, expireMs: 6000 } } }));
  after(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await subscribers.shutdown();
    await scenario.dispose();
  });

  function publish(servers: readonly string[], service: string, ip: string, port: number): HarnessProcess {
    const publisher = new HarnessProcess(process.execPath, ['--import', 'tsx', publisherScript, servers.join(','), service, ip, String(port)]);
    publishers.push(publisher);
    return publisher;
  }

  it('the member a registering client is on is SIGKILLed: the client reconnects to another and registers again there', async () => {
    const watching = await subscribers.everywhere('movers');
    const publisher = publish(scenario.addresses, 'movers', '10.0.1.1', 1);
    const registered = await publisher.waitForEvent((e) => e.event === 'registered', 30_000, 'registered');
    const first = registered['server'] as string;
    await eventually(() => watching.lists(first, '10.0.1.1:1'), 10_000, () => `the subscriber on ${first} saw it: ${watching.describe()}`);
    const victim = scenario.nodes.find((n) => n.address === first)!;
    await victim.stop('SIGKILL');
    const moved = await publisher.waitForEvent((e) => e.event === 'connected', 30_000, 'the publisher reconnected');
    const second = moved['server'] as string;
    assert.notEqual(second, first);
    await eventually(() => watching.lists(second, '10.0.1.1:1'), 15_000, () => `redone on ${second}: ${watching.describe()}`);
    await victim.start();
  });

  it('register through one member, subscribe through the others: each sees it', async () => {
    const watching = await subscribers.everywhere('spread');
    publish([scenario.addresses[0]!], 'spread', '10.0.2.1', 2);
    await eventually(() => scenario.addresses.every((a) => watching.lists(a, '10.0.2.1:2')), 15_000, () => `seen everywhere: ${watching.describe()}`);
  });

  it('the registering process SIGKILLed: subscribers on every member are pushed the removal', async () => {
    const watching = await subscribers.everywhere('crashy');
    const publisher = publish([scenario.addresses[1]!], 'crashy', '10.0.3.1', 3);
    const registered = await publisher.waitForEvent((e) => e.event === 'registered', 30_000, 'registered');
    await eventually(() => scenario.addresses.every((a) => watching.lists(a, '10.0.3.1:3')), 15_000, () => `seen everywhere: ${watching.describe()}`);
    process.kill(registered['pid'] as number, 'SIGKILL');
    await eventually(() => scenario.addresses.every((a) => watching.lists(a, '10.0.3.1:3', false)), 15_000, () => `removed everywhere: ${watching.describe()}`);
  });

  it('after its member is SIGKILLed, subscribers on every live member end with the redone instance listed', async () => {
    const watching = await subscribers.everywhere('survivors');
    const publisher = publish(scenario.addresses, 'survivors', '10.0.4.1', 4);
    const registered = await publisher.waitForEvent((e) => e.event === 'registered', 30_000, 'registered');
    const victim = scenario.nodes.find((n) => n.address === registered['server'])!;
    // A client that knows only the victim cannot redo anywhere: its instance going on the live
    // members shows the victim's clients have expired there.
    const stranded = publish([victim.address], 'survivors', '10.0.4.9', 4);
    await stranded.waitForEvent((e) => e.event === 'registered', 30_000, 'the stranded client registered');
    await eventually(() => scenario.addresses.every((a) => watching.lists(a, '10.0.4.9:4')), 15_000, () => `stranded listed: ${watching.describe()}`);
    await victim.stop('SIGKILL');
    const live = scenario.addresses.filter((a) => a !== victim.address);
    try {
      await eventually(() => live.every((a) => watching.lists(a, '10.0.4.9:4', false)), 30_000, () => `the victim's clients expired: ${watching.describe()}`);
      assert.ok(live.every((a) => watching.lists(a, '10.0.4.1:4')), `redone instance listed on every live member: ${watching.describe()}`);
    } finally {
      await victim.start();
    }
  });
});
