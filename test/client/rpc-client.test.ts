import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { ClientStartError, ClientStatus, RpcClient } from '../../src/client/index.js';
import { defineRequestType, defineResponseType, request, response } from '../../src/protocol/index.js';
import { parseLimitRule } from '../../src/server/control/limit-rule.js';
import type { NacosServer } from '../../src/server/nacos-server.js';
import { evenSpreadRandom } from '../support/even-random.js';
import { findMainPort } from '../support/ports.js';
import { eventually } from '../support/raw-peer.js';
import { startTestServer, testLogger } from '../support/server.js';

const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'] as const;

function client(port: number, hosts: readonly string[] = HOSTS, extra: Partial<ConstructorParameters<typeof RpcClient>[0]> = {}): RpcClient {
  return new RpcClient({ serverAddresses: hosts.map((h) => `${h}:${port}`), logger: testLogger, keepAliveMs: 1000, ...extra });
}

describe('RpcClient against our server on 127.0.0.1-3', () => {
  let port: number;
  const servers = new Map<string, NacosServer>();
  const refusals = new Map<string, number>();
  const clients: RpcClient[] = [];

  before(async () => {
    port = await findMainPort([...HOSTS]);
    for (const host of HOSTS) {
      const observer = { setupHandled: (outcome: string) => outcome === 'refused' && refusals.set(host, (refusals.get(host) ?? 0) + 1) };
      servers.set(host, (await startTestServer({ host, port, observer })).server);
    }
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.shutdown()));
    for (const s of servers.values()) await s.close();
  });

  const hostOf = (c: RpcClient) => c.currentServer()!.split(':')[0]!;
  const serverOf = (c: RpcClient) => servers.get(hostOf(c))!;

  it('starts, registers with its labels and version, answers requests, shuts down', async () => {
    const c = client(port, HOSTS, { appName: 'orders', labels: { team: 'a' }, tenant: 'ns' });
    await c.start();
    assert.equal(c.status, ClientStatus.RUNNING);
    const info = serverOf(c).connections().find((x) => x.connectionId === c.connectionId)!;
    assert.ok(info, 'registered on the server it reports');
    assert.deepEqual(info.labels, { source: 'sdk', AppName: 'orders', 'tls.enable': 'false', team: 'a' });
    assert.match(info.version, /^Nacos-Node-Client:v\d+\.\d+\.\d+/);
    assert.equal(info.tenant, 'ns');
    const reply = await c.request(request('HealthCheckRequest'));
    assert.equal(reply.type, 'HealthCheckResponse');
    const id = c.connectionId!;
    const s = serverOf(c);
    const events: string[] = [];
    c.on('disconnected', (cid) => events.push(`disconnected ${cid}`));
    await c.shutdown();
    assert.equal(c.status, ClientStatus.SHUTDOWN);
    assert.deepEqual(events, [`disconnected ${id}`]);
    await eventually(() => !s.manager.checkValid(id), 5000, 'unregistered after shutdown');
  });

  it('two clients in one process get two connections', async () => {
    const a = client(port, ['127.0.0.1']);
    const b = client(port, ['127.0.0.1']);
    clients.push(a, b);
    await Promise.all([a.start(), b.start()]);
    assert.notEqual(a.connectionId, b.connectionId);
  });

  it('answers pushes with its handlers, on the stream they came on', async () => {
    const c = client(port);
    clients.push(c);
    c.onServerRequest('NotifySubscriberRequest', (push) => response('NotifySubscriberResponse', { seen: Object.keys(push.body) }));
    await c.start();
    const s = serverOf(c);
    s.defineMessageTypes(defineRequestType('NotifySubscriberRequest', { module: 'naming' }), defineResponseType('NotifySubscriberResponse'));
    const reply = await s.push(c.connectionId!, request('NotifySubscriberRequest', { serviceInfo: {} }));
    assert.equal(reply.type, 'NotifySubscriberResponse');
    assert.deepEqual(reply.body, { seen: ['serviceInfo'] });
    const detection = await s.push(c.connectionId!, request('ClientDetectionRequest'));
    assert.equal(detection.type, 'ClientDetectionResponse');
  });

  it('ConnectResetRequest with an address moves it there; old connection unregistered', async () => {
    const c = client(port, HOSTS, { random: () => 0 }); // starts on 127.0.0.1
    clients.push(c);
    await c.start();
    const first = servers.get(hostOf(c))!;
    const oldId = c.connectionId!;
    const target = HOSTS.find((h) => h !== hostOf(c))!;
    const order: string[] = [];
    c.on('disconnected', () => order.push('disconnected')).on('connected', () => order.push('connected'));
    assert.equal(await first.manager.loadSingle(oldId, `${target}:${port}`), true);
    await eventually(() => hostOf(c) === target, 10_000, 'moved to target');
    await eventually(() => !first.manager.checkValid(oldId), 5000, 'old unregistered');
    assert.ok(servers.get(target)!.manager.checkValid(c.connectionId!), 'servers.get(target)!.manager.checkValid(c.connectionId!)');
    assert.deepEqual(order, ['disconnected', 'connected']);
  });

  it('ConnectResetRequest without an address spreads clients over the others, none back on the shedder', async () => {
    // 10 clients start on each node; the shedder's 10 split between the two others.
    const many = Array.from({ length: 30 }, (_, i) => client(port, HOSTS, { random: evenSpreadRandom(i, 30) }));
    clients.push(...many);
    await Promise.all(many.map((c) => c.start()));
    const shedder = servers.get('127.0.0.2')!;
    const onShedder = many.filter((c) => hostOf(c) === '127.0.0.2');
    assert.equal(onShedder.length, 10, 'the start drew from the injected random source');
    await Promise.all(onShedder.map((c) => shedder.manager.loadSingle(c.connectionId!)));
    await eventually(() => onShedder.every((c) => hostOf(c) !== '127.0.0.2' && c.status === ClientStatus.RUNNING), 15_000, 'moved');
    const to1 = onShedder.filter((c) => hostOf(c) === '127.0.0.1').length;
    assert.ok(to1 > 0 && to1 < onShedder.length, `spread over both others (to 127.0.0.1: ${to1}/${onShedder.length})`);
  });

  it('a request in flight during a move succeeds', async () => {
    const c = client(port, HOSTS, { random: () => 0 });
    clients.push(c);
    await c.start();
    const s = serverOf(c);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let arrived = false;
    s.registerHandler('SlowRequest', async () => {
      arrived = true;
      await held;
      return response('HealthCheckResponse');
    });
    const inFlight = c.request(request('SlowRequest'), 10_000);
    await eventually(() => arrived, 5000, 'the request at the server');
    await s.manager.loadSingle(c.connectionId!, `127.0.0.2:${port}`);
    await eventually(() => hostOf(c) === '127.0.0.2', 10_000, 'moved during request');
    release();
    const reply = await inFlight;
    assert.equal(reply.resultCode, 200);
  });

  it('a refused setup keeps the client on its old server', async () => {
    const logged: string[] = [];
    const c = client(port, HOSTS, { random: () => 0, logger: pino({ level: 'info' }, { write: (line: string) => logged.push(line) }) });
    clients.push(c);
    await c.start();
    const home = servers.get(hostOf(c))!;
    const full = servers.get('127.0.0.3')!;
    full.manager.setLimitRule(parseLimitRule({ countLimit: 0 }));
    try {
      const id = c.connectionId!;
      assert.equal(await home.manager.loadSingle(id, `127.0.0.3:${port}`), true);
      await eventually(() => refusals.get('127.0.0.3'), 5000, 'the move was tried and refused');
      await eventually(() => logged.some((line) => line.includes('reconnect attempt failed')), 5000, 'the client gave up the move');
      assert.equal(c.connectionId, id, 'still on its connection');
      assert.equal(c.status, ClientStatus.RUNNING);
      assert.ok(home.manager.checkValid(id), 'home.manager.checkValid(id)');
      assert.equal((await c.request(request('HealthCheckRequest'))).resultCode, 200);
    } finally {
      full.manager.setLimitRule(parseLimitRule({}));
    }
  });

  it('start() rejects with ClientStartError when no server answers, and keeps trying', async () => {
    const deadPort = await findMainPort(['127.0.0.1']);
    const c = client(deadPort, ['127.0.0.1'], { serverCheckTimeoutMs: 300 });
    clients.push(c);
    await assert.rejects(c.start(), ClientStartError);
    assert.notEqual(c.status, ClientStatus.RUNNING);
    const late = await startTestServer({ host: '127.0.0.1', port: deadPort });
    try {
      await eventually(() => c.status === ClientStatus.RUNNING, 15_000, 'connected once a server appears');
    } finally {
      await c.shutdown();
      await late.server.close();
    }
  });
});
