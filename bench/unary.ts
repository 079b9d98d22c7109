// Unary throughput and latency: ServerCheck, and HealthCheck on registered connections, against
// our node on both gRPC transports (grpc-js, node:http2) and two baselines measured in the same
// run, each server in its own process:
//  - raw node:http2: a minimal gRPC responder on node:http2, fixed replies ("the platform's limit");
//  - bare grpc-js: a grpc-js server with the two Nacos paths, fixed replies, no connection management.
// Load: fixed concurrency from driver processes (raw node:http2 client, bench/support/), plus
// h2load (if installed) sending a pre-encoded ServerCheckRequest. Besides throughput and latency,
// each figure has the server's own CPU time (from /proc) and requests per server CPU-second, and
// each round its read and write system calls per call (how many calls a socket read or write carried).
// Rounds visit the targets in alternating order; ratios are taken within a round, then the median
// over rounds is reported with its range, so drift from other load on the machine cancels out
// (5 rounds: on 2 cores one round's ratio moves by a quarter either way).
// Usage: node --import tsx bench/unary.ts [--duration 5] [--warmup 1] [--connections 8]
//          [--in-flight 64] [--drivers 2] [--rounds 5] [--sources 4] [--quick] [--skip-h2load] [--skip-rnacos] [--skip-nacos]
//          [--targets ours,raw-h2,grpc-js,r-nacos] [--loads ServerCheck,HealthCheck,h2load]
// r-nacos joins as a target when installed (interop/peers/rnacos.sh install), and a real Nacos 2.2.4
// server when built (interop/peers/nacos-server.sh build), except in --quick runs (it starts slowly).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeEnvelope, encodePayload, request } from '../src/protocol/index.js';
import { encodeFrame } from './support/grpc-framing.js';
import { H2GrpcConnection } from './support/h2-grpc-client.js';
import { h2loadVersion, runH2load } from './support/h2load.js';
import { cpuWindow, rssBytes } from './support/proc-stats.js';
import { formatNumber, mib, textTable } from './support/format.js';
import type { UnaryFigures } from './support/result-types.js';
import { writeResult } from './support/results.js';
import { median } from './support/stats.js';
import type { ServerProcess } from './support/server-process.js';
import { benchTargets, isOurs, type BenchTarget, type TargetKey } from './support/targets.js';
import { perCall, runUnaryLoad } from './support/unary-load.js';
import type { UnaryCall } from './support/unary-load-worker.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '8' },
    'in-flight': { type: 'string', default: '64' },
    drivers: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '5' },
    sources: { type: 'string', default: '4' },
    quick: { type: 'boolean', default: false },
    'skip-h2load': { type: 'boolean', default: false },
    'skip-rnacos': { type: 'boolean', default: false },
    'skip-nacos': { type: 'boolean', default: false },
    targets: { type: 'string' },
    loads: { type: 'string' },
  },
});
const config = {
  durationMs: (args.quick ? 2 : Number(args.duration)) * 1000,
  warmupMs: (args.quick ? 0.5 : Number(args.warmup)) * 1000,
  connections: Number(args.connections),
  inFlight: Number(args['in-flight']),
  drivers: Number(args.drivers),
  rounds: args.quick ? 1 : Number(args.rounds),
  // Connections bind 127.0.0.1, .2, ... in turn (0: the OS picks), as the large benchmarks must.
  sourceAddresses: Array.from({ length: Number(args.sources) }, (_, i) => `127.0.0.${i + 1}`),
};
const HOST = '127.0.0.1';
const h2loadAvailable = args['skip-h2load'] ? undefined : h2loadVersion();

type Target = BenchTarget;
// Baselines first: round 1 visits them before ours, round 2 after, and so on.
const TARGETS = benchTargets(HOST, { ours: 'cli', bothTransports: true, skipRnacos: args['skip-rnacos'], nacos: !args['skip-nacos'] && !args.quick, ...(args.targets === undefined ? {} : { only: args.targets.split(',') }) }).sort(
  (a, b) => Number(isOurs(a.key)) - Number(isOurs(b.key)),
);
const label = (key: TargetKey) => TARGETS.find((t) => t.key === key)!.label;

/** What drives the load: our driver with one of the calls, or h2load with ServerCheck. */
type Load = UnaryCall | 'h2load';
// --loads h2load,HealthCheck: a subset.
const LOADS: readonly Load[] = (h2loadAvailable === undefined ? (['ServerCheck', 'HealthCheck'] as const) : (['ServerCheck', 'HealthCheck', 'h2load'] as const)).filter(
  (load) => args.loads === undefined || args.loads.split(',').includes(load),
);
const loadLabel = (load: Load, target: TargetKey) =>
  load === 'h2load' ? 'ServerCheck by h2load' : load === 'HealthCheck' && (isOurs(target) || target === 'r-nacos' || target === 'nacos') ? 'HealthCheck (registered)' : load;

/** One measurement: a load against a target in one round. */
interface Row extends UnaryFigures<Load> {
  readonly round: number;
  /** The server's read and write system calls per call: how many calls each socket read or write carried. */
  readonly serverSyscallsPerCall?: { readonly reads: number; readonly writes: number };
  readonly firstError?: string;
  readonly serverRssMiB: number;
}

const perCpu = (rps: number, cores: number) => (cores > 0 ? Math.round(rps / cores) : NaN);

async function measureWithDriver(target: Target, server: ServerProcess, call: UnaryCall, round: number): Promise<Row> {
  const load = await runUnaryLoad({
    host: HOST,
    port: server.port,
    call,
    drivers: config.drivers,
    connections: config.connections,
    inFlight: config.inFlight,
    sourceAddresses: config.sourceAddresses,
    // Every target gets the same client work (setup on the bi-stream); baselines ignore it.
    register: call === 'HealthCheck',
    checkConnectionId: target.realConnectionIds,
    warmupMs: config.warmupMs,
    durationMs: config.durationMs,
    serverPid: server.pid,
  });
  const serverCores = load.serverCores ?? NaN;
  return {
    target: target.key,
    load: call,
    round,
    requestsPerSecond: load.requestsPerSecond,
    p50Ms: load.latencyMs.p50,
    p99Ms: load.latencyMs.p99,
    meanMs: load.latencyMs.mean,
    serverCores,
    perServerCpuSecond: perCpu(load.requestsPerSecond, serverCores),
    driverCores: load.driverCores,
    errors: load.errors,
    ...(load.serverSyscallsPerCall === undefined ? {} : { serverSyscallsPerCall: load.serverSyscallsPerCall }),
    ...(load.firstError === undefined ? {} : { firstError: load.firstError }),
    serverRssMiB: mib(rssBytes(server.pid)),
  };
}

/** h2load with a pre-encoded ServerCheckRequest (it cannot register), checked against the server first. */
async function measureWithH2load(target: Target, server: ServerProcess, round: number, bodyFile: string, body: Buffer): Promise<Row> {
  const probe = await H2GrpcConnection.connect({ host: HOST, port: server.port });
  try {
    const type = decodeEnvelope(await probe.unaryFrame(body, 5000)).type;
    if (type !== 'ServerCheckResponse') throw new Error(`${target.label} answers the h2load body with ${type}`);
  } finally {
    await probe.close();
  }
  // h2load's window starts once its connections are up, a few ms after launch: close enough.
  const serverCpu = cpuWindow(server.pid, config.warmupMs, config.durationMs);
  let serverCores: number | undefined;
  let result;
  try {
    result = await runH2load({
      url: `http://${HOST}:${server.port}/Request/request`,
      bodyFile,
      clients: config.connections,
      streamsPerClient: config.inFlight / config.connections,
      durationMs: config.durationMs,
      warmupMs: config.warmupMs,
    });
  } finally {
    serverCores = serverCpu.finish() ?? NaN;
  }
  const syscalls = serverCpu.syscallsPerSecond();
  return {
    target: target.key,
    load: 'h2load',
    round,
    requestsPerSecond: result.requestsPerSecond,
    p50Ms: null,
    p99Ms: null,
    meanMs: result.meanMs,
    serverCores,
    perServerCpuSecond: perCpu(result.requestsPerSecond, serverCores),
    driverCores: null,
    // h2load sees HTTP only: a failed or errored request, or a status other than 2xx.
    errors: result.failed + result.errored + result.statusOther,
    ...(syscalls === undefined ? {} : { serverSyscallsPerCall: perCall(syscalls, result.requestsPerSecond) }),
    serverRssMiB: mib(rssBytes(server.pid)),
  };
}

// --- run ---------------------------------------------------------------------------------------

const servers = new Map<TargetKey, ServerProcess>();
process.on('exit', () => servers.forEach((s) => s.kill()));
process.on('SIGINT', () => process.exit(130));

const loadAtStart = os.loadavg();
console.log(`unary benchmark on ${os.cpus().length} cores, node ${process.version}, load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}`);
console.log(
  `  ${config.connections} connections x ${config.inFlight / config.connections} in flight (${config.inFlight}); our driver: ${config.drivers} processes, ` +
    `sources ${config.sourceAddresses.join(',') || 'OS-chosen'}; ${config.durationMs / 1000} s after ${config.warmupMs / 1000} s warm-up; ${config.rounds} round(s)`,
);
console.log(`  h2load: ${args['skip-h2load'] ? 'skipped (--skip-h2load)' : (h2loadAvailable ?? 'not installed (apt-get install nghttp2-client), skipped')}`);

for (const target of TARGETS) {
  const server = await target.start();
  servers.set(target.key, server);
  console.log(`  started ${target.label}: pid ${server.pid}, port ${server.port}, rss ${mib(rssBytes(server.pid))} MiB`);
}

const h2loadDir = mkdtempSync(join(os.tmpdir(), 'nacos-bench-h2load-'));
const h2loadBody = encodeFrame(encodePayload(request('ServerCheckRequest'), { clientIp: HOST }));
const h2loadBodyFile = join(h2loadDir, 'server-check.grpc');
writeFileSync(h2loadBodyFile, h2loadBody);

const rows: Row[] = [];
try {
  for (let round = 0; round < config.rounds; round++) {
    // Alternate the order so that drift (other load on the machine) does not favour one target.
    const order = round % 2 === 0 ? TARGETS : [...TARGETS].reverse();
    for (const target of order) {
      const server = servers.get(target.key)!;
      for (const load of LOADS) {
        const row =
          load === 'h2load' ? await measureWithH2load(target, server, round, h2loadBodyFile, h2loadBody) : await measureWithDriver(target, server, load, round);
        rows.push(row);
        console.log(
          `  round ${round + 1}  ${target.label.padEnd(14)}  ${loadLabel(load, target.key).padEnd(24)} ${formatNumber(row.requestsPerSecond).padStart(7)} req/s  ` +
            `mean ${row.meanMs.toFixed(2)} ms  server ${row.serverCores.toFixed(2)} cores` +
            (row.serverSyscallsPerCall === undefined ? '' : `, ${row.serverSyscallsPerCall.reads.toFixed(3)} reads ${row.serverSyscallsPerCall.writes.toFixed(3)} writes a call`) +
            `  errors ${row.errors}`,
        );
        if (row.firstError !== undefined) console.log(`    first error: ${row.firstError}`);
      }
    }
  }
} finally {
  rmSync(h2loadDir, { recursive: true, force: true });
  for (const server of servers.values()) await server.stop();
  servers.clear();
}

// --- report ------------------------------------------------------------------------------------

const rowsOf = (target: TargetKey, load: Load) => rows.filter((r) => r.target === target && r.load === load);
const med = (target: TargetKey, load: Load, pick: (r: Row) => number | null): number | null => {
  const values = rowsOf(target, load).map(pick);
  return values.some((v) => v === null) ? null : median(values as number[]);
};

const summary = LOADS.flatMap((load) =>
  TARGETS.map((t): UnaryFigures<Load> => ({
    target: t.key,
    ...(t.transport === undefined ? {} : { transport: t.transport }),
    load,
    requestsPerSecond: med(t.key, load, (r) => r.requestsPerSecond)!,
    p50Ms: med(t.key, load, (r) => r.p50Ms),
    p99Ms: med(t.key, load, (r) => r.p99Ms),
    meanMs: med(t.key, load, (r) => r.meanMs)!,
    serverCores: med(t.key, load, (r) => r.serverCores)!,
    perServerCpuSecond: med(t.key, load, (r) => r.perServerCpuSecond)!,
    driverCores: med(t.key, load, (r) => r.driverCores),
    errors: rowsOf(t.key, load).reduce((s, r) => s + r.errors, 0),
  })),
);
console.log(`\nunary calls, median of ${config.rounds} round(s)`);
console.log(
  textTable(
    ['target', 'load', 'req/s', 'p50 ms', 'p99 ms', 'mean ms', 'server cores', 'req/server CPU-s', 'driver cores', 'errors'],
    summary.map((s) => [
      label(s.target),
      loadLabel(s.load, s.target),
      formatNumber(s.requestsPerSecond),
      formatNumber(s.p50Ms, 2),
      formatNumber(s.p99Ms, 2),
      formatNumber(s.meanMs, 2),
      formatNumber(s.serverCores, 2),
      formatNumber(s.perServerCpuSecond),
      formatNumber(s.driverCores, 2),
      String(s.errors),
    ]),
    2,
  ),
);

interface Pair {
  readonly a: TargetKey;
  readonly b: TargetKey;
  readonly note: string;
}
const PAIRS: readonly Pair[] = ([
  { a: 'ours', b: 'raw-h2', note: 'issue 16: >= 0.85, per server CPU-s too' },
  { a: 'ours', b: 'ours-other', note: 'default / other gRPC transport' },
  { a: 'ours', b: 'grpc-js', note: 'target >= 0.85' },
  { a: 'ours-other', b: 'grpc-js', note: '' },
  { a: 'ours-other', b: 'raw-h2', note: '' },
  { a: 'grpc-js', b: 'raw-h2', note: 'issue: ~0.67' },
  { a: 'ours', b: 'r-nacos', note: 'target >= 1 per server CPU-s' },
  { a: 'ours-other', b: 'r-nacos', note: '' },
  { a: 'ours', b: 'nacos', note: '' },
  { a: 'ours-other', b: 'nacos', note: '' },
] satisfies Pair[]).filter((pair) => TARGETS.some((t) => t.key === pair.a) && TARGETS.some((t) => t.key === pair.b));
/** Ratio a/b of one figure within each round; median and range over rounds. */
function ratio(a: TargetKey, b: TargetKey, load: Load, pick: (r: Row) => number): { median: number; min: number; max: number } {
  const perRound = Array.from({ length: config.rounds }, (_, round) => {
    const ra = rows.find((r) => r.target === a && r.load === load && r.round === round)!;
    const rb = rows.find((r) => r.target === b && r.load === load && r.round === round)!;
    return pick(ra) / pick(rb);
  });
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return { median: r2(median(perRound)), min: r2(Math.min(...perRound)), max: r2(Math.max(...perRound)) };
}
const ratios = LOADS.flatMap((load) =>
  PAIRS.map(({ a, b, note }) => ({
    a,
    b,
    pair: `${label(a)} / ${label(b)}`,
    load,
    throughput: ratio(a, b, load, (r) => r.requestsPerSecond),
    perServerCpuSecond: ratio(a, b, load, (r) => r.perServerCpuSecond),
    note,
  })),
);
const showRatio = (r: { median: number; min: number; max: number }) => (config.rounds > 1 ? `${r.median.toFixed(2)} (${r.min.toFixed(2)}-${r.max.toFixed(2)})` : r.median.toFixed(2));
console.log(`\nratios within a round${config.rounds > 1 ? `, median (range) of ${config.rounds}` : ''}`);
console.log(
  textTable(
    ['pair', 'load', 'throughput', 'per server CPU-s', ''],
    ratios.map((r) => [r.pair, r.load === 'h2load' ? 'ServerCheck by h2load' : r.load, showRatio(r.throughput), showRatio(r.perServerCpuSecond), r.note]),
    2,
  ),
);

// Our driver is node:http2 too, and costs more CPU per call than a lean server: on 2 cores driver
// and server split the machine, so a server well below one core is not the bottleneck and raw
// throughput ratios then measure the machine. Say so next to the figures.
const driverRows = summary.filter((s) => s.load !== 'h2load');
const driverMicros = driverRows.length === 0 ? NaN : median(driverRows.map((s) => ((s.driverCores ?? NaN) * 1e6) / s.requestsPerSecond));
const busiestServer = Math.max(...driverRows.map((s) => s.serverCores));
if (driverRows.length > 0) {
  console.log(
    `\nnote: our driver spends ~${driverMicros.toFixed(0)} us of CPU per call; with it the busiest server used ${busiestServer.toFixed(2)} cores.` +
      (busiestServer < 0.9
        ? ' The servers were not saturated under our driver: compare them per server CPU-second, and by h2load (a C client) for capacity.'
        : ''),
  );
}

const out = writeResult('unary', {
  loadAverageAtStart: loadAtStart,
  config: { ...config, h2load: h2loadAvailable ?? null },
  summary,
  ratios,
  driverCpuMicrosPerCall: Number.isFinite(driverMicros) ? Math.round(driverMicros) : null,
  rounds: rows,
});
console.log(`\nwrote ${out}`);
process.exit(0);
