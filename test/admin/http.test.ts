import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAdminApp } from '../../src/admin/http.js';
import { NodeMetrics } from '../../src/admin/metrics.js';
import { ClusterLoader } from '../../src/cluster/cluster-loader.js';
import { ClusterMembers } from '../../src/cluster/cluster-members.js';
import { request } from '../../src/protocol/index.js';
import { NacosServer } from '../../src/server/nacos-server.js';
import { startTestNode } from '../support/node.js';
import { metricValue, parsePrometheus } from '../support/prometheus.js';
import { eventually, RawPeer } from '../support/raw-peer.js';
import { testLogger } from '../support/server.js';

const LOADER = '/nacos/v2/core/loader';
const CONTROL = '/nacos/v2/core/control/connection';

describe('admin HTTP: health', () => {
  it('readiness is 500 until started, then 200; liveness is always 200', async () => {
    const server = new NacosServer({ host: '127.0.0.1', port: 1, logger: testLogger });
    const members = new ClusterMembers({ self: '127.0.0.1:1', members: [], grpcPortOffset: 1000, logger: testLogger });
    const cluster = new ClusterLoader(server, members, testLogger);
    const app = createAdminApp({ server, cluster, members, metrics: new NodeMetrics(), limitRuleFile: '/nonexistent', logger: testLogger });
    assert.equal((await app.inject({ url: '/nacos/v1/console/health/readiness' })).statusCode, 500);
    assert.equal((await app.inject({ url: '/nacos/v1/console/health/liveness' })).statusCode, 200);
    (server as unknown as { startedFlag: boolean }).startedFlag = true;
    const ready = await app.inject({ url: '/nacos/v1/console/health/readiness' });
    assert.equal(ready.statusCode, 200);
    assert.equal(ready.body, 'OK');
    await app.close();
  });
});

describe('admin HTTP: loader API and control on one node', () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  const peers: RawPeer[] = [];
  const ids: string[] = [];

  before(async () => {
    node = await startTestNode();
    const specs = [
      { labels: { source: 'sdk', AppName: 'orders', zone: 'a' }, clientIp: '10.0.0.1' },
      { labels: { source: 'sdk', AppName: 'orders', zone: 'b' }, clientIp: '10.0.0.2' },
      { labels: { source: 'sdk', AppName: 'billing', zone: 'a' }, clientIp: '10.0.0.1' },
    ];
    for (const spec of specs) {
      const p = new RawPeer('127.0.0.1', node.server.ports.sdk);
      peers.push(p);
      const id = await p.serverCheck();
      p.setup(spec.labels, { clientIp: spec.clientIp, clientVersion: 'Nacos-Test:v1' });
      await eventually(() => node.server.manager.checkValid(id));
      ids.push(id);
    }
  });
  after(async () => {
    for (const p of peers) p.close();
    await node.dispose();
  });

  const get = (url: string) => node.http.inject({ method: 'GET', url });

  it('current: Nacos shape, createTime in epoch ms, filters and limit', async () => {
    const all = (await get(`${LOADER}/current`)).json() as Record<string, { metaInfo: Record<string, unknown>; labels: Record<string, string> }>;
    assert.deepEqual(Object.keys(all).sort(), [...ids].sort());
    const first = all[ids[0]!]!;
    assert.equal(first.metaInfo['clientIp'], '10.0.0.1');
    assert.equal(first.metaInfo['appName'], 'orders');
    assert.equal(first.metaInfo['version'], 'Nacos-Test:v1');
    assert.equal(first.metaInfo['sdkSource'], true);
    assert.equal(typeof first.metaInfo['createTime'], 'number');
    for (const key of ['labels', 'traced', 'abilities', 'connected', 'metaInfo']) assert.ok(key in first, key);
    const keysOf = async (q: string) => Object.keys((await get(`${LOADER}/current?${q}`)).json() as object).sort();
    assert.deepEqual(await keysOf('clientIp=10.0.0.1'), [ids[0]!, ids[2]!].sort());
    assert.deepEqual(await keysOf('appName=orders'), [ids[0]!, ids[1]!].sort());
    assert.deepEqual(await keysOf('label.zone=a&appName=orders'), [ids[0]!]);
    assert.equal((await keysOf('limit=2')).length, 2);
    const bad = await get(`${LOADER}/current?limit=zero`);
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().message, /'limit'/);
  });

  it('cluster: the 9 keys for a one-member cluster', async () => {
    const body = (await get(`${LOADER}/cluster`)).json() as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['avg', 'completed', 'detail', 'max', 'memberCount', 'metricsCount', 'min', 'threshold', 'total']);
    assert.equal(body['memberCount'], 1);
    assert.equal(body['completed'], true);
    assert.equal(body['total'], 3);
    const detail = body['detail'] as { address: string; metric: Record<string, string> }[];
    assert.equal(detail[0]!.address, node.cluster.selfAddress);
    assert.equal(detail[0]!.metric['sdkConCount'], '3');
  });

  it('bad parameters get 400 naming the parameter, and change nothing', async () => {
    const cases: [string, RegExp][] = [
      [`${LOADER}/reloadCurrent`, /'count' is required/],
      [`${LOADER}/reloadCurrent?count=abc`, /'count' must be an integer/],
      [`${LOADER}/reloadCurrent?count=-1`, /'count' must be at least 0/],
      [`${LOADER}/reloadCurrent?count=1&redirectAddress=nowhere`, /'redirectAddress' must be ip:port/],
      [`${LOADER}/reloadCurrent?count=1&redirectAddress=10.0.0.1:99999`, /'redirectAddress'/],
      [`${LOADER}/reloadClient`, /'connectionId' is required/],
      [`${LOADER}/reloadClient?connectionId=${ids[0]}&redirectAddress=1.2.3.4`, /'redirectAddress'/],
      [`${LOADER}/smartReloadCluster?loaderFactor=2`, /'loaderFactor'/],
      [`${LOADER}/smartReloadCluster?loaderFactor=x`, /'loaderFactor'/],
    ];
    for (const [url, message] of cases) {
      const res = await get(url);
      assert.equal(res.statusCode, 400, url);
      assert.match(res.json().message, message, url);
    }
    assert.equal(node.server.manager.count, 3);
    assert.equal(node.server.manager.shedProgress.active, false);
    assert.ok(peers.every((p) => p.pushesOf('ConnectResetRequest').length === 0), 'peers.every((p) => p.pushesOf(\'ConnectResetRequest\').length === 0)');
  });

  it('reloadClient: unknown id 404; a known one is reset toward the redirect', async () => {
    const unknown = await get(`${LOADER}/reloadClient?connectionId=nope`);
    assert.equal(unknown.statusCode, 404);
    // The only member of a standalone node is itself.
    const self = node.cluster.selfAddress;
    const res = await get(`${LOADER}/reloadClient?connectionId=${ids[2]}&redirectAddress=${self}`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, 'success');
    const reset = peers[2]!.pushesOf('ConnectResetRequest')[0]!;
    assert.deepEqual(reset.body, { serverIp: self.split(':')[0], serverPort: self.split(':')[1] });
  });

  it('smartReloadCluster on a one-member cluster: Ok, nothing to pair', async () => {
    const res = await get(`${LOADER}/smartReloadCluster?loaderFactor=0.2`);
    assert.equal(res.body, 'Ok');
  });

  it('over real HTTP too', async () => {
    const res = await fetch(`${node.base}${LOADER}/cluster`);
    assert.equal(res.status, 200);
    const bad = await fetch(`${node.base}${LOADER}/reloadCurrent`);
    assert.equal(bad.status, 400);
  });

  it('control: GET shows the rule; bad PUT gets 400 naming the key and changes nothing', async () => {
    const shown = (await get(CONTROL)).json() as { rule: Record<string, unknown> };
    assert.equal(shown.rule['countLimit'], -1);
    const bad = await node.http.inject({ method: 'PUT', url: CONTROL, payload: { countLimitPerClientIp: { '10.0.0.1': 'lots' } } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().message, /countLimitPerClientIp\.10\.0\.0\.1/);
    const notJson = await node.http.inject({ method: 'PUT', url: CONTROL, headers: { 'content-type': 'application/json' }, payload: '{"countLimit":' });
    assert.equal(notJson.statusCode, 400);
    assert.equal(existsSync(join(node.home, 'data', 'connection', 'limitRule')), false);
    assert.equal(node.server.manager.limitRule.countLimit, -1);
  });

  it('control: lowering a per-IP limit persists it and sheds the surplus', async () => {
    const resets = () => peers.slice(0, 3).map((p) => p.pushesOf('ConnectResetRequest').length);
    const before = resets();
    const res = await node.http.inject({ method: 'PUT', url: CONTROL, payload: { countLimitPerClientIp: { '10.0.0.1': 1 }, monitorIpList: ['10.0.0.2'], ignoredKey: true } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().shedding, 1);
    const file = JSON.parse(readFileSync(join(node.home, 'data', 'connection', 'limitRule'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(file['countLimitPerClientIp'], { '10.0.0.1': 1 });
    await eventually(() => resets()[0]! + resets()[2]! === before[0]! + before[2]! + 1, 5000, 'one 10.0.0.1 peer reset');
    assert.equal(resets()[1], before[1], 'other IPs untouched');
    assert.equal(node.server.manager.get(ids[1]!)?.traced, true);
  });

  it('metrics: the scrape parses and counts move', async () => {
    const scrape = async () => parsePrometheus((await get('/metrics')).body);
    const before = await scrape();
    assert.equal(metricValue(before, 'nacos_remote_connections', { source: 'sdk' }), node.server.manager.count);
    assert.ok(metricValue(before, 'nacos_remote_registrations_total') >= 3, 'registrations counted');
    assert.ok(metricValue(before, 'nacos_remote_unary_requests_total', { type: 'ServerCheckRequest', code: '200' }) >= 3, 'ServerChecks counted');
    assert.ok(metricValue(before, 'nacos_remote_pushes_total', { type: 'ConnectResetRequest', outcome: 'sent' }) >= 1, 'pushes counted');
    assert.ok(before.some((s) => s.name === 'nacos_remote_nodejs_eventloop_lag_seconds'), 'before.some((s) => s.name === \'nacos_remote_nodejs_eventloop_lag_seconds\')');
    assert.ok(before.some((s) => s.name === 'nacos_remote_process_resident_memory_bytes'), 'before.some((s) => s.name === \'nacos_remote_process_resident_memory_bytes\')');
    const p = new RawPeer('127.0.0.1', node.server.ports.sdk);
    peers.push(p);
    await p.register();
    p.endStream();
    await eventually(async () => metricValue(await scrape(), 'nacos_remote_unregistrations_total', { reason: 'stream ended by client' }) >= 1, 5000, 'unregistration counted');
    const after = await scrape();
    assert.equal(metricValue(after, 'nacos_remote_registrations_total'), metricValue(before, 'nacos_remote_registrations_total') + 1);
    assert.ok(metricValue(after, 'nacos_remote_setup_seconds_count') >= 4, 'setups timed');
  });

  it('metrics: unary answers are counted by type and code, once each however often scraped', async () => {
    const scrape = async () => parsePrometheus((await get('/metrics')).body);
    const counted = (samples: Awaited<ReturnType<typeof scrape>>, type: string, code: string) => metricValue(samples, 'nacos_remote_unary_requests_total', { type, code });
    const before = await scrape();
    const p = new RawPeer('127.0.0.1', node.server.ports.sdk);
    peers.push(p);
    await p.unary(request('ServerCheckRequest'));
    await p.unary(request('ServerCheckRequest'));
    assert.equal((await p.unary(request('HealthCheckRequest'))).errorCode, 301);
    const once = await scrape();
    const twice = await scrape();
    for (const samples of [once, twice]) {
      assert.equal(counted(samples, 'ServerCheckRequest', '200'), counted(before, 'ServerCheckRequest', '200') + 2);
      assert.equal(counted(samples, 'HealthCheckRequest', '301'), counted(before, 'HealthCheckRequest', '301') + 1);
    }
    assert.equal(metricValue(twice, 'nacos_remote_unary_request_seconds_count', { type: 'HealthCheckRequest' }), metricValue(once, 'nacos_remote_unary_request_seconds_count', { type: 'HealthCheckRequest' }));
  });

  it('metrics: unknown request types, chosen by a peer, all count as type="other" (bounded label values)', async () => {
    const scrape = async () => parsePrometheus((await get('/metrics')).body);
    const unaryNames = ['nacos_remote_unary_requests_total', 'nacos_remote_unary_request_seconds_count'];
    const typesOf = (samples: Awaited<ReturnType<typeof scrape>>) => new Set(samples.filter((s) => unaryNames.includes(s.name)).map((s) => s.labels['type']));
    const before = await scrape();
    const p = new RawPeer('127.0.0.1', node.server.ports.sdk);
    peers.push(p);
    const unknown = [...Array.from({ length: 3 }, () => `Made${randomUUID().replaceAll('-', '')}Request`), '__proto__'];
    for (const type of unknown) await p.unary(request(type as 'UnknownRequest'));
    const after = await scrape();
    for (const name of unaryNames) assert.equal(metricValue(after, name, { type: 'other' }), metricValue(before, name, { type: 'other' }) + unknown.length, name);
    assert.deepEqual(typesOf(after), new Set([...typesOf(before), 'other']), 'no new type label but other');
    for (const type of unknown) assert.ok(!after.some((sample) => Object.values(sample.labels).includes(type)), `no sample carries ${type}`);
  });
});

describe('admin HTTP: the rule survives a restart', () => {
  it('a node started on the same home reads the persisted rule', async () => {
    const first = await startTestNode();
    const home = first.home;
    await first.http.inject({ method: 'PUT', url: CONTROL, payload: { countLimit: 7 } });
    await first.close();
    const second = await startTestNode({ home });
    try {
      assert.equal(second.server.manager.limitRule.countLimit, 7);
    } finally {
      await second.dispose();
      await first.dispose();
    }
  });
});

describe('admin HTTP: auth', () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  const token = 'secret-token-123';
  before(async () => {
    node = await startTestNode({ auth: { tokens: ['another-token-456', token] } });
  });
  after(() => node.dispose());

  const writes = [
    { method: 'GET' as const, url: `${LOADER}/reloadCurrent?count=100` },
    { method: 'GET' as const, url: `${LOADER}/reloadClient?connectionId=none` },
    { method: 'GET' as const, url: `${LOADER}/smartReloadCluster` },
    { method: 'PUT' as const, url: CONTROL, payload: { countLimit: 3 } },
  ];

  it('every write endpoint is refused (403) without or with a wrong token, and nothing changes', async () => {
    for (const w of writes) {
      const none = await node.http.inject(w);
      assert.equal(none.statusCode, 403, w.url);
      assert.match(none.json().message, /accessToken/);
      const sep = w.url.includes('?') ? '&' : '?';
      const wrong = await node.http.inject({ ...w, url: `${w.url}${sep}accessToken=nope` });
      assert.equal(wrong.statusCode, 403, w.url);
    }
    assert.equal(node.server.manager.limitRule.countLimit, -1);
  });

  it('accepted with the token as a query parameter or header', async () => {
    for (const w of writes) {
      const sep = w.url.includes('?') ? '&' : '?';
      const viaQuery = await node.http.inject({ ...w, url: `${w.url}${sep}accessToken=${token}` });
      assert.notEqual(viaQuery.statusCode, 403, w.url);
      const viaHeader = await node.http.inject({ ...w, headers: { accessToken: token } });
      assert.notEqual(viaHeader.statusCode, 403, w.url);
    }
    assert.equal(node.server.manager.limitRule.countLimit, 3);
  });

  it('reads stay open unless protectReads', async () => {
    assert.equal((await node.http.inject({ url: `${LOADER}/current` })).statusCode, 200);
    assert.equal((await node.http.inject({ url: '/metrics' })).statusCode, 200);
    const strict = await startTestNode({ auth: { tokens: [token], protectReads: true } });
    try {
      assert.equal((await strict.http.inject({ url: `${LOADER}/current` })).statusCode, 403);
      assert.equal((await strict.http.inject({ url: `${LOADER}/cluster`, headers: { accessToken: token } })).statusCode, 200);
    } finally {
      await strict.dispose();
    }
  });
});

describe('admin HTTP: drain', () => {
  it('POST ops/drain needs write access, then drains and closes the node', async () => {
    const token = 'drain-token-123';
    const node = await startTestNode({ auth: { tokens: [token] }, drainWindowMs: 200 });
    try {
      const denied = await node.http.inject({ method: 'POST', url: '/nacos/v2/core/ops/drain' });
      assert.equal(denied.statusCode, 403);
      assert.equal(node.server.started, true, 'a refused drain changes nothing');
      const peer = new RawPeer('127.0.0.1', node.server.ports.sdk);
      try {
        await peer.register();
        const accepted = await node.http.inject({ method: 'POST', url: '/nacos/v2/core/ops/drain', headers: { accessToken: token } });
        assert.equal(accepted.statusCode, 202);
        assert.deepEqual(accepted.json(), { draining: true, clients: 1 });
        await node.closed;
        assert.equal(node.server.started, false);
        assert.equal(peer.pushesOf('ConnectResetRequest').length, 1, 'its client was told to go');
      } finally {
        peer.close();
      }
    } finally {
      await node.dispose();
    }
  });
});
