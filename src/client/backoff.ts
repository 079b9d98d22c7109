/**
 * Java's reconnect back-off (spec 4.9): attempts are counted; every full pass over the server
 * list adds 100 ms to the wait after a failed attempt, capped at 5 s. The first pass waits 100 ms.
 */
export function reconnectDelayMs(failedAttempts: number, serverCount: number): number {
  const turns = Math.floor(Math.max(0, failedAttempts - 1) / Math.max(1, serverCount));
  return Math.min(turns + 1, 50) * 100;
}

/** The jitter before the first health-check attempt (Java: 0-499 ms). */
export function healthCheckJitterMs(random: () => number): number {
  return Math.floor(random() * 500);
}
