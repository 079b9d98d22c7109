import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigClient } from '../../src/client/index.js';
import { HarnessProcess, type HarnessEvent } from './harness-process.js';
import { NodeProcess } from './node-process.js';
import { findMainPort } from './ports.js';
import { eventually } from './raw-peer.js';
import { testLogger } from './server.js';

/** A real Nacos config client behind the interop line protocol (get, publish, listen). */
export interface RealConfigClient {
  readonly name: string;
  /** The harness's build script (cached build). */
  readonly build: string;
  /** The command line for a harness on this main address, with its snapshots in `cacheDir`. */
  command(server: string, cacheDir: string): [string, string[]];
  /**
   * nacos-sdk-go v2.3.5 loses a push that lands while its listen loop finishes a round (the loop
   * writes back a copy of its cache taken before the push), for up to its 5-minute full sync. Such
   * a client is given each change only once it has confirmed the last: after hearing it, its
   * listen loop listens again (changed) and once more (confirming), so the suite waits for the
   * node to have counted both before the next change.
   */
  readonly losesPushDuringListen?: boolean;
}

const answered = (e: HarnessEvent) => e.event === 'ok' || e.event === 'config' || e.event === 'error';
const DATA_ID = 'interop.properties';
const GROUP = 'DEFAULT_GROUP';

/**
 * What every real config client must see through one of our nodes: a change published through the
 * open API, through the real client and through ours reaches the real client's listener and ours,
 * as does one published while reloadClient moves their connections; after the node is SIGKILLed and restarted on the same home, the configs and their history are
 * there and both listeners, reconnected by themselves, hear the next change.
 */
export function realConfigClientSuite(real: RealConfigClient): void {
  describe(`interop: ${real.name} config`, { timeout: 300_000 }, () => {
    let node: NodeProcess;
    let cacheDir: string;
    let harness: HarnessProcess | undefined;
    let ours: ConfigClient | undefined;
    const heard: (string | undefined)[] = [];

    before(async () => {
      execFileSync(real.build, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
      cacheDir = mkdtempSync(join(tmpdir(), 'nacos-remote-config-cache-'));
      node = new NodeProcess('127.0.0.1', await findMainPort());
      await node.start();
    });
    after(async () => {
      await harness?.stop();
      await ours?.shutdown();
      await node?.dispose();
      if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
    });

    const run = async (command: string): Promise<HarnessEvent> => {
      const answer = await harness!.command(command, answered, 30_000);
      assert.notEqual(answer.event, 'error', `${command}: ${JSON.stringify(answer)}`);
      return answer;
    };
    const openApi = async (method: 'GET' | 'POST', path: string, params: Record<string, string>): Promise<string> => {
      const query = new URLSearchParams({ dataId: DATA_ID, group: GROUP, ...params });
      const res = await fetch(`http://${node.address}${path}${method === 'GET' ? `?${query}` : ''}`, method === 'POST' ? { method, body: query } : {});
      const text = await res.text();
      assert.equal(res.status, 200, `${method} ${path}: ${text}`);
      return text;
    };
    /** The ids of the node's config connections (label module=config). */
    const configConnections = async (): Promise<string[]> => {
      const res = await fetch(`http://${node.address}/nacos/v2/core/loader/current?label.module=config`);
      return Object.keys((await res.json()) as Record<string, unknown>);
    };
    /** ConfigBatchListenRequests the node has answered, from its metrics. */
    const listensCounted = async (): Promise<number> => {
      const text = await (await fetch(`http://${node.address}/metrics`)).text();
      const lines = text.split('\n').filter((l) => l.startsWith('nacos_remote_unary_requests_total{') && l.includes('type="ConfigBatchListenRequest"'));
      return lines.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    };
    let listensBefore = 0;
    /** Publishes a change by `publish`, once the real client can take it (see losesPushDuringListen). */
    const change = async (publish: () => Promise<unknown>): Promise<void> => {
      listensBefore = await listensCounted();
      await publish();
    };
    /** Both listeners heard `content`: the real client's (a push event) and ours. */
    const bothHear = async (content: string): Promise<void> => {
      await harness!.waitForEvent((e) => e.event === 'config' && e['source'] === 'push' && e['content'] === content, 60_000, `the real listener hears ${content}`);
      await eventually(() => heard.includes(content), 60_000, () => `our listener hears ${content}: ${JSON.stringify(heard)}`);
      if (real.losesPushDuringListen === true) await eventually(async () => (await listensCounted()) >= listensBefore + 2, 30_000, 'the real client confirmed the change');
    };

    it('a change through the open API, the real client and ours reaches both listeners, one during a reloadClient move too; after a SIGKILL and restart on the same home the configs and history are there and both hear the next change', async () => {
      harness = new HarnessProcess(...real.command(node.address, cacheDir));
      await harness.waitForEvent((e) => e.event === 'started', 60_000, 'config client started');
      ours = new ConfigClient({ serverAddresses: [node.address], logger: testLogger, keepAliveMs: 1000, healthCheckTimeoutMs: 1000 });
      await ours.start();
      await run(`listen ${DATA_ID} ${GROUP}`);
      await ours.addListener(DATA_ID, GROUP, (change) => heard.push(change.content));

      await change(() => openApi('POST', '/nacos/v1/cs/configs', { content: 'source=open-api' }));
      await bothHear('source=open-api');
      await change(() => run(`publish ${DATA_ID} ${GROUP} source=real client`));
      await bothHear('source=real client');
      await change(() => ours!.publishConfig(DATA_ID, GROUP, 'source=ours'));
      await bothHear('source=ours');
      assert.equal((await run(`get ${DATA_ID} ${GROUP}`))['content'], 'source=ours');

      // reloadClient moves every config connection (the real client's and ours) to this node
      // again, and a change published during the move still reaches both.
      const before = await configConnections();
      assert.equal(before.length, 2, JSON.stringify(before));
      for (const id of before) {
        const res = await fetch(`http://${node.address}/nacos/v2/core/loader/reloadClient?connectionId=${id}&redirectAddress=${node.address}`);
        assert.equal(res.status, 200, await res.text());
      }
      await change(() => openApi('POST', '/nacos/v1/cs/configs', { content: 'source=during the move' }));
      await bothHear('source=during the move');
      let now: string[] = [];
      await eventually(async () => {
        now = await configConnections();
        return now.length === 2 && now.every((id) => !before.includes(id));
      }, 60_000, () => `both moved to new connections: before ${JSON.stringify(before)}, now ${JSON.stringify(now)}`);

      await node.stop('SIGKILL');
      await node.start();
      assert.equal(await openApi('GET', '/nacos/v1/cs/configs', {}), 'source=during the move');
      const history = JSON.parse(await openApi('GET', '/nacos/v2/cs/history/list', {})) as { data: { totalCount: number } };
      assert.equal(history.data.totalCount, 4, 'four publishes in the history');

      await change(() => openApi('POST', '/nacos/v1/cs/configs', { content: 'source=after restart' }));
      await bothHear('source=after restart');
      // Ours heard each content once.
      assert.deepEqual(heard, ['source=open-api', 'source=real client', 'source=ours', 'source=during the move', 'source=after restart']);
    });
  });
}
