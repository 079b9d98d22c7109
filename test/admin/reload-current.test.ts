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
  // The request load of the test; stopped in after() too, so a failed assert does not leave it running.
  let running = false;

  before(async () => {
    const port = await findMainPort(['127.0.0.1', '127.0.0.2']);
    // Two standalone nodes, not members of one cluster: the redirect target is external to the source.
    source = await startTestNode({ host: '127.0.0.1', port, shed: { ratePerSecond: 50, tickMs: 100 }, admin: { allowExternalRedirect: true } });
    target = await startTestNode({ host: '127.0.0.2', port });
    for (let i = 0; i < 100; i++) {
      // Generous connect deadlines: on a loaded machine a timed-out start would land on the target.
      const deadlines = { serverCheckTimeoutMs: 20_000, healthCheckTimeoutMs: 20_000 };
      clients.push(new RpcClient({ serverAddresses: [`127.0.0.1:${port}`, `127.0.0.2:${port}`], random: () => 0, logger: testLogger, ...deadlines }));
    }
    await Promise.all(clients.map((c) => c.start()));
  });
  after(async () => {
    running = false;
    await Promise.all(clients.map((c) => c.shutdown()));
    await source.dispose();
    await target.dispose();
  });

  it('sheds down to N toward the redirect, paced, with no request failing meanwhile', async () => {
    assert.equal(source.server.manager.currentSdkClientCount(), 100);
    let failures = 0;
    let requests = 0;
    running = true;
    const answered = clients.map(() => 0);
    const load = Promise.all(
      clients.map(async (c, i) => {
        while (running) {
          requests++;
          await c.request(request('HealthCheckRequest')).catch(() => failures++);
          answered[i]!++;
          await new Promise((r) => setTimeout(r, 50));
        }
      }),
    );
    const res = await source.http.inject({ url: `/nacos/v2/core/loader/reloadCurrent?count=40&redirectAddress=${target.cluster.selfAddress}` });
    assert.equal(res.body, 'success');
    // Paced: 50 a second (5 a tick), so as the call returns at most a tick or two of resets are out.
    const started = source.server.manager.shedProgress;
    assert.ok(started.remaining - started.inFlight >= 50, `paced: ${JSON.stringify(started)} as the call returned`);
    await eventually(() => source.server.manager.currentSdkClientCount() === 40 && target.server.manager.currentSdkClientCount() === 60, 30_000, () => `source at 40, target at 60 (now ${source.server.manager.currentSdkClientCount()} and ${target.server.manager.currentSdkClientCount()}, shed ${JSON.stringify(source.server.manager.shedProgress)})`);
    await eventually(() => clients.every((c) => c.status === ClientStatus.RUNNING), 10_000, 'all running');
    // Every client answered again on the connection it has now.
    const settled = [...answered];
    await eventually(() => answered.every((n, i) => n > settled[i]!), 10_000, 'a request from every client after the moves');
    assert.equal(source.server.manager.shedProgress.active, false, 'the budget is spent');
    running = false;
    await load;
    assert.equal(failures, 0, `failed requests: ${failures} of ${requests}`);
    assert.equal(source.server.manager.currentSdkClientCount(), 40, 'one-shot: no more shed afterwards');
  });
});
