// A node for benchmarks, in its own process so client load does not share its event loop.
// Prints `{"ready":true,...}` once started; answers `stats` on stdin with its setup timings.
import { createInterface } from 'node:readline';
import pino from 'pino';
import { NacosServer } from '../../src/server/nacos-server.js';

const host = process.argv[2] ?? '127.0.0.1';
const port = Number(process.argv[3] ?? 8848);
const setupMs: number[] = [];
const server = new NacosServer({
  host,
  port,
  logger: pino({ level: 'warn' }),
  observer: { setupHandled: (outcome, elapsedMs) => outcome === 'registered' && setupMs.push(elapsedMs) },
});
// One listener, so "listeners told" is part of what is timed.
let told = 0;
server.addConnectionListener({ name: 'bench', onConnected: () => told++ });
await server.start();
console.log(JSON.stringify({ ready: true, sdkPort: server.ports.sdk }));
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'stats') console.log(JSON.stringify({ setupMs, told }));
  if (line === 'quit') void server.close().then(() => process.exit(0));
});
