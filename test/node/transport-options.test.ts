import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { describe, it } from 'node:test';
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
