// Shapes that a benchmark writes to bench/results and bench/report.ts reads back.
import type { TransportKind } from '../../src/server/transport/types.js';
import type { TargetKey } from './targets.js';

/** Unary figures of one load against one target (one round, or the median over rounds). */
export interface UnaryFigures<Load extends string = string> {
  readonly target: TargetKey;
  /** Our node's gRPC transport (absent for the baselines, and in results from before it was recorded). */
  readonly transport?: TransportKind;
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

/** Percentiles of a set of samples (stats.ts `summary`), ms. */
export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** A unary load against a server that runs a module's handlers (naming, config). */
export interface LoadFigures {
  readonly requestsPerSecond: number;
  /** Server CPU time over the window, in cores. */
  readonly serverCores: number;
  readonly perServerCpuSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly firstError?: string;
}

/** One change pushed to many connections, repeated (subscriber-fleet.ts `summarizeTimings`). */
export interface PushSummary {
  readonly changes: number;
  /** From the change's request until the last / first connection got its push, over the changes every connection got. */
  readonly lastMs: Summary;
  readonly firstMs: Summary;
  /** Pushes never received within the hang guard, all changes together. */
  readonly missing: number;
}

/** CPU time per push to one subscriber (µs): the server's, and the subscriber drivers' together. */
export interface PushCpu {
  readonly serverUs: number;
  readonly driversUs: number;
}

/** Server memory growth per item (instance, listened key) over `items`; heap null where the server cannot say. */
export interface MemoryPerItem {
  readonly items: number;
  readonly rssBytesPerItem: number;
  readonly heapBytesPerItem: number | null;
}

/** Register throughput: a batch request carries `instancesPerRequest` instances. */
export interface RegisterFigures extends LoadFigures {
  readonly instancesPerRequest: number;
}

export interface NamingServerFigures {
  readonly target: TargetKey;
  readonly label: string;
  /** Per registered instance. */
  readonly memory: MemoryPerItem | null;
  readonly register: { readonly single: RegisterFigures; readonly batch: RegisterFigures } | null;
  readonly push: readonly (PushSummary & { readonly subscribers: number; readonly cpu: PushCpu })[];
  /** A registering connection dropped → every subscriber got the push without its instance. */
  /** `cpu`: over the runs, each a register's push and the removal's (2 pushes a subscriber a run). */
  readonly disconnect: { readonly subscribers: number; readonly runs: number; readonly lastMs: Summary; readonly missing: number; readonly cpu: PushCpu } | null;
  /** Why a part could not run on this target (it is left out, the rest goes on). */
  readonly errors: readonly string[];
}

export interface QueryRound {
  readonly health: LoadFigures;
  readonly query: LoadFigures;
  /** ConfigQuery / HealthCheck throughput in this round. */
  readonly ratio: number;
  /** ConfigQuery / HealthCheck requests per server CPU-second in this round (absent in results from before it). */
  readonly cpuRatio?: number;
}

/** ConfigQuery against HealthCheck on one server (bench/support/query-rounds.ts). */
export interface QueryFigures {
  readonly rounds: readonly QueryRound[];
  readonly medianRatio: number;
  /** Absent in results from before it. */
  readonly medianCpuRatio?: number;
}

export interface ConfigServerFigures {
  readonly target: TargetKey;
  readonly label: string;
  readonly query: QueryFigures | null;
  readonly publish: LoadFigures | null;
  readonly change: readonly (PushSummary & { readonly listeners: number })[];
  /** Per listened key. */
  readonly memory: MemoryPerItem | null;
  readonly errors: readonly string[];
}

/** The servers and stores bench/config-mysql.ts measures publish on. */
export type ConfigMysqlLane = 'ours-mariadb' | 'nacos-mariadb' | 'ours-sqlite';
