import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HarnessProcess, type HarnessEvent } from '../support/harness-process.js';
import { MariaDb } from '../support/mariadb.js';
import { NodeProcess } from '../support/node-process.js';
import { findMainPort } from '../support/ports.js';
import { eventually } from '../support/raw-peer.js';

const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'] as const;
const DATA_ID = 'shared.properties';
const GROUP = 'DEFAULT_GROUP';
const javaDir = fileURLToPath(new URL('../../interop/java/', import.meta.url));
const goDir = fileURLToPath(new URL('../../interop/go/', import.meta.url));

interface Listener {
  readonly name: string;
  /** How its connections name their client version (metaInfo.version). */
  readonly version: RegExp;
  readonly harness: HarnessProcess;
}

const pushesOf = (listener: Listener): string[] =>
  listener.harness.events.filter((e: HarnessEvent) => e.event === 'config' && e['source'] === 'push').map((e) => String(e['content']));

/**
 * Three member processes on one MariaDB, the real Java ConfigService 2.2.4 and the Go config
 * client listening on different members, changes published through the open API on the third.
 */
describe('config across 3 member processes on one MariaDB, real Java and Go listeners', { timeout: 600_000 }, () => {
  const db = new MariaDb();
  const members: NodeProcess[] = [];
  const listeners: Listener[] = [];
  let port: number;
  let confDir: string;
  let cacheDir: string;

  /** A config file for every member; `config` is merged in (announcements, catch-up). */
  const writeConfig = (config: Record<string, unknown>): string => {
    const file = join(confDir, `node-${Date.now()}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        members: HOSTS.map((h) => `${h}:${port}`).join(','),
        db: { url: db.url('scenario'), init: true, connectTimeoutMs: 2000, queryTimeoutMs: 5000 },
        config: { catchUpMs: 3000, ...config },
        memberClient: { keepAliveMs: 1000, healthCheckTimeoutMs: 1000 },
        balancer: { enabled: false },
      }),
    );
    return file;
  };

  const openApi = async (member: NodeProcess, method: 'GET' | 'POST', path: string, params: Record<string, string> = {}): Promise<string> => {
    const query = new URLSearchParams({ dataId: DATA_ID, group: GROUP, ...params });
    const res = await fetch(`http://${member.address}${path}${method === 'GET' ? `?${query}` : ''}`, method === 'POST' ? { method, body: query } : {});
    const text = await res.text();
    assert.equal(res.status, 200, `${method} ${member.address}${path}: ${text}`);
    return text;
  };
  const publishOn = (member: NodeProcess, content: string): Promise<string> => openApi(member, 'POST', '/nacos/v1/cs/configs', { content });

  /** The member a listener's config connection is on now, and the connection's id. */
  const whereIs = async (listener: Listener): Promise<{ member: NodeProcess; connectionId: string } | undefined> => {
    for (const member of members) {
      const res = await fetch(`http://${member.address}/nacos/v2/core/loader/current?label.module=config`).catch(() => undefined);
      if (res?.status !== 200) continue;
      const current = (await res.json()) as Record<string, { metaInfo: { version: string } }>;
      const found = Object.entries(current).find(([, c]) => listener.version.test(c.metaInfo.version));
      if (found) return { member, connectionId: found[0] };
    }
    return undefined;
  };
  /**
   * Moves a listener's connection to `target` (loader reloadClient), unless it is there. Asked
   * again while it has not moved: Java's RpcClient 2.2.4 acknowledges but ignores a
   * ConnectResetRequest that lands before it counts itself running, just after it connected.
   */
  const moveTo = async (listener: Listener, target: NodeProcess): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      const at = await eventually(() => whereIs(listener), 30_000, `${listener.name} connected`);
      if (at.member === target) return;
      const res = await fetch(`http://${at.member.address}/nacos/v2/core/loader/reloadClient?connectionId=${at.connectionId}&redirectAddress=${target.address}`);
      assert.equal(res.status, 200, await res.text());
      let now: { member: NodeProcess; connectionId: string } | undefined;
      try {
        await eventually(
          async () => (now = await whereIs(listener))?.member === target,
          15_000,
          () => `${listener.name} moved from ${at.member.address} (${at.connectionId}) to ${target.address}, now ${now?.member.address} (${now?.connectionId})`,
        );
        return;
      } catch (error) {
        if (attempt >= 4) throw error;
      }
    }
  };
  /** Every listener's last push is `content`. */
  const allHear = async (content: string): Promise<void> => {
    for (const listener of listeners) {
      await eventually(() => pushesOf(listener).at(-1) === content, 90_000, () => `${listener.name} hears ${content}: ${JSON.stringify(pushesOf(listener))}`);
    }
  };
  /** No listener was called twice with one content (one md5). */
  const neverTwice = (): void => {
    for (const listener of listeners) {
      const heard = pushesOf(listener);
      assert.deepEqual(heard, [...new Set(heard)], `${listener.name} heard a content twice: ${JSON.stringify(heard)}`);
    }
  };
  /** ConfigBatchListenRequests a member has answered, from its metrics. */
  const listensCounted = async (member: NodeProcess): Promise<number> => {
    const text = await (await fetch(`http://${member.address}/metrics`)).text();
    const lines = text.split('\n').filter((l) => l.startsWith('nacos_remote_unary_requests_total{') && l.includes('type="ConfigBatchListenRequest"'));
    return lines.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  };
  /**
   * Publishes `content` and waits until every listener heard it. nacos-sdk-go v2.3.5 can lose a
   * push that lands during its listen round (docs/config.md): after hearing a change it listens
   * again (changed) and once more (confirming); the next change waits for both on its member.
   */
  /** Changes after which the Go client's two listens were not seen within the wait. */
  const unconfirmed: string[] = [];
  const change = async (go: Listener, content: string, publish: () => Promise<unknown>): Promise<void> => {
    const at = await whereIs(go);
    const counted = at === undefined ? 0 : await listensCounted(at.member);
    await publish();
    await allHear(content);
    if (at === undefined) return;
    // A Go client that heard the change by its own listen round (after a reconnect) may not
    // listen twice more: that may happen once in the test, not at every step (asserted at the end).
    await eventually(
      async () => (await listensCounted(at.member).catch(() => Infinity)) >= counted + 2 || (await whereIs(go))?.member !== at.member,
      20_000,
      `the Go client confirmed ${content}`,
    ).catch(() => unconfirmed.push(content));
  };

  before(async () => {
    execFileSync(`${javaDir}build.sh`, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
    execFileSync(`${goDir}build.sh`, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
    confDir = mkdtempSync(join(tmpdir(), 'nacos-remote-shared-conf-'));
    cacheDir = mkdtempSync(join(tmpdir(), 'nacos-remote-shared-cache-'));
    await db.start();
    await db.createDatabase('scenario');
    port = await findMainPort([...HOSTS]);
    const config = writeConfig({});
    for (const host of HOSTS) members.push(new NodeProcess(host, port, ['--config', config]));
    await Promise.all(members.map((m) => m.start()));
  });
  after(async () => {
    for (const listener of listeners) await listener.harness.stop();
    await Promise.all(members.map((m) => m.dispose()));
    await db.stop();
    rmSync(confDir, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('a change published on a third member reaches both; SIGKILL, a move, every member restarted and announcements dropped: each listener ends with the latest content, never twice', async () => {
    const [a, b, c] = members as [NodeProcess, NodeProcess, NodeProcess];
    const servers = members.map((m) => m.address).join(',');
    const java: Listener = {
      name: 'Java 2.2.4',
      version: /Java/i,
      harness: new HarnessProcess('java', [
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
        '-cp',
        `${javaDir}target/nacos-interop-java.jar`,
        'nacosremote.interop.ConfigHarness',
        '--servers',
        servers,
        '--cache-dir',
        join(cacheDir, 'java'),
      ]),
    };
    const go: Listener = {
      name: 'Go',
      version: /Go/i,
      harness: new HarnessProcess(`${goDir}bin/nacos-interop-go`, ['config', '--servers', servers, '--cache-dir', join(cacheDir, 'go'), '--log-level', 'warn']),
    };
    listeners.push(java, go);
    for (const listener of listeners) {
      await listener.harness.waitForEvent((e) => e.event === 'started', 60_000, `${listener.name} started`);
      const answer = await listener.harness.command(`listen ${DATA_ID} ${GROUP}`, (e) => e.event === 'ok' || e.event === 'error', 30_000);
      assert.equal(answer.event, 'ok', JSON.stringify(answer));
    }
    await moveTo(java, a);
    await moveTo(go, b);

    // 1. Published through the open API on the third member.
    await change(go, 'step=1 open api on c', () => publishOn(c, 'step=1 open api on c'));

    // 2. The member the Java listener is on is SIGKILLed; a change made while it moves reaches it.
    await change(go, 'step=2 while java moves', async () => {
      await a.stop('SIGKILL');
      await publishOn(c, 'step=2 while java moves');
    });
    assert.notEqual((await whereIs(java))?.member, a);
    await a.start();

    // 3. A move of both listeners (to c), a change published during it.
    await change(go, 'step=3 during the move', () => Promise.all([moveTo(java, c), moveTo(go, c), publishOn(b, 'step=3 during the move')]));

    // 4. Every member restarted, now with announcements off: configs and history are there, and
    // listeners converge by the catch-up alone.
    const quiet = writeConfig({ announce: false, catchUpMs: 2000 });
    for (const member of members) {
      await member.dispose();
      members[members.indexOf(member)] = new NodeProcess(member.host, member.port, ['--config', quiet]);
    }
    await Promise.all(members.map((m) => m.start()));
    for (const member of members) {
      assert.equal(await openApi(member, 'GET', '/nacos/v1/cs/configs'), 'step=3 during the move');
      const history = JSON.parse(await openApi(member, 'GET', '/nacos/v2/cs/history/list')) as { data: { totalCount: number } };
      assert.equal(history.data.totalCount, 3, `three publishes in the history, read on ${member.address}`);
    }
    const [a2, b2, c2] = members as [NodeProcess, NodeProcess, NodeProcess];
    await moveTo(java, a2);
    await moveTo(go, b2);
    // The last change: nothing follows that the Go client could miss.
    await publishOn(c2, 'step=4 announcements dropped');
    await allHear('step=4 announcements dropped');

    neverTwice();
    assert.ok(unconfirmed.length <= 1, `the Go client's listens after a change were not seen more than once: ${unconfirmed.join(', ')}`);
  });
});
