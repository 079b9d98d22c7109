import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterMembers } from '../../../src/cluster/cluster-members.js';
import { parseMembersOption } from '../../../src/cluster/members.js';
import type { PublishedInstance, ServiceName } from '../../../src/naming/model.js';
import { NamingState } from '../../../src/naming/naming-state.js';
import { namingSyncHandlers } from '../../../src/naming/sync/handlers.js';
import { NAMING_SYNC_TYPES, NamingSnapshotAskRequest } from '../../../src/naming/sync/messages.js';
import { NamingSync, type NamingSyncOptions, type SyncPeers } from '../../../src/naming/sync/naming-sync.js';
import { StartupLoad } from '../../../src/naming/sync/startup-load.js';
import {
  decodePayload,
  encodePayload,
  InvalidBodyError,
  MessageRegistry,
  NoRightError,
  type RequestMessage,
  type ResponseMessage,
} from '../../../src/protocol/index.js';
import type { RequestMeta } from '../../../src/server/handlers/index.js';
import { FakeNetwork } from '../../support/fake-client-connection.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { testLogger } from '../../support/server.js';

const orders: ServiceName = { namespace: 'public', group: 'DEFAULT_GROUP', name: 'orders' };
const OPTIONS: NamingSyncOptions = { debounceMs: 50, verifyIntervalMs: 5000, expireMs: 180_000, requestTimeoutMs: 3000, clientsPerMessage: 200, snapshotAskIntervalMs: 1000 };

function instance(ip: string): PublishedInstance {
  return { ip, port: 8080, weight: 1, healthy: true, enabled: true, clusterName: 'DEFAULT', metadata: { zone: 'a' } };
}

const registry = MessageRegistry.connectionLayer().register(...NAMING_SYNC_TYPES);
/** Both ways through the real codec, so the sync bodies' parsers run as on the cluster port. */
const overTheWire = <M extends RequestMessage | ResponseMessage>(message: M): M => decodePayload(encodePayload(message, { registry }), registry) as M;
const memberMeta = (trusted: boolean): RequestMeta => ({ connection: { meta: { trustedCluster: trusted } } }) as unknown as RequestMeta;

/** One member: its state, its sync, and the messages it sent. */
interface Member {
  readonly id: string;
  state: NamingState;
  sync: NamingSync;
  readonly sent: string[];
  readonly changed: string[];
  /** The members this one was told it heard from (a snapshot ask answered). */
  readonly heard: string[];
}

/**
 * Members linked in memory: a member's requests reach the other's sync handlers through the codec
 * while the link is up; a link that is down fails at once, as a disconnected cluster client does.
 */
function cluster(ids: readonly string[], options: NamingSyncOptions = OPTIONS, moveGraceMs = 0) {
  const timers = new ManualTimers();
  const members = new Map<string, Member>();
  const down = new Set<string>();
  /** Links whose requests wait until released: a message in flight. */
  const held = new Map<string, Promise<void>>();
  const upListeners = new Map<string, ((member: string) => void)[]>();
  const link = (from: string, to: string) => `${from}->${to}`;

  const peersOf = (self: string): SyncPeers => ({
    others: () => ids.filter((id) => id !== self),
    request: async (member, message, { expect }) => {
      if (down.has(link(self, member))) throw new Error(`member ${member} is not connected`);
      await held.get(link(self, member));
      const target = members.get(member)!;
      members.get(self)!.sent.push(`${message.type}->${member}`);
      const handler = namingSyncHandlers(target.state, { self: member, others: () => ids.filter((id) => id !== member) }, (asker) => target.sync.snapshotAsked(asker))[message.type]!;
      const reply = overTheWire(await handler(overTheWire(message), memberMeta(true)));
      assert.equal(reply.type, expect.type);
      return reply as never;
    },
    onMemberUp: (listener) => {
      const list = upListeners.get(self) ?? [];
      list.push(listener);
      upListeners.set(self, list);
      return () => undefined;
    },
    heardFrom: (member) => members.get(self)!.heard.push(member),
  });

  const start = (id: string): Member => {
    const state = new NamingState(id, () => timers.now(), { moveGraceMs, timers });
    const changed: string[] = [];
    state.addListener({ serviceChanged: (s) => changed.push(s.name) });
    upListeners.delete(id);
    const sync = new NamingSync(state, id, peersOf(id), timers, options, testLogger);
    const member: Member = { id, state, sync, sent: [], changed, heard: [] };
    members.set(id, member);
    sync.start();
    return member;
  };
  for (const id of ids) start(id);

  return {
    timers,
    member: (id: string) => members.get(id)!,
    /** A member process restarted: new state, new sync, nothing of what it had. */
    /** A member process crashed and started again: new state, new sync, nothing of what it had, nothing sent on the way. */
    restart: (id: string) => {
      for (const other of ids) if (other !== id) down.add(link(id, other));
      void members.get(id)!.sync.close();
      for (const other of ids) down.delete(link(id, other));
      return start(id);
    },
    /** Takes a link down or up; `announce`: the sender's cluster client says the member is up. */
    setLink(from: string, to: string, up: boolean, announce = up) {
      if (up) down.delete(link(from, to));
      else down.add(link(from, to));
      if (announce) for (const listener of upListeners.get(from) ?? []) listener(to);
    },
    /** Requests on the link wait (in flight) until the returned function is called. */
    holdLink(from: string, to: string): () => void {
      let release!: () => void;
      held.set(link(from, to), new Promise<void>((resolve) => (release = resolve)));
      return () => {
        held.delete(link(from, to));
        release();
      };
    },
    endpoints: (id: string) =>
      members
        .get(id)!
        .state.query(orders, { healthyOnly: false })
        .hosts.map((h) => h.ip)
        .sort(),
    close: () => Promise.all([...members.values()].map((m) => m.sync.close())),
  };
}

describe('NamingSync: changes, deletes and snapshots between members', () => {
  it('a change reaches the other members after the debounce, changes within it in one message', async () => {
    const c = cluster(['a', 'b', 'c']);
    const a = c.member('a');
    a.state.register('a1', orders, instance('10.0.0.1'));
    a.state.register('a2', orders, instance('10.0.0.2'));
    assert.deepEqual(c.endpoints('b'), []);
    await c.timers.advance(50);
    assert.deepEqual(c.endpoints('b'), ['10.0.0.1', '10.0.0.2']);
    assert.deepEqual(c.endpoints('c'), ['10.0.0.1', '10.0.0.2']);
    assert.deepEqual(a.sent, ['NamingSyncRequest->b', 'NamingSyncRequest->c']);
    assert.deepEqual(new Set(c.member('b').changed), new Set(['orders']), 'the subscribers on b are due a push');
    assert.deepEqual(c.member('b').state.query(orders, { healthyOnly: false }).hosts[0]?.metadata, { zone: 'a' });
    await c.close();
  });

  it('a released client is deleted on the other members, and their subscribers are pushed', async () => {
    const c = cluster(['a', 'b']);
    c.member('a').state.register('a1', orders, instance('10.0.0.1'));
    await c.timers.advance(50);
    c.member('b').changed.length = 0;
    c.member('a').state.release('a1');
    await c.timers.advance(50);
    assert.deepEqual(c.endpoints('b'), []);
    assert.deepEqual(c.member('b').changed, ['orders']);
    await c.close();
  });

  it('a member restarted sends a snapshot when its link comes up: what it held before is gone everywhere', async () => {
    const c = cluster(['a', 'b']);
    c.member('a').state.register('a-old', orders, instance('10.0.0.1'));
    await c.timers.advance(50);
    assert.deepEqual(c.endpoints('b'), ['10.0.0.1']);
    const a = c.restart('a');
    a.state.register('a-new', orders, instance('10.0.0.9'));
    c.setLink('a', 'b', true);
    await c.timers.advance(50);
    assert.deepEqual(c.endpoints('b'), ['10.0.0.9']);
    await c.close();
  });

  it('a member that starts asks the others for their snapshots: it has their clients before their links to it come back', async () => {
    const c = cluster(['a', 'b', 'c']);
    c.member('a').state.register('a1', orders, instance('10.0.0.1'));
    c.member('c').state.register('c1', orders, instance('10.0.0.3'));
    await c.timers.advance(50);
    c.restart('b');
    assert.deepEqual(c.endpoints('b'), []);
    // Only b's own links come up; a's and c's clients to b are still backing off.
    c.setLink('b', 'a', true);
    c.setLink('b', 'c', true);
    await c.timers.advance(10);
    assert.deepEqual(c.endpoints('b'), ['10.0.0.1', '10.0.0.3']);
    await c.close();
  });

  it('many clients go in messages of at most clientsPerMessage, a snapshot too', async () => {
    const c = cluster(['a', 'b'], { ...OPTIONS, clientsPerMessage: 2 });
    c.member('a').state.register('a-old', orders, instance('10.0.0.99'));
    await c.timers.advance(50);
    const a = c.restart('a');
    const ips = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'];
    ips.forEach((ip, i) => a.state.register(`a${i}`, orders, instance(ip)));
    c.setLink('a', 'b', true);
    await c.timers.advance(10);
    assert.deepEqual(c.endpoints('b'), ips);
    assert.equal(a.sent.filter((m) => m === 'NamingSyncRequest->b').length, 3);
    await c.close();
  });

  it('a message that failed is made good by a snapshot at the next verify', async () => {
    const c = cluster(['a', 'b']);
    c.setLink('a', 'b', false);
    c.member('a').state.register('a1', orders, instance('10.0.0.1'));
    await c.timers.advance(50);
    assert.deepEqual(c.endpoints('b'), []);
    c.member('a').state.register('a2', orders, instance('10.0.0.2'));
    c.member('a').state.release('a1');
    await c.timers.advance(100);
    // The link works again without a reconnect (a timeout, not a lost connection): the verify
    // tick finds the snapshot due and sends it.
    c.setLink('a', 'b', true, false);
    await c.timers.advance(1000);
    assert.deepEqual(c.endpoints('b'), []);
    await c.timers.advance(4000);
    assert.deepEqual(c.endpoints('b'), ['10.0.0.2']);
    await c.close();
  });
});

describe('NamingSync over cluster clients: a restarted member asks for snapshots (injected clock)', () => {
  it("regression: the asked member's link to it was still backing off, so it answered its first subscribers with its own part only", async () => {
    const A = '10.0.0.1:8848';
    const R = '10.0.0.2:8848';
    const timers = new ManualTimers();
    const net = new FakeNetwork(timers, [R]);
    // Member R's cluster port: its sync handlers, on a state (and a start-up load) its restart replaces.
    const startMemberR = () => {
      const state = new NamingState(R, () => timers.now(), { moveGraceMs: 0, timers });
      const startup = new StartupLoad([A], timers);
      const handlers = namingSyncHandlers(state, { self: R, others: () => [A] }, () => undefined, (member) => startup.snapshotReceived(member));
      const listed = () => state.query(orders, { healthyOnly: false }).hosts.map((h) => h.ip);
      return { startup, handlers, listed };
    };
    let r = startMemberR();
    net.server(R).answer = async (request) => overTheWire(await r.handlers[request.type]!(overTheWire(request), memberMeta(true)));

    // Member A, its sync reaching R over its real cluster client (as a node wires them).
    const members = new ClusterMembers({
      self: A,
      members: parseMembersOption(`${A},${R}`),
      grpcPortOffset: 1000,
      logger: testLogger,
      clientOptions: { timers, connectionFactory: net.factory, random: () => 0 },
    });
    const peers: SyncPeers = {
      others: () => [R],
      request: (member, message, options) => members.request(member, message, options),
      onMemberUp: (listener) => members.onMemberUp(listener),
      heardFrom: (member) => members.heardFrom(member),
    };
    const stateA = new NamingState(A, () => timers.now(), { moveGraceMs: 0, timers });
    const syncA = new NamingSync(stateA, A, peers, timers, OPTIONS, testLogger);
    const askA = namingSyncHandlers(stateA, { self: A, others: () => [R] }, (member) => syncA.snapshotAsked(member))[NamingSnapshotAskRequest.type]!;
    stateA.register('a1', orders, instance('10.0.0.1'));
    syncA.start();
    members.start();
    await timers.advance(100);
    assert.deepEqual(r.listed(), ['10.0.0.1']);

    // R crashes and is down a minute: A's client to it backs off, 3.5 s between attempts by then.
    net.server(R).up = false;
    net.to(R).at(-1)!.endStream();
    await timers.advance(60_000);
    r.startup.close();
    r = startMemberR();
    net.server(R).up = true;
    // R's own link to A comes up, and R asks A for its snapshot.
    const ask: RequestMessage = { kind: 'request', type: NamingSnapshotAskRequest.type, headers: {}, body: { member: R } };
    await askA(overTheWire(ask), memberMeta(true));
    // Before the fix A's snapshot came only at A's next attempt (+3 s): R's wait ended at +2 s and
    // its first subscriber was answered without A's instance.
    await timers.advance(300);
    assert.deepEqual({ awaited: r.startup.awaited, listed: r.listed() }, { awaited: [], listed: ['10.0.0.1'] });

    r.startup.close();
    await syncA.close();
    await members.close();
  });
});

describe('NamingSync: verify and expiry (injected clock)', () => {
  it('verify keeps a synced client alive past the expiry time while its owner holds it', async () => {
    const c = cluster(['a', 'b']);
    c.member('a').state.register('a1', orders, instance('10.0.0.1'));
    await c.timers.advance(50);
    c.member('b').changed.length = 0;
    await c.timers.advance(OPTIONS.expireMs * 2);
    assert.deepEqual(c.endpoints('b'), ['10.0.0.1']);
    assert.deepEqual(c.member('b').changed, [], 'never expired and sent again in between: no push');
    assert.ok(c.member('a').sent.filter((s) => s === 'NamingVerifyRequest->b').length >= 70);
    await c.close();
  });

  it('a synced client whose owner stops verifying expires after expireMs, and the subscribers are pushed', async () => {
    const c = cluster(['a', 'b']);
    c.member('a').state.register('a1', orders, instance('10.0.0.1'));
    await c.timers.advance(50);
    c.setLink('a', 'b', false);
    c.member('b').changed.length = 0;
    await c.timers.advance(OPTIONS.expireMs - OPTIONS.verifyIntervalMs);
    assert.deepEqual(c.endpoints('b'), ['10.0.0.1'], 'still listed before expireMs');
    await c.timers.advance(OPTIONS.verifyIntervalMs * 2);
    assert.deepEqual(c.endpoints('b'), []);
    assert.deepEqual(c.member('b').changed, ['orders']);
    assert.deepEqual(c.endpoints('a'), ['10.0.0.1'], 'the owner keeps its own client');
    await c.close();
  });

  it('a client the receiver does not hold at that revision is sent again after the verify', async () => {
    const c = cluster(['a', 'b']);
    c.member('a').state.register('a1', orders, instance('10.0.0.1'));
    await c.timers.advance(50);
    // As if b had lost it (a delete from a member that no longer owns it would not do this).
    c.member('b').state.removeRemote('a', 'a1');
    assert.deepEqual(c.endpoints('b'), []);
    await c.timers.advance(OPTIONS.verifyIntervalMs + OPTIONS.debounceMs);
    assert.deepEqual(c.endpoints('b'), ['10.0.0.1']);
    await c.close();
  });

  it('closing sends what is due at once (the deletes of the connections a closing node released), then stops every timer', async () => {
    const c = cluster(['a', 'b']);
    c.member('a').state.register('a1', orders, instance('10.0.0.1'));
    await c.timers.advance(50);
    assert.deepEqual(c.endpoints('b'), ['10.0.0.1']);
    c.member('a').state.release('a1');
    await c.member('a').sync.close();
    assert.deepEqual(c.endpoints('b'), [], 'deleted without waiting for the debounce');
    await c.close();
    assert.equal(c.timers.pendingCount, 0);
  });

  it('closing while a message to a member is in flight still sends the deletes queued meanwhile (close lost deletes)', async () => {
    const c = cluster(['a', 'b']);
    const a = c.member('a');
    a.state.register('a1', orders, instance('10.0.0.1'));
    a.state.register('a2', orders, instance('10.0.0.2'));
    await c.timers.advance(50);
    assert.deepEqual(c.endpoints('b'), ['10.0.0.1', '10.0.0.2']);
    const releaseLink = c.holdLink('a', 'b');
    a.state.release('a1');
    await c.timers.advance(50);
    assert.equal(a.sent.at(-1), 'NamingSyncRequest->b', 'the delete of a1 is in flight');
    a.state.release('a2');
    const closed = a.sync.close();
    releaseLink();
    await closed;
    assert.deepEqual(c.endpoints('b'), [], 'the delete of a2, queued while a1 was in flight, was sent before close returned');
    await c.close();
    assert.equal(c.timers.pendingCount, 0);
  });
});

describe('NamingSync: a drained member hands its moving clients over (injected clock)', () => {
  it('its close sends their holds: the others list them after it is gone, a redo adopts without a push, and the rest go when the grace runs out', async () => {
    const GRACE_MS = 10_000;
    const c = cluster(['a', 'b', 'c'], OPTIONS, GRACE_MS);
    const a = c.member('a');
    a.state.register('a1', orders, instance('10.0.0.1'));
    a.state.register('a2', orders, instance('10.0.0.2'));
    await c.timers.advance(50);
    const [b, cc] = [c.member('b'), c.member('c')];
    b.changed.length = 0;
    cc.changed.length = 0;
    // The drain: both connections acknowledged their reset and closed (moved), and the member closes at once, within the debounce.
    a.state.release('a1', 'moved');
    a.state.release('a2', 'moved');
    await a.sync.close();
    c.setLink('a', 'b', false);
    c.setLink('a', 'c', false);
    // Its links go down as it exits: a hold already under way is not started again.
    b.state.holdMemberClients('a');
    cc.state.holdMemberClients('a');
    assert.deepEqual([b.state.stats().held, cc.state.stats().held], [2, 2], 'both held on the members that stay');
    assert.deepEqual(c.endpoints('b'), ['10.0.0.1', '10.0.0.2']);
    // a1's client redoes its register on b: adopted there, and on c when b's data arrives.
    await c.timers.advance(1000);
    b.state.register('b1', orders, instance('10.0.0.1'));
    await c.timers.advance(50);
    assert.deepEqual([b.changed, cc.changed], [[], []], 'no push for the moves so far');
    assert.deepEqual([b.state.stats().held, cc.state.stats().held], [1, 1], 'a2 still held');
    // Nobody adopts a2: it goes on each member at the end of the grace a gave, with one push there.
    await c.timers.advance(GRACE_MS - 1000 - 50 - 1);
    assert.deepEqual(c.endpoints('c'), ['10.0.0.1', '10.0.0.2'], 'listed until the grace ends');
    await c.timers.advance(1);
    assert.deepEqual([c.endpoints('b'), c.endpoints('c')], [['10.0.0.1'], ['10.0.0.1']]);
    assert.deepEqual([b.changed, cc.changed], [['orders'], ['orders']]);
    assert.deepEqual([b.state.stats().held, cc.state.stats().held], [0, 0]);
    await c.close();
  });
});

describe('NamingSync: a member back from a crash gets the holds of its former clients (injected clock)', () => {
  const GRACE_MS = 10_000;
  /** a crashes with a1 (10.0.0.1) and a2 (10.0.0.2): b and c see it go down and hold them; a starts again, empty. */
  async function crashAndRestartA(options: NamingSyncOptions = OPTIONS) {
    const c = cluster(['a', 'b', 'c'], options, GRACE_MS);
    c.member('a').state.register('a1', orders, instance('10.0.0.1'));
    c.member('a').state.register('a2', orders, instance('10.0.0.2'));
    c.member('b').state.register('b1', orders, instance('10.0.0.3'));
    await c.timers.advance(50);
    c.setLink('b', 'a', false);
    c.setLink('c', 'a', false);
    c.member('b').state.holdMemberClients('a');
    c.member('c').state.holdMemberClients('a');
    await c.timers.advance(2000);
    const a = c.restart('a');
    // a's own links come up (it asks for snapshots), then b's and c's.
    c.setLink('a', 'b', true);
    c.setLink('a', 'c', true);
    c.setLink('b', 'a', true);
    c.setLink('c', 'a', true);
    await c.timers.advance(10);
    return { c, a };
  }

  it("regression: the restarted member listed only the others' own clients, a push lacking clients whose redo had not come yet", async () => {
    const { c, a } = await crashAndRestartA();
    assert.deepEqual(c.endpoints('a'), ['10.0.0.1', '10.0.0.2', '10.0.0.3'], 'held on a as on b and c');
    assert.equal(a.state.stats().held, 2);
    // a1's redo registers on c: adopted on every member, a pushing nothing for it.
    a.changed.length = 0;
    c.member('c').state.register('c1', orders, instance('10.0.0.1'));
    await c.timers.advance(50);
    assert.deepEqual(a.changed, [], 'the adoption pushed nothing on a');
    assert.equal(a.state.clientOf('a1'), undefined, "c's data adopted a's copy");
    assert.deepEqual(c.endpoints('a'), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    // a2 is never adopted: it goes on a when the hold b and c took ends (2 s of it were gone when a came back), not later.
    await c.timers.advance(GRACE_MS - 2000 - 10 - 50 - 1);
    assert.deepEqual(c.endpoints('a'), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    await c.timers.advance(1);
    assert.deepEqual([c.endpoints('a'), c.endpoints('b'), c.endpoints('c')], [['10.0.0.1', '10.0.0.3'], ['10.0.0.1', '10.0.0.3'], ['10.0.0.1', '10.0.0.3']]);
    assert.deepEqual(a.changed, ['orders'], 'one push, for the hold that ran out');
    assert.deepEqual([a.state.stats().held, c.member('b').state.stats().held, c.member('c').state.stats().held], [0, 0, 0]);
    await c.close();
  });

  it('the former clients go in the snapshot\'s parts like its own clients, at most clientsPerMessage in each', async () => {
    const { c } = await crashAndRestartA({ ...OPTIONS, clientsPerMessage: 1 });
    assert.deepEqual(c.endpoints('a'), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    // b's snapshot to a: its own b1, then a1 and a2, one per message, whether asked or announced.
    assert.ok(c.member('b').sent.filter((m) => m === 'NamingSyncRequest->a').length >= 3);
    await c.close();
  });

  it('a member up for longer than the grace takes no former clients: a moved client it let go does not come back from a hold that outlived its own', async () => {
    const c = cluster(['a', 'b'], OPTIONS, GRACE_MS);
    const a = c.member('a');
    a.state.register('a1', orders, instance('10.0.0.1'));
    await c.timers.advance(GRACE_MS + 50);
    a.state.release('a1', 'moved');
    // The hold's message takes 50 ms on the way: b's hold ends 50 ms after a's.
    const release = c.holdLink('a', 'b');
    await c.timers.advance(100);
    release();
    await c.timers.advance(0);
    assert.equal(c.member('b').state.stats().held, 1, 'b holds the moved client too');
    // b's link to a blinks; a's hold ends and a1 goes on a, b's runs on while its link comes back.
    c.setLink('b', 'a', false);
    await c.timers.advance(GRACE_MS - 100);
    assert.deepEqual(c.endpoints('a'), []);
    assert.equal(c.member('b').state.stats().held, 1, 'still held on b');
    a.changed.length = 0;
    c.setLink('b', 'a', true);
    await c.timers.advance(10);
    assert.deepEqual(c.endpoints('a'), [], 'not listed again on a');
    assert.deepEqual(a.changed, [], 'no push on a');
    await c.close();
  });

  it('a member whose link only blinked keeps its own clients: holds of them sent back are ignored', async () => {
    const c = cluster(['a', 'b'], OPTIONS, GRACE_MS);
    c.member('a').state.register('a1', orders, instance('10.0.0.1'));
    await c.timers.advance(50);
    c.setLink('b', 'a', false);
    c.member('b').state.holdMemberClients('a');
    c.setLink('b', 'a', true);
    await c.timers.advance(10);
    const a1 = c.member('a').state.clientOf('a1');
    assert.equal(a1?.ownerMemberId, 'a');
    assert.equal(a1?.heldUntil, undefined, 'still live on a');
    await c.close();
  });
});

/**
 * a1 (10.0.0.1) moved from a to b and a2 (10.0.0.2) is new: c lists both, pushed once (for a2),
 * until b's data, released now, adopts the held a1 there with no push.
 */
async function heldOnCUntilAdopted(c: ReturnType<typeof cluster>, releaseBC: () => void): Promise<void> {
  const cc = c.member('c');
  assert.deepEqual(c.endpoints('c'), ['10.0.0.1', '10.0.0.2'], "held on c until the adopter's data comes");
  assert.deepEqual(cc.changed, ['orders'], 'pushed once, for 10.0.0.2 only');
  releaseBC();
  await c.timers.advance(50);
  assert.deepEqual(c.endpoints('c'), ['10.0.0.1', '10.0.0.2']);
  assert.equal(cc.state.clientOf('a1'), undefined, "b's data adopted the held copy");
  assert.deepEqual(cc.changed, ['orders'], 'the move pushed nothing on c');
}

/** Three members, grace 10 s, a's client a1 (10.0.0.1) synced and listed on c. */
async function a1ListedOnC(): Promise<ReturnType<typeof cluster>> {
  const c = cluster(['a', 'b', 'c'], OPTIONS, 10_000);
  c.member('a').state.register('a1', orders, instance('10.0.0.1'));
  await c.timers.advance(50);
  assert.deepEqual(c.endpoints('c'), ['10.0.0.1']);
  return c;
}

describe('NamingSync: a move adopted on its owner before the hold was sent (injected clock)', () => {
  it('regression: the third member got only the delete and listed the instance nowhere until the adopter\'s data came', async () => {
    const c = await a1ListedOnC();
    // a's message to c is in flight (another client's change), so what follows queues behind it.
    const releaseAC = c.holdLink('a', 'c');
    c.member('a').state.register('a2', orders, instance('10.0.0.2'));
    await c.timers.advance(50);
    // a1 moves to b: a holds it, b registers it again; b's data reaches a, not yet c.
    const releaseBC = c.holdLink('b', 'c');
    c.member('a').state.release('a1', 'moved');
    c.member('b').state.register('b1', orders, instance('10.0.0.1'));
    await c.timers.advance(50);
    assert.equal(c.member('a').state.clientOf('a1'), undefined, 'adopted on a: its hold ended there');
    c.member('c').changed.length = 0;
    // a's queue to c now holds a1's delete only (the hold and the adoption in one message).
    releaseAC();
    await c.timers.advance(50);
    await heldOnCUntilAdopted(c, releaseBC);
    await c.close();
  });
  it('regression: a delete that went out inside a snapshot (its message failed) lost its moved mark, and the third member pushed a list without the instance', async () => {
    const c = await a1ListedOnC();
    const releaseBC = c.holdLink('b', 'c');
    // a's link to c fails without a reconnect (a timeout): its next message to c fails.
    c.setLink('a', 'c', false, false);
    c.member('a').state.release('a1', 'moved');
    c.member('b').state.register('b1', orders, instance('10.0.0.1'));
    await c.timers.advance(50);
    assert.equal(c.member('a').state.clientOf('a1'), undefined, 'adopted on a');
    c.member('c').changed.length = 0;
    // The link works again; a's next change sends c a snapshot, a1 not in it.
    c.setLink('a', 'c', true, false);
    c.member('a').state.register('a2', orders, instance('10.0.0.2'));
    await c.timers.advance(50);
    await heldOnCUntilAdopted(c, releaseBC);
    await c.close();
  });
});

describe('NamingSync: snapshot asks (injected clock)', () => {
  it('a member asking again and again is answered once per snapshotAskIntervalMs: one snapshot, one cut of the back-off', async () => {
    const c = cluster(['a', 'b']);
    const a = c.member('a');
    a.state.register('a1', orders, instance('10.0.0.1'));
    await c.timers.advance(50);
    a.sent.length = 0;
    for (let i = 0; i < 5; i++) a.sync.snapshotAsked('b');
    await c.timers.advance(999);
    for (let i = 0; i < 5; i++) a.sync.snapshotAsked('b');
    await c.timers.advance(0);
    assert.deepEqual({ sent: a.sent, heard: a.heard }, { sent: ['NamingSyncRequest->b'], heard: ['b'] });
    await c.timers.advance(1);
    a.sync.snapshotAsked('b');
    await c.timers.advance(0);
    assert.deepEqual({ sent: a.sent, heard: a.heard }, { sent: ['NamingSyncRequest->b', 'NamingSyncRequest->b'], heard: ['b', 'b'] });
    assert.deepEqual(c.endpoints('b'), ['10.0.0.1']);
    await c.close();
  });
});

describe('NamingSync handlers: moved clients (injected clock)', () => {
  /** A receiver 'c' holding a's clients a1 (10.0.0.1) and a2 (10.0.0.2), with its own grace. */
  function receiver(moveGraceMs: number) {
    const timers = new ManualTimers();
    const state = new NamingState('c', () => timers.now(), { moveGraceMs, timers });
    const changed: string[] = [];
    state.addListener({ serviceChanged: (s) => changed.push(s.name) });
    const handlers = namingSyncHandlers(state, { self: 'c', others: () => ['a', 'b'] }, () => undefined);
    const sync = (body: object) =>
      handlers['NamingSyncRequest']!(overTheWire<RequestMessage>({ kind: 'request', type: 'NamingSyncRequest', headers: {}, body: { member: 'a', ...body } as never }), memberMeta(true));
    const published = (clientId: string, ip: string) => ({ clientId, revision: 1, publications: [{ service: orders, instances: [instance(ip)] }] });
    sync({ snapshot: false, clients: [published('a1', '10.0.0.1'), published('a2', '10.0.0.2')], deleted: [] });
    changed.length = 0;
    const endpoints = () => state.query(orders, { healthyOnly: false }).hosts.map((h) => h.ip).sort();
    return { timers, state, changed, sync, endpoints };
  }

  it("holds a moved delete for what was left of the owner's hold, not its own whole grace; an id moved but not deleted is ignored", async () => {
    const c = receiver(10_000);
    c.sync({ snapshot: false, clients: [], deleted: ['a1'], moved: [{ clientId: 'a1', heldForMs: 3000 }, { clientId: 'a2', heldForMs: 3000 }] });
    assert.deepEqual([c.state.isHeld('a1'), c.state.isHeld('a2')], [true, false]);
    await c.timers.advance(2999);
    assert.deepEqual(c.endpoints(), ['10.0.0.1', '10.0.0.2']);
    assert.deepEqual(c.changed, [], 'nothing pushed while held');
    await c.timers.advance(1);
    assert.deepEqual(c.endpoints(), ['10.0.0.2'], "the adopter's data never came: gone when the owner's hold ends");
    assert.deepEqual(c.changed, ['orders']);
  });

  it('holds at most its own grace, and with grace 0 removes at once', async () => {
    const short = receiver(2000);
    short.sync({ snapshot: false, clients: [], deleted: ['a1'], moved: [{ clientId: 'a1', heldForMs: 9000 }] });
    await short.timers.advance(1999);
    assert.deepEqual(short.endpoints(), ['10.0.0.1', '10.0.0.2']);
    await short.timers.advance(1);
    assert.deepEqual(short.endpoints(), ['10.0.0.2']);
    const none = receiver(0);
    none.sync({ snapshot: false, clients: [], deleted: ['a1'], moved: [{ clientId: 'a1', heldForMs: 9000 }] });
    assert.deepEqual(none.endpoints(), ['10.0.0.2']);
  });

  it("a snapshot's moved client, not in owned, is held for what was left; the others not owned go", async () => {
    const c = receiver(10_000);
    c.sync({ snapshot: true, owned: [], clients: [], deleted: [], moved: [{ clientId: 'a1', heldForMs: 3000 }] });
    assert.deepEqual(c.endpoints(), ['10.0.0.1']);
    await c.timers.advance(3000);
    assert.deepEqual(c.endpoints(), []);
  });
});

describe('NamingSync: a peer request that throws at once', () => {
  it('leaves the member free for the next send (a send stuck as under way would never go again)', async () => {
    const timers = new ManualTimers();
    const state = new NamingState('a', () => timers.now());
    const sent: string[] = [];
    let connected = false;
    const peers: SyncPeers = {
      others: () => ['b'],
      request: ((member: string, message: RequestMessage) => {
        if (!connected) throw new Error(`member ${member} is not connected`);
        sent.push(message.type);
        return Promise.resolve({ kind: 'response', type: 'NamingSyncResponse', resultCode: 200, errorCode: 0, body: {} });
      }) as SyncPeers['request'],
      onMemberUp: () => () => undefined,
    };
    const sync = new NamingSync(state, 'a', peers, timers, OPTIONS, testLogger);
    sync.start();
    state.register('a1', orders, instance('10.0.0.1'));
    await timers.advance(OPTIONS.debounceMs);
    assert.deepEqual(sent, []);
    connected = true;
    await timers.advance(OPTIONS.verifyIntervalMs);
    assert.deepEqual(sent, ['NamingSyncRequest'], 'the snapshot due after the failure went at the verify tick');
    await sync.close();
  });
});

describe('NamingSync handlers', () => {
  it('refuse a connection that is not a trusted member, as the other member-only handlers do', () => {
    const state = new NamingState('b', () => 0);
    const handlers = namingSyncHandlers(state, { self: 'b', others: () => ['a'] }, () => assert.fail('no snapshot for a connection that is not a member'));
    const message = overTheWire<RequestMessage>({
      kind: 'request',
      type: 'NamingSyncRequest',
      headers: {},
      body: { member: 'a', snapshot: false, clients: [{ clientId: 'a1', revision: 1, publications: [{ service: orders, instances: [instance('10.0.0.1')] }] }], deleted: [] },
    });
    assert.throws(() => handlers['NamingSyncRequest']!(message, memberMeta(false)), NoRightError);
    assert.throws(() => handlers['NamingVerifyRequest']!({ ...message, type: 'NamingVerifyRequest' }, memberMeta(false)), NoRightError);
    assert.throws(() => handlers['NamingSnapshotAskRequest']!({ ...message, type: 'NamingSnapshotAskRequest' }, memberMeta(false)), NoRightError);
    assert.deepEqual(state.query(orders, { healthyOnly: false }).hosts, []);
  });

  it("refuse sync data that names this member as its owner (self-owned synced clients would pass as local, never released)", () => {
    const state = new NamingState('b', () => 0);
    const handlers = namingSyncHandlers(state, { self: 'b', others: () => ['a'] }, () => assert.fail('no snapshot for a member claiming to be this one'));
    const client = { clientId: 'x1', revision: 1, publications: [{ service: orders, instances: [instance('10.0.0.1')] }] };
    const sync = overTheWire<RequestMessage>({ kind: 'request', type: 'NamingSyncRequest', headers: {}, body: { member: 'b', snapshot: false, clients: [client], deleted: [] } });
    const snapshot = overTheWire<RequestMessage>({ kind: 'request', type: 'NamingSyncRequest', headers: {}, body: { member: 'b', snapshot: true, owned: ['x1'], clients: [client], deleted: [] } });
    const ask = overTheWire<RequestMessage>({ kind: 'request', type: 'NamingSnapshotAskRequest', headers: {}, body: { member: 'b' } });
    const ownsSelf = (error: unknown) => error instanceof NoRightError && error.message.includes("this member's own id");
    assert.throws(() => handlers['NamingSyncRequest']!(sync, memberMeta(true)), ownsSelf);
    assert.throws(() => handlers['NamingSyncRequest']!(snapshot, memberMeta(true)), ownsSelf);
    assert.throws(() => handlers['NamingSnapshotAskRequest']!(ask, memberMeta(true)), ownsSelf);
    const verify = overTheWire<RequestMessage>({ kind: 'request', type: 'NamingVerifyRequest', headers: {}, body: { member: 'b', clients: [{ clientId: 'x1', revision: 1 }] } });
    assert.throws(() => handlers['NamingVerifyRequest']!(verify, memberMeta(true)), ownsSelf);
    assert.deepEqual(state.query(orders, { healthyOnly: false }).hosts, []);
    assert.equal(state.localClients().length, 0, 'no client passes as this member\'s own');
  });

  it('refuse sync data from a trusted connection that names a member not listed (it would sit here until it expired)', () => {
    const state = new NamingState('b', () => 0);
    const handlers = namingSyncHandlers(state, { self: 'b', others: () => ['a'] }, () => assert.fail('no snapshot for a member not listed'));
    const client = { clientId: 'z1', revision: 1, publications: [{ service: orders, instances: [instance('10.0.0.1')] }] };
    const sync = overTheWire<RequestMessage>({ kind: 'request', type: 'NamingSyncRequest', headers: {}, body: { member: 'z', snapshot: false, clients: [client], deleted: [] } });
    assert.throws(
      () => handlers['NamingSyncRequest']!(sync, memberMeta(true)),
      (error: unknown) => error instanceof NoRightError && error.message.includes("'z'") && error.message.includes('not a member'),
    );
    assert.deepEqual(state.query(orders, { healthyOnly: false }).hosts, []);
  });

  it('a bad sync body is refused naming the field, before anything is applied', () => {
    const bad = { kind: 'request', type: 'NamingSyncRequest', headers: {}, body: { member: 'a', snapshot: false, clients: [{ clientId: 'a1', revision: 1, publications: [{ service: orders, instances: [{ ip: '10.0.0.1', port: 70000 }] }] }], deleted: [] } } as const;
    assert.throws(
      () => overTheWire<RequestMessage>(bad),
      (error: unknown) => error instanceof InvalidBodyError && error.message.includes('clients.0.publications.0.instances.0.port'),
    );
    const snapshotWithoutOwned = { kind: 'request', type: 'NamingSyncRequest', headers: {}, body: { member: 'a', snapshot: true, clients: [], deleted: [] } } as const;
    assert.throws(
      () => overTheWire<RequestMessage>(snapshotWithoutOwned),
      (error: unknown) => error instanceof InvalidBodyError && error.message.includes("'owned'"),
    );
    // A longer timer than Node holds would fire at once: the hold would end as it began.
    const heldTooLong = { clientId: 'a1', revision: 1, publications: [], heldForMs: 2 ** 31 };
    assert.throws(
      () => overTheWire<RequestMessage>({ kind: 'request', type: 'NamingSyncRequest', headers: {}, body: { member: 'a', snapshot: false, clients: [heldTooLong], deleted: [] } }),
      (error: unknown) => error instanceof InvalidBodyError && error.message.includes('clients.0.heldForMs'),
    );
  });
});

describe('NamingSync: a snapshot in several messages', () => {
  it('tells the receiver it has the snapshot only at its last part (reads released at the first part saw 200 of 450)', async () => {
    const timers = new ManualTimers();
    const a = new NamingState('a', () => timers.now());
    const b = new NamingState('b', () => timers.now());
    for (let i = 0; i < 450; i++) a.register(`a${i}`, orders, instance(`10.0.${Math.floor(i / 250)}.${i % 250}`));
    const seenAtSnapshot: number[] = [];
    const handlers = namingSyncHandlers(b, { self: 'b', others: () => ['a'] }, () => undefined, () => seenAtSnapshot.push(b.query(orders, { healthyOnly: false }).hosts.length));
    let messages = 0;
    const peers: SyncPeers = {
      others: () => ['b'],
      request: async (_member, message) => {
        messages++;
        return overTheWire(await handlers[message.type]!(overTheWire(message), memberMeta(true))) as never;
      },
      onMemberUp: () => () => undefined,
    };
    const sync = new NamingSync(a, 'a', peers, timers, OPTIONS, testLogger);
    sync.snapshotAsked('b');
    await timers.advance(OPTIONS.debounceMs);
    assert.equal(messages, 3, '450 clients in messages of 200');
    assert.deepEqual(seenAtSnapshot, [450]);
    await sync.close();
  });

  it('from a member that does not mark the last part (older), the first part still counts as the whole snapshot', () => {
    const b = new NamingState('b', () => 0);
    let received = 0;
    const handlers = namingSyncHandlers(b, { self: 'b', others: () => ['a'] }, () => undefined, () => received++);
    const client = { clientId: 'a1', revision: 1, publications: [{ service: orders, instances: [instance('10.0.0.1')] }] };
    const body = { member: 'a', snapshot: true, owned: ['a1'], clients: [client], deleted: [] };
    handlers['NamingSyncRequest']!(overTheWire<RequestMessage>({ kind: 'request', type: 'NamingSyncRequest', headers: {}, body }), memberMeta(true));
    assert.equal(received, 1);
  });
});
