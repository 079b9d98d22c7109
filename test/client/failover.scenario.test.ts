import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClientStatus, RpcClient } from '../../src/client/index.js';
import { request } from '../../src/protocol/index.js';
import { evenSpreadRandom } from '../support/even-random.js';
import { NodeProcess } from '../support/node-process.js';
import { findMainPort } from '../support/ports.js';
import { eventually } from '../support/raw-peer.js';
import { testLogger } from '../support/server.js';

const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

describe('RpcClient failover: a node SIGKILLed and restarted', { timeout: 120_000 }, () => {
  let nodes: NodeProcess[];
  const clients: RpcClient[] = [];

  before(async () => {
    const port = await findMainPort(HOSTS);
    nodes = HOSTS.map((h) => new NodeProcess(h, port));
    await Promise.all(nodes.map((n) => n.start()));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.shutdown()));
    await Promise.all(nodes.map((n) => n.dispose()));
  });

  it('clients of a killed node reconnect spread over the others; after restart requests work', async () => {
    const addresses = nodes.map((n) => n.address);
    // 10 clients start on each node; the victim's 10 split between the live two.
    for (let i = 0; i < 30; i++) {
      const random = evenSpreadRandom(i, 30);
      clients.push(new RpcClient({ serverAddresses: addresses, logger: testLogger, keepAliveMs: 1000, healthCheckTimeoutMs: 1000, random }));
    }
    await Promise.all(clients.map((c) => c.start()));
    const victim = nodes[1]!;
    const orphans = clients.filter((c) => c.currentServer() === victim.address);
    assert.equal(orphans.length, 10, 'the start drew from the injected random source');
    await victim.stop('SIGKILL');
    await eventually(() => orphans.every((c) => c.status === ClientStatus.RUNNING && c.currentServer() !== victim.address), 30_000, 'orphans reconnected');
    const landed = new Set(orphans.map((c) => c.currentServer()));
    assert.equal(landed.size, 2, `spread over both live nodes: ${[...landed].join(', ')}`);
    await victim.start();
    // Every client works, whichever node it is on.
    const replies = await Promise.all(clients.map((c) => c.request(request('HealthCheckRequest'))));
    assert.ok(replies.every((r) => r.resultCode === 200), 'replies.every((r) => r.resultCode === 200)');
    // A client sent to the restarted node gets there and works.
    const mover = clients[0]!;
    const mine = nodes.find((n) => n.address === mover.currentServer())!;
    assert.notEqual(mine, victim);
    mover.setServerAddresses([victim.address]);
    await eventually(() => mover.currentServer() === victim.address && mover.status === ClientStatus.RUNNING, 15_000, 'moved to restarted node');
    assert.equal((await mover.request(request('HealthCheckRequest'))).resultCode, 200);
  });
});
