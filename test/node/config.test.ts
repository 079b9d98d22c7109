import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseNodeConfig } from '../../src/node/config.js';

describe('node config: the pacing and batching knobs', () => {
  it('accepts the balancer pacing and the ejector batch size', () => {
    const config = parseNodeConfig({ balancer: { spreadMs: 2000, minMemberRatePerSecond: 10 }, ejector: { probeBatchSize: 64 } });
    assert.equal(config.balancer.spreadMs, 2000);
    assert.equal(config.balancer.minMemberRatePerSecond, 10);
    assert.equal(config.ejector.probeBatchSize, 64);
  });

  for (const [input, key] of [
    [{ ejector: { probeBatchSize: 0 } }, 'ejector.probeBatchSize'],
    [{ ejector: { probeBatchSize: 1.5 } }, 'ejector.probeBatchSize'],
    [{ balancer: { spreadMs: 0 } }, 'balancer.spreadMs'],
    [{ balancer: { minMemberRatePerSecond: -1 } }, 'balancer.minMemberRatePerSecond'],
  ] as const) {
    it(`rejects ${JSON.stringify(input)}, naming ${key}`, () => {
      assert.throws(() => parseNodeConfig(input), (error: unknown) => error instanceof ConfigError && error.message.includes(`'${key}'`));
    });
  }
});
