import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PublishedInstance, ServiceName } from '../../src/naming/model.js';
import { NamingState, type SyncedClient } from '../../src/naming/naming-state.js';
import { ManualTimers } from '../support/manual-timers.js';

const orders: ServiceName = { namespace: 'public', group: 'DEFAULT_GROUP', name: 'orders' };
const billing: ServiceName = { namespace: 'public', group: 'DEFAULT_GROUP', name: 'billing' };

function instance(ip: string, port = 8080, extra: Partial<PublishedInstance> = {}): PublishedInstance {
  return { ip, port, weight: 1, healthy: true, enabled: true, clusterName: 'DEFAULT', metadata: {}, ...extra };
}

function harness() {
  const timers = new ManualTimers();
  const state = new NamingState('10.0.0.1:8848', () => timers.now());
  const changed: string[] = [];
  const subscribed: string[] = [];
  state.addListener({
    serviceChanged: (s) => changed.push(s.name),
    subscribed: (s, clientId) => subscribed.push(`${s.name}:${clientId}`),
  });
  const endpoints = (service = orders) =>
    state.query(service, { healthyOnly: false }).hosts.map((h) => `${h.ip}:${h.port}`).sort();
  return { timers, state, changed, subscribed, endpoints };
}

describe('NamingState: one instance per service per connection', () => {
  it('a second register of the same service replaces the first', () => {
    const { state, endpoints } = harness();
    state.register('c1', orders, instance('10.0.0.5', 8080));
    state.register('c1', orders, instance('10.0.0.5', 9090));
    assert.deepEqual(endpoints(), ['10.0.0.5:9090']);
  });

  it('two connections publish side by side', () => {
    const { state, endpoints } = harness();
    state.register('c1', orders, instance('10.0.0.5'));
    state.register('c2', orders, instance('10.0.0.6'));
    assert.deepEqual(endpoints(), ['10.0.0.5:8080', '10.0.0.6:8080']);
  });

  it('deregister removes the connection\'s instance whatever ip/port it names, and only its own', () => {
    const { state, endpoints } = harness();
    state.register('c1', orders, instance('10.0.0.5'));
    state.register('c2', orders, instance('10.0.0.6'));
    state.deregister('c1', orders);
    assert.deepEqual(endpoints(), ['10.0.0.6:8080']);
  });

  it('a batch register replaces the set; a plain deregister removes the whole set', () => {
    const { state, endpoints } = harness();
    state.register('c1', orders, instance('10.0.0.5'));
    state.batchRegister('c1', orders, [instance('10.0.0.7'), instance('10.0.0.8')]);
    assert.deepEqual(endpoints(), ['10.0.0.7:8080', '10.0.0.8:8080']);
    state.batchRegister('c1', orders, [instance('10.0.0.9')]);
    assert.deepEqual(endpoints(), ['10.0.0.9:8080']);
    state.deregister('c1', orders);
    assert.deepEqual(endpoints(), []);
  });

  it('services are independent within one connection', () => {
    const { state, endpoints } = harness();
    state.register('c1', orders, instance('10.0.0.5'));
    state.register('c1', billing, instance('10.0.0.5', 7070));
    state.deregister('c1', orders);
    assert.deepEqual(endpoints(billing), ['10.0.0.5:7070']);
    assert.deepEqual(endpoints(orders), []);
  });

  it('the same name in another namespace or group is another service', () => {
    const { state, endpoints } = harness();
    state.register('c1', orders, instance('10.0.0.5'));
    state.register('c1', { ...orders, namespace: 'dev' }, instance('10.0.0.6'));
    state.register('c1', { ...orders, group: 'G2' }, instance('10.0.0.7'));
    assert.deepEqual(endpoints(), ['10.0.0.5:8080']);
    assert.deepEqual(endpoints({ ...orders, namespace: 'dev' }), ['10.0.0.6:8080']);
  });
});

describe('NamingState: release on disconnect', () => {
  it('removes the connection\'s instances and subscriptions, tells each affected service, leaves others', () => {
    const { state, changed, endpoints } = harness();
    state.register('c1', orders, instance('10.0.0.5'));
    state.batchRegister('c1', billing, [instance('10.0.0.5', 1), instance('10.0.0.5', 2)]);
    state.register('c2', orders, instance('10.0.0.6'));
    state.subscribe('c1', orders, '');
    changed.length = 0;

    state.release('c1');

    assert.deepEqual(endpoints(), ['10.0.0.6:8080']);
    assert.deepEqual(endpoints(billing), []);
    assert.deepEqual(changed.sort(), ['billing', 'orders']);
    assert.deepEqual([...state.subscribersOf(orders)], []);
    assert.equal(state.clientOf('c1'), undefined);
    assert.deepEqual(state.stats(), { clients: 1, services: 1, instances: 1, subscribers: 0, held: 0 });
  });

  it('a connection that only subscribed changes no service when it goes', () => {
    const { state, changed } = harness();
    state.subscribe('c1', orders, '');
    state.release('c1');
    state.release('never-seen');
    assert.deepEqual(changed, []);
    assert.deepEqual(state.listServices('public', 'DEFAULT_GROUP', 1, 10), { count: 0, names: [] });
  });
});

describe('NamingState: client index and listeners', () => {
  it('a first subscribe is announced once; the latest clusters are kept', () => {
    const { state, subscribed } = harness();
    state.subscribe('c1', orders, '');
    state.subscribe('c1', orders, 'A');
    state.subscribe('c2', orders, '');
    assert.deepEqual(subscribed, ['orders:c1', 'orders:c2']);
    assert.deepEqual([...state.subscribersOf(orders)].sort(), ['c1', 'c2']);
    assert.equal(state.subscriptionOf('c1', orders)?.clusters, 'A');
    state.unsubscribe('c1', orders, '');
    state.unsubscribe('c3', orders, '');
    assert.deepEqual([...state.subscribersOf(orders)], ['c2']);
  });

  it('register, replace and deregister each change the service; deregistering nothing does not', () => {
    const { state, changed } = harness();
    state.register('c1', orders, instance('10.0.0.5'));
    state.register('c1', orders, instance('10.0.0.6'));
    state.deregister('c1', orders);
    state.deregister('c1', orders);
    state.deregister('c9', orders);
    assert.deepEqual(changed, ['orders', 'orders', 'orders']);
  });

  it('a client remembers its owner member and counts its revisions', () => {
    const { state } = harness();
    state.register('c1', orders, instance('10.0.0.5'));
    state.register('c1', billing, instance('10.0.0.5'));
    const client = state.clientOf('c1');
    assert.equal(client?.ownerMemberId, '10.0.0.1:8848');
    assert.equal(client?.revision, 2);
  });
});

describe('NamingState: read model', () => {
  it('a subscribe answers the instances at once, unhealthy included, disabled left out', () => {
    const { state } = harness();
    state.register('c1', orders, instance('10.0.0.5', 1, { healthy: false }));
    state.register('c2', orders, instance('10.0.0.6', 2, { enabled: false }));
    state.register('c3', orders, instance('10.0.0.7', 3));
    const info = state.subscribe('c9', orders, '');
    assert.deepEqual(info.hosts.map((h) => h.port).sort(), [1, 3]);
    const healthy = state.query(orders, { healthyOnly: true });
    assert.deepEqual(healthy.hosts.map((h) => h.port), [3]);
  });

  it('selects by comma-separated clusters and echoes them', () => {
    const { state } = harness();
    state.register('c1', orders, instance('10.0.0.5', 1, { clusterName: 'A' }));
    state.register('c2', orders, instance('10.0.0.6', 2, { clusterName: 'B' }));
    state.register('c3', orders, instance('10.0.0.7', 3, { clusterName: 'C' }));
    const info = state.query(orders, { clusters: 'A,C', healthyOnly: false });
    assert.deepEqual(info.hosts.map((h) => h.port).sort(), [1, 3]);
    assert.equal(info.clusters, 'A,C');
    assert.equal(state.query(orders, { clusters: '', healthyOnly: false }).hosts.length, 3);
  });

  it('writes ServiceInfo and Instance as Nacos does', () => {
    const { state, timers } = harness();
    state.register('c1', orders, instance('10.0.0.5', 8080, { weight: 2.5, metadata: { v: '2' }, instanceId: 'mine' }));
    const info = state.query(orders, { healthyOnly: false });
    assert.deepEqual(info, {
      name: 'orders',
      groupName: 'DEFAULT_GROUP',
      cacheMillis: 10_000,
      hosts: [
        {
          instanceId: 'mine',
          ip: '10.0.0.5',
          port: 8080,
          weight: 2.5,
          healthy: true,
          enabled: true,
          ephemeral: true,
          clusterName: 'DEFAULT',
          serviceName: 'DEFAULT_GROUP@@orders',
          metadata: { v: '2' },
          instanceHeartBeatInterval: 5000,
          instanceHeartBeatTimeOut: 15_000,
          ipDeleteTimeout: 30_000,
        },
      ],
      lastRefTime: timers.now(),
      checksum: '',
      allIPs: false,
      reachProtectionThreshold: false,
      valid: true,
    });
    state.register('c2', orders, instance('10.0.0.6'));
    const generator = state.query(orders, { healthyOnly: false }).hosts.find((h) => h.ip === '10.0.0.6')?.instanceIdGenerator;
    assert.equal(generator, 'simple');
  });

  it('a snapshot is rebuilt after a change under a newer revision, and kept until then', async () => {
    const { state, timers } = harness();
    state.register('c1', orders, instance('10.0.0.5'));
    const first = state.snapshot(orders);
    await timers.advance(1000);
    assert.equal(state.snapshot(orders), first);
    state.register('c2', orders, instance('10.0.0.6'));
    const second = state.snapshot(orders);
    assert.ok(second.revision > first.revision);
    assert.equal(second.builtAt, first.builtAt + 1000);
    assert.equal(second.hosts.length, 2);
    state.release('c1');
    state.release('c2');
    state.register('c3', orders, instance('10.0.0.7'));
    assert.ok(state.snapshot(orders).revision > second.revision);
  });

  it('a view of a newer revision has a strictly newer lastRefTime, in the same millisecond or with the wall clock stepped back', () => {
    let wallClock = 1_700_000_000_000;
    const state = new NamingState('10.0.0.1:8848', () => wallClock);
    const answered = state.subscribe('s1', orders, '').lastRefTime;
    assert.equal(answered, wallClock);
    assert.equal(state.query(orders, { healthyOnly: true }).lastRefTime, answered, 'the same revision: the same time');
    state.register('c1', orders, instance('10.0.0.5'));
    const sameMs = state.query(orders, { healthyOnly: false }).lastRefTime;
    assert.ok(sameMs > answered, `${sameMs} > ${answered}`);
    wallClock -= 60_000;
    state.register('c2', orders, instance('10.0.0.6'));
    assert.ok(state.lastRefTimeOf(state.snapshot(orders)) > sameMs, 'a push after the clock stepped back');
  });

  it('forgets a service\'s last view once nobody publishes or subscribes to it', () => {
    let wallClock = 1_700_000_000_000;
    const state = new NamingState('10.0.0.1:8848', () => wallClock);
    state.subscribe('s1', orders, '');
    state.register('c1', orders, instance('10.0.0.5'));
    assert.equal(state.query(orders, { healthyOnly: false }).lastRefTime, wallClock + 1);
    state.release('c1');
    state.release('s1');
    wallClock -= 1000;
    assert.equal(state.subscribe('s2', orders, '').lastRefTime, wallClock, 'no view held: the wall clock');
  });

  it('lists a namespace\'s services of one group, sorted and paged', () => {
    const { state } = harness();
    for (const name of ['c', 'a', 'b']) state.register('c1', { ...orders, name }, instance('10.0.0.5'));
    state.register('c1', { ...orders, group: 'OTHER', name: 'z' }, instance('10.0.0.5'));
    state.subscribe('c2', { ...orders, name: 'd' }, '');
    assert.deepEqual(state.listServices('public', 'DEFAULT_GROUP', 1, 2), { count: 4, names: ['a', 'b'] });
    assert.deepEqual(state.listServices('public', 'DEFAULT_GROUP', 2, 2), { count: 4, names: ['c', 'd'] });
    assert.deepEqual(state.listServices('public', 'DEFAULT_GROUP', 3, 2), { count: 4, names: [] });
    assert.deepEqual(state.listServices('dev', 'DEFAULT_GROUP', 1, 2), { count: 0, names: [] });
  });
});

describe('NamingState: clients synced from other members', () => {
  const memberB = '10.0.0.2:8848';
  const memberC = '10.0.0.3:8848';
  const synced = (clientId: string, revision: number, ...ips: string[]): SyncedClient => ({
    clientId,
    revision,
    publications: ips.length === 0 ? [] : [{ service: orders, instances: ips.map((ip) => instance(ip)) }],
  });

  it('a change from the owner lists its instances and pushes the service; the owner\'s next change replaces them wholesale', () => {
    const { state, changed, endpoints } = harness();
    assert.equal(state.applyRemote(memberB, synced('b1', 1, '10.0.1.1')), true);
    assert.deepEqual(endpoints(), ['10.0.1.1:8080']);
    assert.deepEqual(changed, ['orders']);
    state.applyRemote(memberB, { clientId: 'b1', revision: 2, publications: [{ service: billing, instances: [instance('10.0.1.2')] }] });
    assert.deepEqual(endpoints(), []);
    assert.deepEqual(endpoints(billing), ['10.0.1.2:8080']);
    assert.deepEqual(changed.sort(), ['billing', 'orders', 'orders']);
  });

  it('a stale or repeated revision changes nothing and pushes nothing', () => {
    const { state, changed, endpoints } = harness();
    state.applyRemote(memberB, synced('b1', 5, '10.0.1.1'));
    changed.length = 0;
    assert.equal(state.applyRemote(memberB, synced('b1', 4, '10.0.9.9')), false);
    assert.equal(state.applyRemote(memberB, synced('b1', 5, '10.0.9.9')), false);
    assert.deepEqual(endpoints(), ['10.0.1.1:8080']);
    assert.deepEqual(changed, []);
  });

  it('a new revision with the same instances pushes nothing', () => {
    const { state, changed } = harness();
    state.applyRemote(memberB, synced('b1', 1, '10.0.1.1'));
    changed.length = 0;
    assert.equal(state.applyRemote(memberB, synced('b1', 2, '10.0.1.1')), true);
    assert.deepEqual(changed, []);
  });

  it('the owner\'s delete removes the client and pushes; another member\'s delete of it is ignored', () => {
    const { state, changed, endpoints } = harness();
    state.applyRemote(memberB, synced('b1', 1, '10.0.1.1'));
    changed.length = 0;
    state.removeRemote(memberC, 'b1');
    assert.deepEqual(endpoints(), ['10.0.1.1:8080']);
    state.removeRemote(memberB, 'b1');
    assert.deepEqual(endpoints(), []);
    assert.deepEqual(changed, ['orders']);
  });

  it('local connection events never release a synced client, and synced data never replaces a local client', () => {
    const { state, endpoints } = harness();
    state.applyRemote(memberB, synced('b1', 1, '10.0.1.1'));
    state.register('a1', orders, instance('10.0.0.5'));
    state.release('b1');
    assert.equal(state.applyRemote(memberB, synced('a1', 99, '10.0.9.9')), false);
    state.removeRemote(memberB, 'a1');
    assert.deepEqual(endpoints(), ['10.0.0.5:8080', '10.0.1.1:8080']);
    assert.deepEqual(state.localClients().map((c) => c.clientId), ['a1']);
  });

  it('tells its listeners of changes and releases of its own clients only', () => {
    const { state } = harness();
    const events: string[] = [];
    state.addListener({ localClientChanged: (id) => events.push(`changed:${id}`), localClientReleased: (id) => events.push(`released:${id}`) });
    state.register('a1', orders, instance('10.0.0.5'));
    state.deregister('a1', orders);
    state.deregister('a1', orders);
    state.release('a1');
    state.applyRemote(memberB, synced('b1', 1, '10.0.1.1'));
    state.removeRemote(memberB, 'b1');
    assert.deepEqual(events, ['changed:a1', 'changed:a1', 'released:a1']);
  });

  it('verify renews a client held at that revision; expiry removes the clients not renewed since, and pushes', async () => {
    const { timers, state, changed, endpoints } = harness();
    state.applyRemote(memberB, synced('b1', 1, '10.0.1.1'));
    state.applyRemote(memberB, synced('b2', 1, '10.0.1.2'));
    await timers.advance(100_000);
    assert.equal(state.verifyRemote(memberB, 'b1', 1), true);
    assert.equal(state.verifyRemote(memberB, 'b2', 2), false, 'another revision is a mismatch');
    assert.equal(state.verifyRemote(memberC, 'b2', 1), false, 'another owner is a mismatch');
    assert.equal(state.verifyRemote(memberB, 'unknown', 1), false);
    await timers.advance(100_000);
    changed.length = 0;
    assert.deepEqual(state.expireRemote(timers.now() - 180_000), ['b2']);
    assert.deepEqual(endpoints(), ['10.0.1.1:8080']);
    assert.deepEqual(changed, ['orders']);
  });

  it('an instance equal to another client\'s is listed once, as Nacos\'s set of instances; one that differs in anything is listed too', () => {
    const { state } = harness();
    state.register('a1', orders, instance('10.0.0.5', 8080, { metadata: { v: '1' } }));
    state.applyRemote(memberB, { clientId: 'b1', revision: 1, publications: [{ service: orders, instances: [instance('10.0.0.5', 8080, { metadata: { v: '1' } })] }] });
    assert.equal(state.query(orders, { healthyOnly: false }).hosts.length, 1);
    state.applyRemote(memberB, { clientId: 'b1', revision: 2, publications: [{ service: orders, instances: [instance('10.0.0.5', 8080, { metadata: { v: '2' } })] }] });
    assert.deepEqual(state.query(orders, { healthyOnly: false }).hosts.map((h) => h.metadata['v']).sort(), ['1', '2']);
    state.release('a1');
    assert.deepEqual(state.query(orders, { healthyOnly: false }).hosts.map((h) => h.metadata['v']), ['2']);
  });

  it('a snapshot replaces everything the member owned: clients it does not list go, nothing comes back', () => {
    const { state, endpoints } = harness();
    state.applyRemote(memberB, synced('b-old', 7, '10.0.1.1'));
    state.applyRemote(memberB, synced('b-kept', 9, '10.0.1.2'));
    state.applyRemote(memberB, synced('b-later', 3, '10.0.1.5'));
    state.applyRemote(memberC, synced('c1', 1, '10.0.2.1'));
    // b-later is owned but its data comes in a later message: it stays as held until then.
    state.replaceMemberClients(memberB, ['b-kept', 'b-new', 'b-later'], [synced('b-kept', 10, '10.0.1.3'), synced('b-new', 1, '10.0.1.4')]);
    assert.deepEqual(endpoints(), ['10.0.1.3:8080', '10.0.1.4:8080', '10.0.1.5:8080', '10.0.2.1:8080']);
    state.replaceMemberClients(memberB, [], []);
    assert.deepEqual(endpoints(), ['10.0.2.1:8080']);
  });
});
