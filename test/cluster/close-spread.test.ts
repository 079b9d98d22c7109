import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RpcClient } from '../../src/client/index.js';
import { spreadRedirect } from '../../src/cluster/drain.js';
import { summarizeClusterLoad } from '../../src/cluster/loader-metrics.js';
import { startTestNode } from '../support/node.js';
import { findMainPort } from '../support/ports.js';
import { eventually } from '../support/raw-peer.js';
import { testLogger } from '../support/server.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;

/** A seeded generator, so the draws below are the same on every run. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('where refused and shut-down clients are sent', () => {
  const load = summarizeClusterLoad(
    [
      { address: 'a:8848', metric: { sdkConCount: '30' } },
      { address: 'b:8848', metric: { sdkConCount: '0', draining: 'true' } },
      { address: 'c:8848', metric: { sdkConCount: '5' } },
      { address: 'd:8848', metric: { sdkConCount: '5' } },
      { address: 'e:8848', metric: { sdkConCount: '0', starting: 'true' } },
    ],
    5,
  );

  it('never names a draining member, nor one still starting (it refuses clients while it loads its data), and spreads over the others', () => {
    const random = seeded(7);
    const picks = Array.from({ length: 200 }, () => spreadRedirect(load, 'a:8848', ['b:8848', 'c:8848', 'd:8848', 'e:8848'], random));
    assert.equal(picks.includes('b:8848'), false);
    assert.equal(picks.includes('e:8848'), false);
    assert.ok(picks.filter((p) => p === 'c:8848').length > 50 && picks.filter((p) => p === 'd:8848').length > 50, 'both others get clients');
  });

  it('names nobody when no other member is up, and spreads over up members it has no figures for', () => {
    assert.equal(spreadRedirect(load, 'a:8848', [], Math.random), undefined);
    const random = seeded(3);
    const picks = new Set(Array.from({ length: 50 }, () => spreadRedirect(undefined, 'a:8848', ['c:8848', 'd:8848'], random)));
    assert.deepEqual([...picks].sort(), ['c:8848', 'd:8848']);
  });
});

describe('a node that closes', { timeout: 120_000 }, () => {
  const nodes: TestNode[] = [];
  const clients: RpcClient[] = [];
  const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

  before(async () => {
    const port = await findMainPort(hosts);
    const members = hosts.map((h) => `${h}:${port}`).join(',');
    for (const host of hosts) {
      nodes.push(await startTestNode({ host, port, members, shutdownResetWaitMs: 2000, balancer: { enabled: false }, memberClient: { keepAliveMs: 1000 } }));
    }
    await eventually(() => nodes[0]!.members.upOthers().length === 2, 20_000, 'the closing node sees both others');
    // random 0: every client starts on the first server of its list, the closing node.
    for (let i = 0; i < 30; i++) {
      clients.push(new RpcClient({ serverAddresses: hosts.map((h) => `${h}:${port}`), random: () => 0, logger: testLogger }));
    }
    await Promise.all(clients.map((c) => c.start()));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.shutdown()));
    await Promise.all(nodes.map((n) => n.dispose()));
  });

  it('sends its clients to every other member, not all to one', async () => {
    const [closing, b, c] = nodes as [TestNode, TestNode, TestNode];
    // random 0 puts every client on the closing node, unless a start attempt timed out there on a
    // loaded machine and the client went on to the next server: most must be on it.
    const onClosing = closing.server.manager.currentSdkClientCount();
    assert.ok(onClosing >= 20, `clients on the closing node: ${onClosing}`);
    await closing.close();
    const counts = () => [b, c].map((n) => n.server.manager.currentSdkClientCount());
    await eventually(() => counts()[0]! + counts()[1]! === 30, 30_000, () => `all 30 moved (now ${counts().join(' + ')})`);
    assert.ok(counts().every((n) => n >= 5), `spread: ${counts().join(' + ')}`);
  });
});
