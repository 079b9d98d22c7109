import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { MemberDownReason } from '../../../src/cluster/member-messages.js';
import { attachNaming, type NamingOptions, type SyncPeers } from '../../../src/naming/index.js';
import type { InstanceJson, ServiceInfoJson } from '../../../src/naming/model.js';
import { NamingSnapshotAskRequest, NamingSyncRequest, NAMING_SYNC_TYPES } from '../../../src/naming/sync/messages.js';
import { defaultRegistry, request, response, type RequestMessage, type ResponseMessage } from '../../../src/protocol/index.js';
import { defineNamingTypes } from '../../../src/protocol/naming/messages.js';
// From the public entry (nacos-remote/server), where callers catch it.
import { ServerStartedError } from '../../../src/node/index.js';
import { ManualTimers } from '../../support/manual-timers.js';
import { startTestNode } from '../../support/node.js';
import { findMainPort } from '../../support/ports.js';
import { eventually, RawPeer } from '../../support/raw-peer.js';
import { startTestServer, testLogger } from '../../support/server.js';

defineNamingTypes(defaultRegistry);
defaultRegistry.register(...NAMING_SYNC_TYPES);

type TestNode = Awaited<ReturnType<typeof startTestNode>>;

const IDENTITY = { identityKey: 'x-test-member', identityValue: 'startup-hold' };
const ORDERS = { namespace: 'public', groupName: 'DEFAULT_GROUP', serviceName: 'orders' };

const hostsOf = (reply: ResponseMessage): string[] => (reply.body['serviceInfo'] as ServiceInfoJson).hosts.map((h: InstanceJson) => h.ip).sort();
const readiness = async (node: TestNode): Promise<number> => (await node.http.inject({ url: '/nacos/v1/console/health/readiness' })).statusCode;

/**
 * A subscriber on `host`'s SDK port that tries as a client does until the member takes it (an
 * attempt the hold refuses, ServerCheck 300 or a setup refused, waits 100 ms, a client's back-off),
 * then subscribes: the list of its first answer, and how many attempts the hold refused first.
 * Any other failure is thrown; `signal` (aborted by the cleanups, or its deadline) ends the loop.
 */
async function firstSubscribeAnswer(host: string, sdkPort: number, peers: RawPeer[], signal: AbortSignal): Promise<{ hosts: string[]; refused: number }> {
  for (let refused = 0; ; refused++) {
    signal.throwIfAborted();
    const peer = new RawPeer(host, sdkPort);
    peers.push(peer);
    if (await heldAway(peer)) {
      peer.close();
      await delay(100, undefined, { signal });
      continue;
    }
    const reply = await peer.unary({ kind: 'request', type: 'SubscribeServiceRequest', headers: {}, body: { ...ORDERS, subscribe: true, clusters: '' } });
    assert.equal(reply.type, 'SubscribeServiceResponse', JSON.stringify(reply));
    return { hosts: hostsOf(reply), refused };
  }
}

/** Registers the peer as an SDK client: true when the member refused it as starting, false once taken. */
async function heldAway(peer: RawPeer): Promise<boolean> {
  const check = await peer.unary(request('ServerCheckRequest'));
  if (check.type !== 'ServerCheckResponse') {
    assert.equal(check.errorCode, 300, `ServerCheck answered neither taken nor starting: ${JSON.stringify(check)}`);
    return true;
  }
  try {
    await peer.register({ source: 'sdk', module: 'naming' });
    return false;
  } catch (error) {
    // A setup refused while starting; anything else is a failure of the test.
    if (error instanceof Error && /registration of .* refused/.test(error.message)) return true;
    throw error;
  }
}

/** A signal the cleanups abort, with a hang guard's deadline. */
function subscriberSignal(cleanups: (() => unknown)[]): AbortSignal {
  const stop = new AbortController();
  cleanups.push(() => stop.abort());
  return AbortSignal.any([stop.signal, AbortSignal.timeout(60_000)]);
}

describe('after a start, SDK clients wait for the other members\' naming data', { timeout: 120_000 }, () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('regression: a member whose peer sent its snapshot after the read wait answered a subscriber with part of the service; now the subscriber is taken only once the snapshot is in', async () => {
    const port = await findMainPort(['127.0.0.1', '127.0.0.2']);
    const self = `127.0.0.1:${port}`;
    const slow = `127.0.0.2:${port}`;
    // The slow member: a bare server its link comes up to, which is asked for its snapshot and sends it late.
    const { server: slowServer } = await startTestServer({ host: '127.0.0.2', port });
    cleanups.push(() => slowServer.close());
    let askedAt: number | undefined;
    slowServer.defineMessageTypes(...NAMING_SYNC_TYPES);
    slowServer.registerHandler(NamingSnapshotAskRequest.type, () => ((askedAt ??= Date.now()), response('NamingSyncResponse')));
    slowServer.registerHandler(NamingSyncRequest.type, () => response('NamingSyncResponse'));

    const node = await startTestNode({
      host: '127.0.0.1',
      port,
      members: `${self},${slow}`,
      cluster: IDENTITY,
      // Reads that come before the load wait 500 ms at most: the snapshot comes a second after that.
      naming: { sync: { startupWaitMs: 500, verifyIntervalMs: 60_000 } },
      balancer: { enabled: false },
    });
    cleanups.push(() => node.dispose());
    const peers: RawPeer[] = [];
    cleanups.push(() => peers.forEach((p) => p.close()));
    await eventually(() => askedAt !== undefined, 20_000, 'the member asked the slow one for its snapshot');

    const subscriber = firstSubscribeAnswer('127.0.0.1', node.server.ports.sdk, peers, subscriberSignal(cleanups));
    // Awaited below; a step before that failing leaves it to the cleanups' abort, not unhandled.
    subscriber.catch(() => undefined);
    // The slowness under test, not a synchronisation: the snapshot comes 1.5 s after the ask.
    await delay(1500 - (Date.now() - askedAt!));
    const statusWhileLoading = await readiness(node);
    // The slow member's snapshot, on its own link to the member's cluster port (trusted by the shared identity).
    const link = new RawPeer('127.0.0.1', node.server.ports.cluster);
    peers.push(link);
    link.openStream();
    link.send({ ...request('ConnectionSetupRequest', { clientVersion: 'Nacos-Test-Peer:v1', labels: { source: 'cluster' } }), headers: { [IDENTITY.identityKey]: IDENTITY.identityValue } });
    await eventually(async () => (await link.unary(request('HealthCheckRequest'))).resultCode === 200, 10_000, 'the slow member\'s link registered');
    const snapshot: RequestMessage = {
      kind: 'request',
      type: NamingSyncRequest.type,
      headers: {},
      body: {
        member: slow,
        snapshot: true,
        owned: ['slow-client'],
        clients: [
          {
            clientId: 'slow-client',
            revision: 1,
            publications: [
              {
                service: { namespace: ORDERS.namespace, group: ORDERS.groupName, name: ORDERS.serviceName },
                instances: [{ ip: '10.0.0.9', port: 8080, weight: 1, healthy: true, enabled: true, clusterName: 'DEFAULT', metadata: {} }],
              },
            ],
          },
        ],
        deleted: [],
        last: true,
      },
    };
    assert.equal((await link.unary(snapshot)).type, 'NamingSyncResponse', 'the cluster port takes the snapshot while SDK clients are held');

    const first = await subscriber;
    assert.deepEqual(first.hosts, ['10.0.0.9'], 'the first answer lists the slow member\'s instance');
    assert.ok(first.refused > 0, 'the hold refused the subscriber while the member loaded');
    assert.equal(statusWhileLoading, 500, 'readiness says starting while SDK clients are held');
    assert.equal(await readiness(node), 200);
  });

  it('a cold start (every member starting at once) does not deadlock: each takes clients within 10 s, its hold\'s cap being 120 s', async () => {
    const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
    const port = await findMainPort(hosts);
    const members = hosts.map((h) => `${h}:${port}`).join(',');
    const starts = await Promise.allSettled(
      hosts.map((host) =>
        startTestNode({ host, port, members, naming: { sync: { startupHoldMs: 120_000 } }, balancer: { enabled: false }, memberClient: { keepAliveMs: 1000 } }),
      ),
    );
    const nodes = starts.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    cleanups.push(() => Promise.all(nodes.map((n) => n.dispose())));
    for (const s of starts) if (s.status === 'rejected') throw s.reason;
    await eventually(() => nodes.every((n) => n.server.takesClients), 10_000, () => `every member takes clients: ${nodes.map((n) => n.server.takesClients).join(', ')}`);
  });

  it('a member that is not running is not waited for (its port refuses): a member started beside it takes clients within 10 s, its cap being 120 s', async () => {
    const port = await findMainPort(['127.0.0.1', '127.0.0.2']);
    const node = await startTestNode({
      host: '127.0.0.1',
      port,
      members: `127.0.0.1:${port},127.0.0.2:${port}`,
      naming: { sync: { startupHoldMs: 120_000 } },
      balancer: { enabled: false },
    });
    cleanups.push(() => node.dispose());
    await eventually(() => node.server.takesClients, 10_000, 'the member takes clients');
    const peers: RawPeer[] = [];
    cleanups.push(() => peers.forEach((p) => p.close()));
    const taken = await firstSubscribeAnswer('127.0.0.1', node.server.ports.sdk, peers, subscriberSignal(cleanups));
    assert.deepEqual(taken, { hosts: [], refused: 0 });
  });
});

describe('attachNaming holds a server\'s SDK clients for the load (injected clock)', () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /**
   * A server with naming on it, started unless `start` is false; other members `b` (and `c`) whose
   * links never come up until the test says how they went down or came up.
   */
  async function namingServer(sync: NamingOptions['sync'], others = ['b:8848'], start = true) {
    const timers = new ManualTimers();
    const { server } = await startTestServer({ start: false });
    let downListener: ((member: string, reason: MemberDownReason) => void) | undefined;
    let upListener: ((member: string) => void) | undefined;
    const peers: SyncPeers = {
      others: () => others,
      request: (member) => Promise.reject(new Error(`member ${member} is not connected`)),
      onMemberUp: (listener) => ((upListener = listener), () => undefined),
      onMemberDown: (listener) => ((downListener = listener), () => undefined),
    };
    const naming = attachNaming(server, { memberId: 'a:8848', timers, logger: testLogger, options: { sync }, peers });
    cleanups.push(async () => (await server.close(), await naming.close()));
    if (start) await server.start();
    return {
      server,
      timers,
      memberDown: (reason: MemberDownReason = 'refused', member = 'b:8848') => downListener?.(member, reason),
      memberUp: (member = 'b:8848') => upListener?.(member),
    };
  }

  it('a member that neither sends nor is found down holds clients for startupHoldMs (default 30 s), long past the reads\' 2 s, then they are taken', async () => {
    const { server, timers } = await namingServer({});
    await timers.advance(29_999);
    assert.equal(server.takesClients, false, 'held at 29 999 ms');
    await timers.advance(1);
    assert.equal(server.takesClients, true);
  });

  it('regression: the hold\'s cap runs from the server\'s start, not from attachNaming (a slow start ate into it)', async () => {
    const { server, timers } = await namingServer({ startupHoldMs: 10_000 }, ['b:8848'], false);
    // The node opening its store and binding its ports, slowly.
    await timers.advance(8000);
    await server.start();
    await timers.advance(9999);
    assert.equal(server.takesClients, false, 'held 9 999 ms after the start');
    await timers.advance(1);
    assert.equal(server.takesClients, true);
  });

  for (const reason of ['refused', 'left', 'no-client'] as const) {
    it(`a member certainly down (${reason}) ends the hold at once`, async () => {
      const { server, timers, memberDown } = await namingServer({ startupHoldMs: 60_000 });
      await timers.advance(1000);
      assert.equal(server.takesClients, false);
      memberDown(reason);
      await timers.advance(0);
      assert.equal(server.takesClients, true);
    });
  }

  for (const reason of ['unreachable', 'unhealthy', 'lost'] as const) {
    it(`regression: a member reported ${reason} (a timeout, failed health checks or a stream ended by a blip, as a running member can have) does not end the hold; its snapshot, a refused reconnect or the cap does`, async () => {
      const { server, timers, memberDown } = await namingServer({ startupHoldMs: 60_000 });
      await timers.advance(1000);
      memberDown(reason);
      await timers.advance(58_999);
      assert.equal(server.takesClients, false, 'held until the cap');
      await timers.advance(1);
      assert.equal(server.takesClients, true);
    });
  }

  it('regression: a member given up on (its first connect refused) whose link then comes up is waited for again', async () => {
    const { server, timers, memberDown, memberUp } = await namingServer({ startupHoldMs: 60_000 }, ['b:8848', 'c:8848']);
    memberDown('refused', 'b:8848');
    memberUp('b:8848');
    memberDown('refused', 'c:8848');
    await timers.advance(1000);
    assert.equal(server.takesClients, false, 'b is up after all: its snapshot is awaited');
    await timers.advance(59_000);
    assert.equal(server.takesClients, true, 'the cap still bounds the wait');
  });

  it('startupHoldMs 0 takes clients at once, as before (reads then wait startupWaitMs for the load)', async () => {
    const { server } = await namingServer({ startupHoldMs: 0 });
    assert.equal(server.takesClients, true);
  });

  it('holdClientsUntil after the start is refused with ServerStartedError (clients already taken would get 300 on every call)', async () => {
    const { server } = await namingServer({ startupHoldMs: 0 });
    assert.throws(() => server.holdClientsUntil(new Promise(() => undefined)), ServerStartedError);
    assert.equal(server.takesClients, true);
  });
});
