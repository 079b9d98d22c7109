import type { Logger } from 'pino';
import { request, type Timers } from '../protocol/index.js';
import { UnregisterReason, type ConnectionManager } from './connection-manager.js';
import type { Connection } from './connection.js';

export interface EjectorOptions {
  /** First run after start (Nacos: 1 s). */
  initialDelayMs: number;
  /** Between runs (Nacos: 3 s). */
  intervalMs: number;
  /** A connection idle this long is probed (Nacos 2.3.0: 20 s). */
  idleThresholdMs: number;
  /** How long a probe waits for ClientDetectionResponse (Nacos 2.3.0: 5 s). */
  detectTimeoutMs: number;
  /**
   * Probes sent per turn of the event loop (ours; Nacos sends all at once). A run over tens of
   * thousands of idle connections then never holds the loop for long: closes, setups and requests
   * are served between batches instead of waiting behind the whole run.
   */
  probeBatchSize: number;
}

export const DEFAULT_EJECTOR_OPTIONS: EjectorOptions = {
  initialDelayMs: 1000,
  intervalMs: 3000,
  idleThresholdMs: 20_000,
  detectTimeoutMs: 5000,
  probeBatchSize: 128,
};

/**
 * Ejects dead connections (Nacos 2.3.0 `NacosRuntimeConnectionEjector`, spec 9): each run sends
 * ClientDetectionRequest to every connection idle past the threshold and unregisters those that
 * do not answer successfully in time. Runs never overlap.
 */
export class ConnectionEjector {
  private cancelNext: (() => void) | undefined;
  private running = false;
  private stopped = true;
  /**
   * Bumped by start() and stop(): a run of an earlier start() must not schedule another chain, and
   * a run in progress sends no further batch once stopped.
   */
  private generation = 0;
  /** Probes per event-loop turn; a non-integer or missing size (the API takes a partial) would skip or repeat connections. */
  private readonly batchSize: number;

  constructor(
    private readonly manager: ConnectionManager,
    private readonly timers: Timers,
    private readonly options: EjectorOptions,
    private readonly logger: Logger,
  ) {
    this.batchSize = Math.max(1, Math.floor(options.probeBatchSize) || DEFAULT_EJECTOR_OPTIONS.probeBatchSize);
  }

  /** Starts the runs; a second start() while running is a no-op. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(this.options.initialDelayMs, ++this.generation);
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.cancelNext?.();
    this.cancelNext = undefined;
  }

  /** One ejection pass; resolves with the ids it unregistered. */
  async runOnce(): Promise<string[]> {
    if (this.running) return [];
    this.running = true;
    try {
      const generation = this.generation;
      const detection = request('ClientDetectionRequest');
      const now = this.timers.now();
      const idle = this.manager.list().filter((c) => now - c.lastActiveTime >= this.options.idleThresholdMs);
      const probe = async (connection: Connection): Promise<string | undefined> => {
        try {
          await connection.request(detection, this.options.detectTimeoutMs);
          connection.freshActiveTime();
          return undefined;
        } catch {
          return connection.id;
        }
      };
      const probes: Promise<string | undefined>[] = [];
      const batch = this.batchSize;
      for (let i = 0; i < idle.length; i += batch) {
        if (i > 0) {
          await new Promise((resolve) => setImmediate(resolve));
          // stop() (a shutdown) between batches: no more probes beside its resets.
          if (this.generation !== generation) break;
        }
        // A connection whose stream or transport is gone is not probed: it is dead (and ejected if
        // still registered; one unregistered since the run began is not counted).
        for (const connection of idle.slice(i, i + batch)) probes.push(connection.connected ? probe(connection) : Promise.resolve(connection.id));
      }
      const results = await Promise.all(probes);
      const dead = results.filter((id): id is string => id !== undefined && this.manager.unregister(id, UnregisterReason.EJECTED));
      if (dead.length > 0) this.logger.info({ probed: probes.length, ejected: dead.length }, 'ejected idle connections');
      return dead;
    } finally {
      this.running = false;
    }
  }

  private schedule(delayMs: number, generation: number): void {
    if (this.stopped || generation !== this.generation) return;
    this.cancelNext = this.timers.setTimeout(() => {
      this.cancelNext = undefined;
      void this.runOnce()
        .catch((error: unknown) => this.logger.error({ err: error }, 'ejector run failed'))
        .finally(() => this.schedule(this.options.intervalMs, generation));
    }, delayMs);
  }
}
