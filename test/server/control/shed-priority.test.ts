import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { ErrorCode } from '../../../src/protocol/index.js';
import { ShedBusyError, ShedPacer, ShedPriority, type ShedTarget } from '../../../src/server/control/shed-pacer.js';
import { ManualTimers } from '../../support/manual-timers.js';

/** A target with `n` candidates whose resets stay unanswered, so a budget keeps running. */
function pendingTarget(n: number): { target: ShedTarget; redirects: (string | undefined)[] } {
  const redirects: (string | undefined)[] = [];
  const target: ShedTarget = {
    sheddableIds: () => Array.from({ length: n }, (_, i) => `c${i}`),
    resetConnection: (_id, redirect) => {
      redirects.push(redirect);
      return new Promise<boolean>(() => undefined);
    },
  };
  return { target, redirects };
}

function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

function setup(n = 100) {
  const timers = new ManualTimers();
  const { target, redirects } = pendingTarget(n);
  const { logger, lines } = capturingLogger();
  return { timers, redirects, lines, pacer: new ShedPacer(target, timers, { ratePerSecond: 10, tickMs: 100 }, logger) };
}

describe('shed budget priorities (one budget per member)', () => {
  it('refuses a lower budget while a higher one runs, and the higher one keeps its redirect and count', () => {
    const { pacer, redirects } = setup();
    pacer.start(50, { redirect: 'drain-target:8848', priority: ShedPriority.DRAIN });
    assert.throws(
      () => pacer.start(5, { redirect: 'operator:8848', priority: ShedPriority.OPERATOR }),
      (e: unknown) => e instanceof ShedBusyError && e.code === 'SHED_BUSY' && e.errorCode === ErrorCode.CONFLICT,
    );
    assert.throws(() => pacer.start(5, { priority: ShedPriority.BALANCER }), ShedBusyError);
    assert.deepEqual({ ...pacer.progress, inFlight: 0 }, { active: true, remaining: 50, inFlight: 0, redirectAddress: 'drain-target:8848', owner: 'drain' });
    assert.ok(redirects.every((r) => r === 'drain-target:8848'));
  });

  it('lets a higher budget pre-empt a lower one and logs what the lower one had left', () => {
    const { pacer, lines } = setup();
    pacer.start(40, { priority: ShedPriority.BALANCER });
    pacer.start(7, { redirect: 'op:8848', priority: ShedPriority.OPERATOR });
    assert.equal(pacer.progress.remaining, 7);
    assert.equal(pacer.progress.owner, 'operator');
    const preempted = lines.find((l) => l['msg'] === 'shed budget pre-empted');
    assert.deepEqual(
      preempted && { preempted: preempted['preempted'], by: preempted['by'], remaining: preempted['remaining'] },
      { preempted: 'balancer', by: 'operator', remaining: 40 },
    );
  });

  it('replaces a budget of the same priority, as Nacos overwrites loadCount', () => {
    const { pacer } = setup();
    pacer.start(40, { priority: ShedPriority.OPERATOR });
    pacer.start(3, { priority: ShedPriority.OPERATOR });
    assert.equal(pacer.progress.remaining, 3);
  });

  it('keeps lower budgets out while a drain holds its reservation, even between its rounds', () => {
    const { pacer } = setup();
    const release = pacer.reserve(ShedPriority.DRAIN);
    assert.equal(pacer.progress.active, false);
    assert.throws(() => pacer.assertCanStart(ShedPriority.OPERATOR), ShedBusyError);
    assert.throws(() => pacer.start(2, { priority: ShedPriority.OPERATOR }), ShedBusyError);
    pacer.start(2, { priority: ShedPriority.DRAIN });
    release();
    pacer.stop();
    assert.doesNotThrow(() => pacer.start(2, { priority: ShedPriority.BALANCER }));
  });
});
