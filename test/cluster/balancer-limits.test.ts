import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Balancer, decide, DEFAULT_BALANCER_OPTIONS, type BalancerOptions } from '../../src/cluster/balancer.js';
import { summarizeClusterLoad, type ClusterLoad } from '../../src/cluster/loader-metrics.js';
import { ShedBusyError, ShedPriority } from '../../src/server/control/shed-pacer.js';
import { ManualTimers } from '../support/manual-timers.js';
import { testLogger } from '../support/server.js';

const OPTIONS: BalancerOptions = { ...DEFAULT_BALANCER_OPTIONS, warmupMs: 0, intervalMs: 1000, settleMs: 0, operatorHoldMs: 60_000 };

/** A load from per-member metrics given as numbers (sdkConCount) or full metric maps. */
function load(members: Record<string, number | Record<string, string>>): ClusterLoad {
  return summarizeClusterLoad(
    Object.entries(members).map(([address, m]) => ({ address, metric: typeof m === 'number' ? { sdkConCount: String(m) } : m })),
    Object.keys(members).length,
  );
}

const at = (members: Record<string, number | Record<string, string>>) => ({
  self: 'a',
  load: load(members),
  now: 100_000,
  startedAt: 0,
  previousCount: undefined,
  movable: 1000,
});

describe('the balancer respects other members\' limits', () => {
  it('sends a member no more than its countLimit leaves room for', () => {
    const d = decide(at({ a: 45, b: 45, c: { sdkConCount: '0', countLimit: '10' } }), OPTIONS);
    assert.equal(d.action, 'shed');
    if (d.action !== 'shed') return;
    assert.deepEqual(d.targets, [{ address: 'c', deficit: 10 }]);
    assert.equal(d.budget, 10);
  });

  it('never targets a member at its limit or refusing', () => {
    assert.deepEqual(decide(at({ a: 45, b: 45, c: { sdkConCount: '0', countLimit: '0' } }), OPTIONS), { action: 'hold', reason: 'nobody is under-loaded' });
    assert.deepEqual(decide(at({ a: 45, b: 45, c: { sdkConCount: '0', countLimit: '50', refusing: 'true' } }), OPTIONS), {
      action: 'hold',
      reason: 'nobody is under-loaded',
    });
    const d = decide(at({ a: 45, b: { sdkConCount: '0', countLimit: '0' }, c: 0 }), OPTIONS);
    assert.equal(d.action === 'shed' && d.targets.map((t) => t.address).join(), 'c');
  });
});

describe('the balancer holds after an operator\'s move', () => {
  function harness(members: () => Record<string, number | Record<string, string>>, options: Partial<BalancerOptions> = {}) {
    const timers = new ManualTimers();
    const sheds: number[] = [];
    let refuse = false;
    const balancer = new Balancer(
      {
        self: 'a',
        load: async () => load(members()),
        movableIds: () => new Set(Array.from({ length: 100 }, (_, i) => `id${i}`)),
        shed: (budget) => {
          if (refuse) throw new ShedBusyError(ShedPriority.BALANCER, ShedPriority.OPERATOR);
          sheds.push(budget);
        },
        shedding: () => false,
        timers,
        random: () => 0.5,
        logger: testLogger,
      },
      { ...OPTIONS, ...options },
    );
    return { timers, balancer, sheds, refuseShedding: () => (refuse = true) };
  }

  it('holds for operatorHoldMs after a move on this member, and reports the hold in its loader metrics', async () => {
    const { timers, balancer, sheds } = harness(() => ({ a: 45, b: 45, c: 0 }));
    balancer.holdForOperator();
    assert.deepEqual(await balancer.runOnce(), { action: 'hold', reason: 'operator hold' });
    assert.deepEqual(balancer.loaderMetrics(), { operatorHoldMs: '60000' });
    assert.equal(balancer.operatorHoldUntil, timers.now() + 60_000);
    await timers.advance(59_999);
    assert.deepEqual(await balancer.runOnce(), { action: 'hold', reason: 'operator hold' });
    assert.deepEqual(balancer.loaderMetrics(), { operatorHoldMs: '1' });
    await timers.advance(1);
    assert.equal((await balancer.runOnce()).action, 'shed');
    assert.deepEqual(sheds, [15]);
    assert.deepEqual(balancer.loaderMetrics(), {});
    assert.equal(balancer.operatorHoldUntil, 0);
  });

  it('holds while another member reports its operator hold, without reporting it onward', async () => {
    let holdMs = 5000;
    const { timers, balancer, sheds } = harness(() => ({ a: 45, b: { sdkConCount: '45', operatorHoldMs: String(holdMs) }, c: 0 }));
    assert.deepEqual(await balancer.runOnce(), { action: 'hold', reason: 'operator hold' });
    assert.deepEqual(balancer.loaderMetrics(), {}, 'an adopted hold is not echoed back');
    holdMs = 0; // b's hold runs out; a keeps the one it learnt until its end
    await timers.advance(4999);
    assert.deepEqual(await balancer.runOnce(), { action: 'hold', reason: 'operator hold' });
    await timers.advance(1);
    assert.equal((await balancer.runOnce()).action, 'shed');
    assert.deepEqual(sheds, [15]);
  });

  it('caps another member\'s reported hold at operatorHoldMs (one bad or skewed value stopped balancing indefinitely)', async () => {
    let holdMs = String(1e12);
    const { timers, balancer, sheds } = harness(() => ({ a: 45, b: { sdkConCount: '45', operatorHoldMs: holdMs }, c: 0 }));
    assert.deepEqual(await balancer.runOnce(), { action: 'hold', reason: 'operator hold' });
    assert.equal(balancer.operatorHoldUntil, timers.now() + OPTIONS.operatorHoldMs);
    holdMs = '0';
    await timers.advance(OPTIONS.operatorHoldMs);
    assert.equal((await balancer.runOnce()).action, 'shed');
    assert.deepEqual(sheds, [15]);
  });

  it('yields to a budget of higher priority that started during its look', async () => {
    const { balancer, sheds, refuseShedding } = harness(() => ({ a: 45, b: 45, c: 0 }));
    refuseShedding();
    assert.deepEqual(await balancer.runOnce(), { action: 'hold', reason: 'shedding' });
    assert.equal(balancer.moves, 0);
    assert.deepEqual(sheds, []);
  });
});
