import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ListenContext } from '../../src/config/listen-context.js';
import { groupKey } from '../../src/protocol/config/index.js';
import { ConfigNotifier, DEFAULT_NOTIFY_OPTIONS, type NotifyOutcome, type NotifyTransport } from '../../src/config/notifier.js';
import { RequestTimeoutError, type RequestMessage, type ResponseMessage } from '../../src/protocol/index.js';
import { ManualTimers } from '../support/manual-timers.js';

const key = { dataId: 'app.yaml', group: 'G', tenant: '' };

/** A transport whose pushes the test settles by hand, recording when each was sent. */
class FakeTransport implements NotifyTransport {
  readonly sent: { connectionId: string; request: RequestMessage; at: number; settle: (ok: boolean) => void }[] = [];
  readonly connected = new Set<string>();
  readonly dropped: string[] = [];
  constructor(private readonly timers: ManualTimers) {}

  push(connectionId: string, request: RequestMessage, timeoutMs: number): Promise<ResponseMessage> {
    return new Promise((resolve, reject) => {
      // As Connection.request: an unanswered push times out on the clock.
      const cancel = this.timers.setTimeout(() => reject(new RequestTimeoutError('timeout')), timeoutMs);
      this.sent.push({
        connectionId,
        request,
        at: this.timers.now(),
        settle: (ok) => {
          cancel();
          if (ok) resolve({ kind: 'response', type: 'ConfigChangeNotifyResponse', resultCode: 200, errorCode: 0, body: {} });
          else reject(new Error('client failed'));
        },
      });
    });
  }
  isConnected(connectionId: string): boolean {
    return this.connected.has(connectionId);
  }
  drop(connectionId: string): void {
    this.dropped.push(connectionId);
    this.connected.delete(connectionId);
  }
}

const SHORT = { timeoutMs: 100, retryStepMs: 1000, maxAttempts: 5 };

/** A notifier whose `listeners` are connected and listen to `key`. */
function setup(options = DEFAULT_NOTIFY_OPTIONS, listeners = ['c1']) {
  const timers = new ManualTimers(0);
  const context = new ListenContext();
  const transport = new FakeTransport(timers);
  for (const id of listeners) {
    transport.connected.add(id);
    context.listen(id, groupKey(key), 'old');
  }
  const outcomes: NotifyOutcome[] = [];
  const notifier = new ConfigNotifier(context, transport, timers, options, (outcome) => outcomes.push(outcome));
  return { timers, context, transport, notifier, outcomes };
}

describe('ConfigNotifier', () => {
  it('pushes ConfigChangeNotifyRequest with the key to every listening connection', async () => {
    const { timers, context, transport, notifier, outcomes } = setup(DEFAULT_NOTIFY_OPTIONS, ['c1', 'c2']);
    context.listen('c3', 'other+G', 'x');
    transport.connected.add('c3');
    notifier.changed(key);
    assert.deepEqual(transport.sent.map((s) => s.connectionId).sort(), ['c1', 'c2']);
    assert.equal(transport.sent[0]?.request.type, 'ConfigChangeNotifyRequest');
    assert.deepEqual(transport.sent[0]?.request.body, { dataId: 'app.yaml', group: 'G', tenant: '' });
    for (const s of transport.sent) s.settle(true);
    await timers.advance(0);
    assert.deepEqual(outcomes, ['acked', 'acked']);
    assert.equal(notifier.pendingCount, 0);
  });

  it('retries as Nacos: 3 s timeout, try n+1 after 2n s, drops the connection after 50 tries', async () => {
    const { timers, transport, notifier, outcomes } = setup();
    notifier.changed(key);
    // Nobody answers: each push times out after 3 s, then waits 2n s.
    await timers.advance(10_000_000);
    assert.equal(transport.sent.length, 50);
    const gaps = transport.sent.slice(1).map((s, i) => s.at - transport.sent[i]!.at);
    assert.deepEqual(gaps.slice(0, 3), [3000 + 2000, 3000 + 4000, 3000 + 6000]);
    assert.equal(gaps.at(-1), 3000 + 49 * 2000);
    assert.deepEqual(transport.dropped, ['c1']);
    assert.equal(outcomes.filter((o) => o === 'failed').length, 50);
    assert.equal(outcomes.at(-1), 'dropped');
    assert.equal(notifier.pendingCount, 0);
  });

  it('stops retrying when the connection goes away, and clears its tasks on close', async () => {
    const { timers, transport, notifier } = setup(SHORT);
    notifier.changed(key);
    transport.sent[0]!.settle(false);
    await timers.advance(0);
    assert.equal(notifier.pendingCount, 1, 'waiting to retry');
    transport.connected.delete('c1');
    notifier.connectionClosed('c1');
    assert.equal(notifier.pendingCount, 0);
    await timers.advance(60_000);
    assert.equal(transport.sent.length, 1, 'no retry after close');
    assert.equal(timers.pendingCount, 0, 'no timer left behind');
    assert.deepEqual(transport.dropped, []);
  });

  it('a change while a retry waits rides on it; a change while a push is on the wire sends one more after it', async () => {
    const { timers, transport, notifier } = setup(SHORT);
    notifier.changed(key);
    notifier.changed(key);
    assert.equal(transport.sent.length, 1, 'the second change waits for the push on the wire');
    transport.sent[0]!.settle(true);
    await timers.advance(0);
    assert.equal(transport.sent.length, 2, 'then one more notify for the newer change');
    transport.sent[1]!.settle(false);
    await timers.advance(0);
    notifier.changed(key);
    assert.equal(transport.sent.length, 2, 'a change while a retry waits adds no push');
    await timers.advance(1000);
    assert.equal(transport.sent.length, 3);
    transport.sent[2]!.settle(true);
    await timers.advance(0);
    assert.equal(notifier.pendingCount, 0);
  });

  it('stop() cancels every waiting retry', async () => {
    const { timers, transport, notifier } = setup(SHORT);
    notifier.changed(key);
    transport.sent[0]!.settle(false);
    await timers.advance(0);
    notifier.stop();
    await timers.advance(60_000);
    assert.equal(transport.sent.length, 1);
    notifier.changed(key);
    assert.equal(transport.sent.length, 1, 'a stopped notifier pushes nothing');
  });
});
