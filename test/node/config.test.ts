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

describe('node config: gRPC transport caps and per-IP counting', () => {
  it('unset, the caps and the per-IP counting are left to the server defaults', () => {
    const config = parseNodeConfig({});
    assert.deepEqual(config.grpc, {});
    assert.deepEqual(config.limits, {});
  });

  it('accepts the caps, -1 as no limit, and the transport address for per-IP limits', () => {
    const config = parseNodeConfig({
      grpc: { maxConcurrentStreams: 4_294_967_295, maxSessionBufferedBytes: -1, maxBufferedBytes: 64 * 1024 * 1024 },
      limits: { countClientIpBy: 'transport' },
    });
    assert.equal(config.grpc.maxConcurrentStreams, 4_294_967_295);
    assert.equal(config.grpc.maxSessionBufferedBytes, -1);
    assert.equal(config.limits.countClientIpBy, 'transport');
  });

  for (const [input, key] of [
    [{ grpc: { maxConcurrentStreams: 0 } }, 'grpc.maxConcurrentStreams'],
    [{ grpc: { maxSessionBufferedBytes: -2 } }, 'grpc.maxSessionBufferedBytes'],
    [{ grpc: { maxSessionBufferedBytes: 1024 * 1024 } }, 'grpc.maxSessionBufferedBytes'],
    [{ maxMessageBytes: 64 * 1024 * 1024, grpc: { maxBufferedBytes: 32 * 1024 * 1024 } }, 'grpc.maxBufferedBytes'],
    [{ grpc: { maxStreams: 5 } }, 'grpc.maxStreams'],
    [{ limits: { countClientIpBy: 'socket' } }, 'limits.countClientIpBy'],
  ] as const) {
    it(`rejects ${JSON.stringify(input)}, naming ${key}`, () => {
      assert.throws(() => parseNodeConfig(input), (error: unknown) => error instanceof ConfigError && error.message.includes(`'${key}'`));
    });
  }
});
