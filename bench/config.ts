// Config over our node (CLI process, fresh home), driven by our ConfigClient and RpcClient:
//  - publish -> listener notified: one ConfigClient publishes, another (its own connection) listens;
//    time from the publish call until the listener is called with that content, one at a time;
//  - ConfigQuery throughput against HealthCheck throughput in the same run (the ratio is the
//    figure: both go through the same driver, so its cost cancels out).
// Usage: node --import tsx bench/config.ts [--quick]   (--quick: 1 round of 2 s per throughput load instead of 3 of 5 s)
import { parseArgs } from 'node:util';
import { ConfigClient, ConfigMessages, RpcClient } from '../src/client/index.js';
import { request, type RequestMessage } from '../src/protocol/index.js';
import { writeResult } from './support/results.js';
import { startOurNode } from './support/server-process.js';
import { summary } from './support/stats.js';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
// 200 publishes take seconds: the quick run measures as many.
const publishes = 200;
const throughputMs = args.quick ? 2000 : 5000;
const rounds = args.quick ? 1 : 3;
const connections = 8;
const inFlight = 8;
const host = '127.0.0.1';
const DATA_ID = 'bench.properties';
const GROUP = 'DEFAULT_GROUP';

const server = await startOurNode(host);
const address = `${host}:${server.port - 1000}`;
const publisher = new ConfigClient({ serverAddresses: [address], appName: 'bench-publisher' });
const listener = new ConfigClient({ serverAddresses: [address], appName: 'bench-listener' });
const drivers = Array.from({ length: connections }, () => new RpcClient({ serverAddresses: [address], appName: 'bench-driver', messageTypes: Object.values(ConfigMessages) }));

try {
  await Promise.all([publisher.start(), listener.start(), ...drivers.map((d) => d.start())]);

  // Latency: each publish waits for the previous one to be heard.
  let waiting: { content: string; heard: () => void } | undefined;
  await listener.addListener(DATA_ID, GROUP, (change) => {
    if (waiting !== undefined && change.content === waiting.content) waiting.heard();
  });
  const publishAndHear = async (content: string): Promise<number> => {
    const heard = new Promise<void>((resolve) => (waiting = { content, heard: resolve }));
    const t0 = performance.now();
    await publisher.publishConfig(DATA_ID, GROUP, content);
    await heard;
    return performance.now() - t0;
  };
  for (let i = 0; i < 20; i++) await publishAndHear(`warm=${i}`); // JIT, not counted
  const latencyMs: number[] = [];
  for (let i = 0; i < publishes; i++) latencyMs.push(await publishAndHear(`n=${i}`));

  // Throughput: `connections` × `inFlight` requests in flight for `throughputMs`.
  const query: RequestMessage = { kind: 'request', type: 'ConfigQueryRequest', headers: {}, body: { dataId: DATA_ID, group: GROUP, tenant: '' } };
  const load = async (message: RequestMessage): Promise<{ perSecond: number; errors: number }> => {
    let done = 0;
    let errors = 0;
    const end = performance.now() + throughputMs;
    await Promise.all(
      drivers.flatMap((driver) =>
        Array.from({ length: inFlight }, async () => {
          while (performance.now() < end) {
            const reply = await driver.request(message).catch(() => undefined);
            if (reply?.resultCode === 200) done++;
            else errors++;
          }
        }),
      ),
    );
    return { perSecond: Math.round((done * 1000) / throughputMs), errors };
  };
  await load(query); // warm-up
  const measured: { query: number; health: number; ratio: number; errors: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    const health = await load(request('HealthCheckRequest'));
    const queried = await load(query);
    measured.push({ query: queried.perSecond, health: health.perSecond, ratio: Math.round((queried.perSecond / health.perSecond) * 100) / 100, errors: queried.errors + health.errors });
  }
  const ratios = measured.map((m) => m.ratio).sort((a, b) => a - b);
  const medianRatio = ratios[Math.floor(ratios.length / 2)]!;

  const latency = summary(latencyMs);
  console.log(`config: publish -> listener notified over ${publishes} publishes (ms): p50 ${latency.p50}  p99 ${latency.p99}  max ${latency.max}`);
  for (const m of measured) console.log(`config: ConfigQuery ${m.query}/s, HealthCheck ${m.health}/s, ratio ${m.ratio} (errors ${m.errors})`);
  console.log(`config: ConfigQuery / HealthCheck throughput, median of ${rounds}: ${medianRatio}`);
  console.log(
    `wrote ${writeResult('config', { publishes, notifyMs: latency, throughput: { connections, inFlight, durationMs: throughputMs, rounds: measured, medianRatio } })}`,
  );
} finally {
  await Promise.all([publisher.shutdown(), listener.shutdown(), ...drivers.map((d) => d.shutdown())]);
  await server.stop();
}
process.exit(0);
