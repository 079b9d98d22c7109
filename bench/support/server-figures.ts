// Helpers shared by the benchmarks that measure one server at a time (naming, config).
import { rssBytes } from './proc-stats.js';
import type { LoadFigures } from './result-types.js';
import type { ServerProcess } from './server-process.js';
import type { BenchTarget } from './targets.js';
import type { UnaryCall } from './unary-calls.js';
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
