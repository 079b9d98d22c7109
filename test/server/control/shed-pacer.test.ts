import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShedPacer, type ShedPacerOptions, type ShedTarget } from '../../../src/server/control/shed-pacer.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { testLogger } from '../../support/server.js';

interface ResetCall {
  id: string;
  redirect: string | undefined;
  settle: (acked: boolean) => void;
  fail: (error: Error) => void;
}

/**
 * A ShedTarget whose candidates and answers the test controls: `answer` 'ack' / 'nack' answers
 * each reset at once, 'manual' leaves it to the test (via `calls[i].settle`).
 */
function fakeTarget(candidates: string[], answer: 'ack' | 'nack' | 'manual' = 'ack') {
  const calls: ResetCall[] = [];
  const ids = [...candidates];
  const target: ShedTarget = {
    sheddableIds: () => [...ids],
    resetConnection: (id, redirect) =>
      new Promise<boolean>((resolve, reject) => {
        calls.push({ id, redirect, settle: resolve, fail: reject });
        if (answer === 'ack') resolve(true);
        if (answer === 'nack') resolve(false);
      }),
  };
  return { target, calls, ids };
}

const connIds = (n: number, prefix = 'c') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

function pacer(target: ShedTarget, options: ShedPacerOptions = { ratePerSecond: 100, tickMs: 100 }) {
  const timers = new ManualTimers();
  return { timers, pacer: new ShedPacer(target, timers, options, testLogger) };
}

/** Advances tick by tick and returns how many resets each tick sent. */
async function perTick(timers: ManualTimers, calls: readonly unknown[], tickMs: number, ticks: number): Promise<number[]> {
  const counts: number[] = [];
  for (let i = 0; i < ticks; i++) {
    const before = calls.length;
    await timers.advance(tickMs);
    counts.push(calls.length - before);
  }
  return counts;
}

describe('ShedPacer: pacing', () => {
  it('sends at most ratePerSecond × tickMs / 1000 resets per tick', async () => {
    const { target, calls } = fakeTarget(connIds(500));
    const { timers, pacer: p } = pacer(target, { ratePerSecond: 50, tickMs: 100 });
    p.start(200);
    assert.ok(calls.length <= 5, `first tick sent ${calls.length}`);
    const counts = await perTick(timers, calls, 100, 20);
    assert.ok(
      counts.every((n) => n <= 5),
      `per tick: ${counts.join(',')}`,
    );
    p.stop();
  });

  it('keeps the rate over time: about ratePerSecond per second, never more', async () => {
    const { target, calls } = fakeTarget(connIds(1000));
    const { timers, pacer: p } = pacer(target, { ratePerSecond: 50, tickMs: 100 });
    p.start(500);
    const afterFirstTick = calls.length;
    await timers.advance(1000);
    const inOneSecond = calls.length - afterFirstTick;
    assert.ok(inOneSecond <= 50 && inOneSecond >= 45, `sent ${inOneSecond} in 1 s at 50/s`);
    await timers.advance(3000);
    const inFourSeconds = calls.length - afterFirstTick;
    assert.ok(inFourSeconds <= 200 && inFourSeconds >= 180, `sent ${inFourSeconds} in 4 s at 50/s`);
    p.stop();
  });

  it('paces a rate below one per tick by spreading resets over ticks', async () => {
    const { target, calls } = fakeTarget(connIds(100));
    const { timers, pacer: p } = pacer(target, { ratePerSecond: 5, tickMs: 100 });
    p.start(50);
    const counts = await perTick(timers, calls, 100, 20);
    assert.ok(counts.every((n) => n <= 1), `per tick: ${counts.join(',')}`);
    assert.ok(calls.length >= 9 && calls.length <= 11, `sent ${calls.length} in 2 s at 5/s`);
    p.stop();
  });

  it('does not save up unused allowance into a burst', async () => {
    // A busy budget: the first resets hang, so no slots are free for a while.
    const { target, calls } = fakeTarget(connIds(100), 'manual');
    const { timers, pacer: p } = pacer(target, { ratePerSecond: 100, tickMs: 100 });
    p.start(15);
    await timers.advance(100);
    assert.equal(calls.length, 15, 'the whole budget is in flight');
    await timers.advance(5000); // 50 ticks without a free slot
    for (const call of calls) call.settle(false);
    const counts = await perTick(timers, calls, 100, 5);
    assert.ok(
      counts.every((n) => n <= 10),
      `per tick after idling: ${counts.join(',')}`,
    );
    p.stop();
  });

  it('never has more resets in flight than the budget still needs', async () => {
    const { target, calls } = fakeTarget(connIds(50), 'manual');
    const { timers, pacer: p } = pacer(target);
    p.start(3);
    await timers.advance(1000);
    assert.equal(calls.length, 3);
    assert.deepEqual(p.progress, { active: true, remaining: 3, inFlight: 3, owner: 'operator' });
    calls[0]!.settle(false); // one failed: one more may go out
    await timers.advance(100);
    assert.equal(calls.length, 4);
    for (const call of calls.slice(1)) call.settle(true);
    await timers.advance(1000);
    assert.equal(calls.length, 4);
    assert.equal(p.progress.active, false);
  });

  it('stops once the budget is acknowledged, however many candidates remain', async () => {
    const { target, calls } = fakeTarget(connIds(100));
    const { timers, pacer: p } = pacer(target);
    p.start(25, { redirect: '10.0.0.9:8848' });
    await timers.advance(10_000);
    assert.equal(calls.length, 25);
    assert.ok(calls.every((c) => c.redirect === '10.0.0.9:8848'), 'calls.every((c) => c.redirect === \'10.0.0.9:8848\')');
    assert.equal(new Set(calls.map((c) => c.id)).size, 25, 'each connection asked once');
    assert.equal(p.progress.active, false);
    assert.equal(timers.pendingCount, 0);
  });

  it('counts a reset that failed or threw as not done, and asks another connection', async () => {
    const { target, calls } = fakeTarget(connIds(10), 'manual');
    const { timers, pacer: p } = pacer(target);
    p.start(2);
    calls[0]!.settle(false);
    calls[1]!.fail(new Error('send failed'));
    await timers.advance(100);
    assert.deepEqual(
      calls.map((c) => c.id),
      ['c0', 'c1', 'c2', 'c3'],
    );
    calls[2]!.settle(true);
    calls[3]!.settle(true);
    await timers.advance(1000);
    assert.equal(calls.length, 4);
    assert.equal(p.progress.active, false);
  });

  it('does not re-read the candidate count: a budget of 5 sends 5 however many connections appear', async () => {
    const { target, calls, ids } = fakeTarget(connIds(10));
    const { timers, pacer: p } = pacer(target, { ratePerSecond: 20, tickMs: 100 });
    p.start(5);
    ids.push(...connIds(100, 'late'));
    await timers.advance(10_000);
    assert.equal(calls.length, 5);
  });
});

describe('ShedPacer: a new budget replaces the running one', () => {
  it('replaces remaining, redirect and pacing; answers to the old budget no longer count', async () => {
    const { target, calls } = fakeTarget(connIds(100), 'manual');
    const { timers, pacer: p } = pacer(target);
    p.start(40, { redirect: 'old:8848' });
    await timers.advance(100);
    const oldCalls = calls.slice();
    assert.ok(oldCalls.length > 0 && oldCalls.length < 40, 'oldCalls.length > 0 && oldCalls.length < 40');
    p.start(3, { redirect: 'new:8848' });
    assert.deepEqual(p.progress, { active: true, remaining: 3, inFlight: 3, redirectAddress: 'new:8848', owner: 'operator' });
    // Acks for the replaced budget arrive: they must not consume the new one.
    for (const call of oldCalls) call.settle(true);
    await timers.advance(100);
    assert.equal(p.progress.remaining, 3);
    const newCalls = calls.slice(oldCalls.length);
    assert.equal(newCalls.length, 3);
    assert.ok(newCalls.every((c) => c.redirect === 'new:8848'), 'newCalls.every((c) => c.redirect === \'new:8848\')');
    for (const call of newCalls) call.settle(true);
    await timers.advance(10_000);
    assert.equal(calls.length, oldCalls.length + 3, 'the old budget sends nothing more');
    assert.equal(calls.filter((c) => c.redirect === 'old:8848').length, oldCalls.length);
    assert.equal(p.progress.active, false);
  });

  it('a new budget may ask again connections an earlier one asked (a client that acknowledged but stayed)', async () => {
    const { target, calls } = fakeTarget(connIds(3));
    const { timers, pacer: p } = pacer(target);
    p.start(3);
    await timers.advance(1000);
    p.start(3);
    await timers.advance(1000);
    assert.deepEqual(calls.map((c) => c.id), ['c0', 'c1', 'c2', 'c0', 'c1', 'c2']);
  });

  it('a budget of 0 (or less) cancels the running one', async () => {
    const { target, calls } = fakeTarget(connIds(100), 'manual');
    const { timers, pacer: p } = pacer(target);
    p.start(50);
    const sent = calls.length;
    p.start(0);
    assert.deepEqual(p.progress, { active: false, remaining: 0, inFlight: 0 });
    await timers.advance(10_000);
    assert.equal(calls.length, sent);
    p.start(-3);
    await timers.advance(10_000);
    assert.equal(calls.length, sent);
    assert.equal(timers.pendingCount, 0);
  });

  it('stop() ends the budget; late answers are ignored', async () => {
    const { target, calls } = fakeTarget(connIds(100), 'manual');
    const { timers, pacer: p } = pacer(target);
    p.start(50);
    const sent = calls.length;
    p.stop();
    for (const call of calls) call.settle(true);
    await timers.advance(10_000);
    assert.equal(calls.length, sent);
    assert.deepEqual(p.progress, { active: false, remaining: 0, inFlight: 0 });
  });
});

describe('ShedPacer: ends when no candidates remain', () => {
  it('ends after asking every candidate once when the budget is larger than the candidates', async () => {
    const { target, calls } = fakeTarget(connIds(3));
    const { timers, pacer: p } = pacer(target);
    p.start(10);
    await timers.advance(1000);
    assert.deepEqual(
      calls.map((c) => c.id),
      ['c0', 'c1', 'c2'],
    );
    assert.equal(p.progress.active, false);
    assert.equal(timers.pendingCount, 0, 'no tick left running');
  });

  it('ends when every candidate refused (no retry of the same connection)', async () => {
    const { target, calls } = fakeTarget(connIds(4), 'nack');
    const { timers, pacer: p } = pacer(target);
    p.start(2);
    await timers.advance(10_000);
    assert.equal(calls.length, 4);
    assert.equal(new Set(calls.map((c) => c.id)).size, 4);
    assert.equal(p.progress.active, false);
    assert.equal(timers.pendingCount, 0);
  });

  it('waits for resets in flight before deciding that candidates have run out', async () => {
    const { target, calls } = fakeTarget(connIds(2), 'manual');
    const { timers, pacer: p } = pacer(target);
    p.start(2);
    await timers.advance(1000);
    assert.equal(p.progress.active, true, 'still waiting for answers');
    calls[0]!.settle(true);
    calls[1]!.settle(true);
    await timers.advance(100);
    assert.equal(p.progress.active, false);
  });

  it('with no candidates at all, ends at once', async () => {
    const { target, calls } = fakeTarget([]);
    const { timers, pacer: p } = pacer(target);
    p.start(5);
    await timers.advance(1000);
    assert.equal(calls.length, 0);
    assert.equal(p.progress.active, false);
    assert.equal(timers.pendingCount, 0);
  });

  it('candidates that leave are not asked', async () => {
    const { target, calls, ids } = fakeTarget(connIds(30), 'ack');
    const { timers, pacer: p } = pacer(target, { ratePerSecond: 10, tickMs: 100 });
    p.start(30);
    ids.splice(0, ids.length, 'c29');
    await timers.advance(10_000);
    assert.ok(calls.every((c, i) => i === 0 || c.id === 'c29'), calls.map((c) => c.id).join(','));
    assert.equal(p.progress.active, false);
  });
});
