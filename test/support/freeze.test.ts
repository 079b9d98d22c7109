import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { freezeProcess } from './freeze.js';

describe('freezeProcess', () => {
  it('returns only once the process is stopped, and it stays stopped until SIGCONT', async () => {
    // A busy process with worker threads: every thread has to be stopped, not just the one signalled.
    const child = spawn(process.execPath, ['-e', "const { Worker } = require('node:worker_threads'); new Worker('for(;;){}', { eval: true }); for(;;){}"], { stdio: 'ignore' });
    try {
      await once(child, 'spawn');
      await freezeProcess(child.pid!);
      const state = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]![0];
      assert.equal(state, 'T');
      child.kill('SIGCONT');
    } finally {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }
  });
});
