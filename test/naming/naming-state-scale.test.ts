// Regression for issue 13's rebalance at 3,000 naming clients: every adoption of a held instance
// rebuilt and compared the whole service's list, and every newly held client read every publisher
// of its service, so a member losing or gaining 1,000 clients of one service did about a million
// publication reads and blocked its event loop for seconds (clients' health checks timed out,
// they reconnected, and the cluster collapsed). The work per client must not grow with the service,
// and the work per service must not grow with the client's other services.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { PublishedInstance, ServiceName } from '../../src/naming/model.js';
import { NamingClient } from '../../src/naming/naming-client.js';
import { NamingState } from '../../src/naming/naming-state.js';
import { ManualTimers } from '../support/manual-timers.js';

const fleet: ServiceName = { namespace: 'public', group: 'DEFAULT_GROUP', name: 'fleet' };
const GRACE_MS = 10_000;
const A = '10.0.0.1:8848';
const B = '10.0.0.2:8848';
const C = '10.0.0.3:8848';
/** Clients of one service: enough that work growing with the service dwarfs the bound below. */
const CLIENTS = 1000;
/** Publication reads allowed per client moved (a handful each: its own, its twin's). */
const READS_PER_CLIENT = 10;
/** Services of one client: enough that work growing with the client's services dwarfs the bound below. */
const SERVICES = 1000;
/** Publication reads allowed per service registered, moved, adopted or deregistered. */
const READS_PER_SERVICE = 10;

/** Counts every publication read: by key, and each one an iteration of all of a client's yields. */
function countPublicationReads(t: TestContext): () => number {
  const byKey = t.mock.method(NamingClient.prototype, 'publication');
  let iterated = 0;
  const allPublications = NamingClient.prototype.allPublications;
  t.mock.method(NamingClient.prototype, 'allPublications', function* (this: NamingClient) {
    for (const publication of allPublications.call(this)) {
      iterated++;
      yield publication;
    }
  });
  return () => byKey.mock.callCount() + iterated;
}

function service(i: number): ServiceName {
  return { namespace: 'public', group: 'DEFAULT_GROUP', name: `service-${i}` };
}

function instance(i: number): PublishedInstance {
  return { ip: `10.60.${i >> 8}.${i & 255}`, port: 8080, weight: 1, healthy: true, enabled: true, clusterName: 'DEFAULT', metadata: {} };
}

function member(id: string, timers: ManualTimers) {
  const state = new NamingState(id, () => timers.now(), { moveGraceMs: GRACE_MS, timers });
  const changed: string[] = [];
  state.addListener({ serviceChanged: (s) => changed.push(s.name) });
  return { state, changed };
}

describe('NamingState at a fleet\'s size: moving clients costs the same per client in a large service', () => {
  it('a member marked down: holding its 1,000 clients and their redo elsewhere adopting them reads each client\'s publication a few times, and pushes nothing', async (t) => {
    const timers = new ManualTimers();
    const a = member(A, timers);
    for (let i = 0; i < CLIENTS; i++) a.state.applyRemote(B, { clientId: `b-${i}`, revision: 1, publications: [{ service: fleet, instances: [instance(i)] }] });
    a.changed.length = 0;
    const reads = countPublicationReads(t);

    a.state.holdMemberClients(B);
    for (let i = 0; i < CLIENTS; i++) a.state.register(`a-${i}`, fleet, instance(i));

    assert.ok(reads() <= READS_PER_CLIENT * CLIENTS, `${reads()} publication reads for ${CLIENTS} clients`);
    assert.deepEqual(a.changed, [], 'every redo adopted its held twin: subscribers see the same list');
    assert.equal(a.state.stats().held, 0);
    assert.equal(a.state.query(fleet, { healthyOnly: false }).hosts.length, CLIENTS);
    await timers.advance(GRACE_MS);
    assert.equal(a.state.query(fleet, { healthyOnly: false }).hosts.length, CLIENTS);
  });

  it('1,000 connections moved away: their holds and the new owner\'s synced data adopting them read each client\'s publication a few times, and push nothing', async (t) => {
    const timers = new ManualTimers();
    const a = member(A, timers);
    for (let i = 0; i < CLIENTS; i++) a.state.register(`a-${i}`, fleet, instance(i));
    a.changed.length = 0;
    const reads = countPublicationReads(t);

    for (let i = 0; i < CLIENTS; i++) a.state.release(`a-${i}`, 'moved');
    for (let i = 0; i < CLIENTS; i++) a.state.applyRemote(C, { clientId: `c-${i}`, revision: 1, publications: [{ service: fleet, instances: [instance(i)] }] });

    assert.ok(reads() <= READS_PER_CLIENT * CLIENTS, `${reads()} publication reads for ${CLIENTS} clients`);
    assert.deepEqual(a.changed, []);
    assert.equal(a.state.stats().held, 0);
    await timers.advance(GRACE_MS);
    assert.equal(a.state.query(fleet, { healthyOnly: false }).hosts.length, CLIENTS);
  });

  it('one client of 1,000 services: its registers, its move, its redo on a new connection and its deregisters read each service\'s publication a few times', async (t) => {
    const timers = new ManualTimers();
    const a = member(A, timers);
    const reads = countPublicationReads(t);

    for (let i = 0; i < SERVICES; i++) a.state.register('a-old', service(i), instance(i));
    a.changed.length = 0;
    a.state.release('a-old', 'moved');
    for (let i = 0; i < SERVICES; i++) a.state.register('a-new', service(i), instance(i));

    assert.ok(reads() <= READS_PER_SERVICE * SERVICES, `${reads()} publication reads for ${SERVICES} services registered, moved and adopted`);
    assert.deepEqual(a.changed, [], 'the redo adopted every held instance: subscribers see the same lists');
    assert.equal(a.state.stats().held, 0);
    assert.equal(a.state.clientOf('a-old'), undefined);
    assert.equal(a.state.stats().instances, SERVICES);

    const beforeDeregisters = reads();
    for (let i = 0; i < SERVICES; i++) a.state.deregister('a-new', service(i));
    assert.ok(reads() - beforeDeregisters <= READS_PER_SERVICE * SERVICES, `${reads() - beforeDeregisters} publication reads for ${SERVICES} deregisters`);
    assert.equal(a.state.stats().instances, 0);
    assert.equal(a.changed.length, SERVICES);
  });
});
