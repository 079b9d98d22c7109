import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { systemTimers } from '../../../src/protocol/index.js';
import { connectionIdOf } from '../../../src/server/transport/address.js';
import { RawPeer } from '../../support/raw-peer.js';
import { startTestServer } from '../../support/server.js';

describe('connection ids', () => {
  it('one client end at one millisecond on two members makes two ids: each names its member', () => {
    const a = connectionIdOf(1_700_000_000_000, '10.0.0.5', 53122, '10.0.0.7:8848');
    const b = connectionIdOf(1_700_000_000_000, '10.0.0.5', 53122, '10.0.0.8:8848');
    assert.equal(a, '1700000000000_10.0.0.5_53122_10.0.0.7:8848');
    assert.notEqual(a, b);
  });

  it('two members on one clock: each ServerCheck id is Nacos id then that member address', async () => {
    // One clock that never moves: the millisecond is the same on both members.
    const timers = { ...systemTimers, now: () => 1_700_000_000_000 };
    const first = await startTestServer({ timers, memberAddress: '127.0.0.2:8848' });
    const second = await startTestServer({ timers, memberAddress: '127.0.0.3:8848' });
    const peers = [new RawPeer(first.host, first.sdkPort), new RawPeer(second.host, second.sdkPort)];
    after(async () => {
      for (const p of peers) p.close();
      await Promise.all([first.server.close(), second.server.close()]);
    });
    const ids = await Promise.all(peers.map((p) => p.serverCheck()));
    assert.match(ids[0]!, /^1700000000000_127\.0\.0\.1_\d+_127\.0\.0\.2:8848$/);
    assert.match(ids[1]!, /^1700000000000_127\.0\.0\.1_\d+_127\.0\.0\.3:8848$/);
  });
});
