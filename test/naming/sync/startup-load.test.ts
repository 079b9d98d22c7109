import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StartupLoad } from '../../../src/naming/sync/startup-load.js';
import { ManualTimers } from '../../support/manual-timers.js';

describe('StartupLoad: reads wait after a start for the other members\' snapshots', () => {
  it('is loaded once every other member has sent its snapshot', () => {
    const load = new StartupLoad(['b', 'c'], new ManualTimers(), 5000);
    assert.equal(load.isLoaded, false);
    load.snapshotReceived('b');
    load.snapshotReceived('b');
    assert.equal(load.isLoaded, false);
    load.snapshotReceived('c');
    assert.equal(load.isLoaded, true);
  });

  it('a member that never sends (down) holds reads back for the wait, no longer', async () => {
    const timers = new ManualTimers();
    const load = new StartupLoad(['b', 'c'], timers, 5000);
    load.snapshotReceived('b');
    let resolved = false;
    void load.loaded.then(() => (resolved = true));
    await timers.advance(4999);
    assert.equal(resolved, false);
    await timers.advance(1);
    assert.equal(resolved, true);
  });

  it('standalone, or a wait of 0, is loaded at once', () => {
    assert.equal(new StartupLoad([], new ManualTimers(), 5000).isLoaded, true);
    assert.equal(new StartupLoad(['b'], new ManualTimers(), 0).isLoaded, true);
  });
});
