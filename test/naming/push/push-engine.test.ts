import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { PublishedInstance, ServiceInfoJson, ServiceName } from '../../../src/naming/model.js';
import { NamingState } from '../../../src/naming/naming-state.js';
import { PushEngine, type PushChannel, type PushEngineOptions } from '../../../src/naming/push/push-engine.js';
import { ConnectionClosedError, RequestTimeoutError, type RequestMessage, type Timers } from '../../../src/protocol/index.js';
import { earlyFiring, ManualTimers } from '../../support/manual-timers.js';

const orders: ServiceName = { namespace: 'public', group: 'DEFAULT_GROUP', name: 'orders' };
const OPTIONS: PushEngineOptions = { delayMs: 20, timeoutMs: 5000, retryDelayMs: 1000 };

function instance(ip: string, clusterName = 'DEFAULT'): PublishedInstance {
  return { ip, port: 8080, weight: 1, healthy: true, enabled: true, clusterName, metadata: {} };
}

interface SentPush {
  readonly connectionId: string;
  readonly request: RequestMessage;
  settle(outcome: 'ack' | Error): void;
}

interface HarnessHooks {
  /** The engine's timers, made from the test's clock. */
  readonly timersOf?: (manual: ManualTimers) => Timers;
  /** Called as each push is sent, before the engine sends the next. */
  readonly onSend?: (push: SentPush) => void;
}

function harness(options: PushEngineOptions = OPTIONS, nextTurn?: (fn: () => void) => void, hooks: HarnessHooks = {}) {
  const timers = new ManualTimers();
  const state = new NamingState('self', () => timers.now());
  const sent: SentPush[] = [];
  /** What the engine prepared, each once for all the subscribers it went to. */
  const prepared: RequestMessage[] = [];
  const settled: { outcome: string; elapsedMs: number }[] = [];
  const channel: PushChannel<RequestMessage> = {
    prepare: (request) => (prepared.push(request), request),
    send: (connectionId, request, _timeoutMs, settled) => {
      const push: SentPush = { connectionId, request, settle: (outcome) => queueMicrotask(() => settled(outcome === 'ack' ? undefined : outcome)) };
      sent.push(push);
      hooks.onSend?.(push);
    },
  };
  const engine = new PushEngine(state, channel, hooks.timersOf?.(timers) ?? timers, options, pino({ level: 'silent' }), {
    pushSettled: (outcome, elapsedMs) => settled.push({ outcome, elapsedMs }),
  }, nextTurn);
  state.addListener(engine);
  const serviceInfoOf = (push: SentPush): ServiceInfoJson => (push.request.body as { serviceInfo: ServiceInfoJson }).serviceInfo;
  const ipsOf = (push: SentPush): string[] => serviceInfoOf(push).hosts.map((h) => h.ip).sort();
  /** Subscribes each client and acknowledges the pushes confirming the subscriptions. */
  const subscribeAll = async (...clientIds: string[]): Promise<void> => {
    for (const id of clientIds) state.subscribe(id, orders, '');
    await timers.advance(OPTIONS.delayMs);
    for (const push of sent) push.settle('ack');
    sent.length = 0;
  };
  return { timers, state, engine, sent, prepared, settled, serviceInfoOf, ipsOf, subscribeAll };
}

describe('PushEngine', () => {
  it('an isolated change is pushed at once, not after the window', async () => {
    const { timers, state, sent, ipsOf, serviceInfoOf, subscribeAll } = harness();
    await subscribeAll('s1', 's2');
    await timers.advance(1000);

    state.register('p1', orders, instance('10.0.0.5'));
    await timers.advance(0);

    assert.deepEqual(sent.map((p) => p.connectionId).sort(), ['s1', 's2']);
    for (const push of sent) {
      assert.equal(push.request.type, 'NotifySubscriberRequest');
      assert.deepEqual(ipsOf(push), ['10.0.0.5']);
      assert.equal(serviceInfoOf(push).name, 'orders');
      assert.equal(serviceInfoOf(push).groupName, 'DEFAULT_GROUP');
    }
  });

  it('changes made together (one request, one release) go in one push', async () => {
    const { timers, state, sent, ipsOf, subscribeAll } = harness();
    await subscribeAll('s1');
    await timers.advance(1000);
    state.register('p1', orders, instance('10.0.0.5'));
    state.register('p2', orders, instance('10.0.0.6'));
    await timers.advance(0);
    assert.equal(sent.length, 1);
    assert.deepEqual(ipsOf(sent[0]!), ['10.0.0.5', '10.0.0.6']);
  });

  it('changes within the window after a push are merged into one push at its end, with the data as it is then', async () => {
    const { timers, state, sent, ipsOf, subscribeAll } = harness();
    await subscribeAll('s1', 's2');
    await timers.advance(1000);
    state.register('p1', orders, instance('10.0.0.5'));
    await timers.advance(0);
    for (const push of sent) push.settle('ack');
    sent.length = 0;

    await timers.advance(5);
    state.register('p2', orders, instance('10.0.0.6'));
    await timers.advance(5);
    state.register('p3', orders, instance('10.0.0.7'));
    await timers.advance(9);
    assert.equal(sent.length, 0, 'nothing more goes before the window closes');
    await timers.advance(1);

    assert.deepEqual(sent.map((p) => p.connectionId).sort(), ['s1', 's2']);
    for (const push of sent) assert.deepEqual(ipsOf(push), ['10.0.0.5', '10.0.0.6', '10.0.0.7']);
  });

  it('a burst of changes makes at most one push per window, the last with every change', async () => {
    const { timers, state, sent, ipsOf, subscribeAll } = harness();
    await subscribeAll('s1');
    await timers.advance(1000);
    for (let i = 1; i <= 40; i++) {
      state.register(`p${i}`, orders, instance(`10.0.1.${i}`));
      await timers.advance(5);
    }
    await timers.advance(OPTIONS.delayMs);
    // 200 ms of changes: the first at once, then one at the end of each 20 ms window.
    assert.ok(sent.length <= 200 / OPTIONS.delayMs + 1, `${sent.length} pushes`);
    assert.equal(ipsOf(sent.at(-1)!).length, 40);
  });

  it('a first subscribe is confirmed by a push to that subscriber alone', async () => {
    const { timers, state, sent, ipsOf } = harness();
    state.register('p1', orders, instance('10.0.0.5'));
    state.subscribe('s1', orders, '');
    await timers.advance(20);
    sent.length = 0;
    state.subscribe('s2', orders, '');
    state.subscribe('s2', orders, '');
    await timers.advance(20);
    assert.deepEqual(sent.map((p) => p.connectionId), ['s2']);
    assert.deepEqual(ipsOf(sent[0]!), ['10.0.0.5']);
  });

  it('selects each subscriber\'s clusters and echoes them', async () => {
    const { timers, state, sent, ipsOf, serviceInfoOf } = harness();
    state.subscribe('sa', orders, 'A');
    state.subscribe('sall', orders, '');
    state.register('p1', orders, instance('10.0.0.5', 'A'));
    state.register('p2', orders, instance('10.0.0.6', 'B'));
    await timers.advance(20);
    const byTarget = new Map(sent.map((p) => [p.connectionId, p]));
    assert.deepEqual(ipsOf(byTarget.get('sa')!), ['10.0.0.5']);
    assert.equal(serviceInfoOf(byTarget.get('sa')!).clusters, 'A');
    assert.deepEqual(ipsOf(byTarget.get('sall')!), ['10.0.0.5', '10.0.0.6']);
  });

  it('subscribers of the same clusters get one push prepared once; other clusters get their own', async () => {
    const { timers, state, sent, prepared } = harness();
    state.subscribe('s1', orders, '');
    state.subscribe('s2', orders, '');
    state.subscribe('sa', orders, 'A');
    await timers.advance(20);
    prepared.length = 0;
    sent.length = 0;
    state.register('p1', orders, instance('10.0.0.5', 'A'));
    await timers.advance(20);
    const byTarget = new Map(sent.map((p) => [p.connectionId, p.request]));
    assert.equal(byTarget.get('s1'), byTarget.get('s2'));
    assert.notEqual(byTarget.get('sa'), byTarget.get('s1'));
    assert.equal(prepared.length, 2, 'one per clusters string, not one per subscriber');
  });

  it('a publisher\'s release is pushed to the service\'s subscribers', async () => {
    const { timers, state, sent, ipsOf } = harness();
    state.register('p1', orders, instance('10.0.0.5'));
    state.register('p2', orders, instance('10.0.0.6'));
    state.subscribe('s1', orders, '');
    await timers.advance(20);
    sent.length = 0;
    state.release('p1');
    await timers.advance(20);
    assert.equal(sent.length, 1);
    assert.deepEqual(ipsOf(sent[0]!), ['10.0.0.6']);
  });

  it('retries a failed or timed-out push to that subscriber after the retry delay, with fresh data, until acked', async () => {
    const { timers, state, sent, settled, ipsOf, subscribeAll } = harness();
    await subscribeAll('s1', 's2');

    state.register('p1', orders, instance('10.0.0.5'));
    await timers.advance(20);
    sent.find((p) => p.connectionId === 's1')!.settle(new RequestTimeoutError('no answer'));
    sent.find((p) => p.connectionId === 's2')!.settle('ack');
    sent.length = 0;
    state.register('p2', orders, instance('10.0.0.6'));
    await timers.advance(20);
    // The change went to both; the retry joined that push, so s1 got one push, not two.
    assert.deepEqual(sent.map((p) => p.connectionId).sort(), ['s1', 's2']);
    sent.find((p) => p.connectionId === 's1')!.settle(new Error('client failed'));
    sent.find((p) => p.connectionId === 's2')!.settle('ack');
    sent.length = 0;

    await timers.advance(999);
    assert.equal(sent.length, 0);
    await timers.advance(1);
    assert.deepEqual(sent.map((p) => p.connectionId), ['s1']);
    assert.deepEqual(ipsOf(sent[0]!), ['10.0.0.5', '10.0.0.6']);
    sent[0]!.settle('ack');
    await timers.advance(5000);
    assert.equal(sent.length, 1, 'no retry after an ack');
    assert.deepEqual(
      settled.map((s) => s.outcome),
      ['acked', 'acked', 'failed', 'acked', 'failed', 'acked', 'acked'],
    );
  });

  it('a pending retry does not hold back a later change for the other subscribers', async () => {
    const { timers, state, sent } = harness();
    state.subscribe('s1', orders, '');
    state.subscribe('s2', orders, '');
    await timers.advance(20);
    sent.find((p) => p.connectionId === 's1')!.settle(new Error('failed'));
    sent.find((p) => p.connectionId === 's2')!.settle('ack');
    await timers.advance(100);
    sent.length = 0;
    // s1's retry is due in 900 ms; a change now must still reach s2 (and s1) within the window.
    state.register('p1', orders, instance('10.0.0.5'));
    await timers.advance(20);
    assert.deepEqual(sent.map((p) => p.connectionId).sort(), ['s1', 's2']);
  });

  it('stops retrying once the subscriber is gone or unsubscribed', async () => {
    const { timers, state, sent } = harness();
    state.subscribe('s1', orders, '');
    state.subscribe('s2', orders, '');
    await timers.advance(20);
    sent.length = 0;
    state.register('p1', orders, instance('10.0.0.5'));
    await timers.advance(20);
    // s1's connection closes: the release comes first, then its pending push fails.
    state.release('s1');
    state.unsubscribe('s2', orders, '');
    for (const push of sent) push.settle(new ConnectionClosedError('closed'));
    sent.length = 0;
    await timers.advance(5000);
    assert.equal(sent.length, 0);
  });

  it('close() drops pending pushes and stops retries', async () => {
    const { timers, state, sent, engine } = harness();
    state.subscribe('s1', orders, '');
    await timers.advance(20);
    sent[0]!.settle(new Error('failed'));
    state.register('p1', orders, instance('10.0.0.5'));
    engine.close();
    await timers.advance(5000);
    assert.equal(sent.length, 1);
    assert.equal(engine.pendingCount, 0);
    assert.equal(timers.pendingCount, 0);
  });

  it('the merge window is configurable (Nacos: 500 ms)', async () => {
    const { timers, state, sent } = harness({ ...OPTIONS, delayMs: 500 });
    state.subscribe('s1', orders, '');
    await timers.advance(0);
    assert.equal(sent.length, 1, 'the first subscribe\'s push goes at once');
    await timers.advance(100);
    state.register('p1', orders, instance('10.0.0.5'));
    await timers.advance(399);
    assert.equal(sent.length, 1);
    await timers.advance(1);
    assert.equal(sent.length, 2);
  });

  it('a retry waits its retry delay even when the window it failed in closes sooner', async () => {
    const { timers, state, sent } = harness();
    state.subscribe('s1', orders, '');
    await timers.advance(0);
    await timers.advance(5);
    sent[0]!.settle(new RequestTimeoutError('no answer'));
    sent.length = 0;
    await timers.advance(999);
    assert.equal(sent.length, 0, 'not at the window\'s end, nor before the retry delay');
    await timers.advance(1);
    assert.deepEqual(sent.map((p) => p.connectionId), ['s1']);
  });

  it('a change merged into a subscribe\'s confirming push in the same millisecond is strictly newer than the answer (nacos-sdk-go drops it otherwise)', async () => {
    const { timers, state, sent, ipsOf, serviceInfoOf } = harness();
    const answer = state.subscribe('s1', orders, '');
    state.register('p1', orders, instance('10.0.0.5'));
    await timers.advance(0);
    assert.equal(sent.length, 1);
    assert.deepEqual(ipsOf(sent[0]!), ['10.0.0.5']);
    assert.ok(serviceInfoOf(sent[0]!).lastRefTime > answer.lastRefTime, `${serviceInfoOf(sent[0]!).lastRefTime} > ${answer.lastRefTime}`);
  });

  it('a wall clock stepped back holds no change past the window', async () => {
    const { timers, state, sent, ipsOf, subscribeAll } = harness();
    await subscribeAll('s1');
    state.register('p1', orders, instance('10.0.0.5'));
    await timers.advance(0);
    assert.equal(sent.length, 1, 'an isolated change goes at once');
    timers.stepWallClock(-3_600_000);
    state.register('p2', orders, instance('10.0.0.6'));
    await timers.advance(OPTIONS.delayMs);
    assert.equal(sent.length, 2, 'merged and pushed at the window\'s end');
    assert.deepEqual(ipsOf(sent[1]!), ['10.0.0.5', '10.0.0.6']);
  });

  it('a timer firing before the clock reaches its due time pushes nothing early, and pushes when due', async () => {
    const { timers, state, sent, subscribeAll } = harness(OPTIONS, undefined, { timersOf: (manual) => earlyFiring(manual, 5) });
    await subscribeAll('s1');
    await timers.advance(1000);
    state.register('p1', orders, instance('10.0.0.5'));
    await timers.advance(1);
    assert.equal(sent.length, 1, 'at once: a Node timer\'s least delay');
    state.register('p2', orders, instance('10.0.0.6'));
    await timers.advance(OPTIONS.delayMs - 1);
    assert.equal(sent.length, 1, 'the timer fired 5 ms early and was set again');
    await timers.advance(1);
    assert.equal(sent.length, 2);
  });

  it('forgets a service once its window has passed quietly', async () => {
    const { timers, state, engine } = harness();
    state.subscribe('s1', orders, '');
    await timers.advance(0);
    assert.equal(timers.pendingCount, 1, 'the window\'s timer');
    await timers.advance(OPTIONS.delayMs);
    assert.equal(timers.pendingCount, 0);
    assert.equal(engine.pendingCount, 0);
  });

  describe('a push to many subscribers', () => {
    /** An engine writing `sendsPerTurn` pushes a turn, its turns run by the test. */
    function turnByTurn(sendsPerTurn: number) {
      const turns: (() => void)[] = [];
      const h = harness({ ...OPTIONS, sendsPerTurn }, (fn) => turns.push(fn));
      const runTurn = (): void => turns.shift()!();
      return { ...h, turns, runTurn };
    }

    it('is written a few subscribers a turn, each once', async () => {
      const { timers, state, sent, turns, runTurn } = turnByTurn(2);
      for (const id of ['s1', 's2', 's3', 's4', 's5']) state.subscribe(id, orders, '');
      await timers.advance(0);
      assert.equal(sent.length, 2, 'the first turn');
      runTurn();
      assert.equal(sent.length, 4);
      runTurn();
      assert.deepEqual(sent.map((p) => p.connectionId).sort(), ['s1', 's2', 's3', 's4', 's5']);
      assert.equal(turns.length, 0);
    });

    it('the service\'s next push waits until it is written, so each subscriber gets the older data first', async () => {
      const { timers, state, sent, ipsOf, turns, runTurn } = turnByTurn(2);
      for (const id of ['s1', 's2', 's3']) state.subscribe(id, orders, '');
      await timers.advance(0);
      while (turns.length > 0) runTurn();
      sent.length = 0;
      await timers.advance(1000);

      state.register('p1', orders, instance('10.0.0.5'));
      await timers.advance(0);
      assert.equal(sent.length, 2);
      state.register('p2', orders, instance('10.0.0.6'));
      await timers.advance(1000);
      assert.equal(sent.length, 2, 'nothing more while the first push is being written');
      runTurn();
      await timers.advance(0);
      assert.equal(sent.length, 3, 'the rest of the first push');
      await timers.advance(OPTIONS.delayMs);
      assert.equal(sent.length, 5, 'then the next, a window after the write\'s end');
      while (turns.length > 0) runTurn();
      for (const id of ['s1', 's2', 's3']) {
        assert.deepEqual(sent.filter((p) => p.connectionId === id).map((p) => ipsOf(p).join(',')), ['10.0.0.5', '10.0.0.5,10.0.0.6'], id);
      }
    });

    it('the window runs from the end of a write longer than it: the next push waits a window after it', async () => {
      const { timers, state, sent, turns, runTurn } = turnByTurn(2);
      for (const id of ['s1', 's2', 's3']) state.subscribe(id, orders, '');
      await timers.advance(0);
      await timers.advance(30);
      state.register('p1', orders, instance('10.0.0.5'));
      await timers.advance(20);
      runTurn();
      assert.equal(sent.length, 3, 'the write ended 50 ms after it began');
      await timers.advance(OPTIONS.delayMs - 1);
      assert.equal(sent.length, 3, 'a window after the write\'s end, not at once');
      await timers.advance(1);
      assert.equal(sent.length, 5);
      while (turns.length > 0) runTurn();
    });

    it('a change made while the first turn is written goes in the next push, after this one is written', async () => {
      let registered = false;
      const turns: (() => void)[] = [];
      const { timers, state, sent, ipsOf } = harness({ ...OPTIONS, sendsPerTurn: 2 }, (fn) => turns.push(fn), {
        onSend: () => {
          if (registered) return;
          registered = true;
          state.register('p1', orders, instance('10.0.0.5'));
        },
      });
      for (const id of ['s1', 's2', 's3']) state.subscribe(id, orders, '');
      await timers.advance(0);
      assert.equal(sent.length, 2);
      await timers.advance(OPTIONS.delayMs);
      assert.equal(sent.length, 2, 'nothing more while the first push is being written');
      turns.shift()!();
      await timers.advance(OPTIONS.delayMs);
      while (turns.length > 0) turns.shift()!();
      for (const id of ['s1', 's2', 's3']) {
        assert.deepEqual(sent.filter((p) => p.connectionId === id).map((p) => ipsOf(p).join(',')), ['', '10.0.0.5'], id);
      }
    });

    it('a subscriber gone or unsubscribed between turns is not written to', async () => {
      const { timers, state, sent, turns, runTurn } = turnByTurn(2);
      for (const id of ['s1', 's2', 's3', 's4', 's5']) state.subscribe(id, orders, '');
      await timers.advance(0);
      assert.equal(sent.length, 2);
      state.release('s3');
      state.unsubscribe('s4', orders, '');
      while (turns.length > 0) runTurn();
      assert.deepEqual(sent.map((p) => p.connectionId).sort(), ['s1', 's2', 's5']);
    });

    it('a push failing while the service\'s next push is being written is retried once, after it is written and the retry delay', async () => {
      const { timers, state, sent, turns, runTurn } = turnByTurn(2);
      for (const id of ['s1', 's2', 's3']) state.subscribe(id, orders, '');
      await timers.advance(0);
      sent[0]!.settle(new RequestTimeoutError('no answer'));
      await timers.advance(0);
      assert.equal(sent.length, 2, 'no retry while the push is being written');
      while (turns.length > 0) runTurn();
      await timers.advance(OPTIONS.retryDelayMs - 1);
      assert.equal(sent.length, 3);
      await timers.advance(1);
      assert.deepEqual(sent.slice(3).map((p) => p.connectionId), ['s1']);
    });

    it('stops being written once the engine is closed', async () => {
      const { timers, state, sent, engine, runTurn } = turnByTurn(2);
      for (const id of ['s1', 's2', 's3']) state.subscribe(id, orders, '');
      await timers.advance(0);
      engine.close();
      runTurn();
      assert.equal(sent.length, 2);
      assert.equal(timers.pendingCount, 0);
    });
  });
});
