import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NamingClient } from '../../src/client/naming-client.js';
import type { InstanceJson, ServiceInfoJson } from '../../src/naming/model.js';
import { defaultRegistry, encodePayload, decodePayload, type RequestMessage } from '../../src/protocol/index.js';
import { defineNamingTypes } from '../../src/protocol/naming/index.js';
import { startTestNode } from '../support/node.js';
import { findMainPort } from '../support/ports.js';
import { eventually, RawPeer } from '../support/raw-peer.js';
import { testLogger } from '../support/server.js';

defineNamingTypes(defaultRegistry);

const HOSTS = ['127.0.0.1', '127.0.0.2'] as const;
const MOVER = '10.9.9.9';
const STAYER = '10.8.8.8';
const MARKER = '10.7.7.7';
type TestNode = Awaited<ReturnType<typeof startTestNode>>;

const ipsOf = (push: RequestMessage): string[] =>
  (push.body['serviceInfo'] as ServiceInfoJson).hosts.map((h: InstanceJson) => h.ip).sort();

/**
 * Two members in this process, a subscriber on each, a NamingClient holding one instance and
 * another holding a second; the first is moved to the other member by reloadClient. Answers the
 * pushes each subscriber got from the move on.
 */
async function moveOnce(moveGraceMs: number): Promise<{ pushesAfterMove: RequestMessage[][]; nodes: TestNode[] }> {
  const port = await findMainPort([...HOSTS]);
  const members = HOSTS.map((h) => `${h}:${port}`).join(',');
  const config = {
    port,
    members,
    naming: { pushDelayMs: 10, moveGraceMs, sync: { debounceMs: 10, verifyIntervalMs: 500, expireMs: 600_000 } },
    memberClient: { keepAliveMs: 1000, healthCheckTimeoutMs: 500 },
    balancer: { enabled: false },
  };
  const nodes = await Promise.all(HOSTS.map((host) => startTestNode({ host, ...config })));
  const peers: RawPeer[] = [];
  const clients: NamingClient[] = [];
  try {
    await eventually(() => nodes.every((n) => n.members.list().every((m) => m.state === 'UP')), 30_000, 'both members up');
    const subscribers = await Promise.all(
      nodes.map(async (node) => {
        const peer = new RawPeer(node.config.host, node.server.ports.sdk);
        peers.push(peer);
        await peer.register({ source: 'sdk', module: 'naming' });
        const message: RequestMessage = {
          kind: 'request',
          type: 'SubscribeServiceRequest',
          headers: {},
          body: { namespace: 'public', groupName: 'DEFAULT_GROUP', serviceName: 'orders', subscribe: true, clusters: '' },
        };
        decodePayload(await peer.unaryRaw(encodePayload(message, { clientIp: '127.0.0.1' })));
        return peer;
      }),
    );
    const register = async (ip: string): Promise<NamingClient> => {
      // Both members listed: a client follows a ConnectResetRequest only to a server it knows.
      const client = new NamingClient({ serverAddresses: HOSTS.map((h) => `${h}:${port}`), logger: testLogger, redoIntervalMs: 500 });
      clients.push(client);
      await client.start();
      await client.registerInstance('orders', { ip, port: 8080 });
      return client;
    };
    const mover = await register(MOVER);
    await register(STAYER);
    const both = JSON.stringify([STAYER, MOVER].sort());
    for (const peer of subscribers) {
      await peer.waitFor(() => peer.pushesOf('NotifySubscriberRequest').some((p) => JSON.stringify(ipsOf(p)) === both), 10_000, 'both instances pushed');
    }
    const seen = subscribers.map((peer) => peer.pushesOf('NotifySubscriberRequest').length);
    const oldConnection = mover.rpcClient.connectionId!;
    const from = nodes.findIndex((n) => n.server.manager.get(oldConnection) !== undefined);
    const to = 1 - from;
    assert.equal(await nodes[from]!.server.manager.reloadClient(oldConnection, `${HOSTS[to]}:${port}`), true);
    await eventually(() => nodes[to]!.server.manager.get(mover.rpcClient.connectionId ?? '') !== undefined, 10_000, 'the client on the other member');
    await eventually(() => nodes[from]!.server.manager.get(oldConnection) === undefined, 10_000, 'its old connection gone');
    // Settled: the moved instance is listed by its new connection alone, on both members.
    await eventually(
      () => nodes.every((n) => n.naming.reader.query({ namespace: 'public', group: 'DEFAULT_GROUP', name: 'orders' }, { healthyOnly: false }).hosts.length === 2),
      10_000,
      'both instances listed on both members',
    );
    await eventually(() => nodes.every((n) => n.naming.stats.stats().held === 0), moveGraceMs + 10_000, 'nothing held any more');
    // A last registration as a marker: pushes of a service reach a subscriber in order, so once
    // the marker's has arrived every push the move caused has too.
    await register(MARKER);
    const untilMarker = await Promise.all(
      subscribers.map((peer) =>
        peer.waitFor(
          () => {
            const pushes = peer.pushesOf('NotifySubscriberRequest');
            const at = pushes.findIndex((p) => ipsOf(p).includes(MARKER));
            return at >= 0 && pushes.slice(0, at);
          },
          10_000,
          'the marker pushed',
        ),
      ),
    );
    return { pushesAfterMove: untilMarker.map((pushes, i) => pushes.slice(seen[i])), nodes };
  } finally {
    await Promise.all(clients.map((c) => c.shutdown()));
    for (const peer of peers) peer.close();
    await Promise.all(nodes.map((n) => n.dispose()));
  }
}

describe('naming through a move between two members', { timeout: 120_000 }, () => {
  it('with the grace: no subscriber on either member is pushed a list without the moved instance', async () => {
    const { pushesAfterMove } = await moveOnce(10_000);
    for (const pushes of pushesAfterMove) {
      const lacking = pushes.filter((p) => !ipsOf(p).includes(MOVER));
      assert.deepEqual(lacking.map(ipsOf), [], 'pushes lacking the moved instance');
    }
  });

  it('with grace 0 (Nacos): the move is pushed as a removal and a re-add (the flap the grace removes)', async () => {
    const { pushesAfterMove } = await moveOnce(0);
    const lacking = pushesAfterMove.flat().filter((p) => !ipsOf(p).includes(MOVER));
    assert.ok(lacking.length > 0, 'at least one subscriber saw the moved instance gone');
    for (const pushes of pushesAfterMove) assert.deepEqual(ipsOf(pushes.at(-1)!), [STAYER, MOVER].sort(), 'and then back');
  });
});

describe('a member closed gracefully', { timeout: 120_000 }, () => {
  it('a connection that never answered its ConnectResetRequest is removed on the other member at once, not held for the grace', async () => {
    const GRACE_MS = 30_000;
    const port = await findMainPort([...HOSTS]);
    const config = {
      port,
      members: HOSTS.map((h) => `${h}:${port}`).join(','),
      naming: { pushDelayMs: 10, moveGraceMs: GRACE_MS, sync: { debounceMs: 10, verifyIntervalMs: 500, expireMs: 600_000 } },
      memberClient: { keepAliveMs: 1000, healthCheckTimeoutMs: 500 },
      balancer: { enabled: false },
    };
    const [closing, staying] = await Promise.all(HOSTS.map((host) => startTestNode({ host, ...config })));
    const peers: RawPeer[] = [];
    try {
      await eventually(() => [closing!, staying!].every((n) => n.members.list().every((m) => m.state === 'UP')), 30_000, 'both members up');
      const publisher = new RawPeer(HOSTS[0], closing!.server.ports.sdk);
      peers.push(publisher);
      await publisher.register({ source: 'sdk', module: 'naming' });
      // It answers no push: the closing member's reset goes unacknowledged, so its end is a close, not a move.
      publisher.autoAck = false;
      const registerMessage: RequestMessage = {
        kind: 'request',
        type: 'InstanceRequest',
        headers: {},
        body: { namespace: 'public', groupName: 'DEFAULT_GROUP', serviceName: 'orders', type: 'registerInstance', instance: { ip: STAYER, port: 8080, weight: 1, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT', metadata: {} } },
      };
      decodePayload(await publisher.unaryRaw(encodePayload(registerMessage, { clientIp: '127.0.0.1' })));
      const orders = { namespace: 'public', group: 'DEFAULT_GROUP', name: 'orders' };
      const listedOnStaying = () => staying!.naming.reader.query(orders, { healthyOnly: false }).hosts.map((h) => h.ip);
      await eventually(() => listedOnStaying().includes(STAYER), 10_000, 'the instance synced to the other member');
      const closedAt = Date.now();
      await closing!.dispose();
      await eventually(() => !listedOnStaying().includes(STAYER), GRACE_MS + 10_000, 'the instance removed on the other member');
      const tookMs = Date.now() - closedAt;
      assert.ok(tookMs < GRACE_MS / 3, `removed after ${tookMs} ms: held for the grace as if it had moved`);
    } finally {
      for (const peer of peers) peer.close();
      await Promise.all([closing!, staying!].map((n) => n.dispose()));
    }
  });
});
