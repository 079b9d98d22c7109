import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BALANCER_OPTIONS } from '../../src/cluster/balancer.js';
import { parseNodeConfig } from '../../src/node/config.js';
import { balancerOptionsOf } from '../../src/node/balancer-options.js';

describe('balancerOptionsOf: the cool-down is at least the naming move grace', () => {
  it('a cool-down shorter than the grace is raised to it; a longer one stays; grace 0 leaves it as set', () => {
    assert.equal(balancerOptionsOf(parseNodeConfig({ balancer: { cooldownMs: 2000 } })).cooldownMs, 10_000, 'default grace 10 s');
    assert.equal(balancerOptionsOf(parseNodeConfig({ balancer: { cooldownMs: 2000 }, naming: { moveGraceMs: 15_000 } })).cooldownMs, 15_000);
    assert.equal(balancerOptionsOf(parseNodeConfig({ balancer: { cooldownMs: 30_000 } })).cooldownMs, 30_000);
    assert.equal(balancerOptionsOf(parseNodeConfig({ balancer: { cooldownMs: 2000 }, naming: { moveGraceMs: 0 } })).cooldownMs, 2000);
    assert.equal(balancerOptionsOf(parseNodeConfig({})).band, DEFAULT_BALANCER_OPTIONS.band);
  });
});
