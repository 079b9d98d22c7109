import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClientNotConnectedError,
  ClientShutdownError,
  ClientStartError,
  ClientStatus,
  InvalidClientOptionError,
  InvalidResponseError,
  RpcClient,
  UnexpectedResponseTypeError,
  UnknownResponseTypeError,
  type RpcClientOptions,
} from '../../src/client/index.js';
import { defineResponseType, request, RequestTimeoutError, response, type Message, type ResponseMessage } from '../../src/protocol/index.js';
import { FakeNetwork } from '../support/fake-client-connection.js';
import { ManualTimers } from '../support/manual-timers.js';
import { testLogger } from '../support/server.js';

const A = '10.0.0.1:8848';
const B = '10.0.0.2:8848';
const C = '10.0.0.3:8848';

/** A client over fake servers A, B, C on a manual clock; `random` 0 starts it on A. */
function setup(options: Partial<RpcClientOptions> = {}, addresses = [A, B, C]) {
  const timers = new ManualTimers();
  const net = new FakeNetwork(timers, addresses);
  const events: string[] = [];
  const client = new RpcClient({
    serverAddresses: addresses,
    logger: testLogger,
    timers,
    random: () => 0,
    connectionFactory: net.factory,
    ...options,
  });
  client.on('connected', (id, server) => events.push(`connected ${server}`));
  client.on('disconnected', (id, server) => events.push(`disconnected ${server}`));
  client.on('lost', (id, server) => events.push(`lost ${server}`));
  client.on('unhealthy', (id, server) => events.push(`unhealthy ${server}`));
  const start = async () => {
    const started = client.start();
    await timers.advance(100); // the setup wait
    await started;
  };
  return { timers, net, client, events, start };
}

/** A client whose first start() has rejected: every server down, the background loop retrying. */
async function setupAfterFailedStart() {
  const client = setup();
  for (const s of client.net.servers.values()) s.up = false;
  const rejected = assert.rejects(client.client.start(), ClientStartError);
  await client.timers.advance(0);
  await rejected;
  return client;
}

const sentTypes = (messages: readonly Message[]) => messages.map((m) => m.type);

describe('RpcClient logic (fake transport, injected clock)', () => {
  it('sends tls.enable after the application labels: a label cannot claim TLS on a plaintext connection', async () => {
    const { client, net, start } = setup({ labels: { 'tls.enable': 'true', zone: 'z1' } });
    await start();
    const labels = (net.connections[0]!.sent[0]!.body as { labels: Record<string, string> }).labels;
    assert.equal(labels['tls.enable'], 'false');
    assert.equal(labels['zone'], 'z1');
    await client.shutdown();
  });

  it('state machine and connect sequence: ServerCheck, setup, 100 ms wait, confirming HealthCheck', async () => {
    const { client, net, start, events } = setup({ appName: 'orders', labels: { zone: 'z1' } });
    assert.equal(client.status, ClientStatus.INITIALIZED);
    await start();
    assert.equal(client.status, ClientStatus.RUNNING);
    const conn = net.connections[0]!;
    assert.equal(conn.address, A);
    assert.deepEqual(sentTypes(conn.requests), ['ServerCheckRequest', 'HealthCheckRequest']);
    const setupMessage = conn.sent[0]!;
    assert.equal(setupMessage.type, 'ConnectionSetupRequest');
    assert.deepEqual((setupMessage.body as { labels: unknown }).labels, { source: 'sdk', AppName: 'orders', 'tls.enable': 'false', zone: 'z1' });
    assert.match(String((setupMessage.body as { clientVersion: string }).clientVersion), /^Nacos-Node-Client:v/);
    assert.deepEqual(events, [`connected ${A}`]);
    await client.start(); // a second start does nothing
    assert.equal(net.connections.length, 1);
    await client.shutdown();
    assert.equal(client.status, ClientStatus.SHUTDOWN);
    assert.equal(conn.closed, true);
    assert.deepEqual(events, [`connected ${A}`, `disconnected ${A}`]);
  });

  it('shutdown() during start(): start rejects, the half-made connection is closed, status stays SHUTDOWN', async () => {
    const { client, net, timers } = setup();
    const first = client.start();
    const second = client.start();
    const rejected = Promise.all([assert.rejects(first, ClientShutdownError), assert.rejects(second, ClientShutdownError)]);
    await timers.advance(50); // inside the setup wait
    await client.shutdown();
    await timers.advance(200);
    await rejected;
    assert.equal(client.status, ClientStatus.SHUTDOWN);
    assert.equal(client.connectionId, undefined);
    assert.ok(net.connections.every((c) => c.closed), 'every connection closed');
    await assert.rejects(client.start(), ClientShutdownError);
  });

  it('health-checks after keepAlive idle; healthy keeps the connection', async () => {
    const { client, net, start, timers } = setup();
    await start();
    const conn = net.connections[0]!;
    const before = conn.requests.length;
    await timers.advance(4000);
    assert.equal(conn.requests.length, before, 'no check before the idle time');
    await timers.advance(1500);
    assert.equal(conn.requests.length, before + 1);
    assert.equal(conn.requests.at(-1)!.type, 'HealthCheckRequest');
    assert.equal(client.status, ClientStatus.RUNNING);
    await client.shutdown();
  });

  it('a health check timing out 4 times (retries 3, 3 s each) makes it reconnect elsewhere', async () => {
    const { client, net, start, timers, events } = setup();
    await start();
    net.server(A).health = 'timeout';
    const conn = net.connections[0]!;
    const before = conn.requests.length;
    await timers.advance(5000 + 4 * 3000 + 100 + 200);
    assert.equal(conn.requests.length - before, 4, 'exactly 4 tries');
    assert.equal(client.status, ClientStatus.RUNNING);
    assert.notEqual(client.currentServer(), A);
    assert.deepEqual(events.slice(1), [`unhealthy ${A}`, `disconnected ${A}`, `connected ${client.currentServer()}`]);
    await client.shutdown();
  });

  it('a hung server (health checks time out, nothing else to go to): unhealthy is emitted at once, not lost, while its stream stays open', async () => {
    const { client, net, start, timers, events } = setup({}, [A]);
    await start();
    net.server(A).health = 'timeout';
    net.server(A).up = false;
    await timers.advance(5000 + 4 * 3000 + 500);
    assert.equal(client.status, ClientStatus.UNHEALTHY);
    assert.equal(net.connections[0]!.closed, false, 'the old connection is kept');
    assert.deepEqual(events, [`connected ${A}`, `unhealthy ${A}`]);
    await client.shutdown();
  });

  it('a health check answered 301 fails at once (any response ends the loop)', async () => {
    const { client, net, start, timers } = setup();
    await start();
    net.server(A).health = 'unregister';
    const conn = net.connections[0]!;
    const before = conn.requests.length;
    await timers.advance(5000 + 300);
    assert.equal(conn.requests.length - before, 1);
    assert.notEqual(client.currentServer(), A);
    await client.shutdown();
  });

  it('start() rejects after retryTimes attempts, then reconnects in the background with Java back-off', async () => {
    const { client, net, timers } = await setupAfterFailedStart();
    // Three start-up attempts, then the background reconnect's first attempt at once.
    assert.equal(net.connections.length, 4);
    assert.equal(new Set(net.createdAt).size, 1, 'no waiting so far');
    await timers.advance(1300);
    // Then 100 ms after each failure in the first pass over 3 servers, 200 ms in the second...
    const background = net.createdAt.slice(3);
    const gaps = background.slice(1).map((t, i) => t - background[i]!);
    assert.deepEqual(gaps.slice(0, 7), [100, 100, 100, 200, 200, 200, 300]);
    net.server(B).up = true;
    await timers.advance(2000);
    assert.equal(client.status, ClientStatus.RUNNING);
    assert.equal(client.currentServer(), B);
    await client.shutdown();
  });

  it('regression: retryTimes <= 0 left start() pending forever, even after shutdown(): refused at construction', () => {
    for (const retryTimes of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => setup({ retryTimes }),
        (error: unknown) => error instanceof InvalidClientOptionError && error.message.includes("'retryTimes'"),
        String(retryTimes),
      );
    }
  });

  it('retryTimes 1: start() rejects after its one failed attempt', async () => {
    const { client, net, timers } = setup({ retryTimes: 1 });
    for (const s of net.servers.values()) s.up = false;
    const rejected = assert.rejects(client.start(), ClientStartError);
    await timers.advance(0);
    await rejected;
    await client.shutdown();
  });

  it('ConnectResetRequest: an address in the list moves there; an unknown one picks another at random', async () => {
    const { client, net, start, timers } = setup({ random: () => 0.99 });
    await start();
    const first = client.currentServer()!;
    const conn = net.connections[0]!;
    conn.push({ ...request('ConnectResetRequest', { serverIp: '10.0.0.2', serverPort: '9999' }), requestId: '1' });
    await timers.advance(200);
    assert.equal(client.currentServer(), B, 'same IP, the list port');
    const reply = conn.sent.find((m) => m.type === 'ConnectResetResponse') as ResponseMessage | undefined;
    assert.equal(reply?.requestId, '1');
    net.connections.at(-1)!.push({ ...request('ConnectResetRequest', { serverIp: '10.9.9.9', serverPort: '8848' }), requestId: '2' });
    await timers.advance(200);
    assert.notEqual(client.currentServer(), B, 'unknown address ignored: moves to another');
    assert.notEqual(first, undefined);
    await client.shutdown();
  });

  it('a ConnectResetRequest on a connection that is no longer current is answered there and moves nothing', async () => {
    const { client, net, start, timers } = setup({ random: () => 0.99 });
    await start();
    const old = net.connections[0]!;
    old.push({ ...request('ConnectResetRequest', { serverIp: '10.0.0.2', serverPort: '8848' }), requestId: '1' });
    await timers.advance(200);
    assert.equal(client.currentServer(), B);
    const connections = net.connections.length;
    old.push({ ...request('ConnectResetRequest', { serverIp: '10.0.0.3', serverPort: '8848' }), requestId: '2' });
    await timers.advance(200);
    assert.equal(client.currentServer(), B, 'old news: the current connection stays');
    assert.equal(net.connections.length, connections, 'no new connection attempted');
    const replies = old.sent.filter((m) => m.type === 'ConnectResetResponse') as ResponseMessage[];
    assert.deepEqual(replies.map((r) => r.requestId), ['1', '2'], 'both answered on the connection they came on');
    await client.shutdown();
  });

  it('a refused setup keeps the client on its old server (decision 10.10)', async () => {
    const { client, net, start, timers } = setup();
    await start();
    net.server(B).acceptSetup = false;
    const conn = net.connections[0]!;
    conn.push({ ...request('ConnectResetRequest', { serverIp: '10.0.0.2', serverPort: '8848' }), requestId: '5' });
    await timers.advance(500);
    assert.equal(client.currentServer(), A);
    assert.equal(client.status, ClientStatus.RUNNING);
    assert.equal(conn.closed, false);
    assert.equal(net.to(B).length, 1);
    assert.equal(net.to(B)[0]!.closed, true, 'the refused connection is closed');
    await client.shutdown();
  });

  it('a lost stream emits lost, then reconnects to another server', async () => {
    const { client, net, start, timers, events } = setup();
    await start();
    net.server(A).up = false;
    net.connections[0]!.endStream();
    await timers.advance(300);
    assert.equal(client.status, ClientStatus.RUNNING);
    assert.notEqual(client.currentServer(), A);
    assert.deepEqual(events.slice(0, 2), [`connected ${A}`, `lost ${A}`]);
    await client.shutdown();
  });

  it('connectFailed tells the error of every failed connect attempt, at start and on a reconnect (a cluster member classifies a refusal by it)', async (t) => {
    const { client, net, start, timers } = setup({}, [A, B]);
    t.after(() => client.shutdown());
    const failed: string[] = [];
    client.on('connectFailed', (server, error) => failed.push(`${server} ${error instanceof Error ? error.name : typeof error}`));
    net.server(A).up = false;
    await start();
    assert.deepEqual(failed, [`${A} ConnectFailedError`], 'the start-up attempt on A');
    net.server(B).up = false;
    net.connections.at(-1)!.endStream();
    await timers.advance(300);
    assert.deepEqual(failed.slice(0, 2), [`${A} ConnectFailedError`, `${A} ConnectFailedError`], 'the reconnect away from B, refused by A');
  });

  it('retryNow(): a reconnect waiting out a grown back-off tries at once; one asked for mid-attempt skips its next wait', async () => {
    const { client, net, start, timers } = setup({ healthCheckTimeoutMs: 1000 }, [A]);
    await start();
    net.server(A).up = false;
    net.connections[0]!.endStream();
    // Attempts at +0, +100, +300, +600, +1000 fail; the next waits 500 ms.
    await timers.advance(1000);
    assert.equal(net.to(A).length, 6);
    net.server(A).up = true;
    client.retryNow();
    await timers.advance(100); // the setup wait
    assert.equal(client.status, ClientStatus.RUNNING, 'connected without waiting out the back-off');
    assert.equal(net.to(A).length, 7);

    // Asked while an attempt is under way (waiting 1 s for its confirming health check): when it
    // fails, the next attempt follows at once, not after 100 ms.
    const lostAt = timers.now();
    net.server(A).health = 'timeout';
    net.connections.at(-1)!.endStream();
    await timers.advance(150);
    client.retryNow();
    net.server(A).health = 'ok';
    await timers.advance(1100);
    assert.equal(client.status, ClientStatus.RUNNING);
    assert.deepEqual(net.createdAt.slice(-2).map((t) => t - lostAt), [0, 1000 + 100]);
    await client.shutdown();
  });

  it('retryNow() before start() changes nothing: the back-off after a failed start is not skipped', async () => {
    // The attempts' times from start(), for a client told retryNow() before it and one not told.
    const attemptTimes = async (retryFirst: boolean) => {
      const { client, net, timers } = setup({}, [A]);
      net.server(A).up = false;
      if (retryFirst) client.retryNow();
      const startedAt = timers.now();
      const rejected = assert.rejects(client.start(), ClientStartError);
      await timers.advance(0);
      await rejected;
      await timers.advance(250);
      await client.shutdown();
      return net.createdAt.map((t) => t - startedAt);
    };
    assert.deepEqual(await attemptTimes(true), await attemptTimes(false));
  });

  it('shutdown() during a reconnect back-off ends the wait: no timer of the client is left', async () => {
    const { client, net, start, timers } = setup({}, [A]);
    await start();
    net.server(A).up = false;
    net.connections[0]!.endStream();
    await timers.advance(1000); // failed attempts; the next waits 500 ms
    await client.shutdown();
    await timers.advance(0);
    assert.equal(timers.pendingCount, 0);
  });

  it('request(): an UN_REGISTER answer switches server, and the retry succeeds there', async () => {
    const { client, net, start, timers } = setup();
    await start();
    net.server(A).health = 'unregister';
    const pending = client.request(request('HealthCheckRequest'), 3000);
    await timers.advance(1000);
    const reply = await pending;
    assert.equal(reply.type, 'HealthCheckResponse');
    assert.notEqual(client.currentServer(), A);
    await client.shutdown();
  });

  it('request() while not connected fails with -401 after its tries', async () => {
    const { client, timers } = setup();
    const pending = client.request(request('HealthCheckRequest'), 3000);
    const failed = assert.rejects(pending, (e: { errorCode?: number }) => e.errorCode === -401);
    await timers.advance(1000);
    await failed;
  });

  // Regression (java-balancing, "no failed request among our clients"): a request that ran out of
  // tries while its client was reconnecting turned the connection installed meanwhile UNHEALTHY, so
  // the client's next requests failed with -401 until a health check restored it.
  it('a request failing while not connected leaves a connection installed meanwhile RUNNING', async () => {
    const { client, net, start, timers } = setup({ setupWaitMs: 50 });
    await start(); // t = 100, on A
    for (const s of net.servers.values()) s.up = false;
    net.connections[0]!.endStream();
    // Tries at +0, +100, +200 find the client reconnecting; it gives up at +300.
    const failed = assert.rejects(client.request(request('HealthCheckRequest'), 3000), ClientNotConnectedError);
    await timers.advance(150);
    for (const s of net.servers.values()) s.up = true;
    // The reconnect attempt at +200 connects at +250, between the request's last try and its end.
    await timers.advance(150);
    await failed;
    const replacement = net.connections.at(-1)!;
    assert.equal(client.currentServer(), replacement.address);
    assert.equal(client.status, ClientStatus.RUNNING);
    await timers.advance(1000);
    assert.deepEqual(sentTypes(replacement.requests), ['ServerCheckRequest', 'HealthCheckRequest'], 'no health check of the new connection');
    assert.equal((await client.request(request('HealthCheckRequest'), 3000)).type, 'HealthCheckResponse');
    await client.shutdown();
  });

  it('a request timing out on a connection replaced meanwhile leaves the new one RUNNING', async () => {
    const { client, net, start, timers } = setup();
    await start();
    net.server(A).health = 'timeout';
    const failed = assert.rejects(client.request(request('HealthCheckRequest'), 3000), RequestTimeoutError);
    // The server moves the client while its request waits on A.
    net.connections[0]!.push({ ...request('ConnectResetRequest', { serverIp: '10.0.0.2', serverPort: '8848' }), requestId: '7' });
    await timers.advance(500);
    assert.equal(client.currentServer(), B);
    await timers.advance(2600);
    await failed;
    assert.equal(client.status, ClientStatus.RUNNING);
    assert.equal(client.currentServer(), B);
    await timers.advance(1000);
    assert.deepEqual(sentTypes(net.to(B)[0]!.requests), ['ServerCheckRequest', 'HealthCheckRequest'], 'no health check of the new connection');
    await client.shutdown();
  });

  it('pushes: unknown types are ignored, a failing handler answers -500, a throwing listener is isolated', async () => {
    const { client, net, start, timers, events } = setup();
    client.on('connected', () => {
      throw new Error('listener bug');
    });
    client.onServerRequest('BoomRequest', () => {
      throw new Error('boom');
    });
    await start();
    assert.deepEqual(events, [`connected ${A}`]);
    const conn = net.connections[0]!;
    const sentBefore = conn.sent.length;
    conn.push({ kind: 'request', type: 'WhatIsThisRequest', headers: {}, requestId: '7', body: {} });
    conn.push({ kind: 'request', type: 'BoomRequest', headers: {}, requestId: '8', body: {} });
    await timers.advance(10);
    const replies = conn.sent.slice(sentBefore) as ResponseMessage[];
    assert.equal(replies.length, 1);
    assert.equal(replies[0]!.type, 'ErrorResponse');
    assert.equal(replies[0]!.errorCode, -500);
    assert.equal(replies[0]!.requestId, '8');
    assert.equal(client.status, ClientStatus.RUNNING);
    await client.shutdown();
  });

  it('setServerAddresses: switches when the current server left the list', async () => {
    const { client, start, timers } = setup();
    await start();
    client.setServerAddresses([B, C]);
    await timers.advance(300);
    assert.ok([B, C].includes(client.currentServer()!), '[B, C].includes(client.currentServer()!)');
    await client.shutdown();
  });
});

describe('RpcClient business answers (fake transport, injected clock)', () => {
  const count = (messages: readonly Message[], type: string) => messages.filter((m) => m.type === type).length;

  it('an answer that cannot be used rejects at once: not sent again, the client stays RUNNING on its connection', async () => {
    const { client, net, start, timers } = setup();
    await start();
    net.server(A).answer = (req) => Promise.reject(new UnknownResponseTypeError(req.type, 'MysteryResponse'));
    await assert.rejects(client.request(request('MysteryRequest')), UnknownResponseTypeError);
    const conn = net.connections[0]!;
    assert.equal(count(conn.requests, 'MysteryRequest'), 1);
    assert.equal(client.status, ClientStatus.RUNNING);
    await timers.advance(1000);
    assert.equal(client.currentServer(), A);
    assert.equal(net.connections.length, 1, 'no switch');
    await client.shutdown();
  });

  it('retryUndecodableResponses: Java 2.2.4 behaviour: 3 tries, UNHEALTHY, then a health check keeps the connection', async () => {
    const { client, net, start, timers } = setup({ retryUndecodableResponses: true });
    await start();
    net.server(A).answer = (req) => Promise.reject(new InvalidResponseError(req.type, 'broken'));
    await assert.rejects(client.request(request('BrokenRequest')), InvalidResponseError);
    const conn = net.connections[0]!;
    assert.equal(count(conn.requests, 'BrokenRequest'), 3);
    assert.equal(client.status, ClientStatus.UNHEALTHY);
    await timers.advance(1000); // the loop's health check (0-499 ms jitter) passes
    assert.equal(client.status, ClientStatus.RUNNING);
    assert.equal(net.connections.length, 1);
    await client.shutdown();
  });

  it('request({ expect }): the expected type resolves; another type rejects with UnexpectedResponseTypeError, not sent again', async () => {
    const { client, net, start } = setup();
    await start();
    const ConfigQueryResponse = defineResponseType('ConfigQueryResponse', { parseBody: (json) => ({ content: String(json['content']) }) });
    net.server(A).answer = async (req) =>
      req.type === 'ConfigQueryRequest' ? response('ConfigQueryResponse', { content: 'x=1' }) : response('ConfigRemoveResponse');
    const reply = await client.request(request('ConfigQueryRequest'), { expect: ConfigQueryResponse, timeoutMs: 1000 });
    assert.equal(reply.body.content, 'x=1');
    await assert.rejects(
      client.request(request('ConfigRemoveRequest'), { expect: ConfigQueryResponse }),
      (error: unknown) => error instanceof UnexpectedResponseTypeError && error.responseType === 'ConfigRemoveResponse' && error.expectedType === 'ConfigQueryResponse',
    );
    assert.equal(count(net.connections[0]!.requests, 'ConfigRemoveRequest'), 1);
    assert.equal(client.status, ClientStatus.RUNNING);
    await client.shutdown();
  });
});

describe('RpcClient start() and off() (fake transport, injected clock)', () => {
  it('a start() after a rejected start resolves once the background loop connects', async () => {
    const { client, net, timers } = await setupAfterFailedStart();
    let resolved = false;
    const second = client.start().then(() => (resolved = true));
    await timers.advance(150);
    assert.equal(resolved, false, 'still no server');
    net.server(B).up = true;
    await timers.advance(1000);
    await second;
    assert.equal(client.status, ClientStatus.RUNNING);
    await client.start(); // RUNNING: at once
    await client.shutdown();
  });

  it('a start() while every server still fails rejects after retryTimes more attempts; shutdown() rejects a waiting one', async () => {
    const { client, net, timers } = await setupAfterFailedStart();
    const before = net.connections.length;
    let attemptsWhenRejected = -1;
    const second = client.start().then(
      () => assert.fail('resolved with every server down'),
      (error: unknown) => {
        attemptsWhenRejected = net.connections.length - before;
        assert.ok(error instanceof ClientStartError);
      },
    );
    await timers.advance(1000);
    await second;
    assert.equal(attemptsWhenRejected, 3);
    const third = assert.rejects(client.start(), ClientShutdownError);
    await client.shutdown();
    await third;
  });

  it('off() unsubscribes a listener; the others still hear; on() and off() chain', async () => {
    const { client, start, timers, net } = setup({ random: () => 0.99 });
    const heard: string[] = [];
    const listener = (id: string, server: string) => heard.push(server);
    assert.equal(client.on('connected', listener).off('connected', listener).off('lost', listener), client);
    const kept = (id: string, server: string) => heard.push(`kept ${server}`);
    client.on('connected', listener).on('connected', kept);
    await start();
    const first = client.currentServer()!;
    assert.deepEqual(heard, [first, `kept ${first}`]);
    client.off('connected', listener);
    net.connections[0]!.push({ ...request('ConnectResetRequest', { serverIp: '10.0.0.2', serverPort: '8848' }), requestId: '1' });
    await timers.advance(300);
    assert.equal(client.currentServer(), B);
    assert.deepEqual(heard, [first, `kept ${first}`, `kept ${B}`]);
    await client.shutdown();
  });
});
