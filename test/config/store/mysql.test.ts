import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createConnection } from 'mysql2/promise';
import { ConfigStoreError, ConfigStoreUnavailableError } from '../../../src/config/errors.js';
import { CachedConfigStore } from '../../../src/config/store/cached.js';
import { openSharedStore } from '../../../src/config/index.js';
import { testLogger } from '../../support/server.js';
import { MysqlConfigStore, type MysqlStoreOptions } from '../../../src/config/store/mysql.js';
import { systemTimers } from '../../../src/protocol/index.js';
import { eventually } from '../../support/raw-peer.js';
import { md5Hex } from '../../../src/protocol/config/index.js';
import { MariaDb } from '../../support/mariadb.js';
import { storeContract } from './store-contract.js';

const key = { dataId: 'app.yaml', group: 'DEFAULT_GROUP', tenant: '' };

describe('MysqlConfigStore on a real MariaDB', () => {
  const db = new MariaDb();
  const stores: MysqlConfigStore[] = [];
  before(() => db.start());
  after(async () => {
    await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
    await db.stop();
  });

  function options(database: string, init = true): MysqlStoreOptions {
    return { host: db.host, port: db.port, user: db.user, password: db.password, database, poolSize: 4, connectTimeoutMs: 2000, queryTimeoutMs: 2000, timezone: 'Z', init };
  }

  async function open(name: string, init = true): Promise<MysqlConfigStore> {
    await db.createDatabase(name);
    const store = new MysqlConfigStore(options(name, init));
    stores.push(store);
    return store;
  }

  storeContract((name) => open(name));

  /** Runs `check` with the process in a zone that is not UTC, so local and UTC times differ. */
  async function inShanghai(check: () => Promise<void>): Promise<void> {
    const zone = process.env['TZ'];
    process.env['TZ'] = 'Asia/Shanghai';
    try {
      assert.equal(new Date(0).getTimezoneOffset(), -480, 'the zone took effect');
      await check();
    } finally {
      if (zone === undefined) delete process.env['TZ'];
      else process.env['TZ'] = zone;
    }
  }

  it("db.timezone '+08:00' writes DATETIMEs at that offset and reads them back to the same instant, whatever the process's zone", async () => {
    await db.createDatabase('offset');
    const store = new MysqlConfigStore({ ...options('offset'), timezone: '+08:00' });
    stores.push(store);
    const time = Date.UTC(2026, 0, 2, 3, 4, 5);
    await inShanghai(async () => {
      await store.publish({ key, content: 'v1', time });
      assert.equal((await store.get(key))?.modifiedAt, time);
    });
    const [row] = (await db.query("SELECT DATE_FORMAT(gmt_modified, '%Y-%m-%d %H:%i:%s') AS modified FROM config_info", 'offset')) as { modified: string }[];
    assert.equal(row?.modified, '2026-01-02 11:04:05');
  });

  it('writes the columns Nacos writes: app_name and encrypted_data_key \'\', md5, UTC times, op types', async () => {
    const store = await open('columns');
    await inShanghai(async () => {
      await store.publish({ key, content: 'v1', srcIp: '10.0.0.1', srcUser: 'ops', time: Date.UTC(2026, 0, 2, 3, 4, 5, 678) });
      await store.publish({ key, content: 'v2', time: Date.UTC(2026, 0, 2, 3, 4, 6) });
    });
    const rows = (await db.query(
      "SELECT app_name, encrypted_data_key, md5, DATE_FORMAT(gmt_create, '%Y-%m-%d %H:%i:%s') AS created, tenant_id FROM config_info",
      'columns',
    )) as Record<string, unknown>[];
    assert.deepEqual(rows, [{ app_name: '', encrypted_data_key: '', md5: md5Hex('v2'), created: '2026-01-02 03:04:05', tenant_id: '' }]);
    const history = (await db.query('SELECT id, op_type, content, md5, src_ip, src_user FROM his_config_info ORDER BY nid', 'columns')) as Record<string, unknown>[];
    const configId = Number(((await db.query('SELECT id FROM config_info', 'columns')) as { id: number }[])[0]!.id);
    assert.deepEqual(
      history.map((h) => [Number(h['id']), String(h['op_type']).trim(), h['content'], h['md5'], h['src_ip']]),
      [
        [0, 'I', 'v1', md5Hex('v1'), '10.0.0.1'],
        [configId, 'U', 'v1', md5Hex('v1'), null],
      ],
    );
  });

  it('reads a row written as Nacos 2.2.4 writes it (its statement, column defaults for the rest)', async () => {
    const store = await open('nacos_rows');
    assert.equal(await store.count(), 0, 'the first call creates the tables (--db-init)');
    await db.query(
      `INSERT INTO config_info (data_id, group_id, tenant_id, app_name, content, md5, src_ip, src_user, gmt_create, gmt_modified,
         c_desc, c_use, effect, type, c_schema, encrypted_data_key)
       VALUES ('from-nacos', 'G', 'dev', '', 'x: 1', '${md5Hex('x: 1')}', '10.1.1.1', NULL, '2026-03-04 05:06:07', '2026-03-04 05:06:07',
         NULL, NULL, NULL, 'yaml', NULL, '')`,
      'nacos_rows',
    );
    const record = await store.get({ dataId: 'from-nacos', group: 'G', tenant: 'dev' });
    assert.equal(record?.content, 'x: 1');
    assert.equal(record?.md5, md5Hex('x: 1'));
    assert.equal(record?.appName, undefined, "Nacos's '' is no app name");
    assert.equal(record?.type, 'yaml');
    assert.equal(record?.modifiedAt, Date.UTC(2026, 2, 4, 5, 6, 7));
  });

  it('two members creating the same new keys at once: every publish lands, one insert and one update each', async () => {
    const first = await open('race');
    const second = new MysqlConfigStore(options('race'));
    stores.push(second);
    // Both pools connected and the tables there, so the publishes below overlap in the database.
    await Promise.all([first.count(), second.count()]);
    const keys = Array.from({ length: 20 }, (_, n) => ({ ...key, dataId: `race-${n}` }));
    const results = await Promise.all(keys.flatMap((k) => [first.publish({ key: k, content: 'one', time: 1000 }), second.publish({ key: k, content: 'two', time: 1000 })]));
    assert.ok(results.every((r) => r.ok));
    for (const k of keys) {
      const history = await first.history(k, { offset: 0, limit: 10 });
      assert.deepEqual(history.items.map((h) => h.opType).sort(), ['I', 'U']);
    }
  });

  it("a 4-byte character reaching Nacos's utf8 tables is refused by the database: a ConfigStoreError, nothing stored", async () => {
    const store = await open('four_byte');
    await assert.rejects(store.publish({ key, content: 'ok 😀', time: 1000 }), (error: unknown) => error instanceof ConfigStoreError && /Incorrect string value/.test(error.message));
    assert.equal(await store.get(key), undefined);
    assert.equal((await store.history(key, { offset: 0, limit: 10 })).total, 0);
  });

  it('a publish stuck behind a row lock fails after the query timeout, not when the lock is let go (no rollback queued behind it)', async () => {
    const store = await open('row_lock');
    await store.publish({ key, content: 'v1', time: 1000 });
    const holder = await createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: 'row_lock' });
    try {
      await holder.beginTransaction();
      await holder.query('SELECT * FROM config_info WHERE data_id = ? FOR UPDATE', [key.dataId]);
      const started = Date.now();
      // Let go of the lock after 10 s at the latest, so the test ends either way.
      const letGo = setTimeout(() => void holder.rollback(), 10_000);
      try {
        await assert.rejects(store.publish({ key, content: 'v2', time: 2000 }), ConfigStoreUnavailableError);
      } finally {
        clearTimeout(letGo);
      }
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 6000, `failed after ${elapsed} ms: the query timeout is 2000 ms`);
      await holder.rollback();
    } finally {
      await holder.end();
    }
    assert.ok((await store.publish({ key, content: 'v3', time: 3000 })).ok, 'the store works on once the lock is gone');
    assert.equal((await store.get(key))?.content, 'v3');
  });

  it('with --db-init, the tables exist once the store is open (before any call), so a node is ready with them', async () => {
    await db.createDatabase('init_at_open');
    const store = await openSharedStore(options('init_at_open'), testLogger);
    try {
      const tables = (await db.query("SHOW TABLES LIKE 'config_info'", 'init_at_open')) as unknown[];
      assert.equal(tables.length, 1);
    } finally {
      await store.close();
    }
  });

  it('without --db-init and without tables: a ConfigStoreError that says how to create them', async () => {
    const store = await open('no_schema', false);
    await assert.rejects(store.get(key), (error: unknown) => error instanceof ConfigStoreError && /--db-init/.test(error.message));
  });

  it('database down: calls fail with ConfigStoreUnavailableError (503) within the timeouts, then work again once it is back', async () => {
    const store = await open('outage');
    await store.publish({ key, content: 'before', time: 1000 });
    await db.kill();
    const started = Date.now();
    await assert.rejects(store.get(key), (error: unknown) => error instanceof ConfigStoreUnavailableError && error.errorCode === 503);
    await assert.rejects(store.publish({ key, content: 'during', time: 2000 }), ConfigStoreUnavailableError);
    assert.ok(Date.now() - started < 15_000, 'failed within the timeouts, not hung');
    await db.start();
    assert.equal((await store.get(key))?.content, 'before');
    assert.ok((await store.publish({ key, content: 'after', time: 3000 })).ok);
  });

  it('database frozen (SIGSTOP): calls fail with ConfigStoreUnavailableError after the timeouts instead of hanging, then work again', async () => {
    const store = await open('frozen');
    await store.publish({ key, content: 'before', time: 1000 });
    await db.pause();
    try {
      const started = Date.now();
      await assert.rejects(store.get(key), ConfigStoreUnavailableError);
      await assert.rejects(store.publish({ key, content: 'during', time: 2000 }), ConfigStoreUnavailableError);
      assert.ok(Date.now() - started < 15_000, `failed within the timeouts (${Date.now() - started} ms), not hung`);
    } finally {
      db.resume();
    }
    assert.equal((await store.get(key))?.content, 'before');
    assert.ok((await store.publish({ key, content: 'after', time: 3000 })).ok);
  });

  it('database frozen under a member copy: after the first read times out, reads answer from the copy at once; a probe finds the database again', async () => {
    const direct = await open('frozen_copy');
    const copy = new CachedConfigStore(new MysqlConfigStore(options('frozen_copy')), systemTimers, { probeIntervalMs: 200, probeMaxIntervalMs: 400 });
    await direct.publish({ key, content: 'before', time: 1000 });
    await copy.load();
    await db.pause();
    try {
      // The read that meets the frozen database waits out the query timeout (2 s).
      const firstStarted = Date.now();
      assert.equal((await copy.get(key))?.content, 'before');
      const waited = Date.now() - firstStarted;
      assert.ok(waited >= 1000 && waited < 10_000, `the first read met the frozen database and waited out the query timeout, not hung (${waited} ms)`);
      const started = Date.now();
      for (let n = 0; n < 10; n++) assert.equal((await copy.get(key))?.content, 'before');
      assert.ok(Date.now() - started < 1000, `ten reads from the copy at once (${Date.now() - started} ms)`);
    } finally {
      db.resume();
    }
    await direct.publish({ key, content: 'after', time: 2000 });
    await eventually(async () => (await copy.get(key))?.content === 'after', 20_000, 'reads go to the database again');
    await copy.close();
  });
});
