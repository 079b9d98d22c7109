// Parent side of the push benchmarks: subscribing connections spread over forked driver processes
// (subscriber-worker.ts), so that receiving and acking pushes does not share the caller's (or the
// server's) process. A measurement arms every driver, causes one change, and takes the time until
// the last connection got its push.
import { fileURLToPath } from 'node:url';
import { ForkedWorker } from './forked-worker.js';
import { cpuTimeMs } from './proc-stats.js';
import { epochNow } from './standalone.js';
import type { PushSummary } from './result-types.js';
import { summary } from './stats.js';
import type { Expectation, FromSubscriberWorker, Subscription, ToSubscriberWorker } from './subscriber-worker.js';

const WORKER = fileURLToPath(new URL('./subscriber-worker.ts', import.meta.url));

export interface PushTiming {
  /** From the change's request until the first / last subscriber got its push, ms. */
  readonly firstMs: number;
  readonly lastMs: number;
  /** Subscribers that never got it within the hang guard. */
  readonly missing: number;
}

export class SubscriberFleet {
  private readonly drivers: ForkedWorker<ToSubscriberWorker, FromSubscriberWorker>[];
  /** Subscribing connections open. */
  held = 0;

  constructor(
    driverCount: number,
    private readonly sourceAddresses: readonly string[],
  ) {
    this.drivers = Array.from({ length: driverCount }, (_, d) => new ForkedWorker<ToSubscriberWorker, FromSubscriberWorker>(`subscriber driver ${d + 1}`, WORKER));
  }

  /** Opens `count` more subscribing connections, split over the drivers; throws if any failed. */
  async open(host: string, port: number, count: number, subscription: Subscription): Promise<void> {
    this.drivers.forEach((driver, d) => {
      const share = Math.floor(count / this.drivers.length) + (d < count % this.drivers.length ? 1 : 0);
      const localAddresses = this.sourceAddresses.filter((_, i) => i % this.drivers.length === d);
      driver.send({ type: 'open', host, port, count: share, localAddresses, concurrency: 32, subscription });
    });
    const failures: string[] = [];
    for (const driver of this.drivers) {
      const result = await driver.next('opened');
      this.held += result.opened;
      if (result.errors > 0) failures.push(`${driver.name}: ${result.errors} failed, first: ${result.firstError}`);
    }
    if (failures.length > 0) throw new Error(`subscribers: ${failures.join('; ')}`);
  }

  /**
   * Arms every driver for `expect`, runs `change`, and times the pushes from its start.
   * @throws when no subscriber got the push: the server does not push this (no use timing more).
   */
  async time(expect: Expectation, change: () => Promise<void>, timeoutMs: number): Promise<PushTiming> {
    for (const driver of this.drivers) driver.send({ type: 'watch', expect, timeoutMs });
    for (const driver of this.drivers) await driver.next('watching');
    const started = epochNow();
    await change();
    let firstAt = Infinity;
    let lastAt = -Infinity;
    let missing = 0;
    for (const driver of this.drivers) {
      const seen = await driver.next('seen');
      missing += seen.missing;
      if (seen.count > 0) {
        firstAt = Math.min(firstAt, seen.firstAt);
        lastAt = Math.max(lastAt, seen.lastAt);
      }
    }
    if (missing > 0 && missing === this.held) throw new Error(`no subscriber got the push (${JSON.stringify(expect)}) within ${timeoutMs} ms`);
    return { firstMs: firstAt - started, lastMs: lastAt - started, missing };
  }

  /** CPU time the driver processes have used so far, ms. */
  cpuTimeMs(): number {
    return this.drivers.reduce((sum, driver) => sum + cpuTimeMs(driver.pid), 0);
  }

  async close(): Promise<void> {
    await Promise.all(this.drivers.map((d) => d.close()));
  }
}

/** Repeated changes at one level: first and last push over the changes every subscriber got, and the pushes missed. */
export function summarizeTimings(timings: readonly PushTiming[]): PushSummary {
  const complete = timings.filter((t) => t.missing === 0);
  return {
    changes: timings.length,
    lastMs: summary(complete.map((t) => t.lastMs)),
    firstMs: summary(complete.map((t) => t.firstMs)),
    missing: timings.reduce((sum, t) => sum + t.missing, 0),
  };
}
