import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterMembers } from '../../src/cluster/cluster-members.js';
import { parseMembersOption } from '../../src/cluster/members.js';
import { FakeNetwork } from '../support/fake-client-connection.js';
import { ManualTimers } from '../support/manual-timers.js';
import { testLogger } from '../support/server.js';

const A = '10.0.0.1:8848';
const B = '10.0.0.2:8848';

/** Member A with a cluster client to B over a fake network on a manual clock; what its listeners hear. */
function memberA() {
  const timers = new ManualTimers();
  const net = new FakeNetwork(timers, [B]);
  const members = new ClusterMembers({
    self: A,
    members: parseMembersOption(`${A},${B}`),
    grpcPortOffset: 1000,
    logger: testLogger,
    clientOptions: { timers, connectionFactory: net.factory, random: () => 0 },
  });
  const heard: string[] = [];
  members.onMemberUp((member) => heard.push(`up ${member}`));
  members.onMemberDown((member) => heard.push(`down ${member}`));
  return { timers, net, members, heard };
}

describe('ClusterMembers: the down listeners', () => {
  it('hear of a hung member when its health checks fail, long before its stream ends, and once', async () => {
    const { timers, net, members, heard } = memberA();
    members.start();
    await timers.advance(100);
    assert.deepEqual(heard, [`up ${B}`]);
    net.server(B).health = 'timeout';
    net.server(B).up = false;
    await timers.advance(5000 + 4 * 3000 + 500);
    assert.deepEqual(heard, [`up ${B}`, `down ${B}`]);
    assert.equal(net.connections[0]!.closed, false, 'the stream of the hung member is still open');
    net.connections[0]!.endStream();
    await timers.advance(100);
    assert.deepEqual(heard, [`up ${B}`, `down ${B}`], 'its stream ending later tells nobody again');
    await members.close();
  });

  it('hear of a member whose first connect fails (it cannot send a starting member its snapshot)', async () => {
    const { timers, net, members, heard } = memberA();
    net.server(B).up = false;
    members.start();
    await timers.advance(100);
    assert.deepEqual(heard, [`down ${B}`]);
    await members.close();
  });
});
