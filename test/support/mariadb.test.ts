import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { MariaDb } from './mariadb.js';

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
    await other.start();
    await other.stop();
    assert.equal(existsSync(other.dir), false);
    await assert.rejects(other.query('SELECT 1'));
  });
});
