// Parent side of unary load generation: forks driver processes (unary-load-worker.ts), splits the
// connections among them, runs them in step and merges their figures.
import { fileURLToPath } from 'node:url';
import { ForkedWorker } from './forked-worker.js';
import { cpuWindow } from './proc-stats.js';
import { percentile } from './stats.js';
import type { DriverPlan, DriverResult, FromDriver, ToDriver, UnaryCall } from './unary-load-worker.js';

const WORKER = fileURLToPath(new URL('./unary-load-worker.ts', import.meta.url));

export interface UnaryLoadOptions {
  readonly host: string;
  readonly port: number;
  readonly call: UnaryCall;
  readonly drivers: number;
  readonly connections: number;
  /** Calls in flight in all, spread evenly over the connections. */
  readonly inFlight: number;
  /** Source addresses, assigned to connections round-robin; empty: let the OS choose. */
  readonly sourceAddresses: readonly string[];
  readonly register: boolean;
  readonly checkConnectionId: boolean;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** The server's process, to charge it its CPU time over the window (Linux /proc). */
  readonly serverPid?: number;
  /** PEM CA to trust: the connections speak TLS. */
  readonly tlsCa?: string;
}

export interface UnaryLoadResult {
  readonly requestsPerSecond: number;
  readonly completed: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly mean: number; readonly max: number };
  /** CPU time of all drivers during the window, as a share of one core (1 = one core busy). */
  readonly driverCores: number;
  /** Server CPU time over the window as sampled, in cores; undefined without a sampler. */
  readonly serverCores?: number;
  /** The server's read and write system calls per call over the window (see CpuWindow.syscallsPerSecond). */
  readonly serverSyscallsPerCall?: { readonly reads: number; readonly writes: number };
}


export async function runUnaryLoad(options: UnaryLoadOptions): Promise<UnaryLoadResult> {
  const { drivers: driverCount, connections, inFlight } = options;
  if (connections % driverCount !== 0 || inFlight % connections !== 0) {
    throw new Error(`connections (${connections}) must split evenly over drivers (${driverCount}), in-flight (${inFlight}) over connections`);
  }
  const perDriver = connections / driverCount;
  const drivers = Array.from({ length: driverCount }, (_, d) => new ForkedWorker<ToDriver, FromDriver>(`load driver ${d + 1}`, WORKER));
  try {
    drivers.forEach((driver, d) => {
      const localAddresses = Array.from({ length: perDriver }, (_, i) => {
        const sources = options.sourceAddresses;
        return sources.length === 0 ? '' : sources[(d * perDriver + i) % sources.length]!;
      });
      const plan: DriverPlan = {
        host: options.host,
        port: options.port,
        call: options.call,
        localAddresses,
        inFlightPerConnection: inFlight / connections,
        register: options.register,
        checkConnectionId: options.checkConnectionId,
        callTimeoutMs: 10_000,
        ...(options.tlsCa === undefined ? {} : { tlsCa: options.tlsCa }),
      };
      driver.send({ type: 'prepare', plan });
    });
    for (const driver of drivers) await driver.next('ready');

    for (const driver of drivers) driver.send({ type: 'run', warmupMs: options.warmupMs, durationMs: options.durationMs });
    const serverCpu = options.serverPid === undefined ? undefined : cpuWindow(options.serverPid, options.warmupMs, options.durationMs);
    const results: DriverResult[] = [];
    let serverCores: number | undefined;
    try {
      for (const driver of drivers) results.push((await driver.next('result')).result);
    } finally {
      serverCores = serverCpu?.finish();
    }
    const merged = merge(results, options.durationMs);
    const syscalls = serverCpu?.syscallsPerSecond();
    return {
      ...merged,
      ...(serverCores === undefined ? {} : { serverCores }),
      ...(syscalls === undefined ? {} : { serverSyscallsPerCall: perCall(syscalls, merged.requestsPerSecond) }),
    };
  } finally {
    await Promise.all(drivers.map((d) => d.close({ type: 'close' })));
  }
}

/** System calls per second as calls per call answered. */
export function perCall(syscallsPerSecond: { readonly reads: number; readonly writes: number }, requestsPerSecond: number): { readonly reads: number; readonly writes: number } {
  return { reads: syscallsPerSecond.reads / requestsPerSecond, writes: syscallsPerSecond.writes / requestsPerSecond };
}

function merge(results: readonly DriverResult[], durationMs: number): UnaryLoadResult {
  const latencies: number[] = [];
  for (const r of results) for (const ms of r.latenciesMs) latencies.push(ms);
  const completed = latencies.length;
  const firstError = results.find((r) => r.firstError !== undefined)?.firstError;
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  let sum = 0;
  let max = 0;
  for (const ms of latencies) {
    sum += ms;
    if (ms > max) max = ms;
  }
  return {
    requestsPerSecond: Math.round(completed / (durationMs / 1000)),
    completed,
    errors: results.reduce((s, r) => s + r.errors, 0),
    ...(firstError === undefined ? {} : { firstError }),
    latencyMs: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), mean: round(sum / completed), max: round(max) },
    driverCores: Math.round((results.reduce((s, r) => s + r.cpuMs, 0) / durationMs) * 100) / 100,
  };
}
