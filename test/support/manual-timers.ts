import type { Timers } from '../../src/protocol/time.js';

/**
 * A test clock: time moves only when the test calls `advance`, on both clocks alike; the wall
 * clock alone can be stepped (`stepWallClock`), as NTP or a VM's resume steps it.
 */
export class ManualTimers implements Timers {
  private current: number;
  /** The wall clock's steps so far: `now()` is the monotonic time plus this. */
  private wallClockStep = 0;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current + this.wallClockStep;
  }

  monotonicNow(): number {
    return this.current;
  }

  /** Steps the wall clock (`now()`) by `ms`, back when negative; timers and `monotonicNow()` keep their course. */
  stepWallClock(ms: number): void {
    this.wallClockStep += ms;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const id = ++this.seq;
    this.pending.set(id, { at: this.current + Math.max(0, ms), fn });
    return () => this.pending.delete(id);
  }

  /** How many timers are set and not yet fired or cancelled (a closed component leaves none). */
  get scheduledCount(): number {
    return this.pending.size;
  }

  /** Moves time forward, firing due timers in time order; lets promise callbacks run between them. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await flushMicrotasks();
      let nextId: number | undefined;
      let nextAt = Infinity;
      for (const [id, t] of this.pending) {
        if (t.at <= target && t.at < nextAt) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId === undefined) break;
      const timer = this.pending.get(nextId)!;
      this.pending.delete(nextId);
      this.current = Math.max(this.current, timer.at);
      timer.fn();
    }
    this.current = target;
    await flushMicrotasks();
  }

  get pendingCount(): number {
    return this.pending.size;
  }
}

/**
 * Timers on `timers` whose timers fire up to `lagMs` before the clocks reach their due time (at
 * least 1 ms after being set, as Node's): real Node times a timer from the event loop's cached
 * time, so a callback can read a clock short of the deadline it was set for.
 */
export function earlyFiring(timers: ManualTimers, lagMs: number): Timers {
  return {
    now: () => timers.now(),
    monotonicNow: () => timers.monotonicNow(),
    setTimeout: (fn, ms) => timers.setTimeout(fn, Math.max(1, ms - lagMs)),
  };
}

export async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}
