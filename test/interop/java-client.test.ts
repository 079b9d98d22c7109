import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HarnessProcess } from '../support/harness-process.js';
import { findMainPort } from '../support/ports.js';
import { eventually } from '../support/raw-peer.js';
import { parseLimitRule } from '../../src/server/control/limit-rule.js';
import { startTestServer } from '../support/server.js';
import type { NacosServer } from '../../src/server/nacos-server.js';

const javaDir = fileURLToPath(new URL('../../interop/java/', import.meta.url));
const jar = `${javaDir}target/nacos-interop-java.jar`;

function harnessCommand(servers: string[]): [string, string[]] {
  return ['java', ['-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-jar', jar, '--servers', servers.join(','), '--labels', 'source=sdk,AppName=interop-java']];
}

// The real com.alibaba.nacos:nacos-client:2.2.4 RpcClient against two of our nodes on
// 127.0.0.1 and 127.0.0.2 with the same port, as a real cluster looks.
describe('interop: Java nacos-client 2.2.4', { timeout: 240_000 }, () => {
  let first: NacosServer;
  let second: NacosServer;
  let port: number;
  let java: HarnessProcess;

  before(async () => {
    execFileSync(`${javaDir}build.sh`, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
    port = await findMainPort(['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']);
    // Short ejector intervals so the idle probe (ClientDetectionRequest) happens during the test.
    const ejector = { initialDelayMs: 200, intervalMs: 500, idleThresholdMs: 1500, detectTimeoutMs: 3000 };
    first = (await startTestServer({ host: '127.0.0.1', port, ejector })).server;
    second = (await startTestServer({ host: '127.0.0.2', port, ejector })).server;
    java = new HarnessProcess(...harnessCommand([`127.0.0.1:${port}`, `127.0.0.2:${port}`]));
  });

  after(async () => {
    await java?.stop();
    await first?.close();
    await second?.close();
  });

  it('connects, is registered with its labels and version, and passes health checks', async () => {
    const connected = await java.waitForEvent((e) => e.event === 'connected', 60_000, 'connected');
    assert.equal(connected['server'], `127.0.0.1:${port}`);
    const id = String(connected['connectionId']);
    const info = await eventually(() => first.connections().find((c) => c.connectionId === id), 5000, 'registration');
    assert.equal(info.version, 'Nacos-Java-Client:v2.2.4');
    assert.equal(info.labels['source'], 'sdk');
    assert.equal(info.labels['AppName'], 'interop-java');
    assert.equal(info.labels['tls.enable'], 'false');
    assert.equal(info.appName, 'interop-java');
    assert.equal(info.remoteIp, '127.0.0.1');
    const health = await java.command('health', (e) => e.event === 'response' || e.event === 'error');
    assert.deepEqual(health, { event: 'response', type: 'HealthCheckResponse', resultCode: 200, errorCode: 0, success: true });
  });

  it('answers the ejector\'s ClientDetectionRequest and stays registered', async () => {
    const status = await java.command('status', (e) => e.event === 'status');
    const id = String(status['connectionId']);
    await java.waitForEvent((e) => e.event === 'push' && e['type'] === 'ClientDetectionRequest', 20_000, 'ClientDetectionRequest');
    // Give the ejector two more runs: a non-answer would have unregistered it by then.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    assert.ok(first.manager.checkValid(id), 'still registered after answering the probe');
    assert.equal(java.events.filter((e) => e.event === 'disconnected').length, 0);
  });

  it('obeys a ConnectResetRequest redirecting it to 127.0.0.2 and is unregistered on the first node', async () => {
    const status = await java.command('status', (e) => e.event === 'status');
    const oldId = String(status['connectionId']);
    const from = java.events.length;
    const acked = await first.manager.loadSingle(oldId, `127.0.0.2:${port}`);
    assert.equal(acked, true);
    const moved = await java.waitForEvent((e) => e.event === 'connected' && e['server'] === `127.0.0.2:${port}`, 30_000, 'reconnect to 127.0.0.2', from);
    const newId = String(moved['connectionId']);
    await eventually(() => second.manager.checkValid(newId), 5000, 'registered on 127.0.0.2');
    await eventually(() => !first.manager.checkValid(oldId), 10_000, 'unregistered on 127.0.0.1');
    const push = java.events.find((e) => e.event === 'push' && e['type'] === 'ConnectResetRequest');
    assert.equal(push?.['serverIp'], '127.0.0.2');
    assert.equal(push?.['serverPort'], String(port));
    const health = await java.command('health', (e) => e.event === 'response' || e.event === 'error');
    assert.equal(health['resultCode'], 200);
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
