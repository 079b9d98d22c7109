import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_STARTUP_HOLD_MS, HOLD_RAN_OUT_MESSAGE } from '../../src/naming/index.js';
import { DEFAULT_TRANSPORT } from '../../src/server/transport/types.js';
import { spawnUntilReady } from './ready-process.js';
import { transportUnderTest } from './server.js';

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

  /**
   * Starts the node and waits until readiness answers 200. A restarted member is ready at the end
   * of its naming hold: a hold that runs to its cap (a member neither sent its snapshot nor was
   * found not running) fails the start with the node's warning, not as ready with partial data;
   * the default wait outlasts the cap so that failure is the one shown.
   */
  async start(timeoutMs = DEFAULT_STARTUP_HOLD_MS + 20_000): Promise<void> {
    this.child = await spawnUntilReady(
      process.execPath,
      ['--import', 'tsx', cli, 'server', '--host', this.host, '--port', String(this.port), '--home', this.home, '--log-level', 'warn', ...this.withTransport()],
      async () => (await fetch(`http://${this.address}/nacos/v1/console/health/readiness`)).status === 200,
      { name: `node ${this.address}`, timeoutMs, onOutput: (text) => (this.output += text), failOn: HOLD_RAN_OUT_MESSAGE },
    );
  }

  /**
   * The extra arguments, with NACOS_TRANSPORT's transport added to the config file (a copy in the
   * node's home) unless that file names one.
   */
  private withTransport(): readonly string[] {
    const transport = transportUnderTest();
    if (transport === DEFAULT_TRANSPORT) return this.extraArgs;
    const at = this.extraArgs.indexOf('--config');
    const given = at >= 0 ? (JSON.parse(readFileSync(this.extraArgs[at + 1]!, 'utf8')) as Record<string, unknown>) : {};
    const file = join(this.home, 'transport-under-test.json');
    writeFileSync(file, JSON.stringify({ transport, ...given }));
    return at >= 0 ? this.extraArgs.map((arg, i) => (i === at + 1 ? file : arg)) : [...this.extraArgs, '--config', file];
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
