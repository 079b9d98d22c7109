import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionClosedError, MessageRegistry, RequestTimeoutError, request, type RequestMessage, type ResponseMessage, type Timers } from '../../src/protocol/index.js';
import { preparePush } from '../../src/server/connection.js';
import { answerTo, fakeConnection, nextRequestId } from '../support/fakes.js';
import { earlyFiring, ManualTimers } from '../support/manual-timers.js';

/** How each push settled: 'acked', or the error's class name, in the order they settled. */
function tracked(pushed: Promise<ResponseMessage>, label: string, log: string[]): void {
  pushed.then(
    () => log.push(`${label} acked`),
    (error: Error) => log.push(`${label} ${error.constructor.name}`),
  );
}

function harness(timersOf: (manual: ManualTimers) => Timers = (manual) => manual) {
  const timers = new ManualTimers();
  const fake = fakeConnection({ timers: timersOf(timers) });
  const outcomes: string[] = [];
  const push = (label: string, timeoutMs: number): RequestMessage => {
    tracked(fake.connection.request(request('ClientDetectionRequest'), timeoutMs), label, outcomes);
    return fake.sink.pushes().at(-1)!;
  };
  const ack = (pushed: RequestMessage): boolean => fake.connection.acknowledge(answerTo(pushed));
  return { timers, fake, outcomes, push, ack };
}

describe('Connection pushes', () => {
  it('a push not acked within its timeout fails then, not before', async () => {
    const { timers, outcomes, push, fake } = harness();
    push('a', 5000);
    await timers.advance(4999);
    assert.deepEqual(outcomes, []);
    await timers.advance(1);
    assert.deepEqual(outcomes, ['a RequestTimeoutError']);
    assert.equal(fake.connection.pendingPushCount, 0);
  });

  it('each push fails at its own deadline, a shorter one sent later first', async () => {
    const { timers, outcomes, push } = harness();
    push('long', 5000);
    await timers.advance(1000);
    push('short', 1000);
    push('later', 5000);
    await timers.advance(1000);
    assert.deepEqual(outcomes, ['short RequestTimeoutError']);
    await timers.advance(3000);
    assert.deepEqual(outcomes, ['short RequestTimeoutError', 'long RequestTimeoutError']);
    await timers.advance(1000);
    assert.deepEqual(outcomes, ['short RequestTimeoutError', 'long RequestTimeoutError', 'later RequestTimeoutError']);
  });

  it('an acked push does not time out, and the ones after it still do', async () => {
    const { timers, outcomes, push, ack } = harness();
    const first = push('first', 1000);
    await timers.advance(500);
    push('second', 1000);
    assert.equal(ack(first), true);
    await timers.advance(1000);
    assert.deepEqual(outcomes, ['first acked', 'second RequestTimeoutError']);
  });

  it('acks in the middle of what waits: expiry passes over them and fails only the rest, in order', async () => {
    const { timers, outcomes, push, ack, fake } = harness();
    const pushed = ['a', 'b', 'c', 'd', 'e'].map((label) => push(label, 1000));
    ack(pushed[1]!);
    ack(pushed[3]!);
    await timers.advance(1000);
    assert.deepEqual(outcomes, ['b acked', 'd acked', 'a RequestTimeoutError', 'c RequestTimeoutError', 'e RequestTimeoutError']);
    assert.equal(fake.connection.pendingPushCount, 0);
    assert.equal(ack(pushed[0]!), false, 'an ack after the timeout settles nothing');
  });

  it('push calls back once: with the answer, or an error answer as RemoteResponseError, and never before it returns', async () => {
    const { fake } = harness();
    const calls: string[] = [];
    let returned = false;
    fake.connection.push(request('ClientDetectionRequest'), 1000, (error, response) => calls.push(error?.constructor.name ?? response!.type));
    fake.connection.push(request('ClientDetectionRequest'), 1000, (error) => calls.push(error?.constructor.name ?? 'no error'));
    const [first, second] = fake.sink.pushes();
    fake.connection.acknowledge(answerTo(first!));
    fake.connection.acknowledge({ ...answerTo(second!), resultCode: 500, errorCode: 500 });
    assert.deepEqual(calls, ['ClientDetectionResponse', 'RemoteResponseError']);
    fake.connection.close();
    fake.connection.push(request('ClientDetectionRequest'), 1000, (error) => calls.push(returned ? (error?.constructor.name ?? 'no error') : 'called before push returned'));
    returned = true;
    await Promise.resolve();
    assert.deepEqual(calls, ['ClientDetectionResponse', 'RemoteResponseError', ConnectionClosedError.name]);
  });

  it('keeps one timer for its pushes however many wait, and none once they are settled and due', async () => {
    const { timers, push, ack, fake } = harness();
    const pushed = Array.from({ length: 50 }, (_, i) => push(`p${i}`, 5000));
    assert.equal(timers.scheduledCount, 1);
    for (const p of pushed) ack(p);
    await timers.advance(5000);
    assert.equal(timers.scheduledCount, 0);
    assert.equal(fake.connection.pendingPushCount, 0);
  });

  it('close fails what waits at once and leaves no timer', async () => {
    const { timers, outcomes, push, fake } = harness();
    push('a', 5000);
    fake.connection.close();
    await timers.advance(0);
    assert.deepEqual(outcomes, [`a ${ConnectionClosedError.name}`]);
    assert.equal(timers.scheduledCount, 0);
    await timers.advance(5000);
    assert.equal(outcomes.length, 1);
  });

  it('a timeout longer than a Node timer holds is timed in steps, not failed at once', async () => {
    const { timers, outcomes, push } = harness();
    push('weeks', 30 * 24 * 3600 * 1000);
    const armed: number[] = [];
    const setTimeout = timers.setTimeout.bind(timers);
    timers.setTimeout = (fn, ms) => {
      armed.push(ms);
      return setTimeout(fn, ms);
    };
    await timers.advance(2_147_483_647);
    assert.deepEqual(outcomes, [], 'still waiting after the first step');
    assert.equal(armed.length, 1, 'one more step, not a timer every millisecond');
    await timers.advance(30 * 24 * 3600 * 1000 - 2_147_483_647);
    assert.deepEqual(outcomes, ['weeks RequestTimeoutError']);
  });

  it('a wall clock stepped back does not delay a push\'s timeout', async () => {
    const { timers, outcomes, push } = harness();
    push('a', 5000);
    await timers.advance(1000);
    timers.stepWallClock(-3_600_000);
    await timers.advance(4000);
    assert.deepEqual(outcomes, ['a RequestTimeoutError']);
  });

  it('many pushes of two timeouts, 50 sent each millisecond, each fail at their own deadline, in order', async () => {
    const { timers, outcomes, fake } = harness();
    const count = 2000;
    const perMs = 50;
    for (let i = 0; i < count; i++) {
      tracked(fake.connection.request(request('ClientDetectionRequest'), i % 2 === 0 ? 5000 : 3000), `${i}`, outcomes);
      if (i % perMs === perMs - 1) await timers.advance(1);
    }
    // Just before the first 5000 ms push is due: every 3000 ms push has failed, in the order sent.
    await timers.advance(5000 - count / perMs - 1);
    assert.deepEqual(outcomes, Array.from({ length: count / 2 }, (_, i) => `${2 * i + 1} RequestTimeoutError`));
    await timers.advance(count / perMs);
    assert.equal(outcomes.length, count);
    const failedAt = (label: number) => outcomes.indexOf(`${label} RequestTimeoutError`);
    for (let i = 2; i < count; i += 2) assert.ok(failedAt(i) > failedAt(i - 2), `${i} after ${i - 2}`);
    assert.equal(fake.connection.pendingPushCount, 0);
  });

  it('a deadline timer firing before the clock reaches the deadline fails nothing early and sets itself again', async () => {
    const { timers, outcomes, push } = harness((manual) => earlyFiring(manual, 5));
    push('a', 1000);
    await timers.advance(999);
    assert.deepEqual(outcomes, []);
    assert.equal(timers.scheduledCount, 1, 'set again for the deadline');
    await timers.advance(1);
    assert.deepEqual(outcomes, ['a RequestTimeoutError']);
    assert.equal(timers.scheduledCount, 0);
  });

  it('a prepared push goes to many connections as the same bytes, each settled by its own ack of the one id', async () => {
    const timers = new ManualTimers();
    const [a, b] = [fakeConnection({ timers }), fakeConnection({ timers })];
    const prepared = preparePush(request('ClientDetectionRequest'), { nextRequestId, registry: MessageRegistry.connectionLayer() });
    const calls: string[] = [];
    a.connection.push(prepared, 1000, (error) => calls.push(`a ${error?.constructor.name ?? 'acked'}`));
    b.connection.push(prepared, 1000, (error) => calls.push(`b ${error?.constructor.name ?? 'acked'}`));
    assert.equal(a.sink.written[0], prepared.bytes, 'written as prepared, not encoded again');
    assert.equal(b.sink.written[0], prepared.bytes);
    assert.equal(b.connection.acknowledge(answerTo(b.sink.pushes()[0]!)), true);
    assert.deepEqual(calls, ['b acked']);
    await timers.advance(1000);
    assert.deepEqual(calls, ['b acked', `a ${RequestTimeoutError.name}`]);
  });

  it('a prepared push sent to a connection again before its ack goes under an id of its own', () => {
    const { fake } = harness();
    const prepared = preparePush(request('ClientDetectionRequest'), { nextRequestId, registry: MessageRegistry.connectionLayer() });
    const calls: string[] = [];
    fake.connection.push(prepared, 1000, (error) => calls.push(`first ${error?.constructor.name ?? 'acked'}`));
    fake.connection.push(prepared, 1000, (error) => calls.push(`second ${error?.constructor.name ?? 'acked'}`));
    const [first, second] = fake.sink.pushes();
    assert.notEqual(first!.requestId, second!.requestId);
    assert.equal(fake.connection.acknowledge(answerTo(second!)), true);
    assert.equal(fake.connection.acknowledge(answerTo(first!)), true);
    assert.deepEqual(calls, ['second acked', 'first acked']);
  });

  it('a prepared push sent again after its ack is settled by its own ack; the first deadline fails nothing', async () => {
    const { timers, fake } = harness();
    const prepared = preparePush(request('ClientDetectionRequest'), { nextRequestId, registry: MessageRegistry.connectionLayer() });
    const calls: string[] = [];
    // Another push waits all along, so the acked one stays in line for expiry to pass over.
    fake.connection.push(request('ClientDetectionRequest'), 60_000, () => undefined);
    fake.connection.push(prepared, 1000, (error) => calls.push(`first ${error?.constructor.name ?? 'acked'}`));
    assert.equal(fake.connection.acknowledge(answerTo(fake.sink.pushes()[1]!)), true);
    await timers.advance(500);
    fake.connection.push(prepared, 1000, (error) => calls.push(`second ${error?.constructor.name ?? 'acked'}`));
    await timers.advance(500);
    assert.deepEqual(calls, ['first acked'], 'the first deadline passed: nothing more settled');
    assert.equal(fake.connection.pendingPushCount, 2);
    assert.equal(fake.connection.acknowledge(answerTo(fake.sink.pushes()[2]!)), true);
    assert.deepEqual(calls, ['first acked', 'second acked']);
  });
});
