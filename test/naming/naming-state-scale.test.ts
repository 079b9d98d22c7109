// Regression for issue 13's rebalance at 3,000 naming clients: every adoption of a held instance
// rebuilt and compared the whole service's list, and every newly held client read every publisher
// of its service, so a member losing or gaining 1,000 clients of one service did about a million
// publication reads and blocked its event loop for seconds (clients' health checks timed out,
// they reconnected, and the cluster collapsed). The work per client must not grow with the service.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
    const reads = t.mock.method(NamingClient.prototype, 'publication');

    a.state.holdMemberClients(B);
    for (let i = 0; i < CLIENTS; i++) a.state.register(`a-${i}`, fleet, instance(i));

    assert.ok(reads.mock.callCount() <= READS_PER_CLIENT * CLIENTS, `${reads.mock.callCount()} publication reads for ${CLIENTS} clients`);
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
    const reads = t.mock.method(NamingClient.prototype, 'publication');

    for (let i = 0; i < CLIENTS; i++) a.state.release(`a-${i}`, 'moved');
    for (let i = 0; i < CLIENTS; i++) a.state.applyRemote(C, { clientId: `c-${i}`, revision: 1, publications: [{ service: fleet, instances: [instance(i)] }] });

    assert.ok(reads.mock.callCount() <= READS_PER_CLIENT * CLIENTS, `${reads.mock.callCount()} publication reads for ${CLIENTS} clients`);
    assert.deepEqual(a.changed, []);
    assert.equal(a.state.stats().held, 0);
    await timers.advance(GRACE_MS);
    assert.equal(a.state.query(fleet, { healthyOnly: false }).hosts.length, CLIENTS);
  });
});
