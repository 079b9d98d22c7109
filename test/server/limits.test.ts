import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { parseLimitRule } from '../../src/server/control/limit-rule.js';
import { RawPeer } from '../support/raw-peer.js';
import { startTestServer } from '../support/server.js';

describe('limits under concurrent connects', { timeout: 120_000 }, () => {
  const peers: RawPeer[] = [];
  after(() => peers.forEach((p) => p.close()));

  it('300 concurrent setups against countLimit 100 register exactly 100', async () => {
    const { server, sdkPort, host } = await startTestServer({ limitRule: parseLimitRule({ countLimit: 100 }), refusalCloseDelayMs: 0 });
    try {
      let peak = 0;
      server.addConnectionListener({ name: 'peak', onConnected: () => (peak = Math.max(peak, server.manager.count)) });
      for (let i = 0; i < 300; i++) peers.push(new RawPeer(host, sdkPort));
      const ids = await Promise.all(peers.map((p) => p.serverCheck()));
      for (const p of peers) p.setup();
      // Every setup has its outcome: registered, or refused (a reset, then its stream ends).
      await Promise.all(
        peers.map((p, i) =>
          p.waitFor(() => server.manager.checkValid(ids[i]!) || (p.pushesOf('ConnectResetRequest').length > 0 && p.streamEnded), 30_000, 'settled'),
        ),
      );
      assert.equal(server.manager.count, 100);
      assert.equal(peak, 100, 'never more than the limit, even for a moment');
      assert.equal(peers.filter((p) => p.pushesOf('ConnectResetRequest').length > 0).length, 200);
    } finally {
      await server.close();
    }
  });
});
