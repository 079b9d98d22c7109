import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { afterLoad, StartupLoad } from '../../../src/naming/sync/startup-load.js';
import { ConnectionClosedError, response, type RequestMessage } from '../../../src/protocol/index.js';
import type { RequestMeta } from '../../../src/server/handlers/index.js';
import { fakeConnection } from '../../support/fakes.js';
import { ManualTimers } from '../../support/manual-timers.js';

describe('StartupLoad: a start waits for the other members\' snapshots', () => {
  it('is loaded once every other member has sent its snapshot', () => {
    const load = new StartupLoad(['b', 'c'], new ManualTimers());
    const wait = load.waitAtMost(30_000);
    load.snapshotReceived('b');
    load.snapshotReceived('b');
    assert.deepEqual({ over: wait.isOver, awaited: load.awaited }, { over: false, awaited: ['c'] });
    load.snapshotReceived('c');
    assert.deepEqual({ over: wait.isOver, awaited: load.awaited }, { over: true, awaited: [] });
  });

  it('a wait is over at the load, before its cap, and its timer is cancelled', async () => {
    const timers = new ManualTimers();
    const load = new StartupLoad(['b', 'c'], timers);
    load.startClock();
    const wait = load.waitAtMost(30_000);
    let how: string | undefined;
    void wait.over.then((h) => (how = h));
    load.snapshotReceived('b');
    await timers.advance(10_000);
    assert.deepEqual({ over: wait.isOver, how }, { over: false, how: undefined });
    load.snapshotReceived('c');
    await timers.advance(0);
    assert.deepEqual({ over: wait.isOver, how }, { over: true, how: 'loaded' });
    assert.equal(timers.scheduledCount, 0, 'the cap\'s timer is cancelled');
  });

  it('a member that never sends (and is not found down) holds a wait for its cap, no longer; each wait has its own cap', async () => {
    const timers = new ManualTimers();
    const load = new StartupLoad(['b', 'c'], timers);
    const reads = load.waitAtMost(2000);
    const clients = load.waitAtMost(30_000);
    load.startClock();
    load.snapshotReceived('b');
    await timers.advance(1999);
    assert.deepEqual([reads.isOver, clients.isOver], [false, false]);
    await timers.advance(1);
    assert.deepEqual([reads.isOver, clients.isOver, await reads.over], [true, false, 'capped']);
    await timers.advance(27_999);
    assert.equal(clients.isOver, false, 'clients are still held at 29 999 ms');
    await timers.advance(1);
    assert.deepEqual({ over: clients.isOver, how: await clients.over, awaited: load.awaited }, { over: true, how: 'capped', awaited: ['c'] });
  });

  it('a member found down is not waited for', () => {
    const timers = new ManualTimers();
    const load = new StartupLoad(['b', 'c'], timers);
    const wait = load.waitAtMost(30_000);
    load.snapshotReceived('b');
    load.memberDown('c');
    assert.deepEqual([load.awaited, wait.isOver], [[], true]);
    assert.equal(timers.scheduledCount, 0, 'the cap\'s timer is cancelled');
  });

  it('regression: a member given up on but heard from again (a down report that was wrong) is waited for again while the load is incomplete', async () => {
    const load = new StartupLoad(['b', 'c'], new ManualTimers());
    const wait = load.waitAtMost(30_000);
    load.memberDown('b');
    load.memberHeard('b');
    load.snapshotReceived('c');
    assert.deepEqual({ over: wait.isOver, awaited: load.awaited }, { over: false, awaited: ['b'] }, 'b is up after all: its snapshot is awaited');
    load.snapshotReceived('b');
    assert.deepEqual({ over: wait.isOver, how: await wait.over }, { over: true, how: 'loaded' });
    load.memberHeard('b');
    assert.deepEqual(load.awaited, [], 'a member whose snapshot arrived is not waited for again, nor anything once loaded');
  });

  it('regression: the caps run from startClock (the server\'s start), not from when the waits were made', async () => {
    const timers = new ManualTimers();
    const load = new StartupLoad(['b'], timers);
    const wait = load.waitAtMost(2000);
    await timers.advance(5000);
    assert.equal(wait.isOver, false, 'a slow start of the node does not eat into the cap');
    load.startClock();
    await timers.advance(1999);
    assert.equal(wait.isOver, false);
    await timers.advance(1);
    assert.deepEqual([wait.isOver, await wait.over], [true, 'capped']);
    const later = load.waitAtMost(1000);
    await timers.advance(1000);
    assert.equal(later.isOver, true, 'a wait made after the start is capped from when it was made');
  });

  it('close() ends every wait and cancels its timer (nothing runs after a node closed)', async () => {
    const timers = new ManualTimers();
    const load = new StartupLoad(['b'], timers);
    const wait = load.waitAtMost(2000);
    load.close();
    assert.deepEqual([wait.isOver, await wait.over, load.awaited], [true, 'closed', ['b']]);
    assert.equal(timers.scheduledCount, 0);
    assert.equal(load.waitAtMost(2000).isOver, true, 'a wait asked after close is over at once');
  });

  it('standalone is loaded at once; a wait with cap 0 is over at once, whatever has arrived', async () => {
    const alone = new StartupLoad([], new ManualTimers());
    assert.deepEqual([alone.awaited, await alone.waitAtMost(30_000).over], [[], 'loaded']);
    const timers = new ManualTimers();
    const zero = new StartupLoad(['b'], timers).waitAtMost(0);
    assert.deepEqual([zero.isOver, await zero.over, timers.scheduledCount], [true, 'capped', 0]);
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
    const load = new StartupLoad(['b'], timers);
    let handled = 0;
    const handler = afterLoad(load.waitAtMost(5000), () => (handled++, response('SubscribeServiceResponse')));
    const answer = handler(query, metaOf(timers).meta);
    await timers.advance(1);
    assert.equal(handled, 0, 'not before the load');
    load.snapshotReceived('b');
    assert.equal((await answer).type, 'SubscribeServiceResponse');
    assert.equal(handled, 1);
  });

  it('from a connection that closed meanwhile is refused, and the handler (which would subscribe it) never runs', async () => {
    const timers = new ManualTimers();
    const load = new StartupLoad(['b'], timers);
    let handled = 0;
    const handler = afterLoad(load.waitAtMost(5000), () => (handled++, response('SubscribeServiceResponse')));
    const { meta, close } = metaOf(timers);
    const answer = handler(query, meta);
    close();
    load.snapshotReceived('b');
    await assert.rejects(Promise.resolve(answer), ConnectionClosedError);
    assert.equal(handled, 0);
  });
});
