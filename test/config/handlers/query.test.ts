import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { configQueryHandler } from '../../../src/config/handlers/query.js';
import { ListenContext } from '../../../src/config/listen-context.js';
import { ConfigNotifier } from '../../../src/config/notifier.js';
import { ConfigService } from '../../../src/config/service.js';
import { SqliteConfigStore } from '../../../src/config/store/sqlite.js';
import { NOT_AT_HAND } from '../../../src/config/store/types.js';
import type { RequestMessage, ResponseMessage } from '../../../src/protocol/index.js';
import type { RequestMeta } from '../../../src/server/handlers/index.js';
import { ManualTimers } from '../../support/manual-timers.js';

/** The embedded store read as a database that must be waited for. */
class WaitedStore extends SqliteConfigStore {
  override readNow(): typeof NOT_AT_HAND {
    return NOT_AT_HAND;
  }
}

function handlerOn(store: SqliteConfigStore) {
  const timers = new ManualTimers(0);
  const context = new ListenContext();
  const notifier = new ConfigNotifier(context, { push: () => Promise.reject(new Error('unused')), isConnected: () => true, drop: () => undefined }, timers);
  const service = new ConfigService(store, context, notifier, timers, {
    maxContentBytes: 1024,
    maxMessageBytes: 64 * 1024,
    isConnected: () => true,
    serving: () => true,
    allowFourByteUtf8: false,
    logger: pino({ level: 'silent' }),
  });
  const handler = configQueryHandler(service);
  const query = (body: Record<string, string>) => handler({ kind: 'request', type: 'ConfigQueryRequest', headers: {}, body } satisfies RequestMessage, {} as RequestMeta);
  return { service, query };
}

const key = { dataId: 'app.yaml', group: 'G', tenant: '' };

describe('ConfigQueryRequest handler', () => {
  it('answers at once from a store that has the key at hand: the same reply for the same stored config, a new one after a publish, 300 when absent', async () => {
    const store = new SqliteConfigStore(':memory:', { holdInMemory: true });
    const { service, query } = handlerOn(store);
    const absent = query(key);
    assert.ok(!(absent instanceof Promise), 'synchronous');
    assert.equal(absent.resultCode, 500);
    assert.equal(absent.errorCode, 300);
    await service.publish({ ...key, content: 'v1' });
    const first = query(key) as ResponseMessage;
    assert.ok(!(first instanceof Promise), 'synchronous');
    assert.equal(first.resultCode, 200);
    assert.equal(first.body['content'], 'v1');
    assert.equal(query({ ...key, tenant: 'public' }), first, 'one reply object per stored config: the acceptor encodes it once');
    await service.publish({ ...key, content: 'v2' });
    const second = query(key) as ResponseMessage;
    assert.equal(second.body['content'], 'v2');
    assert.notEqual(second, first);
    await store.close();
  });

  it('answers through the database when the store cannot tell at once; bad names answer 500, tags are refused', async () => {
    const store = new WaitedStore(':memory:');
    const { service, query } = handlerOn(store);
    await service.publish({ ...key, content: 'v1' });
    const waited = query(key);
    assert.ok(waited instanceof Promise);
    assert.equal((await waited).body['content'], 'v1');
    const absent = await query({ ...key, dataId: 'nothing.yaml' });
    assert.deepEqual([absent.resultCode, absent.errorCode], [500, 300]);
    const bad = await query({ ...key, dataId: 'bad name' });
    assert.deepEqual([bad.resultCode, bad.errorCode], [500, 500]);
    assert.match(bad.message ?? '', /invalid dataId/);
    const tagged = await query({ ...key, tag: 'canary' });
    assert.equal(tagged.resultCode, 500);
    assert.match(tagged.message ?? '', /tag configs are not supported/);
    await store.close();
  });
});
