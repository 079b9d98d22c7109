import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Starts a server process with its stdout and stderr kept in `output`, and waits until `ready`
 * resolves true (probed every 100 ms); fails with the output if it exits, the deadline passes, or
 * its output shows `failOn` (looked for before and after each probe, so a line written before the
 * process turned ready is seen).
 */
export async function spawnUntilReady(
  command: string,
  args: readonly string[],
  ready: () => Promise<boolean>,
  options: { readonly name: string; readonly timeoutMs: number; readonly onOutput: (text: string) => void; readonly failOn?: string },
): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (d: Buffer): void => {
    output += d.toString();
    options.onOutput(d.toString());
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const deadline = Date.now() + options.timeoutMs;
  const failIfShown = (): void => {
    if (options.failOn === undefined || !output.includes(options.failOn)) return;
    child.kill('SIGKILL');
    throw new Error(`${options.name} logged "${options.failOn}": ${output}`);
  };
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${options.name} exited ${child.exitCode}: ${output}`);
    failIfShown();
    const isReady = await ready().catch(() => false);
    failIfShown();
    if (isReady) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.name} not ready within ${options.timeoutMs} ms: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
