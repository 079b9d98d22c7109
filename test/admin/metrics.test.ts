import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NodeMetrics } from '../../src/admin/metrics.js';
import { ConnectionManager, RESET_ACK_TIMEOUT_MS, UnregisterReason } from '../../src/server/connection-manager.js';
import { autoAck, fakeConnection, type FakeConnection } from '../support/fakes.js';
import { ManualTimers } from '../support/manual-timers.js';
import { metricValue, parsePrometheus } from '../support/prometheus.js';
import { testLogger } from '../support/server.js';

/** A manager with `moveWindowMs` whose metrics are counted, and three registered connections. */
function meteredManager(moveWindowMs: number) {
  const timers = new ManualTimers();
  const manager = new ConnectionManager(testLogger, timers, { ratePerSecond: 1000, tickMs: 10 }, 'reported', moveWindowMs);
  const metrics = new NodeMetrics({ moveWindowMs });
  metrics.attach(manager, () => false);
  const fakes = [0, 1, 2].map(() => fakeConnection({ timers })) as [FakeConnection, FakeConnection, FakeConnection];
  for (const fake of fakes) manager.register(fake.connection);
  return { timers, manager, metrics, fakes };
}

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

  it('pushes and naming pushes are scraped under their names with their counts and times, from zero after a reset', async () => {
    const metrics = new NodeMetrics();
    const scrape = async () => parsePrometheus(await metrics.scrape());
    const push = (outcome: 'sent' | 'acked' | 'failed' | 'timeout', type = 'NotifySubscriberRequest'): void => metrics.observer.pushObserved?.(type, outcome);
    const fresh = await scrape();
    assert.equal(metricValue(fresh, 'nacos_remote_naming_push_seconds_count', {}), 0, 'an unlabelled histogram shows zeros from the start');
    assert.equal(fresh.filter((s) => s.name === 'nacos_remote_pushes_total' || s.name === 'nacos_remote_naming_pushes_total').length, 0);

    push('sent');
    push('sent');
    push('acked');
    push('timeout');
    push('sent', 'ClientDetectionRequest');
    metrics.namingPushObserver.pushSettled?.('acked', 30);
    metrics.namingPushObserver.pushSettled?.('failed', 5000);
    const samples = await scrape();
    const pushes = (type: string, outcome: string) => metricValue(samples, 'nacos_remote_pushes_total', { type, outcome });
    assert.equal(pushes('NotifySubscriberRequest', 'sent'), 2);
    assert.equal(pushes('NotifySubscriberRequest', 'acked'), 1);
    assert.equal(pushes('NotifySubscriberRequest', 'timeout'), 1);
    assert.equal(pushes('ClientDetectionRequest', 'sent'), 1);
    assert.equal(samples.filter((s) => s.name === 'nacos_remote_pushes_total').length, 4, 'outcomes never seen are not shown');
    assert.equal(metricValue(samples, 'nacos_remote_naming_pushes_total', { outcome: 'acked' }), 1);
    assert.equal(metricValue(samples, 'nacos_remote_naming_pushes_total', { outcome: 'failed' }), 1);
    assert.equal(metricValue(samples, 'nacos_remote_naming_push_seconds_count', {}), 1, 'acked pushes are timed');
    assert.equal(metricValue(samples, 'nacos_remote_naming_push_seconds_sum', {}), 0.03);
    assert.equal(metricValue(samples, 'nacos_remote_naming_push_seconds_bucket', { le: '0.025' }), 0);
    assert.equal(metricValue(samples, 'nacos_remote_naming_push_seconds_bucket', { le: '0.05' }), 1);

    metrics.registry.resetMetrics();
    push('acked');
    const after = await scrape();
    assert.equal(metricValue(after, 'nacos_remote_pushes_total', { type: 'NotifySubscriberRequest', outcome: 'acked' }), 1);
    assert.equal(after.filter((s) => s.name === 'nacos_remote_pushes_total').length, 1);
  });

  it('counts departures, and times a reset connection from its ack to its close: a move slower than the window shows as closed', async () => {
    const moveWindowMs = 5000;
    const { timers, manager, metrics, fakes } = meteredManager(moveWindowMs);
    const [quick, slow, plain] = fakes;
    autoAck(quick);
    autoAck(slow);
    assert.equal(await manager.loadSingle(quick.connection.id), true);
    assert.equal(await manager.loadSingle(slow.connection.id), true);
    await timers.advance(1000);
    manager.unregister(quick.connection.id, UnregisterReason.STREAM_ENDED);
    await timers.advance(moveWindowMs + 2000);
    manager.unregister(slow.connection.id, UnregisterReason.STREAM_ENDED);
    manager.unregister(plain.connection.id, UnregisterReason.STREAM_ENDED);

    const samples = parsePrometheus(await metrics.scrape());
    const ended = { reason: UnregisterReason.STREAM_ENDED };
    assert.equal(metricValue(samples, 'nacos_remote_unregistrations_total', { ...ended, departure: 'moved' }), 1);
    assert.equal(metricValue(samples, 'nacos_remote_unregistrations_total', { ...ended, departure: 'closed' }), 2);
    // Only the connections that acked a reset are timed: the quick one in the 1 s bucket as moved, the slow one past the window as closed.
    assert.equal(metricValue(samples, 'nacos_remote_reset_ack_to_close_seconds_count', { departure: 'moved' }), 1);
    assert.equal(metricValue(samples, 'nacos_remote_reset_ack_to_close_seconds_bucket', { departure: 'moved', le: '1' }), 1);
    assert.equal(metricValue(samples, 'nacos_remote_reset_ack_to_close_seconds_count', { departure: 'closed' }), 1);
    assert.equal(metricValue(samples, 'nacos_remote_reset_ack_to_close_seconds_bucket', { departure: 'closed', le: '5' }), 0);
    assert.equal(metricValue(samples, 'nacos_remote_reset_ack_to_close_seconds_bucket', { departure: 'closed', le: '10' }), 1);
  });

  it('times a client that closes after its reset timed out, but not closes of our own nor resets over two windows old; buckets end at twice the window', async () => {
    const moveWindowMs = 10_000;
    const { timers, manager, metrics, fakes } = meteredManager(moveWindowMs);
    const [stalled, shutDown, stale] = fakes;
    autoAck(stale);
    assert.equal(await manager.loadSingle(stale.connection.id), true);
    const unanswered = [manager.loadSingle(stalled.connection.id), manager.loadSingle(shutDown.connection.id, undefined, 1000)];
    await timers.advance(RESET_ACK_TIMEOUT_MS);
    assert.deepEqual(await Promise.all(unanswered), [false, false]);
    await timers.advance(4000);
    manager.unregister(stalled.connection.id, UnregisterReason.STREAM_ENDED);
    manager.unregister(shutDown.connection.id, UnregisterReason.SHUTDOWN);
    await timers.advance(2 * moveWindowMs);
    manager.unregister(stale.connection.id, UnregisterReason.STREAM_ENDED);

    const samples = parsePrometheus(await metrics.scrape());
    assert.equal(metricValue(samples, 'nacos_remote_unregistrations_total', { reason: UnregisterReason.SHUTDOWN, departure: 'closed' }), 1);
    assert.equal(metricValue(samples, 'nacos_remote_reset_ack_to_close_seconds_count', { departure: 'moved' }), 1);
    assert.equal(metricValue(samples, 'nacos_remote_reset_ack_to_close_seconds_sum', { departure: 'moved' }), 4);
    assert.equal(metricValue(samples, 'nacos_remote_reset_ack_to_close_seconds_count', { departure: 'closed' }), 0, 'neither the shutdown nor the stale one');
    const bounds = samples
      .filter((s) => s.name === 'nacos_remote_reset_ack_to_close_seconds_bucket' && s.labels.departure === 'moved')
      .map((s) => s.labels.le);
    assert.deepEqual(bounds, ['0.1', '0.5', '1', '2', '2.5', '5', '10', '15', '20', '+Inf']);
  });
});
