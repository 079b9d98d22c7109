import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { RpcClient } from '../../src/client/index.js';
import { ErrorCode, NacosRemoteError, request } from '../../src/protocol/index.js';
import { limitRulePath } from '../../src/node/config.js';
import { startTestNode } from '../support/node.js';
import { findMainPort } from '../support/ports.js';
import { eventually } from '../support/raw-peer.js';
import { testLogger } from '../support/server.js';

describe('a drain owns its member\'s shedding', { timeout: 120_000 }, () => {
  let draining: Awaited<ReturnType<typeof startTestNode>>;
  let other: Awaited<ReturnType<typeof startTestNode>>;
  const clients: RpcClient[] = [];

  before(async () => {
    const port = await findMainPort(['127.0.0.1', '127.0.0.2']);
    const members = `127.0.0.1:${port},127.0.0.2:${port}`;
    // A long window: the drain's budget is still running while the operator asks.
    const common = { port, members, drainWindowMs: 20_000, balancer: { enabled: false }, memberClient: { keepAliveMs: 1000 } };
    draining = await startTestNode({ ...common, host: '127.0.0.1' });
    other = await startTestNode({ ...common, host: '127.0.0.2' });
    for (let i = 0; i < 20; i++) {
      clients.push(new RpcClient({ serverAddresses: [`127.0.0.1:${port}`, `127.0.0.2:${port}`], random: () => 0, logger: testLogger }));
    }
    await Promise.all(clients.map((c) => c.start()));
    await eventually(() => draining.members.upOthers().length === 1 && other.members.upOthers().length === 1, 20_000, 'both members up');
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.shutdown()));
    await draining.dispose();
    await other.dispose();
  });

  it('refuses a limit PUT (409), reloadCurrent (409) and ServerReloadRequest (CONFLICT) while the drain goes on', async () => {
    void draining.drain();
    await eventually(() => draining.server.manager.shedProgress.owner === 'drain', 10_000, 'the drain shedding');
    const ruleBefore = draining.server.manager.limitRule;

    const put = await draining.http.inject({ method: 'PUT', url: '/nacos/v2/core/control/connection', payload: { countLimit: 1 } });
    assert.equal(put.statusCode, 409, put.body);
    assert.equal(put.json<{ error: string }>().error, 'SHED_BUSY');
    assert.equal(draining.server.manager.limitRule, ruleBefore, 'the rule is unchanged');
    assert.equal(existsSync(limitRulePath(draining.home)), false, 'nothing persisted');

    const reload = await draining.http.inject({ url: '/nacos/v2/core/loader/reloadCurrent?count=0' });
    assert.equal(reload.statusCode, 409, reload.body);

    await assert.rejects(
      other.members.request(draining.cluster.selfAddress, request('ServerReloadRequest', { reloadCount: 0 }), 3000),
      (e: unknown) => e instanceof NacosRemoteError && e.errorCode === ErrorCode.CONFLICT,
    );

    // The drain's budget is still the one running, and it finishes: every client moves.
    assert.equal(draining.server.manager.shedProgress.owner, 'drain');
    await eventually(() => other.server.manager.currentSdkClientCount() === 20, 40_000, () => `all 20 on the other member (now ${other.server.manager.currentSdkClientCount()})`);
  });
});
