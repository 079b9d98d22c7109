import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarizeTimings } from '../../bench/support/subscriber-fleet.js';
import { BATCH_SIZE, callFrames, SDK_REGISTRY } from '../../bench/support/unary-calls.js';
import { decodePayload, type JsonObject } from '../../src/protocol/index.js';

/** The request bodies a connection sends in turn (frames without their 5-byte gRPC prefix). */
function bodies(call: Parameters<typeof callFrames>[0], localAddress: string, localPort: number): JsonObject[] {
  return callFrames(call, localAddress, localPort).map((frame) => decodePayload(frame.subarray(5), SDK_REGISTRY).body);
}

type InstanceBody = { ip: string; port: number };

describe('bench unary calls', () => {
  it('a register ring changes every service it comes back to: the next register of a service has another address', () => {
    const ring = bodies('InstanceRegister', '127.0.0.3', 40_000);
    const last = new Map<string, number>();
    for (const body of [...ring, ...ring]) {
      const service = String(body['serviceName']);
      const port = (body['instance'] as InstanceBody).port;
      assert.notEqual(last.get(service), port, `${service} registered at port ${port} twice in a row`);
      last.set(service, port);
    }
    assert.equal(last.size, 16);
  });

  it('connections register instances no other connection has, so none replaces another', () => {
    const ips = new Set([40_000, 40_001, 40_256].flatMap((port) => bodies('InstanceRegister', '127.0.0.1', port).map((b) => (b['instance'] as InstanceBody).ip)));
    const otherSource = bodies('InstanceRegister', '127.0.0.2', 40_000).map((b) => (b['instance'] as InstanceBody).ip);
    assert.equal(ips.size, 3);
    assert.ok(!ips.has(otherSource[0]!));
  });

  it('a batch carries BATCH_SIZE distinct instances, and the naming module', () => {
    const frame = callFrames('BatchInstanceRegister', '127.0.0.1', 40_000)[0]!;
    const body = decodePayload(frame.subarray(5), SDK_REGISTRY).body;
    const instances = body['instances'] as InstanceBody[];
    assert.equal(new Set(instances.map((i) => `${i.ip}:${i.port}`)).size, BATCH_SIZE);
    assert.equal(body['module'], undefined, 'module is the envelope JSON, not the parsed body');
    assert.match(frame.subarray(5).toString('latin1'), /"module":"naming"/);
  });

  it('publishes change each key they come back to', () => {
    const ring = bodies('ConfigPublish', '127.0.0.1', 40_000);
    const last = new Map<string, string>();
    for (const body of [...ring, ...ring]) {
      const key = String(body['dataId']);
      assert.notEqual(last.get(key), body['content']);
      last.set(key, String(body['content']));
    }
  });
});

describe('push timings', () => {
  it('percentiles come from the changes every subscriber got; the missed pushes are counted apart', () => {
    const summary = summarizeTimings([
      { firstMs: 5, lastMs: 50, missing: 0 },
      { firstMs: 7, lastMs: 30_000, missing: 3 },
      { firstMs: 4, lastMs: 40, missing: 0 },
    ]);
    assert.equal(summary.changes, 3);
    assert.equal(summary.missing, 3);
    assert.equal(summary.lastMs.n, 2);
    assert.equal(summary.lastMs.max, 50);
    assert.equal(summary.firstMs.p50, 4);
  });
});
