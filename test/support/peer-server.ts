import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const peersDir = fileURLToPath(new URL('../../interop/peers/', import.meta.url));

/** A real Nacos-compatible server nobody here wrote, run by its interop/peers script. */
export interface PeerKind {
  readonly name: string;
  readonly script: string;
  /** The script's build/install command (cached; slow the first time). */
  readonly prepare: string;
  /** The script's command that exits 0 once the server is built or installed. */
  readonly check: string;
  /** Ports the server takes, as offsets from its main port. */
  readonly offsets: readonly number[];
}

export const RNACOS: PeerKind = { name: 'r-nacos', script: 'rnacos.sh', prepare: 'install', check: 'bin', offsets: [0, 1000] };
export const NACOS_224: PeerKind = { name: 'Nacos 2.2.4', script: 'nacos-server.sh', prepare: 'build', check: 'jar', offsets: [-1000, 0, 1000, 1001] };

export class PeerServer {
  private child: ChildProcess | undefined;
  dir = mkdtempSync(join(tmpdir(), 'nacos-remote-peer-'));
  output = '';

  constructor(
    readonly kind: PeerKind,
    readonly port: number,
    /** Passed to the server after the script's own (Nacos: Spring Boot `--key=value` properties). */
    private readonly extraArgs: readonly string[] = [],
    /** Added to the server's environment (TZ, to run it in a zone that is not UTC). */
    private readonly env: Readonly<Record<string, string>> = {},
  ) {}

  /** Whether the server is built or installed in its cache already (no minutes-long build). */
  static installed(kind: PeerKind): boolean {
    try {
      execFileSync(join(peersDir, kind.script), [kind.check], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }

  /** The running server's process (the script execs it), once started. */
  get process(): ChildProcess | undefined {
    return this.child;
  }

  static prepare(kind: PeerKind): void {
    execFileSync(join(peersDir, kind.script), [kind.prepare], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 40 * 60_000 });
  }

  /**
   * Starts the server and waits until it is ready, trying up to three times, each retry on a fresh
   * data dir: r-nacos 0.8.8 sometimes panics while bootstrapping its raft store (a start-up race in
   * its StateApplyManager), and then keeps running without ever becoming ready.
   */
  async start(attempts = 3): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.startOnce();
        return;
      } catch (error) {
        await this.stop();
        if (attempt >= attempts) throw error;
        rmSync(this.dir, { recursive: true, force: true });
        this.dir = mkdtempSync(join(tmpdir(), 'nacos-remote-peer-'));
        this.output = '';
      }
    }
  }

  private async startOnce(): Promise<void> {
    const child = spawn(join(peersDir, this.kind.script), ['run', String(this.port), this.dir, ...this.extraArgs], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.env } });
    this.child = child;
    const waiter = new AbortController();
    const failed = new Promise<never>((_, reject) => {
      const keep = (d: Buffer) => {
        this.output = (this.output + d.toString()).slice(-20_000);
        if (this.output.includes('panicked at')) reject(new Error(`${this.kind.name} panicked on ${this.port}: ${this.output}`));
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      child.once('exit', (code, signal) => reject(new Error(`${this.kind.name} exited (${signal ?? code}) on ${this.port}: ${this.output}`)));
    });
    const ready = execFileAsync(join(peersDir, this.kind.script), ['wait', String(this.port), '90'], { signal: waiter.signal }).then(
      () => undefined,
      () => {
        throw new Error(`${this.kind.name} did not become ready on ${this.port}: ${this.output}`);
      },
    );
    try {
      await Promise.race([ready, failed]);
    } finally {
      waiter.abort();
      ready.catch(() => undefined);
      failed.catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
