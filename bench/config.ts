// Config, ours against r-nacos and Nacos 2.2.4 in the same run (each server in its own process,
// raw gRPC requests all of them understand, load from driver processes: bench/support):
//  - query throughput: ConfigQueryRequest for one key against HealthCheck on the same server, in
//    alternating rounds; the ratios, per second and per server CPU-second, are the figures (the
//    store must never be a read's bottleneck; ours on MariaDB: bench/config-mysql.ts);
//  - publish throughput: ConfigPublishRequest over 16 keys per connection, each publish a new
//    content; requests per server CPU-second. The store is ours's default (SQLite) unless
//    `--node-config` gives our node a config file choosing another (the results name the store it chose);
//  - a change delivered to each level of listening connections (1,000, 10,000): from the publish
//    request until the first and the last listener got its ConfigChangeNotifyRequest (each acks
//    at once; a real client then reads the content, which is not timed here);
//  - memory per listened key: RSS (ours: and JS heap after a full GC) before and after N keys
//    listened by ConfigBatchListenRequest from a few connections, divided by N;
//  - ours only: publish by our ConfigClient → its listener on another ConfigClient called, one at a time.
// Usage: node --import tsx bench/config.ts [--quick] [--levels 1000,10000] [--changes 20] [--keys 10000]
//          [--duration 5] [--rounds 3] [--node-config node.json] [--skip-nacos] [--skip-rnacos]
//          [--targets ours,r-nacos,nacos]
import os from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigClient } from '../src/client/index.js';
import { md5Hex } from '../src/protocol/config/index.js';
import { PortOffset } from '../src/protocol/index.js';
import { parseNodeConfig, readConfigFile } from '../src/node/config.js';
import { formatNumber, textTable } from './support/format.js';
import { configPublishRequest, queryRounds } from './support/query-rounds.js';
import { writeResult } from './support/results.js';
import { attempt, describeLoad, loadSettings, measureLoad, memoryPerItem, serverTargets, SOURCE_ADDRESSES } from './support/server-figures.js';
import type { ServerProcess } from './support/server-process.js';
import { summary } from './support/stats.js';
import { SubscriberFleet, summarizeTimings, type PushTiming } from './support/subscriber-fleet.js';
import type { ConfigServerFigures, MemoryPerItem } from './support/result-types.js';
import type { BenchTarget } from './support/targets.js';
import { QUERIED_CONFIG, sdkCall, sdkConnection, type UnaryCall } from './support/unary-calls.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    levels: { type: 'string', default: '1000,10000' },
    changes: { type: 'string', default: '20' },
    keys: { type: 'string', default: '10000' },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    'node-config': { type: 'string' },
    'skip-nacos': { type: 'boolean', default: false },
    'skip-rnacos': { type: 'boolean', default: false },
    targets: { type: 'string' },
  },
});
const nodeConfigFile = args['node-config'] === undefined ? undefined : resolve(args['node-config']);
/** Our node's config store, as the node reads it from its config file (`mysql` by default when it has `db`). */
async function configStoreOf(file: string | undefined): Promise<string> {
  const node = parseNodeConfig(file === undefined ? {} : await readConfigFile(file), file);
  return node.config.store ?? (node.db === undefined ? 'embedded (SQLite)' : 'mysql');
}
const config = {
  store: await configStoreOf(nodeConfigFile),
  levels: (args.quick ? '1000' : args.levels).split(',').map(Number),
  changes: args.quick ? 10 : Number(args.changes),
  /** Listened by `keyConnections` connections, an equal share each. */
  keys: args.quick ? 2000 : Number(args.keys),
  keyConnections: 20,
  /** Publishes timed through our ConfigClient (200 take seconds: the quick run keeps them). */
  clientPublishes: 200,
  rounds: args.quick ? 1 : Number(args.rounds),
  load: loadSettings(args.quick, Number(args.duration), 64),
  listenerDrivers: 4,
  settleMs: 1500,
  pushTimeoutMs: 30_000,
};
const HOST = '127.0.0.1';

const load = (target: BenchTarget, server: ServerProcess, call: UnaryCall) => measureLoad(target, server, call, config.load);

async function changeLevels(server: ServerProcess): Promise<ConfigServerFigures['change'][number][]> {
  const dataId = 'bench-fanout';
  const fleet = new SubscriberFleet(config.listenerDrivers, SOURCE_ADDRESSES);
  const publisher = await sdkConnection(HOST, server.port, 'config');
  const levels: ConfigServerFigures['change'][number][] = [];
  try {
    const initial = 'version=initial\n';
    await sdkCall(publisher, configPublishRequest(dataId, initial));
    for (const level of config.levels) {
      await fleet.open(HOST, server.port, level - fleet.held, { kind: 'config', dataId, group: 'DEFAULT_GROUP', md5: md5Hex(initial) });
      await sleep(config.settleMs);
      const timings: PushTiming[] = [];
      for (let i = 0; i < config.changes; i++) {
        const publish = () => sdkCall(publisher, configPublishRequest(dataId, `version=${level}-${i}\n`)).then(() => undefined);
        timings.push(await fleet.time({ kind: 'config-changed', dataId }, publish, config.pushTimeoutMs));
      }
      const figures = { listeners: fleet.held, ...summarizeTimings(timings) };
      levels.push(figures);
      console.log(
        `    change to ${formatNumber(figures.listeners)} listeners: last p50 ${figures.lastMs.p50} ms, p99 ${figures.lastMs.p99} ms; first p50 ${figures.firstMs.p50} ms${figures.missing > 0 ? `; ${figures.missing} notifications missing` : ''}`,
      );
    }
    return levels;
  } finally {
    await publisher.close();
    await fleet.close();
  }
}

/** Keys nobody published (md5 ''): what a listener costs, not what a config costs. */
function listenedKeyMemory(target: BenchTarget, server: ServerProcess): Promise<MemoryPerItem> {
  const perConnection = Math.max(1, Math.round(config.keys / config.keyConnections));
  return memoryPerItem(target, server, 'config', config.keyConnections, config.settleMs, async (connection, c) => {
    const configListenContexts = Array.from({ length: perConnection }, (_, k) => ({ dataId: `bench-listen-${c}-${k}`, group: 'DEFAULT_GROUP', tenant: '', md5: '' }));
    await sdkCall(connection, { kind: 'request', type: 'ConfigBatchListenRequest', headers: {}, body: { listen: true, configListenContexts } });
    return perConnection;
  });
}

async function measureServer(target: BenchTarget): Promise<ConfigServerFigures> {
  console.log(`  ${target.label}${target.key === 'ours' ? ` (store: ${config.store})` : ''}:`);
  const server = await target.start();
  const errors: string[] = [];
  try {
    const memory = await attempt(errors, 'memory', () => listenedKeyMemory(target, server));
    if (memory) console.log(`    memory per listened key over ${formatNumber(memory.items)}: rss ${memory.rssBytesPerItem} B, heap ${memory.heapBytesPerItem ?? '-'} B`);
    // Peers get one round: the ratio to the goal is ours.
    const query = await attempt(errors, 'query', () => queryRounds(target, server, target.key === 'ours' ? config.rounds : 1, config.load));
    const publish = await attempt(errors, 'publish', () => load(target, server, 'ConfigPublish'));
    if (publish) console.log(describeLoad('ConfigPublish', publish));
    const change = (await attempt(errors, 'change', () => changeLevels(server))) ?? [];
    return { target: target.key, label: target.label, query, publish, change, memory, errors };
  } finally {
    await server.stop();
  }
}

/** Our ConfigClient publishing, another one's listener called with the content: one at a time. */
async function clientNotify(): Promise<ReturnType<typeof summary>> {
  const target = targets.find((t) => t.key === 'ours')!;
  const server = await target.start();
  const address = `${HOST}:${server.port - PortOffset.SDK_GRPC}`;
  const publisher = new ConfigClient({ serverAddresses: [address], appName: 'bench-publisher' });
  const listener = new ConfigClient({ serverAddresses: [address], appName: 'bench-listener' });
  try {
    await Promise.all([publisher.start(), listener.start()]);
    let waiting: { content: string; heard: () => void } | undefined;
    await listener.addListener(QUERIED_CONFIG.dataId, QUERIED_CONFIG.group, (change) => {
      if (waiting !== undefined && change.content === waiting.content) waiting.heard();
    });
    const publishAndHear = async (content: string): Promise<number> => {
      let guard: NodeJS.Timeout | undefined;
      // One lost notify fails the run with its name instead of hanging it.
      const heard = new Promise<void>((resolve, reject) => {
        guard = setTimeout(() => reject(new Error(`listener not told of publish '${content}' within ${config.pushTimeoutMs} ms`)), config.pushTimeoutMs);
        waiting = { content, heard: resolve };
      });
      try {
        const t0 = performance.now();
        await publisher.publishConfig(QUERIED_CONFIG.dataId, QUERIED_CONFIG.group, content);
        await heard;
        return performance.now() - t0;
      } finally {
        clearTimeout(guard);
      }
    };
    for (let i = 0; i < 20; i++) await publishAndHear(`warm=${i}`); // JIT, not counted
    const latencyMs: number[] = [];
    for (let i = 0; i < config.clientPublishes; i++) latencyMs.push(await publishAndHear(`n=${i}`));
    return summary(latencyMs);
  } finally {
    await Promise.all([publisher.shutdown(), listener.shutdown()]);
    await server.stop();
  }
}

// --- run ---------------------------------------------------------------------------------------

const targets = serverTargets(HOST, args, nodeConfigFile);
console.log(
  `config benchmark on ${os.cpus().length} cores, node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ` +
    `${targets.map((t) => t.label).join(', ')}; our store ${config.store}; listeners ${config.levels.join(', ')}; ${config.keys} keys for memory`,
);
const notifyMs = await clientNotify();
console.log(`  ours, ConfigClient publish → another ConfigClient's listener, ${config.clientPublishes} publishes: p50 ${notifyMs.p50} ms, p99 ${notifyMs.p99} ms, max ${notifyMs.max} ms`);
const servers: ConfigServerFigures[] = [];
for (const target of targets) servers.push(await measureServer(target));

console.log('\nthroughput per server CPU-second, and ConfigQuery / HealthCheck on each server');
console.log(
  textTable(
    ['server', 'HealthCheck/s', 'ConfigQuery/s', 'query / health', 'query per CPU-s', 'query / health per CPU-s', 'publish/s', 'publish per CPU-s'],
    servers.map((s) => {
      const last = s.query?.rounds.at(-1);
      return [
        s.label,
        formatNumber(last?.health.requestsPerSecond),
        formatNumber(last?.query.requestsPerSecond),
        formatNumber(s.query?.medianRatio, 2),
        formatNumber(last?.query.perServerCpuSecond),
        formatNumber(s.query?.medianCpuRatio, 2),
        formatNumber(s.publish?.requestsPerSecond),
        formatNumber(s.publish?.perServerCpuSecond),
      ];
    }),
  ),
);
console.log('\nchange → last listener notified, ms; memory per listened key');
console.log(
  textTable(
    ['server', ...config.levels.flatMap((l) => [`${l / 1000}k p50`, `${l / 1000}k p99`]), 'B/key rss', 'B/key heap'],
    servers.map((s) => [
      s.label,
      ...config.levels.flatMap((l) => {
        const level = s.change.find((c) => c.listeners === l);
        return [formatNumber(level?.lastMs.p50, 1), formatNumber(level?.lastMs.p99, 1)];
      }),
      formatNumber(s.memory?.rssBytesPerItem),
      formatNumber(s.memory?.heapBytesPerItem),
    ]),
  ),
);
console.log(`\nwrote ${writeResult('config', { config, notifyMs, servers })}`);
process.exit(0);
