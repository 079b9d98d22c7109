// Helpers shared by the benchmarks that measure one server at a time (naming, config).
import type { H2GrpcConnection } from './h2-grpc-client.js';
import { rssBytes } from './proc-stats.js';
import type { LoadFigures, MemoryPerItem } from './result-types.js';
import type { ServerProcess } from './server-process.js';
import { benchTargets, type BenchTarget } from './targets.js';
import { sdkConnection, type UnaryCall } from './unary-calls.js';
import { runUnaryLoad } from './unary-load.js';

export interface Memory {
  readonly rss: number;
  /** After a full GC; null where the server cannot say (not ours, or no --expose-gc). */
  readonly heapUsed: number | null;
}

/** The server's memory: asked of a module that answers commands, else its RSS from /proc. */
export async function memoryOf(target: BenchTarget, server: ServerProcess): Promise<Memory> {
  if (target.commands) return server.command<Memory>('memory');
  return { rss: rssBytes(server.pid), heapUsed: null };
}

/** Runs one part of a benchmark on a target; a part the target cannot do is noted in `errors` and left out. */
export async function attempt<T>(errors: string[], part: string, run: () => Promise<T>): Promise<T | null> {
  try {
    return await run();
  } catch (error) {
    errors.push(`${part}: ${error instanceof Error ? error.message : String(error)}`);
    console.log(`    ${part} failed: ${errors.at(-1)}`);
    return null;
  }
}

export interface LoadSettings {
  readonly host: string;
  readonly drivers: number;
  readonly connections: number;
  readonly inFlight: number;
  readonly sourceAddresses: readonly string[];
  readonly warmupMs: number;
  readonly durationMs: number;
}

/** A unary load of `call` on registered connections, with the server's CPU time over the window. */
export async function measureLoad(target: BenchTarget, server: ServerProcess, call: UnaryCall, settings: LoadSettings): Promise<LoadFigures> {
  const result = await runUnaryLoad({ ...settings, port: server.port, call, register: true, checkConnectionId: target.realConnectionIds, serverPid: server.pid });
  const serverCores = result.serverCores ?? NaN;
  return {
    requestsPerSecond: result.requestsPerSecond,
    serverCores,
    perServerCpuSecond: Math.round(result.requestsPerSecond / serverCores),
    p50Ms: result.latencyMs.p50,
    p99Ms: result.latencyMs.p99,
    errors: result.errors,
    ...(result.firstError === undefined ? {} : { firstError: result.firstError }),
  };
}

/** One line of a load's figures for the console. */
export const describeLoad = (name: string, f: LoadFigures, extra = ''): string =>
  `    ${name}: ${f.requestsPerSecond.toLocaleString('en-US')} req/s${extra}, server ${f.serverCores} cores, ${f.perServerCpuSecond.toLocaleString('en-US')} per server CPU-s, p99 ${f.p99Ms} ms${f.errors > 0 ? `, ${f.errors} errors: ${f.firstError}` : ''}`;

/** Sources the drivers bind in turn (any of 127.0.0.0/8 on loopback), so ephemeral ports do not run out. */
export const SOURCE_ADDRESSES: readonly string[] = Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 1}`);

/** 8 registered connections from 2 driver processes, `inFlight` calls in flight in all; --quick: 2 s windows. */
export function loadSettings(quick: boolean, durationSeconds: number, inFlight: number): LoadSettings {
  return {
    host: '127.0.0.1',
    drivers: 2,
    connections: 8,
    inFlight,
    sourceAddresses: SOURCE_ADDRESSES.slice(0, 4),
    warmupMs: quick ? 500 : 1000,
    durationMs: (quick ? 2 : durationSeconds) * 1000,
  };
}

/**
 * What the server's memory grows by per item `fill` adds over `connectionCount` registered
 * connections (they are open before the first figure, so their own cost is not counted).
 * `fill` returns how many items it added on its connection.
 */
export async function memoryPerItem(
  target: BenchTarget,
  server: ServerProcess,
  module: 'naming' | 'config',
  connectionCount: number,
  settleMs: number,
  fill: (connection: H2GrpcConnection, index: number) => Promise<number>,
): Promise<MemoryPerItem> {
  const connections: H2GrpcConnection[] = [];
  try {
    for (let c = 0; c < connectionCount; c++) connections.push(await sdkConnection(server.host, server.port, module));
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const before = await memoryOf(target, server);
    const items = (await Promise.all(connections.map(fill))).reduce((sum, n) => sum + n, 0);
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const after = await memoryOf(target, server);
    return {
      items,
      rssBytesPerItem: Math.round((after.rss - before.rss) / items),
      heapBytesPerItem: after.heapUsed === null || before.heapUsed === null ? null : Math.round((after.heapUsed - before.heapUsed) / items),
    };
  } finally {
    await Promise.all(connections.map((c) => c.close()));
  }
}

/** The command-line options (as parseArgs gives them) that choose the servers. */
export interface PeerChoice {
  readonly quick: boolean;
  readonly 'skip-nacos': boolean;
  readonly 'skip-rnacos': boolean;
  /** A subset of ours, r-nacos, nacos (ours always runs). */
  readonly targets?: string | undefined;
}

/**
 * Ours (as a module answering the memory command, heap after GC) and the peers that do naming and
 * config: r-nacos when installed, Nacos 2.2.4 when built, except in --quick runs (it starts slowly).
 */
export function serverTargets(host: string, choice: PeerChoice, nodeConfigFile?: string): BenchTarget[] {
  return benchTargets(host, {
    ours: 'module',
    exposeGc: true,
    skipRnacos: choice['skip-rnacos'],
    nacos: !choice['skip-nacos'] && !choice.quick,
    only: choice.targets?.split(',') ?? ['r-nacos', 'nacos'],
    ...(nodeConfigFile === undefined ? {} : { nodeConfigFile }),
  });
}
