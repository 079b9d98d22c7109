import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ConnectionManager, UnregisterReason, type ClientIpCounting } from '../../src/server/connection-manager.js';
import { parseLimitRule } from '../../src/server/control/limit-rule.js';
import { DEFAULT_TEST_SHED, fakeConnection } from '../support/fakes.js';
import { ManualTimers } from '../support/manual-timers.js';
import { eventually, RawPeer } from '../support/raw-peer.js';
import { startTestServer, testLogger } from '../support/server.js';

/**
 * Two peers on one loopback address, each reporting a different client IP in its setup, against a
 * limit of one connection per client IP. Resolves which of them registered.
 */
async function twoPeersReportingDifferentIps(countClientIpBy: ClientIpCounting | undefined, peers: RawPeer[]): Promise<{ registered: number; counts: Map<string, number> }> {
  const { server, sdkPort, host } = await startTestServer({
    limitRule: parseLimitRule({ countLimitPerClientIpDefault: 1 }),
    refusalCloseDelayMs: 0,
    ...(countClientIpBy === undefined ? {} : { countClientIpBy }),
  });
  try {
    const pair = [new RawPeer(host, sdkPort), new RawPeer(host, sdkPort)];
    peers.push(...pair);
    const ids = await Promise.all(pair.map((p) => p.serverCheck()));
    pair[0]!.setup({ source: 'sdk' }, { clientIp: '10.0.0.1' });
    await eventually(() => server.manager.checkValid(ids[0]!), 5000, 'the first peer registered');
    pair[1]!.setup({ source: 'sdk' }, { clientIp: '10.0.0.2' });
    // Settled either way: registered, or refused with a reset.
    await eventually(() => server.manager.checkValid(ids[1]!) || pair[1]!.pushesOf('ConnectResetRequest').length > 0, 5000, 'the second peer settled');
    return { registered: ids.filter((id) => server.manager.checkValid(id)).length, counts: new Map(server.manager.clientIpCounts()) };
  } finally {
    await server.close();
  }
}

describe('per-client-IP limits: which address counts', { timeout: 60_000 }, () => {
  const peers: RawPeer[] = [];
  after(() => peers.forEach((p) => p.close()));

  it('by default the IP the client reports counts, as Nacos: two reported IPs from one address both register', async () => {
    const { registered, counts } = await twoPeersReportingDifferentIps(undefined, peers);
    assert.equal(registered, 2);
    assert.deepEqual(counts, new Map([['10.0.0.1', 1], ['10.0.0.2', 1]]));
  });

  it("with countClientIpBy 'transport' the socket's address counts: a second connection from it is refused whatever IP it reports", async () => {
    const { registered, counts } = await twoPeersReportingDifferentIps('transport', peers);
    assert.equal(registered, 1);
    assert.deepEqual(counts, new Map([['127.0.0.1', 1]]));
  });
});

describe("ConnectionManager counting per-IP limits by transport address", () => {
  it('counts, sheds the surplus and uncounts by the remote address, whatever IPs the clients report', () => {
    const timers = new ManualTimers();
    const manager = new ConnectionManager(testLogger, timers, DEFAULT_TEST_SHED, 'transport');
    const fakes = [
      fakeConnection({ timers, remoteIp: '192.168.0.1', clientIp: '10.0.0.1' }),
      fakeConnection({ timers, remoteIp: '192.168.0.1', clientIp: '10.0.0.2' }),
      fakeConnection({ timers, remoteIp: '192.168.0.1', clientIp: '10.0.0.3' }),
      fakeConnection({ timers, remoteIp: '192.168.0.2', clientIp: '10.0.0.1' }),
    ];
    for (const { connection } of fakes) assert.deepEqual(manager.register(connection), { ok: true });
    assert.deepEqual(new Map(manager.clientIpCounts()), new Map([['192.168.0.1', 3], ['192.168.0.2', 1]]));

    assert.equal(manager.applyLimitRule(parseLimitRule({ countLimitPerClientIpDefault: 1 })), 2, "192.168.0.1's two newest");
    const another = fakeConnection({ timers, remoteIp: '192.168.0.2', clientIp: '10.0.0.9' });
    assert.deepEqual(manager.register(another.connection), { ok: false, reason: 'client-ip' });

    manager.unregister(fakes[3]!.connection.meta.connectionId, UnregisterReason.TRANSPORT_CLOSED);
    assert.equal(manager.countForClientIp('192.168.0.2'), 0);
    assert.deepEqual(manager.register(another.connection), { ok: true });
    manager.stopShedding();
  });
});
