import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { TalliedCounter } from '../../src/admin/tallied-counter.js';
import { linesInAnyOrder } from '../support/prometheus.js';

/** The same increments in prom-client's counter and in ours, each in a registry of its own (labels passed in the label names' order, as our callers do). */
function bothRegistries(labelNames: readonly ('type' | 'outcome')[]) {
  const native = new Registry();
  const counter = new Counter({ name: 'x_total', help: 'things', labelNames, registers: [native] });
  const tallied = new Registry();
  const ours = new TalliedCounter('x_total', 'things', labelNames, [tallied]);
  const inc = (labels: Record<string, string>, amount = 1): void => {
    counter.inc(labels, amount);
    ours.tally(labels as Record<'type' | 'outcome', string>).inc(amount);
  };
  return { native, tallied, ours, inc };
}

describe('TalliedCounter', () => {
  it("scrapes as prom-client's counter does, before and after a reset", async () => {
    const { native, tallied, inc } = bothRegistries(['type', 'outcome']);
    assert.deepEqual(linesInAnyOrder(await tallied.metrics()), linesInAnyOrder(await native.metrics()));
    inc({ type: 'NotifySubscriberRequest', outcome: 'sent' }, 3);
    inc({ type: 'NotifySubscriberRequest', outcome: 'acked' });
    inc({ type: 'ClientDetectionRequest', outcome: 'timeout' });
    assert.deepEqual(linesInAnyOrder(await tallied.metrics()), linesInAnyOrder(await native.metrics()));
    tallied.resetMetrics();
    native.resetMetrics();
    assert.deepEqual(linesInAnyOrder(await tallied.metrics()), linesInAnyOrder(await native.metrics()), 'nothing until incremented again');
    inc({ type: 'ClientDetectionRequest', outcome: 'timeout' });
    assert.deepEqual(linesInAnyOrder(await tallied.metrics()), linesInAnyOrder(await native.metrics()));
    assert.match(await tallied.metrics(), /x_total\{type="ClientDetectionRequest",outcome="timeout"\} 1\n/);
  });

  it('label sets incremented again after a reset in the opposite order show the same series and values as prom-client', async () => {
    const { native, tallied, inc } = bothRegistries(['type', 'outcome']);
    inc({ type: 'A', outcome: 'sent' }, 2);
    inc({ type: 'B', outcome: 'acked' }, 5);
    tallied.resetMetrics();
    native.resetMetrics();
    inc({ type: 'B', outcome: 'acked' }, 3);
    inc({ type: 'A', outcome: 'sent' });
    const ours = await tallied.metrics();
    assert.deepEqual(linesInAnyOrder(ours), linesInAnyOrder(await native.metrics()));
    assert.match(ours, /x_total\{type="A",outcome="sent"\} 1\n/);
    assert.match(ours, /x_total\{type="B",outcome="acked"\} 3\n/);
  });

  it('without labels it shows 0 from the start and after a reset, as prom-client', async () => {
    const native = new Registry();
    const counter = new Counter({ name: 'x_total', help: 'things', registers: [native] });
    const tallied = new Registry();
    const ours = new TalliedCounter<never>('x_total', 'things', [], [tallied]);
    assert.deepEqual(linesInAnyOrder(await tallied.metrics()), linesInAnyOrder(await native.metrics()));
    ours.tally({}).inc(2);
    counter.inc(2);
    assert.deepEqual(linesInAnyOrder(await tallied.metrics()), linesInAnyOrder(await native.metrics()));
    tallied.resetMetrics();
    native.resetMetrics();
    assert.deepEqual(linesInAnyOrder(await tallied.metrics()), linesInAnyOrder(await native.metrics()));
    assert.match(await tallied.metrics(), /^x_total 0$/m);
  });

  it('a tally made but not incremented is not shown, and a kept one counts after a reset', async () => {
    const { tallied, ours } = bothRegistries(['type', 'outcome']);
    const kept = ours.tally({ type: 'A', outcome: 'sent' });
    assert.equal(ours.tally({ type: 'A', outcome: 'sent' }), kept, 'one tally per label set');
    assert.doesNotMatch(await tallied.metrics(), /x_total\{/);
    kept.inc();
    tallied.resetMetrics();
    kept.inc();
    assert.match(await tallied.metrics(), /x_total\{type="A",outcome="sent"\} 1\n/);
  });
});
