import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ClientStatus, RpcClient } from '../../src/client/index.js';
import { request } from '../../src/protocol/index.js';
import { evenSpreadRandom } from '../support/even-random.js';
import { NodeProcess } from '../support/node-process.js';
import { findMainPort } from '../support/ports.js';
import { eventually } from '../support/raw-peer.js';
import { testLogger } from '../support/server.js';

const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

interface ClusterLoad {
  detail: { address: string; metric: Record<string, string> }[];
  memberCount: number;
  metricsCount: number;
  completed: boolean;
  total: number;
  avg: number;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  return (await res.json()) as T;
}

describe('a 3-member cluster', { timeout: 180_000 }, () => {
  let port: number;
  let nodes: NodeProcess[];
  const clients: RpcClient[] = [];
  const sdkCount = (load: ClusterLoad, address: string) => Number(load.detail.find((d) => d.address === address)?.metric['sdkConCount']);

  before(async () => {
    port = await findMainPort(HOSTS);
    const members = HOSTS.map((h) => `${h}:${port}`).join(',');
    // Balancing off: this test is about Nacos's manual tools.
    const fast = JSON.stringify({ memberClient: { keepAliveMs: 1000, healthCheckTimeoutMs: 500 }, balancer: { enabled: false } });
    // The member-client intervals come in a config file.
    nodes = HOSTS.map((h) => {
      const dir = mkdtempSync(join(tmpdir(), 'nacos-remote-conf-'));
      writeFileSync(join(dir, 'node.json'), fast);
      return new NodeProcess(h, port, ['--members', members, '--config', join(dir, 'node.json')]);
    });
    await Promise.all(nodes.map((n) => n.start()));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.shutdown()));
    await Promise.all(nodes.map((n) => n.dispose()));
  });

  const base = (n: NodeProcess) => `http://${n.address}`;

  it('lists its members, all up, with self', async () => {
    await eventually(async () => {
      const list = await getJson<{ code: number; data: { address: string; state: string }[] }>(`${base(nodes[0]!)}/nacos/v2/core/cluster/node/list`);
      return list.data.length === 3 && list.data.every((m) => m.state === 'UP');
    }, 20_000, 'all members up');
    const self = await getJson<{ code: number; data: { address: string; ip: string; port: number; state: string } }>(`${base(nodes[1]!)}/nacos/v2/core/cluster/node/self`);
    assert.equal(self.code, 0);
    assert.deepEqual([self.data.address, self.data.ip, self.data.port, self.data.state], [`127.0.0.2:${port}`, '127.0.0.2', port, 'UP']);
  });

  it('~90 clients: cluster reports every member and the right totals', async () => {
    const addresses = nodes.map((n) => n.address);
    // 30 clients start on each member; the middle one's 30 split between the others when it dies.
    for (let i = 0; i < 90; i++) {
      const random = evenSpreadRandom(i, 90);
      clients.push(new RpcClient({ serverAddresses: addresses, logger: testLogger, keepAliveMs: 1000, healthCheckTimeoutMs: 1000, random }));
    }
    await Promise.all(clients.map((c) => c.start()));
    const load = await getJson<ClusterLoad>(`${base(nodes[2]!)}/nacos/v2/core/loader/cluster`);
    assert.equal(load.memberCount, 3);
    assert.equal(load.metricsCount, 3);
    assert.equal(load.completed, true);
    assert.equal(load.total, 90);
    for (const n of nodes) {
      const mine = clients.filter((c) => c.currentServer() === n.address).length;
      assert.equal(sdkCount(load, n.address), mine, `${n.address} count`);
    }
    assert.deepEqual(load.detail.map((d) => d.address), [...load.detail.map((d) => d.address)].sort());
  });

  it('a member SIGKILLed: marked down, completed false, its clients spread over the live two; back up after restart', async () => {
    const victim = nodes[1]!;
    const orphans = clients.filter((c) => c.currentServer() === victim.address);
    assert.equal(orphans.length, 30, 'the start drew from the injected random source');
    await victim.stop('SIGKILL');
    const observer = base(nodes[0]!);
    await eventually(async () => {
      const list = await getJson<{ data: { address: string; state: string }[] }>(`${observer}/nacos/v2/core/cluster/node/list`);
      return list.data.find((m) => m.address === victim.address)?.state === 'DOWN';
    }, 20_000, 'victim marked down');
    await eventually(() => orphans.every((c) => c.status === ClientStatus.RUNNING && c.currentServer() !== victim.address), 30_000, 'orphans reconnected');
    assert.equal(new Set(orphans.map((c) => c.currentServer())).size, 2, 'spread over both live members');
    const load = await getJson<ClusterLoad>(`${observer}/nacos/v2/core/loader/cluster`);
    assert.equal(load.completed, false);
    assert.equal(load.memberCount, 3);
    assert.equal(load.metricsCount, 2);
    assert.equal(load.total, 90);
    await victim.start();
    await eventually(async () => {
      const list = await getJson<{ data: { address: string; state: string }[] }>(`${observer}/nacos/v2/core/cluster/node/list`);
      return list.data.every((m) => m.state === 'UP');
    }, 30_000, 'victim back up');
    const back = await getJson<ClusterLoad>(`${observer}/nacos/v2/core/loader/cluster`);
    assert.equal(back.completed, true);
  });

  it('repeated smartReloadCluster brings a skewed cluster toward even, at most ~10 % per call', async () => {
    // Skew: every client onto 127.0.0.2 via reloadCurrent on the others.
    for (const n of [nodes[0]!, nodes[2]!]) {
      await fetch(`${base(n)}/nacos/v2/core/loader/reloadCurrent?count=0&redirectAddress=${nodes[1]!.address}`);
    }
    await eventually(() => clients.every((c) => c.currentServer() === nodes[1]!.address && c.status === ClientStatus.RUNNING), 30_000, 'all on 127.0.0.2');
    const counts: number[] = [];
    const shedPerCall: string[] = [];
    for (let call = 0; call < 8; call++) {
      const before = await getJson<ClusterLoad>(`${base(nodes[0]!)}/nacos/v2/core/loader/cluster`);
      const heavy = sdkCount(before, nodes[1]!.address);
      counts.push(heavy);
      const answer = await (await fetch(`${base(nodes[0]!)}/nacos/v2/core/loader/smartReloadCluster`)).text();
      assert.equal(answer, 'Ok');
      let after = heavy;
      await eventually(async () => {
        const { shedding } = await getJson<{ shedding: { active: boolean } }>(`${base(nodes[1]!)}/nacos/v2/core/control/connection`);
        const now = await getJson<ClusterLoad>(`${base(nodes[0]!)}/nacos/v2/core/loader/cluster`);
        after = sdkCount(now, nodes[1]!.address);
        // Its shedding done, and its count agrees with where the clients say they are.
        const onHeavy = clients.filter((c) => c.currentServer() === nodes[1]!.address).length;
        return !shedding.active && now.total === 90 && clients.every((c) => c.status === ClientStatus.RUNNING) && after === onHeavy;
      }, 20_000, 'settled');
      // Nacos's step: from n down to trunc(0.9 n). +2 for the count lagging while clients move.
      shedPerCall.push(`${heavy}-${heavy - after}`);
      assert.ok(heavy - after <= heavy - Math.trunc(heavy * 0.9) + 2, `call ${call}: shed ${heavy - after} of ${heavy} (${shedPerCall.join(", ")})`);
    }
    const final = await getJson<ClusterLoad>(`${base(nodes[0]!)}/nacos/v2/core/loader/cluster`);
    const heavy = sdkCount(final, nodes[1]!.address);
    assert.ok(heavy < 90 && heavy < counts[0]!, `moved toward even: ${counts.join(' → ')} → ${heavy}`);
    assert.ok(counts.every((c, i) => i === 0 || c <= counts[i - 1]!), `never back up: ${counts.join(' → ')}`);
    // Every client still works.
    const replies = await Promise.all(clients.map((c) => c.request(request('HealthCheckRequest'))));
    assert.ok(replies.every((r) => r.resultCode === 200), 'all requests ok');
  });
});

describe('bad member lists stop the start with a clear error', () => {
  const home = mkdtempSync(join(tmpdir(), 'nacos-remote-badmembers-'));
  after(() => rmSync(home, { recursive: true, force: true }));
  const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', cli, 'server', '--host', '127.0.0.1', '--port', '18000', '--home', home, ...args], { encoding: 'utf8', timeout: 30_000 });

  it('self missing, duplicates, garbage lines in cluster.conf', () => {
    const missing = run(['--members', '127.0.0.2:18000,127.0.0.3:18000']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /does not list this node \(127\.0\.0\.1:18000\)/);
    const dup = run(['--members', '127.0.0.1:18000,127.0.0.1:18000']);
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /listed twice/);
    mkdirSync(join(home, 'conf'), { recursive: true });
    writeFileSync(join(home, 'conf', 'cluster.conf'), '127.0.0.1:18000\n???\n');
    const garbage = run([]);
    assert.equal(garbage.status, 1);
    assert.match(garbage.stderr, /cluster\.conf line 2/);
  });
});
