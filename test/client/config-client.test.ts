import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { ClientStatus, ConfigClient, type ConfigChangeEvent, type ConfigClientOptions } from '../../src/client/index.js';
import { md5Hex } from '../../src/protocol/config/index.js';
import { startTestNode } from '../support/node.js';
import { eventually } from '../support/raw-peer.js';
import { testLogger } from '../support/server.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;

const GROUP = 'DEFAULT_GROUP';

/** Every listener call's content. */
function recorder(): { listener: (event: ConfigChangeEvent) => void; contents: (string | undefined)[] } {
  const contents: (string | undefined)[] = [];
  return { listener: (event) => contents.push(event.content), contents };
}

describe('ConfigClient on a real node', { timeout: 90_000 }, () => {
  const clients: ConfigClient[] = [];
  const nodes: TestNode[] = [];
  /** Homes of nodes restarted on them: a node started on a given home leaves it in place. */
  const homes: string[] = [];
  after(async () => {
    await Promise.all(clients.map((c) => c.shutdown()));
    await Promise.all(nodes.map((n) => n.dispose()));
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  });

  async function client(node: TestNode, options: Partial<ConfigClientOptions> = {}): Promise<ConfigClient> {
    const config = new ConfigClient({ serverAddresses: [`127.0.0.1:${node.config.port}`], logger: testLogger, keepAliveMs: 500, healthCheckTimeoutMs: 500, ...options });
    clients.push(config);
    await config.start();
    return config;
  }

  async function openApiPublish(node: TestNode, dataId: string, content: string): Promise<void> {
    const res = await fetch(`${node.base}/nacos/v1/cs/configs`, { method: 'POST', body: new URLSearchParams({ dataId, group: GROUP, content }) });
    assert.equal(res.status, 200, await res.text());
  }

  it('publishes, reads, and a listener on another connection hears each change once, the removal included', async () => {
    const node = await startTestNode();
    nodes.push(node);
    const publisher = await client(node, { appName: 'orders' });
    const listener = await client(node);
    const labelsOf = (config: ConfigClient) => node.server.connections().find((c) => c.connectionId === config.rpcClient.connectionId)?.labels;
    assert.deepEqual(labelsOf(publisher), { source: 'sdk', module: 'config', AppName: 'orders', taskId: '0', 'tls.enable': 'false' });

    assert.equal(await listener.getConfig('app.yaml', GROUP), undefined);
    const seen = recorder();
    await listener.addListener('app.yaml', GROUP, seen.listener);
    await publisher.publishConfig('app.yaml', GROUP, 'a: 1', { type: 'yaml' });
    await eventually(() => seen.contents.length === 1, 10_000, 'the first publish heard');
    assert.equal(await listener.getConfig('app.yaml', GROUP), 'a: 1');
    await publisher.publishConfig('app.yaml', GROUP, 'a: 2', { casMd5: md5Hex('a: 1') });
    await openApiPublish(node, 'app.yaml', 'a: 3');
    await eventually(() => seen.contents.at(-1) === 'a: 3', 10_000, () => `the open API publish heard: ${JSON.stringify(seen.contents)}`);
    await publisher.removeConfig('app.yaml', GROUP);
    await eventually(() => seen.contents.at(-1) === undefined && seen.contents.length > 1, 10_000, 'the removal heard');
    // Each content once and in order; a publish may be folded into the next if both land before the read.
    const distinct = seen.contents.filter((c, i) => seen.contents.indexOf(c) === i);
    assert.deepEqual(seen.contents, distinct, `no content twice: ${JSON.stringify(seen.contents)}`);
    assert.equal(seen.contents[0], 'a: 1');

    await listener.removeListener('app.yaml', GROUP, seen.listener);
    const calls = seen.contents.length;
    await publisher.publishConfig('app.yaml', GROUP, 'a: 4');
    assert.equal(await listener.getConfig('app.yaml', GROUP), 'a: 4');
    assert.equal(seen.contents.length, calls, 'no call after removeListener');
  });

  it('the node restarted on the same home: configs are there and the listener, reconnected by itself, hears the next change', async () => {
    const first = await startTestNode();
    const { port, home } = { port: first.config.port, home: first.home };
    const listener = await client(first);
    const seen = recorder();
    await listener.addListener('restart.properties', GROUP, seen.listener);
    await listener.publishConfig('restart.properties', GROUP, 'x=1');
    await eventually(() => seen.contents.length === 1, 10_000, 'x=1 heard');

    await first.close();
    await eventually(() => listener.rpcClient.status !== ClientStatus.RUNNING, 10_000, 'the client lost the node');
    homes.push(home);
    const second = await startTestNode({ port, home });
    nodes.push(second);
    await eventually(() => listener.rpcClient.status === ClientStatus.RUNNING, 30_000, 'the client reconnected');
    assert.equal(await listener.getConfig('restart.properties', GROUP), 'x=1');
    await openApiPublish(second, 'restart.properties', 'x=2');
    await eventually(() => seen.contents.at(-1) === 'x=2', 15_000, () => `x=2 heard: ${JSON.stringify(seen.contents)}`);
    assert.deepEqual(seen.contents, ['x=1', 'x=2']);
  });

  it('a change made while the client was disconnected is delivered once after it reconnects', async () => {
    const first = await startTestNode();
    const home = first.home;
    homes.push(home);
    const listener = await client(first);
    const seen = recorder();
    await listener.addListener('away.json', GROUP, seen.listener);
    await listener.publishConfig('away.json', GROUP, '{"v":1}');
    await eventually(() => seen.contents.length === 1, 10_000, 'v1 heard');

    // The node comes back on another port the client does not know yet, and the change is made there.
    await first.close();
    const second = await startTestNode({ home });
    nodes.push(second);
    await openApiPublish(second, 'away.json', '{"v":2}');
    listener.rpcClient.setServerAddresses([`127.0.0.1:${second.config.port}`]);
    await eventually(() => seen.contents.length === 2, 30_000, () => `v2 delivered after the reconnect: ${JSON.stringify(seen.contents)}`);
    await openApiPublish(second, 'away.json', '{"v":3}');
    await eventually(() => seen.contents.length === 3, 10_000, 'v3 pushed');
    assert.deepEqual(seen.contents, ['{"v":1}', '{"v":2}', '{"v":3}']);
  });

  it('moved by reloadClient, the listener hears a change published during the move', async () => {
    const node = await startTestNode();
    nodes.push(node);
    const listener = await client(node);
    const publisher = await client(node);
    const seen = recorder();
    await listener.addListener('moving.txt', GROUP, seen.listener);
    const before = listener.rpcClient.connectionId;
    const self = node.cluster.selfAddress;
    const reload = await fetch(`${node.base}/nacos/v2/core/loader/reloadClient?connectionId=${before}&redirectAddress=${self}`);
    assert.equal(reload.status, 200, await reload.text());
    await publisher.publishConfig('moving.txt', GROUP, 'during the move');
    await eventually(() => listener.rpcClient.connectionId !== before && listener.rpcClient.status === ClientStatus.RUNNING, 15_000, 'the listener moved');
    await eventually(() => seen.contents.length === 1, 15_000, 'the change heard');
    await publisher.publishConfig('moving.txt', GROUP, 'after the move');
    await eventually(() => seen.contents.length === 2, 10_000, () => `the next change heard: ${JSON.stringify(seen.contents)}`);
    assert.deepEqual(seen.contents, ['during the move', 'after the move']);
  });
});
