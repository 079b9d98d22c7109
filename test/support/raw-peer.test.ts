import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { errorResponse, ErrorCode } from '../../src/protocol/index.js';
import { parseLimitRule } from '../../src/server/control/limit-rule.js';
import { RawPeer } from './raw-peer.js';
import { startTestServer } from './server.js';

describe('RawPeer.register accepts only a success', () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('resolves the connectionId of a registered connection', async () => {
    const { server, sdkPort, host } = await startTestServer();
    const p = new RawPeer(host, sdkPort);
    cleanups.push(() => server.close(), () => p.close());
    const id = await p.register();
    assert.ok(server.manager.checkValid(id));
  });

  it('rejects with the reset when the setup is refused', async () => {
    const { server, sdkPort, host } = await startTestServer({ limitRule: parseLimitRule({ countLimit: 0 }) });
    const p = new RawPeer(host, sdkPort);
    cleanups.push(() => server.close(), () => p.close());
    await assert.rejects(p.register(), /refused: .*ConnectResetRequest/);
  });

  it('rejects with the answer when a HealthCheck is neither 301 (not yet) nor a success', async () => {
    const { server, sdkPort, host } = await startTestServer();
    server.registerHandler('HealthCheckRequest', () => errorResponse(ErrorCode.OVER_THRESHOLD, 'busy'));
    const p = new RawPeer(host, sdkPort);
    cleanups.push(() => server.close(), () => p.close());
    await assert.rejects(p.register(), /failed: .*"errorCode":503/);
  });
});
