import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { healthCheckJitterMs, reconnectDelayMs } from '../../src/client/backoff.js';

describe('reconnect back-off (Java, spec 4.9)', () => {
  it('waits 100 ms per failure on the first pass, +100 ms per pass, capped at 5 s', () => {
    const three = Array.from({ length: 10 }, (_, i) => reconnectDelayMs(i + 1, 3));
    assert.deepEqual(three, [100, 100, 100, 200, 200, 200, 300, 300, 300, 400]);
    assert.equal(reconnectDelayMs(1000, 3), 5000);
    assert.deepEqual([1, 2, 3].map((n) => reconnectDelayMs(n, 1)), [100, 200, 300]);
  });
  it('jitters the first health check by 0-499 ms', () => {
    assert.equal(healthCheckJitterMs(() => 0), 0);
    assert.equal(healthCheckJitterMs(() => 0.999999), 499);
  });
});
