import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { ConnectionInfo, NacosServer } from '../../src/server/nacos-server.js';
import { parseLimitRule } from '../../src/server/control/limit-rule.js';
import { HarnessProcess, type HarnessEvent } from './harness-process.js';
import { findMainPort } from './ports.js';
import { eventually } from './raw-peer.js';
import { startTestServer } from './server.js';

/** A real Nacos client behind the interop line protocol (interop/java, interop/go). */
export interface RealClient {
  readonly name: string;
  /** The harness's build script (cached build). */
  readonly build: string;
  /** The command line for a harness with this server list. */
  command(servers: readonly string[]): [string, string[]];
  /** What the server must have recorded for it. */
  checkRegistration(info: ConnectionInfo): void;
  /** More tests run against the same two nodes, after the common ones. */
  more?(context: () => InteropContext): void;
}

export interface InteropContext {
  readonly port: number;
  readonly first: NacosServer;
  readonly second: NacosServer;
  readonly client: HarnessProcess;
}

const answered = (e: { event: string }) => e.event === 'response' || e.event === 'error';

/**
 * The interop checks every real client must pass against our nodes on 127.0.0.1 and 127.0.0.2
 * (same port, both in its list): connect and register, answer the ejector's probe, follow a
 * redirect (and be unregistered on the first node), and land elsewhere when a node refuses it.
 */
export function realClientSuite(real: RealClient): void {
  describe(`interop: ${real.name}`, { timeout: 300_000 }, () => {
    let ctx: InteropContext;

    before(async () => {
      execFileSync(real.build, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
      const port = await findMainPort(['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']);
      // Short ejector intervals so the idle probe (ClientDetectionRequest) happens during the test.
      const ejector = { initialDelayMs: 200, intervalMs: 500, idleThresholdMs: 1500, detectTimeoutMs: 3000 };
      const first = (await startTestServer({ host: '127.0.0.1', port, ejector })).server;
      const second = (await startTestServer({ host: '127.0.0.2', port, ejector })).server;
      const client = new HarnessProcess(...real.command([`127.0.0.1:${port}`, `127.0.0.2:${port}`]));
      ctx = { port, first, second, client };
    });

    after(async () => {
      await ctx?.client.stop();
      await ctx?.first.close();
      await ctx?.second.close();
    });

    it('connects, is registered with its labels and version, and passes health checks', async () => {
      const connected = await ctx.client.waitForEvent((e) => e.event === 'connected', 60_000, 'connected');
      assert.equal(connected['server'], `127.0.0.1:${ctx.port}`);
      const id = String(connected['connectionId']);
      const info = await eventually(() => ctx.first.connections().find((c) => c.connectionId === id), 5000, 'registration');
      assert.equal(info.labels['source'], 'sdk');
      assert.equal(info.remoteIp, '127.0.0.1');
      real.checkRegistration(info);
      const health = await ctx.client.command('health', answered);
      assert.equal(health['resultCode'], 200, JSON.stringify(health));
    });

    it("answers the ejector's ClientDetectionRequest and stays registered", async () => {
      const status = await ctx.client.command('status', (e) => e.event === 'status');
      const id = String(status['connectionId']);
      const isProbe = (e: HarnessEvent) => e.event === 'push' && e['type'] === 'ClientDetectionRequest';
      const probe = await ctx.client.waitForEvent(isProbe, 20_000, 'ClientDetectionRequest');
      // The ejector's runs follow one another: a second probe means the run that sent the first is
      // over, and that run ejects a connection that did not answer.
      await ctx.client.waitForEvent(isProbe, 20_000, 'a second ClientDetectionRequest', ctx.client.events.indexOf(probe) + 1);
      assert.ok(ctx.first.manager.checkValid(id), 'still registered after answering the probe');
    });

    it('obeys a ConnectResetRequest redirecting it to 127.0.0.2 and is unregistered on the first node', async () => {
      const status = await ctx.client.command('status', (e) => e.event === 'status');
      const oldId = String(status['connectionId']);
      const from = ctx.client.events.length;
      assert.equal(await ctx.first.manager.loadSingle(oldId, `127.0.0.2:${ctx.port}`), true);
      const moved = await ctx.client.waitForEvent((e) => e.event === 'connected' && e['server'] === `127.0.0.2:${ctx.port}`, 30_000, 'reconnect to 127.0.0.2', from);
      await eventually(() => ctx.second.manager.checkValid(String(moved['connectionId'])), 5000, 'registered on 127.0.0.2');
      await eventually(() => !ctx.first.manager.checkValid(oldId), 10_000, 'unregistered on 127.0.0.1');
      const push = ctx.client.events.find((e) => e.event === 'push' && e['type'] === 'ConnectResetRequest');
      assert.equal(push?.['serverIp'], '127.0.0.2');
      assert.equal(push?.['serverPort'], String(ctx.port));
      const health = await ctx.client.command('health', answered);
      assert.equal(health['resultCode'], 200, JSON.stringify(health));
    });

    it('refused by a full node (limit 0), it ends up registered on the other node', async () => {
      const { port } = ctx;
      const full = (await startTestServer({ host: '127.0.0.3', port, limitRule: parseLimitRule({ countLimit: 0 }) })).server;
      const open = (await startTestServer({ host: '127.0.0.4', port })).server;
      const refused = new HarnessProcess(...real.command([`127.0.0.3:${port}`, `127.0.0.4:${port}`]));
      try {
        const landed = await refused.waitForEvent((e) => e.event === 'connected' && e['server'] === `127.0.0.4:${port}`, 60_000, 'connected to the open node');
        await eventually(() => open.manager.checkValid(String(landed['connectionId'])), 15_000, 'registered on the open node');
        assert.equal(full.manager.count, 0);
        const health = await refused.command('health', answered);
        assert.equal(health['resultCode'], 200, JSON.stringify(health));
      } finally {
        await refused.stop();
        await full.close();
        await open.close();
      }
    });

    real.more?.(() => ctx);
  });
}
