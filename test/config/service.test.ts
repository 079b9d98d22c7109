import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino, { type Logger } from 'pino';
import { groupKey, md5Hex, type ConfigKey } from '../../src/protocol/config/index.js';
import type { ResponseMessage } from '../../src/protocol/index.js';
import { ListenContext } from '../../src/config/listen-context.js';
import { ConfigNotifier } from '../../src/config/notifier.js';
import { ConfigStoreError, ConfigStoreUnavailableError, InvalidConfigParamError } from '../../src/config/errors.js';
import { ConfigService, MAX_CONFIRMS_PER_LISTEN } from '../../src/config/service.js';
import { CachedConfigStore } from '../../src/config/store/cached.js';
import { SqliteConfigStore } from '../../src/config/store/sqlite.js';
import { NOT_AT_HAND, type ConfigRecord, type ConfigStore } from '../../src/config/store/types.js';
import { ManualTimers } from '../support/manual-timers.js';
import { eventually } from '../support/raw-peer.js';

/** The embedded store, whose reads wait until the test opens the gate: an async store mid-read. */
class GatedStore extends SqliteConfigStore {
  private open!: () => void;
  readonly gate = new Promise<void>((resolve) => (this.open = resolve));
  reads = 0;

  release(): void {
    this.open();
  }

  override readNow(): typeof NOT_AT_HAND {
    return NOT_AT_HAND;
  }

  override async get(key: ConfigKey): Promise<ConfigRecord | undefined> {
    this.reads++;
    await this.gate;
    return super.get(key);
  }
}

/** A service over `store` on a manual clock, every connection connected; pushes go to `push` (none answered by default). */
function listenService(store: ConfigStore, options: { readonly push?: (connectionId: string) => Promise<ResponseMessage>; readonly logger?: Logger } = {}): ConfigService {
  const context = new ListenContext();
  const timers = new ManualTimers(0);
  const notifier = new ConfigNotifier(context, { push: options.push ?? (() => Promise.reject(new Error('unused'))), isConnected: () => true, drop: () => undefined }, timers);
  const logger = options.logger ?? pino({ level: 'silent' });
  return new ConfigService(store, context, notifier, timers, { maxContentBytes: 1024, maxMessageBytes: 64 * 1024, isConnected: () => true, serving: () => true, allowFourByteUtf8: false, logger });
}

describe('ConfigService batch listen', () => {
  const home = mkdtempSync(join(tmpdir(), 'nacos-config-service-'));
  after(() => rmSync(home, { recursive: true, force: true }));

  function setup(file: string, allowFourByteUtf8 = false) {
    const timers = new ManualTimers(0);
    const store = new GatedStore(join(home, file));
    const context = new ListenContext();
    const connected = new Set(['c1']);
    const pushes: { connectionId: string; body: unknown }[] = [];
    const push = (connectionId: string, message: { body: unknown }) => {
      pushes.push({ connectionId, body: message.body });
      return Promise.reject(new Error('not answered here'));
    };
    const notifier = new ConfigNotifier(context, { push, isConnected: (id) => connected.has(id), drop: () => undefined }, timers);
    const service = new ConfigService(store, context, notifier, timers, {
      maxContentBytes: 1024,
      maxMessageBytes: 64 * 1024,
      isConnected: (id) => connected.has(id),
      serving: () => true,
      allowFourByteUtf8,
      logger: pino({ level: 'silent' }),
    });
    return { store, context, connected, service, pushes };
  }

  const keys = ['a', 'b', 'c'].map((dataId) => ({ dataId, group: 'G', tenant: '', md5: '' }));

  it('a connection closed during the reads of a batch listen keeps no listen', async () => {
    const { store, context, connected, service } = setup('closed.db');
    const listening = service.listen('c1', keys, true);
    await eventually(() => store.reads > 0, 10_000, 'a read under way');
    connected.delete('c1');
    service.connectionClosed('c1');
    store.release();
    assert.deepEqual(await listening, []);
    assert.equal(context.connectionCount, 0);
    for (const key of keys) assert.deepEqual(context.listeners(groupKey(key)), [], key.dataId);
    await store.close();
  });

  it('a connection still open listens to every key of the batch and hears which differ', async () => {
    const { store, context, service } = setup('open.db');
    store.release();
    await service.publish({ dataId: 'b', group: 'G', content: 'x' });
    const changed = await service.listen('c1', keys, true);
    assert.deepEqual(
      changed.map((k) => k.dataId),
      ['b'],
    );
    for (const key of keys) assert.deepEqual(context.listeners(groupKey(key)), ['c1'], key.dataId);
    await store.close();
  });

  it("the default namespace named 'public' (Nacos 3.x clients) is the stored '': same config, and answers and pushes name it as the client did", async () => {
    const { store, service, pushes } = setup('public.db');
    store.release();
    await service.publish({ dataId: 'a', group: 'G', tenant: '', content: 'v1' });
    assert.equal((await service.query({ dataId: 'a', group: 'G', tenant: 'public' }))?.content, 'v1');
    const changed = await service.listen('c1', [{ dataId: 'a', group: 'G', tenant: 'public', md5: '' }], true);
    assert.deepEqual(changed, [{ dataId: 'a', group: 'G', tenant: 'public' }]);
    await service.publish({ dataId: 'a', group: 'G', tenant: 'PUBLIC', content: 'v2' });
    assert.deepEqual(pushes, [{ connectionId: 'c1', body: { dataId: 'a', group: 'G', tenant: 'public' } }]);
    assert.equal((await service.query({ dataId: 'a', group: 'G' }))?.content, 'v2', 'one config, not two');
    await store.close();
  });

  it('a blank dataId fails the whole batch and records nothing', async () => {
    const { store, context, service } = setup('blank.db');
    store.release();
    await assert.rejects(service.listen('c1', [...keys, { dataId: ' ', group: 'G', tenant: '', md5: '' }], true), /invalid dataId/);
    assert.equal(context.connectionCount, 0);
    await store.close();
  });

  it('refuses a 4-byte UTF-8 character in what it would store, naming the field, and stores nothing', async () => {
    const { store, service } = setup('four-byte.db');
    store.release();
    await assert.rejects(
      service.publish({ dataId: 'a', group: 'G', content: 'ok 😀' }),
      (error: unknown) => error instanceof InvalidConfigParamError && /invalid content: it holds U\+1F600 at index 3/.test(error.message),
    );
    await assert.rejects(service.publish({ dataId: 'a', group: 'G', content: 'ok', desc: '𠀀' }), /invalid desc: it holds U\+20000/);
    await assert.rejects(service.publish({ dataId: '𠀀', group: 'G', content: 'ok' }), InvalidConfigParamError);
    assert.equal(await service.query({ dataId: 'a', group: 'G' }), undefined);
    assert.ok(await service.publish({ dataId: 'a', group: 'G', content: 'ünïcødé ✓ 中文' }), '3-byte characters are stored');
    await store.close();
  });

  it("refuses a publish whose dataId or group would not fit Nacos's columns, and stores nothing (review finding 2)", async () => {
    const { store, service } = setup('too-long.db');
    store.release();
    await assert.rejects(service.publish({ dataId: 'd'.repeat(256), group: 'G', content: 'x' }), (error: unknown) => error instanceof InvalidConfigParamError && error.message === 'too long dataId, over 255');
    await assert.rejects(service.publish({ dataId: 'a', group: 'g'.repeat(129), content: 'x' }), { message: 'too long group, over 128' });
    assert.equal(await store.count(), 0);
    await store.close();
  });

  it('with config.allowFourByteUtf8, stores a 4-byte character (for utf8mb4 tables)', async () => {
    const { store, service } = setup('four-byte-allowed.db', true);
    store.release();
    await service.publish({ dataId: 'a', group: 'G', content: 'ok 😀' });
    assert.equal((await service.query({ dataId: 'a', group: 'G' }))?.content, 'ok 😀');
    await store.close();
  });

  it('a store failure reaches callers as its class with a fixed text and a reference; the detail (host, user, driver text) only in the log', async () => {
    const { store, context, connected } = setup('failures.db');
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const timers = new ManualTimers(0);
    const notifier = new ConfigNotifier(context, { push: () => Promise.reject(new Error('unused')), isConnected: () => true, drop: () => undefined }, timers);
    const detail = "config database 10.0.0.9:3306/nacos unreachable: Access denied for user 'nacos'@'10.0.0.5'";
    let failure: Error = new ConfigStoreUnavailableError(detail);
    store.get = () => Promise.reject(failure);
    const service = new ConfigService(store, context, notifier, timers, { maxContentBytes: 1024, maxMessageBytes: 64 * 1024, isConnected: (id) => connected.has(id), serving: () => true, allowFourByteUtf8: false, logger });

    // Each failure twice: from a read that waits (get) and from one the store answers at once (readNow).
    for (const [expected, text, path] of [
      [ConfigStoreUnavailableError, 'config database unavailable', 'get'],
      [ConfigStoreError, 'config store error', 'get'],
      [ConfigStoreError, 'config store error', 'readNow'],
    ] as const) {
      if (path === 'readNow') {
        store.readNow = () => {
          throw failure;
        };
      }
      const error = await Promise.resolve()
        .then(() => service.query({ dataId: 'a', group: 'G' }))
        .then(
          () => assert.fail('resolved'),
          (e: unknown) => e,
        );
      assert.ok(error instanceof expected, `${path}: ${String(error)}`);
      const reference = new RegExp(`^${text}, reference ([0-9a-f-]{36})$`).exec(error.message)?.[1];
      assert.ok(reference !== undefined, error.message);
      assert.ok(!error.message.includes('10.0.0.9') && !error.message.includes('Access denied'));
      const logged = lines.find((line) => line['reference'] === reference);
      assert.match(JSON.stringify(logged), /Access denied for user/, 'the detail is in the log line the reference names');
      failure = new ConfigStoreError("config database 10.0.0.9:3306/nacos: Access denied for user 'nacos'@'10.0.0.5'");
    }
    await assert.rejects(service.listen('c1', [{ dataId: 'a', group: 'G', md5: '' }], true), (e: unknown) => e instanceof ConfigStoreError && !e.message.includes('10.0.0.9'));
    store.release();
    await store.close();
  });

  it('a listener that holds content the member copy has not applied yet (moved from another member) is not told it changed; the copy catches up and its listeners here are told (review finding 4)', async () => {
    const inner = new SqliteConfigStore(':memory:');
    const store = new CachedConfigStore(inner, new ManualTimers(0));
    const told: string[] = [];
    const push = (connectionId: string) => {
      told.push(connectionId);
      return Promise.reject(new Error('not answered here'));
    };
    const service = listenService(store, { push });
    const key = { dataId: 'a', group: 'G', tenant: '' };
    await service.publish({ ...key, content: 'v1' });
    await store.load();
    store.caughtUp(store.catchUpBegins());
    assert.deepEqual(await service.listen('here', [{ ...key, md5: md5Hex('v1') }], true), []);
    // Another member's publish, not yet announced here.
    await inner.publish({ key, content: 'v2', time: 2000 });
    assert.deepEqual(await service.listen('moved', [{ ...key, md5: md5Hex('v2') }], true), [], 'the moved client holds what the database holds');
    const now = store.readNow(key);
    assert.ok(now !== NOT_AT_HAND);
    assert.equal(now?.content, 'v2', 'the copy took what the database holds');
    assert.ok(told.includes('here'), "this member's listener of v1 is told");
    await store.close();
  });

  it('a batch listen asks the database for at most MAX_CONFIRMS_PER_LISTEN differing keys; while it is away, a differing key is not reported changed', async () => {
    const inner = new SqliteConfigStore(':memory:');
    const store = new CachedConfigStore(inner, new ManualTimers(0));
    const service = listenService(store);
    await store.load();
    store.caughtUp(store.catchUpBegins());
    let gets = 0;
    const get = inner.get.bind(inner);
    inner.get = (k: ConfigKey) => {
      gets++;
      return get(k);
    };
    // A client's made-up keys and md5s: each differs from the copy (absent).
    const made = Array.from({ length: MAX_CONFIRMS_PER_LISTEN * 3 }, (_, i) => ({ dataId: `made-${i}`, group: 'G', md5: 'f'.repeat(32) }));
    assert.equal((await service.listen('c1', made, true)).length, made.length, 'absent keys, as the copy says');
    assert.equal(gets, MAX_CONFIRMS_PER_LISTEN, 'the database asked for a bounded number of them');
    // The database away: a listener holding another md5 than the copy is not told "changed".
    inner.get = () => Promise.reject(new ConfigStoreUnavailableError('away'));
    await service.publish({ dataId: 'held', group: 'G', content: 'v1' }).catch(() => undefined);
    assert.deepEqual(await service.listen('c2', [{ dataId: 'made-0', group: 'G', md5: md5Hex('newer elsewhere') }], true), []);
    await store.close();
  });

  it('a batch listen whose reads fail is one error and one log line, not one per key (review finding 6)', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const store = new SqliteConfigStore(':memory:');
    const service = listenService(store, { logger });
    store.readNow = () => NOT_AT_HAND;
    store.get = () => Promise.reject(new ConfigStoreUnavailableError('away'));
    await assert.rejects(service.listen('c1', keys, true), ConfigStoreUnavailableError);
    assert.equal(lines.filter((line) => line['msg'] === 'config store unavailable').length, 1);
    // A read begun for one key, then the store failing at once for a later one: the read's failure is handled too.
    let gets = 0;
    store.get = () => {
      gets++;
      return new Promise((_, reject) => setImmediate(() => reject(new ConfigStoreUnavailableError('away'))));
    };
    store.readNow = (key) => {
      if (key.dataId === 'b') throw new ConfigStoreError('broken');
      return NOT_AT_HAND;
    };
    await assert.rejects(service.listen('c1', keys, true), ConfigStoreError);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(gets, 0, 'no read begun before every key was looked up');
    await store.close();
  });

  it('a batch listen on a shared database is answered from the member copy while it is current: a read only for a key that differs', async () => {
    const inner = new SqliteConfigStore(':memory:');
    const store = new CachedConfigStore(inner, new ManualTimers(0));
    const service = listenService(store);
    await service.publish({ dataId: 'b', group: 'G', content: 'x' });
    await store.load();
    let reads = 0;
    const get = inner.get.bind(inner);
    inner.get = (key) => {
      reads++;
      return get(key);
    };
    const changed = await service.listen('c1', keys, true);
    assert.deepEqual(
      changed.map((k) => k.dataId),
      ['b'],
    );
    assert.equal(reads, 1, 'only the key whose md5 differs from the copy was read (confirmed), not one per key');
    await store.close();
  });
});
