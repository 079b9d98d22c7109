// Shapes that a benchmark writes to bench/results and bench/report.ts reads back.
import type { TargetKey } from './targets.js';

/** Unary figures of one load against one target (one round, or the median over rounds). */
export interface UnaryFigures<Load extends string = string> {
  readonly target: TargetKey;
  readonly load: Load;
  readonly requestsPerSecond: number;
  /** Latency percentiles: our driver only (h2load prints a mean). */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly meanMs: number;
  /** Server CPU time over the window, in cores (1 = one core busy). */
  readonly serverCores: number;
  /** Requests per second of server CPU time: the server's efficiency, whoever drives it. */
  readonly perServerCpuSecond: number;
  /** CPU of our driver processes, in cores (null for h2load). */
  readonly driverCores: number | null;
  readonly errors: number;
}
