import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { NacosServer } from '../../src/server/nacos-server.js';
import { HarnessProcess } from '../support/harness-process.js';
import { findMainPort } from '../support/ports.js';
import { eventually } from '../support/raw-peer.js';
import { parseLimitRule } from '../../src/server/control/limit-rule.js';
import { startTestServer } from '../support/server.js';

const goDir = fileURLToPath(new URL('../../interop/go/', import.meta.url));

function harnessCommand(servers: string[]): [string, string[]] {
  return [`${goDir}bin/nacos-interop-go`, ['--servers', servers.join(','), '--labels', 'source=sdk,AppName=interop-go', '--log-level', 'warn']];
}

// The real github.com/nacos-group/nacos-sdk-go/v2 rpc client against two of our nodes on
// 127.0.0.1 and 127.0.0.2 with the same port.
describe('interop: Go nacos-sdk-go/v2', { timeout: 300_000 }, () => {
  let first: NacosServer;
  let second: NacosServer;
  let port: number;
  let go: HarnessProcess;

  before(async () => {
    execFileSync(`${goDir}build.sh`, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
    port = await findMainPort(['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const ejector = { initialDelayMs: 200, intervalMs: 500, idleThresholdMs: 1500, detectTimeoutMs: 3000 };
    first = (await startTestServer({ host: '127.0.0.1', port, ejector })).server;
    second = (await startTestServer({ host: '127.0.0.2', port, ejector })).server;
    go = new HarnessProcess(...harnessCommand([`127.0.0.1:${port}`, `127.0.0.2:${port}`]));
  });

  after(async () => {
    await go?.stop();
    await first?.close();
    await second?.close();
  });

  it('connects, is registered with its labels and version, and passes health checks', async () => {
    const connected = await go.waitForEvent((e) => e.event === 'connected', 60_000, 'connected');
    assert.equal(connected['server'], `127.0.0.1:${port}`);
    const id = String(connected['connectionId']);
    const info = await eventually(() => first.connections().find((c) => c.connectionId === id), 5000, 'registration');
    assert.match(info.version, /^Nacos-Go-Client:v2\./);
    assert.equal(info.labels['source'], 'sdk');
    assert.equal(info.appName, 'interop-go');
    const health = await go.command('health', (e) => e.event === 'response' || e.event === 'error');
    assert.equal(health['resultCode'], 200, JSON.stringify(health));
  });

  it("answers the ejector's ClientDetectionRequest and stays registered", async () => {
    const status = await go.command('status', (e) => e.event === 'status');
    const id = String(status['connectionId']);
    await go.waitForEvent((e) => e.event === 'push' && e['type'] === 'ClientDetectionRequest', 20_000, 'ClientDetectionRequest');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.ok(first.manager.checkValid(id), 'still registered after answering the probe');
  });

  it('obeys a ConnectResetRequest redirecting it to 127.0.0.2 and is unregistered on the first node', async () => {
    const status = await go.command('status', (e) => e.event === 'status');
    const oldId = String(status['connectionId']);
    const from = go.events.length;
    assert.equal(await first.manager.loadSingle(oldId, `127.0.0.2:${port}`), true);
    const moved = await go.waitForEvent((e) => e.event === 'connected' && e['server'] === `127.0.0.2:${port}`, 30_000, 'reconnect to 127.0.0.2', from);
    const newId = String(moved['connectionId']);
    await eventually(() => second.manager.checkValid(newId), 5000, 'registered on 127.0.0.2');
    await eventually(() => !first.manager.checkValid(oldId), 10_000, 'unregistered on 127.0.0.1');
    const health = await go.command('health', (e) => e.event === 'response' || e.event === 'error');
    assert.equal(health['resultCode'], 200, JSON.stringify(health));
  });

  it('closing the node it is on does not disturb the process, and the client moves to the other', async () => {
    const status = await go.command('status', (e) => e.event === 'status');
    assert.equal(status['server'], `127.0.0.2:${port}`);
    const from = go.events.length;
    // No redirect target: the Go client health-checks the closing connection meanwhile (the case
    // that used to abort Node when sockets were destroyed under live HTTP/2 sessions).
    await second.close();
    const moved = await go.waitForEvent((e) => e.event === 'connected' && e['server'] === `127.0.0.1:${port}`, 30_000, 'reconnect to 127.0.0.1', from);
    await eventually(() => first.manager.checkValid(String(moved['connectionId'])), 10_000, 'registered on 127.0.0.1');
  });
  it('refused by a full node (limit 0), it ends up registered on the other node', async () => {
    const full = (await startTestServer({ host: '127.0.0.3', port, limitRule: parseLimitRule({ countLimit: 0 }) })).server;
    const open = (await startTestServer({ host: '127.0.0.4', port })).server;
    const refused = new HarnessProcess(...harnessCommand([`127.0.0.3:${port}`, `127.0.0.4:${port}`]));
    try {
      const landed = await refused.waitForEvent((e) => e.event === 'connected' && e['server'] === `127.0.0.4:${port}`, 60_000, 'connected to the open node');
      await eventually(() => open.manager.checkValid(String(landed['connectionId'])), 15_000, 'registered on the open node');
      assert.equal(full.manager.count, 0);
      const health = await refused.command('health', (e) => e.event === 'response' || e.event === 'error');
      assert.equal(health['resultCode'], 200, JSON.stringify(health));
    } finally {
      await refused.stop();
      await full.close();
      await open.close();
    }
  });
});
