import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { CachedConfigStore } from '../../../src/config/store/cached.js';
import { SqliteConfigStore } from '../../../src/config/store/sqlite.js';
import { ConfigSync, configSyncHandler } from '../../../src/config/sync/config-sync.js';
import type { RequestMeta } from '../../../src/server/handlers/index.js';
import type { MemberPeers } from '../../../src/cluster/member-messages.js';
import type { ConfigKey } from '../../../src/protocol/config/index.js';
import { ConfigStoreError, ConfigStoreUnavailableError } from '../../../src/config/errors.js';
import { UnavailableConfigStore } from '../../../src/config/store/unavailable.js';
import { NOT_AT_HAND, type ChangeMark, type ConfigRecord, type ConfigStore } from '../../../src/config/store/types.js';
import { ManualTimers } from '../../support/manual-timers.js';

const key = { dataId: 'app.yaml', group: 'G', tenant: '' };
const other = { dataId: 'other.yaml', group: 'G', tenant: '' };

/** No other member answers: announcements are lost, as the tests want. */
const noPeers: MemberPeers = {
  others: () => ['10.0.0.2:8848'],
  request: () => Promise.reject(new Error('lost')),
  onMemberUp: () => () => undefined,
};

/** A database the test scripts: its rows, the history marks it shows, which reads fail, and a hook on each history read. */
function scriptedDatabase() {
  const db = {
    records: new Map<string, ConfigRecord>(),
    visible: [] as ChangeMark[],
    readFailure: (_key: ConfigKey): Error | undefined => undefined,
    historyRead: (_marks: readonly ChangeMark[]): void => undefined,
  };
  const inner: ConfigStore = {
    ...new UnavailableConfigStore(new ConfigStoreError('not used')),
    get: (k) => {
      const failure = db.readFailure(k);
      return failure === undefined ? Promise.resolve(db.records.get(k.dataId)) : Promise.reject(failure);
    },
    list: () => Promise.resolve([...db.records.values()]),
    latestChange: () => Promise.resolve(0),
    changesAfter: (after, limit) => {
      const marks = db.visible.filter((m) => m.nid > after).slice(0, limit);
      db.historyRead(marks);
      return Promise.resolve(marks);
    },
    close: () => Promise.resolve(),
  };
  return { db, inner };
}

const row = (dataId: string, content: string): ConfigRecord => ({ ...key, dataId, id: 1, content, md5: content, encryptedDataKey: '', createdAt: 0, modifiedAt: 0 });

/** A member's sync over `inner`, its first round done and what that round told forgotten. */
async function syncAfterFirstRound(inner: ConfigStore) {
  const told: string[] = [];
  const store = new CachedConfigStore(inner, new ManualTimers());
  const sync = new ConfigSync(store, (k) => told.push(k.dataId), noPeers, new ManualTimers(), { catchUpMs: 1000, announce: true, announceTimeoutMs: 100 }, pino({ level: 'silent' }));
  sync.start();
  await sync.catchUp();
  told.length = 0;
  return { told, store, sync };
}

describe('ConfigSync: catch-up from the history table', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nacos-config-sync-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Two members on one database: two stores on one SQLite file; this member is the cached one. */
  function members(name: string) {
    const file = join(dir, `${name}.db`);
    const elsewhere = new SqliteConfigStore(file);
    const here = new CachedConfigStore(new SqliteConfigStore(file), new ManualTimers());
    const timers = new ManualTimers();
    const told: string[] = [];
    const sync = new ConfigSync(here, (k: ConfigKey) => told.push(k.dataId), noPeers, timers, { catchUpMs: 1000, announce: true, announceTimeoutMs: 100 }, pino({ level: 'silent' }));
    return { elsewhere, here, timers, told, sync };
  }

  it('tells of every change another member made, once, at the next round, though no announcement came', async () => {
    const { elsewhere, here, timers, told, sync } = members('rounds');
    await elsewhere.publish({ key, content: 'v0', time: 1000 });
    sync.start();
    await timers.advance(0);
    await sync.catchUp();
    assert.equal((await here.get(key))?.content, 'v0', 'loaded at start');
    told.length = 0;

    await elsewhere.publish({ key, content: 'v1', time: 2000 });
    await elsewhere.publish({ key: other, content: 'o1', time: 2000 });
    await elsewhere.publish({ key, content: 'v1', time: 3000 });
    assert.deepEqual(told, [], 'nothing before the round');
    await timers.advance(1000);
    await sync.catchUp();
    assert.deepEqual(told.sort(), ['app.yaml', 'other.yaml'], 'each changed key once');
    await timers.advance(1000);
    await sync.catchUp();
    assert.deepEqual(told.sort(), ['app.yaml', 'other.yaml'], 'nothing new: no one told again');

    await elsewhere.remove(other, { time: 4000 });
    await timers.advance(1000);
    await sync.catchUp();
    assert.deepEqual(told.slice(2), ['other.yaml'], 'a removal is a change');
    await sync.close();
    await elsewhere.close();
    await here.close();
  });

  it('an announced change is told once: the round after it finds the same md5', async () => {
    const { elsewhere, here, timers, told, sync } = members('announced');
    sync.start();
    await sync.catchUp();
    await elsewhere.publish({ key, content: 'v1', time: 1000 });
    await sync.announced(key);
    assert.deepEqual(told, ['app.yaml']);
    await timers.advance(1000);
    await sync.catchUp();
    assert.deepEqual(told, ['app.yaml']);
    await sync.close();
    await elsewhere.close();
    await here.close();
  });

  it("reads here answer from the copy once a round loaded it: another member's publish shows once announced, or at the next round", async () => {
    const { elsewhere, here, timers, sync } = members('reads');
    await elsewhere.publish({ key, content: 'v0', time: 1000 });
    assert.equal(here.readNow(key), NOT_AT_HAND, 'before the first round: the database');
    sync.start();
    await sync.catchUp();
    const contentHere = () => {
      const found = here.readNow(key);
      return found === undefined || found === NOT_AT_HAND ? found : found.content;
    };
    assert.equal(contentHere(), 'v0');
    await elsewhere.publish({ key, content: 'v1', time: 2000 });
    assert.equal(contentHere(), 'v0', 'not yet told: the previous content, as a Nacos member reads its dump');
    await sync.announced(key);
    assert.equal(contentHere(), 'v1', 'announced');
    await elsewhere.publish({ key, content: 'v2', time: 3000 });
    await timers.advance(1000);
    await sync.catchUp();
    assert.equal(contentHere(), 'v2', 'no announcement came: the round read it');
    await sync.close();
    await elsewhere.close();
    await here.close();
  });

  it('an announced change of a beta or tag config (a Nacos member) is ignored: those are not kept here', async () => {
    const { elsewhere, here, told, sync } = members('variants');
    sync.start();
    await sync.catchUp();
    await elsewhere.publish({ key, content: 'v1', time: 1000 });
    const handle = configSyncHandler(sync);
    const trusted = { connection: { meta: { trustedCluster: true } } } as unknown as RequestMeta;
    const announce = (extra: Record<string, unknown>) =>
      handle({ kind: 'request', type: 'ConfigChangeClusterSyncRequest', headers: {}, body: { ...key, lastModified: 1000, ...extra } }, trusted);
    assert.equal((await announce({ beta: true })).type, 'ConfigChangeClusterSyncResponse');
    await announce({ tag: 'canary' });
    assert.deepEqual(told, [], 'not read for a beta or tag change');
    await announce({ beta: false, tag: '' });
    assert.deepEqual(told, ['app.yaml'], 'the plain config is read');
    await sync.close();
    await elsewhere.close();
    await here.close();
  });

  it("this member's own publish is not told again by the round", async () => {
    const { elsewhere, here, timers, told, sync } = members('own');
    sync.start();
    await sync.catchUp();
    await here.publish({ key, content: 'mine', time: 1000 });
    await timers.advance(1000);
    await sync.catchUp();
    assert.deepEqual(told, []);
    await sync.close();
    await elsewhere.close();
    await here.close();
  });

  it('a history row committed after a higher one was read (a late commit) is still told at the next round', async () => {
    // A store whose history shows nid 2 before nid 1: the transaction that took id 1 committed last.
    const records = new Map<string, ConfigRecord>();
    let visible: ChangeMark[] = [];
    const inner: ConfigStore = {
      ...new UnavailableConfigStore(new ConfigStoreError('not used')),
      get: (k) => Promise.resolve(records.get(k.dataId)),
      list: () => Promise.resolve([]),
      latestChange: () => Promise.resolve(0),
      changesAfter: (after, limit) => Promise.resolve(visible.filter((m) => m.nid > after).slice(0, limit)),
      close: () => Promise.resolve(),
    };
    const record = (dataId: string, content: string): ConfigRecord => ({ ...key, dataId, id: 1, content, md5: content, encryptedDataKey: '', createdAt: 0, modifiedAt: 0 });
    const timers = new ManualTimers();
    const told: string[] = [];
    const sync = new ConfigSync(new CachedConfigStore(inner, new ManualTimers()), (k) => told.push(k.dataId), noPeers, timers, { catchUpMs: 1000, announce: true, announceTimeoutMs: 100 }, pino({ level: 'silent' }));
    sync.start();
    await sync.catchUp();

    records.set('late', record('late', 'l1'));
    records.set('early', record('early', 'e1'));
    visible = [{ ...key, dataId: 'early', nid: 2 }];
    await sync.catchUp();
    assert.deepEqual(told, ['early']);
    visible = [{ ...key, dataId: 'late', nid: 1 }, ...visible];
    await sync.catchUp();
    assert.deepEqual(told, ['early', 'late'], 'the late row is read though the cursor passed its id');
    await sync.catchUp();
    assert.deepEqual(told, ['early', 'late'], 'and only once');
    await sync.close();
  });
  it('a round that cannot read a changed key (database away right after the history read) leaves it for the next round', async () => {
    const { db, inner } = scriptedDatabase();
    let down = false;
    let goDown = false;
    db.readFailure = () => (down ? new ConfigStoreUnavailableError('away') : undefined);
    db.historyRead = (marks) => {
      down = marks.length > 0 && goDown;
    };
    db.records.set(key.dataId, row(key.dataId, 'v0'));
    const { told, store, sync } = await syncAfterFirstRound(inner);

    db.records.set(key.dataId, row(key.dataId, 'v1'));
    db.visible = [{ ...key, nid: 1 }];
    goDown = true;
    await sync.catchUp();
    await sync.announced(key);
    assert.deepEqual(told, [], 'nothing could be read');
    goDown = false;
    down = false;
    await sync.catchUp();
    assert.deepEqual(told, ['app.yaml'], 'told once the database is back');
    assert.equal((await store.get(key))?.md5, 'v1');
    await sync.close();
  });

  it('a round where one changed key cannot be read still reads and tells the others; the failed one is read at the next round', async () => {
    const { db, inner } = scriptedDatabase();
    let failing = '';
    db.readFailure = (k) => (k.dataId === failing ? new ConfigStoreError('statement failed') : undefined);
    db.records.set('a', row('a', 'a0'));
    db.records.set('b', row('b', 'b0'));
    const { told, sync } = await syncAfterFirstRound(inner);

    db.records.set('a', row('a', 'a1'));
    db.records.set('b', row('b', 'b1'));
    db.visible = [
      { ...key, dataId: 'a', nid: 1 },
      { ...key, dataId: 'b', nid: 2 },
    ];
    failing = 'a';
    await sync.catchUp();
    assert.deepEqual(told, ['b'], 'the key after the failed one is read and told');
    failing = '';
    await sync.catchUp();
    assert.deepEqual(told, ['b', 'a'], 'the failed key is read at the next round');
    await sync.close();
  });

  it('a round that failed ends the copy being current until a round begun after it ends (review finding 5)', async () => {
    let roundsFail = false;
    const inner: ConfigStore = {
      ...new UnavailableConfigStore(new ConfigStoreError('not used')),
      get: () => Promise.resolve(undefined),
      list: () => Promise.resolve([]),
      latestChange: () => Promise.resolve(0),
      changesAfter: () => (roundsFail ? Promise.reject(new ConfigStoreUnavailableError('away')) : Promise.resolve([])),
      close: () => Promise.resolve(),
    };
    const store = new CachedConfigStore(inner, new ManualTimers());
    const sync = new ConfigSync(store, () => undefined, noPeers, new ManualTimers(), { catchUpMs: 1000, announce: true, announceTimeoutMs: 100 }, pino({ level: 'silent' }));
    await sync.catchUp();
    assert.equal(store.readNow(key), undefined, 'loaded: current');
    roundsFail = true;
    await sync.catchUp();
    assert.equal(store.readNow(key), NOT_AT_HAND, 'changes made meanwhile may be missing');
    roundsFail = false;
    await sync.catchUp();
    assert.equal(store.readNow(key), undefined, 'a whole round since');
    await sync.close();
  });

  it('a read that started before a refresh stored a newer row does not put the older one back', async () => {
    let release: (() => void) | undefined;
    let content = 'v0';
    const inner: ConfigStore = {
      ...new UnavailableConfigStore(new ConfigStoreError('not used')),
      get: async (k) => {
        const read = { ...k, id: 1, content, md5: content, encryptedDataKey: '', createdAt: 0, modifiedAt: 0 };
        if (release === undefined) await new Promise<void>((resolve) => (release = resolve));
        return read;
      },
      close: () => Promise.resolve(),
    };
    const store = new CachedConfigStore(inner, new ManualTimers());
    const slow = store.get(key);
    content = 'v1';
    while (release === undefined) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await store.refresh(key), true);
    release();
    assert.equal((await slow)?.md5, 'v0', 'the slow read answers what it read');
    assert.equal(await store.refresh(key), false, 'the copy still holds v1: no second change');
  });
});
