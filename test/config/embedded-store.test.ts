import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { openEmbeddedStore } from '../../src/config/index.js';
import { ConfigStoreError } from '../../src/config/errors.js';

/** A logger whose lines the test reads. */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe('the embedded config store (better-sqlite3 is optional)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nacos-embedded-store-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('better-sqlite3 is a hard dependency: without it the store says so and how to install it, logged once, and the node can still start', async () => {
    const { logger, lines } = recordingLogger();
    const missing = Object.assign(new Error("Cannot find package 'better-sqlite3'"), { code: 'ERR_MODULE_NOT_FOUND' });
    const store = await openEmbeddedStore(join(dir, 'missing.db'), logger, () => Promise.reject(missing));
    await assert.rejects(store.count(), (error: unknown) => error instanceof ConfigStoreError && /optional dependency better-sqlite3.*npm install better-sqlite3/.test(error.message));
    await new Promise((resolve) => setImmediate(resolve));
    const logged = lines.filter((l) => l['level'] === 50);
    assert.equal(logged.length, 1, JSON.stringify(lines));
    assert.match(JSON.stringify(logged[0]), /better-sqlite3/);
    await store.close();
  });

  it('with better-sqlite3 installed, the store is loaded on demand and works', async () => {
    const { logger } = recordingLogger();
    const store = await openEmbeddedStore(join(dir, 'present.db'), logger);
    assert.equal(await store.count(), 0);
    await store.close();
  });
});
