// Servers under test, each in its own child process so that its event loop and CPU time are its
// own: our node started by the CLI, standalone server modules (see standalone.ts), and r-nacos.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PortOffset } from '../../src/protocol/index.js';
import type { TransportKind } from '../../src/server/transport/types.js';
import { PeerServer, type PeerKind } from '../../test/support/peer-server.js';
import { findMainPort } from '../../test/support/ports.js';
import type { BenchCommand } from './standalone.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export class ServerProcess {
  private readonly tail: string[] = [];
  private readonly lineListeners = new Set<(line: string) => void>();

  constructor(
    readonly name: string,
    readonly host: string,
    private readonly child: ChildProcess,
    /** Removed when the process stops. */
    private readonly tempDir?: string,
  ) {
    for (const output of [child.stdout, child.stderr]) {
      if (output === null) continue;
      createInterface({ input: output }).on('line', (line) => {
        this.tail.push(line);
        if (this.tail.length > 40) this.tail.shift();
        for (const listener of this.lineListeners) listener(line);
      });
    }
  }

  /** The gRPC port under test (for our node: the SDK port). Set once ready. */
  port = 0;

  get pid(): number {
    return this.child.pid!;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** The last lines the process printed, for error messages. */
  output(): string {
    return this.tail.join('\n');
  }

  /** Resolves the first line (stdout or stderr) the predicate accepts. */
  waitForLine(accept: (line: string) => boolean, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const done = (error: Error | undefined, line = '') => {
        clearTimeout(timer);
        this.lineListeners.delete(listener);
        this.child.off('exit', onExit);
        if (error) reject(error);
        else resolve(line);
      };
      const listener = (line: string) => accept(line) && done(undefined, line);
      const onExit = () => done(new Error(`${this.name} exited:\n${this.output()}`));
      const timer = setTimeout(() => done(new Error(`${this.name}: no expected output within ${timeoutMs} ms:\n${this.output()}`)), timeoutMs);
      this.lineListeners.add(listener);
      this.child.once('exit', onExit);
    });
  }

  /** Sends a command to a standalone server module and resolves its JSON reply. */
  async command<T>(command: BenchCommand, timeoutMs = 120_000): Promise<T> {
    const replied = this.waitForLine((line) => line.startsWith(`{"reply":"${command}"`), timeoutMs);
    this.child.stdin!.write(`${command}\n`);
    const reply = JSON.parse(await replied) as T & { error?: string };
    if (reply.error !== undefined) throw new Error(`${this.name} ${command}: ${reply.error}`);
    return reply;
  }

  /** Synchronous SIGKILL, for process exit handlers. */
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  /**
   * SIGTERM, SIGKILL if it has not exited within `graceMs`; waits for the exit. The grace lets a
   * profiled server write its profile.
   */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.exited) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    if (this.tempDir !== undefined) rmSync(this.tempDir, { recursive: true, force: true });
  }
}

/**
 * Extra node flags for server processes, from BENCH_SERVER_NODE_ARGS: profiling a server under
 * a benchmark's load, e.g. `BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"`
 * (node refuses --cpu-prof in NODE_OPTIONS).
 */
const extraServerArgs = (process.env['BENCH_SERVER_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');

function spawnTs(args: readonly string[], nodeOptions: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  // cwd: the repository, so that `--import tsx` resolves from its node_modules.
  return spawn(process.execPath, [...extraServerArgs, ...nodeOptions, '--import', 'tsx', ...args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'], env });
}

/**
 * Our node, started as an operator would (CLI, plus `extraArgs`), with a fresh home, on the given
 * gRPC transport (in its config file; else the default); ready once readiness says 200.
 */
export async function startOurNode(
  host: string,
  options: { readonly transport?: TransportKind; readonly extraArgs?: readonly string[]; readonly timeoutMs?: number } = {},
): Promise<ServerProcess> {
  const { transport, extraArgs = [], timeoutMs = 60_000 } = options;
  const port = await findMainPort([host]);
  const home = mkdtempSync(join(tmpdir(), 'nacos-remote-bench-'));
  const args = [CLI, 'server', '--host', host, '--port', String(port), '--home', home, '--log-level', 'warn', ...extraArgs];
  if (transport !== undefined) {
    const configFile = join(home, 'node.json');
    writeFileSync(configFile, JSON.stringify({ transport }));
    args.push('--config', configFile);
  }
  const server = new ServerProcess(transport === undefined ? 'ours' : `ours (${transport})`, host, spawnTs(args), home);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.exited) {
      await server.stop(); // removes its home
      throw new Error(`our node exited during start:\n${server.output()}`);
    }
    try {
      const res = await fetch(`http://${host}:${port}/nacos/v1/console/health/readiness`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`our node not ready within ${timeoutMs} ms:\n${server.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  server.port = port + PortOffset.SDK_GRPC;
  return server;
}

export interface StandaloneOptions {
  readonly exposeGc?: boolean;
  readonly timeoutMs?: number;
  /** Our node's gRPC transport (NACOS_TRANSPORT for bench/support/our-node.ts; the baselines have one each). */
  readonly transport?: TransportKind;
  /** More node flags, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[];
  /** More arguments for the module, e.g. our node's `--config FILE`. */
  readonly args?: readonly string[];
}

/** A server module run standalone (bench/support/standalone.ts): ready on its JSON line. */
export async function startStandaloneServer(name: string, moduleUrl: URL, host: string, options: StandaloneOptions = {}): Promise<ServerProcess> {
  const { exposeGc = false, timeoutMs = 30_000, transport, nodeArgs = [], args = [] } = options;
  // The home is made here, not in the child: a child killed before its start finished (a timed-out
  // start, before its signal handlers exist) leaves nothing behind.
  const home = mkdtempSync(join(tmpdir(), 'nacos-remote-bench-'));
  const child = spawnTs(
    [fileURLToPath(moduleUrl), '--host', host, '--port', '0', '--home', home, ...args],
    [...(exposeGc ? ['--expose-gc'] : []), ...nodeArgs],
    transport === undefined ? process.env : { ...process.env, NACOS_TRANSPORT: transport },
  );
  const server = new ServerProcess(name, host, child, home);
  let readyLine: string;
  try {
    readyLine = await server.waitForLine((line) => line.startsWith('{"ready"'), timeoutMs);
  } catch (error) {
    await server.stop();
    throw error;
  }
  server.port = (JSON.parse(readyLine) as { port: number }).port;
  return server;
}

/**
 * A real peer server (r-nacos, Nacos 2.2.4) on 127.0.0.1, where its script binds it: started by the
 * tests' PeerServer, with its fast failure on a panic and its retries on a fresh data dir;
 * `extraArgs` go to the server (Nacos: Spring Boot `--key=value` properties, e.g. its database).
 */
export async function startPeer(kind: PeerKind, host: string, extraArgs: readonly string[] = []): Promise<ServerProcess> {
  const port = await findMainPort([host, '0.0.0.0'], kind.offsets);
  const peer = new PeerServer(kind, port, extraArgs);
  try {
    await peer.start();
  } catch (error) {
    await peer.dispose();
    throw error;
  }
  const server = new ServerProcess(kind.name, host, peer.process!, peer.dir);
  server.port = port + PortOffset.SDK_GRPC;
  return server;
}
