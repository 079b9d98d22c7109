// CPU time and RSS of another process, from Linux /proc: lets a benchmark charge server work to
// the server process alone, which matters when driver and server share two cores.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU time the process has used so far, in ms (resolution: one clock tick, 10 ms). */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)", which may hold spaces: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
}

/** Resident set size in bytes. */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

export interface CpuWindow {
  /** Ends the window (now, if its end has not come yet); the process's CPU use over it in cores. */
  finish(): number | undefined;
}

/**
 * Samples a process's CPU time when a window opens (`delayMs` from now) and closes (`durationMs`
 * later), dividing by the time actually elapsed between the samples.
 */
export function cpuWindow(pid: number, delayMs: number, durationMs: number): CpuWindow {
  const sample = () => ({ atMs: performance.now(), cpuMs: cpuTimeMs(pid) });
  let open: ReturnType<typeof sample> | undefined;
  let close: ReturnType<typeof sample> | undefined;
  const timers = [setTimeout(() => (open = sample()), delayMs), setTimeout(() => (close = sample()), delayMs + durationMs)];
  return {
    finish() {
      timers.forEach(clearTimeout);
      if (open === undefined) return undefined;
      close ??= sample();
      return Math.round(((close.cpuMs - open.cpuMs) / (close.atMs - open.atMs)) * 100) / 100;
    },
  };
}
