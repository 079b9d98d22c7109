import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigReadRacedError, ConfigStoreError, ConfigStoreUnavailableError } from '../../../src/config/errors.js';
import { CachedConfigStore } from '../../../src/config/store/cached.js';
import { SqliteConfigStore } from '../../../src/config/store/sqlite.js';
import { NOT_AT_HAND, type ConfigRecord, type PublishInput, type PublishResult } from '../../../src/config/store/types.js';
import type { ConfigKey } from '../../../src/protocol/config/index.js';
import { ManualTimers } from '../../support/manual-timers.js';

const key = { dataId: 'app.yaml', group: 'G', tenant: '' };
const other = { dataId: 'other.yaml', group: 'G', tenant: '' };

/** A store that can be switched off (every call fails as a database away) and whose reads can be held. */
class FlakyStore extends SqliteConfigStore {
  down = false;
  hold: Promise<void> | undefined;

  override async get(k: ConfigKey): Promise<ConfigRecord | undefined> {
    this.gets++;
    if (this.down) throw new ConfigStoreUnavailableError('away');
    const record = await super.get(k);
    await this.hold;
    return record;
  }

  override async publish(input: PublishInput): Promise<PublishResult> {
    if (this.down) throw new ConfigStoreUnavailableError('away');
    return super.publish(input);
  }

  /** Published through this store object, past the copy: another member's publish. */
  publishElsewhere(input: PublishInput): Promise<PublishResult> {
    return super.publish(input);
  }

  gets = 0;
  probes = 0;

  override async latestChange(): Promise<number> {
    this.probes++;
    if (this.down) throw new ConfigStoreUnavailableError('away');
    return super.latestChange();
  }

  override async list(afterId: number, limit: number): Promise<readonly ConfigRecord[]> {
    if (this.down) throw new ConfigStoreUnavailableError('away');
    return super.list(afterId, limit);
  }
}

/** A store whose reads of a key, once held, wait until the test answers them, in the order it chooses. */
class OrderedGets extends SqliteConfigStore {
  holding = false;
  readonly waiting: Array<(record: ConfigRecord | undefined) => void> = [];

  override get(k: ConfigKey): Promise<ConfigRecord | undefined> {
    if (!this.holding) return super.get(k);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Waits until `count` reads are held. */
  async untilHeld(count: number): Promise<void> {
    while (this.waiting.length < count) await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('CachedConfigStore: a member copy for when the database is away', () => {
  it('answers reads of held keys while the database is away; an unknown key fails until the whole table was loaded, then it is absent', async () => {
    const inner = new FlakyStore(':memory:');
    const store = new CachedConfigStore(inner, new ManualTimers());
    await store.publish({ key, content: 'v1', time: 1000 });
    inner.down = true;
    assert.equal((await store.get(key))?.content, 'v1');
    await assert.rejects(store.get(other), ConfigStoreUnavailableError, 'not loaded: absence is unknown');
    await assert.rejects(store.publish({ key, content: 'v2', time: 2000 }), ConfigStoreUnavailableError);
    inner.down = false;
    assert.deepEqual((await store.load()).map((k) => k.dataId), [], 'the copy held what the table holds');
    inner.down = true;
    assert.equal(await store.get(other), undefined, 'loaded: a key not held is absent');
    assert.equal(await store.count(), 1);
    await inner.close();
  });

  it('a read that overlapped a publish does not put the older row back in the copy', async () => {
    const inner = new FlakyStore(':memory:');
    const store = new CachedConfigStore(inner, new ManualTimers());
    await store.publish({ key, content: 'v1', time: 1000 });
    let release!: () => void;
    inner.hold = new Promise((resolve) => (release = resolve));
    const reading = store.get(key);
    await new Promise((resolve) => setImmediate(resolve));
    inner.hold = undefined;
    await store.publish({ key, content: 'v2', time: 2000 });
    release();
    assert.equal((await reading)?.content, 'v1', 'the read answers what it read');
    inner.down = true;
    assert.equal((await store.get(key))?.content, 'v2', 'the copy keeps the publish');
    await inner.close();
  });

  it('load tells which keys differ from the copy: added, changed, gone', async () => {
    const inner = new FlakyStore(':memory:');
    const store = new CachedConfigStore(inner, new ManualTimers());
    await store.publish({ key, content: 'v1', time: 1000 });
    await store.publish({ key: other, content: 'o1', time: 1000 });
    await store.load();
    await inner.publish({ key, content: 'v2', time: 2000 });
    await inner.remove(other, { time: 2000 });
    await inner.publish({ key: { ...key, dataId: 'new.yaml' }, content: 'n1', time: 2000 });
    assert.deepEqual((await store.load()).map((k) => k.dataId).sort(), ['app.yaml', 'new.yaml', 'other.yaml']);
    await inner.close();
  });

  it('the first load (the database down at start) tells only of keys the copy held, not of every key', async () => {
    const inner = new FlakyStore(':memory:');
    const store = new CachedConfigStore(inner, new ManualTimers());
    for (const dataId of ['a', 'b', 'c']) await inner.publish({ key: { ...key, dataId }, content: 'x', time: 1000 });
    await inner.publish({ key, content: 'v1', time: 1000 });
    assert.equal((await store.get(key))?.content, 'v1');
    await inner.publish({ key, content: 'v2', time: 2000 });
    assert.deepEqual((await store.load()).map((k) => k.dataId), ['app.yaml'], 'only the key read here, which changed since');
    await inner.close();
  });

  it('once a read found the database away, reads answer from the copy without asking it, while one probe backs off until it answers', async () => {
    const inner = new FlakyStore(':memory:');
    const timers = new ManualTimers();
    const store = new CachedConfigStore(inner, timers, { probeIntervalMs: 1000, probeMaxIntervalMs: 2000 });
    await store.publish({ key, content: 'v1', time: 1000 });
    inner.down = true;
    assert.equal((await store.get(key))?.content, 'v1');
    const gets = inner.gets;
    for (let n = 0; n < 5; n++) assert.equal((await store.get(key))?.content, 'v1');
    assert.equal(inner.gets, gets, 'the copy answered: the database was not asked');
    await assert.rejects(store.get(other), ConfigStoreUnavailableError, 'a key not held fails at once');

    await timers.advance(999);
    assert.equal(inner.probes, 0);
    await timers.advance(1);
    assert.equal(inner.probes, 1, 'the first probe after probeIntervalMs');
    await timers.advance(1999);
    assert.equal(inner.probes, 1);
    await timers.advance(1);
    assert.equal(inner.probes, 2, 'then twice as long');
    await timers.advance(2000);
    assert.equal(inner.probes, 3, 'at most probeMaxIntervalMs');

    inner.down = false;
    await inner.publish({ key, content: 'v2', time: 2000 });
    assert.equal((await store.get(key))?.content, 'v1', 'still the copy until a probe finds the database');
    await timers.advance(2000);
    assert.equal((await store.get(key))?.content, 'v2', 'the database answers again');
    assert.equal(inner.gets, gets + 1);
    await timers.advance(10_000);
    assert.equal(inner.probes, 4, 'no probe once it answered');
    await store.close();
  });

  it('refreshes of one key at once read it one at a time: those that came during a read share the next, none fails, and the copy ends with the newest row', { timeout: 10_000 }, async () => {
    const inner = new OrderedGets(':memory:');
    const store = new CachedConfigStore(inner, new ManualTimers());
    await inner.publish({ key, content: 'v0', time: 1000 });
    await store.load();
    store.caughtUp(store.catchUpBegins());
    const v1 = await inner.publish({ key, content: 'v1', time: 2000 });
    const v2 = await inner.publish({ key, content: 'v2', time: 3000 });
    assert.ok(v1.ok && v2.ok);
    inner.holding = true;
    const first = store.refresh(key);
    await inner.untilHeld(1);
    // Announcements of a hot key arriving together: they must not fail each other.
    const others = [store.refresh(key), store.refresh(key), store.refresh(key), store.refresh(key)];
    assert.equal(inner.waiting.length, 1, 'one read of the key under way');
    inner.waiting.shift()!(v1.record);
    assert.equal(await first, true, 'the first read found v1');
    await inner.untilHeld(1);
    inner.waiting.shift()!(v2.record);
    assert.deepEqual(await Promise.all(others), [true, false, false, false], 'one shared read, begun after the first, found v2: reported to the caller that queued it only, so listeners are told once');
    assert.equal(inner.waiting.length, 0, 'two reads in all');
    const now = store.readNow(key);
    assert.ok(now !== NOT_AT_HAND, 'still current: nothing raced');
    assert.equal(now?.content, 'v2');
    assert.equal(store.keysBeingRead, 0);
    await inner.close();
  });

  it('a refresh overlapped by a store at every read fails and doubts the copy, so the catch-up keeps the change for its next round', { timeout: 10_000 }, async () => {
    const inner = new OrderedGets(':memory:');
    const store = new CachedConfigStore(inner, new ManualTimers());
    await store.load();
    store.caughtUp(store.catchUpBegins());
    inner.holding = true;
    const refreshing = store.refresh(key);
    for (let n = 1; n <= 3; n++) {
      await inner.untilHeld(1);
      inner.holding = false;
      await store.publish({ key, content: `v${n}`, time: 1000 * n });
      inner.holding = true;
      inner.waiting.shift()!(undefined);
    }
    await assert.rejects(refreshing, ConfigReadRacedError);
    assert.equal(store.readNow(key), NOT_AT_HAND, 'doubted: reads go to the database');
    await inner.close();
  });

  it('a write the database refused (a statement error, rolled back) leaves the copy current (review finding 2)', async () => {
    const inner = new FlakyStore(':memory:');
    const store = new CachedConfigStore(inner, new ManualTimers());
    await store.publish({ key, content: 'v1', time: 1000 });
    await store.load();
    store.caughtUp(store.catchUpBegins());
    inner.publish = () => Promise.reject(new ConfigStoreError("Data too long for column 'data_id'"));
    await assert.rejects(store.publish({ key, content: 'v2', time: 2000 }), ConfigStoreError);
    const now = store.readNow(key);
    assert.ok(now !== NOT_AT_HAND, 'still current: nothing was written');
    assert.equal(now?.content, 'v1');
    await inner.close();
  });

  it("files a change under the key as the database stored it, not as the client spelled it (MySQL ignores trailing spaces; review finding 3)", async () => {
    const inner = new FlakyStore(':memory:');
    const store = new CachedConfigStore(inner, new ManualTimers());
    await store.publish({ key, content: 'v1', time: 1000 });
    await store.load();
    store.caughtUp(store.catchUpBegins());
    // As MySQL's PAD SPACE comparison: "app.yaml " finds the row "app.yaml".
    const padSpace = (k: ConfigKey): ConfigKey => ({ ...k, dataId: k.dataId.trimEnd() });
    const publish = inner.publish.bind(inner);
    const remove = inner.remove.bind(inner);
    const get = inner.get.bind(inner);
    inner.publish = (input) => publish({ ...input, key: padSpace(input.key) });
    inner.remove = (k, source) => remove(padSpace(k), source);
    inner.get = (k) => get(padSpace(k));
    const spelled = { ...key, dataId: 'app.yaml ' };
    const content = (): string | undefined => {
      const now = store.readNow(key);
      assert.ok(now !== NOT_AT_HAND);
      return now?.content;
    };
    await store.publish({ key: spelled, content: 'v2', time: 2000 });
    assert.equal(content(), 'v2');
    await inner.publishElsewhere({ key, content: 'v3', time: 3000 });
    assert.equal(await store.refresh(spelled), true, 'an announcement naming the key as its publisher spelled it');
    assert.equal(content(), 'v3');
    await store.remove(spelled, { time: 4000 });
    assert.equal(content(), undefined);
    await inner.close();
  });

  it('keeps nothing per key once its reads have ended: keys published or removed once do not pile up (review finding 8)', async () => {
    const inner = new OrderedGets(':memory:');
    const store = new CachedConfigStore(inner, new ManualTimers());
    for (let n = 0; n < 20; n++) {
      const k = { ...key, dataId: `churn-${n}` };
      await store.publish({ key: k, content: 'x', time: 1000 });
      await store.refresh(k);
      await store.remove(k, { time: 2000 });
    }
    inner.holding = true;
    const reading = store.get(key);
    await inner.untilHeld(1);
    assert.equal(store.keysBeingRead, 1, 'a read in flight is watched');
    inner.waiting.shift()!(undefined);
    await reading;
    assert.equal(store.keysBeingRead, 0);
    await inner.close();
  });

  describe('readNow: answered from the copy only while it is known current', () => {
    const content = (found: ConfigRecord | undefined | typeof NOT_AT_HAND): string | undefined | typeof NOT_AT_HAND =>
      found === undefined || found === NOT_AT_HAND ? found : found.content;

    it("not before the whole table was loaded; then from the copy, with this member's publishes and removes, without the database", async () => {
      const inner = new FlakyStore(':memory:');
      const store = new CachedConfigStore(inner, new ManualTimers());
      await store.publish({ key, content: 'v1', time: 1000 });
      assert.equal(store.readNow(key), NOT_AT_HAND, 'not loaded: the copy may miss keys');
      await store.load();
      const gets = inner.gets;
      assert.equal(content(store.readNow(key)), 'v1');
      assert.equal(store.readNow(other), undefined, 'loaded: a key not held is absent');
      await store.publish({ key, content: 'v2', time: 2000 });
      assert.equal(content(store.readNow(key)), 'v2');
      await store.remove(key, { time: 3000 });
      assert.equal(store.readNow(key), undefined);
      assert.equal(inner.gets, gets, 'the database was not read');
      await inner.close();
    });

    it('with readThrough, every read asks the database while it answers; while it is away, the copy answers', async () => {
      const inner = new FlakyStore(':memory:');
      const store = new CachedConfigStore(inner, new ManualTimers(), undefined, { readThrough: true });
      await store.publish({ key, content: 'v1', time: 1000 });
      await store.load();
      assert.equal(store.readNow(key), NOT_AT_HAND);
      await inner.publishElsewhere({ key, content: 'v2', time: 2000 });
      assert.equal((await store.get(key))?.content, 'v2', 'the database, at once');
      inner.down = true;
      assert.equal((await store.get(key))?.content, 'v2');
      assert.equal(content(store.readNow(key)), 'v2', 'away: the copy');
      await store.close();
    });

    it('a failed re-read (an announcement not applied) sends reads to the database until a catch-up round begun after it ends', async () => {
      const inner = new FlakyStore(':memory:');
      const store = new CachedConfigStore(inner, new ManualTimers());
      await store.publish({ key, content: 'v1', time: 1000 });
      await store.load();
      const before = store.catchUpBegins();
      await inner.publishElsewhere({ key, content: 'v2', time: 2000 });
      inner.down = true;
      await assert.rejects(store.refresh(key), ConfigStoreUnavailableError);
      inner.down = false;
      assert.equal(store.readNow(key), NOT_AT_HAND, 'the copy may miss the announced change');
      assert.equal((await store.get(key))?.content, 'v2', 'the database answers');
      store.caughtUp(before);
      assert.equal(store.readNow(key), NOT_AT_HAND, 'a round begun before the failure does not cover it');
      const mark = store.catchUpBegins();
      await store.refresh(key);
      store.caughtUp(mark);
      assert.equal(content(store.readNow(key)), 'v2', 'current again');
      await inner.close();
    });

    it('a write that failed (it may have committed) or the database found away ends the copy being current; while away, reads answer from it', async () => {
      const inner = new FlakyStore(':memory:');
      const timers = new ManualTimers();
      const store = new CachedConfigStore(inner, timers, { probeIntervalMs: 1000, probeMaxIntervalMs: 1000 });
      await store.publish({ key, content: 'v1', time: 1000 });
      await store.load();
      inner.down = true;
      await assert.rejects(store.publish({ key, content: 'v2', time: 2000 }), ConfigStoreUnavailableError);
      assert.equal(store.readNow(key), NOT_AT_HAND);
      assert.equal((await store.get(key))?.content, 'v1', 'the read finds the database away: the copy answers');
      assert.equal(content(store.readNow(key)), 'v1', 'away: from the copy at once');
      inner.down = false;
      await timers.advance(1000);
      assert.equal(store.readNow(key), NOT_AT_HAND, 'back: the database until a catch-up round');
      store.caughtUp(store.catchUpBegins());
      assert.equal(content(store.readNow(key)), 'v1');
      await store.close();
    });
  });
});
