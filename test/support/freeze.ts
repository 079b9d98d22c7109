import { readdirSync, readFileSync } from 'node:fs';
import { eventually } from './raw-peer.js';

/** The scheduler state of each of a process's threads ('R', 'S', 'T', ...), from /proc. */
function threadStates(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // The state follows the command name, which is in parentheses and may itself hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  });
}

/**
 * Freezes a process as a hung host would (SIGSTOP) and returns once every one of its threads has
 * stopped. `kill` returns when the signal is sent, not when it has taken hold: on a loaded machine a
 * thread of the target can still answer a request sent right after it, and a test expecting a
 * frozen peer would see an answer.
 */
export async function freezeProcess(pid: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  await eventually(() => threadStates(pid).every((state) => state === 'T' || state === 't'), 10_000, `process ${pid} stopped`);
}
