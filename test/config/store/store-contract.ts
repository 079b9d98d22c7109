import assert from 'node:assert/strict';
import { it } from 'node:test';
import { md5Hex } from '../../../src/protocol/config/index.js';
import type { ConfigStore } from '../../../src/config/store/types.js';
import { HistoryOp } from '../../../src/config/store/types.js';

const key = { dataId: 'app.yaml', group: 'DEFAULT_GROUP', tenant: '' };

/**
 * What every config store does, run against each (SQLite, MySQL). `open(name)` gives an empty
 * store of its own. Times are whole seconds: MySQL's DATETIME holds no more.
 */
export function storeContract(open: (name: string) => Promise<ConfigStore>): void {
  it('publishes, reads, updates and removes a key, keeping Nacos history (I new, U and D previous)', async () => {
    const store = await open('crud');
    const first = await store.publish({ key, content: 'a: 1', type: 'yaml', appName: 'shop', srcIp: '10.0.0.1', time: 1000 });
    assert.ok(first.ok);
    assert.equal(first.record.md5, md5Hex('a: 1'));
    assert.equal(first.record.createdAt, 1000);
    const second = await store.publish({ key, content: 'a: 2', time: 2000 });
    assert.ok(second.ok);
    assert.equal(second.record.appName, 'shop', 'an update without appName keeps the stored one');
    assert.equal(second.record.createdAt, 1000);
    assert.equal(second.record.modifiedAt, 2000);
    assert.equal((await store.get(key))?.content, 'a: 2');
    const repeated = await store.publish({ key, content: 'a: 2', time: 3000 });
    assert.ok(repeated.ok && !repeated.contentChanged && second.contentChanged && first.contentChanged);
    const removed = await store.remove(key, { srcIp: '10.0.0.2', time: 4000 });
    assert.equal(removed?.content, 'a: 2');
    assert.equal(await store.get(key), undefined);
    assert.equal(await store.remove(key, { time: 5000 }), undefined, 'removing nothing is no change');

    const history = await store.history(key, { offset: 0, limit: 10 });
    assert.equal(history.total, 4, 'a repeated publish is kept in history too, as Nacos');
    assert.deepEqual(
      history.items.map((h) => [h.opType, h.modifiedAt]),
      [
        [HistoryOp.DELETE, 4000],
        [HistoryOp.UPDATE, 3000],
        [HistoryOp.UPDATE, 2000],
        [HistoryOp.INSERT, 1000],
      ],
    );
    const contents = await Promise.all(history.items.map(async (h) => (await store.historyEntry(h.nid))?.content));
    assert.deepEqual(contents, ['a: 2', 'a: 2', 'a: 1', 'a: 1']);
    assert.equal(history.items[0]?.srcIp, '10.0.0.2');
    assert.equal((await store.history(key, { offset: 1, limit: 1 })).items[0]?.opType, HistoryOp.UPDATE);
    assert.equal(await store.historyEntry(999), undefined);
    await store.close();
  });

  it('CAS: a matching md5 updates, another md5 changes nothing, a missing key is created', async () => {
    const store = await open('cas');
    const created = await store.publish({ key, content: 'v1', casMd5: 'anything', time: 1 });
    assert.ok(created.ok, 'a CAS publish of a key that does not exist creates it (Nacos 2.2.4)');
    const mismatch = await store.publish({ key, content: 'v2', casMd5: md5Hex('not v1'), time: 2 });
    assert.deepEqual(mismatch, { ok: false, reason: 'cas-mismatch' });
    assert.equal((await store.get(key))?.content, 'v1');
    assert.equal((await store.history(key, { offset: 0, limit: 10 })).total, 1, 'a refused CAS writes no history');
    const matched = await store.publish({ key, content: 'v2', casMd5: md5Hex('v1'), time: 3 });
    assert.ok(matched.ok);
    assert.equal((await store.get(key))?.content, 'v2');
    await store.close();
  });

  it('keeps keys apart by tenant and lists by id for catch-up', async () => {
    const store = await open('tenants');
    await store.publish({ key, content: 'public', time: 1 });
    await store.publish({ key: { ...key, tenant: 'dev' }, content: 'dev', time: 2 });
    assert.equal((await store.get(key))?.content, 'public');
    assert.equal((await store.get({ ...key, tenant: 'dev' }))?.content, 'dev');
    assert.equal(await store.count(), 2);
    const firstPage = await store.list(0, 1);
    assert.equal(firstPage.length, 1);
    const rest = await store.list(firstPage[0]!.id, 10);
    assert.deepEqual(rest.map((r) => r.tenant), ['dev']);
    await store.close();
  });

  it('names each change by its history nid, in order, for a catch-up cursor', async () => {
    const store = await open('changes');
    assert.equal(await store.latestChange(), 0);
    const other = { ...key, dataId: 'other.yaml' };
    await store.publish({ key, content: 'a', time: 1000 });
    await store.publish({ key: other, content: 'b', time: 2000 });
    await store.remove(key, { time: 3000 });
    const changes = await store.changesAfter(0, 10);
    assert.deepEqual(changes.map((c) => c.dataId), ['app.yaml', 'other.yaml', 'app.yaml']);
    assert.ok(changes[0]!.nid < changes[1]!.nid && changes[1]!.nid < changes[2]!.nid);
    assert.equal(await store.latestChange(), changes[2]!.nid);
    assert.deepEqual(await store.changesAfter(changes[1]!.nid, 10), [{ ...key, nid: changes[2]!.nid }]);
    assert.deepEqual((await store.changesAfter(0, 1)).length, 1);
    await store.close();
  });
  it('a key holding a 4-byte character that was never stored is absent: read, history and remove find nothing, other keys answer', async () => {
    const store = await open('four_byte_key');
    const unstorable = { ...key, dataId: 'app-\u{20000}.yaml' };
    await store.publish({ key, content: 'a', time: 1000 });
    const [absent, present] = await Promise.all([store.get(unstorable), store.get(key)]);
    assert.equal(absent, undefined);
    assert.equal(present?.content, 'a');
    assert.deepEqual(await store.history(unstorable, { offset: 0, limit: 10 }), { total: 0, items: [] });
    assert.equal(await store.remove(unstorable, { time: 2000 }), undefined);
    assert.equal(await store.count(), 1);
    await store.close();
  });
}
