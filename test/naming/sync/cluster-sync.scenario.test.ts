import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defineNamingTypes } from '../../../src/protocol/naming/messages.js';
import type { InstanceJson, ServiceInfoJson } from '../../../src/naming/model.js';
import { NAMING_SYNC_TYPES } from '../../../src/naming/sync/messages.js';
import { decodePayload, defaultRegistry, encodePayload, type RequestMessage, type ResponseMessage } from '../../../src/protocol/index.js';
import { startTestNode } from '../../support/node.js';
import { NodeProcess } from '../../support/node-process.js';
import { findMainPort } from '../../support/ports.js';
import { eventually, RawPeer } from '../../support/raw-peer.js';

defineNamingTypes(defaultRegistry);
defaultRegistry.register(...NAMING_SYNC_TYPES);

const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'] as const;
const publisherScript = fileURLToPath(new URL('../../support/raw-naming-publisher.ts', import.meta.url));
type TestNode = Awaited<ReturnType<typeof startTestNode>>;

async function call(peer: RawPeer, type: string, body: Record<string, unknown>): Promise<ResponseMessage> {
  const message: RequestMessage = { kind: 'request', type, headers: {}, body: { namespace: 'public', groupName: 'DEFAULT_GROUP', ...body } };
  return decodePayload(await peer.unaryRaw(encodePayload(message, { clientIp: '127.0.0.1' }))) as ResponseMessage;
}

const instance = (ip: string) => ({ ip, port: 8080, weight: 1, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT', metadata: {} });
const hostsOf = (info: unknown): string[] => (info as ServiceInfoJson).hosts.map((h: InstanceJson) => h.ip).sort();

/** Waits until the latest push of `orders` to the subscriber lists exactly these instance IPs. */
function pushed(peer: RawPeer, expected: readonly string[], what: string): Promise<unknown> {
  return peer.waitFor(
    () => {
      const last = peer.pushesOf('NotifySubscriberRequest').at(-1);
      return last !== undefined && JSON.stringify(hostsOf(last.body['serviceInfo'])) === JSON.stringify(expected);
    },
    20_000,
    what,
  );
}

/** Sync fast; expiry far off: whatever goes in these tests goes by a delete or a snapshot, not by expiry. */
const FAST = {
  naming: { pushDelayMs: 10, sync: { debounceMs: 10, verifyIntervalMs: 500, expireMs: 600_000 } },
  memberClient: { keepAliveMs: 1000, healthCheckTimeoutMs: 500 },
  balancer: { enabled: false },
};

describe('naming across 3 members (a and b in this process, c in its own)', { timeout: 120_000 }, () => {
  let port: number;
  let members: string;
  let confDir: string;
  let processC: NodeProcess;
  const nodes = new Map<string, TestNode>();
  const peers: RawPeer[] = [];
  const children: ChildProcess[] = [];

  const startMember = async (host: string): Promise<TestNode> => {
    const node = await startTestNode({ host, port, members, ...FAST });
    nodes.set(host, node);
    return node;
  };
  const member = (host: string): TestNode => nodes.get(host)!;
  const sdkPort = (host: string): number => (host === HOSTS[2] ? port + 1000 : member(host).server.ports.sdk);
  const peerOn = async (host: string): Promise<RawPeer> => {
    const peer = new RawPeer(host, sdkPort(host));
    peers.push(peer);
    await peer.register({ source: 'sdk', module: 'naming' });
    return peer;
  };
  const subscriberOn = async (host: string): Promise<RawPeer> => {
    const peer = await peerOn(host);
    const reply = await call(peer, 'SubscribeServiceRequest', { serviceName: 'orders', subscribe: true, clusters: '' });
    assert.equal(reply.type, 'SubscribeServiceResponse');
    return peer;
  };
  /** Every member up as a and b see it (c's view shows in its pushes). */
  const allUp = () =>
    eventually(() => [...nodes.values()].every((n) => n.members.list().every((m) => m.state === 'UP')), 30_000, 'every member up on a and b');
  /** A publisher in a process of its own, registered through the member on `host`. */
  const publisherProcess = async (host: string, ip: string): Promise<ChildProcess> => {
    const child = spawn(process.execPath, ['--import', 'tsx', publisherScript, host, String(sdkPort(host)), 'orders', ip, '8080'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    assert.equal(line.toString().trim(), 'registered');
    return child;
  };

  before(async () => {
    port = await findMainPort([...HOSTS]);
    members = HOSTS.map((h) => `${h}:${port}`).join(',');
    confDir = mkdtempSync(join(tmpdir(), 'nacos-remote-conf-'));
    writeFileSync(join(confDir, 'node.json'), JSON.stringify(FAST));
    processC = new NodeProcess(HOSTS[2], port, ['--members', members, '--config', join(confDir, 'node.json')]);
    await Promise.all([startMember(HOSTS[0]), startMember(HOSTS[1]), processC.start()]);
    await allUp();
  });
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    for (const peer of peers) peer.close();
    await Promise.all([...nodes.values()].map((n) => n.dispose()));
    await processC.dispose();
    rmSync(confDir, { recursive: true, force: true });
  });

  it('register through one member, subscribe through another: each sees the other; SIGKILL of the publisher is pushed on every member', async () => {
    const [a, b, c] = HOSTS;
    const onB = await subscriberOn(b);
    const onC = await subscriberOn(c);
    const killed = await publisherProcess(a, '10.0.0.1');
    await pushed(onB, ['10.0.0.1'], 'b pushed the instance registered on a');
    await pushed(onC, ['10.0.0.1'], 'c pushed the instance registered on a');

    const publisherOnB = await peerOn(b);
    await call(publisherOnB, 'InstanceRequest', { serviceName: 'orders', type: 'registerInstance', instance: instance('10.0.0.2') });
    const onA = await subscriberOn(a);
    await pushed(onA, ['10.0.0.1', '10.0.0.2'], 'a pushed both: its own and the one registered on b');
    await pushed(onC, ['10.0.0.1', '10.0.0.2'], 'c pushed both');

    killed.kill('SIGKILL');
    await pushed(onA, ['10.0.0.2'], 'a pushed the removal');
    await pushed(onB, ['10.0.0.2'], 'b pushed the removal');
    await pushed(onC, ['10.0.0.2'], 'c pushed the removal');
  });

  it('a member SIGKILLed and started again: its fresh state replaces what the others held for it, nothing it had comes back, and it has theirs', async () => {
    const [a, b, c] = HOSTS;
    const onA = await subscriberOn(a);
    const onB = await subscriberOn(b);
    const before = hostsOf((await call(onA, 'ServiceQueryRequest', { serviceName: 'orders' })).body['serviceInfo']);
    const publisherOnC = await peerOn(c);
    await call(publisherOnC, 'InstanceRequest', { serviceName: 'orders', type: 'registerInstance', instance: instance('10.0.0.3') });
    await pushed(onA, [...before, '10.0.0.3'].sort(), 'a sees the instance registered on c');

    await processC.stop('SIGKILL');
    publisherOnC.close();
    await eventually(() => member(a).members.list().some((m) => m.state === 'DOWN'), 10_000, 'a sees c down');
    const { hosts } = member(a).naming.reader.query({ namespace: 'public', group: 'DEFAULT_GROUP', name: 'orders' }, { healthyOnly: false });
    assert.ok(hosts.some((h) => h.ip === '10.0.0.3'), 'a still holds the crashed c\'s client');

    await processC.start();
    await allUp();
    const freshOnC = await peerOn(c);
    await call(freshOnC, 'InstanceRequest', { serviceName: 'orders', type: 'registerInstance', instance: instance('10.0.0.33') });
    await pushed(onA, [...before, '10.0.0.33'].sort(), 'a: c\'s old instance replaced by its fresh one');
    await pushed(onB, [...before, '10.0.0.33'].sort(), 'b: c\'s old instance replaced by its fresh one');
    const onFreshC = await subscriberOn(c);
    await pushed(onFreshC, [...before, '10.0.0.33'].sort(), 'the restarted c lists the instances registered on a and b');
  });

  it('sync messages from a connection that is not a trusted member are refused and change nothing', async () => {
    const [a] = HOSTS;
    const sdkPeer = await peerOn(a);
    const beforeHosts = hostsOf((await call(sdkPeer, 'ServiceQueryRequest', { serviceName: 'orders' })).body['serviceInfo']);
    assert.ok(beforeHosts.includes('10.0.0.2'), 'b\'s instance is listed on a');
    const forged = await call(sdkPeer, 'NamingSyncRequest', {
      member: `127.0.0.2:${port}`,
      snapshot: true,
      owned: [],
      clients: [],
      deleted: [],
    });
    assert.equal(forged.type, 'ErrorResponse');
    assert.equal(forged.errorCode, 403);
    assert.match(forged.message ?? '', /cluster members only/);
    const afterHosts = hostsOf((await call(sdkPeer, 'ServiceQueryRequest', { serviceName: 'orders' })).body['serviceInfo']);
    assert.deepEqual(afterHosts, beforeHosts);
  });

  // Its connections were told to move on the way out: the others hold their instances for the move
  // grace (10 s) for a redo elsewhere, which these raw peers never do, and then push the removal.
  it('a member closed gracefully syncs its connections out: the others push the removal of what no redo adopted', async () => {
    const [a, b, c] = HOSTS;
    const onA = await subscriberOn(a);
    const onC = await subscriberOn(c);
    const listed = hostsOf((await call(onA, 'ServiceQueryRequest', { serviceName: 'orders' })).body['serviceInfo']);
    assert.ok(listed.includes('10.0.0.2'), 'b\'s instance is listed');
    await member(b).dispose();
    nodes.delete(b);
    const rest = listed.filter((ip) => ip !== '10.0.0.2');
    await pushed(onA, rest, 'a pushed the removal of b\'s instance');
    await pushed(onC, rest, 'c pushed the removal of b\'s instance');
  });
});
