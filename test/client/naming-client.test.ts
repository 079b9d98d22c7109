import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { ClientStatus, NamingClient, type InstancesChangeEvent, type NamingClientOptions } from '../../src/client/index.js';
import { HarnessProcess } from '../support/harness-process.js';
import { startTestNode } from '../support/node.js';
import { findMainPort } from '../support/ports.js';
import { eventually } from '../support/raw-peer.js';
import { testLogger } from '../support/server.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;

const publisherScript = fileURLToPath(new URL('../support/naming-publisher.ts', import.meta.url));

/** Every listener call, and the latest list as `ip:port` strings. */
function recorder(): { listener: (event: InstancesChangeEvent) => void; calls: string[][]; latest: () => string[] | undefined } {
  const calls: string[][] = [];
  return {
    listener: (event) => calls.push(event.instances.map((i) => `${i.ip}:${i.port}`).sort()),
    calls,
    latest: () => calls.at(-1),
  };
}

describe('NamingClient on a real node', { timeout: 60_000 }, () => {
  const clients: NamingClient[] = [];
  const nodes: TestNode[] = [];
  after(async () => {
    await Promise.all(clients.map((c) => c.shutdown()));
    await Promise.all(nodes.map((n) => n.dispose()));
  });

  async function client(node: TestNode, options: Partial<NamingClientOptions> = {}): Promise<NamingClient> {
    const naming = new NamingClient({ serverAddresses: [`127.0.0.1:${node.config.port}`], logger: testLogger, ...options });
    clients.push(naming);
    await naming.start();
    return naming;
  }

  it('registers through one client and another discovers it, hears every change, and stops hearing after unsubscribe', async () => {
    const node = await startTestNode();
    nodes.push(node);
    const publisher = await client(node, { appName: 'orders' });
    const subscriber = await client(node);
    const seen = recorder();

    // Java's naming labels: source, module, and AppName ('unknown' when the application has none).
    const labelsOf = (naming: NamingClient) => node.server.connections().find((c) => c.connectionId === naming.rpcClient.connectionId)?.labels;
    assert.deepEqual(labelsOf(publisher), { source: 'sdk', module: 'naming', AppName: 'orders', 'tls.enable': 'false' });
    assert.deepEqual(labelsOf(subscriber), { source: 'sdk', module: 'naming', AppName: 'unknown', 'tls.enable': 'false' });
    await publisher.registerInstance('orders', { ip: '10.0.0.5', port: 8080, metadata: { v: '1' } });
    await subscriber.subscribe('orders', seen.listener);
    assert.deepEqual(seen.calls, [['10.0.0.5:8080']], 'the subscribe answer is the first call');
    const all = await subscriber.getAllInstances('orders');
    assert.deepEqual(all.map((i) => [i.ip, i.port, i.serviceName, i.metadata]), [['10.0.0.5', 8080, 'DEFAULT_GROUP@@orders', { v: '1' }]]);

    await publisher.batchRegisterInstance('orders', [
      { ip: '10.0.0.5', port: 8080 },
      { ip: '10.0.0.6', port: 8080, healthy: false },
    ]);
    await eventually(() => seen.latest()?.length === 2, 10_000, 'the batch pushed');
    assert.deepEqual((await subscriber.selectInstances('orders', true)).map((i) => i.ip), ['10.0.0.5']);
    assert.deepEqual((await subscriber.selectInstances('orders', false)).map((i) => i.ip), ['10.0.0.6']);
    assert.deepEqual((await subscriber.getAllInstances('orders', { subscribe: false })).map((i) => i.ip).sort(), ['10.0.0.5', '10.0.0.6']);

    await publisher.deregisterInstance('orders');
    await eventually(() => seen.latest()?.length === 0, 10_000, 'the deregister pushed');
    const callsBefore = seen.calls.length;
    await subscriber.unsubscribe('orders', seen.listener);
    await publisher.registerInstance('orders', { ip: '10.0.0.7', port: 1 });
    assert.deepEqual((await subscriber.getAllInstances('orders', { subscribe: false })).map((i) => i.ip), ['10.0.0.7']);
    assert.equal(seen.calls.length, callsBefore, 'no call after unsubscribe');
    assert.equal(node.naming.stats.stats().subscribers, 0, 'the server dropped the subscription');
  });

  it('a group and a cluster selection are sent and honoured', async () => {
    const node = await startTestNode();
    nodes.push(node);
    const naming = await client(node);
    await naming.registerInstance('pay', { ip: '10.0.0.8', port: 1, clusterName: 'EAST' }, { groupName: 'G1' });
    assert.deepEqual((await naming.getAllInstances('pay')).length, 0, 'another group');
    assert.deepEqual((await naming.getAllInstances('pay', { groupName: 'G1', clusters: ['WEST'] })).length, 0);
    assert.deepEqual((await naming.getAllInstances('pay', { groupName: 'G1', clusters: ['EAST'] })).map((i) => i.clusterName), ['EAST']);
  });

  it('after the node restarts on the same port, the clients register and subscribe again by themselves', async () => {
    const first = await startTestNode();
    const port = first.config.port;
    const publisher = await client(first, { keepAliveMs: 500, healthCheckTimeoutMs: 500 });
    const subscriber = await client(first, { keepAliveMs: 500, healthCheckTimeoutMs: 500 });
    const seen = recorder();
    await publisher.registerInstance('orders', { ip: '10.0.0.9', port: 9 });
    await subscriber.subscribe('orders', seen.listener);
    assert.deepEqual(seen.latest(), ['10.0.0.9:9']);

    await first.dispose();
    await eventually(() => publisher.rpcClient.status !== ClientStatus.RUNNING && subscriber.rpcClient.status !== ClientStatus.RUNNING, 10_000, 'both clients lost the node');
    const second = await startTestNode({ port });
    nodes.push(second);
    await eventually(() => second.naming.stats.stats().instances === 1 && second.naming.stats.stats().subscribers === 1, 30_000, () => `redo on the new node: ${JSON.stringify(second.naming.stats.stats())}`);
    assert.deepEqual(second.naming.reader.query({ namespace: 'public', group: 'DEFAULT_GROUP', name: 'orders' }, { healthyOnly: false }).hosts.map((h) => h.ip), ['10.0.0.9']);
    // The subscription is live again: a change on the new node reaches the listener.
    await publisher.registerInstance('orders', { ip: '10.0.0.10', port: 10 });
    await eventually(() => seen.latest()?.[0] === '10.0.0.10:10', 10_000, () => `push after redo: ${JSON.stringify(seen.calls)}`);
  });

  it('moved to another server (a switch, not a loss), the client registers and subscribes there', async () => {
    const [a, b] = [await startTestNode(), await startTestNode()];
    nodes.push(a, b);
    const naming = await client(a);
    const seen = recorder();
    await naming.registerInstance('movers', { ip: '10.0.0.12', port: 12 });
    await naming.subscribe('movers', seen.listener);
    naming.rpcClient.setServerAddresses([`127.0.0.1:${b.config.port}`]);
    await eventually(() => b.naming.stats.stats().instances === 1 && b.naming.stats.stats().subscribers === 1, 15_000, () => `redone on b: ${JSON.stringify(b.naming.stats.stats())}`);
    await eventually(() => a.naming.stats.stats().clients === 0, 15_000, 'released on a');
    assert.deepEqual(seen.latest(), ['10.0.0.12:12']);
  });

  it('a register while no server is up rejects, and is done by itself once one is', async () => {
    const port = await findMainPort();
    const naming = new NamingClient({ serverAddresses: [`127.0.0.1:${port}`], logger: testLogger, retryTimes: 1, requestTimeoutMs: 300 });
    clients.push(naming);
    await assert.rejects(naming.start());
    await assert.rejects(naming.registerInstance('early', { ip: '10.0.0.13', port: 13 }));
    const node = await startTestNode({ port });
    nodes.push(node);
    await eventually(() => node.naming.reader.query({ namespace: 'public', group: 'DEFAULT_GROUP', name: 'early' }, { healthyOnly: false }).hosts.length === 1, 30_000, 'registered once connected');
  });

  it('a registering process SIGKILLed: the subscriber is pushed the removal', async () => {
    const node = await startTestNode();
    nodes.push(node);
    const subscriber = await client(node);
    const seen = recorder();
    await subscriber.subscribe('crashy', seen.listener);
    const publisher = new HarnessProcess(process.execPath, ['--import', 'tsx', publisherScript, `127.0.0.1:${node.config.port}`, 'crashy', '10.0.0.11', '11']);
    try {
      const registered = await publisher.waitForEvent((e) => e.event === 'registered', 30_000, 'the publisher registered');
      await eventually(() => seen.latest()?.[0] === '10.0.0.11:11', 10_000, 'the subscriber saw the instance');
      process.kill(registered['pid'] as number, 'SIGKILL');
      await eventually(() => seen.latest()?.length === 0, 15_000, () => `removal pushed: ${JSON.stringify(seen.calls)}`);
    } finally {
      await publisher.stop();
    }
  });
});
