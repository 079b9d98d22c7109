import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NodeMetrics } from '../../src/admin/metrics.js';
import { metricValue, parsePrometheus } from '../support/prometheus.js';

describe('NodeMetrics', () => {
  it('unary answers observed after registry.resetMetrics() are scraped, counted from zero', async () => {
    const metrics = new NodeMetrics();
    const answer = (): void => metrics.observer.unaryAnswered?.('HealthCheckRequest', 200, 0, 2);
    const scrape = async () => parsePrometheus(await metrics.scrape());
    answer();
    answer();
    const before = await scrape();
    assert.equal(metricValue(before, 'nacos_remote_unary_requests_total', { type: 'other', code: '200' }), 2);
    assert.equal(metricValue(before, 'nacos_remote_unary_request_seconds_count', { type: 'other' }), 2);

    metrics.registry.resetMetrics();
    const reset = await scrape();
    assert.equal(reset.filter((s) => s.name.startsWith('nacos_remote_unary_')).length, 0, 'nothing until observed again, as prom-client');

    answer();
    const after = await scrape();
    assert.equal(metricValue(after, 'nacos_remote_unary_requests_total', { type: 'other', code: '200' }), 1);
    assert.equal(metricValue(after, 'nacos_remote_unary_request_seconds_count', { type: 'other' }), 1);
    assert.equal(metricValue(after, 'nacos_remote_unary_request_seconds_sum', { type: 'other' }), 0.002);
    assert.equal(metricValue(after, 'nacos_remote_unary_request_seconds_bucket', { type: 'other', le: '0.005' }), 1);
  });
});
