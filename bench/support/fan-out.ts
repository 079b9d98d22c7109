// Bookkeeping shared by the benchmark servers for the connection benchmark's two server-side
// figures: a fan-out (one message out on every stream, time until each has answered) and a log of
// when connections were seen gone.
import { epochNow, type FanOutResult } from './standalone.js';

export class FanOut<S> {
  private waiting: Set<S> | undefined;
  private settle: ((answered: boolean) => void) | undefined;

  /** Sends with `write` to every stream; resolves once each answered (see `answered`) or ended. */
  run(streams: readonly S[], write: (stream: S) => void, timeoutMs: number): Promise<FanOutResult> {
    if (this.waiting !== undefined) return Promise.reject(new Error('a fan-out is already running'));
    const waiting = new Set(streams);
    this.waiting = waiting;
    let acks = 0;
    const started = performance.now();
    return new Promise<FanOutResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`fan-out: ${waiting.size} of ${streams.length} streams did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.settle = (answered) => {
        if (answered) acks++;
        if (waiting.size > 0) return;
        clearTimeout(timer);
        this.waiting = undefined;
        resolve({ streams: streams.length, acks, ms: performance.now() - started });
      };
      for (const stream of streams) write(stream);
      if (streams.length === 0) this.settle(false);
    });
  }

  /** A message arrived on the stream: its answer, if a fan-out waits for one. */
  answered(stream: S): void {
    if (this.waiting?.delete(stream)) this.settle?.(true);
  }

  /** The stream ended: nothing more to wait for on it (not counted as an answer). */
  ended(stream: S): void {
    if (this.waiting?.delete(stream)) this.settle?.(false);
  }
}

/** When connections (keyed by client `ip:port`) were seen gone, until taken. */
export class CloseLog {
  private closes: Record<string, number> = {};

  record(key: string): void {
    this.closes[key] = epochNow();
  }

  take(): Record<string, number> {
    const taken = this.closes;
    this.closes = {};
    return taken;
  }
}
