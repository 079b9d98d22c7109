import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnregisterReason } from '../../src/server/connection-manager.js';
import { ConnectionEjector, DEFAULT_EJECTOR_OPTIONS, type EjectorOptions } from '../../src/server/ejector.js';
import { answerTo, autoAck, fakeConnection, newManager, recordingListener, type FakeConnection } from '../support/fakes.js';
import { flushMicrotasks, ManualTimers } from '../support/manual-timers.js';
import { testLogger } from '../support/server.js';

const OPTIONS: EjectorOptions = { initialDelayMs: 1000, intervalMs: 3000, idleThresholdMs: 20_000, detectTimeoutMs: 5000, probeBatchSize: 128 };

function harness(options: Partial<EjectorOptions> = {}) {
  const timers = new ManualTimers();
  const manager = newManager(timers);
  const ejector = new ConnectionEjector(manager, timers, { ...OPTIONS, ...options }, testLogger);
  const add = (answer: 'auto' | 'manual' = 'manual'): FakeConnection => {
    const fake = fakeConnection({ timers });
    assert.deepEqual(manager.register(fake.connection), { ok: true });
    if (answer === 'auto') autoAck(fake);
    return fake;
  };
  return { timers, manager, ejector, add };
}

const probes = (fake: FakeConnection) => fake.sink.pushes('ClientDetectionRequest');

describe('ConnectionEjector: one run', () => {
  it('uses the Nacos 2.3.0 defaults, and probes in batches of 128 per turn of the event loop', () => {
    assert.deepEqual(DEFAULT_EJECTOR_OPTIONS, { initialDelayMs: 1000, intervalMs: 3000, idleThresholdMs: 20_000, detectTimeoutMs: 5000, probeBatchSize: 128 });
  });

  it('sends no further batch once stopped (a shutdown mid-run)', async () => {
    const { timers, ejector, add } = harness({ probeBatchSize: 2 });
    const fakes = Array.from({ length: 5 }, () => add('auto'));
    await timers.advance(20_000);
    const run = ejector.runOnce();
    ejector.stop();
    assert.deepEqual(await run, []);
    assert.equal(fakes.filter((f) => probes(f).length > 0).length, 2, 'only the batch sent before stop()');
  });

  it('skips a connection that closed between batches, and does not count it as ejected', async () => {
    const { timers, ejector, manager, add } = harness({ probeBatchSize: 1 });
    const first = add('auto');
    const second = add();
    await timers.advance(20_000);
    const run = ejector.runOnce();
    manager.unregister(second.connection.id, UnregisterReason.TRANSPORT_CLOSED);
    assert.deepEqual(await run, []);
    assert.equal(probes(first).length, 1);
    assert.equal(probes(second).length, 0, 'a closed connection is not probed');
  });

  it('sends one batch of probes per turn of the event loop, so other work runs between batches', async () => {
    const { timers, ejector, add } = harness({ probeBatchSize: 2 });
    const fakes = Array.from({ length: 5 }, () => add('auto'));
    await timers.advance(20_000);
    const run = ejector.runOnce();
    const probedNow = fakes.filter((f) => probes(f).length > 0).length;
    assert.equal(probedNow, 2, 'the first batch goes out at once');
    let between = 0;
    await new Promise<void>((resolve) => setImmediate(() => {
      between = fakes.filter((f) => probes(f).length > 0).length;
      resolve();
    }));
    assert.ok(between < 5, `other work ran before the last batch (${between} probed by then)`);
    assert.deepEqual(await run, []);
    assert.equal(fakes.filter((f) => probes(f).length === 1).length, 5, 'every idle connection probed once');
  });

  it('does not probe a connection idle for less than the threshold', async () => {
    const { timers, ejector, manager, add } = harness();
    const fake = add();
    await timers.advance(19_999);
    assert.deepEqual(await ejector.runOnce(), []);
    assert.equal(probes(fake).length, 0);
    assert.equal(manager.checkValid(fake.connection.id), true);
  });

  it('probes a connection idle for the threshold or more with ClientDetectionRequest', async () => {
    const { timers, ejector, add } = harness();
    const fake = add();
    await timers.advance(20_000);
    const run = ejector.runOnce();
    const sent = probes(fake);
    assert.equal(sent.length, 1);
    assert.match(sent[0]!.requestId ?? '', /^\d+$/);
    assert.deepEqual(sent[0]!.body, {});
    fake.connection.acknowledge(answerTo(sent[0]!));
    await run;
  });

  it('keeps a connection that answers, and refreshes its lastActiveTime to when it answered', async () => {
    const { timers, ejector, manager, add } = harness();
    const events: string[] = [];
    manager.addListener(recordingListener('l', events));
    const fake = add();
    await timers.advance(25_000);
    const run = ejector.runOnce();
    await timers.advance(1500);
    assert.equal(fake.connection.acknowledge(answerTo(probes(fake)[0]!)), true);
    assert.deepEqual(await run, []);
    assert.equal(manager.checkValid(fake.connection.id), true);
    assert.equal(fake.connection.lastActiveTime, timers.now());
    assert.equal(fake.transport.closed, false);
    assert.deepEqual(events, [`l:connected:${fake.connection.id}`]);
  });

  it('unregisters a connection that does not answer within detectTimeoutMs', async () => {
    const { timers, ejector, manager, add } = harness();
    const events: string[] = [];
    manager.addListener(recordingListener('l', events));
    const fake = add();
    await timers.advance(20_000);
    let result: string[] | undefined;
    void ejector.runOnce().then((ids) => (result = ids));
    await timers.advance(4999);
    assert.equal(result, undefined, 'still waiting for the answer');
    assert.equal(manager.checkValid(fake.connection.id), true);
    await timers.advance(1);
    assert.deepEqual(result, [fake.connection.id]);
    assert.equal(manager.checkValid(fake.connection.id), false);
    assert.equal(fake.sink.ended, true);
    assert.equal(fake.transport.closed, true);
    assert.equal(events.at(-1), `l:disconnected:${fake.connection.id}:ejected`);
  });

  it('unregisters a connection that answers with a failure', async () => {
    const { timers, ejector, manager, add } = harness();
    const fake = add();
    await timers.advance(20_000);
    const run = ejector.runOnce();
    const probe = probes(fake)[0]!;
    fake.connection.acknowledge(answerTo(probe, { type: 'ErrorResponse', resultCode: 500, errorCode: -500, message: 'x' }));
    assert.deepEqual(await run, [fake.connection.id]);
    assert.equal(manager.checkValid(fake.connection.id), false);
  });

  it('a late answer after the timeout does not save the connection', async () => {
    const { timers, ejector, manager, add } = harness();
    const fake = add();
    await timers.advance(20_000);
    const run = ejector.runOnce();
    await timers.advance(5000);
    assert.deepEqual(await run, [fake.connection.id]);
    assert.equal(fake.connection.acknowledge(answerTo(probes(fake)[0]!)), false);
    assert.equal(manager.checkValid(fake.connection.id), false);
  });

  it('unregisters a registered connection whose transport is already gone', async () => {
    const { timers, ejector, manager, add } = harness();
    const fake = add();
    fake.transport.closed = true;
    await timers.advance(20_000);
    assert.deepEqual(await ejector.runOnce(), [fake.connection.id]);
    assert.equal(manager.checkValid(fake.connection.id), false);
  });

  it('in one run: fresh connections untouched, answering ones kept, silent ones ejected', async () => {
    const { timers, ejector, manager, add } = harness();
    const answering = add('auto');
    const silent = add();
    await timers.advance(15_000);
    const fresh = add();
    await timers.advance(5_000);
    const run = ejector.runOnce();
    await timers.advance(5_000);
    assert.deepEqual(await run, [silent.connection.id]);
    assert.equal(probes(fresh).length, 0);
    assert.equal(probes(answering).length, 1);
    assert.equal(probes(silent).length, 1);
    assert.deepEqual(
      manager.list().map((c) => c.id),
      [answering.connection.id, fresh.connection.id],
    );
  });

  it('a run while another is in progress does nothing (runs never overlap)', async () => {
    const { timers, ejector, add } = harness();
    const fake = add();
    await timers.advance(20_000);
    const first = ejector.runOnce();
    let second: string[] | undefined;
    void ejector.runOnce().then((ids) => (second = ids));
    await flushMicrotasks();
    assert.deepEqual(second, [], 'the second run returns at once');
    assert.equal(probes(fake).length, 1, 'no second probe');
    await timers.advance(5000);
    assert.deepEqual(await first, [fake.connection.id]);
  });
});

describe('ConnectionEjector: schedule', () => {
  it('runs first after initialDelayMs, then every intervalMs', async () => {
    // Threshold 0: every run probes every connection, so probes count runs.
    const { timers, ejector, add } = harness({ idleThresholdMs: 0 });
    const fake = add('auto');
    ejector.start();
    await timers.advance(999);
    assert.equal(probes(fake).length, 0);
    await timers.advance(1);
    assert.equal(probes(fake).length, 1);
    await timers.advance(2999);
    assert.equal(probes(fake).length, 1);
    await timers.advance(1);
    assert.equal(probes(fake).length, 2);
    await timers.advance(3000 * 5);
    assert.equal(probes(fake).length, 7);
    ejector.stop();
  });

  it('stop() stops the runs and leaves no timer behind', async () => {
    const { timers, ejector, add } = harness({ idleThresholdMs: 0 });
    const fake = add('auto');
    ejector.start();
    await timers.advance(7000);
    const before = probes(fake).length;
    assert.equal(before, 3);
    ejector.stop();
    await timers.advance(60_000);
    assert.equal(probes(fake).length, before);
    assert.equal(timers.pendingCount, 0);
  });

  it('stop() before the first run means no run at all', async () => {
    const { timers, ejector, add } = harness({ idleThresholdMs: 0 });
    const fake = add('auto');
    ejector.start();
    ejector.stop();
    await timers.advance(60_000);
    assert.equal(probes(fake).length, 0);
  });

  it('stop() during a run: the run finishes, nothing is scheduled after it', async () => {
    const { timers, ejector, manager, add } = harness({ idleThresholdMs: 0 });
    const silent = add();
    ejector.start();
    await timers.advance(1000);
    assert.equal(probes(silent).length, 1);
    ejector.stop();
    await timers.advance(5000);
    assert.equal(manager.checkValid(silent.connection.id), false, 'the run in progress still ejects');
    const other = add('auto');
    await timers.advance(60_000);
    assert.equal(probes(other).length, 0);
    assert.equal(timers.pendingCount, 0);
  });

  it('start() twice does not double the runs, and one stop() stops them all', async () => {
    const { timers, ejector, add } = harness({ idleThresholdMs: 0 });
    const fake = add('auto');
    ejector.start();
    ejector.start();
    await timers.advance(1000 + 3000 * 3);
    assert.equal(probes(fake).length, 4);
    ejector.stop();
    await timers.advance(60_000);
    assert.equal(probes(fake).length, 4);
    assert.equal(timers.pendingCount, 0);
  });

  it('stop() then start() during a run keeps a single chain of runs', async () => {
    const { timers, ejector, manager, add } = harness({ idleThresholdMs: 0 });
    const silent = add(); // makes the first run last detectTimeoutMs
    const fake = add('auto');
    ejector.start();
    await timers.advance(1000);
    ejector.stop();
    ejector.start();
    await timers.advance(5000);
    assert.equal(manager.checkValid(silent.connection.id), false, 'the first run has ended');
    const before = probes(fake).length;
    await timers.advance(30_000);
    const runs = probes(fake).length - before;
    assert.ok(runs >= 9 && runs <= 10, `one run per 3000 ms expected over 30 s, got ${runs}`);
    ejector.stop();
  });

  it('can be started again after stop()', async () => {
    const { timers, ejector, add } = harness({ idleThresholdMs: 0 });
    const fake = add('auto');
    ejector.start();
    await timers.advance(1000);
    ejector.stop();
    await timers.advance(10_000);
    ejector.start();
    await timers.advance(1000);
    assert.equal(probes(fake).length, 2);
    ejector.stop();
  });

  it('with the defaults, a silent connection is ejected and an answering one kept', async () => {
    const { timers, ejector, manager, add } = harness();
    const answering = add('auto');
    const silent = add();
    ejector.start();
    await timers.advance(30_000);
    assert.equal(manager.checkValid(silent.connection.id), false);
    assert.equal(manager.checkValid(answering.connection.id), true);
    await timers.advance(120_000);
    assert.equal(manager.checkValid(answering.connection.id), true);
    assert.ok(probes(answering).length >= 5, 'probed again each time it went idle');
    ejector.stop();
  });

  it('a connection kept active by traffic is never probed', async () => {
    const { timers, ejector, manager, add } = harness();
    const busy = add();
    ejector.start();
    for (let i = 0; i < 12; i++) {
      await timers.advance(10_000);
      busy.connection.freshActiveTime();
    }
    assert.equal(probes(busy).length, 0);
    assert.equal(manager.checkValid(busy.connection.id), true);
    ejector.stop();
  });
});
