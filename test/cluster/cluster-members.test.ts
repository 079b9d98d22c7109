import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { ClusterMembers } from '../../src/cluster/cluster-members.js';
import { parseMembersOption } from '../../src/cluster/members.js';
import { FakeNetwork } from '../support/fake-client-connection.js';
import { ManualTimers } from '../support/manual-timers.js';
import { eventually } from '../support/raw-peer.js';
import { testLogger } from '../support/server.js';

const A = '10.0.0.1:8848';
const B = '10.0.0.2:8848';

/** Member A with a cluster client to B over a fake network on a manual clock; what its listeners hear; closed after the test. */
function memberA(t: TestContext) {
  const timers = new ManualTimers();
  const net = new FakeNetwork(timers, [B]);
  const members = new ClusterMembers({
    self: A,
    members: parseMembersOption(`${A},${B}`),
    grpcPortOffset: 1000,
    logger: testLogger,
    clientOptions: { timers, connectionFactory: net.factory, random: () => 0 },
  });
  t.after(() => members.close());
  const heard: string[] = [];
  members.onMemberUp((member) => heard.push(`up ${member}`));
  members.onMemberDown((member, reason) => heard.push(`down ${member} ${reason}`));
  return { timers, net, members, heard };
}

describe('ClusterMembers: the down listeners', () => {
  it('hear of a hung member when its health checks fail, long before its stream ends, and once while it stays hung', async (t) => {
    const { timers, net, members, heard } = memberA(t);
    members.start();
    await timers.advance(100);
    assert.deepEqual(heard, [`up ${B}`]);
    net.server(B).health = 'timeout';
    net.server(B).up = false;
    net.server(B).silentWhenDown = true;
    await timers.advance(5000 + 4 * 3000 + 500);
    assert.deepEqual(heard, [`up ${B}`, `down ${B} unhealthy`]);
    assert.equal(net.connections[0]!.closed, false, 'the stream of the hung member is still open');
    await timers.advance(60_000);
    assert.deepEqual(heard, [`up ${B}`, `down ${B} unhealthy`], 'reconnects that time out tell nobody again');
  });

  it('regression: a hung member that is then killed is reported refused after unhealthy (a start waited for it until the cap)', async (t) => {
    const { timers, net, members, heard } = memberA(t);
    members.start();
    await timers.advance(100);
    net.server(B).health = 'timeout';
    net.server(B).up = false;
    net.server(B).silentWhenDown = true;
    await timers.advance(5000 + 4 * 3000 + 500);
    assert.deepEqual(heard, [`up ${B}`, `down ${B} unhealthy`]);
    // Killed: its stream ends and its port refuses the reconnects.
    net.server(B).silentWhenDown = false;
    net.connections[0]!.endStream();
    await timers.advance(10_000);
    assert.deepEqual(heard, [`up ${B}`, `down ${B} unhealthy`, `down ${B} refused`]);
  });

  it('hear of a member whose first connect is refused (it is not running: a starting member does not wait for its snapshot)', async (t) => {
    const { timers, net, members, heard } = memberA(t);
    net.server(B).up = false;
    members.start();
    await timers.advance(100);
    assert.deepEqual(heard, [`down ${B} refused`]);
  });

  it('hear of a member whose first connect times out as unreachable, not refused (a running member under load can look so)', async (t) => {
    const { timers, net, members, heard } = memberA(t);
    net.server(B).up = false;
    net.server(B).silentWhenDown = true;
    members.start();
    await timers.advance(10_000);
    assert.deepEqual(heard, [`down ${B} unreachable`]);
  });

  it('regression: hear of a member whose stream ended as lost, then refused once a reconnect is refused (a refused reconnect told nobody)', async (t) => {
    const { timers, net, members, heard } = memberA(t);
    members.start();
    await timers.advance(100);
    net.server(B).up = false;
    net.connections[0]!.endStream();
    await timers.advance(100);
    assert.deepEqual(heard, [`up ${B}`, `down ${B} lost`, `down ${B} refused`]);
  });

  it('a stream that ended on a blip while the member runs is lost and then up, never refused', async (t) => {
    const { timers, net, members, heard } = memberA(t);
    members.start();
    await timers.advance(100);
    net.connections[0]!.endStream();
    await timers.advance(100);
    assert.deepEqual(heard, [`up ${B}`, `down ${B} lost`, `up ${B}`]);
  });
});

describe('ClusterMembers: a member that can never be heard from is reported down', () => {
  it('regression: a member removed from cluster.conf is reported left (a start waited the whole hold for it)', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'cluster-members-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const conf = join(dir, 'cluster.conf');
    await writeFile(conf, `${A}\n${B}\n`);
    const timers = new ManualTimers();
    const net = new FakeNetwork(timers, [B]);
    net.server(B).up = false;
    net.server(B).silentWhenDown = true;
    const members = new ClusterMembers({
      self: A,
      members: parseMembersOption(`${A},${B}`),
      grpcPortOffset: 1000,
      logger: testLogger,
      clusterConfPath: conf,
      clusterConfPollMs: 20,
      clientOptions: { timers, connectionFactory: net.factory, random: () => 0 },
    });
    t.after(() => members.close());
    const heard: string[] = [];
    members.onMemberDown((member, reason) => heard.push(`down ${member} ${reason}`));
    members.start();
    // Written until seen: a write before the watcher's first stat would be taken as the starting state.
    await eventually(async () => (await writeFile(conf, `${A}\n`), heard.length > 0), 10_000, 'B reported when it left cluster.conf');
    assert.deepEqual(heard, [`down ${B} left`]);
  });

  it('regression: a member no client could be made for is reported no-client (a start waited the whole hold for it)', async (t) => {
    const members = new ClusterMembers({
      self: A,
      members: parseMembersOption(`${A},${B}`),
      grpcPortOffset: 1000,
      logger: testLogger,
      // An option the client refuses: no client for B.
      clientOptions: { retryTimes: 0 },
    });
    t.after(() => members.close());
    const heard: string[] = [];
    members.onMemberDown((member, reason) => heard.push(`down ${member} ${reason}`));
    members.start();
    assert.deepEqual(heard, [`down ${B} no-client`]);
  });
});
