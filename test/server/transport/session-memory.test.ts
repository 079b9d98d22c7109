import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http2 from 'node:http2';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ClientStatus, RpcClient } from '../../../src/client/index.js';
import { GrpcPaths, request } from '../../../src/protocol/index.js';
import { NodeProcess } from '../../support/node-process.js';
import { findMainPort } from '../../support/ports.js';
import { testLogger } from '../../support/server.js';

const MiB = 1024 * 1024;
const SESSIONS = 3;
const STREAMS_PER_SESSION = 100;
const DECLARED_BYTES = 8 * MiB;
const SENT_BYTES = 3 * MiB;

/** The resident set of a process, from /proc (Linux). */
function residentBytes(pid: number): number {
  const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(kib, 'VmRSS in /proc status');
  return Number(kib[1]) * 1024;
}

type StreamOutcome = 'sent' | 'refused';

/**
 * Opens streams that declare an 8 MiB gRPC message and send 3 MiB of it, never finishing it (an
 * unregistered attacker). Resolves per stream once its bytes have left this process (the node took
 * them in) or the node closed the stream.
 */
function openUnfinishedStreams(session: http2.ClientHttp2Session, count: number, body: Buffer): Promise<StreamOutcome>[] {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(DECLARED_BYTES, 1);
  return Array.from({ length: count }, () => {
    const stream = session.request({
      ':method': 'POST',
      ':path': GrpcPaths.REQUEST,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    return new Promise<StreamOutcome>((resolve) => {
      stream.on('error', () => resolve('refused'));
      stream.on('close', () => resolve('refused'));
      stream.write(header);
      stream.write(body, (error) => resolve(error ? 'refused' : 'sent'));
    });
  });
}

// Regression (issue 10): before the unfinished-message budgets the node grew by ~900 MiB here.
describe('a session cannot make the node hold unfinished messages without bound', () => {
  let node: NodeProcess;
  let client: RpcClient;
  const sessions: http2.ClientHttp2Session[] = [];
  const configDir = mkdtempSync(join(tmpdir(), 'nacos-remote-session-memory-'));

  before(async () => {
    const port = await findMainPort();
    // Unregistered sockets are closed after twice the setup timeout: keep the attacker's open for
    // the whole test, so what it makes the node hold is still held when measured.
    const configPath = join(configDir, 'node.json');
    writeFileSync(configPath, JSON.stringify({ setupTimeoutMs: 120_000 }));
    node = new NodeProcess('127.0.0.1', port, ['--config', configPath]);
    await node.start();
    client = new RpcClient({ serverAddresses: [node.address], logger: testLogger, keepAliveMs: 300, healthCheckTimeoutMs: 3000 });
    await client.start();
  });

  after(async () => {
    for (const session of sessions) session.destroy();
    await client?.shutdown();
    await node?.dispose();
    rmSync(configDir, { recursive: true, force: true });
  });

  it('300 streams each sending 3 MiB of a declared 8 MiB message grow its RSS by < 100 MiB; a registered client stays healthy', async (t) => {
    const pid = node.pid;
    assert.ok(pid !== undefined);
    const connectionId = client.connectionId;
    const healthBefore = await client.request(request('HealthCheckRequest'));
    assert.equal(healthBefore.resultCode, 200);
    const rssBefore = residentBytes(pid);

    const failures: string[] = [];
    let attacking = true;
    const healthLoop = (async () => {
      let checks = 0;
      while (attacking) {
        try {
          const reply = await client.request(request('HealthCheckRequest'), 5000);
          if (reply.resultCode !== 200) failures.push(`resultCode ${reply.resultCode}`);
        } catch (error) {
          failures.push(String(error));
        }
        checks++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return checks;
    })();

    const body = Buffer.alloc(SENT_BYTES, 0x61);
    const outcomes: Promise<StreamOutcome>[] = [];
    for (let i = 0; i < SESSIONS; i++) {
      const session = http2.connect(`http://127.0.0.1:${node.port + 1000}`);
      session.on('error', () => {});
      sessions.push(session);
      outcomes.push(...openUnfinishedStreams(session, STREAMS_PER_SESSION, body));
    }
    // AbortSignal.timeout's timer does not keep the process alive once the test is done.
    const hangGuard = AbortSignal.timeout(90_000);
    const settled = await Promise.race([
      Promise.all(outcomes),
      new Promise<undefined>((resolve) => hangGuard.addEventListener('abort', () => resolve(undefined))),
    ]);
    assert.ok(settled, 'every attacking stream was either taken in or closed within 90 s');
    const rssAfter = residentBytes(pid);
    attacking = false;
    const checks = await healthLoop;

    const grownMiB = (rssAfter - rssBefore) / MiB;
    const takenIn = settled.filter((o) => o === 'sent').length;
    t.diagnostic(`RSS grew by ${grownMiB.toFixed(0)} MiB; ${takenIn} streams taken in`);
    assert.ok(grownMiB < 100, `RSS grew by ${grownMiB.toFixed(0)} MiB (${takenIn} streams taken in)`);
    assert.ok(takenIn >= SESSIONS, `each session may still send a large message (${takenIn} taken in)`);
    assert.deepEqual(failures, [], `health checks during the attack (${checks} made)`);
    assert.equal(client.status, ClientStatus.RUNNING);
    assert.equal(client.connectionId, connectionId, 'the registered client kept its connection');
    assert.equal((await client.request(request('HealthCheckRequest'))).resultCode, 200);
  });
});
