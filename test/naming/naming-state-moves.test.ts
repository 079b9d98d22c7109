import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PublishedInstance, ServiceName } from '../../src/naming/model.js';
import { NamingState } from '../../src/naming/naming-state.js';
import { ManualTimers } from '../support/manual-timers.js';

const orders: ServiceName = { namespace: 'public', group: 'DEFAULT_GROUP', name: 'orders' };
const GRACE_MS = 10_000;
const A = '10.0.0.1:8848';
const B = '10.0.0.2:8848';

function instance(ip: string, port = 8080, extra: Partial<PublishedInstance> = {}): PublishedInstance {
  return { ip, port, weight: 1, healthy: true, enabled: true, clusterName: 'DEFAULT', metadata: {}, ...extra };
}

/** A member's naming state with the move grace, recording what its listeners are told. */
function member(id: string, timers: ManualTimers, moveGraceMs = GRACE_MS) {
  const state = new NamingState(id, () => timers.now(), { moveGraceMs, timers });
  const changed: string[] = [];
  const released: string[] = [];
  const synced: string[] = [];
  state.addListener({
    serviceChanged: (s) => changed.push(s.name),
    localClientReleased: (clientId) => released.push(clientId),
    localClientChanged: (clientId) => synced.push(clientId),
  });
  const endpoints = (): string[] =>
    state.query(orders, { healthyOnly: false }).hosts.map((h) => `${h.ip}:${h.port}${h.weight === 1 ? '' : `/w${h.weight}`}`).sort();
  return { state, changed, released, synced, endpoints };
}

describe('NamingState: a moved connection\'s instances are held for the grace', () => {
  it('stay listed without a push, then go with one push when nobody adopts them', async () => {
    const timers = new ManualTimers();
    const a = member(A, timers);
    a.state.register('old', orders, instance('10.0.0.5'));
    a.changed.length = 0;
    a.state.release('old', 'moved');
    assert.deepEqual(a.endpoints(), ['10.0.0.5:8080']);
    assert.deepEqual(a.changed, [], 'a hold is no change');
    assert.equal(a.state.isHeld('old'), true);
    assert.equal(a.state.stats().held, 1);
    assert.deepEqual(a.released, []);
    await timers.advance(GRACE_MS - 1);
    assert.deepEqual(a.endpoints(), ['10.0.0.5:8080']);
    await timers.advance(1);
    assert.deepEqual(a.endpoints(), []);
    assert.deepEqual(a.changed, ['orders']);
    assert.deepEqual(a.released, ['old'], 'the other members are told to delete it');
    assert.equal(a.state.clientOf('old'), undefined);
    assert.equal(a.state.stats().held, 0);
  });

  it('a register of the same (service, cluster, ip, port) by a new connection adopts it: no push, nothing left to expire', async () => {
    const timers = new ManualTimers();
    const a = member(A, timers);
    a.state.register('old', orders, instance('10.0.0.5'));
    a.state.register('other', orders, instance('10.0.0.6'));
    a.state.release('old', 'moved');
    a.changed.length = 0;
    a.state.register('new', orders, instance('10.0.0.5'));
    assert.deepEqual(a.changed, []);
    assert.deepEqual(a.endpoints(), ['10.0.0.5:8080', '10.0.0.6:8080']);
    assert.equal(a.state.clientOf('old'), undefined, 'the held client is gone once all it held was adopted');
    assert.deepEqual(a.released, ['old']);
    await timers.advance(GRACE_MS);
    assert.deepEqual(a.changed, []);
    assert.deepEqual(a.endpoints(), ['10.0.0.5:8080', '10.0.0.6:8080']);
  });

  it('an adopting register that changes what subscribers see (weight) is pushed once', () => {
    const timers = new ManualTimers();
    const a = member(A, timers);
    a.state.register('old', orders, instance('10.0.0.5'));
    a.state.release('old', 'moved');
    a.changed.length = 0;
    a.state.register('new', orders, instance('10.0.0.5', 8080, { weight: 2 }));
    assert.deepEqual(a.changed, ['orders']);
    assert.deepEqual(a.endpoints(), ['10.0.0.5:8080/w2']);
  });

  it('a register of another port adopts nothing; the held instance goes at the end of the grace', async () => {
    const timers = new ManualTimers();
    const a = member(A, timers);
    a.state.register('old', orders, instance('10.0.0.5'));
    a.state.release('old', 'moved');
    a.state.register('new', orders, instance('10.0.0.5', 9090));
    assert.deepEqual(a.endpoints(), ['10.0.0.5:8080', '10.0.0.5:9090']);
    await timers.advance(GRACE_MS);
    assert.deepEqual(a.endpoints(), ['10.0.0.5:9090']);
  });

  it('a client that registered on its new connection before the old one closed: the hold is adopted at once', () => {
    const timers = new ManualTimers();
    const a = member(A, timers);
    a.state.register('old', orders, instance('10.0.0.5'));
    a.state.register('new', orders, instance('10.0.0.5'));
    a.changed.length = 0;
    a.state.release('old', 'moved');
    assert.deepEqual(a.changed, []);
    assert.equal(a.state.clientOf('old'), undefined);
    assert.deepEqual(a.endpoints(), ['10.0.0.5:8080']);
  });

  it('closed and ejected connections, and any move with grace 0 (Nacos), lose their instances at once', () => {
    const timers = new ManualTimers();
    const a = member(A, timers);
    const nacos = member(B, timers, 0);
    for (const m of [a, nacos]) m.state.register('c1', orders, instance('10.0.0.5'));
    a.state.register('c2', orders, instance('10.0.0.6'));
    a.state.release('c1', 'closed');
    a.state.release('c2', 'ejected');
    nacos.state.release('c1', 'moved');
    assert.deepEqual(a.endpoints(), []);
    assert.deepEqual(nacos.endpoints(), []);
  });

  it('a held client subscribes to nothing: no push goes to the connection that left', () => {
    const timers = new ManualTimers();
    const a = member(A, timers);
    a.state.register('old', orders, instance('10.0.0.5'));
    a.state.subscribe('old', orders, '');
    a.state.release('old', 'moved');
    assert.deepEqual([...a.state.subscribersOf(orders)], []);
  });
});

describe('NamingState: holds across members', () => {
  it('the owner syncs a held client with the time left; a receiver lists it, ends the hold itself, and the owner\'s late delete changes nothing', async () => {
    const timers = new ManualTimers();
    const a = member(A, timers);
    const b = member(B, timers);
    a.state.register('old', orders, instance('10.0.0.5'));
    b.state.applyRemote(A, a.state.localClient('old')!);
    a.state.release('old', 'moved');
    await timers.advance(1000);
    const held = a.state.localClient('old')!;
    assert.equal(held.heldForMs, GRACE_MS - 1000);
    b.changed.length = 0;
    assert.equal(b.state.applyRemote(A, held), true);
    assert.deepEqual(b.changed, [], 'held data with the same instances is no change');
    assert.equal(b.state.isHeld('old'), true);
    await timers.advance(GRACE_MS - 1000);
    assert.deepEqual(b.endpoints(), [], 'ended on the receiver at the owner\'s grace, with or without the owner');
    assert.deepEqual(b.changed, ['orders']);
    b.state.removeRemote(A, 'old');
    assert.deepEqual(b.changed, ['orders']);
  });

  it('a register on another member adopts the held instance there, and its synced data adopts it on the owner: no push anywhere', () => {
    const timers = new ManualTimers();
    const a = member(A, timers);
    const b = member(B, timers);
    a.state.register('old', orders, instance('10.0.0.5'));
    a.state.release('old', 'moved');
    b.state.applyRemote(A, a.state.localClient('old')!);
    a.changed.length = 0;
    b.changed.length = 0;
    b.state.register('new', orders, instance('10.0.0.5'));
    assert.equal(a.state.applyRemote(B, b.state.localClient('new')!), true);
    assert.deepEqual(a.changed, []);
    assert.deepEqual(b.changed, []);
    assert.deepEqual(a.endpoints(), ['10.0.0.5:8080']);
    assert.deepEqual(b.endpoints(), ['10.0.0.5:8080']);
    assert.equal(a.state.clientOf('old'), undefined);
    assert.deepEqual(a.released, ['old'], 'the owner tells the others the held client is gone');
  });

  it('the adopter\'s data reaching a member before the owner\'s hold does: the hold is adopted when it arrives, without a push', () => {
    const timers = new ManualTimers();
    const a = member(A, timers);
    const b = member(B, timers);
    const c = member('10.0.0.3:8848', timers);
    a.state.register('old', orders, instance('10.0.0.5'));
    c.state.applyRemote(A, a.state.localClient('old')!);
    a.state.release('old', 'moved');
    b.state.register('new', orders, instance('10.0.0.5'));
    c.state.applyRemote(B, b.state.localClient('new')!);
    c.changed.length = 0;
    c.state.applyRemote(A, a.state.localClient('old')!);
    assert.deepEqual(c.changed, []);
    assert.equal(c.state.clientOf('old'), undefined);
    assert.deepEqual(c.endpoints(), ['10.0.0.5:8080']);
  });

  it('the owner\'s delete (or smaller copy) after an adoption elsewhere, arriving before the adopter\'s data: no push, and the data adopts', async () => {
    const timers = new ManualTimers();
    const a = member(A, timers);
    const b = member(B, timers);
    const c = member('10.0.0.3:8848', timers);
    a.state.register('old', orders, instance('10.0.0.5'));
    a.state.register('pair', orders, instance('10.0.0.8'));
    a.state.batchRegister('batch', orders, [instance('10.0.0.6'), instance('10.0.0.7')]);
    for (const id of ['old', 'batch']) a.state.release(id, 'moved');
    for (const id of ['old', 'pair', 'batch']) c.state.applyRemote(A, a.state.localClient(id)!);
    // The clients redo on b; a hears of it first and adopts, c not yet.
    b.state.register('new', orders, instance('10.0.0.5'));
    b.state.register('new-batch', orders, instance('10.0.0.6'));
    a.state.applyRemote(B, b.state.localClient('new')!);
    a.state.applyRemote(B, b.state.localClient('new-batch')!);
    assert.equal(a.state.clientOf('old'), undefined);
    assert.deepEqual(a.state.localClient('batch')?.publications[0]?.instances.map((i) => i.ip), ['10.0.0.7']);
    c.changed.length = 0;
    c.state.removeRemote(A, 'old');
    c.state.applyRemote(A, a.state.localClient('batch')!);
    assert.deepEqual(c.changed, [], 'the owner\'s word alone removes nothing held');
    c.state.applyRemote(B, b.state.localClient('new')!);
    c.state.applyRemote(B, b.state.localClient('new-batch')!);
    assert.deepEqual(c.changed, []);
    assert.deepEqual(c.endpoints(), ['10.0.0.5:8080', '10.0.0.6:8080', '10.0.0.7:8080', '10.0.0.8:8080']);
    await timers.advance(GRACE_MS);
    assert.deepEqual(c.endpoints(), ['10.0.0.5:8080', '10.0.0.6:8080', '10.0.0.8:8080'], 'what nobody adopted goes at the end of the hold');
    assert.equal(c.state.stats().held, 0);
  });

  it('data from a member that does not know holds (no heldForMs) is a live client, as before', async () => {
    const timers = new ManualTimers();
    const b = member(B, timers);
    b.state.applyRemote(A, { clientId: 'old', revision: 1, publications: [{ service: orders, instances: [instance('10.0.0.5')] }] });
    assert.equal(b.state.isHeld('old'), false);
    await timers.advance(GRACE_MS * 2);
    assert.deepEqual(b.endpoints(), ['10.0.0.5:8080']);
  });
});

describe('NamingState: a member marked down', () => {
  const C = '10.0.0.3:8848';
  /** b holds a client of a's ('gone', 10.0.0.5) and one of c's ('kept', 10.0.0.7). */
  function setup(moveGraceMs = GRACE_MS) {
    const timers = new ManualTimers();
    const b = member(B, timers, moveGraceMs);
    b.state.applyRemote(A, { clientId: 'gone', revision: 1, publications: [{ service: orders, instances: [instance('10.0.0.5')] }] });
    b.state.applyRemote(C, { clientId: 'kept', revision: 1, publications: [{ service: orders, instances: [instance('10.0.0.7')] }] });
    b.changed.length = 0;
    return { timers, b };
  }

  it('its clients\' instances are held for the grace and then removed, with one push, long before the sync expiry', async () => {
    const { timers, b } = setup();
    b.state.holdMemberClients(A);
    assert.equal(b.state.isHeld('gone'), true);
    assert.equal(b.state.isHeld('kept'), false, 'another member\'s clients are left alone');
    await timers.advance(GRACE_MS - 1);
    assert.deepEqual(b.endpoints(), ['10.0.0.5:8080', '10.0.0.7:8080']);
    assert.deepEqual(b.changed, []);
    await timers.advance(1);
    assert.deepEqual(b.endpoints(), ['10.0.0.7:8080']);
    assert.deepEqual(b.changed, ['orders']);
  });

  it('the client\'s redo on a member that stays adopts its instance without a push', async () => {
    const { timers, b } = setup();
    b.state.holdMemberClients(A);
    b.state.register('redo', orders, instance('10.0.0.5'));
    await timers.advance(GRACE_MS);
    assert.deepEqual(b.changed, []);
    assert.deepEqual(b.endpoints(), ['10.0.0.5:8080', '10.0.0.7:8080']);
    assert.equal(b.state.clientOf('gone'), undefined);
  });

  it('a member that returns sends a fresh snapshot: the old holds run out and nothing it held before comes back', async () => {
    const { timers, b } = setup();
    b.state.holdMemberClients(A);
    const fresh = { clientId: 'fresh', revision: 1, publications: [{ service: orders, instances: [instance('10.0.0.6')] }] };
    b.state.replaceMemberClients(A, ['fresh'], [fresh]);
    assert.deepEqual(b.endpoints(), ['10.0.0.5:8080', '10.0.0.6:8080', '10.0.0.7:8080'], 'a held instance outlives its owner\'s restart');
    await timers.advance(GRACE_MS);
    assert.deepEqual(b.endpoints(), ['10.0.0.6:8080', '10.0.0.7:8080']);
    b.state.replaceMemberClients(A, ['fresh'], [fresh]);
    assert.equal(b.state.applyRemote(A, { clientId: 'fresh', revision: 1, publications: fresh.publications }), false);
    assert.equal(b.state.verifyRemote(A, 'gone', 1), false, 'the old client is unknown: its owner is told to send it if it still has it');
    assert.deepEqual(b.endpoints(), ['10.0.0.6:8080', '10.0.0.7:8080']);
  });

  it('a link that only flapped: the member\'s snapshot lists the client live again and the hold ends without removing it', async () => {
    const { timers, b } = setup();
    b.state.holdMemberClients(A);
    b.state.replaceMemberClients(A, ['gone'], [{ clientId: 'gone', revision: 1, publications: [{ service: orders, instances: [instance('10.0.0.5')] }] }]);
    assert.equal(b.state.isHeld('gone'), false);
    await timers.advance(GRACE_MS * 2);
    assert.deepEqual(b.endpoints(), ['10.0.0.5:8080', '10.0.0.7:8080']);
    assert.deepEqual(b.changed, []);
  });

  it('the owner\'s delete removes a copy held only because its member went down, at once (a graceful close\'s final deletes)', () => {
    const { b } = setup();
    b.state.holdMemberClients(A);
    b.state.removeRemote(A, 'gone');
    assert.deepEqual(b.endpoints(), ['10.0.0.7:8080']);
    assert.deepEqual(b.changed, ['orders']);
    assert.equal(b.state.stats().held, 0, 'no hold left to end');
  });

  it('the owner\'s delete of a copy it said it holds (moved) is still ignored: only adoption or the hold\'s end removes it', () => {
    const { b } = setup();
    b.state.applyRemote(A, { clientId: 'gone', revision: 2, publications: [{ service: orders, instances: [instance('10.0.0.5')] }], heldForMs: GRACE_MS });
    b.state.holdMemberClients(A);
    b.state.removeRemote(A, 'gone');
    assert.equal(b.state.isHeld('gone'), true);
  });

  it('a matching verify from the owner (its link to us works) ends a member-down hold through its data: no removal at the grace, no flap', async () => {
    const { timers, b } = setup();
    b.state.holdMemberClients(A);
    assert.equal(b.state.verifyRemote(A, 'gone', 1), false, 'the owner is asked for its data');
    b.state.applyRemote(A, { clientId: 'gone', revision: 1, publications: [{ service: orders, instances: [instance('10.0.0.5')] }] });
    assert.equal(b.state.isHeld('gone'), false);
    await timers.advance(GRACE_MS * 2);
    assert.deepEqual(b.endpoints(), ['10.0.0.5:8080', '10.0.0.7:8080']);
    assert.deepEqual(b.changed, []);
  });

  it('a member-down hold partly adopted, then live again at the same revision: the copy is rebuilt from the owner\'s data', () => {
    const { b } = setup();
    b.state.applyRemote(A, { clientId: 'two', revision: 1, publications: [{ service: orders, instances: [instance('10.0.0.8'), instance('10.0.0.9')] }] });
    b.state.holdMemberClients(A);
    b.state.register('redo', orders, instance('10.0.0.8'));
    b.state.deregister('redo', orders);
    assert.deepEqual(b.endpoints(), ['10.0.0.5:8080', '10.0.0.7:8080', '10.0.0.9:8080']);
    b.state.replaceMemberClients(A, ['gone', 'two'], [
      { clientId: 'gone', revision: 1, publications: [{ service: orders, instances: [instance('10.0.0.5')] }] },
      { clientId: 'two', revision: 1, publications: [{ service: orders, instances: [instance('10.0.0.8'), instance('10.0.0.9')] }] },
    ]);
    assert.deepEqual(b.endpoints(), ['10.0.0.5:8080', '10.0.0.7:8080', '10.0.0.8:8080', '10.0.0.9:8080']);
    assert.equal(b.state.isHeld('two'), false);
  });

  it('close() cancels every hold\'s end: nothing changes after a node closed', async () => {
    const { timers, b } = setup();
    b.state.holdMemberClients(A);
    b.state.close();
    assert.equal(timers.scheduledCount, 0);
    await timers.advance(GRACE_MS * 2);
    assert.deepEqual(b.changed, []);
  });

  it('with grace 0 a down member\'s clients are left to the sync expiry, as Nacos\'s', async () => {
    const { timers, b } = setup(0);
    b.state.holdMemberClients(A);
    await timers.advance(GRACE_MS * 2);
    assert.deepEqual(b.endpoints(), ['10.0.0.5:8080', '10.0.0.7:8080']);
  });
});
