import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { request, UnknownConnectionError, type RequestMessage, type ResponseMessage } from '../../src/protocol/index.js';
import type { PreparedPush } from '../../src/server/connection.js';
import type { Departure } from '../../src/server/connection-manager.js';
import { eventually, RawPeer } from '../support/raw-peer.js';
import { startTestServer } from '../support/server.js';

describe('server lifecycle over real sockets', async () => {
  const { server, sdkPort, host } = await startTestServer();
  const peers: RawPeer[] = [];
  const peer = (): RawPeer => {
    const p = new RawPeer(host, sdkPort);
    peers.push(p);
    return p;
  };
  after(async () => {
    for (const p of peers) p.close();
    await server.close();
  });

  it('ServerCheck, setup, registered, health check, stream end unregisters', async () => {
    const p = peer();
    const id = await p.serverCheck();
    assert.match(id, new RegExp(`^\\d+_127\\.0\\.0\\.1_\\d+_127\\.0\\.0\\.1:${sdkPort - 1000}$`), 'Nacos id, then the member address');
    const before = await p.unary(request('HealthCheckRequest'));
    assert.equal(before.errorCode, 301);
    p.setup({ source: 'sdk', AppName: 'demo' }, { clientVersion: 'Nacos-Test:v9', tenant: 'ns1', clientIp: '10.9.9.9' });
    await eventually(() => server.manager.checkValid(id), 5000, 'registration');
    const info = server.connections().find((c) => c.connectionId === id)!;
    assert.equal(info.clientIp, '10.9.9.9');
    assert.equal(info.remoteIp, '127.0.0.1');
    assert.equal(info.appName, 'demo');
    assert.equal(info.tenant, 'ns1');
    assert.equal(info.version, 'Nacos-Test:v9');
    assert.equal(info.localPort, sdkPort);
    const ok = await p.unary(request('HealthCheckRequest'));
    assert.equal(ok.type, 'HealthCheckResponse');
    assert.equal(ok.resultCode, 200);
    p.endStream();
    await eventually(() => !server.manager.checkValid(id), 5000, 'unregistration');
  });

  it('push and ack; the ack refreshes the connection lastActiveTime', async () => {
    const p = peer();
    const id = await p.register();
    const connection = server.manager.get(id)!;
    connection.lastActiveTime = 0;
    const answer = await server.push(id, request('ClientDetectionRequest'), 2000);
    assert.equal(answer.type, 'ClientDetectionResponse');
    assert.equal(p.pushesOf('ClientDetectionRequest').length, 1);
    assert.ok(connection.lastActiveTime > 0, 'an ack is activity');
  });

  it('pushThen calls back once with the answer, and with UnknownConnectionError after it returns', async () => {
    const p = peer();
    const id = await p.register();
    const answer = await new Promise<ResponseMessage | undefined>((resolve, reject) =>
      server.pushThen(id, request('ClientDetectionRequest'), 2000, (error, response) => (error === undefined ? resolve(response) : reject(error))),
    );
    assert.equal(answer?.type, 'ClientDetectionResponse');
    let returned = false;
    const unknown = await new Promise<Error | undefined>((resolve) => {
      server.pushThen('no-such-connection', request('ClientDetectionRequest'), 2000, (error) => resolve(returned ? error : new Error('called before pushThen returned')));
      returned = true;
    });
    assert.ok(unknown instanceof UnknownConnectionError, String(unknown));
  });

  it('a prepared push reaches several connections over the wire, each acking it, then a different push follows', async () => {
    const peers = [peer(), peer(), peer()];
    const ids = await Promise.all(peers.map((p) => p.register()));
    const pushTo = (push: RequestMessage | PreparedPush) =>
      Promise.all(ids.map((id) => new Promise<ResponseMessage | undefined>((resolve, reject) => server.pushThen(id, push, 2000, (error, answer) => (error === undefined ? resolve(answer) : reject(error))))));
    const prepared = server.preparePush(request('ClientDetectionRequest'));
    assert.deepEqual((await pushTo(prepared)).map((answer) => answer?.type), ['ClientDetectionResponse', 'ClientDetectionResponse', 'ClientDetectionResponse']);
    const second = server.preparePush({ ...request('ClientDetectionRequest'), headers: { round: 'two' } });
    assert.notEqual(second.requestId, prepared.requestId);
    await pushTo(second);
    for (const p of peers) {
      const pushes = p.pushesOf('ClientDetectionRequest');
      assert.deepEqual(pushes.map((m) => m.requestId), [prepared.requestId, second.requestId]);
      assert.equal(pushes[1]!.headers['round'], 'two');
    }
  });

  it('ServerReloadRequest from an SDK connection is refused (403) and sheds nothing', async () => {
    const p = peer();
    await p.register();
    const reply = await p.unary(request('ServerReloadRequest', { reloadCount: 0 }));
    assert.equal(reply.type, 'ErrorResponse');
    assert.equal(reply.errorCode, 403);
    assert.equal(server.manager.shedProgress.active, false);
    const info = await p.unary(request('ServerLoaderInfoRequest'));
    assert.equal(info.type, 'ServerLoaderInfoResponse', 'reading the metrics is harmless and allowed');
  });

  it('transport close unregisters', async () => {
    const p = peer();
    const id = await p.register();
    p.client.close();
    p.close();
    await eventually(() => !server.manager.checkValid(id), 5000, 'unregistration');
  });
});

describe('server close', () => {
  it('resolves after 200 clients from another process came and went', async () => {
    const { server, sdkPort, host } = await startTestServer();
    const script = fileURLToPath(new URL('../support/register-and-leave.ts', import.meta.url));
    await promisify(execFile)(process.execPath, ['--import', 'tsx', script, host, String(sdkPort), '200'], { timeout: 60_000 });
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await eventually(() => closed, 10_000, 'server.close() resolved');
    await closing;
  });
});

describe('server close tells listeners who was moved', () => {
  it('a client that acked its ConnectResetRequest left as moved; one that never answered, as closed', async () => {
    const { server, sdkPort, host } = await startTestServer({ shutdownResetWaitMs: 300 });
    const departures = new Map<string, Departure>();
    server.addConnectionListener({ name: 'departures', onDisconnected: (c, _reason, departure) => departures.set(c.id, departure) });
    const acking = new RawPeer(host, sdkPort);
    const silent = new RawPeer(host, sdkPort);
    silent.autoAck = false;
    try {
      const acked = await acking.register();
      const unanswered = await silent.register();
      await server.close();
      assert.equal(acking.pushesOf('ConnectResetRequest').length, 1);
      assert.deepEqual(Object.fromEntries(departures), { [acked]: 'moved', [unanswered]: 'closed' });
    } finally {
      acking.close();
      silent.close();
    }
  });

  it('a client that acked a reset within the move window is not reset again by shutdown, and left as moved', async () => {
    // nacos-sdk-go handles one reset at a time: another one only holds up the switch it acked.
    const { server, sdkPort, host } = await startTestServer({ shutdownResetWaitMs: 300 });
    const departures = new Map<string, Departure>();
    server.addConnectionListener({ name: 'departures', onDisconnected: (c, _reason, departure) => departures.set(c.id, departure) });
    const switching = new RawPeer(host, sdkPort);
    try {
      const id = await switching.register();
      assert.equal(server.reload(0), 'ok');
      await eventually(() => switching.pushesOf('ConnectResetRequest').length === 1, 10_000, 'reset sent');
      // Pushes are answered in order on the stream: once this one's answer is in, so is the reset's ack.
      await server.push(id, request('ClientDetectionRequest'));
      await server.close();
      assert.equal(switching.pushesOf('ConnectResetRequest').length, 1);
      assert.deepEqual(Object.fromEntries(departures), { [id]: 'moved' });
    } finally {
      switching.close();
    }
  });

  it('a shutdown logs the resets nobody acknowledged as one warning with the count, not a warning each', async () => {
    const lines: { level: number; msg: string; told?: number; acknowledged?: number }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const { server, sdkPort, host } = await startTestServer({ shutdownResetWaitMs: 300, logger });
    const silent = [new RawPeer(host, sdkPort), new RawPeer(host, sdkPort), new RawPeer(host, sdkPort)];
    try {
      for (const peer of silent) {
        peer.autoAck = false;
        await peer.register();
      }
      await server.close();
      const warnings = lines.filter((l) => l.level >= 40);
      assert.deepEqual(
        warnings.map((l) => [l.msg, l.told, l.acknowledged]),
        [['shutdown: connections told to move, some did not acknowledge in time', 3, 0]],
      );
    } finally {
      for (const peer of silent) peer.close();
    }
  });
});
