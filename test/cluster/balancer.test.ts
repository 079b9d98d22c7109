import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Balancer, decide, DEFAULT_BALANCER_OPTIONS, deficitPicker, pickWeighted, type BalanceInput, type BalancerOptions } from '../../src/cluster/balancer.js';
import { summarizeClusterLoad } from '../../src/cluster/loader-metrics.js';
import { ManualTimers } from '../support/manual-timers.js';
import { testLogger } from '../support/server.js';

const OPTIONS: BalancerOptions = { ...DEFAULT_BALANCER_OPTIONS, warmupMs: 3000 };
const load = (counts: Record<string, number>) =>
  summarizeClusterLoad(
    Object.entries(counts).map(([address, n]) => ({ address, metric: { sdkConCount: String(n) } })),
    Object.keys(counts).length,
  );
const input = (counts: Record<string, number>, extra: Partial<BalanceInput> = {}): BalanceInput => ({
  self: 'a',
  load: load(counts),
  now: 100_000,
  startedAt: 0,
  previousCount: undefined,
  movable: 1000,
  ...extra,
});

describe('balancer decision', () => {
  it('after a member rejoins, each loaded member sheds just its surplus over the share', () => {
    const d = decide(input({ a: 45, b: 45, c: 0 }), OPTIONS);
    assert.equal(d.action, 'shed');
    if (d.action !== 'shed') return;
    assert.equal(d.budget, 15);
    assert.deepEqual(d.targets, [{ address: 'c', deficit: 30 }]);
    // Both loaded members together move 30: the restarted member's fair share, the minimum.
  });

  it('holds inside the band (hysteresis), unless another member is starved', () => {
    assert.deepEqual(decide(input({ a: 32, b: 30, c: 28 }), OPTIONS), { action: 'hold', reason: 'inside the band' });
    const starved = decide(input({ a: 33, b: 32, c: 25 }), OPTIONS);
    assert.equal(starved.action, 'shed');
    assert.equal(starved.action === 'shed' && starved.budget, 3);
    assert.equal(decide(input({ a: 30, b: 35, c: 25 }), OPTIONS).action, 'hold', 'at its share: the loaded one acts, not this one');
  });

  it('holds while warming up, while receiving clients, when alone, and with nothing movable (cool-down)', () => {
    assert.equal(decide(input({ a: 45, b: 45, c: 0 }, { now: 1000 }), OPTIONS).action, 'hold');
    assert.deepEqual(decide(input({ a: 45, b: 45, c: 0 }, { previousCount: 40 }), OPTIONS), { action: 'hold', reason: 'receiving clients' });
    assert.deepEqual(decide(input({ a: 90 }), OPTIONS), { action: 'hold', reason: 'alone' });
    assert.deepEqual(decide(input({ a: 45, b: 45, c: 0 }, { movable: 0 }), OPTIONS), { action: 'hold', reason: 'nothing movable' });
    const d = decide(input({ a: 45, b: 45, c: 0 }, { movable: 4 }), OPTIONS);
    assert.equal(d.action === 'shed' && d.budget, 4, 'only connections past the cool-down');
  });

  it('leaves a draining member out: neither counted nor a target', () => {
    const view = load({ a: 45, b: 45, c: 0 });
    const draining = { ...view, detail: view.detail.map((d) => (d.address === 'c' ? { ...d, metric: { ...d.metric, draining: 'true' } } : d)) };
    assert.deepEqual(decide(input({}, { load: draining }), OPTIONS), { action: 'hold', reason: 'inside the band' });
  });

  it('leaves a starting member out until it takes clients (it would refuse them while it loads its data), then sends it its share', () => {
    const view = load({ a: 45, b: 45, c: 0 });
    const starting = { ...view, detail: view.detail.map((d) => (d.address === 'c' ? { ...d, metric: { ...d.metric, starting: 'true' } } : d)) };
    assert.deepEqual(decide(input({}, { load: starting }), OPTIONS), { action: 'hold', reason: 'inside the band' });
    const started = decide(input({}, { load: view }), OPTIONS);
    assert.deepEqual(started.action === 'shed' && started.targets, [{ address: 'c', deficit: 30 }]);
  });

  it('paces a budget over spreadMs, at least the minimum rate, at most the member cap', () => {
    const small = decide(input({ a: 45, b: 45, c: 0 }), OPTIONS);
    assert.equal(small.action === 'shed' && small.budget, 15);
    assert.equal(small.action === 'shed' && small.ratePerSecond, 30, '15 over 5 s is 3/s: raised to the minimum');
    const large = decide(input({ a: 1500, b: 1500, c: 0 }), OPTIONS);
    assert.equal(large.action === 'shed' && large.budget, 500);
    assert.equal(large.action === 'shed' && large.ratePerSecond, 100, '500 over 5 s, within the cap of 300/3 members');
    const huge = decide(input({ a: 6000, b: 6000, c: 0 }), OPTIONS);
    assert.equal(huge.action === 'shed' && huge.ratePerSecond, 100, 'capped: the receivers get at most 300/s in all');
  });

  it('shrinks the cap as the cluster grows, so the receivers are never herded', () => {
    const counts: Record<string, number> = { a: 2000 };
    for (let i = 0; i < 19; i++) counts[`m${i}`] = i === 0 ? 0 : 1000;
    const twenty = decide(input(counts), OPTIONS);
    assert.equal(twenty.action === 'shed' && twenty.ratePerSecond, 15, '300 per second over 20 members, below the minimum');
    const two = decide(input({ a: 3000, b: 0 }), OPTIONS);
    assert.equal(two.action === 'shed' && two.ratePerSecond, 150, 'one shedder: the per-member cap');
  });

  it('picks targets weighted by deficit, and a picker never overfills one target', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const picks = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const p = pickWeighted([{ address: 'x', deficit: 30 }, { address: 'y', deficit: 10 }], random)!;
      picks.set(p, (picks.get(p) ?? 0) + 1);
    }
    const ratio = picks.get('x')! / picks.get('y')!;
    assert.ok(ratio > 2.5 && ratio < 3.5, `x:y = ${ratio.toFixed(2)}, expected about 3`);
    const pick = deficitPicker([{ address: 'x', deficit: 2 }, { address: 'y', deficit: 1 }], random);
    const three = [pick(), pick(), pick()].sort();
    assert.deepEqual(three, ['x', 'x', 'y']);
    assert.equal(pick(), undefined, 'no deficit left');
  });
});

describe('Balancer loop (injected clock)', () => {
  function harness(counts: () => Record<string, number>, options: Partial<BalancerOptions> = {}) {
    const timers = new ManualTimers(0);
    const sheds: { budget: number; rate: number }[] = [];
    let shedding = false;
    const balancer = new Balancer(
      {
        self: 'a',
        load: async () => load(counts()),
        movableIds: () => new Set(Array.from({ length: 100 }, (_, i) => `id${i}`)),
        shed: (budget, rate) => {
          sheds.push({ budget, rate });
          shedding = true;
        },
        shedding: () => shedding,
        timers,
        random: () => 0.5,
        logger: testLogger,
      },
      { ...OPTIONS, intervalMs: 1000, settleMs: 2000, ...options },
    );
    return { timers, balancer, sheds, finish: () => (shedding = false) };
  }

  it('waits out the warm-up, sheds once, and does not shed again while shedding or settling', async () => {
    const { timers, balancer, sheds, finish } = harness(() => ({ a: 45, b: 45, c: 0 }));
    balancer.start();
    await timers.advance(2500);
    assert.equal(sheds.length, 0, 'warming up');
    await timers.advance(1500);
    assert.deepEqual(sheds, [{ budget: 15, rate: 30 }]);
    await timers.advance(5000);
    assert.equal(sheds.length, 1, 'holds while its budget runs');
    finish();
    await timers.advance(1500);
    assert.equal(sheds.length, 1, 'settling after the budget');
    await timers.advance(3000);
    assert.equal(sheds.length, 2, 'looks again once settled (the counts here never change)');
    balancer.stop();
    await timers.advance(10_000);
    assert.equal(sheds.length, 2, 'stopped');
  });

  it('does nothing when disabled', async () => {
    const { timers, balancer, sheds } = harness(() => ({ a: 45, b: 45, c: 0 }), { enabled: false });
    balancer.start();
    await timers.advance(20_000);
    assert.equal(sheds.length, 0);
  });
});

describe('drain targets', () => {
  it('weights the other up members by how far below their share after the drain they are', async () => {
    const { drainTargets } = await import('../../src/cluster/drain.js');
    const targets = drainTargets(load({ a: 40, b: 50, c: 30 }), 'a', ['b', 'c']);
    // 120 clients over 2 members: share 60; b lacks 10, c lacks 30.
    assert.deepEqual(targets, [{ address: 'b', deficit: 10 }, { address: 'c', deficit: 30 }]);
    assert.deepEqual(drainTargets(load({ a: 10, b: 100, c: 0 }), 'a', ['b', 'c']), [{ address: 'b', deficit: 1 }, { address: 'c', deficit: 55 }], 'at least weight 1');
    assert.deepEqual(drainTargets(load({ a: 10, b: 5 }), 'a', []), []);
  });
});
