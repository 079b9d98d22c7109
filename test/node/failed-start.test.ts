import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startNode } from '../../src/node/index.js';
import { configStorePath } from '../../src/node/config.js';
import { findMainPort } from '../support/ports.js';
import { testLogger } from '../support/server.js';

function listen(server: net.Server, port: number): Promise<void> {
  return new Promise((done) => server.listen(port, '127.0.0.1', () => done()));
}

describe('node start', () => {
  const homes: string[] = [];
  const blockers: net.Server[] = [];
  after(async () => {
    await Promise.all(blockers.map((b) => new Promise<void>((done) => b.close(() => done()))));
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  });

  // SQLite removes the -wal file when the last connection to the database closes: its presence
  // after the failed start is the store left open (and the WAL lock held) in this process.
  for (const [portTaken, offset] of [['HTTP', 0], ['SDK gRPC', 1000]] as const) {
    it(`a failed start leaks the config store: closed again when the ${portTaken} port is taken`, async () => {
      const home = mkdtempSync(join(tmpdir(), 'nacos-remote-failed-start-'));
      homes.push(home);
      const port = await findMainPort();
      const blocker = net.createServer();
      blockers.push(blocker);
      await listen(blocker, port + offset);
      await assert.rejects(startNode({ host: '127.0.0.1', port, home, logger: testLogger, members: `127.0.0.1:${port},127.0.0.2:${port}` }), {
        code: 'EADDRINUSE',
      });
      const store = configStorePath(home);
      assert.ok(existsSync(store), 'the store was opened before the port was bound');
      assert.equal(existsSync(`${store}-wal`), false, 'the store is still open');
    });
  }
});
