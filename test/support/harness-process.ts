import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

export type HarnessEvent = { readonly event: string } & Record<string, unknown>;

/**
 * Drives an interop harness (a real Nacos client in Java or Go) over its line protocol:
 * JSON events on stdout, commands on stdin. Keeps every event for assertions.
 */
export class HarnessProcess {
  readonly events: HarnessEvent[] = [];
  readonly stderr: string[] = [];
  private readonly child: ChildProcessWithoutNullStreams;
  private waiters: (() => void)[] = [];
  exited = false;

  constructor(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as HarnessEvent);
      } catch {
        this.stderr.push(`[stdout, not JSON] ${line}`);
      }
      this.wake();
    });
    createInterface({ input: this.child.stderr }).on('line', (line) => {
      this.stderr.push(line);
      if (this.stderr.length > 2000) this.stderr.shift();
    });
    this.child.on('exit', () => {
      this.exited = true;
      this.wake();
    });
  }

  /** Waits for the first event (from index `from` on) matching the predicate. */
  async waitForEvent(match: (e: HarnessEvent) => boolean, timeoutMs: number, what: string, from = 0): Promise<HarnessEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find(match);
      if (found) return found;
      if (this.exited) throw new Error(`harness exited while waiting for ${what}; stderr tail:\n${this.stderr.slice(-30).join('\n')}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events)}\nstderr tail:\n${this.stderr.slice(-30).join('\n')}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends a command and waits for the first event it produces. */
  async command(line: string, answerEvent: (e: HarnessEvent) => boolean, timeoutMs = 10_000): Promise<HarnessEvent> {
    const from = this.events.length;
    this.child.stdin.write(`${line}\n`);
    return this.waitForEvent(answerEvent, timeoutMs, `answer to '${line}'`, from);
  }

  /** Asks the harness to quit; kills it if it does not exit in time. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end('quit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** Kills the harness at once (SIGKILL), as a crashed process, and waits for it to exit. */
  async kill(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
