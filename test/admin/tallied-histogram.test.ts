import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { TalliedHistogram } from '../../src/admin/tallied-histogram.js';
import { linesInAnyOrder } from '../support/prometheus.js';

const BOUNDS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
// On a bound, between bounds, below the first and beyond the last.
const OBSERVED: readonly (readonly [string, number])[] = [
  ['HealthCheckRequest', 0.00003],
  ['HealthCheckRequest', 0.0001],
  ['HealthCheckRequest', 0.0002],
  ['ServerCheckRequest', 0.0005],
  ['HealthCheckRequest', 0.7],
  ['ServerCheckRequest', 5],
  ['ServerCheckRequest', 12.5],
  ['other', 0.003],
];

/** The same observations in prom-client's own histogram and in ours, each in a registry of its own. */
function bothRegistries(): { readonly native: Registry; readonly tallied: Registry; readonly histogram: TalliedHistogram } {
  const native = new Registry();
  const histogram = new Histogram({ name: 'x_seconds', help: 'handling time', labelNames: ['type'], buckets: BOUNDS, registers: [native] });
  const tallied = new Registry();
  const ours = new TalliedHistogram('x_seconds', 'handling time', 'type', BOUNDS, [tallied]);
  for (const [type, value] of OBSERVED) {
    histogram.observe({ type }, value);
    ours.tally(type).observe(value);
  }
  return { native, tallied, histogram: ours };
}

describe('TalliedHistogram', () => {
  it("scrapes as prom-client's histogram does for the same observations", async () => {
    const { native, tallied } = bothRegistries();
    assert.deepEqual(linesInAnyOrder(await tallied.metrics()), linesInAnyOrder(await native.metrics()));
    // As JSON too, but for prom-client's empty exemplar slots (exemplars are off).
    const withoutExemplars = (metrics: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) =>
      metrics.map(({ values, ...metric }) => ({ ...metric, values: values.map((value) => Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'exemplar'))) }));
    assert.deepEqual(withoutExemplars(await tallied.getMetricsAsJSON()), withoutExemplars(await native.getMetricsAsJSON()));
  });

  it('keeps one tally per label value, and reset empties it', async () => {
    const { tallied, histogram } = bothRegistries();
    assert.equal(histogram.tally('HealthCheckRequest'), histogram.tally('HealthCheckRequest'));
    assert.equal(histogram.tally('HealthCheckRequest').count, 4);
    tallied.resetMetrics();
    assert.equal(await tallied.metrics(), '# HELP x_seconds handling time\n# TYPE x_seconds histogram\n');
  });

  it('a tally kept across a reset observes into what the next scrape reads', async () => {
    const { native, tallied, histogram } = bothRegistries();
    const kept = histogram.tally('HealthCheckRequest');
    const child = (native.getSingleMetric('x_seconds') as Histogram).labels({ type: 'HealthCheckRequest' });
    tallied.resetMetrics();
    native.resetMetrics();
    kept.observe(0.002);
    child.observe(0.002);
    assert.deepEqual(linesInAnyOrder(await tallied.metrics()), linesInAnyOrder(await native.metrics()));
    assert.match(await tallied.metrics(), /x_seconds_count\{type="HealthCheckRequest"\} 1\n/);
  });

  it('label values observed again after a reset in the opposite order show the same series and values as prom-client', async () => {
    const { native, tallied, histogram } = bothRegistries();
    const nativeHistogram = native.getSingleMetric('x_seconds') as Histogram;
    tallied.resetMetrics();
    native.resetMetrics();
    for (const type of ['other', 'ServerCheckRequest', 'HealthCheckRequest']) {
      histogram.tally(type).observe(0.002);
      nativeHistogram.observe({ type }, 0.002);
    }
    assert.deepEqual(linesInAnyOrder(await tallied.metrics()), linesInAnyOrder(await native.metrics()));
    assert.match(await tallied.metrics(), /x_seconds_count\{type="ServerCheckRequest"\} 1\n/);
  });

  it("without a label it scrapes as prom-client's does: zeros before any observation, nothing after a reset until observed", async () => {
    const native = new Registry();
    const histogram = new Histogram({ name: 'y_seconds', help: 'push time', buckets: BOUNDS, registers: [native] });
    const tallied = new Registry();
    const ours = new TalliedHistogram('y_seconds', 'push time', undefined, BOUNDS, [tallied]).tally();
    assert.deepEqual(linesInAnyOrder(await tallied.metrics()), linesInAnyOrder(await native.metrics()));
    for (const value of [0.00003, 0.0005, 0.7, 12.5]) {
      histogram.observe(value);
      ours.observe(value);
    }
    assert.deepEqual(linesInAnyOrder(await tallied.metrics()), linesInAnyOrder(await native.metrics()));
    tallied.resetMetrics();
    native.resetMetrics();
    assert.deepEqual(linesInAnyOrder(await tallied.metrics()), linesInAnyOrder(await native.metrics()));
    histogram.observe(0.002);
    ours.observe(0.002);
    assert.deepEqual(linesInAnyOrder(await tallied.metrics()), linesInAnyOrder(await native.metrics()));
  });
});
