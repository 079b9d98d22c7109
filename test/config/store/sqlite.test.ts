import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SqliteConfigStore } from '../../../src/config/store/sqlite.js';
import { storeContract } from './store-contract.js';

const key = { dataId: 'app.yaml', group: 'DEFAULT_GROUP', tenant: '' };

describe('SqliteConfigStore', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nacos-config-store-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  storeContract((name) => Promise.resolve(new SqliteConfigStore(join(dir, `${name}.db`))));

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
