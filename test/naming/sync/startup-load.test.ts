import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { afterLoad, StartupLoad } from '../../../src/naming/sync/startup-load.js';
import { ConnectionClosedError, response, type RequestMessage } from '../../../src/protocol/index.js';
import type { RequestMeta } from '../../../src/server/handlers/index.js';
import { fakeConnection } from '../../support/fakes.js';
import { ManualTimers } from '../../support/manual-timers.js';

describe('StartupLoad: reads wait after a start for the other members\' snapshots', () => {
  it('is loaded once every other member has sent its snapshot', () => {
    const load = new StartupLoad(['b', 'c'], new ManualTimers(), 5000);
    assert.equal(load.isLoaded, false);
    load.snapshotReceived('b');
    load.snapshotReceived('b');
    assert.equal(load.isLoaded, false);
    load.snapshotReceived('c');
    assert.equal(load.isLoaded, true);
  });

  it('a member that never sends (down) holds reads back for the wait, no longer', async () => {
    const timers = new ManualTimers();
    const load = new StartupLoad(['b', 'c'], timers, 5000);
    load.snapshotReceived('b');
    let resolved = false;
    void load.loaded.then(() => (resolved = true));
    await timers.advance(4999);
    assert.equal(resolved, false);
    await timers.advance(1);
    assert.equal(resolved, true);
  });

  it('a member found down is not waited for: reads go before a Java client\'s 3 s request timeout', () => {
    const timers = new ManualTimers();
    const load = new StartupLoad(['b', 'c'], timers, 2000);
    load.snapshotReceived('b');
    load.memberDown('c');
    assert.equal(load.isLoaded, true);
    assert.equal(timers.scheduledCount, 0, 'the wait\'s timer is cancelled');
  });

  it('close() ends the wait and cancels its timer (nothing runs after a node closed)', () => {
    const timers = new ManualTimers();
    const load = new StartupLoad(['b'], timers, 2000);
    load.close();
    assert.equal(load.isLoaded, true);
    assert.equal(timers.scheduledCount, 0);
  });

  it('standalone, or a wait of 0, is loaded at once', () => {
    assert.equal(new StartupLoad([], new ManualTimers(), 5000).isLoaded, true);
    assert.equal(new StartupLoad(['b'], new ManualTimers(), 0).isLoaded, true);
  });
});

describe('afterLoad: a read that waited for the load', () => {
  const query: RequestMessage = { kind: 'request', type: 'SubscribeServiceRequest', headers: {}, body: {} };
  function metaOf(timers: ManualTimers): { meta: RequestMeta; close: () => void } {
    const { connection } = fakeConnection({ timers });
    return { meta: { connectionId: connection.id, clientIp: '127.0.0.1', clientVersion: 'test', labels: {}, connection }, close: () => connection.close() };
  }

  it('is answered once the member is loaded', async () => {
    const timers = new ManualTimers();
    const load = new StartupLoad(['b'], timers, 5000);
    let handled = 0;
    const handler = afterLoad(load, () => (handled++, response('SubscribeServiceResponse')));
    const answer = handler(query, metaOf(timers).meta);
    await timers.advance(1);
    assert.equal(handled, 0, 'not before the load');
    load.snapshotReceived('b');
    assert.equal((await answer).type, 'SubscribeServiceResponse');
    assert.equal(handled, 1);
  });

  it('from a connection that closed meanwhile is refused, and the handler (which would subscribe it) never runs', async () => {
    const timers = new ManualTimers();
    const load = new StartupLoad(['b'], timers, 5000);
    let handled = 0;
    const handler = afterLoad(load, () => (handled++, response('SubscribeServiceResponse')));
    const { meta, close } = metaOf(timers);
    const answer = handler(query, meta);
    close();
    load.snapshotReceived('b');
    await assert.rejects(Promise.resolve(answer), ConnectionClosedError);
    assert.equal(handled, 0);
  });
});
