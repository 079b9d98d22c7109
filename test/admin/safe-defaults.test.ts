import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import pino, { type Logger } from 'pino';
import { createAdminApp, type AdminContext } from '../../src/admin/http.js';
import { NodeMetrics } from '../../src/admin/metrics.js';
import { ClusterLoader } from '../../src/cluster/cluster-loader.js';
import { ClusterMembers } from '../../src/cluster/cluster-members.js';
import { parseMember } from '../../src/cluster/members.js';
import { ShedPriority } from '../../src/server/control/shed-pacer.js';
import { NacosServer } from '../../src/server/nacos-server.js';
import { startTestNode } from '../support/node.js';
import { findMainPort } from '../support/ports.js';
import { eventually, RawPeer } from '../support/raw-peer.js';
import { testLogger } from '../support/server.js';

const LOADER = '/nacos/v2/core/loader';
const CONTROL = '/nacos/v2/core/control/connection';
const DRAIN = '/nacos/v2/core/ops/drain';
const READINESS = '/nacos/v1/console/health/readiness';
const SELF = '127.0.0.1:8848';
const OTHER_MEMBER = '10.9.9.9:8848';
const STRANGER = '203.0.113.7';

const homes: string[] = [];
after(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

/**
 * An admin app on a two-member cluster (this node and 10.9.9.9), not listening: requests are
 * injected with the source address each test needs. Nothing here opens a socket.
 */
function adminApp(options: Partial<Pick<AdminContext, 'auth' | 'policy' | 'logger' | 'limitRuleFile'>> = {}) {
  const home = mkdtempSync(join(tmpdir(), 'nacos-remote-admin-'));
  homes.push(home);
  const logger = options.logger ?? testLogger;
  const server = new NacosServer({ host: '127.0.0.1', port: 8848, logger });
  const members = new ClusterMembers({
    self: SELF,
    members: [parseMember(SELF, 'test'), parseMember(OTHER_MEMBER, 'test')],
    grpcPortOffset: 1000,
    logger,
  });
  const drains: number[] = [];
  const app = createAdminApp({
    server,
    cluster: new ClusterLoader(server, members, logger),
    members,
    metrics: new NodeMetrics(),
    limitRuleFile: options.limitRuleFile ?? join(home, 'data', 'connection', 'limitRule'),
    logger,
    drain: () => drains.push(Date.now()),
    ...(options.auth === undefined ? {} : { auth: options.auth }),
    ...(options.policy === undefined ? {} : { policy: options.policy }),
  });
  return { app, server, drains, home };
}

interface Call {
  readonly method: 'GET' | 'PUT' | 'POST';
  readonly url: string;
  readonly payload?: Record<string, unknown>;
}

/** Every state-changing call the admin API has, in the form an operator's script sends it. */
const WRITES: readonly Call[] = [
  { method: 'GET', url: `${LOADER}/reloadCurrent?count=0` },
  { method: 'GET', url: `${LOADER}/reloadClient?connectionId=none` },
  { method: 'GET', url: `${LOADER}/smartReloadCluster` },
  { method: 'PUT', url: CONTROL, payload: { countLimit: 0 } },
  { method: 'POST', url: DRAIN },
];
const READS = [`${LOADER}/current`, `${LOADER}/cluster`, CONTROL, '/metrics', '/nacos/v2/core/cluster/node/list'];

describe('admin HTTP safe defaults: writes without a token', () => {
  it('are refused from an address that is neither loopback nor a member, saying how to set a token; nothing changes', async () => {
    const { app, server, drains } = adminApp();
    for (const write of WRITES) {
      const res = await app.inject({ ...write, remoteAddress: STRANGER });
      assert.equal(res.statusCode, 403, `${write.method} ${write.url}`);
      assert.match(res.json().message, /--auth-token/, write.url);
      assert.match(res.json().message, /auth\.tokens/, write.url);
    }
    assert.equal(server.manager.limitRule.countLimit, -1);
    assert.deepEqual(drains, []);
    await app.close();
  });

  it('are accepted from loopback (IPv4, IPv6, IPv4-mapped) and from a member', async () => {
    const { app, server, drains } = adminApp();
    for (const source of ['127.0.0.1', '127.3.4.5', '::1', '::ffff:127.0.0.1', '10.9.9.9', '::ffff:10.9.9.9']) {
      for (const write of WRITES) {
        const res = await app.inject({ ...write, remoteAddress: source });
        assert.notEqual(res.statusCode, 403, `${write.method} ${write.url} from ${source}: ${res.body}`);
      }
    }
    assert.equal(server.manager.limitRule.countLimit, 0);
    assert.equal(drains.length, 6);
    await app.close();
  });

  it('reads stay open from anywhere; with auth.protectReads and no token, only loopback and members read', async () => {
    const open = adminApp();
    for (const url of READS) assert.equal((await open.app.inject({ url, remoteAddress: STRANGER })).statusCode, 200, url);
    await open.app.close();
    const guarded = adminApp({ auth: { tokens: [], protectReads: true } });
    for (const url of READS) {
      assert.equal((await guarded.app.inject({ url, remoteAddress: STRANGER })).statusCode, 403, url);
      assert.equal((await guarded.app.inject({ url, remoteAddress: '10.9.9.9' })).statusCode, 200, url);
    }
    // Health stays open: load balancers and orchestrators probe it from anywhere.
    assert.equal((await guarded.app.inject({ url: '/nacos/v1/console/health/liveness', remoteAddress: STRANGER })).statusCode, 200);
    await guarded.app.close();
  });

  it("admin.anonymousWrites 'anywhere' restores Nacos's open writes", async () => {
    const { app, drains } = adminApp({ policy: { anonymousWrites: 'anywhere', allowExternalRedirect: false } });
    for (const write of WRITES) {
      const res = await app.inject({ ...write, remoteAddress: STRANGER });
      assert.notEqual(res.statusCode, 403, `${write.method} ${write.url}: ${res.body}`);
    }
    assert.equal(drains.length, 1);
    await app.close();
  });

  it('with a token configured, even loopback needs it', async () => {
    const { app } = adminApp({ auth: { tokens: ['a-long-token'], protectReads: false } });
    const res = await app.inject({ url: `${LOADER}/reloadCurrent?count=0`, remoteAddress: '127.0.0.1' });
    assert.equal(res.statusCode, 403);
    const ok = await app.inject({ url: `${LOADER}/reloadCurrent?count=0`, remoteAddress: STRANGER, headers: { accessToken: 'a-long-token' } });
    assert.equal(ok.statusCode, 200);
    await app.close();
  });
});

describe('admin HTTP safe defaults: cross-site requests', () => {
  const crossSite: Record<string, string>[] = [
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
    { origin: 'http://evil.example' },
    { origin: 'http://127.0.0.1:3000' },
    { origin: 'null' },
  ];

  it('a write a browser fires from another site is refused, from loopback and even with a valid token', async () => {
    const { app, server, drains } = adminApp({ auth: { tokens: ['a-long-token'], protectReads: false } });
    for (const headers of crossSite) {
      for (const write of WRITES) {
        const res = await app.inject({ ...write, remoteAddress: '127.0.0.1', headers: { ...headers, host: '127.0.0.1:8848', accessToken: 'a-long-token' } });
        assert.equal(res.statusCode, 403, `${write.method} ${write.url} with ${JSON.stringify(headers)}`);
        assert.match(res.json().message, /cross-site/);
      }
    }
    assert.equal(server.manager.limitRule.countLimit, -1);
    assert.deepEqual(drains, []);
    await app.close();
  });

  it('same-origin, a typed URL (none) and scripts without these headers are accepted', async () => {
    const { app } = adminApp();
    for (const headers of [{ 'sec-fetch-site': 'same-origin' }, { 'sec-fetch-site': 'none' }, { origin: 'http://127.0.0.1:8848' }, {}]) {
      const res = await app.inject({ url: `${LOADER}/reloadCurrent?count=0`, remoteAddress: '127.0.0.1', headers: { ...headers, host: '127.0.0.1:8848' } });
      assert.equal(res.statusCode, 200, JSON.stringify(headers));
    }
    await app.close();
  });
});

describe('admin HTTP safe defaults: DNS rebinding', () => {
  // A page on evil.example:8848 whose name was rebound to 127.0.0.1: the browser calls it
  // same-origin, Origin equals Host, and the request comes from loopback.
  const rebound = { host: 'evil.example:8848', origin: 'http://evil.example:8848', 'sec-fetch-site': 'same-origin' };

  it('DNS rebinding gets around the admin write rule: a loopback write addressed to a foreign name is refused; nothing changes', async () => {
    const { app, server, drains } = adminApp();
    for (const write of WRITES) {
      const res = await app.inject({ ...write, remoteAddress: '127.0.0.1', headers: rebound });
      assert.equal(res.statusCode, 403, `${write.method} ${write.url}`);
      assert.match(res.json().message, /Host: evil\.example:8848/, write.url);
    }
    assert.equal(server.manager.limitRule.countLimit, -1);
    assert.deepEqual(drains, []);
    await app.close();
  });

  it('protected reads without a token are refused the same way', async () => {
    const { app } = adminApp({ auth: { tokens: [], protectReads: true } });
    assert.equal((await app.inject({ url: `${LOADER}/current`, remoteAddress: '127.0.0.1', headers: rebound })).statusCode, 403);
    await app.close();
  });

  it('writes addressed to an IP, localhost or a member name are accepted; a token lifts the name rule', async () => {
    const { app } = adminApp();
    for (const host of ['127.0.0.1:8848', '[::1]:8848', 'localhost:8848', 'LOCALHOST', '10.9.9.9:8848']) {
      const res = await app.inject({ url: `${LOADER}/reloadCurrent?count=0`, remoteAddress: '127.0.0.1', headers: { host } });
      assert.equal(res.statusCode, 200, host);
    }
    await app.close();
    const withToken = adminApp({ auth: { tokens: ['a-long-token'], protectReads: false } });
    const res = await withToken.app.inject({
      url: `${LOADER}/reloadCurrent?count=0`,
      remoteAddress: '127.0.0.1',
      headers: { host: 'nacos.internal:8848', accessToken: 'a-long-token' },
    });
    assert.equal(res.statusCode, 200);
    await withToken.app.close();
  });
});

describe('admin HTTP safe defaults: POST forms', () => {
  it("each of Nacos's GET write forms also answers POST, under the same rule", async () => {
    const { app } = adminApp();
    const post = await app.inject({ method: 'POST', url: `${LOADER}/reloadCurrent?count=0`, remoteAddress: '127.0.0.1' });
    assert.equal(post.statusCode, 200);
    assert.equal(post.body, 'success');
    assert.equal((await app.inject({ method: 'POST', url: `${LOADER}/smartReloadCluster`, remoteAddress: '127.0.0.1' })).body, 'Ok');
    assert.equal((await app.inject({ method: 'POST', url: `${LOADER}/reloadClient?connectionId=none`, remoteAddress: '127.0.0.1' })).statusCode, 404);
    assert.equal((await app.inject({ method: 'POST', url: `${LOADER}/reloadCurrent?count=0`, remoteAddress: STRANGER })).statusCode, 403);
    await app.close();
  });

  it('a HEAD does not run a write (reads still answer HEAD)', async () => {
    const { app } = adminApp();
    // Without the fix the handler ran (smartReloadCluster answered 200) and only the body was dropped.
    const head = await app.inject({ method: 'HEAD', url: `${LOADER}/smartReloadCluster`, remoteAddress: '127.0.0.1' });
    assert.equal(head.statusCode, 404);
    assert.equal((await app.inject({ method: 'HEAD', url: `${LOADER}/current` })).statusCode, 200);
    await app.close();
  });
});

describe('admin HTTP safe defaults: redirectAddress', () => {
  const redirecting = (address: string): Call[] => [
    { method: 'GET', url: `${LOADER}/reloadCurrent?count=0&redirectAddress=${address}` },
    { method: 'GET', url: `${LOADER}/reloadClient?connectionId=none&redirectAddress=${address}` },
    { method: 'PUT', url: `${CONTROL}?redirectAddress=${address}`, payload: { countLimit: 0 } },
  ];

  it('must be a member: another address gets 400 naming the parameter and the option, and nothing changes', async () => {
    const { app, server, home } = adminApp();
    for (const call of redirecting('198.51.100.1:8848')) {
      const res = await app.inject(call);
      assert.equal(res.statusCode, 400, `${call.method} ${call.url}`);
      assert.match(res.json().message, /'redirectAddress' must be a member of this cluster/);
      assert.match(res.json().message, /admin\.allowExternalRedirect/);
    }
    assert.equal(server.manager.limitRule.countLimit, -1);
    assert.equal(existsSync(join(home, 'data', 'connection', 'limitRule')), false);
    // A member's address with another port is not that member.
    assert.equal((await app.inject(redirecting('10.9.9.9:8849')[0]!)).statusCode, 400);
    for (const call of redirecting(OTHER_MEMBER)) assert.notEqual((await app.inject(call)).statusCode, 400, `${call.method} ${call.url}`);
    await app.close();
  });

  it('admin.allowExternalRedirect lets any address through', async () => {
    const { app } = adminApp({ policy: { anonymousWrites: 'local', allowExternalRedirect: true } });
    for (const call of redirecting('198.51.100.1:8848')) assert.notEqual((await app.inject(call)).statusCode, 400, `${call.method} ${call.url}`);
    await app.close();
  });
});

describe('admin HTTP safe defaults: internal errors', () => {
  it('a 500 returns only a request id, also in a header, and the error is logged with that id', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const logger: Logger = pino({ level: 'info' }, sink);
    const dir = mkdtempSync(join(tmpdir(), 'nacos-remote-admin-'));
    homes.push(dir);
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, '');
    // The rule's directory is under a plain file: writing it fails inside the node (ENOTDIR).
    const { app } = adminApp({ logger, limitRuleFile: join(blocker, 'connection', 'limitRule') });
    const res = await app.inject({ method: 'PUT', url: CONTROL, payload: { countLimit: 5 } });
    assert.equal(res.statusCode, 500);
    const requestId = res.headers['x-request-id'];
    assert.equal(typeof requestId, 'string');
    assert.ok((requestId as string).length >= 16, `an unguessable id: ${String(requestId)}`);
    assert.deepEqual(res.json(), { code: 500, error: 'INTERNAL_ERROR', message: `internal error, request id ${String(requestId)}`, requestId });
    assert.doesNotMatch(res.body, /ENOTDIR|a-file|limitRule/);
    const logged = lines.find((l) => l['reqId'] === requestId && l['level'] === 50);
    assert.ok(logged, `the error is logged with its request id: ${JSON.stringify(lines)}`);
    assert.match(JSON.stringify(logged['err']), /ENOTDIR/);
    const again = await app.inject({ method: 'PUT', url: CONTROL, payload: { countLimit: 5 } });
    assert.notEqual(again.headers['x-request-id'], requestId, 'each request has its own id');
    await app.close();
  });
});

describe('admin HTTP: the control PUT and a drain', () => {
  it('the control PUT can persist a rule it did not apply: a drain that starts during the write leaves the file as it was', async () => {
    const { app, server, home } = adminApp();
    const file = join(home, 'data', 'connection', 'limitRule');
    const manager = server.manager;
    const check = manager.assertCanShed.bind(manager);
    // The drain starts right after the route's check passes, while the file is being written.
    manager.assertCanShed = (priority) => {
      check(priority);
      manager.reserveShedding(ShedPriority.DRAIN);
    };

    const first = await app.inject({ method: 'PUT', url: CONTROL, payload: { countLimit: 5 } });
    assert.equal(first.statusCode, 409, first.body);
    assert.equal(existsSync(file), false, 'no file before, none after');
    assert.equal(manager.limitRule.countLimit, -1);

    writeFileSync(file, '{ "countLimit": 7 }\n');
    const second = await app.inject({ method: 'PUT', url: CONTROL, payload: { countLimit: 5 } });
    assert.equal(second.statusCode, 409, second.body);
    assert.equal(readFileSync(file, 'utf8'), '{ "countLimit": 7 }\n', 'the previous rule is back');
    await app.close();
  });
});

describe('admin HTTP safe defaults: readiness', () => {
  it('500 while starting, 200 once started, 503 from the moment a drain starts', async () => {
    const { app, server } = adminApp();
    assert.equal((await app.inject({ url: READINESS })).statusCode, 500);
    (server as unknown as { startedFlag: boolean }).startedFlag = true;
    assert.equal((await app.inject({ url: READINESS })).statusCode, 200);
    // What a node's drain (SIGTERM or ops/drain) does first.
    server.refuseNewSetups();
    const draining = await app.inject({ url: READINESS, remoteAddress: STRANGER });
    assert.equal(draining.statusCode, 503);
    assert.match(draining.body, /draining/);
    await app.close();
  });

  it('a node answers 503 over HTTP from the moment ops/drain is accepted until it is gone', { timeout: 60_000 }, async () => {
    const port = await findMainPort(['127.0.0.1', '127.0.0.2']);
    const members = `127.0.0.1:${port},127.0.0.2:${port}`;
    const leaving = await startTestNode({ host: '127.0.0.1', port, members, drainWindowMs: 200, balancer: { enabled: false } });
    const staying = await startTestNode({ host: '127.0.0.2', port, members, balancer: { enabled: false } });
    const peer = new RawPeer('127.0.0.1', leaving.server.ports.sdk);
    const readiness = `${leaving.base}${READINESS}`;
    try {
      await peer.register();
      // A client that never answers its reset keeps the drain going for its whole window (plus 5 s).
      peer.autoAck = false;
      await eventually(() => leaving.members.upOthers().length === 1, 20_000, 'the other member up');
      assert.equal((await fetch(readiness)).status, 200);
      assert.equal((await fetch(`${leaving.base}${DRAIN}`, { method: 'POST' })).status, 202);
      const during = await fetch(readiness);
      assert.equal(during.status, 503);
      await leaving.closed;
    } finally {
      peer.close();
      await staying.dispose();
      await leaving.dispose();
    }
  });
});
