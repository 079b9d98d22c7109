import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { MariaDb } from './mariadb.js';
import { eventually } from './raw-peer.js';

/** The child exits 1 on purpose: its output is what counts. */
const run = (command: string, args: string[]): Promise<{ stdout: string }> =>
  promisify(execFile)(command, args, { cwd: process.cwd() }).catch((error: { stdout?: string; code?: number }) => {
    if (error.code !== 1 || error.stdout === undefined) throw error;
    return { stdout: error.stdout };
  });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('MariaDb: a real server per test file', () => {
  const db = new MariaDb();
  before(() => db.start());
  after(() => db.stop());

  it('answers queries as root on its port and holds a created database', async () => {
    await db.createDatabase('harness');
    await db.query('CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))', 'harness');
    await db.query("INSERT INTO t VALUES (1, 'kept')", 'harness');
    assert.deepEqual(await db.query('SELECT v FROM t', 'harness'), [{ v: 'kept' }]);
  });

  it('comes back after a kill on the same port with the same data', async () => {
    const port = db.port;
    await db.kill();
    await assert.rejects(db.query('SELECT 1'));
    await db.start();
    assert.equal(db.port, port);
    assert.deepEqual(await db.query('SELECT v FROM t', 'harness'), [{ v: 'kept' }]);
  });

  it('removes its directory when stopped', async () => {
    const other = new MariaDb();
    try {
      await other.start();
    } finally {
      await other.stop();
    }
    assert.equal(existsSync(other.dir), false);
    await assert.rejects(other.query('SELECT 1'));
  });

  it('does not outlive a test process that exits without stopping it', async () => {
    const harness = new URL('./mariadb.ts', import.meta.url).href;
    const script = `const { MariaDb } = await import(${JSON.stringify(harness)}); const db = new MariaDb(); await db.start(); console.log(JSON.stringify({ pid: db.pid, dir: db.dir })); process.exit(1);`;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
    const { pid, dir } = JSON.parse(stdout.trim().split('\n').pop()!) as { pid: number; dir: string };
    try {
      await eventually(() => !alive(pid), 10_000, `mariadbd ${pid} gone`);
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
