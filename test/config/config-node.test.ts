import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { md5Hex } from '../../src/protocol/config/index.js';
import type { RequestMessage, ResponseMessage } from '../../src/protocol/index.js';
import { configPeer, configRequest } from '../support/config-peer.js';
import { startTestNode } from '../support/node.js';
import { findMainPort } from '../support/ports.js';
import { parsePrometheus } from '../support/prometheus.js';
import { eventually, RawPeer } from '../support/raw-peer.js';

const key = { dataId: 'shop.yaml', group: 'DEFAULT_GROUP', tenant: '' };
const other = { dataId: 'other.yaml', group: 'DEFAULT_GROUP', tenant: '' };

describe('config over gRPC on a standalone node', async () => {
  const node = await startTestNode({ config: { maxContentBytes: 1024, notify: { timeoutMs: 500, retryStepMs: 100, maxAttempts: 3 } } });
  const peers: RawPeer[] = [];
  let writer: RawPeer;
  let listener: RawPeer;
  const publish = (peer: RawPeer, body: Record<string, unknown>): Promise<ResponseMessage> => peer.unary(configRequest('ConfigPublishRequest', body));
  const query = (peer: RawPeer, k: object = key): Promise<ResponseMessage> => peer.unary(configRequest('ConfigQueryRequest', { ...k }));
  const listen = (peer: RawPeer, contexts: object[], on = true): Promise<ResponseMessage> =>
    peer.unary(configRequest('ConfigBatchListenRequest', { listen: on, configListenContexts: contexts }));
  const notifiesOf = (peer: RawPeer, dataId: string): RequestMessage[] =>
    peer.pushesOf('ConfigChangeNotifyRequest').filter((push) => push.body['dataId'] === dataId);

  before(async () => {
    writer = await configPeer(node.server.ports.sdk);
    listener = await configPeer(node.server.ports.sdk);
    peers.push(writer, listener);
  });
  after(async () => {
    for (const peer of peers) peer.close();
    await node.dispose();
  });

  it('publishes and queries a config with md5, type and lastModified as Nacos', async () => {
    const reply = await publish(writer, { ...key, content: 'price: 1', additionMap: { type: 'yaml', appName: 'shop' } });
    assert.equal(reply.type, 'ConfigPublishResponse');
    assert.equal(reply.resultCode, 200);
    const found = await query(writer);
    assert.equal(found.type, 'ConfigQueryResponse');
    assert.equal(found.resultCode, 200);
    assert.equal(found.body['content'], 'price: 1');
    assert.equal(found.body['md5'], md5Hex('price: 1'));
    assert.equal(found.body['contentType'], 'yaml');
    assert.equal(found.body['encryptedDataKey'], '');
    assert.equal(typeof found.body['lastModified'], 'number');
  });

  it('a query of a missing key answers errorCode 300 "config data not exist"', async () => {
    const missing = await query(writer, { dataId: 'nothing-here', group: 'G', tenant: '' });
    assert.equal(missing.type, 'ConfigQueryResponse');
    assert.equal(missing.resultCode, 500);
    assert.equal(missing.errorCode, 300);
    assert.equal(missing.message, 'config data not exist');
  });

  it('listen names the keys whose md5 differs; a change is pushed; unlisten stops it', async () => {
    const stale = await listen(listener, [{ ...key, md5: 'old' }, { ...other, md5: '' }]);
    assert.equal(stale.type, 'ConfigChangeBatchListenResponse');
    assert.deepEqual(stale.body['changedConfigs'], [{ ...key }], 'other.yaml does not exist: md5 "" is up to date');
    const current = await listen(listener, [{ ...key, md5: md5Hex('price: 1') }]);
    assert.deepEqual(current.body['changedConfigs'], []);

    assert.equal((await publish(writer, { ...key, content: 'price: 2' })).resultCode, 200);
    const notify = await listener.waitFor(() => notifiesOf(listener, key.dataId)[0], 5000, 'change notify');
    assert.deepEqual(notify.body, { ...key });
    assert.equal(notifiesOf(writer, key.dataId).length, 0, 'the writer does not listen');

    const unlisten = await listen(listener, [{ ...key }], false);
    assert.deepEqual(unlisten.body['changedConfigs'], []);
    assert.equal((await publish(writer, { ...key, content: 'price: 3' })).resultCode, 200);
    // Pushes on one stream arrive in order: once other.yaml's notify is in, key's would be too.
    assert.equal((await publish(writer, { ...other, content: 'x' })).resultCode, 200);
    await listener.waitFor(() => notifiesOf(listener, other.dataId)[0], 5000, 'notify of other.yaml');
    assert.equal(notifiesOf(listener, key.dataId).length, 1, 'no notify after unlisten');
  });

  it('publishing the same content again notifies no one (as Nacos), a change does', async () => {
    await listen(listener, [{ dataId: 'same', group: 'G', md5: '' }]);
    const notifiesOfSame = () => listener.pushesOf('ConfigChangeNotifyRequest').filter((push) => push.body['dataId'] === 'same');
    assert.equal((await publish(writer, { dataId: 'same', group: 'G', content: 'v' })).resultCode, 200);
    await listener.waitFor(() => notifiesOfSame()[0], 5000, 'notify of the first publish');
    assert.equal((await publish(writer, { dataId: 'same', group: 'G', content: 'v' })).resultCode, 200);
    assert.equal((await publish(writer, { dataId: 'same', group: 'G', content: 'w' })).resultCode, 200);
    // In stream order: the notify of 'w' comes after any notify of the repeated 'v'.
    await listener.waitFor(() => notifiesOfSame()[1], 5000, 'notify of the change to w');
    await listen(listener, [{ dataId: 'other-marker', group: 'G', md5: '' }]);
    assert.equal((await publish(writer, { dataId: 'other-marker', group: 'G', content: 'm' })).resultCode, 200);
    await listener.waitFor(() => notifiesOf(listener, 'other-marker')[0], 5000, 'marker notify');
    assert.equal(notifiesOfSame().length, 2, 'one notify per change of content, none for the repeat');
    await listen(listener, [{ dataId: 'same', group: 'G' }, { dataId: 'other-marker', group: 'G' }], false);
  });

  it('remove deletes the key and notifies its listeners; removing nothing succeeds', async () => {
    const removed = await listener.unary(configRequest('ConfigRemoveRequest', { ...other }));
    assert.equal(removed.type, 'ConfigRemoveResponse');
    assert.equal(removed.resultCode, 200);
    await listener.waitFor(() => notifiesOf(listener, other.dataId)[1], 5000, 'notify of the removal');
    assert.equal((await query(writer, other)).errorCode, 300);
    assert.equal((await writer.unary(configRequest('ConfigRemoveRequest', { ...other }))).resultCode, 200);
  });

  it('bad input: a clear typed error, nothing stored, the connection still serves', async () => {
    const bad: [string, Record<string, unknown>, number, string | RegExp][] = [
      ['over the content limit', { dataId: 'big', group: 'G', content: 'x'.repeat(1025) }, 400, 'invalid content, over 1024'],
      ['invalid dataId characters', { dataId: 'a/b', group: 'G', content: 'x' }, 400, 'invalid dataId : a/b'],
      ['invalid group characters', { dataId: 'ok', group: 'G G', content: 'x' }, 400, 'invalid group : G G'],
      ['missing dataId', { group: 'G', content: 'x' }, 400, 'invalid dataId : null'],
      ['blank content', { dataId: 'ok', group: 'G', content: ' ' }, 400, /content is blank/],
      ['CAS mismatch', { ...key, content: 'cas', casMd5: md5Hex('not what is stored') }, 500, 'Cas publish fail,server md5 may have changed.'],
      ['a beta publish', { dataId: 'ok', group: 'G', content: 'x', additionMap: { betaIps: '10.0.0.1' } }, 501, /beta configs are not supported/],
      ['a tag publish', { dataId: 'ok', group: 'G', content: 'x', additionMap: { tag: 'canary' } }, 501, /tag configs are not supported/],
      ['a non-string dataId', { dataId: { nested: true }, group: 'G', content: 'x' }, 502, /dataId/],
    ];
    for (const [what, body, errorCode, message] of bad) {
      const reply = await publish(writer, body);
      assert.equal(reply.type, 'ConfigPublishResponse', what);
      assert.equal(reply.resultCode, 500, what);
      assert.equal(reply.errorCode, errorCode, what);
      if (typeof message === 'string') assert.equal(reply.message, message, what);
      else assert.match(reply.message ?? '', message, what);
    }
    assert.equal((await query(writer, { dataId: 'big', group: 'G' })).errorCode, 300);
    assert.equal((await query(writer, { dataId: 'ok', group: 'G' })).errorCode, 300);
    assert.equal((await query(writer)).body['content'], 'price: 3', 'the CAS mismatch changed nothing');
    const badQuery = await query(writer, { dataId: 'a/b', group: 'G' });
    assert.equal(badQuery.errorCode, 500, 'not 400, which a Java client reads as "being modified"');
    assert.equal((await query(writer, { ...key, tag: 'canary' })).errorCode, 501);
    const badListen = await writer.unary(configRequest('ConfigBatchListenRequest', { configListenContexts: 'nope' }));
    assert.equal(badListen.type, 'ConfigChangeBatchListenResponse');
    assert.equal(badListen.resultCode, 500);
    assert.equal((await query(writer)).resultCode, 200, 'the connection still serves');
  });

  it('a CAS publish with the stored md5 updates; of a missing key creates it', async () => {
    const stored = await query(writer);
    assert.equal((await publish(writer, { ...key, content: 'price: 4', casMd5: stored.body['md5'] })).resultCode, 200);
    assert.equal((await publish(writer, { dataId: 'cas-new', group: 'G', content: 'new', casMd5: 'whatever' })).resultCode, 200);
    assert.equal((await query(writer, { dataId: 'cas-new', group: 'G' })).body['content'], 'new');
  });

  it('a closed connection has its listen context cleared at once', async () => {
    const leaving = await configPeer(node.server.ports.sdk);
    peers.push(leaving);
    await listen(leaving, [{ dataId: 'leaving', group: 'G', md5: '' }]);
    const context = node.configModule.service.context;
    assert.equal(context.listeners('leaving+G').length, 1);
    leaving.close();
    await eventually(() => context.listeners('leaving+G').length === 0, 5000, 'listen context cleared');
  });

  it('/metrics shows stored keys, listeners and acknowledged notifies', async () => {
    const scrape = await node.http.inject({ method: 'GET', url: '/metrics' });
    const samples = parsePrometheus(scrape.body);
    const value = (name: string, labels: Record<string, string> = {}): number | undefined =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    assert.equal(value('nacos_remote_config_keys'), await node.configModule.service.store.count());
    assert.ok((value('nacos_remote_config_keys') ?? 0) >= 1);
    assert.ok((value('nacos_remote_config_listeners') ?? 0) >= 1, 'the listener peer still listens to other.yaml');
    assert.ok((value('nacos_remote_config_notifies_total', { outcome: 'acked' }) ?? 0) >= 3);
    assert.ok((value('nacos_remote_config_notify_seconds_count') ?? 0) >= 3);
  });

  it('a listener that never acknowledges is dropped after the configured tries', async () => {
    const silent = await configPeer(node.server.ports.sdk);
    peers.push(silent);
    silent.autoAck = false;
    await listen(silent, [{ ...key, md5: '' }]);
    assert.equal((await publish(writer, { ...key, content: 'price: 5' })).resultCode, 200);
    await silent.waitFor(() => silent.streamEnded || undefined, 10_000, 'the silent listener dropped');
    assert.equal(notifiesOf(silent, key.dataId).length, 3, 'maxAttempts pushes, then dropped');
    assert.ok((await query(writer)).resultCode === 200, 'others unaffected');
  });
});

describe('config store across a restart', () => {
  it('a node restarted on the same home serves what was published before', async () => {
    const first = await startTestNode();
    const home = first.home;
    const peer = await configPeer(first.server.ports.sdk);
    assert.equal((await peer.unary(configRequest('ConfigPublishRequest', { ...key, content: 'kept' }))).resultCode, 200);
    peer.close();
    await first.close();
    const second = await startTestNode({ home });
    const again = await configPeer(second.server.ports.sdk);
    try {
      const found = await again.unary(configRequest('ConfigQueryRequest', { ...key }));
      assert.equal(found.body['content'], 'kept');
    } finally {
      again.close();
      await second.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('config at the size cap', () => {
  it('a config at the size cap cannot be read back over gRPC: one whose query answer would not fit is refused at publish; one that fits reads back', async () => {
    // JSON escapes a control character to six bytes: 3 KiB of them is 18 KiB in the answer.
    const node = await startTestNode({ maxMessageBytes: 16 * 1024, config: { maxContentBytes: 12 * 1024 } });
    const peer = await configPeer(node.server.ports.sdk);
    const publishOverHttp = (dataId: string, content: string) =>
      node.http.inject({ method: 'POST', url: '/nacos/v2/cs/config', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ dataId, group: 'G', content }).toString() });
    try {
      const refused = await publishOverHttp('escaped.txt', '\u0001'.repeat(3 * 1024));
      assert.equal(refused.statusCode, 400, refused.body);
      assert.match(refused.json().data, /maxMessageBytes \(16384\)/);
      assert.equal(await node.configModule.service.store.count(), 0, 'nothing stored');

      const fits = '"'.repeat(3 * 1024);
      assert.equal((await publishOverHttp('quoted.txt', fits)).statusCode, 200);
      const found = await peer.unary(configRequest('ConfigQueryRequest', { dataId: 'quoted.txt', group: 'G', tenant: '' }));
      assert.equal(found.resultCode, 200, found.message);
      assert.equal(found.body['content'], fits);
    } finally {
      peer.close();
      await node.dispose();
    }
  });
});

describe('config in a cluster', () => {
  it('answers a clear error saying it needs a shared database', async () => {
    const port = await findMainPort();
    const node = await startTestNode({ port, members: `127.0.0.1:${port},127.0.0.1:${port + 7}` });
    const peer = await configPeer(node.server.ports.sdk);
    try {
      const reply = await peer.unary(configRequest('ConfigPublishRequest', { ...key, content: 'x' }));
      assert.equal(reply.type, 'ConfigPublishResponse');
      assert.equal(reply.errorCode, 501);
      assert.match(reply.message ?? '', /shared database/);
      assert.match((await peer.unary(configRequest('ConfigQueryRequest', { ...key }))).message ?? '', /shared database/);
      assert.equal((await peer.unary({ kind: 'request', type: 'HealthCheckRequest', headers: {}, body: {} })).resultCode, 200, 'the rest works');
    } finally {
      peer.close();
      await node.dispose();
    }
  });
});

describe('config store that cannot be opened', () => {
  it('the node starts and serves the rest; config requests and the HTTP API fail with a reference to the logged reason, not the path; /metrics still scrapes', async () => {
    const home = mkdtempSync(join(tmpdir(), 'nacos-config-unopenable-'));
    // A directory where the database file should be: SQLite cannot open it.
    mkdirSync(join(home, 'data', 'config.db'), { recursive: true });
    const node = await startTestNode({ home });
    const peer = await configPeer(node.server.ports.sdk);
    try {
      const reply = await peer.unary(configRequest('ConfigPublishRequest', { ...key, content: 'x' }));
      assert.equal(reply.type, 'ConfigPublishResponse');
      assert.equal(reply.resultCode, 500);
      assert.match(reply.message ?? '', /^config store error, reference [0-9a-f-]{36}$/);
      assert.equal((await peer.unary(configRequest('ConfigQueryRequest', { ...key }))).errorCode, 500, 'not 300: the store could not say');
      assert.equal((await peer.unary({ kind: 'request', type: 'HealthCheckRequest', headers: {}, body: {} })).resultCode, 200);
      assert.equal((await node.http.inject({ method: 'GET', url: '/metrics' })).statusCode, 200);
      assert.equal((await node.http.inject({ method: 'GET', url: '/nacos/v2/cs/config?dataId=a&group=G' })).statusCode, 500);
    } finally {
      peer.close();
      await node.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
