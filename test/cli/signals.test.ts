import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { exitOnSignals, type SignalProcess, type StoppableNode } from '../../src/cli/signals.js';

/** A process stand-in: its signal listeners, and the exit codes asked for. */
class FakeProcess implements SignalProcess {
  readonly listeners = new Map<string, (signal: NodeJS.Signals) => void>();
  readonly exits: number[] = [];
  on(event: 'SIGTERM' | 'SIGINT', listener: (signal: NodeJS.Signals) => void): this {
    this.listeners.set(event, listener);
    return this;
  }
  exit(code: number): void {
    this.exits.push(code);
  }
  signal(name: 'SIGTERM' | 'SIGINT'): void {
    this.listeners.get(name)?.(name);
  }
}

/** A node stand-in whose drain resolves `closed`. */
function fakeNode(): StoppableNode & { drains: number } {
  let close = (): void => {};
  const closed = new Promise<void>((resolve) => (close = resolve));
  const node = {
    drains: 0,
    closed,
    logger: pino({ level: 'silent' }),
    drain: async () => {
      node.drains++;
      close();
    },
  };
  return node;
}

describe('CLI signals', () => {
  it('a SIGTERM while the node is still starting drains it once it is up, then exits 0 (regression: the signal killed the process)', async () => {
    const proc = new FakeProcess();
    const started = exitOnSignals(proc, () => 60_000);
    proc.signal('SIGTERM');
    assert.deepEqual(proc.exits, [], 'nothing to drain yet, and no exit');
    const node = fakeNode();
    started(node);
    await node.closed;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(node.drains, 1);
    assert.deepEqual(proc.exits, [0]);
  });

  it('a second signal while starting forces the exit', () => {
    const proc = new FakeProcess();
    exitOnSignals(proc, () => 60_000);
    proc.signal('SIGTERM');
    proc.signal('SIGINT');
    assert.deepEqual(proc.exits, [1]);
  });

  it('a second signal while draining forces the exit', () => {
    const proc = new FakeProcess();
    const started = exitOnSignals(proc, () => 60_000);
    const node = { ...fakeNode(), drain: () => new Promise<void>(() => {}) };
    started(node);
    proc.signal('SIGTERM');
    proc.signal('SIGTERM');
    assert.deepEqual(proc.exits, [1]);
  });
});
