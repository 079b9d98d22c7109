import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planSmartReload, summarizeClusterLoad, type MemberLoad } from '../../src/cluster/loader-metrics.js';

const member = (address: string, sdkConCount: number, extra: Record<string, string> = {}): MemberLoad => ({ address, metric: { sdkConCount: String(sdkConCount), ...extra } });

describe('planSmartReload: /smartReloadCluster\'s pairs', () => {
  it('pairs the most loaded member above avg × (1 + f) with the least loaded below avg × (1 − f), as Nacos', () => {
    const load = summarizeClusterLoad([member('a', 300), member('b', 100), member('c', 200)], 3);
    assert.deepEqual(planSmartReload(load, 0.1), [{ overloaded: 'a', reloadCount: 220, reloadServer: 'b' }]);
  });

  it('regression: a starting member (no SDK clients yet, refusing them) is no reload target, nor does it pull the average down', () => {
    const load = summarizeClusterLoad([member('a', 300), member('b', 280), member('c', 0, { starting: 'true' })], 3);
    // With c counted the average was 193: a was paired with c, which refuses the clients sent to it.
    assert.deepEqual(planSmartReload(load, 0.1), []);
  });

  it('regression: a draining member is neither overloaded nor a target', () => {
    const load = summarizeClusterLoad([member('a', 600, { draining: 'true' }), member('b', 300), member('c', 100)], 3);
    // The average of b and c, 200: b is over 220, c under 180.
    assert.deepEqual(planSmartReload(load, 0.1), [{ overloaded: 'b', reloadCount: 220, reloadServer: 'c' }]);
  });
});
