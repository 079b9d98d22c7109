// A benchmark worker process (a TypeScript module forked with tsx), spoken to over IPC: messages
// in, typed messages out, read one at a time in order. A `{type:'failed'}` message or the
// process's exit fails the wait.
import { fork, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from './server-process.js';

/** Extra node flags for worker processes (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`; node refuses it in NODE_OPTIONS). */
const extraWorkerArgs = (process.env['BENCH_WORKER_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');

export class ForkedWorker<To, From extends { readonly type: string }> {
  private readonly child: ChildProcess;
  private readonly inbox: From[] = [];
  private waiter: (() => void) | undefined;
  private exitError: Error | undefined;

  constructor(
    readonly name: string,
    modulePath: string,
  ) {
    this.child = fork(modulePath, [], { cwd: REPO_ROOT, execArgv: [...extraWorkerArgs, '--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: From) => {
      this.inbox.push(message);
      this.waiter?.();
    });
    this.child.on('exit', (code, signal) => {
      this.exitError = new Error(`${name} exited (${signal ?? code})`);
      this.waiter?.();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  send(message: To): void {
    this.child.send(message as object);
  }

  async next<T extends From['type']>(type: T): Promise<Extract<From, { type: T }>> {
    for (;;) {
      const message = this.inbox.shift();
      if (message?.type === 'failed') throw new Error(`${this.name} failed: ${(message as { error?: string }).error}`);
      if (message !== undefined) {
        if (message.type !== type) throw new Error(`${this.name}: expected ${type}, got ${message.type}`);
        return message as Extract<From, { type: T }>;
      }
      if (this.exitError) throw this.exitError;
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = undefined;
    }
  }

  /** Sends `farewell` if given (or disconnects), waits for the exit; SIGKILL after 5 s. */
  async close(farewell?: To): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    if (farewell === undefined) this.child.disconnect();
    else this.send(farewell);
    await exited;
    clearTimeout(timer);
  }
}
