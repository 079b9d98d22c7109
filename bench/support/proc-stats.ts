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

/** Read and write system calls the process has made so far (socket reads and writes among them); undefined where /proc/<pid>/io is not readable. */
export function syscallCounts(pid: number): { readonly reads: number; readonly writes: number } | undefined {
  let io: string;
  try {
    io = readFileSync(`/proc/${pid}/io`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(io)?.[1] ?? NaN);
  return { reads: field('syscr'), writes: field('syscw') };
}

export interface CpuWindow {
  /** Ends the window (now, if its end has not come yet); the process's CPU use over it in cores. */
  finish(): number | undefined;
  /**
   * Read and write system calls per second over the window, once finished: divided by calls per
   * second, how many calls a socket read or write carries (the server's batching).
   */
  syscallsPerSecond(): { readonly reads: number; readonly writes: number } | undefined;
}

/**
 * Samples a process's CPU time (and its system calls) when a window opens (`delayMs` from now)
 * and closes (`durationMs` later), dividing by the time actually elapsed between the samples.
 */
export function cpuWindow(pid: number, delayMs: number, durationMs: number): CpuWindow {
  const sample = () => ({ atMs: performance.now(), cpuMs: cpuTimeMs(pid), syscalls: syscallCounts(pid) });
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
    syscallsPerSecond() {
      if (open?.syscalls === undefined || close?.syscalls === undefined) return undefined;
      const seconds = (close.atMs - open.atMs) / 1000;
      return { reads: (close.syscalls.reads - open.syscalls.reads) / seconds, writes: (close.syscalls.writes - open.syscalls.writes) / seconds };
    },
  };
}
