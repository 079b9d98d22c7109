import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { describe, it } from 'node:test';
import { ConfigError, parseNodeConfig } from '../../src/node/config.js';
import { startTestNode } from '../support/node.js';

describe('a node applies its gRPC and per-IP options', () => {
  it('grpc.maxConcurrentStreams is what its SDK port advertises; limits.countClientIpBy picks the counted address', async () => {
    const node = await startTestNode({ grpc: { maxConcurrentStreams: 3 }, limits: { countClientIpBy: 'transport' } });
    const session = http2.connect(`http://127.0.0.1:${node.server.ports.sdk}`);
    try {
      session.on('error', () => {});
      await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
      assert.equal(session.remoteSettings.maxConcurrentStreams, 3);
      assert.equal(node.server.manager.countedIp({ clientIp: '10.0.0.9', remoteIp: '127.0.0.1' }), '127.0.0.1');
    } finally {
      session.destroy();
      await node.dispose();
    }
  });
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
