import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SqliteConfigStore } from '../../../src/config/store/sqlite.js';
import { NOT_AT_HAND } from '../../../src/config/store/types.js';
import { storeContract } from './store-contract.js';

const key = { dataId: 'app.yaml', group: 'DEFAULT_GROUP', tenant: '' };

describe('SqliteConfigStore', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nacos-config-store-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  storeContract((name) => Promise.resolve(new SqliteConfigStore(join(dir, `${name}.db`))));

  describe("holding configs in memory (a node's own file)", () => {
    storeContract((name) => Promise.resolve(new SqliteConfigStore(join(dir, `held-${name}.db`), { holdInMemory: true })));

    it('readNow answers at once what the last publish stored, the same record each time, and absent after a remove', async () => {
      const store = new SqliteConfigStore(join(dir, 'held-now.db'), { holdInMemory: true });
      assert.equal(store.readNow(key), undefined);
      await store.publish({ key, content: 'v1', time: 1000 });
      const first = store.readNow(key);
      assert.equal(first !== undefined && first !== NOT_AT_HAND ? first.content : first, 'v1');
      assert.equal(store.readNow(key), first, 'held: the same record (its answer is encoded once)');
      assert.equal(await store.get(key), first);
      const cas = await store.publish({ key, content: 'v2', casMd5: 'not-the-md5', time: 2000 });
      assert.equal(cas.ok, false);
      assert.equal(store.readNow(key), first, 'a refused publish changes nothing held');
      await store.publish({ key, content: 'v2', time: 3000 });
      const second = store.readNow(key);
      assert.equal(second !== undefined && second !== NOT_AT_HAND ? second.content : second, 'v2');
      await store.remove(key, { time: 4000 });
      assert.equal(store.readNow(key), undefined);
      assert.equal(await store.get(key), undefined);
      await store.close();
    });
  });

  // The timeout is a hang guard for a child that never starts publishing.
  it('keeps every acknowledged publish when its process is SIGKILLed mid-stream', { timeout: 120_000 }, async (t) => {
    const file = join(dir, 'crash.db');
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./publish-until-killed.ts', import.meta.url)), file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => child.kill('SIGKILL'));
    let lastAcked = -1;
    let output = '';
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        for (const match of output.matchAll(/acked (\d+)\n/g)) lastAcked = Math.max(lastAcked, Number(match[1]));
        // Killed while it keeps publishing: the kill lands at an arbitrary point of a write.
        if (lastAcked >= 200 && child.exitCode === null) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('exit', () => (lastAcked >= 200 ? resolve() : reject(new Error(`child exited early: ${output}`))));
    });
    assert.equal(await exited, 'SIGKILL');

    const reopened = new SqliteConfigStore(file);
    for (let n = 0; n <= lastAcked; n++) {
      const record = await reopened.get({ dataId: `key-${n}`, group: 'G', tenant: '' });
      assert.equal(record?.content, `content ${n}`, `acknowledged publish key-${n} lost`);
    }
    // The store still takes writes after the crash.
    assert.ok((await reopened.publish({ key, content: 'after', time: 1 })).ok);
    await reopened.close();
  });
});
