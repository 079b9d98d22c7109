/**
 * Time as a dependency, so the ejector, health checker, back-off and pacing logic run under a
 * test clock without sleeping. Shared by client and server.
 */
export interface Timers {
  /** Milliseconds since the epoch: for times others read (lastRefTime, activity times); it can step. */
  now(): number;
  /**
   * Milliseconds on a clock that never steps back nor jumps with the wall clock (NTP, a VM's
   * resume): for deadlines and windows. Only differences between its readings mean anything.
   */
  monotonicNow(): number;
  /** Runs `fn` once after `ms`; returns a function that cancels it. */
  setTimeout(fn: () => void, ms: number): () => void;
}

/**
 * The longest delay a Node timer holds (2^31-1 ms, about 24.8 days): a longer one fires after
 * 1 ms instead, with a TimeoutOverflowWarning.
 */
export const MAX_TIMER_DELAY_MS = 2_147_483_647;

/**
 * Whether a timeout is too long for a timer (over 24.8 days): such a call gets no deadline, as its
 * deadline is weeks away, rather than a timer Node would fire after 1 ms.
 */
export function isBeyondTimers(timeoutMs: number): boolean {
  return timeoutMs > MAX_TIMER_DELAY_MS;
}

/** The real clock. Timers are unref'd: they never keep a process alive on their own. */
export const systemTimers: Timers = {
  now: () => Date.now(),
  monotonicNow: () => performance.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return () => clearTimeout(handle);
  },
};

/** Waits `ms` on the given timers. */
export function sleep(timers: Timers, ms: number): Promise<void> {
  return new Promise((resolve) => timers.setTimeout(resolve, ms));
}
