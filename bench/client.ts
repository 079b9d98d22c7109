// Client figures: time from start() to RUNNING (p50/p99) and memory per connected RpcClient.
// Baseline in the same run: a bare grpc-js channel (own subchannel) that made one ServerCheck.
// Usage: node --expose-gc --import tsx bench/client.ts [clients=500]
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { RpcClient } from '../src/client/index.js';
import { findMainPort } from '../test/support/ports.js';
import { RawPeer } from '../test/support/raw-peer.js';
import { writeResult } from './support/results.js';
import { summary } from './support/stats.js';

const count = Number(process.argv[2] ?? 500);
const host = '127.0.0.1';
const port = await findMainPort([host]);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./support/bench-server.ts', import.meta.url)), host, String(port)], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const lines = createInterface({ input: child.stdout! });
await new Promise<string>((resolve) => lines.once('line', resolve));

function memory(): { heap: number; rss: number } {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}
const kib = (bytes: number) => (bytes / 1024).toFixed(1);
const logger = pino({ level: 'silent' });

// Warm-up: load code paths once.
for (let i = 0; i < 20; i++) {
  const c = new RpcClient({ serverAddresses: [`${host}:${port}`], logger });
  await c.start();
  await c.shutdown();
}

// Baseline: bare channels, one ServerCheck each, kept open.
const before0 = memory();
const peers: RawPeer[] = [];
for (let i = 0; i < count; i++) {
  const p = new RawPeer(host, port + 1000);
  await p.serverCheck();
  peers.push(p);
}
const after0 = memory();
for (const p of peers) p.close();
await new Promise((r) => setTimeout(r, 500));

const before = memory();
const clients: RpcClient[] = [];
const startMs: number[] = [];
for (let i = 0; i < count; i++) {
  const c = new RpcClient({ serverAddresses: [`${host}:${port}`], logger });
  const t0 = performance.now();
  await c.start();
  startMs.push(performance.now() - t0);
  clients.push(c);
}
const after = memory();
const s = summary(startMs);
const perClientHeap = (after.heap - before.heap) / count;
const perPeerHeap = (after0.heap - before0.heap) / count;
console.log(`client: ${count} RpcClients connected to one node`);
console.log(`  start() -> RUNNING  p50 ${s.p50} ms  p99 ${s.p99} ms  max ${s.max} ms  (includes the 100 ms setup wait)`);
console.log(`  memory per client: heap ${kib(perClientHeap)} KiB, rss ${kib((after.rss - before.rss) / count)} KiB`);
console.log(`  baseline, bare grpc-js channel after one ServerCheck: heap ${kib(perPeerHeap)} KiB, rss ${kib((after0.rss - before0.rss) / count)} KiB`);
console.log(`  ratio heap client / bare channel: ${(perClientHeap / perPeerHeap).toFixed(2)}`);
console.log(
  `wrote ${writeResult('client', {
    clients: count,
    startMs: s,
    perClient: { heapKiB: Number(kib(perClientHeap)), rssKiB: Number(kib((after.rss - before.rss) / count)) },
    bareChannel: { heapKiB: Number(kib(perPeerHeap)), rssKiB: Number(kib((after0.rss - before0.rss) / count)) },
  })}`,
);
await Promise.all(clients.map((c) => c.shutdown()));
child.stdin!.write('quit\n');
await new Promise((resolve) => child.on('exit', resolve));
process.exit(0);
