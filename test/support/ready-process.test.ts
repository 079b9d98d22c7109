import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HOLD_RAN_OUT_MESSAGE } from '../../src/naming/index.js';
import { spawnUntilReady } from './ready-process.js';

/** A process that logs the hold-ran-out line as a node does (one JSON line) and then idles. */
const loggingHoldRanOut = ['-e', `console.log(JSON.stringify({ level: 40, msg: ${JSON.stringify(HOLD_RAN_OUT_MESSAGE)} })); setInterval(() => {}, 1000)`];

describe('spawnUntilReady: failOn', () => {
  it('regression: a node whose hold ran to the cap fails its start with that line, long before the deadline (a scenario passed slowly instead)', async () => {
    const started = Date.now();
    await assert.rejects(
      spawnUntilReady(process.execPath, loggingHoldRanOut, async () => false, { name: 'node', timeoutMs: 60_000, onOutput: () => undefined, failOn: HOLD_RAN_OUT_MESSAGE }),
      /node logged "naming: the hold ran out/,
    );
    assert.ok(Date.now() - started < 30_000, 'failed on the line, not at the deadline');
  });

  it('fails even when the process turned ready after logging the line', async () => {
    let output = '';
    await assert.rejects(
      spawnUntilReady(process.execPath, loggingHoldRanOut, async () => output.includes('\n'), { name: 'node', timeoutMs: 60_000, onOutput: (text) => (output += text), failOn: HOLD_RAN_OUT_MESSAGE }),
      /node logged "naming: the hold ran out/,
    );
  });
});
