import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ClusterMembers } from '../../src/cluster/cluster-members.js';
import { parseMembersOption } from '../../src/cluster/members.js';
import { ErrorCode, NacosRemoteError, request } from '../../src/protocol/index.js';
import { startTestNode } from '../support/node.js';
import { findMainPort } from '../support/ports.js';
import { eventually } from '../support/raw-peer.js';
import { testLogger } from '../support/server.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;

function membersOf(list: string, options: { resolveHost?: (host: string) => Promise<string[]>; identity?: { key: string; value: string } } = {}) {
  const members = parseMembersOption(list);
  return new ClusterMembers({ self: members[0]!.address, members, grpcPortOffset: 1000, logger: testLogger, ...options });
}

/** Asks `target` for a ServerReloadRequest that sheds nothing: 'ignore' when trusted, NO_RIGHT when not. */
function reloadNothing(from: TestNode, target: TestNode) {
  return from.members.request(target.cluster.selfAddress, request('ServerReloadRequest', { reloadCount: 1_000_000 }), 3000);
}

describe('member trust', () => {
  it('trusts a hostname entry at every address it resolves to, once resolved, and again when DNS changes', async () => {
    let answer = ['127.0.0.1', '::1'];
    let failing = false;
    const members = membersOf('10.0.0.9:8848,localhost:8848', {
      resolveHost: async () => {
        if (failing) throw new Error('SERVFAIL');
        return answer;
      },
    });
    assert.equal(members.isMemberIp('10.0.0.9'), true, 'a literal entry');
    assert.equal(members.isMemberIp('127.0.0.1'), false, 'not resolved yet');
    await members.resolveAddresses();
    assert.deepEqual(['127.0.0.1', '::1', '::ffff:127.0.0.1', 'localhost', '10.0.0.8'].map((ip) => members.isMemberIp(ip)), [true, true, true, false, false]);
    answer = ['127.0.0.5'];
    await members.resolveAddresses();
    assert.deepEqual(['127.0.0.5', '127.0.0.1'].map((ip) => members.isMemberIp(ip)), [true, false]);
    failing = true;
    await members.resolveAddresses();
    assert.equal(members.isMemberIp('127.0.0.5'), true, 'a failed lookup keeps the last addresses');
    await members.close();
  });

  it('trusts the shared identity header (name case-insensitive, value exact), and nothing when none is configured', async () => {
    const withIdentity = membersOf('10.0.0.9:8848', { identity: { key: 'serverIdentity', value: 's3cret' } });
    assert.equal(withIdentity.isTrustedMember('192.0.2.1', { serveridentity: 's3cret' }), true);
    assert.equal(withIdentity.isTrustedMember('192.0.2.1', { serverIdentity: 'S3CRET' }), false);
    assert.equal(withIdentity.isTrustedMember('192.0.2.1', {}), false);
    const without = membersOf('10.0.0.9:8848');
    assert.equal(without.isTrustedMember('192.0.2.1', { serverIdentity: '' }), false);
    await withIdentity.close();
    await without.close();
  });
});

describe('members listed as localhost trust each other', { timeout: 60_000 }, () => {
  const nodes: TestNode[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.dispose()));
  });

  it('accepts ServerReloadRequest over the cluster port from a member listed by hostname', async () => {
    const portA = await findMainPort(['127.0.0.1']);
    const portB = await findMainPort(['127.0.0.1']);
    const members = `localhost:${portA},localhost:${portB}`;
    const common = { host: '127.0.0.1', advertiseIp: 'localhost', members, balancer: { enabled: false }, memberClient: { keepAliveMs: 1000 } };
    nodes.push(await startTestNode({ ...common, port: portA }), await startTestNode({ ...common, port: portB }));
    const [a, b] = nodes as [TestNode, TestNode];
    await eventually(() => a.members.upOthers().length === 1 && b.members.upOthers().length === 1, 20_000, 'both members up');
    assert.equal((await reloadNothing(b, a)).message, 'ignore');
    assert.equal((await reloadNothing(a, b)).message, 'ignore');
  });
});

describe('a member that connects from an unlisted address', { timeout: 60_000 }, () => {
  const nodes: TestNode[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.dispose()));
  });

  // A is listed as 127.0.0.3 but reaches B from 127.0.0.1 (the kernel's loopback source address).
  async function pair(identity: { identityKey: string; identityValue: string } | undefined): Promise<[TestNode, TestNode]> {
    const port = await findMainPort(['127.0.0.1', '127.0.0.2']);
    const common = { port, members: `127.0.0.3:${port},127.0.0.2:${port}`, balancer: { enabled: false }, memberClient: { keepAliveMs: 1000 }, ...(identity ? { cluster: identity } : {}) };
    const a = await startTestNode({ ...common, host: '127.0.0.1', advertiseIp: '127.0.0.3' });
    const b = await startTestNode({ ...common, host: '127.0.0.2' });
    nodes.push(a, b);
    await eventually(() => a.members.upOthers().length === 1, 20_000, 'A connected to B');
    assert.equal(b.members.isMemberIp('127.0.0.1'), false);
    return [a, b];
  }

  it('is refused without the identity, and trusted with it', async () => {
    const [plainA, plainB] = await pair(undefined);
    await assert.rejects(reloadNothing(plainA, plainB), (e: unknown) => e instanceof NacosRemoteError && e.errorCode === ErrorCode.NO_RIGHT);
    const [a, b] = await pair({ identityKey: 'serverIdentity', identityValue: 'cluster-secret' });
    assert.equal((await reloadNothing(a, b)).message, 'ignore');
  });
});
