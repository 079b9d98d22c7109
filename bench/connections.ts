// Connections: how many idle registered connections a server holds and at what memory cost, how
// fast it takes setups, how fast it reaches all of them with a push, and how soon it notices a
// client that went away. Our node against baselines holding the same connections in the same run:
//  - raw node:http2: the minimal gRPC responder (bench/baselines), "the platform's limit";
//  - bare grpc-js: the Nacos paths on grpc-js, no connection management;
//  - r-nacos, when installed (interop/peers/rnacos.sh install): memory and setups only, as it
//    has no command channel for the other figures.
// Every connection is a real protocol connection from driver processes (raw node:http2 with our
// codec): ServerCheck, ConnectionSetupRequest on the bi-stream, a HealthCheck that is not 301.
// Sources spread over 127.0.0.1-16 so ephemeral ports do not run out.
// Figures:
//  - memory per connection at each level: (RSS at level - RSS with none) / level, and the same for
//    the JS heap after a full GC (node servers run with --expose-gc);
//  - setups per second while ramping (driver-side, all drivers together);
//  - fan-out: one ClientDetectionRequest to every connection, time until all are answered;
//  - close: drivers destroy connections (as a dying client does, FIN), the server logs when it saw
//    each one gone (ours: unregistered and listeners told); latency is the difference of the two
//    processes' wall clocks (same machine, sub-ms precision).
// Usage: node --import tsx bench/connections.ts [--levels 1000,5000,10000,19500] [--fanout-at 10000]
//          [--closes 1000] [--drivers 4] [--quick] [--skip-rnacos] [--targets raw-h2,grpc-js,r-nacos]
// Our node runs on both gRPC transports (ours: the default, ours-other: the other), always.
// The top level stays below 20,000: this machine's hard limit on open files per process is 20,000.
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ForkedWorker } from './support/forked-worker.js';
import { cpuTimeMs, rssBytes } from './support/proc-stats.js';
import { writeResult } from './support/results.js';
import type { ServerProcess } from './support/server-process.js';
import type { FromConnectionWorker, ToConnectionWorker } from './support/connection-worker.js';
import { median, percentile } from './support/stats.js';
import { kib, mib, textTable } from './support/format.js';
import type { TransportKind } from '../src/server/transport/types.js';
import { benchTargets, isOurs, type BenchTarget, type TargetKey } from './support/targets.js';
import type { FanOutResult } from './support/standalone.js';

const { values: args } = parseArgs({
  options: {
    levels: { type: 'string', default: '1000,5000,10000,19500' },
    'fanout-at': { type: 'string', default: '10000' },
    closes: { type: 'string', default: '1000' },
    drivers: { type: 'string', default: '4' },
    quick: { type: 'boolean', default: false },
    'skip-rnacos': { type: 'boolean', default: false },
    targets: { type: 'string' },
  },
});
const config = {
  levels: (args.quick ? '250,1000' : args.levels).split(',').map(Number),
  fanOutAt: args.quick ? 1000 : Number(args['fanout-at']),
  closes: args.quick ? 200 : Number(args.closes),
  /** Pace of the drops, all drivers together. */
  closesPerSecond: 500,
  drivers: Number(args.drivers),
  setupConcurrencyPerDriver: 32,
  fanOutRepeats: 3,
  sourceAddresses: Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 1}`),
  settleMs: 1500,
};
const HOST = '127.0.0.1';
const WORKER = fileURLToPath(new URL('./support/connection-worker.ts', import.meta.url));

type Target = BenchTarget;
const TARGETS = benchTargets(HOST, { ours: 'module', bothTransports: true, exposeGc: true, skipRnacos: args['skip-rnacos'], ...(args.targets === undefined ? {} : { only: args.targets.split(',') }) });
const rnacos = TARGETS.some((t) => t.key === 'r-nacos');

interface LevelFigures {
  readonly connections: number;
  readonly rssKiBPerConnection: number;
  readonly heapKiBPerConnection: number | null;
  readonly rssMiB: number;
  /** Setups per second over the ramp to this level from the one below. */
  readonly setupsPerSecond: number;
  /**
   * Server CPU time per setup over the same ramp, µs: its cost per setup, whoever is the
   * bottleneck (on 2 cores the drivers share the machine with the server).
   */
  readonly serverCpuMicrosPerSetup: number;
}
interface TargetFigures {
  readonly target: TargetKey;
  readonly label: string;
  /** Our node's gRPC transport (absent for the baselines). */
  readonly transport?: TransportKind;
  readonly idleRssMiB: number;
  readonly levels: LevelFigures[];
  readonly setupErrors: number;
  readonly firstSetupError?: string;
  readonly fanOut: { readonly connections: number; readonly medianMs: number; readonly runsMs: number[]; readonly acksPerSecond: number } | null;
  readonly close: { readonly samples: number; readonly missing: number; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number } | null;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

interface Memory {
  readonly rss: number;
  readonly heapUsed: number | null;
}

async function memoryOf(target: Target, server: ServerProcess): Promise<Memory> {
  if (target.commands) return server.command<Memory>('memory');
  return { rss: rssBytes(server.pid), heapUsed: null };
}

async function measure(target: Target): Promise<TargetFigures> {
  const server = await target.start();
  const drivers = Array.from({ length: config.drivers }, (_, d) => new ForkedWorker<ToConnectionWorker, FromConnectionWorker>(`connection driver ${d + 1}`, WORKER));
  try {
    await sleep(config.settleMs);
    const idle = await memoryOf(target, server);
    const levels: LevelFigures[] = [];
    let held = 0;
    let setupErrors = 0;
    let firstSetupError: string | undefined;
    let fanOut: TargetFigures['fanOut'] = null;
    for (const level of config.levels) {
      const adding = level - held;
      const started = performance.now();
      const cpuAtStart = cpuTimeMs(server.pid);
      drivers.forEach((driver, d) => {
        const count = Math.floor(adding / config.drivers) + (d < adding % config.drivers ? 1 : 0);
        // Each driver takes every n-th source address, so that the drivers' connections interleave.
        const localAddresses = config.sourceAddresses.filter((_, i) => i % config.drivers === d);
        driver.send({ type: 'open', host: HOST, port: server.port, count, localAddresses, concurrency: config.setupConcurrencyPerDriver });
      });
      let opened = 0;
      for (const driver of drivers) {
        const result = await driver.next('opened');
        opened += result.opened;
        setupErrors += result.errors;
        firstSetupError ??= result.firstError;
      }
      const seconds = (performance.now() - started) / 1000;
      const serverCpuMs = cpuTimeMs(server.pid) - cpuAtStart;
      held += opened;
      await sleep(config.settleMs);
      const memory = await memoryOf(target, server);
      const figures: LevelFigures = {
        connections: held,
        rssKiBPerConnection: kib((memory.rss - idle.rss) / held),
        heapKiBPerConnection: memory.heapUsed === null || idle.heapUsed === null ? null : kib((memory.heapUsed - idle.heapUsed) / held),
        rssMiB: mib(memory.rss),
        setupsPerSecond: Math.round(opened / seconds),
        serverCpuMicrosPerSetup: Math.round((serverCpuMs * 1000) / Math.max(1, opened)),
      };
      levels.push(figures);
      console.log(
        `  ${target.label.padEnd(14)} ${String(held).padStart(6)} connections  rss ${figures.rssKiBPerConnection} KiB/conn  heap ${figures.heapKiBPerConnection ?? '-'} KiB/conn  ` +
          `${figures.setupsPerSecond} setups/s (server ${figures.serverCpuMicrosPerSetup} us CPU each)${setupErrors > 0 ? `  setup errors ${setupErrors}: ${firstSetupError}` : ''}`,
      );
      if (target.commands && level === config.fanOutAt) {
        const runsMs: number[] = [];
        for (let i = 0; i < config.fanOutRepeats; i++) {
          const result = await server.command<FanOutResult>('fanout');
          if (result.acks !== held) throw new Error(`${target.label} fan-out: ${result.acks} answers from ${held} connections`);
          runsMs.push(round2(result.ms));
        }
        const medianMs = median(runsMs);
        fanOut = { connections: held, medianMs, runsMs, acksPerSecond: Math.round(held / (medianMs / 1000)) };
        console.log(`  ${target.label.padEnd(14)} fan-out to ${held}: ${runsMs.join(', ')} ms (${fanOut.acksPerSecond} acks/s)`);
      }
    }

    let close: TargetFigures['close'] = null;
    if (target.commands) {
      await server.command('closes');
      const perDriver = Math.ceil(config.closes / config.drivers);
      const intervalMs = (1000 * config.drivers) / config.closesPerSecond;
      for (const driver of drivers) driver.send({ type: 'drop', count: perDriver, intervalMs });
      const droppedAt: Record<string, number> = {};
      for (const driver of drivers) Object.assign(droppedAt, (await driver.next('dropped')).droppedAt);
      await sleep(config.settleMs);
      const { closes } = await server.command<{ closes: Record<string, number> }>('closes');
      const latencies: number[] = [];
      let missing = 0;
      for (const [peer, at] of Object.entries(droppedAt)) {
        const seen = closes[peer];
        if (seen === undefined) missing++;
        else latencies.push(seen - at);
      }
      close = {
        samples: latencies.length,
        missing,
        p50Ms: round2(percentile(latencies, 50)),
        p99Ms: round2(percentile(latencies, 99)),
        maxMs: round2(Math.max(...latencies)),
      };
      console.log(`  ${target.label.padEnd(14)} close -> seen gone: p50 ${close.p50Ms} ms  p99 ${close.p99Ms} ms  (${close.samples} closes, ${missing} not seen)`);
    }
    return {
      target: target.key,
      label: target.label,
      ...(target.transport === undefined ? {} : { transport: target.transport }),
      idleRssMiB: mib(idle.rss),
      levels,
      setupErrors,
      ...(firstSetupError === undefined ? {} : { firstSetupError }),
      fanOut,
      close,
    };
  } finally {
    await Promise.all(drivers.map((d) => d.close()));
    await server.stop();
  }
}

// --- run ---------------------------------------------------------------------------------------

console.log(`connections benchmark on ${os.cpus().length} cores, node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(
  `  levels ${config.levels.join(', ')}; ${config.drivers} driver processes, sources ${config.sourceAddresses[0]}-${config.sourceAddresses.at(-1)}; ` +
    `fan-out at ${config.fanOutAt}; ${config.closes} closes at ${config.closesPerSecond}/s; r-nacos: ${rnacos ? 'yes' : args['skip-rnacos'] ? 'skipped' : 'not installed'}`,
);
const results: TargetFigures[] = [];
for (const target of TARGETS) results.push(await measure(target));

const levelHeader = config.levels.map((l) => `${l / 1000}k`);
const curve = (pick: (l: LevelFigures) => number | null, digits = 1) =>
  results.map((r) => [
    r.label,
    ...config.levels.map((_, i) => {
      const value = r.levels[i] === undefined ? null : pick(r.levels[i]!);
      return value === null ? '-' : value.toFixed(digits);
    }),
  ]);
console.log('\nRSS per idle registered connection, KiB');
console.log(textTable(['target', ...levelHeader], curve((l) => l.rssKiBPerConnection)));
console.log('\nJS heap per connection after GC, KiB');
console.log(textTable(['target', ...levelHeader], curve((l) => l.heapKiBPerConnection)));
console.log('\nsetups per second (driver-side) while ramping to each level');
console.log(textTable(['target', ...levelHeader], curve((l) => l.setupsPerSecond, 0)));
console.log('\nserver CPU per setup while ramping to each level, us');
console.log(textTable(['target', ...levelHeader], curve((l) => l.serverCpuMicrosPerSetup, 0)));
console.log('\nfan-out and close');
console.log(
  textTable(
    ['target', 'fan-out ms', 'acks/s', 'close p50 ms', 'close p99 ms', 'not seen'],
    results.map((r) => [r.label, r.fanOut ? String(r.fanOut.medianMs) : '-', r.fanOut ? String(r.fanOut.acksPerSecond) : '-', r.close ? String(r.close.p50Ms) : '-', r.close ? String(r.close.p99Ms) : '-', r.close ? String(r.close.missing) : '-']),
  ),
);
// Each of our transports against every baseline, and node:http2 against grpc-js.
const ratios = results
  .filter((mine) => isOurs(mine.target))
  .flatMap((mine) => results.filter((r) => r.target !== mine.target && (!isOurs(r.target) || mine.target === 'ours')).map((r) => [mine, r] as const))
  .map(([mine, r]) => {
    const top = Math.min(mine.levels.length, r.levels.length) - 1;
    return {
      of: mine.target,
      against: r.target,
      atConnections: mine.levels[top]!.connections,
      rssPerConnection: round2(mine.levels[top]!.rssKiBPerConnection / r.levels[top]!.rssKiBPerConnection),
      heapPerConnection: mine.levels[top]!.heapKiBPerConnection !== null && r.levels[top]!.heapKiBPerConnection ? round2(mine.levels[top]!.heapKiBPerConnection / r.levels[top]!.heapKiBPerConnection) : null,
      setupsPerSecond: round2(mine.levels[top]!.setupsPerSecond / r.levels[top]!.setupsPerSecond),
      fanOutMs: mine.fanOut && r.fanOut ? round2(mine.fanOut.medianMs / r.fanOut.medianMs) : null,
    };
  });
const labelOf = (key: TargetKey) => TARGETS.find((t) => t.key === key)?.label ?? key;
console.log('\nratios ours / baseline at the top level (memory and time: lower is better; setups: higher)');
console.log(
  textTable(
    ['ours', 'baseline', 'connections', 'rss/conn', 'heap/conn', 'setups/s', 'fan-out time'],
    ratios.map((r) => [labelOf(r.of), labelOf(r.against), String(r.atConnections), r.rssPerConnection.toFixed(2), r.heapPerConnection?.toFixed(2) ?? '-', r.setupsPerSecond.toFixed(2), r.fanOutMs?.toFixed(2) ?? '-']),
  ),
);

console.log(`\nwrote ${writeResult('connections', { config, results, ratios })}`);
process.exit(0);
