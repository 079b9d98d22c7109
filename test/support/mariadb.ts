import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { freezeProcess } from './freeze.js';
import { findMainPort } from './ports.js';
import { spawnUntilReady } from './ready-process.js';

const INSTALL_DB = '/usr/bin/mariadb-install-db';
const SERVER = '/usr/sbin/mariadbd';

/** Whether Debian's mariadb-server is on this machine (`.ci/run` installs it). */
export function mariadbInstalled(): boolean {
  return existsSync(INSTALL_DB) && existsSync(SERVER);
}

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} exited ${code}: ${output}`))));
  });
}

/**
 * A real MariaDB server in its own process with its own temporary data directory, for one test
 * file: root without a password on 127.0.0.1 and a socket in the directory. It can be stopped
 * (SIGKILL), paused (SIGSTOP) and started again on the same port and data, as an outage.
 */
export class MariaDb {
  readonly dir = mkdtempSync(join(tmpdir(), 'nacos-remote-mariadb-'));
  readonly user = 'root';
  readonly password = '';
  readonly host = '127.0.0.1';
  port = 0;
  output = '';
  private child: ChildProcess | undefined;
  private installed = false;
  /** A test process that dies without stop() takes the server with it instead of leaving it running. */
  private readonly killOnExit = (): void => void this.child?.kill('SIGKILL');

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** A `mysql://` URL for a database on this server. */
  url(database: string): string {
    return `mysql://${this.user}@${this.host}:${this.port}/${database}`;
  }

  /** Creates the data directory on the first call, then starts the server and waits until it answers. */
  async start(timeoutMs = 60_000): Promise<void> {
    if (!mariadbInstalled()) throw new Error(`MariaDB is not installed (${SERVER}): apt-get install mariadb-server, as .ci/run does`);
    if (!this.installed) {
      // Only the system tables: no test database, no name lookups; root logs in without a password.
      await run(INSTALL_DB, ['--no-defaults', '--user=root', '--auth-root-authentication-method=normal', `--datadir=${this.dataDir}`, '--skip-test-db', '--skip-name-resolve']);
      this.installed = true;
    }
    // One free port (no gRPC offsets); kept across restarts so clients reconnect to the same address.
    if (this.port === 0) this.port = await findMainPort(['127.0.0.1'], [0]);
    this.child = await spawnUntilReady(
      SERVER,
      [
        '--no-defaults',
        '--user=root',
        `--datadir=${this.dataDir}`,
        `--port=${this.port}`,
        `--socket=${join(this.dir, 'mysqld.sock')}`,
        `--pid-file=${join(this.dir, 'mysqld.pid')}`,
        '--bind-address=127.0.0.1',
        '--skip-networking=0',
        '--skip-name-resolve',
        '--skip-log-bin',
        // Small and quick: a test database holds a few thousand rows at most.
        '--innodb-buffer-pool-size=16M',
        '--innodb-log-file-size=8M',
        '--performance-schema=OFF',
      ],
      async () => {
        await this.query('SELECT 1');
        return true;
      },
      { name: `mariadbd on ${this.port}`, timeoutMs, onOutput: (text) => (this.output += text) },
    );
    process.once('exit', this.killOnExit);
  }

  /** The server's process id while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Runs one statement as root on a fresh connection. */
  async query(sql: string, database?: string): Promise<unknown> {
    const connection = await createConnection({ host: this.host, port: this.port, user: this.user, password: this.password, database, connectTimeout: 2000 });
    try {
      const [rows] = await connection.query(sql);
      return rows;
    } finally {
      await connection.end();
    }
  }

  /** Creates an empty database (utf8mb4, so a test can choose its tables' charset) and returns its name. */
  async createDatabase(name: string): Promise<string> {
    await this.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
    return name;
  }

  /** Pauses the server process: connections hang rather than fail, as a frozen host. */
  async pause(): Promise<void> {
    if (this.child?.pid !== undefined) await freezeProcess(this.child.pid);
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Kills the server as a crash would; `start()` brings it back on the same port and data. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    process.removeListener('exit', this.killOnExit);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }

  /** Stops the server and removes its directory. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
