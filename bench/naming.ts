// Naming, in two parts.
// 1. Across members: 3 member processes on 127.0.0.1-3 (default config: sync debounce 50 ms, push
//    delay 20 ms). A publisher (our NamingClient, on member A) changes its instance's metadata N
//    times, one change at a time; subscribers on member B (the figure) and on member A itself (the
//    baseline, same changes, no sync hop) time each change from the register call to their listener
//    being called with it. Then the removal: a registering process on A is SIGKILLed, and a
//    subscriber on B times the kill to the push without its instance (median of R runs).
// 2. One server, ours against r-nacos and Nacos 2.2.4 in the same run, over raw gRPC requests every
//    one of them understands (driver processes: bench/support):
//    - memory per registered instance: RSS (and, ours, JS heap after a full GC) before and after N
//      instances registered by BatchInstanceRequest from a few connections, divided by N;
//    - register throughput, InstanceRequest and BatchInstanceRequest (10 instances each), with the
//      requests per server CPU-second (the server's own CPU time from /proc);
//    - one change (an instance at a new address) pushed to each level of subscribing connections
//      (1,000, 10,000): from the register call until the first and the last subscriber got the push (each acks it at once);
//    - disconnect: a registering connection dropped (as a dying client's FIN) until every one of
//      the first level's subscribers got the push without its instance.
// Usage: node --import tsx bench/naming.ts [--changes 200] [--kills 5] [--levels 1000,10000]
//          [--pushes 100,20] [--disconnects 100] [--instances 20000] [--duration 5] [--quick]
// --pushes gives each level's count (the last applies to further levels): a p99 needs about 100
// samples to be more than the slowest one, and 10,000 subscribers take a second a push.
//          [--skip-cross] [--skip-register] [--skip-nacos] [--skip-rnacos] [--targets ours,r-nacos,nacos]
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { NamingClient, type InstancesChangeEvent } from '../src/client/index.js';
import { InstanceOperation } from '../src/protocol/naming/index.js';
import { ClusterScenario } from '../test/support/cluster-scenario.js';
import { HarnessProcess } from '../test/support/harness-process.js';
import { formatNumber, textTable } from './support/format.js';
import type { H2GrpcConnection } from './support/h2-grpc-client.js';
import { writeResult } from './support/results.js';
import { attempt, describeLoad, loadSettings, measureLoad, memoryPerItem, serverTargets, SOURCE_ADDRESSES } from './support/server-figures.js';
import type { ServerProcess } from './support/server-process.js';
import { median, summary } from './support/stats.js';
import { SubscriberFleet, summarizeTimings, type PushTiming } from './support/subscriber-fleet.js';
import { cpuTimeMs } from './support/proc-stats.js';
import type { MemoryPerItem, NamingServerFigures, PushCpu, RegisterFigures } from './support/result-types.js';
import type { BenchTarget } from './support/targets.js';
import { BATCH_SIZE, namingRequest, sdkCall, sdkConnection } from './support/unary-calls.js';

const { values: args } = parseArgs({
  options: {
    changes: { type: 'string', default: '200' },
    kills: { type: 'string', default: '5' },
    levels: { type: 'string', default: '1000,10000' },
    pushes: { type: 'string', default: '100,20' },
    disconnects: { type: 'string', default: '100' },
    instances: { type: 'string', default: '20000' },
    duration: { type: 'string', default: '5' },
    quick: { type: 'boolean', default: false },
    'skip-cross': { type: 'boolean', default: false },
    /** Pushes and disconnects only (no memory, no register load): for profiling the push path. */
    'skip-register': { type: 'boolean', default: false },
    'skip-nacos': { type: 'boolean', default: false },
    'skip-rnacos': { type: 'boolean', default: false },
    targets: { type: 'string' },
  },
});
// The quick run keeps the 200 changes (about 30 s): fewer would make p99 a single sample.
const config = { changes: Number(args.changes), kills: args.quick ? 3 : Number(args.kills), hangGuardMs: 30_000 };
const serverConfig = {
  levels: (args.quick ? '1000' : args.levels).split(',').map(Number),
  pushes: args.quick ? [10] : args.pushes.split(',').map(Number),
  disconnects: args.quick ? 10 : Number(args.disconnects),
  /** Registered by `memoryConnections` connections, each a batch per service of `instances / (connections × services)`. */
  instances: args.quick ? 2000 : Number(args.instances),
  memoryConnections: 20,
  memoryServices: 10,
  load: loadSettings(args.quick, Number(args.duration), 32),
  subscriberDrivers: 4,
  settleMs: 1500,
  pushTimeoutMs: 30_000,
};
const HOST = '127.0.0.1';

const publisherScript = fileURLToPath(new URL('../test/support/naming-publisher.ts', import.meta.url));
const silent = pino({ level: 'silent' });

/** A NamingClient on one member, resolving a waiter when a push matches what it waits for. */
class TimedSubscriber {
  readonly naming: NamingClient;
  private waiting: { match: (e: InstancesChangeEvent) => boolean; resolve: (at: number) => void } | undefined;

  constructor(address: string) {
    this.naming = new NamingClient({ serverAddresses: [address], logger: silent });
  }

  async start(service: string): Promise<void> {
    await this.naming.start();
    await this.naming.subscribe(service, (event) => {
      const at = performance.now();
      if (this.waiting?.match(event)) {
        this.waiting.resolve(at);
        this.waiting = undefined;
      }
    });
  }

  /** When the next push matching `match` arrives (performance.now()); set before causing it. */
  next(match: (e: InstancesChangeEvent) => boolean, what: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`no push: ${what}`)), config.hangGuardMs);
      this.waiting = {
        match,
        resolve: (at) => {
          clearTimeout(guard);
          resolve(at);
        },
      };
    });
  }
}

const hasSeq = (seq: string) => (e: InstancesChangeEvent) => e.instances.some((i) => i.metadata['seq'] === seq);
const lacks = (address: string) => (e: InstancesChangeEvent) => !e.instances.some((i) => `${i.ip}:${i.port}` === address);

interface CrossMemberResult {
  readonly pushMs: { readonly crossMember: ReturnType<typeof summary>; readonly sameMember: ReturnType<typeof summary> };
  readonly removalAfterKillMs: { readonly median: number; readonly runs: readonly number[] };
}

async function crossMember(): Promise<CrossMemberResult> {
  const scenario = new ClusterScenario();
  const clients: NamingClient[] = [];
  const processes: HarnessProcess[] = [];
  try {
    console.log(`across members: 3 members, ${config.changes} changes, ${config.kills} kills`);
    await scenario.start({});
    const [a, b] = scenario.addresses as [string, string];

    // Push latency: one publisher on A, subscribers on B and on A.
    const onB = new TimedSubscriber(b);
    const onA = new TimedSubscriber(a);
    const publisher = new NamingClient({ serverAddresses: [a], logger: silent });
    clients.push(onB.naming, onA.naming, publisher);
    await publisher.start();
    await Promise.all([onB.start('bench-changes'), onA.start('bench-changes')]);
    const crossMs: number[] = [];
    const sameMs: number[] = [];
    for (let i = 0; i < config.changes; i++) {
      const seq = String(i);
      const seenOnB = onB.next(hasSeq(seq), `change ${seq} on B`);
      const seenOnA = onA.next(hasSeq(seq), `change ${seq} on A`);
      const started = performance.now();
      await publisher.registerInstance('bench-changes', { ip: '10.9.0.1', port: 8080, metadata: { seq } });
      const [atB, atA] = await Promise.all([seenOnB, seenOnA]);
      crossMs.push(atB - started);
      sameMs.push(atA - started);
    }

    // Removal after a crash: a registering process on A SIGKILLed, seen by the subscriber on B.
    const removalMs: number[] = [];
    const watcher = new TimedSubscriber(b);
    clients.push(watcher.naming);
    await watcher.start('bench-crash');
    for (let run = 0; run < config.kills; run++) {
      const instance = `10.9.1.${run + 1}:8080`;
      const registered = watcher.next((e) => e.instances.some((i) => `${i.ip}:${i.port}` === instance), `${instance} registered`);
      const crashing = new HarnessProcess(process.execPath, ['--import', 'tsx', publisherScript, a, 'bench-crash', `10.9.1.${run + 1}`, '8080']);
      processes.push(crashing);
      await crashing.waitForEvent((e) => e.event === 'registered', config.hangGuardMs, 'the crashing process registered');
      await registered;
      const removed = watcher.next(lacks(instance), `${instance} removed`);
      const killed = performance.now();
      await crashing.kill();
      removalMs.push((await removed) - killed);
    }

    const result = {
      pushMs: { crossMember: summary(crossMs), sameMember: summary(sameMs) },
      removalAfterKillMs: { median: Math.round(median(removalMs) * 10) / 10, runs: removalMs.map((ms) => Math.round(ms * 10) / 10) },
    };
    console.log(`\nnaming push, change request → subscriber's listener, ${config.changes} changes:`);
    console.log(`  subscriber on another member: p50 ${result.pushMs.crossMember.p50} ms, p99 ${result.pushMs.crossMember.p99} ms, max ${result.pushMs.crossMember.max} ms`);
    console.log(`  baseline, subscriber on the publisher's member: p50 ${result.pushMs.sameMember.p50} ms, p99 ${result.pushMs.sameMember.p99} ms`);
    console.log(`registering process SIGKILLed → removal pushed on another member: median ${result.removalAfterKillMs.median} ms (${result.removalAfterKillMs.runs.join(', ')})`);
    return result;
  } finally {
    await Promise.all(processes.map((p) => p.kill()));
    await Promise.all(clients.map((c) => c.shutdown()));
    await scenario.dispose();
  }
}

// --- one server: ours, r-nacos, Nacos 2.2.4 ------------------------------------------------------


/** Instances registered by batch, one batch per service on each connection. */
function instanceMemory(target: BenchTarget, server: ServerProcess): Promise<MemoryPerItem> {
  const { memoryConnections, memoryServices } = serverConfig;
  const perBatch = Math.max(1, Math.round(serverConfig.instances / (memoryConnections * memoryServices)));
  return memoryPerItem(target, server, 'naming', memoryConnections, serverConfig.settleMs, async (connection, c) => {
    for (let s = 0; s < memoryServices; s++) {
      const instances = Array.from({ length: perBatch }, (_, i) => ({ ip: `10.200.${c}.${s}`, port: 9000 + i, weight: 1, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT', metadata: { app: 'bench' } }));
      await sdkCall(connection, namingRequest('BatchInstanceRequest', { serviceName: `bench-memory-${s}`, type: InstanceOperation.BATCH_REGISTER, instances }));
    }
    return memoryServices * perBatch;
  });
}

const registerLoad = (target: BenchTarget, server: ServerProcess, call: 'InstanceRegister' | 'BatchInstanceRegister'): Promise<RegisterFigures> =>
  measureLoad(target, server, call, serverConfig.load).then((figures) => ({ ...figures, instancesPerRequest: call === 'BatchInstanceRegister' ? BATCH_SIZE : 1 }));

/** Starts counting the server's and the drivers' CPU; the returned function divides what they used since by `pushes`. */
function cpuMeter(server: ServerProcess, fleet: SubscriberFleet): (pushes: number) => PushCpu {
  const serverMs = cpuTimeMs(server.pid);
  const driversMs = fleet.cpuTimeMs();
  const perPush = (ms: number, pushCount: number) => Math.round((ms * 1000 * 10) / pushCount) / 10;
  return (pushCount) => ({ serverUs: perPush(cpuTimeMs(server.pid) - serverMs, pushCount), driversUs: perPush(fleet.cpuTimeMs() - driversMs, pushCount) });
}

const describeCpu = (cpu: PushCpu): string => `CPU per subscriber push: server ${cpu.serverUs} µs, drivers ${cpu.driversUs} µs`;

/** Subscribers at each level, an instance registered at a new address `pushes` times; disconnects at the first level. */
async function pushes(server: ServerProcess): Promise<Pick<NamingServerFigures, 'push' | 'disconnect'>> {
  const service = 'bench-push';
  const fleet = new SubscriberFleet(serverConfig.subscriberDrivers, SOURCE_ADDRESSES);
  const publisher = await sdkConnection(HOST, server.port, 'naming');
  const levels: NamingServerFigures['push'][number][] = [];
  let disconnect: NamingServerFigures['disconnect'] = null;
  const register = (connection: H2GrpcConnection, ip: string, port: number) => () =>
    sdkCall(connection, namingRequest('InstanceRequest', { serviceName: service, type: InstanceOperation.REGISTER, instance: { ip, port, weight: 1, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT', metadata: {} } })).then(() => undefined);
  try {
    for (const level of serverConfig.levels) {
      await fleet.open(HOST, server.port, level - fleet.held, { kind: 'naming', serviceName: service });
      await sleep(serverConfig.settleMs);
      const timings: PushTiming[] = [];
      const count = serverConfig.pushes[Math.min(levels.length, serverConfig.pushes.length - 1)]!;
      const pushCpu = cpuMeter(server, fleet);
      for (let i = 0; i < count; i++) {
        // A new port each time: Nacos replaces the connection's instance, r-nacos adds one.
        const port = 20_000 + fleet.held + i;
        timings.push(await fleet.time({ kind: 'instance', ip: '10.9.0.1', port, present: true }, register(publisher, '10.9.0.1', port), serverConfig.pushTimeoutMs));
      }
      const summarized = summarizeTimings(timings);
      levels.push({ subscribers: fleet.held, ...summarized, cpu: pushCpu(count * fleet.held - summarized.missing) });
      const last = levels.at(-1)!;
      console.log(
        `    push to ${formatNumber(fleet.held)} subscribers: last p50 ${last.lastMs.p50} ms, p99 ${last.lastMs.p99} ms; first p50 ${last.firstMs.p50} ms${last.missing > 0 ? `; ${last.missing} pushes missing` : ''}; ${describeCpu(last.cpu)}`,
      );

      if (disconnect === null) {
        const lastMs: number[] = [];
        let missing = 0;
        const disconnectCpu = cpuMeter(server, fleet);
        for (let run = 0; run < serverConfig.disconnects; run++) {
          const leaver = await sdkConnection(HOST, server.port, 'naming');
          const ip = `10.9.1.${run + 1}`;
          const seen = await fleet.time({ kind: 'instance', ip, port: 8080, present: true }, register(leaver, ip, 8080), serverConfig.pushTimeoutMs);
          if (seen.missing > 0) throw new Error(`disconnect run ${run}: ${seen.missing} subscribers never saw the instance registered`);
          const gone = await fleet.time({ kind: 'instance', ip, port: 8080, present: false }, async () => leaver.destroy(), serverConfig.pushTimeoutMs);
          missing += gone.missing;
          if (gone.missing === 0) lastMs.push(gone.lastMs);
        }
        disconnect = { subscribers: fleet.held, runs: serverConfig.disconnects, lastMs: summary(lastMs), missing, cpu: disconnectCpu(2 * serverConfig.disconnects * fleet.held - missing) };
        console.log(
          `    disconnect → all ${formatNumber(fleet.held)} subscribers told: p50 ${disconnect.lastMs.p50} ms, p99 ${disconnect.lastMs.p99} ms${missing > 0 ? `; ${missing} never told` : ''}; ${describeCpu(disconnect.cpu)}`,
        );
      }
    }
    return { push: levels, disconnect };
  } finally {
    await publisher.close();
    await fleet.close();
  }
}

async function measureServer(target: BenchTarget): Promise<NamingServerFigures> {
  console.log(`  ${target.label}:`);
  const server = await target.start();
  const errors: string[] = [];
  try {
    const skip = args['skip-register'];
    const memory = skip ? null : await attempt(errors, 'memory', () => instanceMemory(target, server));
    if (memory) console.log(`    memory per instance over ${formatNumber(memory.items)}: rss ${memory.rssBytesPerItem} B, heap ${memory.heapBytesPerItem ?? '-'} B`);
    const register = skip ? null : await attempt(errors, 'register', async () => ({ single: await registerLoad(target, server, 'InstanceRegister'), batch: await registerLoad(target, server, 'BatchInstanceRegister') }));
    if (register) {
      console.log(describeLoad('InstanceRequest', register.single));
      console.log(describeLoad('BatchInstanceRequest', register.batch, ` (${formatNumber(register.batch.requestsPerSecond * BATCH_SIZE)} instances/s)`));
    }
    const pushed = await attempt(errors, 'push', () => pushes(server));
    return { target: target.key, label: target.label, memory, register, push: pushed?.push ?? [], disconnect: pushed?.disconnect ?? null, errors };
  } finally {
    await server.stop();
  }
}

// --- run ---------------------------------------------------------------------------------------

const targets = serverTargets(HOST, args);
console.log(
  `naming benchmark on ${os.cpus().length} cores, node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ` +
    `one server: ${targets.map((t) => t.label).join(', ')}; subscribers ${serverConfig.levels.join(', ')}; ${serverConfig.instances} instances for memory`,
);
const cross = args['skip-cross'] ? null : await crossMember();
const servers: NamingServerFigures[] = [];
for (const target of targets) servers.push(await measureServer(target));

const ours = servers.find((s) => s.target === 'ours')!;
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? null : Math.round((a / b) * 100) / 100);
const ratios = servers
  .filter((s) => s.target !== 'ours')
  .map((s) => ({
    against: s.target,
    registerPerServerCpuSecond: ratio(ours.register?.single.perServerCpuSecond, s.register?.single.perServerCpuSecond),
    batchPerServerCpuSecond: ratio(ours.register?.batch.perServerCpuSecond, s.register?.batch.perServerCpuSecond),
  }));
console.log('\nregister throughput (requests per server CPU-second; batch: 10 instances a request)');
console.log(
  textTable(
    ['server', 'single req/s', 'single per CPU-s', 'batch req/s', 'batch per CPU-s', 'errors'],
    servers.map((s) => {
      const r = s.register;
      return [s.label, formatNumber(r?.single.requestsPerSecond), formatNumber(r?.single.perServerCpuSecond), formatNumber(r?.batch.requestsPerSecond), formatNumber(r?.batch.perServerCpuSecond), r ? String(r.single.errors + r.batch.errors) : '-'];
    }),
  ),
);
for (const r of ratios) console.log(`  ours / ${r.against} per server CPU-s: single ${r.registerPerServerCpuSecond ?? '-'}, batch ${r.batchPerServerCpuSecond ?? '-'}`);
console.log('\npush: change request → last subscriber got it, ms');
console.log(
  textTable(
    ['server', ...serverConfig.levels.flatMap((l) => [`${l / 1000}k p50`, `${l / 1000}k p99`]), 'disconnect p99', 'B/instance rss'],
    servers.map((s) => [
      s.label,
      ...serverConfig.levels.flatMap((l) => {
        const level = s.push.find((p) => p.subscribers === l);
        return [formatNumber(level?.lastMs.p50, 1), formatNumber(level?.lastMs.p99, 1)];
      }),
      formatNumber(s.disconnect?.lastMs.p99, 1),
      formatNumber(s.memory?.rssBytesPerItem),
    ]),
  ),
);
console.log(`\nwrote ${writeResult('naming', { config: { ...config, ...serverConfig }, ...(cross ?? {}), servers, ratios })}`);
process.exit(0);
