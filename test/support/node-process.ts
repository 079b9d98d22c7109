import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/**
 * A node run by the CLI in its own process, so a test can SIGKILL it like a crashed server and
 * start it again on the same address. Part of the cluster launcher for integration tests.
 */
export class NodeProcess {
  private child: ChildProcess | undefined;
  readonly home = mkdtempSync(join(tmpdir(), 'nacos-remote-node-'));
  output = '';

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly extraArgs: readonly string[] = [],
  ) {}

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** The node's process id while it runs (to read its memory from /proc). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the node and waits until readiness answers 200. */
  async start(timeoutMs = 30_000): Promise<void> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', cli, 'server', '--host', this.host, '--port', String(this.port), '--home', this.home, '--log-level', 'warn', ...this.extraArgs],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`node ${this.address} exited: ${this.output}`);
      try {
        const res = await fetch(`http://${this.address}/nacos/v1/console/health/readiness`);
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`node ${this.address} not ready: ${this.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Kills the process with the given signal and waits for it to exit; resolves the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }

  /** Stops the process (SIGKILL) and removes its home. */
  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.home, { recursive: true, force: true });
  }
}
