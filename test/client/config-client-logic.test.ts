import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigClient, ConfigRequestError, type ConfigChangeEvent } from '../../src/client/index.js';
import { groupKey, md5Hex } from '../../src/protocol/config/index.js';
import { response, type JsonObject, type RequestMessage, type ResponseMessage } from '../../src/protocol/index.js';
import { FakeNetwork, type FakeClientConnection } from '../support/fake-client-connection.js';
import { ManualTimers } from '../support/manual-timers.js';
import { testLogger } from '../support/server.js';

const A = '10.0.0.1:8848';
const B = '10.0.0.2:8848';
const KEY = { dataId: 'orders.yaml', group: 'DEFAULT_GROUP', tenant: '' };

/** One config store behind both fake servers, answering as Nacos does; `failReads` makes queries fail. */
class FakeConfigServer {
  readonly configs = new Map<string, string>();
  readonly listens: JsonObject[][] = [];
  failReads = false;

  answer(request: RequestMessage): ResponseMessage {
    const body = request.body as JsonObject;
    const id = groupKey({ dataId: String(body['dataId']), group: String(body['group']), tenant: String(body['tenant'] ?? '') });
    switch (request.type) {
      case 'ConfigQueryRequest': {
        const content = this.configs.get(id);
        if (this.failReads) return { kind: 'response', type: 'ConfigQueryResponse', resultCode: 500, errorCode: 500, message: 'store down', body: {} };
        if (content === undefined) return { kind: 'response', type: 'ConfigQueryResponse', resultCode: 500, errorCode: 300, message: 'config data not exist', body: {} };
        return response('ConfigQueryResponse', { content, md5: md5Hex(content), contentType: 'text', lastModified: 1 });
      }
      case 'ConfigPublishRequest': {
        const stored = this.configs.get(id);
        if (body['casMd5'] !== undefined && stored !== undefined && md5Hex(stored) !== body['casMd5']) {
          return { kind: 'response', type: 'ConfigPublishResponse', resultCode: 500, errorCode: 500, message: 'Cas publish fail,server md5 may have changed.', body: {} };
        }
        this.configs.set(id, String(body['content']));
        return response('ConfigPublishResponse');
      }
      case 'ConfigBatchListenRequest': {
        const contexts = body['configListenContexts'] as JsonObject[];
        this.listens.push(contexts);
        const changed = contexts.filter((c) => {
          const content = this.configs.get(groupKey({ dataId: String(c['dataId']), group: String(c['group']), tenant: String(c['tenant']) }));
          return (content === undefined ? '' : md5Hex(content)) !== c['md5'];
        });
        return response('ConfigChangeBatchListenResponse', { changedConfigs: changed.map((c) => ({ dataId: c['dataId'], group: c['group'], tenant: c['tenant'] })) });
      }
      default:
        return response(request.type.replace(/Request$/, 'Response'));
    }
  }
}

function pushChange(connection: FakeClientConnection, requestId: string): void {
  connection.push({ kind: 'request', type: 'ConfigChangeNotifyRequest', headers: {}, requestId, body: { ...KEY } });
}

function setup(extra: { snapshotDir?: string } = {}) {
  const timers = new ManualTimers();
  const net = new FakeNetwork(timers, [A, B]);
  const store = new FakeConfigServer();
  for (const address of [A, B]) net.server(address).answer = async (request) => store.answer(request);
  const config = new ConfigClient({ serverAddresses: [A, B], logger: testLogger, timers, random: () => 0, connectionFactory: net.factory, syncIntervalMs: 5000, ...extra });
  const events: ConfigChangeEvent[] = [];
  const start = async (): Promise<void> => {
    const started = config.start();
    await timers.advance(100); // the setup wait
    await started;
  };
  /** Advances the clock in small steps until the check holds (hang guard: 60 s of fake time). */
  const until = async (check: () => boolean, what: string): Promise<void> => {
    for (let waited = 0; !check(); waited += 50) {
      if (waited > 60_000) throw new Error(`never: ${what}; events ${JSON.stringify(events)}`);
      await timers.advance(50);
    }
  };
  const queries = (): number => net.connections.flatMap((c) => c.requests).filter((r) => r.type === 'ConfigQueryRequest').length;
  return { timers, net, store, config, events, start, until, queries, listen: () => config.addListener(KEY.dataId, KEY.group, (e) => events.push(e)) };
}

describe('ConfigClient (fake transport, injected clock)', () => {
  it('connects with the labels Java config client sends: module config, source sdk, AppName, taskId 0', async () => {
    const { net, config, start } = setup();
    await start();
    const setupRequest = net.connections[0]!.sent.find((m) => m.type === 'ConnectionSetupRequest');
    assert.deepEqual((setupRequest?.body as JsonObject)['labels'], { source: 'sdk', AppName: 'unknown', module: 'config', taskId: '0', 'tls.enable': 'false' });
    await config.shutdown();
  });

  it('a listener is called once per md5: repeated pushes of one change and a later listen that finds nothing new call it no more', async () => {
    const { net, store, config, events, start, until, listen, timers } = setup();
    await start();
    store.configs.set(groupKey(KEY), 'v1');
    await listen();
    assert.deepEqual(events.map((e) => e.content), ['v1']); // new key, server has content: told at once

    store.configs.set(groupKey(KEY), 'v2');
    pushChange(net.connections[0]!, '1');
    pushChange(net.connections[0]!, '2');
    await until(() => events.length === 2, 'v2 delivered');
    await timers.advance(20_000); // periodic checks
    pushChange(net.connections[0]!, '3');
    await timers.advance(1000);
    assert.deepEqual(events.map((e) => [e.content, e.md5]), [['v1', md5Hex('v1')], ['v2', md5Hex('v2')]]);
    await config.shutdown();
  });

  it('a change made while the client was disconnected is delivered after the reconnect, exactly once, by a batch listen with the md5 held', async () => {
    const { net, store, config, events, start, until, listen, timers } = setup();
    await start();
    store.configs.set(groupKey(KEY), 'v1');
    await listen();
    const listensBefore = store.listens.length;

    net.server(A).up = false;
    net.connections[0]!.endStream();
    store.configs.set(groupKey(KEY), 'v2'); // no push reaches a client that is away
    await until(() => events.length === 2, 'v2 delivered after the reconnect');
    assert.equal(net.connections.at(-1)!.address, B);
    assert.deepEqual(store.listens.slice(listensBefore)[0], [{ ...KEY, md5: md5Hex('v1') }]);
    await timers.advance(20_000);
    assert.deepEqual(events.map((e) => e.content), ['v1', 'v2']);
    await config.shutdown();
  });

  it('a read that fails after a push is tried again on the periodic check', async () => {
    const { net, store, config, events, start, until, listen, queries, timers } = setup();
    await start();
    store.configs.set(groupKey(KEY), 'v1');
    await listen();
    store.failReads = true;
    store.configs.set(groupKey(KEY), 'v2');
    const before = queries();
    pushChange(net.connections[0]!, '1');
    await until(() => queries() > before, 'the read after the push');
    await timers.advance(1000);
    assert.equal(events.length, 1);
    store.failReads = false;
    await until(() => events.length === 2, 'v2 delivered by the periodic check');
    assert.equal(events[1]!.content, 'v2');
    await config.shutdown();
  });

  it('a removed config reaches listeners as undefined content with md5 ""', async () => {
    const { net, store, config, events, start, until, listen } = setup();
    await start();
    store.configs.set(groupKey(KEY), 'v1');
    await listen();
    store.configs.delete(groupKey(KEY));
    pushChange(net.connections[0]!, '1');
    await until(() => events.length === 2, 'the removal delivered');
    assert.deepEqual(events[1], { ...KEY, content: undefined, md5: '' });
    await config.shutdown();
  });

  it('a CAS publish whose md5 is stale is refused with ConfigRequestError and the server message', async () => {
    const { store, config, start } = setup();
    await start();
    await config.publishConfig(KEY.dataId, KEY.group, 'v1');
    await assert.rejects(config.publishConfig(KEY.dataId, KEY.group, 'v2', { casMd5: md5Hex('other') }), (error: unknown) => {
      return error instanceof ConfigRequestError && error.errorCode === 500 && /Cas publish fail/.test(error.message);
    });
    await config.publishConfig(KEY.dataId, KEY.group, 'v2', { casMd5: md5Hex('v1') });
    assert.equal(store.configs.get(groupKey(KEY)), 'v2');
    assert.equal(await config.getConfig(KEY.dataId, KEY.group), 'v2');
    await config.shutdown();
  });

  describe('snapshots', () => {
    const dirs: string[] = [];
    after(async () => {
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    });

    it('getConfig answers from the snapshot while no server answers; a listener added then is not called for the same content', async () => {
      const snapshotDir = await mkdtemp(join(tmpdir(), 'config-snapshot-'));
      dirs.push(snapshotDir);
      const first = setup({ snapshotDir });
      await first.start();
      first.store.configs.set(groupKey(KEY), 'kept');
      assert.equal(await first.config.getConfig(KEY.dataId, KEY.group), 'kept');
      await first.config.shutdown();

      // A new process: no server is up.
      const second = setup({ snapshotDir });
      for (const address of [A, B]) second.net.server(address).up = false;
      const reading = second.config.getConfig(KEY.dataId, KEY.group, 1000);
      await second.timers.advance(2000);
      assert.equal(await reading, 'kept');

      // The servers come back with the same content: the listener, starting from the snapshot, is not called.
      const started = second.config.start().catch(() => undefined);
      await second.listen();
      for (const address of [A, B]) second.net.server(address).up = true;
      second.store.configs.set(groupKey(KEY), 'kept');
      await second.until(() => second.store.listens.length > 0, 'the key listened once connected');
      await second.timers.advance(10_000);
      assert.deepEqual(second.events, []);
      await second.config.shutdown();
      await started;
    });

    it('a key with no snapshot and no server fails getConfig with the connection error', async () => {
      const snapshotDir = await mkdtemp(join(tmpdir(), 'config-snapshot-'));
      dirs.push(snapshotDir);
      const { net, config, timers } = setup({ snapshotDir });
      for (const address of [A, B]) net.server(address).up = false;
      const reading = config.getConfig('missing', KEY.group, 1000);
      const failed = assert.rejects(reading);
      await timers.advance(2000);
      await failed;
      await config.shutdown();
    });
  });
});
