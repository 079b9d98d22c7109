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
}

const answered = (e: HarnessEvent) => e.event === 'ok' || e.event === 'config' || e.event === 'error';
const DATA_ID = 'interop.properties';
const GROUP = 'DEFAULT_GROUP';

/**
 * What every real config client must see through one of our nodes: a change published through the
 * open API, through the real client and through ours reaches the real client's listener and ours;
 * after the node is SIGKILLed and restarted on the same home, the configs and their history are
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
    /** Both listeners heard `content`: the real client's (a push event) and ours. */
    const bothHear = async (content: string): Promise<void> => {
      await harness!.waitForEvent((e) => e.event === 'config' && e['source'] === 'push' && e['content'] === content, 60_000, `the real listener hears ${content}`);
      await eventually(() => heard.includes(content), 60_000, () => `our listener hears ${content}: ${JSON.stringify(heard)}`);
    };

    it('a change through the open API, the real client and ours reaches both listeners; after a SIGKILL and restart on the same home the configs and history are there and both hear the next change', async () => {
      harness = new HarnessProcess(...real.command(node.address, cacheDir));
      await harness.waitForEvent((e) => e.event === 'started', 60_000, 'config client started');
      ours = new ConfigClient({ serverAddresses: [node.address], logger: testLogger, keepAliveMs: 1000, healthCheckTimeoutMs: 1000 });
      await ours.start();
      await run(`listen ${DATA_ID} ${GROUP}`);
      await ours.addListener(DATA_ID, GROUP, (change) => heard.push(change.content));

      await openApi('POST', '/nacos/v1/cs/configs', { content: 'source=open-api' });
      await bothHear('source=open-api');
      await run(`publish ${DATA_ID} ${GROUP} source=real client`);
      await bothHear('source=real client');
      await ours.publishConfig(DATA_ID, GROUP, 'source=ours');
      await bothHear('source=ours');
      assert.equal((await run(`get ${DATA_ID} ${GROUP}`))['content'], 'source=ours');

      await node.stop('SIGKILL');
      await node.start();
      assert.equal(await openApi('GET', '/nacos/v1/cs/configs', {}), 'source=ours');
      const history = JSON.parse(await openApi('GET', '/nacos/v2/cs/history/list', {})) as { data: { totalCount: number } };
      assert.equal(history.data.totalCount, 3, 'three publishes in the history');

      await openApi('POST', '/nacos/v1/cs/configs', { content: 'source=after restart' });
      await bothHear('source=after restart');
      // Ours heard each content once.
      assert.deepEqual(heard, ['source=open-api', 'source=real client', 'source=ours', 'source=after restart']);
    });
  });
}
