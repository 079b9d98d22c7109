// Registration latency over real loopback connections:
//  - server side: ConnectionSetupRequest received → registered and listeners told;
//  - client side: setup written → first HealthCheck that does not get 301.
// Baseline in the same run: a ServerCheck round trip on the same kind of fresh connection.
// Usage: node --import tsx bench/registration-latency.ts [setups=1000] [concurrency=1]
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { request } from '../src/protocol/index.js';
import { findMainPort } from '../test/support/ports.js';
import { RawPeer } from '../test/support/raw-peer.js';
import { writeResult } from './support/results.js';
import { summary } from './support/stats.js';

const total = Number(process.argv[2] ?? 1000);
const concurrency = Number(process.argv[3] ?? 1);
const host = '127.0.0.1';
const port = await findMainPort([host]);

const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./support/bench-server.ts', import.meta.url)), host, String(port)], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const lines = createInterface({ input: child.stdout! });
const nextLine = () => new Promise<string>((resolve) => lines.once('line', resolve));
const ready = JSON.parse(await nextLine()) as { sdkPort: number };

const clientMs: number[] = [];
const serverCheckMs: number[] = [];
let retries301 = 0;

async function oneSetup(): Promise<void> {
  const peer = new RawPeer(host, ready.sdkPort);
  try {
    const t0 = performance.now();
    await peer.serverCheck();
    serverCheckMs.push(performance.now() - t0);
    peer.openStream();
    const t1 = performance.now();
    peer.setup();
    for (;;) {
      const reply = await peer.unary(request('HealthCheckRequest'));
      if (reply.errorCode !== 301) break;
      retries301++;
    }
    clientMs.push(performance.now() - t1);
  } finally {
    peer.close();
  }
}

// Warm-up (JIT, first connections), not counted.
for (let i = 0; i < 50; i++) await oneSetup();
clientMs.length = 0;
serverCheckMs.length = 0;
retries301 = 0;
child.stdin!.write('stats\n');
const warm = (JSON.parse(await nextLine()) as { setupMs: number[] }).setupMs.length;

let started = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (started < total) {
      started++;
      await oneSetup();
    }
  }),
);

child.stdin!.write('stats\n');
const stats = JSON.parse(await nextLine()) as { setupMs: number[]; told: number };
child.stdin!.write('quit\n');
await new Promise((resolve) => child.on('exit', resolve));

const server = summary(stats.setupMs.slice(warm));
const client = summary(clientMs);
const baseline = summary(serverCheckMs);
console.log(`registration latency, ${total} setups, concurrency ${concurrency} (ms)`);
console.log(`  server: setup received -> registered + listeners told  p50 ${server.p50}  p99 ${server.p99}  max ${server.max}  (n=${server.n})`);
console.log(`  client: setup written -> first HealthCheck not 301      p50 ${client.p50}  p99 ${client.p99}  max ${client.max}  (301 retries: ${retries301})`);
console.log(`  baseline: ServerCheck round trip on a fresh connection  p50 ${baseline.p50}  p99 ${baseline.p99}`);
console.log(`  ratio client p50 / baseline p50: ${(client.p50 / baseline.p50).toFixed(2)}`);
console.log(`wrote ${writeResult(`registration-c${concurrency}`, { setups: total, concurrency, serverMs: server, clientMs: client, serverCheckMs: baseline, retries301 })}`);
process.exit(0);
