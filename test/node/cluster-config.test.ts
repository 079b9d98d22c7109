import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseNodeConfig } from '../../src/node/config.js';

describe('node config: member trust and the operator hold', () => {
  it('defaults: hostnames re-resolved every 30 s, no identity, a 60 s operator hold', () => {
    const config = parseNodeConfig({});
    assert.deepEqual(config.cluster, { resolveIntervalMs: 30_000 });
    assert.equal(config.balancer.operatorHoldMs, undefined, 'the balancer default (60 s) applies');
  });

  it('accepts an identity pair, a resolve interval and a hold of 0 (off)', () => {
    const config = parseNodeConfig({ cluster: { identityKey: 'serverIdentity', identityValue: 'secret', resolveIntervalMs: 5000 }, balancer: { operatorHoldMs: 0 } });
    assert.deepEqual(config.cluster, { identityKey: 'serverIdentity', identityValue: 'secret', resolveIntervalMs: 5000 });
    assert.equal(config.balancer.operatorHoldMs, 0);
  });

  for (const [input, key] of [
    [{ cluster: { identityKey: 'serverIdentity' } }, 'cluster'],
    [{ cluster: { identityValue: 'secret' } }, 'cluster'],
    [{ cluster: { identityKey: '', identityValue: 'x' } }, 'cluster.identityKey'],
    [{ cluster: { resolveIntervalMs: 0 } }, 'cluster.resolveIntervalMs'],
    [{ cluster: { identity: 'x' } }, 'cluster.identity'],
    [{ balancer: { operatorHoldMs: -1 } }, 'balancer.operatorHoldMs'],
  ] as const) {
    it(`rejects ${JSON.stringify(input)}, naming ${key}`, () => {
      assert.throws(() => parseNodeConfig(input), (error: unknown) => error instanceof ConfigError && error.message.includes(`'${key}'`));
    });
  }
});
