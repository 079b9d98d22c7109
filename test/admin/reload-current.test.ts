import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClientStatus, RpcClient } from '../../src/client/index.js';
import { request } from '../../src/protocol/index.js';
import { startTestNode } from '../support/node.js';
import { findMainPort } from '../support/ports.js';
import { eventually } from '../support/raw-peer.js';
import { testLogger } from '../support/server.js';

describe('reloadCurrent with ~100 real clients', { timeout: 120_000 }, () => {
  let source: Awaited<ReturnType<typeof startTestNode>>;
  let target: Awaited<ReturnType<typeof startTestNode>>;
  const clients: RpcClient[] = [];

  before(async () => {
    const port = await findMainPort(['127.0.0.1', '127.0.0.2']);
    // Two standalone nodes, not members of one cluster: the redirect target is external to the source.
    source = await startTestNode({ host: '127.0.0.1', port, shed: { ratePerSecond: 50, tickMs: 100 }, admin: { allowExternalRedirect: true } });
    target = await startTestNode({ host: '127.0.0.2', port });
    for (let i = 0; i < 100; i++) {
      clients.push(new RpcClient({ serverAddresses: [`127.0.0.1:${port}`, `127.0.0.2:${port}`], random: () => 0, logger: testLogger }));
    }
    await Promise.all(clients.map((c) => c.start()));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.shutdown()));
    await source.dispose();
    await target.dispose();
  });

  it('sheds down to N toward the redirect, paced, with no request failing meanwhile', async () => {
    assert.equal(source.server.manager.currentSdkClientCount(), 100);
    let failures = 0;
    let requests = 0;
    let running = true;
    const load = Promise.all(
      clients.map(async (c) => {
        while (running) {
          requests++;
          await c.request(request('HealthCheckRequest')).catch(() => failures++);
          await new Promise((r) => setTimeout(r, 50));
        }
      }),
    );
    const res = await source.http.inject({ url: `/nacos/v2/core/loader/reloadCurrent?count=40&redirectAddress=${target.cluster.selfAddress}` });
    assert.equal(res.body, 'success');
    // Paced: 50 a second, so not all 60 in the first moments.
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(source.server.manager.currentSdkClientCount() > 40, `paced: ${source.server.manager.currentSdkClientCount()} left after 300 ms`);
    await eventually(() => source.server.manager.currentSdkClientCount() === 40 && target.server.manager.currentSdkClientCount() === 60, 30_000, () => `source at 40, target at 60 (now ${source.server.manager.currentSdkClientCount()} and ${target.server.manager.currentSdkClientCount()}, shed ${JSON.stringify(source.server.manager.shedProgress)})`);
    await eventually(() => clients.every((c) => c.status === ClientStatus.RUNNING), 10_000, 'all running');
    await new Promise((r) => setTimeout(r, 500));
    running = false;
    await load;
    assert.equal(failures, 0, `failed requests: ${failures} of ${requests}`);
    assert.equal(source.server.manager.currentSdkClientCount(), 40, 'one-shot: no more shed afterwards');
  });
});
